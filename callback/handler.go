package callback

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxkf/kf/internal/wxcrypto"
)

// Handler is an http.Handler for WeCom and Official Account callbacks. It
// answers the GET URL verification, verifies and decrypts POSTed events,
// acknowledges them at once and hands them to Config.OnEvent on the
// goroutines of [Handler.Run]. See the package documentation for the
// checks and their order. A Handler is safe for concurrent use.
type Handler struct {
	plain        bool
	cur          creds
	prev         *creds // nil unless rotating
	rotationEnds time.Time
	receiverID   string
	onEvent      func(context.Context, Event)
	reply        func(context.Context, Event) []byte
	onReject     func(*http.Request, error)
	window       time.Duration
	windowSecs   int64
	maxBody      int64
	now          func() time.Time
	rand         io.Reader
	log          *slog.Logger
	workers      int

	queue   chan Event
	seed    maphash.Seed
	running atomic.Bool

	mu      sync.Mutex // guards dedup, stopped and sends on queue
	dedup   *dedupCache
	stopped bool
}

var _ http.Handler = (*Handler)(nil)

var errMethod = errors.New("callback: method not allowed")

// ServeHTTP handles a callback request.
//
// GET is the URL verification: on success it answers 200 with the
// decrypted echostr (plain mode: the echostr itself) as text/plain, with no
// quotes or newline. POST is an event: on success it answers 200 with an
// empty body once the event is queued for OnEvent, or immediately if the
// event is a duplicate of one already queued within Config.DedupTTL. If
// the queue is full, or Run has returned, it answers 503 so that the
// platform retries later and nothing is lost. Other methods get 405.
//
// Rejected requests get 400, 403 or 413 (see the package documentation)
// with a generic body; the precise reason goes to Config.Logger. User
// code never runs on the request goroutine.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		now := h.now()
		ev, c, err := h.check(r, now)
		if err != nil {
			h.reject(w, r, err)
			return
		}
		var reply []byte
		if h.reply != nil && !h.isDuplicate(&ev, now) {
			if reply, err = h.passiveReply(r.Context(), ev, c); err != nil {
				h.reject(w, r, err)
				return
			}
		}
		dup, err := h.enqueue(&ev, now)
		if err != nil {
			h.reject(w, r, err)
			return
		}
		if dup {
			h.log.LogAttrs(r.Context(), slog.LevelDebug, "callback: duplicate event acknowledged, not delivered again")
			reply = nil
		}
		if len(reply) > 0 {
			w.Header().Set("Content-Type", "application/xml; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(reply)
			return
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		msg, err := h.VerifyURL(r)
		if err != nil {
			h.reject(w, r, err)
			return
		}
		hdr := w.Header()
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Content-Length", strconv.Itoa(len(msg)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(msg)
	default:
		w.Header().Set("Allow", "GET, POST")
		h.reject(w, r, errMethod)
	}
}

// reject logs err and answers with a generic body.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, err error) {
	if h.onReject != nil {
		h.onReject(r, err)
	}
	code := statusFor(err)
	if errors.Is(err, errMethod) {
		code = http.StatusMethodNotAllowed
	}
	level := slog.LevelWarn
	if code == http.StatusServiceUnavailable {
		level = slog.LevelError
	}
	if h.log.Enabled(r.Context(), level) {
		// err never carries secrets or content; the URL (which holds the
		// signature) is deliberately not logged.
		h.log.LogAttrs(r.Context(), level, "callback: request rejected",
			slog.String("method", r.Method),
			slog.Int("status", code),
			slog.String("reason", err.Error()),
			slog.String("remote_addr", r.RemoteAddr))
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, http.StatusText(code)+"\n")
}

// Check verifies a POSTed callback and returns its event. It performs the
// checks in the order given in the package documentation and returns an
// error wrapping the sentinel of the first failing check (ErrBodyTooLarge,
// ErrMissingParams, ErrMalformed for the outer envelope, ErrBadSignature,
// ErrStaleTimestamp, ErrDecrypt, ErrReceiverMismatch, ErrMalformed for the
// message). Check reads r.Body but does not close it, does not look at
// r.Method, and neither deduplicates nor delivers the event; ServeHTTP
// does that.
func (h *Handler) Check(r *http.Request) (Event, error) {
	ev, _, err := h.check(r, h.now())
	return ev, err
}

