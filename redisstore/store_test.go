package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/redisstore"
)

const day = 24 * time.Hour

func msgs(ids ...string) []kf.Message {
	out := make([]kf.Message, len(ids))
	for i, id := range ids {
		out[i] = kf.Message{MsgID: id}
	}
	return out
}

func seen(t *testing.T, st *redisstore.Store, acct string, ids ...string) []bool {
	t.Helper()
	got, err := st.Seen(t.Context(), acct, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("Seen returned %d answers for %d msgids", len(got), len(ids))
	}
	return got
}

func wantSeen(t *testing.T, st *redisstore.Store, acct string, want map[string]bool) {
	t.Helper()
	var ids []string
	for id := range want {
		ids = append(ids, id)
	}
	got := seen(t, st, acct, ids...)
	for i, id := range ids {
		if got[i] != want[id] {
			t.Errorf("Seen(%s, %s) = %v, want %v", acct, id, got[i], want[id])
		}
	}
}

func cursor(t *testing.T, st *redisstore.Store, acct string) string {
	t.Helper()
	c, err := st.Load(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func acquire(t *testing.T, st *redisstore.Store, acct, owner string, ttl time.Duration) kfsync.Lease {
	t.Helper()
	l, err := st.Acquire(t.Context(), acct, owner, ttl)
	if err != nil {
		t.Fatalf("Acquire(%s, %s): %v", acct, owner, err)
	}
	if l.OpenKfID != acct || l.Owner != owner || l.Fence <= 0 {
		t.Fatalf("Acquire = %+v", l)
	}
	return l
}

func pttl(t *testing.T, rdb *redis.Client, key string) time.Duration {
	t.Helper()
	d, err := rdb.PTTL(t.Context(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCursorStore(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, b backend) {
		st := redisstore.New(b.rdb)
		ctx := t.Context()
		if c := cursor(t, st, "wkA"); c != "" {
			t.Fatalf("Load of a new account = %q, want \"\"", c)
		}
		if err := st.Save(ctx, "wkA", "cursor-1"); err != nil {
			t.Fatal(err)
		}
		if err := st.Save(ctx, "wkB", "other"); err != nil {
			t.Fatal(err)
		}
		if c := cursor(t, st, "wkA"); c != "cursor-1" {
			t.Errorf("Load = %q, want cursor-1", c)
		}
		if err := st.Save(ctx, "wkA", "cursor-2"); err != nil {
			t.Fatal(err)
		}
		if c := cursor(t, st, "wkA"); c != "cursor-2" {
			t.Errorf("Load = %q, want cursor-2", c)
		}
		if c := cursor(t, st, "wkB"); c != "other" {
			t.Errorf("Load(wkB) = %q, want other", c)
		}
		if err := st.Save(ctx, "wkA", ""); err == nil {
			t.Error("Save of an empty cursor succeeded")
		}
		if _, err := st.Load(ctx, ""); err == nil {
			t.Error("Load of an empty open_kfid succeeded")
		}
		// The cursor never expires.
		if d := pttl(t, b.rdb, "wxkf:{wkA}:cursor"); d != -1 {
			t.Errorf("cursor PTTL = %v, want none", d)
		}
		// A prefix separates stores.
		other := redisstore.New(b.rdb, redisstore.WithPrefix("app2:"))
		if c := cursor(t, other, "wkA"); c != "" {
			t.Errorf("Load with another prefix = %q, want \"\"", c)
		}
	})
}

func TestDeduper(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, b backend) {
		st := redisstore.New(b.rdb)
		ctx := t.Context()
		if got, err := st.Seen(ctx, "wkA", nil); err != nil || len(got) != 0 {
			t.Fatalf("Seen(nil) = %v, %v", got, err)
		}
		wantSeen(t, st, "wkA", map[string]bool{"m1": false, "m2": false})
		if err := st.Mark(ctx, "wkA", "m1", 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := st.Mark(ctx, "wkA", "m3", 4*day); err != nil {
			t.Fatal(err)
		}
		wantSeen(t, st, "wkA", map[string]bool{"m1": true, "m2": false, "m3": true})
		// Msgids are scoped by account.
		wantSeen(t, st, "wkB", map[string]bool{"m1": false, "m3": false})
		// Duplicates in one lookup are answered each.
		if got := seen(t, st, "wkA", "m1", "m1", "m2"); !got[0] || !got[1] || got[2] {
			t.Errorf("Seen(m1, m1, m2) = %v", got)
		}
		// The mark lives its TTL, at least, and is then forgotten.
		if d := pttl(t, b.rdb, "wxkf:{wkA}:seen:m3"); d <= 4*day-time.Minute || d > 4*day {
			t.Errorf("mark PTTL = %v, want about 4 days", d)
		}
		b.elapse(400 * time.Millisecond)
		wantSeen(t, st, "wkA", map[string]bool{"m1": false, "m3": true})
		// A shorter mark does not shorten a longer one.
		if err := st.Mark(ctx, "wkA", "m3", time.Second); err != nil {
			t.Fatal(err)
		}
		if d := pttl(t, b.rdb, "wxkf:{wkA}:seen:m3"); d <= 4*day-time.Minute {
			t.Errorf("mark PTTL after a shorter Mark = %v, want about 4 days", d)
		}
		// A longer one extends it.
		if err := st.Mark(ctx, "wkA", "m3", 5*day); err != nil {
			t.Fatal(err)
		}
		if d := pttl(t, b.rdb, "wxkf:{wkA}:seen:m3"); d <= 5*day-time.Minute {
			t.Errorf("mark PTTL after a longer Mark = %v, want about 5 days", d)
		}
		if err := st.Mark(ctx, "wkA", "m4", 0); err == nil {
			t.Error("Mark with a zero TTL succeeded")
		}
	})
}

// commandCounter counts the commands a client sends (a pipeline counts its
// commands; a round trip is one process call).
type commandCounter struct{ trips, cmds atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.trips.Add(1)
		c.cmds.Add(1)
		return next(ctx, cmd)
	}
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.trips.Add(1)
		c.cmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// TestRoundTrips: Seen of a whole page is one command; a commit is one
// script (EVALSHA, or EVALSHA then EVAL the first time).
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, b backend) {
		st := redisstore.New(b.rdb)
		ctx := t.Context()
		var cc commandCounter
		b.rdb.AddHook(&cc)
		ids := make([]string, 1000)
		for i := range ids {
			ids[i] = fmt.Sprint("msg", i)
		}
		handled := msgs(ids[:500]...)
		if err := st.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: "c1", Handled: handled, TTL: day}); err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: "c2", Handled: msgs(ids[500:600]...), TTL: day}); err != nil {
			t.Fatal(err)
		}
		before := cc.trips.Load()
		got := seen(t, st, "wkA", ids...)
		if n := cc.trips.Load() - before; n != 1 {
			t.Errorf("Seen of 1000 msgids took %d round trips, want 1", n)
		}
		for i, s := range got {
			if s != (i < 600) {
				t.Fatalf("Seen(%s) = %v", ids[i], s)
			}
		}
		before = cc.trips.Load()
		if err := st.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: "c3", Handled: msgs(ids[600:]...), TTL: day}); err != nil {
			t.Fatal(err)
		}
		if n := cc.trips.Load() - before; n != 1 {
			t.Errorf("a commit (script cached) took %d round trips, want 1", n)
		}
	})
}

