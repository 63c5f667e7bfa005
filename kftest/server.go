package kftest

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/wxkf/kf"
)

// Defaults of the emulated corp.
const (
	DefaultCorpID = "wwkftest0000000001"
	DefaultSecret = "kftest-secret"
)

// Quotas are the platform's per-corp and per-account limits.
type Quotas struct {
	// Accounts per corp (current documentation: 5000; unverified corps 10).
	Accounts int
	// ServicerUsers per account (current documentation: 2000; legacy 500).
	ServicerUsers int
	// ServicerDepartments per account (current documentation: 20).
	ServicerDepartments int
}

// DefaultQuotas are the currently documented limits.
var defaultQuotas = Quotas{Accounts: 5000, ServicerUsers: 2000, ServicerDepartments: 20}

// Callback configures where the emulator posts kf_msg_or_event callbacks.
type Callback struct {
	URL            string // the app's callback URL
	Token          string // the Token of the callback settings
	EncodingAESKey string // the 43-character EncodingAESKey
}

type config struct {
	corpID   string
	secrets  []string
	callback *Callback
	seed     *Seed
	clock    *Clock
	quotas   Quotas
	store    Store
	logger   *slog.Logger
	randSeed uint64

	emptyPageRate     float64       // chance of an empty sync page with has_more = 1
	tokenlessLimit    int           // tokenless sync_msg calls allowed per window and account
	tokenlessWindow   time.Duration //
	endFromOpenStates bool          // allow API trans from 0/1/2 to 4
	callbackTimeout   time.Duration // the platform waits this long for a 200
	callbackAttempts  int
}

// Option configures the emulator.
type Option func(*config) error

// WithCorpID sets the emulated corp id (default DefaultCorpID).
func WithCorpID(id string) Option {
	return func(c *config) error {
		if id == "" {
			return errors.New("WithCorpID: empty id")
		}
		c.corpID = id
		return nil
	}
}

// WithSecrets sets the app secrets that may fetch tokens (default
// DefaultSecret).
func WithSecrets(secrets ...string) Option {
	return func(c *config) error {
		if len(secrets) == 0 {
			return errors.New("WithSecrets: no secret")
		}
		for _, s := range secrets {
			if s == "" {
				return errors.New("WithSecrets: empty secret")
			}
		}
		c.secrets = append([]string(nil), secrets...)
		return nil
	}
}

// WithCallback makes the emulator post a signed, encrypted kf_msg_or_event to
// cb.URL whenever an account's sync log grows.
func WithCallback(cb Callback) Option {
	return func(c *config) error {
		if cb.URL == "" || cb.Token == "" || len(cb.EncodingAESKey) != 43 {
			return errors.New("WithCallback: URL, Token and a 43-character EncodingAESKey are required")
		}
		c.callback = &cb
		return nil
	}
}

// WithSeed loads accounts, members and customers at start.
func WithSeed(s Seed) Option {
	return func(c *config) error {
		c.seed = &s
		return nil
	}
}

// WithClock sets the emulator's clock (default: a clock following the
// system clock). Keep the *Clock to Advance or Set it, or use
// Server.Advance and Server.SetTime.
func WithClock(clk *Clock) Option {
	return func(c *config) error {
		if clk == nil {
			return errors.New("WithClock: nil clock")
		}
		c.clock = clk
		return nil
	}
}

// WithQuotas overrides the documented quotas; zero fields keep the default.
func WithQuotas(q Quotas) Option {
	return func(c *config) error {
		if q.Accounts < 0 || q.ServicerUsers < 0 || q.ServicerDepartments < 0 {
			return errors.New("WithQuotas: negative quota")
		}
		if q.Accounts > 0 {
			c.quotas.Accounts = q.Accounts
		}
		if q.ServicerUsers > 0 {
			c.quotas.ServicerUsers = q.ServicerUsers
		}
		if q.ServicerDepartments > 0 {
			c.quotas.ServicerDepartments = q.ServicerDepartments
		}
		return nil
	}
}

// WithStore sets the state store (default NewMemoryStore()).
func WithStore(s Store) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("WithStore: nil store")
		}
		c.store = s
		return nil
	}
}

// WithLogger sets the emulator's logger (default: silent).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithRandSeed makes the emulator's random choices (ids, empty pages, fault
// rates) repeatable.
func WithRandSeed(seed uint64) Option {
	return func(c *config) error {
		c.randSeed = seed
		return nil
	}
}

// WithEmptyPageRate sets the chance (0..1) that a sync_msg call answers an
// empty page with has_more = 1 although messages are pending, as the real
// platform sometimes does.
func WithEmptyPageRate(p float64) Option {
	return func(c *config) error {
		if p < 0 || p >= 1 {
			return fmt.Errorf("WithEmptyPageRate: %v not in [0,1)", p)
		}
		c.emptyPageRate = p
		return nil
	}
}

