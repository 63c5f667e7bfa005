package kfsync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxkf/kf"
)

func TestMemoryStoreDedupExpiresOnItsClock(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	m := NewMemoryStore(MemoryClock(clk.Now))
	ctx := t.Context()
	if err := m.Mark(ctx, "wkA", "m1", time.Hour); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Minute)
	if err := m.Commit(ctx, Commit{OpenKfID: "wkA", Cursor: "c2", TTL: time.Hour,
		Handled: []kf.Message{{MsgID: "m2"}, {MsgID: "m3"}}}); err != nil {
		t.Fatal(err)
	}
	seen := func(acct string) []bool {
		s, err := m.Seen(ctx, acct, []string{"m1", "m2", "m3", "m4"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if diff := cmp.Diff([]bool{true, true, true, false}, seen("wkA")); diff != "" {
		t.Errorf("seen (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{false, false, false, false}, seen("wkB")); diff != "" {
		t.Errorf("msgids are scoped by account (-want +got):\n%s", diff)
	}
	clk.Advance(30 * time.Minute) // m1 expires
	if diff := cmp.Diff([]bool{false, true, true, false}, seen("wkA")); diff != "" {
		t.Errorf("after 1h (-want +got):\n%s", diff)
	}
	if n := m.Marks(); n != 2 {
		t.Errorf("marks = %d, want 2 (expired ones pruned)", n)
	}
	clk.Advance(time.Hour)
	if n := m.Marks(); n != 0 {
		t.Errorf("marks = %d, want 0", n)
	}
	if c, _ := m.Load(ctx, "wkA"); c != "c2" {
		t.Errorf("cursor = %q", c)
	}
	// A progress commit keeps the cursor.
	_ = m.Commit(ctx, Commit{OpenKfID: "wkA", TTL: time.Hour, Handled: []kf.Message{{MsgID: "m5"}}})
	if c, _ := m.Load(ctx, "wkA"); c != "c2" {
		t.Errorf("cursor after a progress commit = %q, want c2", c)
	}
}

func TestMemoryStorePruneKeepsMemoryFlat(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	m := NewMemoryStore(MemoryClock(clk.Now))
	for i := range 100_000 {
		_ = m.Mark(t.Context(), "wkA", fmt.Sprint("m", i), time.Minute)
		clk.Advance(time.Millisecond) // 60 000 marks live at most
	}
	if n := m.Marks(); n > 60_001 {
		t.Errorf("marks = %d", n)
	}
	m.mu.Lock()
	q := len(m.expiry) - m.head
	m.mu.Unlock()
	if q > 60_001 {
		t.Errorf("expiry queue holds %d entries", q)
	}
}

func TestMemoryStoreRejectsStaleFences(t *testing.T) {
	t.Parallel()
	m := NewMemoryStore()
	ctx := t.Context()
	if err := m.Commit(ctx, Commit{OpenKfID: "wkA", Cursor: "c1", Fence: 3}); err != nil {
		t.Fatal(err)
	}
	err := m.Commit(ctx, Commit{OpenKfID: "wkA", Cursor: "c9", Fence: 2, Handled: []kf.Message{{MsgID: "x"}}, TTL: time.Hour})
	if !errors.Is(err, ErrStaleFence) {
		t.Fatalf("commit with fence 2 after 3 = %v, want ErrStaleFence", err)
	}
	if err := m.Commit(ctx, Commit{OpenKfID: "wkA", Cursor: "c9"}); !errors.Is(err, ErrStaleFence) {
		t.Errorf("unfenced commit after a fenced one = %v, want ErrStaleFence", err)
	}
	if c, _ := m.Load(ctx, "wkA"); c != "c1" {
		t.Errorf("cursor = %q, want c1 (nothing applied)", c)
	}
	if s, _ := m.Seen(ctx, "wkA", []string{"x"}); s[0] {
		t.Error("a rejected commit marked its messages")
	}
	if err := m.Commit(ctx, Commit{OpenKfID: "wkA", Cursor: "c2", Fence: 3}); err != nil {
		t.Errorf("same fence again: %v", err)
	}
	if m.Fence("wkA") != 3 {
		t.Errorf("fence = %d", m.Fence("wkA"))
	}
}

func TestMemoryLocker(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := NewMemoryLocker(MemoryClock(clk.Now))
	ctx := t.Context()
	a, err := l.Acquire(ctx, "wkA", "A", 10*time.Second)
	if err != nil || a.Fence != 1 || !a.Expires.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("acquire = %+v, %v", a, err)
	}
	if _, err := l.Acquire(ctx, "wkA", "B", 10*time.Second); !errors.Is(err, ErrLeaseHeld) {
		t.Errorf("second acquire = %v, want ErrLeaseHeld", err)
	}
	if _, err := l.Acquire(ctx, "wkA", "A", 10*time.Second); !errors.Is(err, ErrLeaseHeld) {
		t.Errorf("re-acquire by the holder = %v, want ErrLeaseHeld", err)
	}
	if b, err := l.Acquire(ctx, "wkB", "B", 10*time.Second); err != nil || b.Fence != 1 {
		t.Errorf("other account = %+v, %v", b, err)
	}
	clk.Advance(8 * time.Second)
	if a, err = l.Renew(ctx, a, 10*time.Second); err != nil || !a.Expires.Equal(t0.Add(18*time.Second)) {
		t.Fatalf("renew = %+v, %v", a, err)
	}
	clk.Advance(18 * time.Second) // expired
	if _, err := l.Renew(ctx, a, 10*time.Second); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("renew after expiry = %v, want ErrLeaseLost", err)
	}
	b, err := l.Acquire(ctx, "wkA", "B", 10*time.Second)
	if err != nil || b.Fence != 2 {
		t.Fatalf("acquire after expiry = %+v, %v", b, err)
	}
	if err := l.Release(ctx, a); err != nil { // stale release: no effect
		t.Fatal(err)
	}
	if h, ok := l.Holder("wkA"); !ok || h.Owner != "B" {
		t.Errorf("holder = %+v %v, want B", h, ok)
	}
	if err := l.Release(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.Holder("wkA"); ok {
		t.Error("released lease still held")
	}
	c, err := l.Acquire(ctx, "wkA", "C", 10*time.Second)
	if err != nil || c.Fence != 3 {
		t.Errorf("fences must keep growing after release: %+v, %v", c, err)
	}
	if _, err := l.Acquire(ctx, "wkC", "C", 0); err == nil {
		t.Error("zero ttl accepted")
	}
}

// fenceLog records commits with their fences.
type fenceLog struct {
	*MemoryStore
	mu      sync.Mutex
	commits []string
}

func (f *fenceLog) Commit(ctx context.Context, c Commit) error {
	err := f.MemoryStore.Commit(ctx, c)
	f.mu.Lock()
	f.commits = append(f.commits, fmt.Sprintf("fence %d owner %s cursor %q n=%d err=%v", c.Fence, c.Owner, c.Cursor, len(c.Handled), err != nil))
	f.mu.Unlock()
	return err
}

func (f *fenceLog) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.commits...)
}

