package kfsync_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/wxkf/kf/internal/testenv"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kftest"
)

const (
	wkA = "wkAccountA"
	wkB = "wkAccountB"
)

// emulator starts kftest with two accounts, a servicer and customers.
func emulator(t testing.TB, opts ...kftest.Option) *kftest.Server {
	t.Helper()
	seed := kftest.Seed{
		Accounts: []kftest.SeedAccount{{OpenKfID: wkA, Name: "A", Servicers: []string{"zhangsan"}}, {OpenKfID: wkB, Name: "B"}},
		Members:  []kftest.SeedMember{{UserID: "zhangsan"}},
	}
	for i := range 5 {
		seed.Customers = append(seed.Customers, kftest.SeedCustomer{ExternalUserID: fmt.Sprint("wmCustomer", i), Nickname: fmt.Sprint("c", i)})
	}
	return kftest.NewServer(t, append([]kftest.Option{kftest.WithSeed(seed), kftest.WithRandSeed(1)}, opts...)...)
}

// fastClient is a client whose own retries do not sleep for long.
func fastClient(srv *kftest.Server, opts ...kf.Option) *kf.Client {
	return srv.Client(append([]kf.Option{kf.WithRetryer(kf.NewStandardRetryer(kf.StandardRetryerConfig{
		BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}))}, opts...)...)
}

// fastBackoff keeps the Syncer's retries short in real time.
var fastBackoff = kfsync.WithBackoff(kfsync.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond})

// emuClock is a kfsync.Clock on the emulator's time whose waits advance the
// emulator at once (so that rate-limit windows and token TTLs pass without
// real sleeps).
type emuClock struct{ srv *kftest.Server }

func (c emuClock) Now() time.Time { return c.srv.Now() }
func (c emuClock) After(d time.Duration) <-chan time.Time {
	c.srv.Advance(d)
	ch := make(chan time.Time, 1)
	ch <- c.srv.Now()
	return ch
}

// counter is a Handler counting handles per msgid.
type counter struct {
	mu   sync.Mutex
	seen map[string]int
}

func newCounter() *counter { return &counter{seen: map[string]int{}} }

func (c *counter) handle(_ context.Context, m kf.Message) error {
	c.mu.Lock()
	c.seen[m.MsgID]++
	c.mu.Unlock()
	return nil
}

func (c *counter) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func (c *counter) checkOnce(t testing.TB, want []string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	bad := 0
	for _, id := range want {
		if n := c.seen[id]; n != 1 && bad < 10 {
			t.Errorf("msgid %s handled %d times, want 1", id, n)
			bad++
		}
	}
	if len(c.seen) != len(want) {
		t.Errorf("handled %d distinct messages, want %d", len(c.seen), len(want))
	}
}

