package kftest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxkf/kf/internal/wxcrypto"
	"github.com/wxkf/kf/mp"
)

// This file is the Official Account (公众号) mode of the emulator: OAServer
// serves the 客服消息 / 多客服 API of api.weixin.qq.com (shared/api-surface.md
// §8) with its own state, next to the WeCom Server. Choices made where the
// documentation is silent are listed in notes/kftest-oa-choices.md and in
// the comments of the oa_*.go files.

// Defaults of the emulated Official Account.
const (
	DefaultOAAppID      = "wx0a1b2c3d4e5f6a7b"
	DefaultOASecret     = "kftestoasecret0000000000000000ab"
	DefaultOAOriginalID = "gh_0a1b2c3d4e5f"
	DefaultOAWeChatID   = "kftestoa"
)

// Documented and chosen limits of the Official Account mode.
const (
	oaDefaultAccountLimit = 100              // accounts per Official Account (§8.2)
	oaWindow              = 48 * time.Hour   // customer-message window after a user message (§8.5)
	oaWindowQuota         = 5                // messages per window (§8.5)
	oaTypingLasts         = 15 * time.Second // a Typing indicator lasts 15 s (§8.5)
	oaInviteLasts         = 7 * 24 * time.Hour
	oaExternalBindMax     = 5 // a WeChat user may work at most 5 OA kf accounts (legacy text of 65410)
	oaWaitCaseMax         = 100
	oaRecordSpan          = 24 * 60 * 60 // seconds: getmsglist span
	oaRecordNumberMax     = 10000
	oaTextMaxBytes        = 2048 // text content limit (unconfirmed for OA; WeCom's value)
	oaHeadImgMaxBytes     = 2 << 20
	oaDefaultIdleTimeout  = 30 * time.Minute
)

// OACallback configures the Official Account server URL (服务器配置) that the
// emulator pushes user messages and session events to. With an empty
// EncodingAESKey the pushes use plain mode (明文模式: "signature" over
// token, timestamp and nonce; XML in clear); with a 43-character key they
// use safe mode (安全模式: WXBizMsgCrypt with the app id as receive ID,
// "encrypt_type=aes" and "msg_signature" in the URL), and passive replies
// must be encrypted too.
type OACallback struct {
	URL            string
	Token          string
	EncodingAESKey string
}

type oaConfig struct {
	appID, secret, originalID, wechatID string

	callback     *OACallback
	seed         *OASeed
	clock        *Clock
	randSeed     uint64
	accountLimit int
	tokenGrace   time.Duration
	idleTimeout  time.Duration
	pushTimeout  time.Duration
	pushAttempts int
	msgMenu      bool
	disabled     bool
}

// OAOption configures an OAServer.
type OAOption func(*oaConfig) error

// WithOAAppID sets the Official Account's app id (default DefaultOAAppID).
// It is the receive ID of safe-mode pushes.
func WithOAAppID(id string) OAOption {
	return func(c *oaConfig) error {
		if id == "" {
			return errors.New("WithOAAppID: empty app id")
		}
		c.appID = id
		return nil
	}
}

// WithOASecret sets the AppSecret that may fetch tokens (default
// DefaultOASecret).
func WithOASecret(secret string) OAOption {
	return func(c *oaConfig) error {
		if secret == "" {
			return errors.New("WithOASecret: empty secret")
		}
		c.secret = secret
		return nil
	}
}

// WithOAOriginalID sets the Official Account's original id (原始ID, gh_…),
// the ToUserName of every push (default DefaultOAOriginalID).
func WithOAOriginalID(id string) OAOption {
	return func(c *oaConfig) error {
		if !strings.HasPrefix(id, "gh_") {
			return fmt.Errorf("WithOAOriginalID: %q does not start with gh_", id)
		}
		c.originalID = id
		return nil
	}
}

// WithOAWeChatID sets the Official Account's WeChat ID (微信号), the part of
// every kf_account after "@" (default DefaultOAWeChatID).
func WithOAWeChatID(id string) OAOption {
	return func(c *oaConfig) error {
		if !oaValidWeChatID(id) {
			return fmt.Errorf("WithOAWeChatID: %q is not a WeChat ID (6..20 of [A-Za-z0-9_-], starting with a letter)", id)
		}
		c.wechatID = id
		return nil
	}
}