func TestLockerAcquire(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, b backend) {
		st := redisstore.New(b.rdb)
		ctx := t.Context()
		const ttl = 200 * time.Millisecond
		before := time.Now()
		l1 := acquire(t, st, "wkA", "alice", ttl)
		if l1.Fence != 1 {
			t.Errorf("first fence = %d, want 1", l1.Fence)
		}
		if l1.Expires.Before(before.Add(ttl)) || l1.Expires.After(time.Now().Add(ttl)) {
			t.Errorf("Expires = %v, want about now + %v", l1.Expires, ttl)
		}
		if d := pttl(t, b.rdb, "wxkf:{wkA}:lease"); d <= 0 || d > ttl {
			t.Errorf("lease PTTL = %v, want in (0, %v]", d, ttl)
		}
		// Held: by another owner and by the same owner alike.
		for _, owner := range []string{"bob", "alice"} {
			if _, err := st.Acquire(ctx, "wkA", owner, ttl); !errors.Is(err, kfsync.ErrLeaseHeld) {
				t.Errorf("Acquire by %s of a held lease: %v, want ErrLeaseHeld", owner, err)
			}
		}
		// Accounts are independent, fences too.
		if l := acquire(t, st, "wkB", "bob", ttl); l.Fence != 1 {
			t.Errorf("fence of another account = %d, want 1", l.Fence)
		}
		h, ok, err := st.Holder(ctx, "wkA")
		if err != nil || !ok || h.Owner != "alice" || h.Fence != l1.Fence {
			t.Errorf("Holder = %+v, %v, %v", h, ok, err)
		}
		// Expired: free again, with a greater fence.
		b.elapse(ttl + 50*time.Millisecond)
		if _, ok, err := st.Holder(ctx, "wkA"); ok || err != nil {
			t.Errorf("Holder after expiry: %v, %v", ok, err)
		}
		l2 := acquire(t, st, "wkA", "bob", ttl)
		if l2.Fence <= l1.Fence {
			t.Errorf("fence after expiry = %d, want > %d", l2.Fence, l1.Fence)
		}
		// Released: free again, and the fence still grows.
		if err := st.Release(ctx, l2); err != nil {
			t.Fatal(err)
		}
		l3 := acquire(t, st, "wkA", "alice", ttl)
		if l3.Fence <= l2.Fence {
			t.Errorf("fence after release = %d, want > %d", l3.Fence, l2.Fence)
		}
		// The fence counter never expires.
		if d := pttl(t, b.rdb, "wxkf:{wkA}:fence"); d != -1 {
			t.Errorf("fence counter PTTL = %v, want none", d)
		}
		if _, err := st.Acquire(ctx, "wkA", "alice", 0); err == nil {
			t.Error("Acquire with a zero TTL succeeded")
		}
		if _, err := st.Acquire(ctx, "wkA", "", ttl); err == nil {
			t.Error("Acquire with an empty owner succeeded")
		}
	})
}

