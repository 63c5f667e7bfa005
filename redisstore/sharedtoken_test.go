package redisstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
	"github.com/wxkf/kf/mp"
	"github.com/wxkf/kf/redisstore"
)

// callConcurrently runs call from workers goroutines, n times each, and
// fails the test on any error.
func callConcurrently(t *testing.T, workers, n int, call func(ctx context.Context, worker int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers*n)
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			for range n {
				if err := call(t.Context(), w); err != nil {
					errs <- err
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call failed: %v", err)
	}
}

// TestSharedTokenMP is issue 5's shared-token test: two Official Account
// clients (two instances: separate Redis connections and caches) share one
// real Redis. On an Official Account every token fetch invalidates the
// previous token; the emulator enforces it (40001 for a superseded token).
// Both when they start cold and when the token nears its expiry, only one
// of them refreshes, and neither ever sends an invalidated token.
func TestSharedTokenMP(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	clk := kftest.NewFrozenClock(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	oa := kftest.NewOAServer(t, kftest.WithOAClock(clk))
	var clients []*mp.Client
	for range 2 {
		cache := redisstore.NewTokenCache(newClient(t, addr), redisstore.WithClock(clk.Now))
		clients = append(clients, oa.Client(mp.WithTokenCache(cache), mp.WithClock(clk)))
	}
	list := func(ctx context.Context, w int) error {
		_, err := clients[w%2].Accounts.List(ctx)
		return err
	}
	check := func(fetches int) {
		t.Helper()
		st := oa.TokenStats()
		if st.Fetches != fetches || st.Stale != 0 || st.Expired != 0 || st.Malformed != 0 || st.Missing != 0 {
			t.Errorf("token stats = %+v, want %d fetches and no token error", st, fetches)
		}
	}

	// Cold start: both need a token at once.
	callConcurrently(t, 8, 5, list)
	check(1)

	// Two minutes before expiry both clients want a fresh token (they
	// refresh 5 minutes early): one fetches, the other waits for it.
	clk.Advance(7200*time.Second - 2*time.Minute)
	callConcurrently(t, 8, 5, list)
	check(2)
	if n := oa.Calls()["/cgi-bin/token"]; n != 2 {
		t.Errorf("%d calls of /cgi-bin/token, want 2", n)
	}
}

// TestSharedTokenKF: two WeCom clients sharing the Redis token cache fetch
// one access token between them (kftest counts the gettoken calls).
func TestSharedTokenKF(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	srv := emulator(t, accountIDs(1))
	var clients []*kf.Client
	for range 2 {
		clients = append(clients, srv.Client(kf.WithTokenCache(redisstore.NewTokenCache(newClient(t, addr)))))
	}
	callConcurrently(t, 8, 5, func(ctx context.Context, w int) error {
		_, err := clients[w%2].Accounts.List(ctx, nil)
		return err
	})
	if n := srv.Calls()["/cgi-bin/gettoken"]; n != 1 {
		t.Errorf("%d gettoken calls, want 1", n)
	}
	if srv.TokenCount() != 1 {
		t.Errorf("the emulator issued %d live tokens, want 1", srv.TokenCount())
	}
}
