package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kftest"
	"github.com/wxkf/kf/redisstore"
)

// The environment of a helper process (TestHelperProcess).
const (
	envHelper   = "REDISSTORE_HELPER_PROCESS"
	envRedis    = "REDISSTORE_HELPER_REDIS"
	envKftest   = "REDISSTORE_HELPER_KFTEST"
	envCorp     = "REDISSTORE_HELPER_CORP"
	envSecret   = "REDISSTORE_HELPER_SECRET"
	envAccounts = "REDISSTORE_HELPER_ACCOUNTS"
	envOwner    = "REDISSTORE_HELPER_OWNER"
)

// Keys of the test bookkeeping in Redis (outside the store's prefix).
const (
	keyHandled   = "test:handled"   // hash msgid → handler calls
	keyByProc    = "test:byproc"    // hash owner → handler calls
	keySyncs     = "test:syncs"     // hash owner → sync_msg calls
	keyOverlap   = "test:overlap"   // sync_msg calls that found another in flight
	keyNotHolder = "test:notholder" // sync_msg calls made without holding the lease
	keyReady     = "test:ready"     // set of subscribed helpers
	keyInPull    = "test:inpull:"   // + open_kfid: sync_msg calls in flight
	chanNotify   = "test:notify"    // "open_kfid token" per callback
)

