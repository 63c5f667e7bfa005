package callback

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/wxkf/kf/internal/wxcrypto"
)

// Defaults applied by [New] to zero Config fields.
const (
	// DefaultWindow is the default accepted clock skew between a
	// callback's timestamp and the handler's clock, in either direction.
	DefaultWindow = 5 * time.Minute
	// DefaultMaxBodyBytes is the default request body cap. A KF callback
	// body is under 1 KiB.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultQueueSize is the default capacity of the event queue.
	DefaultQueueSize = 1024
	// DefaultDedupSize is the default number of recently delivered
	// events remembered to suppress retried callbacks.
	DefaultDedupSize = 4096
)

// maxTokenLen is the longest callback Token the platforms accept.
const maxTokenLen = 32

// Credentials is a callback Token and EncodingAESKey pair, as configured
// in the WeCom admin console or the Official Account console.
type Credentials struct {
	// Token is the callback token (up to 32 letters and digits).
	Token string
	// EncodingAESKey is the 43-character key; empty in plain mode.
	EncodingAESKey string
}

// Config configures a [Handler]. Token, ReceiverID, EncodingAESKey (except
// in plain mode) and OnEvent are required; zero values of the other fields
// select the documented defaults.
type Config struct {
	// Token is the callback token: 1 to 32 ASCII letters and digits.
	Token string
	// EncodingAESKey is the 43-character EncodingAESKey. It must be
	// empty when Plain is set.
	EncodingAESKey string
	// ReceiverID is the receive ID expected inside every decrypted
	// message: the CorpID for an internal WeCom app, the SuiteID for
	// suite callbacks, the AppID for an Official Account in safe mode.
	// It is not used in plain mode.
	ReceiverID string

	// Plain selects the Official Account plain mode (明文模式): requests
	// carry a "signature" parameter over the token, timestamp and nonce
	// only, bodies are plain XML, and the URL check echoes echostr as is.
	// The body is NOT authenticated in this mode; prefer safe mode.
	Plain bool

	// Previous holds the credentials being rotated out. While the
	// handler's clock is before RotationEnds, requests signed and
	// encrypted with either the current or the previous credentials are
	// accepted; afterwards only the current ones. RotationEnds is
	// required when Previous is set. In plain mode only Previous.Token
	// is used.
	Previous     *Credentials
	RotationEnds time.Time

	// OnEvent receives every verified event, once, on a worker goroutine
	// started by [Handler.Run] and never on the request goroutine. ctx is
	// the context passed to Run (without its cancellation while the queue
	// is drained after Run's context is done). OnEvent may be slow: the
	// HTTP request has already been acknowledged. A panic in OnEvent is
	// recovered and logged.
	OnEvent func(ctx context.Context, ev Event)
	// Reply, when set, is called on the request goroutine for every new
	// (not duplicate) verified event, before the event is queued for
	// OnEvent, and its result is sent as the passive reply: in safe mode
	// encrypted as by EncryptReply, but with the credentials the request
	// was made with (during a rotation the platform may still use the
	// Previous pair, and expects its reply in that pair), as is in plain
	// mode; nil or empty
	// answers an empty 200. Official Accounts use it for the
	// transfer_customer_service reply (see TransferCustomerService);
	// WeCom KF callbacks take no passive reply. Reply must return well
	// within the platform's 5 s. A retried (duplicate) callback gets an
	// empty 200 without calling Reply again.
	Reply func(ctx context.Context, ev Event) []byte
	// OnReject, when set, is called on the request goroutine for every
	// rejected request with the error (which wraps one of the package's
	// sentinels; Reason names it), for metrics. It must not block.
	OnReject func(r *http.Request, err error)
	// QueueSize is the capacity of the queue between ServeHTTP and the
	// workers (default DefaultQueueSize). When the queue is full,
	// ServeHTTP answers 503 so that the platform retries later.
	QueueSize int
	// Workers is the number of goroutines Run uses to call OnEvent
	// (default 1). With more than one, events may be delivered out of
	// order.
	Workers int

	// Window is the accepted difference between a request's timestamp
	// and the handler's clock, in either direction (default
	// DefaultWindow). Older or newer requests are rejected as replays.
	Window time.Duration
	// MaxBodyBytes caps the request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// DedupTTL is how long a delivered event is remembered to suppress
	// the platform's retries (default 2×Window, which also covers any
	// replay of a captured request within the timestamp window).
	DedupTTL time.Duration
	// DedupSize bounds the number of remembered events (default
	// DefaultDedupSize); the oldest are forgotten first.
	DedupSize int

	// Now returns the current time (default time.Now). Inject a fake
	// clock in tests.
	Now func() time.Time
	// Rand is the randomness source for the nonces and random prefixes of
	// [Handler.EncryptReply] (default crypto/rand). It must be safe for
	// concurrent use if EncryptReply is called concurrently.
	Rand io.Reader
	// Logger receives a Warn line per rejected request with the precise
	// reason, an Error line per 503 and per recovered OnEvent panic, and
	// a Debug line per suppressed duplicate (default: discard). Tokens,
	// keys, signature values, URLs and message contents are never logged.
	Logger *slog.Logger
}