// check is Check at time now. It also returns the credentials that
// verified (and, in safe mode, decrypted) the request: a passive reply
// must be sealed with them, since during a rotation the platform may still
// use the previous pair.
func (h *Handler) check(r *http.Request, now time.Time) (Event, *creds, error) {
	bp := bodyPool.Get().(*[]byte)
	defer putBody(bp)
	body, err := h.readBody(r, bp)
	if err != nil {
		return Event{}, nil, err
	}
	if r.URL == nil {
		return Event{}, nil, fmt.Errorf("%w: no URL", ErrMissingParams)
	}
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return Event{}, nil, err
	}
	if h.plain {
		ev, err := h.checkPlain(q, body, now)
		return ev, &h.cur, err
	}
	if err := requireParams(q.msgSignature, "msg_signature", q.timestamp, q.nonce); err != nil {
		return Event{}, nil, err
	}
	encB, err := parseEnvelope(body)
	if err != nil {
		return Event{}, nil, fmt.Errorf("outer envelope: %w", err)
	}
	encrypt := string(encB)
	c1, c2 := h.verify(q.msgSignature, q.timestamp, q.nonce, encrypt, now)
	if c1 == nil {
		return Event{}, nil, ErrBadSignature
	}
	if err := h.checkTimestamp(q.timestamp, now); err != nil {
		return Event{}, nil, err
	}
	msg, used, err := h.decrypt(c1, c2, encrypt)
	if err != nil {
		return Event{}, nil, err
	}
	ev, err := parseEvent(msg, h.receiverID)
	if err != nil {
		return Event{}, nil, fmt.Errorf("decrypted message: %w", err)
	}
	return ev, used, nil
}

// checkPlain is Check in plain mode.
func (h *Handler) checkPlain(q params, body []byte, now time.Time) (Event, error) {
	if err := requireParams(q.signature, "signature", q.timestamp, q.nonce); err != nil {
		return Event{}, err
	}
	if q.encryptType != "" && q.encryptType != "raw" {
		return Event{}, fmt.Errorf("%w: encrypted request (encrypt_type) sent to a plain-mode handler", ErrMalformed)
	}
	if c1, _ := h.verify(q.signature, q.timestamp, q.nonce, "", now); c1 == nil {
		return Event{}, ErrBadSignature
	}
	if err := h.checkTimestamp(q.timestamp, now); err != nil {
		return Event{}, err
	}
	ev, err := parseEvent(append([]byte(nil), body...), "")
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}

// VerifyURL verifies a GET URL-verification request and returns the body
// to answer with.
//
// A request carrying msg_signature (WeCom, and WXBizMsgCrypt in general)
// is checked like an event: the signature over the token, timestamp, nonce
// and echostr, the timestamp window, the decryption of echostr and its
// receive ID; the answer is the decrypted message. A request carrying only
// signature (plain mode, and Official Accounts in every mode, whose URL
// check is never encrypted) is checked with the signature over the token,
// timestamp and nonce and the timestamp window; the answer is echostr as
// is. In plain mode only the latter form is accepted.
func (h *Handler) VerifyURL(r *http.Request) ([]byte, error) {
	if r.URL == nil {
		return nil, fmt.Errorf("%w: no URL", ErrMissingParams)
	}
	now := h.now()
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	if h.plain || (q.msgSignature == "" && q.signature != "") {
		if err := requireParams(q.signature, "signature", q.timestamp, q.nonce); err != nil {
			return nil, err
		}
		if q.echostr == "" {
			return nil, fmt.Errorf("%w: echostr", ErrMissingParams)
		}
		if c1, _ := h.verify(q.signature, q.timestamp, q.nonce, "", now); c1 == nil {
			return nil, ErrBadSignature
		}
		if err := h.checkTimestamp(q.timestamp, now); err != nil {
			return nil, err
		}
		return []byte(q.echostr), nil
	}
	if err := requireParams(q.msgSignature, "msg_signature", q.timestamp, q.nonce); err != nil {
		return nil, err
	}
	if q.echostr == "" {
		return nil, fmt.Errorf("%w: echostr", ErrMissingParams)
	}
	c1, c2 := h.verify(q.msgSignature, q.timestamp, q.nonce, q.echostr, now)
	if c1 == nil {
		return nil, ErrBadSignature
	}
	if err := h.checkTimestamp(q.timestamp, now); err != nil {
		return nil, err
	}
	msg, _, err := h.decrypt(c1, c2, q.echostr)
	return msg, err
}

