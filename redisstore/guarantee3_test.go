package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/redisstore"
)

// overlapDetector watches, in one process, the pulls of several Syncers.
// Its Locker wrapper records who holds each account's lease from a
// successful Acquire to the Release; its Source wrapper checks, at the start
// and at the end of every sync_msg call, that the caller holds the lease and
// that no other call for the account is in flight.
type overlapDetector struct {
	mu       sync.Mutex
	inSync   map[string]int    // sync_msg calls in flight per account
	holder   map[string]string // lease holder per account
	problems []string
	syncs    atomic.Int64
}

func newOverlapDetector() *overlapDetector {
	return &overlapDetector{inSync: map[string]int{}, holder: map[string]string{}}
}

func (o *overlapDetector) problem(format string, args ...any) {
	if len(o.problems) < 20 {
		o.problems = append(o.problems, fmt.Sprintf(format, args...))
	}
}

type trackingLocker struct {
	kfsync.Locker
	o *overlapDetector
}

func (l trackingLocker) Acquire(ctx context.Context, openKfID, owner string, ttl time.Duration) (kfsync.Lease, error) {
	le, err := l.Locker.Acquire(ctx, openKfID, owner, ttl)
	if err == nil {
		l.o.mu.Lock()
		if h := l.o.holder[openKfID]; h != "" {
			l.o.problem("lease of %s granted to %s while %s had not released it", openKfID, owner, h)
		}
		l.o.holder[openKfID] = owner
		l.o.mu.Unlock()
	}
	return le, err
}

func (l trackingLocker) Release(ctx context.Context, le kfsync.Lease) error {
	l.o.mu.Lock()
	if l.o.holder[le.OpenKfID] == le.Owner {
		delete(l.o.holder, le.OpenKfID)
	}
	l.o.mu.Unlock()
	return l.Locker.Release(ctx, le)
}

func (o *overlapDetector) source(owner string, src kfsync.Source) kfsync.Source {
	return kfsync.SourceFunc(func(ctx context.Context, req *kf.SyncMsgRequest) (*kf.SyncMsgResponse, error) {
		o.syncs.Add(1)
		id := req.OpenKfID
		o.mu.Lock()
		o.inSync[id]++
		if n := o.inSync[id]; n > 1 {
			o.problem("%d sync_msg calls of %s at once", n, id)
		}
		if h := o.holder[id]; h != owner {
			o.problem("%s pulls %s while the lease is %q's", owner, id, h)
		}
		o.mu.Unlock()
		resp, err := src.Sync(ctx, req)
		o.mu.Lock()
		if h := o.holder[id]; h != owner {
			o.problem("%s finished a sync_msg call of %s while the lease is %q's", owner, id, h)
		}
		o.inSync[id]--
		o.mu.Unlock()
		return resp, err
	})
}