// TestGuarantee3SeveralProcesses is guarantee 3 of issue 4 across
// processes: the test binary runs itself three times (TestHelperProcess),
// each child a Syncer on one shared real redis-server, pulling from kftest,
// which this process serves on loopback. kftest's callbacks reach this
// process's callback handler, which publishes each one to every child
// (Redis pub/sub); the children Notify their Syncer. Each child counts its
// handler calls per msgid in Redis, and wraps its Source so that every
// sync_msg call INCRs a per-account in-pull key (and DECRs it after): the
// value must never exceed 1, and the caller must hold the account's lease
// in Redis. At the end every msgid was handled exactly once across the
// processes, and the three children fetched one access token between them.
func TestGuarantee3SeveralProcesses(t *testing.T) {
	t.Parallel()
	const procs, rounds, perRound = 3, 15, 20
	accounts := accountIDs(4)
	addr := startRedis(t)
	rdb := newClient(t, addr)

	var callbacks atomic.Int64
	cb := callbackReceiver(t, func(ctx context.Context, openKfID, token string) {
		callbacks.Add(1)
		if err := rdb.Publish(ctx, chanNotify, openKfID+" "+token).Err(); err != nil {
			t.Errorf("publish: %v", err)
		}
	})
	srv := emulator(t, accounts, cb, kftest.WithTokenlessSyncLimit(1000, time.Minute))

	type child struct {
		owner string
		cmd   *exec.Cmd
		out   *syncBuffer
		done  chan error
	}
	var children []*child
	dump := func() {
		for _, c := range children {
			t.Logf("output of %s:\n%s", c.owner, c.out.String())
		}
	}
	for i := range procs {
		c := &child{owner: fmt.Sprint("process-", i), out: &syncBuffer{}, done: make(chan error, 1)}
		c.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.timeout=5m")
		c.cmd.Env = append(os.Environ(),
			envHelper+"=1", envRedis+"="+addr, envKftest+"="+srv.URL(), envCorp+"="+srv.CorpID(),
			envSecret+"="+srv.Secret(), envAccounts+"="+strings.Join(accounts, ","), envOwner+"="+c.owner)
		c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { c.done <- c.cmd.Wait() }()
		children = append(children, c)
	}
	stopped := false
	stopAll := func() {
		if stopped {
			return
		}
		stopped = true
		for _, c := range children {
			_ = c.cmd.Process.Signal(os.Interrupt)
		}
		for _, c := range children {
			select {
			case err := <-c.done:
				if err != nil {
					t.Errorf("%s: %v", c.owner, err)
					dump()
				}
			case <-time.After(30 * time.Second):
				_ = c.cmd.Process.Kill()
				<-c.done
				t.Errorf("%s did not stop", c.owner)
				dump()
			}
		}
	}
	t.Cleanup(stopAll)

	ctx := t.Context()
	waitForOrDump := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				dump()
				t.Fatalf("timed out after %v waiting for %s", d, what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitForOrDump("the helpers to subscribe", 60*time.Second, func() bool {
		return rdb.SCard(ctx, keyReady).Val() == procs
	})

	var want []string
	for range rounds {
		for _, acct := range accounts {
			want = append(want, sendTexts(t, srv, acct, perRound)...)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitForOrDump("every message handled", 90*time.Second, func() bool {
		return rdb.HLen(ctx, keyHandled).Val() == int64(len(want))
	})
	// Let the last pulls finish: no lease held for a moment.
	st := redisstore.New(rdb)
	quiet := 0
	waitForOrDump("the helpers idle", 30*time.Second, func() bool {
		for _, acct := range accounts {
			if _, ok, _ := st.Holder(ctx, acct); ok {
				quiet = 0
				return false
			}
		}
		quiet++
		time.Sleep(20 * time.Millisecond)
		return quiet >= 10
	})
	stopAll()

	handled, err := rdb.HGetAll(ctx, keyHandled).Result()
	if err != nil {
		t.Fatal(err)
	}
	counts := make(map[string]int, len(handled))
	for id, v := range handled {
		counts[id], _ = strconv.Atoi(v)
	}
	checkExactlyOnce(t, counts, want)
	if n, _ := rdb.Get(ctx, keyOverlap).Int(); n != 0 {
		t.Errorf("%d sync_msg calls found another one of the same account in flight", n)
	}
	if n, _ := rdb.Get(ctx, keyNotHolder).Int(); n != 0 {
		t.Errorf("%d sync_msg calls were made without holding the account's lease", n)
	}
	for _, acct := range accounts {
		if n, _ := rdb.Get(ctx, keyInPull+acct).Int(); n != 0 {
			t.Errorf("in-pull counter of %s = %d at the end, want 0", acct, n)
		}
	}
	byProc, syncs := rdb.HGetAll(ctx, keyByProc).Val(), rdb.HGetAll(ctx, keySyncs).Val()
	t.Logf("%d messages, %d callbacks, handled per process %v, sync_msg calls per process %v",
		len(want), callbacks.Load(), byProc, syncs)
	if len(syncs) < 2 {
		t.Errorf("only %d of %d processes pulled: the test did not exercise sharing", len(syncs), procs)
	}
	if n := srv.Calls()["/cgi-bin/gettoken"]; n != 1 {
		t.Errorf("the three processes fetched %d access tokens, want 1 (shared through Redis)", n)
	}
}

// TestHelperProcess is one instance of TestGuarantee3SeveralProcesses, run
// in a child process; it does nothing otherwise.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(envHelper) != "1" {
		return
	}
	owner := os.Getenv(envOwner)
	accounts := strings.Split(os.Getenv(envAccounts), ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()

	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv(envRedis)})
	defer rdb.Close()
	st := redisstore.New(rdb)
	client, err := kf.NewClient(os.Getenv(envCorp), os.Getenv(envSecret),
		kf.WithBaseURL(os.Getenv(envKftest)), kf.WithTokenCache(st.TokenCache()))
	if err != nil {
		t.Fatal(err)
	}
	src := kfsync.SourceFunc(func(ctx context.Context, req *kf.SyncMsgRequest) (*kf.SyncMsgResponse, error) {
		bg := context.WithoutCancel(ctx)
		key := keyInPull + req.OpenKfID
		n, err := rdb.Incr(bg, key).Result()
		if err != nil {
			return nil, err
		}
		defer rdb.Decr(bg, key)
		if n > 1 {
			rdb.Incr(bg, keyOverlap)
			t.Logf("%s: %d pulls of %s in flight", owner, n, req.OpenKfID)
		}
		if h, ok, err := st.Holder(bg, req.OpenKfID); err != nil || !ok || h.Owner != owner {
			rdb.Incr(bg, keyNotHolder)
			t.Logf("%s: pulling %s without its lease (holder %+v, %v, %v)", owner, req.OpenKfID, h, ok, err)
		}
		rdb.HIncrBy(bg, keySyncs, owner, 1)
		return client.Messages.Sync(ctx, req)
	})
	h := func(ctx context.Context, m kf.Message) error {
		_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HIncrBy(ctx, keyHandled, m.MsgID, 1)
			p.HIncrBy(ctx, keyByProc, owner, 1)
			return nil
		})
		return err
	}
	s, err := kfsync.New(src, h, kfsync.WithStore(st), kfsync.WithLocker(st), kfsync.WithOwner(owner),
		kfsync.WithAccounts(accounts...), kfsync.WithLeaseTTL(3*time.Second), kfsync.WithPollInterval(0),
		kfsync.WithPageLimit(37), fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	sub := rdb.Subscribe(ctx, chanNotify)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription is confirmed
		t.Fatal(err)
	}
	if err := rdb.SAdd(ctx, keyReady, owner).Err(); err != nil {
		t.Fatal(err)
	}
	go func() {
		for msg := range sub.Channel() {
			// Pub/sub delivers in subscription order: a little jitter
			// keeps the first subscriber from winning every race.
			acct, tok, _ := strings.Cut(msg.Payload, " ")
			time.AfterFunc(time.Duration(rand.Int64N(int64(10*time.Millisecond))), func() { s.Notify(acct, tok) })
		}
	}()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the helper ran out of time without being stopped")
	}
	stt := s.Stats()
	t.Logf("%s: handled %d, pages %d, lease busy %d, lease lost %d, errors %d %v",
		owner, stt.Handled, stt.Pages, stt.LeaseBusy, stt.LeaseLost, stt.Errors, stt.ErrorsByStage)
}