// creds is a parsed credential set.
type creds struct {
	token string
	key   wxcrypto.Key // zero in plain mode
}

func validateToken(field, token string) error {
	if token == "" {
		return fmt.Errorf("callback: %s is required", field)
	}
	if len(token) > maxTokenLen {
		return fmt.Errorf("callback: %s must be at most %d characters, got %d", field, maxTokenLen, len(token))
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return fmt.Errorf("callback: %s must contain only ASCII letters and digits (position %d)", field, i)
		}
	}
	return nil
}

func parseCreds(field string, c Credentials, plain bool) (creds, error) {
	if err := validateToken(field+"Token", c.Token); err != nil {
		return creds{}, err
	}
	if plain {
		if c.EncodingAESKey != "" {
			return creds{}, fmt.Errorf("callback: %sEncodingAESKey must be empty in plain mode", field)
		}
		return creds{token: c.Token}, nil
	}
	key, err := wxcrypto.ParseKey(c.EncodingAESKey)
	if err != nil {
		// The wxcrypto error never includes the key.
		return creds{}, fmt.Errorf("callback: %sEncodingAESKey: %w", field, err)
	}
	return creds{token: c.Token, key: key}, nil
}

// New validates cfg and returns a Handler. It does not start any
// goroutine: call [Handler.Run] to deliver events.
func New(cfg Config) (*Handler, error) {
	cur, err := parseCreds("", Credentials{Token: cfg.Token, EncodingAESKey: cfg.EncodingAESKey}, cfg.Plain)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		plain:      cfg.Plain,
		cur:        cur,
		receiverID: cfg.ReceiverID,
		onEvent:    cfg.OnEvent,
		reply:      cfg.Reply,
		onReject:   cfg.OnReject,
		window:     cfg.Window,
		maxBody:    cfg.MaxBodyBytes,
		now:        cfg.Now,
		rand:       cfg.Rand,
		log:        cfg.Logger,
		workers:    cfg.Workers,
	}
	if !cfg.Plain && cfg.ReceiverID == "" {
		return nil, errors.New("callback: ReceiverID is required")
	}
	if cfg.Previous != nil {
		prev, err := parseCreds("Previous.", *cfg.Previous, cfg.Plain)
		if err != nil {
			return nil, err
		}
		if cfg.RotationEnds.IsZero() {
			return nil, errors.New("callback: RotationEnds is required when Previous is set")
		}
		h.prev = &prev
		h.rotationEnds = cfg.RotationEnds
	}
	if cfg.OnEvent == nil {
		return nil, errors.New("callback: OnEvent is required")
	}
	switch {
	case h.window == 0:
		h.window = DefaultWindow
	case h.window < time.Second:
		return nil, errors.New("callback: Window must be at least one second")
	}
	switch {
	case h.maxBody == 0:
		h.maxBody = DefaultMaxBodyBytes
	case h.maxBody < 0:
		return nil, errors.New("callback: MaxBodyBytes must not be negative")
	}
	queue := cfg.QueueSize
	switch {
	case queue == 0:
		queue = DefaultQueueSize
	case queue < 0:
		return nil, errors.New("callback: QueueSize must not be negative")
	}
	switch {
	case h.workers == 0:
		h.workers = 1
	case h.workers < 0:
		return nil, errors.New("callback: Workers must not be negative")
	}
	ttl := cfg.DedupTTL
	switch {
	case ttl == 0:
		ttl = 2 * h.window
	case ttl < 0:
		return nil, errors.New("callback: DedupTTL must not be negative")
	}
	size := cfg.DedupSize
	switch {
	case size == 0:
		size = DefaultDedupSize
	case size < 0:
		return nil, errors.New("callback: DedupSize must not be negative")
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.windowSecs = int64(h.window / time.Second)
	h.queue = make(chan Event, queue)
	h.seed = maphash.MakeSeed()
	h.dedup = newDedupCache(size, int64(ttl))
	return h, nil
}
