package kfsync

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/wxkf/kf"
)

// Defaults of a Syncer.
const (
	// DefaultDedupTTL is how long handled msgids are remembered: the
	// platform keeps 3 days of history, plus one day of margin.
	DefaultDedupTTL = 4 * 24 * time.Hour
	// DefaultTokenTTL is how long a callback token is used after it was
	// received (the platform: 10 minutes from issue; receipt is a few
	// seconds later, hence the margin).
	DefaultTokenTTL = 9*time.Minute + 30*time.Second
	// DefaultPollInterval is the period of the safety poll.
	DefaultPollInterval = 2 * time.Minute
	// DefaultLeaseTTL is the TTL of per-account leases (with a Locker).
	DefaultLeaseTTL = 30 * time.Second
	// DefaultPageLimit is the page size asked of sync_msg (its maximum).
	DefaultPageLimit = 1000
	// DefaultMaxEmptyPages is how many consecutive pages with has_more=1
	// that make no progress (an unchanged cursor and no new message: an
	// empty page, or one that only repeats handled messages) a pull
	// accepts before it gives up and backs off.
	DefaultMaxEmptyPages = 100
	// DefaultShutdownTimeout bounds the final progress commit made when
	// Run's context ends.
	DefaultShutdownTimeout = 5 * time.Second
	// maxTokens is how many distinct callback tokens are queued per
	// account.
	maxTokens = 8
)

// Clock is the time source of a Syncer. Tests replace it so that backoffs,
// polls, token expiry and leases never wait for real time.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time once d has elapsed.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// SystemClock returns the real clock (time.Now, time.After).
func SystemClock() Clock { return systemClock{} }

// Backoff configures the jittered exponential backoff of an account after a
// failed pull (handler error, platform error, store error). The zero value
// of each field takes its default.
type Backoff struct {
	// Initial is the first delay (default 1 s).
	Initial time.Duration
	// Max caps the delay (default 2 min).
	Max time.Duration
	// Factor multiplies the delay after each consecutive failure
	// (default 2).
	Factor float64
	// Jitter is the fraction of each delay that is random: a delay d
	// becomes a uniform value in [d·(1−Jitter), d] (default 0.5; use a
	// negative value for none).
	Jitter float64
	// ResetAfter is the healthy period after which the next failure starts
	// again from Initial: when the last retry began at least ResetAfter
	// before a new failure (default 2 min).
	ResetAfter time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = time.Second
	}
	if b.Max <= 0 {
		b.Max = 2 * time.Minute
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Factor < 1 {
		b.Factor = 2
	}
	switch {
	case b.Jitter == 0:
		b.Jitter = 0.5
	case b.Jitter < 0:
		b.Jitter = 0
	case b.Jitter > 1:
		b.Jitter = 1
	}
	if b.ResetAfter <= 0 {
		b.ResetAfter = 2 * time.Minute
	}
	return b
}

// backoffState is the backoff of one account.
type backoffState struct {
	failures int       // consecutive failures since the last reset
	retryAt  time.Time // when the last backoff ended
}

// next returns the delay after a failure at now.
func (st *backoffState) next(b Backoff, now time.Time, rnd func() float64) time.Duration {
	if st.failures > 0 && now.Sub(st.retryAt) >= b.ResetAfter {
		st.failures = 0
	}
	d := float64(b.Initial)
	for i := 0; i < st.failures && d < float64(b.Max); i++ {
		d *= b.Factor
	}
	if d > float64(b.Max) {
		d = float64(b.Max)
	}
	st.failures++
	d -= d * b.Jitter * rnd()
	delay := time.Duration(d)
	st.retryAt = now.Add(delay)
	return delay
}

// config is the configuration of a Syncer.
type config struct {
	store        Store
	committer    Committer
	locker       Locker
	owner        string
	leaseTTL     time.Duration
	accounts     []string
	pollInterval time.Duration
	pageLimit    uint32
	voiceFormat  kf.VoiceFormat
	dedupTTL     time.Duration
	tokenTTL     time.Duration
	backoff      Backoff
	clock        Clock
	rnd          func() float64
	log          *slog.Logger
	hooks        Hooks
	tap          func(kf.Message)
	commitEvery  int
	maxEmpty     int
	staleCursor  func(error) bool
	shutdown     time.Duration
}

// Option configures a Syncer.
type Option func(*config) error

// WithStore sets where cursors and dedup marks are kept (default: a new
// MemoryStore). When the store also implements Committer, the Syncer commits
// through it atomically.
func WithStore(s Store) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("WithStore: nil store")
		}
		c.store = s
		return nil
	}
}

// WithLocker makes the Syncer take a per-account lease from l before each
// pull, so that several processes can run Syncers for the same accounts
// (default: none; pulls never overlap within one Syncer anyway). The fence
// of the lease travels only through Commit: with a store that is not a
// Committer, only the Syncer's own lease check (before every Mark and Save)
// guards against a stale worker.
func WithLocker(l Locker) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("WithLocker: nil locker")
		}
		c.locker = l
		return nil
	}
}

// WithOwner sets the lease owner token (default: random per Syncer). It must
// be unique among the Syncers sharing a Locker.
func WithOwner(owner string) Option {
	return func(c *config) error {
		if owner == "" {
			return errors.New("WithOwner: empty owner")
		}
		c.owner = owner
		return nil
	}
}

// WithLeaseTTL sets the lease TTL (default DefaultLeaseTTL); the lease is
// renewed every third of it.
func WithLeaseTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("WithLeaseTTL: %v is too short", d)
		}
		c.leaseTTL = d
		return nil
	}
}