// WithOACallback makes the emulator push user messages and session events
// to cb.URL (see OACallback for plain and safe mode). Token is required.
func WithOACallback(cb OACallback) OAOption {
	return func(c *oaConfig) error {
		if cb.URL == "" || cb.Token == "" {
			return errors.New("WithOACallback: URL and Token are required")
		}
		if cb.EncodingAESKey != "" {
			if _, err := wxcrypto.ParseKey(cb.EncodingAESKey); err != nil {
				return fmt.Errorf("WithOACallback: EncodingAESKey: %w", err)
			}
		}
		c.callback = &cb
		return nil
	}
}

// WithOASeed loads accounts, workers and users at start.
func WithOASeed(s OASeed) OAOption {
	return func(c *oaConfig) error {
		c.seed = &s
		return nil
	}
}

// WithOAClock sets the emulator's clock (default: one following the system
// clock). The 48 h window, token expiry, invitations and idle sessions
// follow it.
func WithOAClock(clk *Clock) OAOption {
	return func(c *oaConfig) error {
		if clk == nil {
			return errors.New("WithOAClock: nil clock")
		}
		c.clock = clk
		return nil
	}
}

// WithOARandSeed makes the emulator's random choices (tokens, nonces,
// ciphertext prefixes) repeatable.
func WithOARandSeed(seed uint64) OAOption {
	return func(c *oaConfig) error {
		c.randSeed = seed
		return nil
	}
}

// WithOAAccountLimit sets the number of kf accounts an Official Account may
// have (documented: 100; 65405 beyond).
func WithOAAccountLimit(n int) OAOption {
	return func(c *oaConfig) error {
		if n < 1 {
			return errors.New("WithOAAccountLimit: need at least 1")
		}
		c.accountLimit = n
		return nil
	}
}

// WithOATokenGrace keeps a superseded access_token valid for d after the
// next fetch. The default 0 is the strict rule "every fetch invalidates the
// previous token"; the Official Account documentation also mentions a 5
// minute overlap during a central server's refresh.
func WithOATokenGrace(d time.Duration) OAOption {
	return func(c *oaConfig) error {
		if d < 0 {
			return errors.New("WithOATokenGrace: negative duration")
		}
		c.tokenGrace = d
		return nil
	}
}

// WithOACallbackRetry sets how long a push waits for the app's 200 (the
// platform: 5 s) and how many attempts it makes in all (the platform: 3).
func WithOACallbackRetry(timeout time.Duration, attempts int) OAOption {
	return func(c *oaConfig) error {
		if timeout <= 0 || attempts < 1 {
			return errors.New("WithOACallbackRetry: need a positive timeout and attempts ≥ 1")
		}
		c.pushTimeout, c.pushAttempts = timeout, attempts
		return nil
	}
}

// WithOASessionIdleTimeout sets after how long without a message a session
// ends by itself (default 30 min, after the transfer documentation's "if the
// worker has not closed the session after 30 minutes, messages return to
// the developer's URL"); 0 disables it. The end pushes kf_close_session.
func WithOASessionIdleTimeout(d time.Duration) OAOption {
	return func(c *oaConfig) error {
		if d < 0 {
			return errors.New("WithOASessionIdleTimeout: negative duration")
		}
		c.idleTimeout = d
		return nil
	}
}

// WithOAMsgMenu sets whether the account may send msgmenu messages (only
// verified service accounts may; others get 40200). Default true.
func WithOAMsgMenu(allowed bool) OAOption {
	return func(c *oaConfig) error {
		c.msgMenu = allowed
		return nil
	}
}

// WithOACustomerServiceDisabled emulates an Official Account without the new
// customer service (新版客服): every kfaccount, kfsession and msgrecord call
// answers 65400.
func WithOACustomerServiceDisabled() OAOption {
	return func(c *oaConfig) error {
		c.disabled = true
		return nil
	}
}