func requireParams(sig, sigName, timestamp, nonce string) error {
	switch {
	case sig == "":
		return fmt.Errorf("%w: %s", ErrMissingParams, sigName)
	case timestamp == "":
		return fmt.Errorf("%w: timestamp", ErrMissingParams)
	case nonce == "":
		return fmt.Errorf("%w: nonce", ErrMissingParams)
	}
	return nil
}

// verify checks sig against the current credentials and, during a
// rotation, the previous ones, and returns the matching credentials, the
// current first (c1 == nil: no match). Each comparison is constant-time.
func (h *Handler) verify(sig, timestamp, nonce, encrypt string, now time.Time) (c1, c2 *creds) {
	if wxcrypto.VerifySignature(h.cur.token, timestamp, nonce, encrypt, sig) {
		c1 = &h.cur
	}
	if h.prev != nil && now.Before(h.rotationEnds) &&
		wxcrypto.VerifySignature(h.prev.token, timestamp, nonce, encrypt, sig) {
		if c1 == nil {
			c1 = h.prev
		} else {
			c2 = h.prev // same token, maybe another key
		}
	}
	return c1, c2
}

// checkTimestamp enforces the replay window.
func (h *Handler) checkTimestamp(timestamp string, now time.Time) error {
	ts, ok := parseUnixString(timestamp)
	if !ok {
		return fmt.Errorf("%w: timestamp is not a decimal number of seconds", ErrStaleTimestamp)
	}
	switch skew := now.Unix() - ts; {
	case skew > h.windowSecs:
		return fmt.Errorf("%w: %ds old", ErrStaleTimestamp, skew)
	case skew < -h.windowSecs:
		return fmt.Errorf("%w: %ds in the future", ErrStaleTimestamp, -skew)
	}
	return nil
}

// decrypt decrypts b64 with c1's key, then with c2's if c1's fails, and
// checks the receive ID. It returns the credentials whose key succeeded,
// and reports the first key's error if both fail.
func (h *Handler) decrypt(c1, c2 *creds, b64 string) ([]byte, *creds, error) {
	used := c1
	msg, err := c1.key.DecryptFor(b64, h.receiverID)
	if err != nil && c2 != nil {
		if m, err2 := c2.key.DecryptFor(b64, h.receiverID); err2 == nil {
			msg, err, used = m, nil, c2
		}
	}
	switch {
	case err == nil:
		return msg, used, nil
	case errors.Is(err, wxcrypto.ErrReceiverMismatch):
		return nil, nil, ErrReceiverMismatch
	default:
		// wxcrypto errors name the failing step, never the content.
		return nil, nil, fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
}

// parseUnixString parses a non-negative decimal number of seconds.
func parseUnixString(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// bodyPool recycles request body buffers.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// maxPooledBody is the largest buffer returned to bodyPool.
const maxPooledBody = 256 << 10

func putBody(bp *[]byte) {
	if cap(*bp) <= maxPooledBody {
		*bp = (*bp)[:0]
		bodyPool.Put(bp)
	}
}

// readBody reads at most h.maxBody bytes of r.Body into *bp, failing with
// ErrBodyTooLarge as soon as the cap is exceeded.
func (h *Handler) readBody(r *http.Request, bp *[]byte) ([]byte, error) {
	if r.ContentLength > h.maxBody {
		return nil, fmt.Errorf("%w: Content-Length %d exceeds %d", ErrBodyTooLarge, r.ContentLength, h.maxBody)
	}
	if r.Body == nil {
		return nil, nil
	}
	buf := (*bp)[:0]
	for {
		if len(buf) == cap(buf) {
			n := min(max(2*int64(cap(buf)), 1024), h.maxBody+1)
			nb := make([]byte, len(buf), int(n))
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		*bp = buf
		if int64(len(buf)) > h.maxBody {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, h.maxBody)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, fmt.Errorf("%w: %w", ErrBodyTooLarge, err)
			}
			return nil, fmt.Errorf("%w: reading body: %w", ErrMalformed, err)
		}
	}
}

// enqueue hands ev to the workers unless it duplicates a recent event. The
// duplicate check, the non-blocking send and the recording happen under
// one lock, so that concurrent retries are delivered once, and an event
// that could not be queued is not recorded (its retry will be delivered).
func (h *Handler) enqueue(ev *Event, at time.Time) (dup bool, err error) {
	key := maphash.Bytes(h.seed, ev.Raw)
	now := at.UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return false, errStopped
	}
	if h.dedup.seen(key, now) {
		return true, nil
	}
	select {
	case h.queue <- *ev:
		h.dedup.add(key, now)
		return false, nil
	default:
		return false, errOverloaded
	}
}