// run runs s in the background until stop is called or the test ends.
func run(t testing.TB, s *kfsync.Syncer) (stop func()) {
	t.Helper()
	return testenv.Background(t, s.Run)
}

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// send makes customers send n texts to an account, returning the msgids.
func send(t testing.TB, srv *kftest.Server, openKfID string, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for i := range n {
		id, err := srv.CustomerSend(openKfID, fmt.Sprint("wmCustomer", i%5), kftest.CustomerText(fmt.Sprint("hello ", i)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// notify sends a callback's worth of news: a fresh sync token.
func notify(t testing.TB, srv *kftest.Server, s *kfsync.Syncer, openKfID string) {
	t.Helper()
	tok, err := srv.SyncToken(openKfID)
	if err != nil {
		t.Fatal(err)
	}
	s.Notify(openKfID, tok)
}

func TestE2EEachMessageHandledOnce(t *testing.T) {
	t.Parallel()
	srv := emulator(t)
	c := newCounter()
	s, err := kfsync.New(fastClient(srv).Messages, c.handle, kfsync.WithPageLimit(100), kfsync.WithPollInterval(0), fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	var want []string
	for round := range 10 {
		want = append(want, send(t, srv, wkA, 150)...)
		want = append(want, send(t, srv, wkB, 30)...)
		notify(t, srv, s, wkA)
		notify(t, srv, s, wkB)
		if round%3 == 0 {
			notify(t, srv, s, wkA) // a repeated callback
		}
	}
	waitFor(t, "all handled", 20*time.Second, func() bool { return c.len() == len(want) })
	waitFor(t, "idle", 5*time.Second, func() bool { st := s.Stats(); return !st.Accounts[wkA].Running && !st.Accounts[wkB].Running })
	c.checkOnce(t, want)
	st := s.Stats()
	if st.PagesTokenless != 0 || st.Errors != 0 {
		t.Errorf("pulls took the tokenless path or failed: %+v", st)
	}
}

// TestE2EFaults is guarantee 2 of the issue: kftest fails 20 % of the calls
// (errcode -1, HTTP 502, connections dropped before and after serving,
// access-token revocations 40014/42001, timeouts) while 100 000 messages
// arrive; every message is handled exactly once. The client does not retry
// by itself, so that every fault reaches the Syncer.
func TestE2EFaults(t *testing.T) {
	t.Parallel()
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	srv := emulator(t, kftest.WithTokenlessSyncLimit(1000, time.Minute))
	err := srv.SetErrorRate(0.2,
		kftest.Fault{Code: kf.ErrCodeSystemBusy},
		kftest.Fault{HTTPStatus: http.StatusBadGateway},
		kftest.Fault{Drop: true},
		kftest.Fault{DropAfter: true},
		kftest.Fault{Code: kf.ErrCodeInvalidAccessToken},
		kftest.Fault{Code: kf.ErrCodeAccessTokenExpired},
		kftest.Fault{Delay: 100 * time.Millisecond},
	)
	if err != nil {
		t.Fatal(err)
	}
	c := newCounter()
	client := srv.Client(kf.WithRetry(1), kf.WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
	s, err := kfsync.New(client.Messages, c.handle, kfsync.WithPageLimit(500), kfsync.WithPollInterval(0), fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	var want []string
	for round := range 20 {
		want = append(want, send(t, srv, wkA, n/20)...)
		notify(t, srv, s, wkA)
		if round == 10 {
			srv.RevokeTokens()
		}
	}
	waitFor(t, "all handled", 120*time.Second, func() bool { return c.len() == len(want) })
	c.checkOnce(t, want)
	st := s.Stats()
	t.Logf("pages %d, errors %d by code %v, handled %d", st.Pages, st.Errors, st.ErrorsByCode, st.Handled)
	if st.Errors < 10 {
		t.Errorf("only %d errors reached the Syncer: the faults did not bite", st.Errors)
	}
}

func TestE2EEmptyPages(t *testing.T) {
	t.Parallel()
	srv := emulator(t, kftest.WithEmptyPageRate(0.5))
	c := newCounter()
	s, _ := kfsync.New(fastClient(srv).Messages, c.handle, kfsync.WithPageLimit(10), kfsync.WithPollInterval(0), fastBackoff)
	run(t, s)
	want := send(t, srv, wkA, 200)
	notify(t, srv, s, wkA)
	waitFor(t, "all handled", 20*time.Second, func() bool { return c.len() == len(want) })
	c.checkOnce(t, want)
	if st := s.Stats(); st.EmptyPages == 0 || st.Errors != 0 {
		t.Errorf("stats = %+v, want empty pages and no error", st)
	}
}

func TestE2EExpiredCallbackToken(t *testing.T) {
	t.Parallel()
	t.Run("the platform rejects it", func(t *testing.T) {
		t.Parallel()
		srv := emulator(t)
		c := newCounter()
		s, _ := kfsync.New(fastClient(srv).Messages, c.handle, kfsync.WithPollInterval(0), fastBackoff)
		want := send(t, srv, wkA, 20)
		notify(t, srv, s, wkA)        // queued before Run
		srv.Advance(11 * time.Minute) // expired on the platform, not on our clock
		run(t, s)
		waitFor(t, "all handled", 10*time.Second, func() bool { return c.len() == len(want) })
		c.checkOnce(t, want)
		st := s.Stats()
		if st.TokensRejected != 1 || st.PagesTokenless != 1 || st.ErrorsByCode[kf.ErrCodeInvalidMsgToken] != 1 {
			t.Errorf("stats = %+v", st)
		}
	})
	t.Run("it expires on our clock", func(t *testing.T) {
		t.Parallel()
		srv := emulator(t)
		c := newCounter()
		s, _ := kfsync.New(fastClient(srv).Messages, c.handle, kfsync.WithPollInterval(0), fastBackoff,
			kfsync.WithClock(emuClock{srv}))
		want := send(t, srv, wkA, 20)
		notify(t, srv, s, wkA)
		srv.Advance(11 * time.Minute)
		run(t, s)
		waitFor(t, "all handled", 10*time.Second, func() bool { return c.len() == len(want) })
		c.checkOnce(t, want)
		st := s.Stats()
		if st.TokensExpired != 1 || st.TokensRejected != 0 || st.PagesTokenless != 1 {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestE2ETokenlessRateLimit(t *testing.T) {
	t.Parallel()
	srv := emulator(t, kftest.WithTokenlessSyncLimit(2, time.Minute))
	c := newCounter()
	s, _ := kfsync.New(fastClient(srv).Messages, c.handle, kfsync.WithPageLimit(10),
		kfsync.WithPollInterval(0), kfsync.WithClock(emuClock{srv}), kfsync.WithAccounts(wkA))
	want := send(t, srv, wkA, 50) // 5 pages, 2 per minute without a token
	start := srv.Now()
	run(t, s)
	waitFor(t, "all handled", 10*time.Second, func() bool { return c.len() == len(want) })
	c.checkOnce(t, want)
	st := s.Stats()
	if st.ErrorsByCode[kf.ErrCodeFrequencyLimit] != 2 {
		t.Errorf("45009 answers = %d, want 2 (stats %+v)", st.ErrorsByCode[kf.ErrCodeFrequencyLimit], st)
	}
	if waited := srv.Now().Sub(start); waited < 2*time.Minute {
		t.Errorf("waited %v of emulated time, want ≥ 2m (RetryAfter honoured)", waited)
	}
}

func TestE2EHistoryOlderThanThreeDays(t *testing.T) {
	t.Parallel()
	srv := emulator(t)
	store := kfsync.NewMemoryStore(kfsync.MemoryClock(srv.Now))
	c := newCounter()
	// Messages nobody pulled within 3 days are gone: they are not handled,
	// and the pull does not fail.
	send(t, srv, wkA, 30)
	srv.Advance(73 * time.Hour)
	first := send(t, srv, wkA, 10)
	s1 := newSyncerWith(t, srv, store, c)
	stop := run(t, s1)
	waitFor(t, "first", 10*time.Second, func() bool { return c.len() == len(first) })
	waitFor(t, "idle", 5*time.Second, func() bool { return !s1.Stats().Accounts[wkA].Running })
	stop()
	c.checkOnce(t, first)

	// Four days later, the committed cursor points into expired history:
	// the pull goes on from the oldest message still kept.
	srv.Advance(96 * time.Hour)
	second := send(t, srv, wkA, 10)
	s2 := newSyncerWith(t, srv, store, c)
	run(t, s2)
	waitFor(t, "second", 10*time.Second, func() bool { return c.len() == len(first)+len(second) })
	c.checkOnce(t, append(first, second...))
	if st := s2.Stats(); st.Errors != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func newSyncerWith(t testing.TB, srv *kftest.Server, store kfsync.Store, c *counter) *kfsync.Syncer {
	t.Helper()
	s, err := kfsync.New(fastClient(srv).Messages, c.handle, kfsync.WithStore(store), kfsync.WithPollInterval(0),
		kfsync.WithAccounts(wkA), fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestE2ESeveralInstancesWithALocker(t *testing.T) {
	t.Parallel()
	srv := emulator(t)
	store := kfsync.NewMemoryStore()
	locker := kfsync.NewMemoryLocker()
	c := newCounter()
	var syncers []*kfsync.Syncer
	for i := range 3 {
		s, err := kfsync.New(fastClient(srv).Messages, c.handle, kfsync.WithStore(store), kfsync.WithLocker(locker),
			kfsync.WithLeaseTTL(time.Second), kfsync.WithPollInterval(0), kfsync.WithPageLimit(20),
			kfsync.WithOwner(fmt.Sprint("instance-", i)), fastBackoff)
		if err != nil {
			t.Fatal(err)
		}
		run(t, s)
		syncers = append(syncers, s)
	}
	var want []string
	for round := range 15 {
		want = append(want, send(t, srv, wkA, 40)...)
		want = append(want, send(t, srv, wkB, 10)...)
		for _, s := range syncers { // the callback reaches every instance
			notify(t, srv, s, wkA)
			if round%2 == 0 {
				notify(t, srv, s, wkB)
			}
		}
	}
	for _, s := range syncers {
		notify(t, srv, s, wkB)
	}
	waitFor(t, "all handled", 30*time.Second, func() bool { return c.len() == len(want) })
	c.checkOnce(t, want)
}

// TestE2EHandlerFailuresAreRetried: a handler that fails now and then
// still ends with every message handled once.
func TestE2EHandlerFailuresAreRetried(t *testing.T) {
	t.Parallel()
	srv := emulator(t)
	c := newCounter()
	var mu sync.Mutex
	attempts := map[string]int{}
	h := func(ctx context.Context, m kf.Message) error {
		mu.Lock()
		attempts[m.MsgID]++
		n := attempts[m.MsgID]
		mu.Unlock()
		if strings.HasSuffix(m.MsgID, "7") && n < 3 {
			return errors.New("flaky downstream")
		}
		return c.handle(ctx, m)
	}
	s, _ := kfsync.New(fastClient(srv).Messages, h, kfsync.WithPollInterval(0), fastBackoff)
	run(t, s)
	want := send(t, srv, wkA, 300)
	notify(t, srv, s, wkA)
	waitFor(t, "all handled", 20*time.Second, func() bool { return c.len() == len(want) })
	c.checkOnce(t, want)
}