// OAServer emulates an Official Account's customer-service API: tokens
// (each fetch invalidates the previous token), kf accounts and worker
// invitations, workers online and offline, sessions and the wait queue,
// chat records, customer messages with their 48 h / 5 message window,
// typing, and pushes of user messages and session events to the app's
// server URL, whose passive replies (including transfer_customer_service)
// it obeys. Drivers (UserSend, WorkerAccept, WorkerSend, ...) play the
// WeChat users and the human workers.
type OAServer struct {
	cfg   oaConfig
	clock *Clock
	mux   *http.ServeMux
	key   wxcrypto.Key // safe mode only

	randMu sync.Mutex
	rand   *rand.Rand

	faults *faults
	calls  *callCounter
	push   *oaPusher

	mu sync.Mutex // guards st
	st *oaState

	lmu      sync.Mutex
	url      string
	httpSrv  *http.Server
	closed   bool
	hc       *http.Client
	closeCtx context.Context
	cancel   context.CancelFunc
}

// NewOA returns an Official Account emulator that is not listening yet:
// serve it with ListenAndServe or Serve, or use Handler in-process.
func NewOA(opts ...OAOption) (*OAServer, error) {
	cfg := oaConfig{
		appID: DefaultOAAppID, secret: DefaultOASecret, originalID: DefaultOAOriginalID, wechatID: DefaultOAWeChatID,
		accountLimit: oaDefaultAccountLimit, idleTimeout: oaDefaultIdleTimeout,
		pushTimeout: 5 * time.Second, pushAttempts: 3, msgMenu: true,
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("kftest: %w", err)
		}
	}
	if cfg.clock == nil {
		cfg.clock = NewClock()
	}
	seed := cfg.randSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	s := &OAServer{
		cfg: cfg, clock: cfg.clock,
		rand:   rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc908)),
		faults: newFaults(), calls: newCallCounter(),
		st: newOAState(),
		hc: &http.Client{},
	}
	s.closeCtx, s.cancel = context.WithCancel(context.Background())
	s.push = &oaPusher{s: s}
	if cb := cfg.callback; cb != nil && cb.EncodingAESKey != "" {
		k, err := wxcrypto.ParseKey(cb.EncodingAESKey)
		if err != nil {
			return nil, fmt.Errorf("kftest: %w", err)
		}
		s.key = k
	}
	if cfg.seed != nil {
		if err := s.applySeed(*cfg.seed); err != nil {
			return nil, fmt.Errorf("kftest: seed: %w", err)
		}
	}
	s.mux = http.NewServeMux()
	s.oaRoutes()
	return s, nil
}

// NewOAServer starts an Official Account emulator on a loopback port for
// the test and stops it when the test ends. It fails the test if the
// options are invalid.
func NewOAServer(t testing.TB, opts ...OAOption) *OAServer {
	t.Helper()
	s, err := NewOA(opts...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	s.lmu.Lock()
	s.url = hs.URL
	s.lmu.Unlock()
	t.Cleanup(func() {
		s.Close()
		hs.CloseClientConnections()
		hs.Close()
	})
	return s
}

// ListenAndServe listens on addr (for example "127.0.0.1:8081") and serves
// until Close. It returns http.ErrServerClosed after Close.
func (s *OAServer) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve serves on l until Close.
func (s *OAServer) Serve(l net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.lmu.Lock()
	if s.closed {
		s.lmu.Unlock()
		l.Close()
		return http.ErrServerClosed
	}
	s.httpSrv = hs
	s.url = "http://" + l.Addr().String()
	s.lmu.Unlock()
	return hs.Serve(l)
}

// Close stops serving and stops pushing.
func (s *OAServer) Close() error {
	s.lmu.Lock()
	if s.closed {
		s.lmu.Unlock()
		return nil
	}
	s.closed = true
	hs := s.httpSrv
	s.lmu.Unlock()
	s.cancel()
	s.push.close()
	if hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			return hs.Close()
		}
	}
	return nil
}