func TestLockerRenew(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, b backend) {
		st := redisstore.New(b.rdb)
		ctx := t.Context()
		const ttl = 300 * time.Millisecond
		l := acquire(t, st, "wkA", "alice", ttl)
		// Renewals keep it past its first TTL.
		for range 3 {
			b.elapse(ttl / 2)
			r, err := st.Renew(ctx, l, ttl)
			if err != nil {
				t.Fatalf("Renew: %v", err)
			}
			if r.Fence != l.Fence || r.Owner != l.Owner || r.OpenKfID != l.OpenKfID {
				t.Fatalf("Renew changed the lease: %+v → %+v", l, r)
			}
		}
		if _, err := st.Acquire(ctx, "wkA", "bob", ttl); !errors.Is(err, kfsync.ErrLeaseHeld) {
			t.Errorf("Acquire of a renewed lease: %v, want ErrLeaseHeld", err)
		}
		// Renewing with another owner or another fence: lost.
		for _, bad := range []kfsync.Lease{
			{OpenKfID: "wkA", Owner: "bob", Fence: l.Fence},
			{OpenKfID: "wkA", Owner: "alice", Fence: l.Fence + 1},
			{OpenKfID: "wkB", Owner: "alice", Fence: l.Fence},
		} {
			if _, err := st.Renew(ctx, bad, ttl); !errors.Is(err, kfsync.ErrLeaseLost) {
				t.Errorf("Renew(%+v): %v, want ErrLeaseLost", bad, err)
			}
		}
		// After expiry: lost, even though nobody took it.
		b.elapse(ttl + 50*time.Millisecond)
		if _, err := st.Renew(ctx, l, ttl); !errors.Is(err, kfsync.ErrLeaseLost) {
			t.Errorf("Renew after expiry: %v, want ErrLeaseLost", err)
		}
		// And it was not revived.
		if _, ok, _ := st.Holder(ctx, "wkA"); ok {
			t.Error("a failed Renew revived the lease")
		}
		// After a takeover: lost.
		l2 := acquire(t, st, "wkA", "bob", ttl)
		if _, err := st.Renew(ctx, l, ttl); !errors.Is(err, kfsync.ErrLeaseLost) {
			t.Errorf("Renew after a takeover: %v, want ErrLeaseLost", err)
		}
		if h, ok, _ := st.Holder(ctx, "wkA"); !ok || h.Fence != l2.Fence {
			t.Errorf("the old owner's Renew touched the new lease: %+v", h)
		}
	})
}