// TestGuarantee3SeveralSyncers is guarantee 3 of issue 4, in one process:
// three Syncers in separate goroutines share one real redis-server (store,
// lease locker and access-token cache). kftest's callbacks reach the
// toolkit's callback handler, which notifies all three with the callback's
// token; customers keep writing to four accounts. Every msgid is handled
// exactly once across the three, no two pulls of one account overlap, and
// the three clients fetched one access token between them.
func TestGuarantee3SeveralSyncers(t *testing.T) {
	t.Parallel()
	const instances, rounds, perRound = 3, 20, 25
	accounts := accountIDs(4)
	st := redisstore.New(realRedis(t))

	var fan atomic.Pointer[[]*kfsync.Syncer]
	var callbacks atomic.Int64
	cb := callbackReceiver(t, func(_ context.Context, openKfID, token string) {
		callbacks.Add(1)
		if ss := fan.Load(); ss != nil {
			for _, s := range shuffled(*ss) {
				s.Notify(openKfID, token)
			}
		}
	})
	srv := emulator(t, accounts, cb)

	det := newOverlapDetector()
	hc := newHandleCounter()
	var syncers []*kfsync.Syncer
	for i := range instances {
		owner := fmt.Sprint("instance-", i)
		client := srv.Client(kf.WithTokenCache(st.TokenCache()))
		s, err := kfsync.New(det.source(owner, client.Messages), hc.handler(owner),
			kfsync.WithStore(st), kfsync.WithLocker(trackingLocker{st, det}), kfsync.WithOwner(owner),
			kfsync.WithLeaseTTL(3*time.Second), kfsync.WithPollInterval(0), kfsync.WithPageLimit(37), fastBackoff)
		if err != nil {
			t.Fatal(err)
		}
		syncers = append(syncers, s)
	}
	fan.Store(&syncers)
	for _, s := range syncers {
		runSyncer(t, s)
	}

	var want []string
	for range rounds {
		for _, acct := range accounts {
			want = append(want, sendTexts(t, srv, acct, perRound)...)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, "every message handled", 60*time.Second, func() bool { return hc.distinct() == len(want) })
	waitFor(t, "the syncers idle", 20*time.Second, func() bool {
		for _, s := range syncers {
			if !idle(s) {
				return false
			}
		}
		return true
	})

	hc.mu.Lock()
	checkExactlyOnce(t, hc.byMsg, want)
	byInstance := fmt.Sprint(hc.byInstance)
	working := len(hc.byInstance)
	hc.mu.Unlock()
	det.mu.Lock()
	if len(det.problems) > 0 {
		t.Errorf("overlapping pulls:\n%s", strings.Join(det.problems, "\n"))
	}
	det.mu.Unlock()
	var lost, busy, pages, tokenless int64
	for _, s := range syncers {
		stt := s.Stats()
		lost += stt.LeaseLost
		busy += stt.LeaseBusy
		pages += stt.Pages
		tokenless += stt.PagesTokenless
	}
	t.Logf("%d messages, %d callbacks, %d sync_msg calls, %d pages (%d tokenless), handled per instance %s, %d pulls deferred (lease held elsewhere)",
		len(want), callbacks.Load(), det.syncs.Load(), pages, tokenless, byInstance, busy)
	if lost != 0 {
		t.Errorf("%d leases lost", lost)
	}
	if working < 2 {
		t.Errorf("only %d of %d instances handled messages: the test did not exercise sharing", working, instances)
	}
	if callbacks.Load() == 0 {
		t.Error("no callback arrived")
	}
	if n := srv.Calls()["/cgi-bin/gettoken"]; n != 1 {
		t.Errorf("the three clients fetched %d access tokens, want 1 (shared through Redis)", n)
	}
}

// TestSyncerMiniredis runs a Syncer on the Redis store with miniredis, for
// machines without redis-server: two instances, every message once.
func TestSyncerMiniredis(t *testing.T) {
	t.Parallel()
	accounts := accountIDs(2)
	srv := emulator(t, accounts)
	b := miniBackend(t)
	st := redisstore.New(b.rdb)
	hc := newHandleCounter()
	var syncers []*kfsync.Syncer
	for i := range 2 {
		owner := fmt.Sprint("instance-", i)
		s, err := kfsync.New(srv.Client(kf.WithTokenCache(st.TokenCache())).Messages, hc.handler(owner),
			kfsync.WithStore(st), kfsync.WithLocker(st), kfsync.WithOwner(owner), kfsync.WithPollInterval(0),
			kfsync.WithLeaseTTL(time.Second), kfsync.WithPageLimit(20), fastBackoff)
		if err != nil {
			t.Fatal(err)
		}
		runSyncer(t, s)
		syncers = append(syncers, s)
	}
	var want []string
	for range 5 {
		for _, acct := range accounts {
			want = append(want, sendTexts(t, srv, acct, 30)...)
			for _, s := range syncers {
				notifyWithToken(t, srv, s, acct)
			}
		}
	}
	waitFor(t, "every message handled", 30*time.Second, func() bool { return hc.distinct() == len(want) })
	waitFor(t, "idle", 10*time.Second, func() bool { return idle(syncers[0]) && idle(syncers[1]) })
	hc.mu.Lock()
	checkExactlyOnce(t, hc.byMsg, want)
	hc.mu.Unlock()
	for _, acct := range accounts {
		if c := cursor(t, st, acct); c == "" {
			t.Errorf("no cursor committed for %s", acct)
		}
	}
	if n := srv.Calls()["/cgi-bin/gettoken"]; n != 1 {
		t.Errorf("%d access tokens fetched, want 1", n)
	}
}