// URL returns the base URL the emulator listens on ("" before it listens).
func (s *OAServer) URL() string {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	return s.url
}

// Handler returns the emulator as an http.Handler, for in-process use.
func (s *OAServer) Handler() http.Handler { return s }

// ServeHTTP implements http.Handler.
func (s *OAServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// AppID returns the emulated app id.
func (s *OAServer) AppID() string { return s.cfg.appID }

// Secret returns the AppSecret.
func (s *OAServer) Secret() string { return s.cfg.secret }

// OriginalID returns the Official Account's original id (gh_…).
func (s *OAServer) OriginalID() string { return s.cfg.originalID }

// WeChatID returns the Official Account's WeChat ID, the suffix of every
// kf_account.
func (s *OAServer) WeChatID() string { return s.cfg.wechatID }

// KfAccount returns prefix@WeChatID.
func (s *OAServer) KfAccount(prefix string) string { return prefix + "@" + s.cfg.wechatID }

// Clock returns the emulator's clock.
func (s *OAServer) Clock() *Clock { return s.clock }

// Now returns the emulated time.
func (s *OAServer) Now() time.Time { return s.clock.Now() }

// Advance moves the emulated time forward.
func (s *OAServer) Advance(d time.Duration) { s.clock.Advance(d) }

// SetTime moves the emulated time to t.
func (s *OAServer) SetTime(t time.Time) { s.clock.Set(t) }

// Client returns a real *mp.Client pointed at the emulator (which must be
// listening), with the emulated app id and secret. Extra options are applied
// after the base URL. It panics if the options are invalid.
func (s *OAServer) Client(opts ...mp.Option) *mp.Client {
	u := s.URL()
	if u == "" {
		panic("kftest: OAServer.Client called before the server listens")
	}
	all := append([]mp.Option{mp.WithBaseURL(u)}, opts...)
	c, err := mp.NewClient(s.cfg.appID, s.cfg.secret, all...)
	if err != nil {
		panic("kftest: " + err.Error())
	}
	return c
}

// FailNext makes the next n calls of the endpoint at path (for example
// "/customservice/kfsession/create" or "/cgi-bin/token") fail with f.
func (s *OAServer) FailNext(path string, n int, f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for range n {
		s.faults.queued[path] = append(s.faults.queued[path], f)
	}
	return nil
}

// ClearFaults removes every queued fault.
func (s *OAServer) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.queued = map[string][]Fault{}
	s.faults.rate, s.faults.kinds = 0, nil
}

// Calls returns how many requests reached each endpoint path (faults
// included), for example Calls()["/cgi-bin/token"].
func (s *OAServer) Calls() map[string]int {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	m := make(map[string]int, len(s.calls.m))
	for k, v := range s.calls.m {
		m[k] = v
	}
	return m
}

func (s *OAServer) randFloat() float64 {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.rand.Float64()
}

// randString returns n random characters of alphabet.
func (s *OAServer) randString(n int, alphabet string) string {
	b := make([]byte, n)
	s.randMu.Lock()
	for i := range b {
		b[i] = alphabet[s.rand.IntN(len(alphabet))]
	}
	s.randMu.Unlock()
	return string(b)
}

const (
	oaAlnum  = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	oaDigits = "0123456789"
	oaHex    = "0123456789abcdef"
)

// Read implements io.Reader over the emulator's random source (ciphertext
// prefixes), so that WithOARandSeed makes pushes repeatable.
type oaRandReader struct{ s *OAServer }

func (r oaRandReader) Read(p []byte) (int, error) {
	r.s.randMu.Lock()
	defer r.s.randMu.Unlock()
	for i := range p {
		p[i] = byte(r.s.rand.Uint32())
	}
	return len(p), nil
}

var _ io.Reader = oaRandReader{}

// update runs fn with exclusive access to the state, after ending what the
// clock has ended (idle sessions, typing).
func (s *OAServer) update(fn func(st *oaState, now time.Time) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.expire(now)
	return fn(s.st, now)
}

// ---------------------------------------------------------------------------
// HTTP plumbing

