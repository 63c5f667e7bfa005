package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/redisstore"
)

// commitRecord is one Commit call that reached the store.
type commitRecord struct {
	owner  string
	fence  int64
	cursor string
	ids    []string
	err    error
}

// commitLog records the Commit calls of several instances.
type commitLog struct {
	mu        sync.Mutex
	records   []commitRecord
	committed map[string]int // msgid → successful commits that carried it
}

func newCommitLog() *commitLog { return &commitLog{committed: map[string]int{}} }

func (l *commitLog) of(owner string) []commitRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []commitRecord
	for _, r := range l.records {
		if r.owner == owner {
			out = append(out, r)
		}
	}
	return out
}

// recordingStore is the Redis store with its commits recorded.
type recordingStore struct {
	*redisstore.Store
	log *commitLog
}

func (r recordingStore) Commit(ctx context.Context, c kfsync.Commit) error {
	err := r.Store.Commit(ctx, c)
	rec := commitRecord{owner: c.Owner, fence: c.Fence, cursor: c.Cursor, err: err}
	for _, m := range c.Handled {
		rec.ids = append(rec.ids, m.MsgID)
	}
	r.log.mu.Lock()
	r.log.records = append(r.log.records, rec)
	if err == nil {
		for _, id := range rec.ids {
			r.log.committed[id]++
		}
	}
	r.log.mu.Unlock()
	return err
}

// Renewal behaviours of a pausableLocker.
const (
	renewNormal int32 = iota
	renewStalls       // renewals hang (a network partition, a paused renewer)
	renewLies         // renewals "succeed" without reaching Redis (a worker paused past its lease)
)

// pausableLocker is the Redis locker whose renewals can be made to stall
// or to lie.
type pausableLocker struct {
	*redisstore.Store
	mode atomic.Int32
}

func (p *pausableLocker) Renew(ctx context.Context, l kfsync.Lease, ttl time.Duration) (kfsync.Lease, error) {
	switch p.mode.Load() {
	case renewStalls:
		<-ctx.Done()
		return kfsync.Lease{}, ctx.Err()
	case renewLies:
		l.Expires = time.Now().Add(ttl)
		return l, nil
	}
	return p.Store.Renew(ctx, l, ttl)
}

// leaseLossEnv is the common part of the lease-loss scenarios: one
// account with 30 messages, pages of 10, instance A whose handler blocks
// at the 15th message (in the second page), and instance B started once
// A's lease is gone from Redis.
type leaseLossEnv struct {
	t      *testing.T
	st     *redisstore.Store
	log    *commitLog
	hc     *handleCounter
	want   []string
	lockA  *pausableLocker
	sA, sB *kfsync.Syncer
}

const (
	lossAccount = "wkLease"
	lossTTL     = time.Second
)

