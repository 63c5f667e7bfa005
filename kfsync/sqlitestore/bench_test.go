package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kfsync/sqlitestore"
	"github.com/wxkf/kf/kftest"
)

const benchAccount = "wkBench"

// benchEmulator is a kftest server with one account and 5 customers.
func benchEmulator(tb testing.TB, opts ...kftest.Option) *kftest.Server {
	seed := kftest.Seed{Accounts: []kftest.SeedAccount{{OpenKfID: benchAccount, Name: "bench"}}}
	for i := range 5 {
		seed.Customers = append(seed.Customers, kftest.SeedCustomer{ExternalUserID: fmt.Sprint("wmBench", i)})
	}
	return kftest.NewServer(tb, append([]kftest.Option{kftest.WithSeed(seed), kftest.WithRandSeed(1)}, opts...)...)
}

// feed makes the customers send n texts.
func feed(tb testing.TB, srv *kftest.Server, n int) {
	tb.Helper()
	msg := kftest.CustomerText("你好，我想查询一下订单的物流状态，谢谢")
	for j := range n {
		if _, err := srv.CustomerSend(benchAccount, fmt.Sprint("wmBench", j%5), msg); err != nil {
			tb.Fatal(err)
		}
	}
}

// syncer runs a Syncer over store with a no-op handler; wait(n) blocks
// until n messages in all were handled and committed.
func syncer(tb testing.TB, srv *kftest.Server, store kfsync.Store) (s *kfsync.Syncer, wait func(n int64)) {
	tb.Helper()
	var handled atomic.Int64
	progress := make(chan struct{}, 1)
	s, err := kfsync.New(srv.Client().Messages, func(context.Context, kf.Message) error { return nil },
		kfsync.WithStore(store), kfsync.WithPollInterval(0),
		kfsync.WithHooks(kfsync.Hooks{Page: func(e kfsync.PageEvent) { // after the commit
			handled.Add(int64(e.Handled))
			select {
			case progress <- struct{}{}:
			default:
			}
		}}))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	wait = func(n int64) {
		timeout := time.After(5 * time.Minute)
		for handled.Load() < n {
			select {
			case <-progress:
			case <-timeout:
				tb.Fatalf("handled %d of %d messages", handled.Load(), n)
			}
		}
	}
	return s, wait
}

// notify hands the Syncer a fresh callback token, so that the pull does not
// take the rate-limited tokenless path.
func notify(tb testing.TB, srv *kftest.Server, s *kfsync.Syncer) {
	tb.Helper()
	tok, err := srv.SyncToken(benchAccount)
	if err != nil {
		tb.Fatal(err)
	}
	s.Notify(benchAccount, tok)
}

// BenchmarkSyncSQLite measures sync throughput end to end: kftest over
// loopback HTTP → kf.Client → Syncer → a no-op handler, with the SQLite
// archive (every message archived, marked and the cursor advanced in one
// transaction per 1000-message page) and, as the baseline, the memory
// store. Each iteration pulls a backlog of 20 000 messages generated with
// the timer stopped. The figure is msgs/s (target ≥ 20 000 with SQLite).
//
//	go test -run XXX -bench SyncSQLite -benchtime 5x ./kfsync/sqlitestore
func BenchmarkSyncSQLite(b *testing.B) {
	for _, name := range []string{"sqlite", "sqlite-normal", "memory"} {
		b.Run("store="+name, func(b *testing.B) {
			const backlog = 20_000
			var store kfsync.Store
			switch name {
			case "memory":
				store = kfsync.NewMemoryStore()
			case "sqlite":
				store = open(b, filepath.Join(b.TempDir(), "kf.db"))
			case "sqlite-normal":
				store = open(b, filepath.Join(b.TempDir(), "kf.db"), sqlitestore.WithSynchronous(sqlitestore.Normal))
			}
			srv := benchEmulator(b)
			s, wait := syncer(b, srv, store)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				feed(b, srv, backlog)
				b.StartTimer()
				notify(b, srv, s)
				wait(int64((i + 1) * backlog))
			}
			b.StopTimer()
			n := float64(b.N * backlog)
			b.ReportMetric(n/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/msg")
			if st := s.Stats(); st.Handled != int64(n) || st.Duplicates != 0 {
				b.Fatalf("stats = %+v", st)
			}
			if a, ok := store.(*sqlitestore.Store); ok {
				if c := count(b, a, benchAccount); c != int64(n) {
					b.Fatalf("archive holds %d messages, want %d", c, int64(n))
				}
			}
		})
	}
}

// BenchmarkCommitPage measures Commit of one 1000-message page (one
// transaction: 1000 archive rows, 1000 marks, the cursor).
func BenchmarkCommitPage(b *testing.B) {
	for _, sync := range []sqlitestore.Synchronous{sqlitestore.Full, sqlitestore.Normal} {
		b.Run(fmt.Sprint("synchronous=", map[sqlitestore.Synchronous]string{sqlitestore.Full: "full", sqlitestore.Normal: "normal"}[sync]), func(b *testing.B) {
			s := open(b, filepath.Join(b.TempDir(), "kf.db"), sqlitestore.WithSynchronous(sync))
			page := make([]kf.Message, 1000)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for j := range page {
					page[j] = text(b, "wkA", fmt.Sprint("wm", j%7), fmt.Sprintf("msg%08d", i*1000+j), int64(1700000000+i), "你好，我想查询一下订单的物流状态，谢谢")
				}
				b.StartTimer()
				if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: fmt.Sprint("c", i), Handled: page, TTL: kfsync.DefaultDedupTTL}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkSeenPage measures the dedup lookup of one 1000-msgid page in an
// account with 100 000 marks.
func BenchmarkSeenPage(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "kf.db"), sqlitestore.WithSynchronous(sqlitestore.Normal))
	page := make([]kf.Message, 1000)
	for i := range 100 {
		for j := range page {
			page[j] = text(b, "wkA", "wm", fmt.Sprintf("msg%08d", i*1000+j), 1, "x")
		}
		if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Handled: page, TTL: time.Hour}); err != nil {
			b.Fatal(err)
		}
	}
	ids := make([]string, 1000)
	for j := range ids {
		ids[j] = fmt.Sprintf("msg%08d", 50_000+j*2) // half known
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := s.Seen(ctx, "wkA", ids)
		if err != nil || !got[0] {
			b.Fatal(got[0], err)
		}
	}
}