// oaError is an errcode answer (and the error of a driver refused for a
// platform reason). errors.Is matches it against mp.ErrCode constants.
type oaError struct {
	code mp.ErrCode
	msg  string
}

func (e *oaError) Error() string { return fmt.Sprintf("errcode %d: %s", int(e.code), e.msg) }

// Unwrap makes errors.Is(err, mp.ErrCodeX) work.
func (e *oaError) Unwrap() error { return e.code }

func oaErr(code mp.ErrCode, format string, args ...any) error {
	return &oaError{code: code, msg: fmt.Sprintf(format, args...)}
}

// oaCall is one API request being served.
type oaCall struct {
	r    *http.Request
	body []byte
	// media is the uploaded file of a multipart endpoint, read before the
	// state is locked; mediaErr is its error, reported after the token
	// check.
	media    []byte
	mediaErr error
}

func (c *oaCall) decode(v any) error {
	if len(strings.TrimSpace(string(c.body))) == 0 {
		return oaErr(44002, "empty post data")
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return oaErr(47001, "data format error")
	}
	return nil
}

type oaHandler func(c *oaCall, st *oaState, now time.Time) (any, error)

type oaEndpoint struct {
	path    string
	methods []string
	noToken bool // /cgi-bin/token
	kf      bool // a 多客服 endpoint: 65400 when customer service is disabled
	bare    bool // a read whose reply carries no errcode/errmsg (as the platform's)
	raw     bool // multipart: the handler reads the body itself
	fn      oaHandler
}

func (s *OAServer) oaAPI(ep oaEndpoint) {
	s.mux.HandleFunc(ep.path, func(w http.ResponseWriter, r *http.Request) { s.serveOA(ep, w, r) })
}

func (s *OAServer) serveOA(ep oaEndpoint, w http.ResponseWriter, r *http.Request) {
	s.calls.add(ep.path)
	f, ok := s.faults.take(ep.path, s.randFloat)
	if ok {
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case f.Drop:
			dropConn(w)
			return
		case f.HTTPStatus != 0:
			http.Error(w, http.StatusText(f.HTTPStatus), f.HTTPStatus)
			return
		case f.Code != 0:
			s.writeOAErr(w, oaErr(f.Code, "injected fault"))
			return
		}
	}
	allowed := false
	for _, m := range ep.methods {
		allowed = allowed || r.Method == m
	}
	if !allowed {
		if r.Method == http.MethodGet {
			s.writeOAErr(w, oaErr(43002, "require POST method"))
		} else {
			s.writeOAErr(w, oaErr(43001, "require GET method"))
		}
		return
	}
	c := &oaCall{r: r}
	if r.Method == http.MethodPost && !ep.raw {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		if err != nil {
			return
		}
		if len(b) > maxRequestBody {
			s.writeOAErr(w, oaErr(47001, "data format error: body too large"))
			return
		}
		c.body = b
	}
	if ep.raw {
		c.media, c.mediaErr = readOAMedia(r)
	}
	var reply any
	err := s.update(func(st *oaState, now time.Time) error {
		if !ep.noToken {
			if err := s.checkToken(st, r.URL.Query(), now); err != nil {
				return err
			}
		}
		if ep.kf && s.cfg.disabled {
			return oaErr(mp.ErrCodeKfNotEnabled, "new customer service not enabled")
		}
		var err error
		reply, err = ep.fn(c, st, now)
		return err
	})
	if err != nil {
		s.writeOAErr(w, err)
		return
	}
	if f.DropAfter {
		dropConn(w)
		return
	}
	s.writeOAOK(w, reply, ep.bare)
}

func (s *OAServer) writeOAOK(w http.ResponseWriter, v any, bare bool) {
	var b []byte
	if v != nil {
		var err error
		if b, err = json.Marshal(v); err != nil {
			s.writeOAErr(w, oaErr(-1, "system error"))
			return
		}
	}
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	if bare && len(b) > 1 {
		w.Write(b)
		return
	}
	out := []byte(`{"errcode":0,"errmsg":"ok"`)
	if len(b) > 2 && b[0] == '{' {
		out = append(out, ',')
		out = append(out, b[1:]...)
	} else {
		out = append(out, '}')
	}
	w.Write(out)
}