func TestLockerRelease(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, b backend) {
		st := redisstore.New(b.rdb)
		ctx := t.Context()
		const ttl = 300 * time.Millisecond
		// Nothing held: nil.
		if err := st.Release(ctx, kfsync.Lease{OpenKfID: "wkA", Owner: "alice", Fence: 1}); err != nil {
			t.Errorf("Release of nothing: %v", err)
		}
		l := acquire(t, st, "wkA", "alice", ttl)
		// A non-owner or a stale fence: nothing happens.
		for _, bad := range []kfsync.Lease{
			{OpenKfID: "wkA", Owner: "bob", Fence: l.Fence},
			{OpenKfID: "wkA", Owner: "alice", Fence: l.Fence - 1},
		} {
			if err := st.Release(ctx, bad); err != nil {
				t.Errorf("Release(%+v): %v", bad, err)
			}
			if h, ok, _ := st.Holder(ctx, "wkA"); !ok || h.Owner != "alice" || h.Fence != l.Fence {
				t.Fatalf("Release by a non-owner ended the lease (holder %+v, %v)", h, ok)
			}
		}
		if _, err := st.Acquire(ctx, "wkA", "bob", ttl); !errors.Is(err, kfsync.ErrLeaseHeld) {
			t.Errorf("Acquire after a non-owner's Release: %v, want ErrLeaseHeld", err)
		}
		// The old owner of an expired lease cannot release the new one.
		b.elapse(ttl + 50*time.Millisecond)
		l2 := acquire(t, st, "wkA", "bob", ttl)
		if err := st.Release(ctx, l); err != nil {
			t.Fatal(err)
		}
		if h, ok, _ := st.Holder(ctx, "wkA"); !ok || h.Fence != l2.Fence {
			t.Errorf("a stale Release ended the new lease (holder %+v, %v)", h, ok)
		}
		// The owner can.
		if err := st.Release(ctx, l2); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := st.Holder(ctx, "wkA"); ok {
			t.Error("Release by the owner left the lease")
		}
		acquire(t, st, "wkA", "carol", ttl)
	})
}

