package mp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkf/kf/internal/wxapi"
)

func TestNewClientOptions(t *testing.T) {
	t.Parallel()
	zeroRetryer := NewStandardRetryer(StandardRetryerConfig{})
	bad := []struct {
		name  string
		appID string
		sec   string
		opt   Option
	}{
		{"nil http client", "app", "secret", WithHTTPClient(nil)},
		{"relative base URL", "app", "secret", WithBaseURL("/api")},
		{"ftp base URL", "app", "secret", WithBaseURL("ftp://example.com")},
		{"base URL with query", "app", "secret", WithBaseURL("https://example.com/?a=1")},
		{"nil token source", "app", "secret", WithTokenSource(nil)},
		{"nil token cache", "app", "secret", WithTokenCache(nil)},
		{"nil retryer", "app", "secret", WithRetryer(nil)},
		{"retry 0", "app", "secret", WithRetry(0)},
		{"retry 21", "app", "secret", WithRetry(21)},
		{"nil logger", "app", "secret", WithLogger(nil)},
		{"nil clock", "app", "secret", WithClock(nil)},
		{"empty app id", "", "secret", WithRetryer(zeroRetryer)},
		{"empty secret", "app", "", WithRetry(1)},
	}
	for _, tc := range bad {
		if c, err := NewClient(tc.appID, tc.sec, tc.opt); err == nil || c != nil {
			t.Errorf("%s: NewClient = %v, %v; want an error", tc.name, c, err)
		} else if !strings.HasPrefix(err.Error(), "mp: ") {
			t.Errorf("%s: error %q lacks the package prefix", tc.name, err)
		}
	}

	c, err := NewClient("app", "", WithTokenSource(StaticTokenSource("tok")), WithBaseURL("http://127.0.0.1:1/base/"),
		WithHTTPClient(&http.Client{}), WithLogger(slog.New(slog.DiscardHandler)), WithClock(newFakeClock()),
		WithRetry(2), WithTokenCache(&MemoryTokenCache{}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AppID() != "app" || c.BaseURL() != "http://127.0.0.1:1/base" {
		t.Errorf("AppID, BaseURL = %q, %q", c.AppID(), c.BaseURL())
	}
	if tok, _ := c.Tokens().Token(t.Context()); tok != "tok" {
		t.Errorf("token = %q, want the WithTokenSource token", tok)
	}
	d, err := NewClient("app", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if d.BaseURL() != DefaultBaseURL {
		t.Errorf("default BaseURL = %q", d.BaseURL())
	}
	if d.Accounts == nil || d.Sessions == nil || d.Records == nil || d.Messages == nil {
		t.Error("a service is nil")
	}
}

func TestTokenFetch(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	cache := &MemoryTokenCache{}
	_, c := setup(t, WithClock(clock), WithTokenCache(cache))
	tok, err := c.Tokens().Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok != testToken {
		t.Fatalf("token = %q", tok)
	}
	got, ok, _ := cache.Get(t.Context(), wxapi.CacheKey("mp", "app", "secret"))
	if !ok || got.Value != testToken || !got.ExpiresAt.Equal(clock.Now().Add(7200*time.Second)) {
		t.Errorf("cached token = %+v, %v; want %q expiring in 7200 s", got, ok, testToken)
	}
}

func TestTokenFetchErrorIsAPIErrorWithoutSecret(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	bad, err := NewClient("app", "wrong-secret", WithBaseURL(c.BaseURL()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Sessions.ListWaiting(t.Context())
	wantAPIError(t, err, "mp/token", ErrCodeInvalidCredential)
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error leaks the secret: %v", err)
	}
	if !strings.Contains(err.Error(), "mp/kfsession/getwaitcase") {
		t.Errorf("error %q does not name the failed call", err)
	}
}

// oaServer is a fake Official Account that, like the real one, invalidates
// the previous token on every fetch: T1, T2, ... Only the newest token is
// accepted by /customservice/kfsession/getwaitcase; stale ones get 40001
// and are counted.
type oaServer struct {
	fetches atomic.Int32
	calls   atomic.Int32
	stale   atomic.Int32
	mu      sync.Mutex
	current string
	// reject, when set, answers this code to the given token once.
	reject     ErrCode
	rejectOnce sync.Once
}

func (s *oaServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/cgi-bin/token":
		time.Sleep(20 * time.Millisecond) // widen the window for racing refreshers
		n := s.fetches.Add(1)
		s.mu.Lock()
		s.current = fmt.Sprintf("T%d", n)
		tok := s.current
		s.mu.Unlock()
		writeJSON(w, `{"access_token":"`+tok+`","expires_in":7200}`)
	case "/customservice/kfsession/getwaitcase":
		s.calls.Add(1)
		s.mu.Lock()
		cur := s.current
		s.mu.Unlock()
		if r.URL.Query().Get("access_token") != cur {
			s.stale.Add(1)
			writeJSON(w, errcodeReply(ErrCodeInvalidCredential))
			return
		}
		rejected := false
		if s.reject != 0 {
			s.rejectOnce.Do(func() { rejected = true })
		}
		if rejected {
			writeJSON(w, errcodeReply(s.reject))
			return
		}
		writeJSON(w, `{"count":0,"waitcaselist":[]}`)
	default:
		http.NotFound(w, r)
	}
}

// lockerCache is a shared in-memory TokenCache that also implements
// TokenLocker, standing in for Redis.
type lockerCache struct {
	MemoryTokenCache
	mu     sync.Mutex
	held   map[string]bool
	grants atomic.Int32
}

var _ TokenLocker = (*lockerCache)(nil)

func (c *lockerCache) TryLock(_ context.Context, key string, _ time.Duration) (func(context.Context) error, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[key] {
		return nil, false, nil
	}
	if c.held == nil {
		c.held = map[string]bool{}
	}
	c.held[key] = true
	c.grants.Add(1)
	return func(context.Context) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.held, key)
		return nil
	}, true, nil
}

// hammer runs n concurrent calls on each client and returns the failures.
func hammer(t *testing.T, n int, clients ...*Client) []error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	start := make(chan struct{})
	for _, c := range clients {
		for range n {
			wg.Go(func() {
				<-start
				if _, err := c.Sessions.ListWaiting(t.Context()); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
	}
	close(start)
	wg.Wait()
	return errs
}

// TestSharedTokenSingleRefresh runs two clients (two instances of a
// service) on one cache with a refresh lock against a platform where every
// fetch invalidates the previous token: only one of them fetches, on a cold
// cache and again after expiry, and neither ever sends a stale token.
func TestSharedTokenSingleRefresh(t *testing.T) {
	t.Parallel()
	oa := &oaServer{}
	srv := httptest.NewServer(oa)
	t.Cleanup(srv.Close)
	cache := &lockerCache{}
	clock := newFakeClock()
	newClient := func() *Client {
		c, err := NewClient("app", "secret", WithBaseURL(srv.URL), WithTokenCache(cache), WithClock(clock), WithRetry(1))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := newClient(), newClient()

	if errs := hammer(t, 25, a, b); len(errs) > 0 {
		t.Fatalf("%d calls failed, first: %v", len(errs), errs[0])
	}
	if got := oa.fetches.Load(); got != 1 {
		t.Errorf("cold cache: token fetches = %d, want 1", got)
	}

	clock.Advance(2 * time.Hour) // both clients' token is now expired
	if errs := hammer(t, 25, a, b); len(errs) > 0 {
		t.Fatalf("%d calls failed, first: %v", len(errs), errs[0])
	}
	if got := oa.fetches.Load(); got != 2 {
		t.Errorf("after expiry: token fetches = %d, want 2 (one refresh)", got)
	}
	if got := oa.stale.Load(); got != 0 {
		t.Errorf("%d calls used an invalidated token", got)
	}
	if got, want := oa.calls.Load(), int32(100); got != want {
		t.Errorf("API calls = %d, want %d", got, want)
	}
	if got := cache.grants.Load(); got != 2 {
		t.Errorf("refresh lock granted %d times, want 2", got)
	}
}

// TestTokenRefreshAndReplay: a token rejected with 40001, 40014 or 42001 is
// dropped, a new one is fetched and the call is replayed once.
func TestTokenRefreshAndReplay(t *testing.T) {
	t.Parallel()
	for _, code := range tokenCodes {
		t.Run(code.String(), func(t *testing.T) {
			t.Parallel()
			oa := &oaServer{reject: code}
			srv := httptest.NewServer(oa)
			t.Cleanup(srv.Close)
			c, err := NewClient("app", "secret", WithBaseURL(srv.URL), WithRetry(1))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Sessions.ListWaiting(t.Context()); err != nil {
				t.Fatalf("call failed: %v", err)
			}
			if f, n := oa.fetches.Load(), oa.calls.Load(); f != 2 || n != 2 {
				t.Errorf("fetches, calls = %d, %d; want 2, 2", f, n)
			}
		})
	}
}

// TestTokenReplayOnlyOnce: a token rejected again after the refresh is an
// error, not a loop.
func TestTokenReplayOnlyOnce(t *testing.T) {
	t.Parallel()
	mux, c := setup(t, WithRetry(3))
	var calls atomic.Int32
	mux.HandleFunc("/customservice/kfsession/getwaitcase", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, errcodeReply(ErrCodeAccessTokenExpired))
	})
	_, err := c.Sessions.ListWaiting(t.Context())
	wantAPIError(t, err, opSessionWaiting, ErrCodeAccessTokenExpired)
	if got := calls.Load(); got != 2 {
		t.Errorf("calls = %d, want 2 (the call and one replay)", got)
	}
}

// TestReadsRetried: reads are retried on HTTP 5xx and errcode -1.
func TestReadsRetried(t *testing.T) {
	t.Parallel()
	mux, c := setup(t, WithRetry(3))
	var calls atomic.Int32
	mux.HandleFunc(pathSessionWaiting, func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			http.Error(w, "bad gateway", http.StatusBadGateway)
		case 2:
			writeJSON(w, errcodeReply(ErrCodeSystemBusy))
		default:
			writeJSON(w, `{"count":1,"waitcaselist":[{"latest_time":1,"openid":"u"}]}`)
		}
	})
	if _, err := c.Sessions.ListWaiting(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("calls = %d, want 3", got)
	}
}

// TestContextCancelled: a cancelled context ends the call.
func TestContextCancelled(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Sessions.ListWaiting(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