// isDuplicate reports whether ev was already accepted (without recording it).
func (h *Handler) isDuplicate(ev *Event, at time.Time) bool {
	key := maphash.Bytes(h.seed, ev.Raw)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dedup.seen(key, at.UnixNano())
}

// passiveReply calls Config.Reply and wraps its answer for the wire,
// sealed with c, the credentials that verified the request.
func (h *Handler) passiveReply(ctx context.Context, ev Event, c *creds) (out []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "callback: Reply panicked", slog.String("panic_type", fmt.Sprintf("%T", v)))
			out, err = nil, nil
		}
	}()
	plain := h.reply(ctx, ev)
	if len(plain) == 0 {
		return nil, nil
	}
	return h.encryptReply(c, plain)
}

// Run calls Config.OnEvent for every queued event, on Config.Workers
// goroutines, until ctx is done. Events may be queued (and acknowledged)
// before Run is called; they are delivered once it starts. When ctx is
// done, Run stops accepting events (ServeHTTP then answers 503), delivers
// those still queued with a context that is no longer cancelled, and
// returns nil. Run may be called only once; later calls return an error
// at once.
func (h *Handler) Run(ctx context.Context) error {
	if !h.running.CompareAndSwap(false, true) {
		return errors.New("callback: Run called twice")
	}
	var wg sync.WaitGroup
	for range h.workers {
		wg.Go(func() {
			for {
				select {
				case ev := <-h.queue:
					h.deliver(ctx, ev)
				case <-ctx.Done():
					return
				}
			}
		})
	}
	wg.Wait()
	h.mu.Lock()
	h.stopped = true
	h.mu.Unlock()
	drain := context.WithoutCancel(ctx)
	for {
		select {
		case ev := <-h.queue:
			h.deliver(drain, ev)
		default:
			return nil
		}
	}
}

// deliver calls OnEvent, recovering and logging a panic. The panic value
// is not logged (it may hold event content), only its type and the stack.
func (h *Handler) deliver(ctx context.Context, ev Event) {
	defer func() {
		if v := recover(); v != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "callback: OnEvent panicked",
				slog.String("panic_type", fmt.Sprintf("%T", v)),
				slog.String("stack", string(debug.Stack())))
		}
	}()
	h.onEvent(ctx, ev)
}

// EncryptReply wraps a passive-reply message (for example the
// transfer_customer_service reply of an Official Account) in the signed,
// encrypted envelope expected in safe mode:
//
//	<xml><Encrypt>…</Encrypt><MsgSignature>…</MsgSignature><TimeStamp>…</TimeStamp><Nonce>…</Nonce></xml>
//
// It encrypts for Config.ReceiverID with the current credentials, the
// handler's clock and Config.Rand. (The passive replies of Config.Reply
// are sealed with the credentials of their request instead.) In plain mode it returns plainXML
// unchanged. KF callbacks take no passive reply; use it from your own
// handler built on [Handler.Check].
func (h *Handler) EncryptReply(plainXML []byte) ([]byte, error) {
	return h.encryptReply(&h.cur, plainXML)
}

// encryptReply is EncryptReply with the credentials c.
func (h *Handler) encryptReply(c *creds, plainXML []byte) ([]byte, error) {
	if h.plain {
		return plainXML, nil
	}
	enc, err := c.key.Encrypt(h.rand, plainXML, h.receiverID)
	if err != nil {
		return nil, fmt.Errorf("callback: encrypting reply: %w", err)
	}
	nonce, err := newNonce(h.rand)
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(h.now().Unix(), 10)
	return wxcrypto.BuildEncryptedXML(c.token, enc, ts, nonce), nil
}

// randReader returns r, or crypto/rand's reader if r is nil.
func randReader(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