func TestCommit(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, b backend) {
		st := redisstore.New(b.rdb)
		ctx := t.Context()
		const ttl = 500 * time.Millisecond
		l1 := acquire(t, st, "wkA", "alice", ttl)
		commit := func(l kfsync.Lease, cur string, ids ...string) error {
			return st.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: cur, Handled: msgs(ids...), TTL: 4 * day,
				Owner: l.Owner, Fence: l.Fence})
		}
		// Applied: marks and cursor.
		if err := commit(l1, "c1", "m1", "m2"); err != nil {
			t.Fatal(err)
		}
		if c := cursor(t, st, "wkA"); c != "c1" {
			t.Errorf("cursor = %q, want c1", c)
		}
		wantSeen(t, st, "wkA", map[string]bool{"m1": true, "m2": true, "m3": false})
		if d := pttl(t, b.rdb, "wxkf:{wkA}:seen:m1"); d <= 4*day-time.Minute {
			t.Errorf("mark PTTL = %v, want about 4 days", d)
		}
		if f, _ := st.CommittedFence(ctx, "wkA"); f != l1.Fence {
			t.Errorf("committed fence = %d, want %d", f, l1.Fence)
		}
		// A progress commit keeps the cursor.
		if err := commit(l1, "", "m3"); err != nil {
			t.Fatal(err)
		}
		if c := cursor(t, st, "wkA"); c != "c1" {
			t.Errorf("cursor after a progress commit = %q, want c1", c)
		}
		wantSeen(t, st, "wkA", map[string]bool{"m3": true})
		// A retried commit (lost reply) is harmless.
		if err := commit(l1, "", "m3"); err != nil {
			t.Fatal(err)
		}
		// Another owner with the same fence, or the holder with another
		// fence: stale, nothing applied.
		for _, bad := range []kfsync.Lease{{Owner: "bob", Fence: l1.Fence}, {Owner: "alice", Fence: l1.Fence + 1}} {
			if err := commit(bad, "bad", "x1"); !errors.Is(err, kfsync.ErrStaleFence) {
				t.Errorf("commit by %+v: %v, want ErrStaleFence", bad, err)
			}
		}
		// The lease expires: the holder's commit is refused although
		// nobody took the lease over (a worker paused between its own
		// check and the commit).
		b.elapse(ttl + 50*time.Millisecond)
		if err := commit(l1, "late", "x2"); !errors.Is(err, kfsync.ErrStaleFence) {
			t.Errorf("commit after expiry: %v, want ErrStaleFence", err)
		}
		// A newer owner commits; the old one is refused, nothing applied.
		l2 := acquire(t, st, "wkA", "bob", ttl)
		if err := commit(l2, "c2", "m4"); err != nil {
			t.Fatal(err)
		}
		if err := commit(l1, "stale", "x3", "x4"); !errors.Is(err, kfsync.ErrStaleFence) {
			t.Errorf("commit with an older fence after a newer acquire: %v, want ErrStaleFence", err)
		}
		if c := cursor(t, st, "wkA"); c != "c2" {
			t.Errorf("cursor = %q after refused commits, want c2", c)
		}
		wantSeen(t, st, "wkA", map[string]bool{"m4": true, "x1": false, "x2": false, "x3": false, "x4": false})
		if f, _ := st.CommittedFence(ctx, "wkA"); f != l2.Fence {
			t.Errorf("committed fence = %d, want %d", f, l2.Fence)
		}
		// After the release, the released lease cannot commit.
		if err := st.Release(ctx, l2); err != nil {
			t.Fatal(err)
		}
		if err := commit(l2, "released", "x5"); !errors.Is(err, kfsync.ErrStaleFence) {
			t.Errorf("commit after release: %v, want ErrStaleFence", err)
		}
		// Without a Locker (fence 0, no owner): refused once a fenced
		// commit happened.
		if err := commit(kfsync.Lease{}, "unfenced", "x6"); !errors.Is(err, kfsync.ErrStaleFence) {
			t.Errorf("unfenced commit after fenced ones: %v, want ErrStaleFence", err)
		}
		wantSeen(t, st, "wkA", map[string]bool{"x5": false, "x6": false})
		if c := cursor(t, st, "wkA"); c != "c2" {
			t.Errorf("cursor = %q after refused commits, want c2", c)
		}
	})
}

func TestCommitWithoutLocker(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, b backend) {
		st := redisstore.New(b.rdb)
		ctx := t.Context()
		for i := range 3 {
			c := kfsync.Commit{OpenKfID: "wkA", Cursor: fmt.Sprint("c", i), Handled: msgs(fmt.Sprint("m", i)), TTL: day}
			if err := st.Commit(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if c := cursor(t, st, "wkA"); c != "c2" {
			t.Errorf("cursor = %q, want c2", c)
		}
		wantSeen(t, st, "wkA", map[string]bool{"m0": true, "m1": true, "m2": true})
		if err := st.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Handled: msgs("m"), TTL: 0}); err == nil {
			t.Error("a commit with marks and no TTL succeeded")
		}
		if err := st.Commit(ctx, kfsync.Commit{Cursor: "c"}); err == nil {
			t.Error("a commit without an account succeeded")
		}
		// Marks committed with a short TTL expire.
		if err := st.Commit(ctx, kfsync.Commit{OpenKfID: "wkB", Handled: msgs("s"), TTL: 100 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		wantSeen(t, st, "wkB", map[string]bool{"s": true})
		b.elapse(200 * time.Millisecond)
		wantSeen(t, st, "wkB", map[string]bool{"s": false})
	})
}