func newLeaseLossEnv(t *testing.T, blockA func(ctx context.Context) error) *leaseLossEnv {
	t.Helper()
	e := &leaseLossEnv{t: t, st: redisstore.New(realRedis(t)), log: newCommitLog(), hc: newHandleCounter()}
	srv := emulator(t, []string{lossAccount})
	e.want = sendTexts(t, srv, lossAccount, 30)
	e.lockA = &pausableLocker{Store: e.st}
	countA := e.hc.handler("A")
	var blocked atomic.Bool
	hA := func(ctx context.Context, m kf.Message) error {
		if m.MsgID == e.want[14] && blocked.CompareAndSwap(false, true) {
			if err := blockA(ctx); err != nil {
				return err
			}
		}
		return countA(ctx, m)
	}
	var err error
	// A backs off for long after a failure, so that it does not come back
	// before the test stops it.
	e.sA, err = kfsync.New(srv.Client().Messages, hA,
		kfsync.WithStore(recordingStore{e.st, e.log}), kfsync.WithLocker(e.lockA), kfsync.WithOwner("A"),
		kfsync.WithLeaseTTL(lossTTL), kfsync.WithPollInterval(0), kfsync.WithPageLimit(10),
		kfsync.WithBackoff(kfsync.Backoff{Initial: time.Minute, Max: time.Minute}))
	if err != nil {
		t.Fatal(err)
	}
	e.sB, err = kfsync.New(srv.Client().Messages, e.hc.handler("B"),
		kfsync.WithStore(recordingStore{e.st, e.log}), kfsync.WithLocker(e.st), kfsync.WithOwner("B"),
		kfsync.WithLeaseTTL(lossTTL), kfsync.WithPollInterval(0), kfsync.WithPageLimit(10), fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	// Both instances pull with tokens, as after a callback.
	for range 2 {
		tok, err := srv.SyncToken(lossAccount)
		if err != nil {
			t.Fatal(err)
		}
		e.sA.Notify(lossAccount, tok)
		e.sB.Notify(lossAccount, tok)
	}
	return e
}

// waitLeaseGone waits until no lease of the account is held in Redis.
func (e *leaseLossEnv) waitLeaseGone() {
	e.t.Helper()
	waitFor(e.t, "the lease to expire in Redis", 10*lossTTL, func() bool {
		_, ok, err := e.st.Holder(e.t.Context(), lossAccount)
		return err == nil && !ok
	})
}

// runB starts B and waits until every message was handled and B is idle.
func (e *leaseLossEnv) runB() {
	e.t.Helper()
	runSyncer(e.t, e.sB)
	waitFor(e.t, "B to handle the rest", 20*time.Second, func() bool { return e.hc.distinct() == len(e.want) })
	waitFor(e.t, "B idle", 10*time.Second, func() bool { return idle(e.sB) })
}

// checkCommitted checks what the store holds: each msgid committed once
// (whoever handled it how often), all marked, and the cursor of B's last
// commit, made under a greater fence than A's.
func (e *leaseLossEnv) checkCommitted() {
	t := e.t
	t.Helper()
	e.log.mu.Lock()
	checkExactlyOnce(t, e.log.committed, e.want)
	e.log.mu.Unlock()
	if got := seen(t, e.st, lossAccount, e.want...); slices.Contains(got, false) {
		t.Errorf("Seen after the takeover = %v, want all true", got)
	}
	var lastB commitRecord
	for _, r := range e.log.of("B") {
		if r.err != nil {
			t.Errorf("B's commit failed: %v", r.err)
		}
		if r.cursor != "" {
			lastB = r
		}
	}
	if c := cursor(t, e.st, lossAccount); c != lastB.cursor || c == "" {
		t.Errorf("stored cursor = %q, want B's last committed cursor %q", c, lastB.cursor)
	}
	aRecs := e.log.of("A")
	if len(aRecs) == 0 || aRecs[0].err != nil || !slices.Equal(aRecs[0].ids, e.want[:10]) {
		t.Fatalf("A's first commit = %+v, want the first page", aRecs)
	}
	if lastB.fence <= aRecs[0].fence {
		t.Errorf("B's fence %d is not greater than A's %d", lastB.fence, aRecs[0].fence)
	}
	if f, _ := e.st.CommittedFence(t.Context(), lossAccount); f != lastB.fence {
		t.Errorf("committed fence = %d, want B's %d", f, lastB.fence)
	}
	// B continued from the last committed cursor: the first page, committed
	// by A, was handled once; B's first commit starts at the 11th message.
	e.hc.mu.Lock()
	for _, id := range e.want[:10] {
		if n := e.hc.byMsg[id]; n != 1 {
			t.Errorf("msgid %s of the committed first page handled %d times", id, n)
		}
	}
	for _, id := range e.want {
		if e.hc.byMsg[id] < 1 {
			t.Errorf("msgid %s never handled", id)
		}
	}
	e.hc.mu.Unlock()
	bRecs := e.log.of("B")
	if len(bRecs) == 0 || len(bRecs[0].ids) == 0 || bRecs[0].ids[0] != e.want[10] {
		t.Errorf("B's first commit = %+v, want it to start at the 11th message", bRecs)
	}
}

// TestGuarantee4LeaseLoss is guarantee 4 of issue 4: an instance whose
// lease expires in the middle of a page does not commit it, and the new
// owner continues from the last committed cursor. Every message is handled
// (the lost instance's in-flight part of the page is handled again by the
// new owner: at-least-once), and the committed state holds each msgid once.
func TestGuarantee4LeaseLoss(t *testing.T) {
	t.Parallel()

	// A's renewals stop reaching Redis while its handler is busy: A's own
	// deadline passes, its handler's context is cancelled, and it stops
	// without committing; the lease expires in Redis and B takes over.
	t.Run("renewals stall", func(t *testing.T) {
		t.Parallel()
		blocked := make(chan struct{})
		returned := make(chan error, 1)
		var e *leaseLossEnv
		e = newLeaseLossEnv(t, func(ctx context.Context) error {
			e.lockA.mode.Store(renewStalls)
			close(blocked)
			<-ctx.Done() // a handler that honours its context
			returned <- context.Cause(ctx)
			return ctx.Err()
		})
		stopA := runSyncer(t, e.sA)
		waitChan(t, "A's handler to block", blocked, 20*time.Second)
		select {
		case cause := <-returned:
			if !errors.Is(cause, kfsync.ErrLeaseLost) {
				t.Errorf("A's handler context ended with %v, want ErrLeaseLost", cause)
			}
		case <-time.After(10 * lossTTL):
			t.Fatal("A's handler context was not cancelled after its lease was lost")
		}
		commitsBefore := len(e.log.of("A"))
		e.waitLeaseGone()
		stopA()
		if n := len(e.log.of("A")); n != 1 || commitsBefore != 1 {
			t.Errorf("A made %d commits (%d when its handler returned), want only the first page's", n, commitsBefore)
		}
		if st := e.sA.Stats(); st.LeaseLost != 1 {
			t.Errorf("A lost %d leases, want 1", st.LeaseLost)
		}
		e.runB()
		e.checkCommitted()
		e.hc.mu.Lock()
		for _, id := range e.want[10:14] { // handled by A, not committed
			if n := e.hc.byMsg[id]; n != 2 {
				t.Errorf("msgid %s handled %d times, want 2 (A, uncommitted, then B)", id, n)
			}
		}
		e.hc.mu.Unlock()
	})

	// A is paused past its lease while its renewals still "succeed" (as for
	// a process stopped between its own lease check and its commit): A
	// believes it holds the lease. B takes over and finishes; then A wakes
	// up and commits its stale page: Redis refuses the commit with
	// ErrStaleFence and applies nothing.
	t.Run("worker paused past its lease", func(t *testing.T) {
		t.Parallel()
		blocked := make(chan struct{})
		release := make(chan struct{})
		var e *leaseLossEnv
		e = newLeaseLossEnv(t, func(context.Context) error {
			e.lockA.mode.Store(renewLies)
			close(blocked)
			<-release // a handler that ignores its context
			return nil
		})
		stopA := runSyncer(t, e.sA)
		waitChan(t, "A's handler to block", blocked, 20*time.Second)
		e.waitLeaseGone()
		e.runB()
		finalCursor := cursor(t, e.st, lossAccount)
		close(release)
		waitFor(t, "A's late commit", 20*time.Second, func() bool { return len(e.log.of("A")) >= 2 })
		stopA()
		aRecs := e.log.of("A")
		late := aRecs[1]
		if !errors.Is(late.err, kfsync.ErrStaleFence) {
			t.Errorf("A's late commit: %v, want ErrStaleFence", late.err)
		}
		if !slices.Equal(late.ids, e.want[10:20]) || late.cursor == "" {
			t.Errorf("A's late commit = %+v, want the second page", late)
		}
		if c := cursor(t, e.st, lossAccount); c != finalCursor {
			t.Errorf("cursor moved from %q to %q: the stale commit was applied", finalCursor, c)
		}
		if st := e.sA.Stats(); st.LeaseLost != 0 || st.ErrorsByStage[kfsync.StageStore] != 1 {
			t.Errorf("A's stats: %d leases lost, %v errors by stage; want 0 and one store error", st.LeaseLost, st.ErrorsByStage)
		}
		e.checkCommitted()
	})
}

func waitChan(t testing.TB, what string, ch <-chan struct{}, d time.Duration) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}
