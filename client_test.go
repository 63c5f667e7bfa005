package kf

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkf/kf/internal/wxapi"
)

// tokenServer serves gettoken, handing out T1, T2, ... and counting fetches,
// and /ping, which accepts only the newest token.
type tokenServer struct {
	fetches atomic.Int32
	current atomic.Value // string
	calls   atomic.Int32
	delay   time.Duration
}

func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/cgi-bin/gettoken":
		if ts.delay > 0 {
			time.Sleep(ts.delay) // widen the window in which callers pile up
		}
		n := ts.fetches.Add(1)
		tok := fmt.Sprintf("T%d", n)
		ts.current.Store(tok)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","access_token":"`+tok+`","expires_in":7200}`)
	case "/ping":
		ts.calls.Add(1)
		if r.URL.Query().Get("access_token") != ts.current.Load() {
			writeJSON(w, `{"errcode":42001,"errmsg":"access_token expired"}`)
			return
		}
		writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
	default:
		http.NotFound(w, r)
	}
}

func newTokenTestClient(t testing.TB, ts *tokenServer, opts ...Option) *Client {
	srv := httptest.NewServer(ts)
	t.Cleanup(srv.Close)
	c, err := NewClient("corp", "secret", append([]Option{WithBaseURL(srv.URL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ping(ctx context.Context, c *Client) error {
	return c.api.Do(ctx, &wxapi.Request{Op: "test/ping", Method: http.MethodGet, Path: "/ping", Idempotent: true}, nil)
}

func TestColdCacheSingleFetch(t *testing.T) {
	t.Parallel()
	ts := &tokenServer{delay: 50 * time.Millisecond}
	c := newTokenTestClient(t, ts)
	const callers = 1000
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	start := make(chan struct{})
	for range callers {
		wg.Go(func() {
			<-start
			tok, err := c.Tokens().Token(t.Context())
			if err == nil && tok != "T1" {
				err = fmt.Errorf("token %q", tok)
			}
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := ts.fetches.Load(); got != 1 {
		t.Errorf("gettoken calls = %d, want 1", got)
	}
}

func TestExpiredTokenSingleRefresh(t *testing.T) {
	t.Parallel()
	ts := &tokenServer{delay: 20 * time.Millisecond}
	c := newTokenTestClient(t, ts)
	if err := ping(t.Context(), c); err != nil { // warm: T1
		t.Fatal(err)
	}
	ts.current.Store("revoked") // every holder of T1 now meets 42001
	// The next fetch will hand out T2 and make it current again.
	const callers = 1000
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range callers {
		wg.Go(func() {
			if err := ping(t.Context(), c); err != nil {
				failed.Add(1)
				t.Log(err)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d calls failed", n)
	}
	if got := ts.fetches.Load(); got != 2 {
		t.Errorf("gettoken calls = %d, want 2 (initial + exactly one refresh)", got)
	}
}

func TestTokenFetchErrorsAreAPIErrors(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	bad, err := NewClient("corp", "wrong-secret", WithBaseURL(c.BaseURL()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Tokens().Token(t.Context())
	if !errors.Is(err, ErrCodeInvalidCredential) {
		t.Fatalf("err = %v, want 40001", err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error leaks the secret: %v", err)
	}
	if !strings.Contains(err.Error(), "kf/gettoken") {
		t.Errorf("error %q does not name the operation", err)
	}
}

type fixedClock struct{ t atomic.Pointer[time.Time] }

func (c *fixedClock) Now() time.Time      { return *c.t.Load() }
func (c *fixedClock) Set(t time.Time)     { c.t.Store(&t) }
func (c *fixedClock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

func TestTokenRefreshedEarly(t *testing.T) {
	t.Parallel()
	clk := &fixedClock{}
	clk.Set(time.Unix(1_700_000_000, 0))
	ts := &tokenServer{}
	c := newTokenTestClient(t, ts, WithClock(clk))
	for _, step := range []struct {
		advance time.Duration
		want    string
	}{
		{0, "T1"},
		{6000 * time.Second, "T1"}, // 1200 s left: still fine
		{(7200 - 6000 - 299) * time.Second, "T2"}, // 299 s left: refreshed early
	} {
		clk.Add(step.advance)
		tok, err := c.Tokens().Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if tok != step.want {
			t.Errorf("after %v: token %q, want %q", step.advance, tok, step.want)
		}
	}
}

func TestSharedTokenCache(t *testing.T) {
	t.Parallel()
	ts := &tokenServer{}
	cache := &MemoryTokenCache{}
	a := newTokenTestClient(t, ts, WithTokenCache(cache))
	b := newTokenTestClient(t, ts, WithTokenCache(cache))
	ta, err := a.Tokens().Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Tokens().Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ta != tb || ts.fetches.Load() != 1 {
		t.Errorf("tokens %q/%q with %d fetches, want one shared token", ta, tb, ts.fetches.Load())
	}
	// The token sits under a key made of the corp id and a hash of the
	// secret, never the secret itself.
	key := wxapi.CacheKey("wecom", "corp", "secret")
	if _, ok, _ := cache.Get(t.Context(), key); !ok {
		t.Errorf("token not cached under %q", key)
	}
	if strings.Contains(key, "secret") {
		t.Errorf("cache key %q contains the secret", key)
	}
}

func TestNewClientValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		corp   string
		secret string
		opts   []Option
		want   string
	}{
		{"empty corp", "", "s", nil, "empty corp id"},
		{"empty secret", "c", "", nil, "empty secret"},
		{"relative base", "c", "s", []Option{WithBaseURL("/x")}, "not an absolute"},
		{"ftp base", "c", "s", []Option{WithBaseURL("ftp://h")}, "not an absolute"},
		{"base with query", "c", "s", []Option{WithBaseURL("http://h?a=1")}, "query"},
		{"nil http client", "c", "s", []Option{WithHTTPClient(nil)}, "nil client"},
		{"nil logger", "c", "s", []Option{WithLogger(nil)}, "nil logger"},
		{"retry 0", "c", "s", []Option{WithRetry(0)}, "out of range"},
		{"nil clock", "c", "s", []Option{WithClock(nil)}, "nil clock"},
		{"nil cache", "c", "s", []Option{WithTokenCache(nil)}, "nil cache"},
		{"nil source", "c", "s", []Option{WithTokenSource(nil)}, "nil source"},
		{"nil retryer", "c", "s", []Option{WithRetryer(nil)}, "nil retryer"},
	}
	for _, tt := range tests {
		_, err := NewClient(tt.corp, tt.secret, tt.opts...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := NewClient("c", "", WithTokenSource(StaticTokenSource("t"))); err != nil {
		t.Errorf("token source without secret: %v", err)
	}
}

func TestErrorsIsCode(t *testing.T) {
	t.Parallel()
	var err error = fmt.Errorf("wrapped: %w", &APIError{Op: "kf/send_msg", Code: ErrCodeSessionStatusInvalid})
	if !errors.Is(err, ErrCodeSessionStatusInvalid) {
		t.Error("errors.Is does not match the code")
	}
	if errors.Is(err, ErrCodeSendCountLimit) {
		t.Error("errors.Is matches another code")
	}
	var rl error = &RateLimitError{Err: &APIError{Op: "kf/sync_msg", Code: ErrCodeFrequencyLimit}, RetryAfter: time.Minute}
	var ae *APIError
	if !errors.Is(rl, ErrCodeFrequencyLimit) || !errors.As(rl, &ae) {
		t.Error("RateLimitError does not unwrap to its APIError")
	}
}

// BenchmarkToken measures Token with a warm cache under contention, next to
// a baseline of a mutex-guarded token read.
func BenchmarkToken(b *testing.B) {
	ts := &tokenServer{}
	c := newTokenTestClient(b, ts)
	if _, err := c.Tokens().Token(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Run("kf_token_source", func(b *testing.B) {
		b.ReportAllocs()
		ctx := context.Background()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Tokens().Token(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("baseline_mutex", func(b *testing.B) {
		b.ReportAllocs()
		var mu sync.Mutex
		tok := Token{Value: "T1", ExpiresAt: time.Now().Add(time.Hour)}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				ok := tok.Valid(time.Now(), 5*time.Minute)
				mu.Unlock()
				if !ok {
					b.Fatal("invalid")
				}
			}
		})
	})
}

// lockDownCache is a shared token cache whose refresh lock fails.
type lockDownCache struct{ MemoryTokenCache }

func (*lockDownCache) TryLock(context.Context, string, time.Duration) (func(context.Context) error, bool, error) {
	return nil, false, errors.New("redis: connection refused")
}

// WeCom tokens do not retire each other, so a client whose shared cache is
// down still gets a token (fetched directly) instead of failing every call.
func TestTokenWhenSharedCacheLockFails(t *testing.T) {
	t.Parallel()
	ts := &tokenServer{}
	c := newTokenTestClient(t, ts, WithTokenCache(&lockDownCache{}))
	if err := ping(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if got := ts.fetches.Load(); got != 1 {
		t.Errorf("gettoken calls = %d, want 1", got)
	}
}