// WithAccounts names accounts to poll and to catch up when Run starts.
// Accounts passed to Notify are learnt as well.
func WithAccounts(openKfIDs ...string) Option {
	return func(c *config) error {
		for _, id := range openKfIDs {
			if id == "" {
				return errors.New("WithAccounts: empty open_kfid")
			}
		}
		c.accounts = append(c.accounts, openKfIDs...)
		return nil
	}
}

// WithPollInterval sets the period of the safety poll, which pulls every
// known account that has not been pulled for that long, for the callbacks
// that never arrive (default DefaultPollInterval; 0 disables the poll).
// Polls usually take the rate-limited tokenless path: keep the interval
// long when there are many accounts.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("WithPollInterval: %v is negative", d)
		}
		c.pollInterval = d
		return nil
	}
}

// WithPageLimit sets the sync_msg page size, 1–1000 (default 1000).
func WithPageLimit(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 1000 {
			return fmt.Errorf("WithPageLimit: %d not in 1..1000", n)
		}
		c.pageLimit = uint32(n)
		return nil
	}
}

// WithVoiceFormat asks sync_msg for voice messages in format f.
func WithVoiceFormat(f kf.VoiceFormat) Option {
	return func(c *config) error {
		c.voiceFormat = f
		return nil
	}
}

// WithDedupTTL sets how long handled msgids are remembered (default
// DefaultDedupTTL). It must be more than the platform's 3 days of history.
func WithDedupTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 72*time.Hour {
			return fmt.Errorf("WithDedupTTL: %v is not more than the platform's 3 days", d)
		}
		c.dedupTTL = d
		return nil
	}
}

// WithTokenTTL sets how long a callback token is used after Notify received
// it (default DefaultTokenTTL; at most 10 minutes).
func WithTokenTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > 10*time.Minute {
			return fmt.Errorf("WithTokenTTL: %v not in (0, 10m]", d)
		}
		c.tokenTTL = d
		return nil
	}
}

// WithBackoff sets the backoff after failed pulls.
func WithBackoff(b Backoff) Option {
	return func(c *config) error {
		c.backoff = b
		return nil
	}
}

// WithClock sets the clock (default SystemClock()).
func WithClock(clk Clock) Option {
	return func(c *config) error {
		if clk == nil {
			return errors.New("WithClock: nil clock")
		}
		c.clock = clk
		return nil
	}
}

// WithRand sets the random source of the backoff and poll jitter: a function
// returning values in [0, 1) (default math/rand/v2.Float64). It is called
// from several goroutines.
func WithRand(rnd func() float64) Option {
	return func(c *config) error {
		if rnd == nil {
			return errors.New("WithRand: nil function")
		}
		c.rnd = rnd
		return nil
	}
}

// WithLogger sets the logger (default: silent).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.log = l
		return nil
	}
}

// WithHooks sets the metric hooks.
func WithHooks(h Hooks) Option {
	return func(c *config) error {
		c.hooks = h
		return nil
	}
}

// WithTap makes the Syncer call fn with every message it pulls, duplicates
// included, before the handler sees it, for example Replier.Observe. fn
// runs on the account's worker and must be quick; the message shares memory
// with its page (copy what you keep).
func WithTap(fn func(kf.Message)) Option {
	return func(c *config) error {
		c.tap = fn
		return nil
	}
}

// WithCommitEvery makes a Syncer whose store is a Committer commit progress
// (the dedup marks, keeping the cursor) every n handled messages within a
// page, besides the commit at the end of each page (default 0: at the end
// of the page only). A smaller n narrows what a crash re-delivers to the
// handler, at the price of more commits.
func WithCommitEvery(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("WithCommitEvery: %d is negative", n)
		}
		c.commitEvery = n
		return nil
	}
}

// WithMaxEmptyPages sets how many consecutive pages with has_more=1 that
// make no progress (an unchanged cursor and no new message: empty pages, or
// pages that only repeat handled messages) a pull accepts before it backs
// off (default DefaultMaxEmptyPages).
func WithMaxEmptyPages(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("WithMaxEmptyPages: %d < 1", n)
		}
		c.maxEmpty = n
		return nil
	}
}

// WithStaleCursor sets the restart policy for a cursor the platform no
// longer accepts: when stale(err) is true for a sync_msg error, the account
// restarts from an empty cursor (the platform's last 3 days, with the dedup
// store skipping what was handled). Default: never restart (the error is
// reported and retried with backoff).
func WithStaleCursor(stale func(err error) bool) Option {
	return func(c *config) error {
		c.staleCursor = stale
		return nil
	}
}

// WithShutdownTimeout bounds the final progress commit made when Run's
// context ends (default DefaultShutdownTimeout).
func WithShutdownTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("WithShutdownTimeout: %v is not positive", d)
		}
		c.shutdown = d
		return nil
	}
}

func newConfig(opts []Option) (config, error) {
	c := config{
		leaseTTL:     DefaultLeaseTTL,
		pollInterval: DefaultPollInterval,
		pageLimit:    DefaultPageLimit,
		dedupTTL:     DefaultDedupTTL,
		tokenTTL:     DefaultTokenTTL,
		clock:        systemClock{},
		rnd:          mrand.Float64,
		maxEmpty:     DefaultMaxEmptyPages,
		shutdown:     DefaultShutdownTimeout,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return config{}, fmt.Errorf("kfsync: %w", err)
		}
	}
	if c.store == nil {
		c.store = NewMemoryStore(MemoryClock(c.clock.Now))
	}
	c.committer, _ = c.store.(Committer)
	if c.owner == "" {
		c.owner = "kfsync-" + rand.Text()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.backoff = c.backoff.withDefaults()
	return c, nil
}
