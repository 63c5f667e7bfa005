package kftest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxkf/kf/callback"
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
// to cb.URL (see OACallback for plain and safe mode). Token is required: at
// most 32 ASCII letters and digits, as the platform accepts.
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
	httpLife    // ListenAndServe, Serve, Start, Close, URL, ServeHTTP
	faults      // FailNext, SetErrorRate, ClearFaults, Calls
	emuClock    // Clock, Now, Advance, SetTime
	*lockedRand // randFloat, randString

	cfg oaConfig
	key wxcrypto.Key      // safe mode only: opens passive replies
	cb  *callback.Builder // builds the pushes (nil without WithOACallback)

	push *oaPusher

	mu sync.Mutex // guards st
	st *oaState

	hc       *http.Client
	closeCtx context.Context
	cancel   context.CancelFunc
}

// NewOA returns an Official Account emulator that is not listening yet:
// serve it with ListenAndServe, Serve or Start, or use Handler in-process.
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
	s := &OAServer{
		cfg: cfg, emuClock: emuClock{cfg.clock},
		lockedRand: newLockedRand(cfg.randSeed, 0x6a09e667f3bcc908),
		st:         newOAState(),
		// Its own transport, so that Close can drop the idle
		// connections to the app's server URL.
		hc: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
	s.closeCtx, s.cancel = context.WithCancel(context.Background())
	s.push = &oaPusher{s: s}
	if cb := cfg.callback; cb != nil {
		b, err := callback.NewBuilder(cb.Token, cb.EncodingAESKey, cfg.appID)
		if err != nil {
			return nil, fmt.Errorf("kftest: WithOACallback: %w", err)
		}
		b.Rand, b.ToUserName, b.OfficialAccount = randReader{s.lockedRand}, cfg.originalID, true
		s.cb = b
		if cb.EncodingAESKey != "" {
			if s.key, err = wxcrypto.ParseKey(cb.EncodingAESKey); err != nil {
				return nil, fmt.Errorf("kftest: %w", err)
			}
		}
	}
	if cfg.seed != nil {
		if err := s.applySeed(*cfg.seed); err != nil {
			return nil, fmt.Errorf("kftest: seed: %w", err)
		}
	}
	s.initHTTP(slog.Default(), s.stop)
	s.oaRoutes()
	return s, nil
}

// stop stops pushing (see Close) and closes the idle connections to the
// server URL.
func (s *OAServer) stop() {
	s.cancel()
	s.push.close()
	s.hc.CloseIdleConnections()
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
	s.serveTest(t)
	return s
}

// Handler returns the emulator as an http.Handler, for in-process use.
func (s *OAServer) Handler() http.Handler { return s }

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
	f, body, ok := beginAPI(s, w, r, ep.path, ep.methods, !ep.raw)
	if !ok {
		return
	}
	c := &oaCall{r: r, body: body}
	if ep.raw {
		c.media, c.mediaErr = readOAMedia(w, r)
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
		s.writeErr(w, r, err)
		return
	}
	if f.DropAfter {
		dropConn(w)
		return
	}
	s.writeOK(w, reply, ep.bare)
}

// The answers of the steps beginAPI takes, in the Official Account format.
func (s *OAServer) faultErr(code mp.ErrCode) error { return oaErr(code, "injected fault") }

func (s *OAServer) methodErr(r *http.Request, _ []string) error {
	if r.Method == http.MethodGet {
		return oaErr(43002, "require POST method")
	}
	return oaErr(43001, "require GET method")
}

func (s *OAServer) tooLargeErr() error { return oaErr(47001, "data format error: body too large") }

// oaContentType is the Content-Type of api.weixin.qq.com's JSON answers.
const oaContentType = "application/json; encoding=utf-8"

func (s *OAServer) writeOK(w http.ResponseWriter, v any, bare bool) {
	var b []byte
	if v != nil {
		var err error
		if b, err = json.Marshal(v); err != nil {
			s.writeErr(w, nil, oaErr(-1, "system error"))
			return
		}
	}
	if bare && len(b) > 1 {
		writeAPIJSON(w, oaContentType, b)
		return
	}
	writeAPIJSON(w, oaContentType, okJSON(b))
}

// writeErr answers an errcode the way api.weixin.qq.com does: HTTP 200
// and an errmsg ending in " rid: <request id>".
func (s *OAServer) writeErr(w http.ResponseWriter, _ *http.Request, err error) {
	var oe *oaError
	if !errors.As(err, &oe) {
		oe = &oaError{code: -1, msg: "system error"}
	}
	rid := s.randString(8, hexDigits) + "-" + s.randString(8, hexDigits) + "-" + s.randString(8, hexDigits)
	writeAPIJSON(w, oaContentType, errJSON(oe.code, oe.msg+" rid: "+rid))
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