// writeOAErr answers an errcode the way api.weixin.qq.com does: HTTP 200
// and an errmsg ending in " rid: <request id>".
func (s *OAServer) writeOAErr(w http.ResponseWriter, err error) {
	var oe *oaError
	if !errors.As(err, &oe) {
		oe = &oaError{code: -1, msg: "system error"}
	}
	rid := s.randString(8, oaHex) + "-" + s.randString(8, oaHex) + "-" + s.randString(8, oaHex)
	b, _ := json.Marshal(struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}{int(oe.code), oe.msg + " rid: " + rid})
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	w.Write(b)
}

func (s *OAServer) oaRoutes() {
	get, post := []string{http.MethodGet}, []string{http.MethodPost}
	both := []string{http.MethodGet, http.MethodPost}
	s.oaAPI(oaEndpoint{path: "/cgi-bin/token", methods: get, noToken: true, bare: true, fn: s.oaToken})

	s.oaAPI(oaEndpoint{path: "/customservice/kfaccount/add", methods: post, kf: true, fn: s.oaAccountAdd})
	s.oaAPI(oaEndpoint{path: "/customservice/kfaccount/update", methods: post, kf: true, fn: s.oaAccountUpdate})
	s.oaAPI(oaEndpoint{path: "/customservice/kfaccount/del", methods: both, kf: true, fn: s.oaAccountDel})
	s.oaAPI(oaEndpoint{path: "/customservice/kfaccount/uploadheadimg", methods: post, kf: true, raw: true, fn: s.oaAccountHeadImg})
	s.oaAPI(oaEndpoint{path: "/customservice/kfaccount/inviteworker", methods: post, kf: true, fn: s.oaAccountInvite})
	s.oaAPI(oaEndpoint{path: "/cgi-bin/customservice/getkflist", methods: get, kf: true, bare: true, fn: s.oaAccountList})
	s.oaAPI(oaEndpoint{path: "/cgi-bin/customservice/getonlinekflist", methods: get, kf: true, bare: true, fn: s.oaAccountOnline})

	s.oaAPI(oaEndpoint{path: "/customservice/kfsession/create", methods: post, kf: true, fn: s.oaSessionCreate})
	s.oaAPI(oaEndpoint{path: "/customservice/kfsession/close", methods: post, kf: true, fn: s.oaSessionClose})
	s.oaAPI(oaEndpoint{path: "/customservice/kfsession/getsession", methods: get, kf: true, fn: s.oaSessionGet})
	s.oaAPI(oaEndpoint{path: "/customservice/kfsession/getsessionlist", methods: get, kf: true, bare: true, fn: s.oaSessionList})
	s.oaAPI(oaEndpoint{path: "/customservice/kfsession/getwaitcase", methods: get, kf: true, bare: true, fn: s.oaSessionWaiting})

	s.oaAPI(oaEndpoint{path: "/customservice/msgrecord/getmsglist", methods: post, kf: true, bare: true, fn: s.oaRecordList})

	s.oaAPI(oaEndpoint{path: "/cgi-bin/message/custom/send", methods: post, fn: s.oaCustomSend})
	s.oaAPI(oaEndpoint{path: "/cgi-bin/message/custom/typing", methods: post, fn: s.oaCustomTyping})
}

// SetErrorRate makes a fraction p (0..1) of all API calls (the token
// endpoint included) fail with one of kinds, taken in turn. p = 0 turns it
// off.
func (s *OAServer) SetErrorRate(p float64, kinds ...Fault) error {
	if p < 0 || p > 1 {
		return errors.New("kftest: error rate outside [0,1]")
	}
	if p > 0 && len(kinds) == 0 {
		return errors.New("kftest: SetErrorRate needs at least one Fault")
	}
	for _, k := range kinds {
		if err := k.validate(); err != nil {
			return err
		}
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.rate, s.faults.kinds, s.faults.next = p, append([]Fault(nil), kinds...), 0
	return nil
}