// TestLeaseLostMidBatchDoesNotCommit: an instance whose lease expires while
// its handler runs does not commit; the new owner continues from the last
// committed cursor.
func TestLeaseLostMidBatchDoesNotCommit(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	locker := NewMemoryLocker(MemoryClock(clk.Now))
	store := &fenceLog{MemoryStore: NewMemoryStore(MemoryClock(clk.Now))}
	src := newFakeSource()
	src.add("wkA", 3)

	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	cA := newCollector()
	hA := func(ctx context.Context, m kf.Message) error {
		if m.MsgID == "wkA-m1" {
			once.Do(func() { close(entered) })
			<-release // a handler that ignores ctx
		}
		return cA.handle(ctx, m)
	}
	var lost []int64
	var mu sync.Mutex
	opts := []Option{WithClock(clk), WithPollInterval(0), WithLocker(locker), WithStore(store),
		WithLeaseTTL(30 * time.Second), WithBackoff(Backoff{Initial: time.Hour})}
	a, err := New(src, hA, append(opts, WithOwner("A"),
		WithHooks(Hooks{LeaseLost: func(_ string, f int64) { mu.Lock(); lost = append(lost, f); mu.Unlock() }}))...)
	if err != nil {
		t.Fatal(err)
	}
	cB := newCollector()
	b, err := New(src, cB.handle, append(opts, WithOwner("B"))...)
	if err != nil {
		t.Fatal(err)
	}
	start(t, a)
	start(t, b)
	var relOnce sync.Once
	unblock := func() { relOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	a.Notify("wkA", "")
	<-entered
	eventually(t, "renewal timer", func() bool { return clk.Timers() >= 1 })
	clk.Advance(31 * time.Second) // A's lease expires (and its renewal fails)
	eventually(t, "A lost its lease", func() bool { return a.Stats().LeaseLost == 1 })

	b.Notify("wkA", "")
	eventually(t, "B handled everything", func() bool { return cB.count() == 3 })
	eventually(t, "B committed", func() bool { c, _ := store.Load(t.Context(), "wkA"); return c == "c3" })
	unblock()
	eventually(t, "A stopped", func() bool { return a.Stats().ErrorsByStage[StageLease] == 1 })

	want := []string{`fence 2 owner B cursor "c3" n=3 err=false`}
	if diff := cmp.Diff(want, store.list()); diff != "" {
		t.Errorf("commits (-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]int64{1}, lost); diff != "" {
		t.Errorf("lost fences (-want +got):\n%s", diff)
	}
	if h, ok := locker.Holder("wkA"); ok {
		t.Errorf("lease still held after B finished: %+v", h)
	}
}

// TestSyncersSharingALockerNeverOverlap runs three Syncers on one source,
// store and locker, with callbacks hitting all of them.
func TestSyncersSharingALockerNeverOverlap(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.pageSize = 5
	src.delay = 100 * time.Microsecond
	store := NewMemoryStore()
	locker := NewMemoryLocker()
	c := newCollector()
	var syncers []*Syncer
	for i := range 3 {
		s, err := New(src, c.handle, WithStore(store), WithLocker(locker), WithPollInterval(0),
			WithLeaseTTL(time.Second), WithOwner(fmt.Sprint("inst", i)),
			WithBackoff(Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		start(t, s)
		syncers = append(syncers, s)
	}
	accounts := []string{"wkA", "wkB"}
	for round := range 20 {
		for _, a := range accounts {
			src.add(a, 5)
		}
		for i, s := range syncers {
			s.Notify(accounts[(round+i)%2], fmt.Sprint("tok", round))
		}
		time.Sleep(time.Millisecond)
	}
	for _, s := range syncers {
		for _, a := range accounts {
			s.Notify(a, "")
		}
	}
	eventually(t, "all handled", func() bool {
		if c.count() != 200 {
			return false
		}
		for _, s := range syncers {
			if !idle(s) {
				return false
			}
		}
		return true
	})
	if n := src.overlaps.Load(); n != 0 {
		t.Errorf("%d overlapping pulls", n)
	}
	c.checkOnce(t, append(ids("wkA", 100), ids("wkB", 100)...))
	var busy int64
	for _, s := range syncers {
		busy += s.Stats().LeaseBusy
	}
	t.Logf("lease busy retries: %d", busy)
}

// flakyLocker fails the first renewals with a transient error.
type flakyLocker struct {
	*MemoryLocker
	mu        sync.Mutex
	failRenew int
	renewals  int
}

func (f *flakyLocker) Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	f.mu.Lock()
	f.renewals++
	fail := f.failRenew > 0
	if fail {
		f.failRenew--
	}
	f.mu.Unlock()
	if fail {
		return Lease{}, errors.New("redis: i/o timeout")
	}
	return f.MemoryLocker.Renew(ctx, l, ttl)
}

// TestLeaseIsRenewedDuringALongHandler: a handler that runs for twice the
// lease TTL keeps the lease (renewed every third of it, a transient renewal
// error retried) and commits.
func TestLeaseIsRenewedDuringALongHandler(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	locker := &flakyLocker{MemoryLocker: NewMemoryLocker(MemoryClock(clk.Now)), failRenew: 1}
	store := &fenceLog{MemoryStore: NewMemoryStore(MemoryClock(clk.Now))}
	src := newFakeSource()
	src.add("wkA", 2)
	entered, release := make(chan struct{}), make(chan struct{})
	h := func(ctx context.Context, m kf.Message) error {
		if m.MsgID == "wkA-m0" {
			close(entered)
			<-release
		}
		return ctx.Err()
	}
	s, err := New(src, h, WithClock(clk), WithPollInterval(0), WithLocker(locker), WithStore(store),
		WithLeaseTTL(30*time.Second), WithAccounts("wkA"))
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	var relOnce sync.Once
	unblock := func() { relOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before Run's cleanup, should the test fail
	<-entered
	// 10 s steps: renewal due; the first one fails and is retried 1 s later.
	steps := []time.Duration{10 * time.Second, time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, d := range steps {
		eventually(t, fmt.Sprint("renewal timer ", i), func() bool { return clk.Timers() == 1 })
		clk.Advance(d)
	}
	eventually(t, "renewals", func() bool { locker.mu.Lock(); defer locker.mu.Unlock(); return locker.renewals == 6 })
	unblock()
	eventually(t, "committed", func() bool { return s.Stats().Pulls == 1 })
	if st := s.Stats(); st.LeaseLost != 0 || st.Handled != 2 {
		t.Errorf("stats = %+v", st)
	}
	want := []string{`fence 1 owner  cursor "c2" n=2 err=false`}
	got := store.list()
	if len(got) != 1 || !strings.HasPrefix(got[0], "fence 1 owner kfsync-") || !strings.HasSuffix(got[0], `cursor "c2" n=2 err=false`) {
		t.Errorf("commits = %q, want %q (with the random owner)", got, want)
	}
	if _, ok := locker.Holder("wkA"); ok {
		t.Error("lease not released")
	}
}

// hangingRenewLocker is a MemoryLocker whose Renew hangs (as against an
// unreachable Redis) until its context ends, after telling renewing.
type hangingRenewLocker struct {
	*MemoryLocker
	renewing chan struct{}
}

func (l *hangingRenewLocker) Renew(ctx context.Context, le Lease, ttl time.Duration) (Lease, error) {
	select {
	case l.renewing <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return Lease{}, ctx.Err()
}

// TestNoHandlingPastTheLocalLeaseDeadline: when the renewal hangs (the
// lock server is unreachable) and the local lease deadline passes in the
// middle of a page, the worker stops before the next message: handling it
// would race with the next owner of the lease, which may already be
// handling the same messages.
func TestNoHandlingPastTheLocalLeaseDeadline(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	locker := &hangingRenewLocker{MemoryLocker: NewMemoryLocker(MemoryClock(clk.Now)), renewing: make(chan struct{}, 1)}
	store := NewMemoryStore(MemoryClock(clk.Now))
	src := newFakeSource()
	src.add("wkA", 3)
	const ttl = 30 * time.Second
	c := newCollector()
	h := func(ctx context.Context, m kf.Message) error {
		if m.MsgID == "wkA-m0" {
			// The renewal starts, and hangs. (Not eventually: t.Fatal may
			// not be called from the worker's goroutine.)
			for deadline := time.Now().Add(10 * time.Second); clk.Timers() < 1; time.Sleep(100 * time.Microsecond) {
				if time.Now().After(deadline) {
					return errors.New("no renewal timer")
				}
			}
			clk.Advance(ttl / 3)
			select {
			case <-locker.renewing:
			case <-time.After(10 * time.Second):
				return errors.New("no renewal")
			}
			// The handler is slow: the lease's local deadline passes.
			clk.Advance(ttl)
		}
		return c.handle(ctx, m)
	}
	s, err := New(src, h, WithClock(clk), WithPollInterval(0), WithLocker(locker), WithStore(store),
		WithLeaseTTL(ttl), WithBackoff(Backoff{Initial: time.Hour}), WithAccounts("wkA"))
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	eventually(t, "the pull failed", func() bool { return s.Stats().Errors == 1 })
	if st := s.Stats(); st.ErrorsByStage[StageLease] != 1 || st.LeaseLost != 1 {
		t.Errorf("stats = %+v, want one lease failure", st)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if diff := cmp.Diff([]string{"wkA-m0"}, c.order); diff != "" {
		t.Errorf("handled after the lease deadline (-want +got):\n%s", diff)
	}
	if cur, _ := store.Load(t.Context(), "wkA"); cur != "" || store.Marks() != 0 {
		t.Errorf("committed without a valid lease: cursor %q, %d marks", cur, store.Marks())
	}
}
