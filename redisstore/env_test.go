package redisstore_test

import (
	"context"
	"fmt"
	"github.com/wxkf/kf/internal/testenv"
	"math/rand/v2"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/callback"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kftest"
)

// The callback settings kftest signs and encrypts its callbacks with.
const (
	cbToken  = "QDG6eK"
	cbAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

const customers = 5

// accountIDs returns n open_kfids.
func accountIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint("wkAccount", i)
	}
	return out
}

// emulator starts kftest with the accounts and a few customers.
func emulator(t testing.TB, accounts []string, opts ...kftest.Option) *kftest.Server {
	t.Helper()
	var seed kftest.Seed
	for _, id := range accounts {
		seed.Accounts = append(seed.Accounts, kftest.SeedAccount{OpenKfID: id, Name: id})
	}
	for i := range customers {
		seed.Customers = append(seed.Customers, kftest.SeedCustomer{ExternalUserID: fmt.Sprint("wmCustomer", i), Nickname: fmt.Sprint("c", i)})
	}
	return kftest.NewServer(t, append([]kftest.Option{kftest.WithSeed(seed), kftest.WithRandSeed(1)}, opts...)...)
}

// callbackReceiver starts the toolkit's callback handler on a loopback
// port for kftest's callbacks, calling notify with each kf_msg_or_event. It
// returns the kftest option that points the emulator at it.
func callbackReceiver(t testing.TB, notify func(ctx context.Context, openKfID, token string)) kftest.Option {
	t.Helper()
	h, err := callback.New(callback.Config{Token: cbToken, EncodingAESKey: cbAESKey, ReceiverID: kftest.DefaultCorpID,
		QueueSize: 1 << 14,
		OnEvent: func(ctx context.Context, ev callback.Event) {
			if e, ok := ev.KfMsgOrEvent(); ok {
				notify(ctx, e.OpenKfID, e.Token)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	hs := httptest.NewServer(h)
	t.Cleanup(func() { hs.Close(); cancel(); <-done })
	return kftest.WithCallback(kftest.Callback{URL: hs.URL, Token: cbToken, EncodingAESKey: cbAESKey})
}

// sendTexts makes customers send n texts to an account and returns the
// msgids.
func sendTexts(t testing.TB, srv *kftest.Server, openKfID string, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for i := range n {
		id, err := srv.CustomerSend(openKfID, fmt.Sprint("wmCustomer", i%customers), kftest.CustomerText(fmt.Sprint("hello ", i)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// notifyWithToken tells s that the account has news, with a fresh sync
// token, as a callback would.
func notifyWithToken(t testing.TB, srv *kftest.Server, s *kfsync.Syncer, openKfID string) {
	t.Helper()
	tok, err := srv.SyncToken(openKfID)
	if err != nil {
		t.Fatal(err)
	}
	s.Notify(openKfID, tok)
}

// fastBackoff keeps retries short in real time.
var fastBackoff = kfsync.WithBackoff(kfsync.Backoff{Initial: time.Millisecond, Max: 20 * time.Millisecond})

// runSyncer runs s until the returned stop is called (or the test ends).
func runSyncer(t testing.TB, s *kfsync.Syncer) (stop func()) {
	t.Helper()
	return testenv.Background(t, s.Run)
}

// idle reports whether no account of s is being pulled or waits for a
// retry.
func idle(s *kfsync.Syncer) bool {
	for _, a := range s.Stats().Accounts {
		if a.Running || a.Pending {
			return false
		}
	}
	return true
}

// handleCounter counts the handler calls per msgid and per instance.
type handleCounter struct {
	mu         sync.Mutex
	byMsg      map[string]int
	byInstance map[string]int
	total      atomic.Int64
}

func newHandleCounter() *handleCounter {
	return &handleCounter{byMsg: map[string]int{}, byInstance: map[string]int{}}
}

func (c *handleCounter) handler(instance string) kfsync.Handler {
	return func(_ context.Context, m kf.Message) error {
		c.mu.Lock()
		c.byMsg[m.MsgID]++
		c.byInstance[instance]++
		c.mu.Unlock()
		c.total.Add(1)
		return nil
	}
}

func (c *handleCounter) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byMsg)
}

// checkExactlyOnce fails the test unless every msgid in want was counted
// exactly once in got and nothing else was.
func checkExactlyOnce(t testing.TB, got map[string]int, want []string) {
	t.Helper()
	bad := 0
	for _, id := range want {
		if n := got[id]; n != 1 {
			if bad++; bad <= 10 {
				t.Errorf("msgid %s handled %d times, want 1", id, n)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d distinct msgids handled, want %d", len(got), len(want))
	}
	if bad > 10 {
		t.Errorf("... %d msgids in all not handled exactly once", bad)
	}
}

// shuffled returns the syncers in a random order, so that no instance is
// always the first to hear of news.
func shuffled(ss []*kfsync.Syncer) []*kfsync.Syncer {
	out := append([]*kfsync.Syncer(nil), ss...)
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