// WithTokenlessSyncLimit sets how many sync_msg calls without a valid
// callback token each account may make per window before 45009. The real
// limit is undocumented ("strict"); the default is 10 per minute.
func WithTokenlessSyncLimit(n int, window time.Duration) Option {
	return func(c *config) error {
		if n < 1 || window <= 0 {
			return errors.New("WithTokenlessSyncLimit: need n ≥ 1 and a positive window")
		}
		c.tokenlessLimit, c.tokenlessWindow = n, window
		return nil
	}
}

// WithEndFromOpenStates sets whether service_state/trans may end a session
// (→ 4) from states 0, 1 and 2. The documentation's prose only offers ending
// from 3; its flow chart is unconfirmed. Default true (permissive).
func WithEndFromOpenStates(allow bool) Option {
	return func(c *config) error {
		c.endFromOpenStates = allow
		return nil
	}
}

// WithCallbackRetry sets how long the emulator waits for the app's 200 (the
// platform: 5 s) and how many attempts it makes in all (the platform: 3).
func WithCallbackRetry(timeout time.Duration, attempts int) Option {
	return func(c *config) error {
		if timeout <= 0 || attempts < 1 {
			return errors.New("WithCallbackRetry: need a positive timeout and attempts ≥ 1")
		}
		c.callbackTimeout, c.callbackAttempts = timeout, attempts
		return nil
	}
}

// Server is the emulator: an http.Handler serving the WeCom 微信客服 API, the
// control API under /_kftest/ and the customer chat page, over a Store.
type Server struct {
	httpLife    // ListenAndServe, Serve, Start, Close, URL, ServeHTTP
	faults      // FailNext, SetErrorRate, ClearFaults, Calls
	emuClock    // Clock, Now, Advance, SetTime
	*lockedRand // randFloat, randString

	cfg   config
	store Store
	log   *slog.Logger

	hub *hub        // live updates for the chat page
	cb  *callbacker // callback delivery (nil without WithCallback)
}

// New returns an emulator that is not listening yet: serve it with
// ListenAndServe, Serve or Start, or use Handler in-process.
func New(opts ...Option) (*Server, error) {
	cfg := config{
		corpID: DefaultCorpID, secrets: []string{DefaultSecret}, quotas: defaultQuotas,
		tokenlessLimit: 10, tokenlessWindow: time.Minute, endFromOpenStates: true,
		callbackTimeout: 5 * time.Second, callbackAttempts: 3,
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("kftest: %w", err)
		}
	}
	if cfg.clock == nil {
		cfg.clock = NewClock()
	}
	if cfg.store == nil {
		cfg.store = NewMemoryStore()
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg: cfg, emuClock: emuClock{cfg.clock}, store: cfg.store, log: cfg.logger,
		lockedRand: newLockedRand(cfg.randSeed, 0x9e3779b97f4a7c15),
		hub:        newHub(),
	}
	if err := s.store.Update(func(st *State) error {
		st.corpID = cfg.corpID
		for _, sec := range cfg.secrets {
			st.secrets[sec] = true
		}
		if cfg.seed != nil {
			return s.applySeed(st, *cfg.seed)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("kftest: seed: %w", err)
	}
	if cfg.callback != nil {
		cb, err := newCallbacker(s, *cfg.callback)
		if err != nil {
			return nil, fmt.Errorf("kftest: %w", err)
		}
		s.cb = cb
	}
	s.initHTTP(s.log, s.stop)
	s.routes()
	return s, nil
}

// stop stops what the emulator runs besides serving HTTP (see Close).
func (s *Server) stop() {
	s.hub.close()
	if s.cb != nil {
		s.cb.close()
	}
}

// NewServer starts an emulator on a loopback port for the test and stops it
// when the test ends. It fails the test if the options are invalid.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	s.serveTest(t)
	return s
}

// Handler returns the emulator as an http.Handler, for in-process use.
func (s *Server) Handler() http.Handler { return s }

// CorpID returns the emulated corp id.
func (s *Server) CorpID() string { return s.cfg.corpID }

// Secret returns the first configured app secret.
func (s *Server) Secret() string { return s.cfg.secrets[0] }

// Client returns a real *kf.Client pointed at the emulator (which must be
// listening), using the emulated corp id and secret. Extra options are
// applied after those. It panics if the options are invalid.
func (s *Server) Client(opts ...kf.Option) *kf.Client {
	u := s.URL()
	if u == "" {
		panic("kftest: Client called before the server listens")
	}
	all := append([]kf.Option{kf.WithBaseURL(u)}, opts...)
	c, err := kf.NewClient(s.cfg.corpID, s.cfg.secrets[0], all...)
	if err != nil {
		panic("kftest: " + err.Error())
	}
	return c
}

// randID returns a random identifier of n characters from [0-9a-zA-Z].
func (s *Server) randID(n int) string { return s.randString(n, alnum) }
