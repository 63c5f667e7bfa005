package wxapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// seqFetch returns a FetchFunc handing out T1, T2, ... valid for life from
// now(), and a counter of its calls.
func seqFetch(now func() time.Time, life time.Duration) (FetchFunc, *atomic.Int32) {
	var n atomic.Int32
	return func(context.Context) (Token, error) {
		i := n.Add(1)
		return Token{Value: fmt.Sprintf("T%d", i), ExpiresAt: now().Add(life)}, nil
	}, &n
}

// hookCache is a MemoryTokenCache whose Delete runs a hook first, to
// interleave another caller deterministically.
type hookCache struct {
	MemoryTokenCache
	beforeDelete func()
}

func (c *hookCache) Delete(ctx context.Context, key, value string) error {
	if f := c.beforeDelete; f != nil {
		c.beforeDelete = nil
		f()
	}
	return c.MemoryTokenCache.Delete(ctx, key, value)
}

// TestInvalidateNotUndoneByConcurrentRefresh: a caller that asks for a token
// while another invalidates the rejected one must not bring the rejected
// token back from the shared cache.
func TestInvalidateNotUndoneByConcurrentRefresh(t *testing.T) {
	t.Parallel()
	clock := func() time.Time { return time.Unix(1_700_000_000, 0) }
	fetch, fetches := seqFetch(clock, 2*time.Hour)
	cache := &hookCache{}
	s := NewCachedSource(CachedSourceConfig{Key: "k", Fetch: fetch, Cache: cache, Now: clock})
	ctx := t.Context()
	if tok, err := s.Token(ctx); err != nil || tok != "T1" {
		t.Fatalf("Token = %q, %v; want T1", tok, err)
	}
	// Another caller asks for a token in the middle of Invalidate.
	cache.beforeDelete = func() { _, _ = s.Token(ctx) }
	if err := s.Invalidate(ctx, "T1"); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "T2" {
		t.Errorf("after invalidating T1: Token = %q, want T2 (fetches %d)", tok, fetches.Load())
	}
}

// TestShortLivedTokenNotFetchedOnEveryCall: a token whose lifetime is
// shorter than the early-refresh margin (a gettoken reply with a small
// remaining expires_in) is used for half its lifetime, not fetched again on
// every call.
func TestShortLivedTokenNotFetchedOnEveryCall(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(1_700_000_000)
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	fetch, fetches := seqFetch(clock, 120*time.Second) // early margin is 5 min
	s := NewCachedSource(CachedSourceConfig{Key: "k", Fetch: fetch, Now: clock})
	for i := range 5 {
		if tok, err := s.Token(t.Context()); err != nil || tok != "T1" {
			t.Fatalf("call %d: Token = %q, %v; want T1", i, tok, err)
		}
	}
	if got := fetches.Load(); got != 1 {
		t.Errorf("fetches = %d, want 1", got)
	}
	now.Add(61) // past half the lifetime: refreshed
	if tok, err := s.Token(t.Context()); err != nil || tok != "T2" {
		t.Errorf("after 61 s: Token = %q, %v; want T2", tok, err)
	}
}

// failingCache fails every operation.
type failingCache struct{}

func (failingCache) Get(context.Context, string) (Token, bool, error) {
	return Token{}, false, errors.New("cache down: get")
}
func (failingCache) Set(context.Context, string, Token) error { return errors.New("cache down: set") }
func (failingCache) Delete(context.Context, string, string) error {
	return errors.New("cache down: delete")
}

// TestCacheFailuresLogged: a failing shared cache does not stop the source
// (the token comes from the platform) but is reported in the log.
func TestCacheFailuresLogged(t *testing.T) {
	t.Parallel()
	var sb strings.Builder
	clock := func() time.Time { return time.Unix(1_700_000_000, 0) }
	fetch, _ := seqFetch(clock, 2*time.Hour)
	s := NewCachedSource(CachedSourceConfig{Key: "k", Fetch: fetch, Cache: failingCache{}, Now: clock, Logger: newTextLogger(&sb)})
	if tok, err := s.Token(t.Context()); err != nil || tok != "T1" {
		t.Fatalf("Token = %q, %v; want T1", tok, err)
	}
	for _, want := range []string{"token cache get failed", "cache down: get", "token cache set failed", "cache down: set"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, sb.String())
		}
	}
}

// brokenLockCache is a shared cache whose lock fails (the cache is down).
type brokenLockCache struct{ MemoryTokenCache }

func (*brokenLockCache) TryLock(context.Context, string, time.Duration) (func(context.Context) error, bool, error) {
	return nil, false, errors.New("redis: connection refused")
}

// Where tokens do not retire each other (WeCom) a failing refresh lock
// falls back to a direct fetch; where they do (Official Accounts) the call
// fails rather than risk retiring another instance's token.
func TestLockFailureFallback(t *testing.T) {
	t.Parallel()
	for _, optional := range []bool{true, false} {
		fetches := 0
		src := NewCachedSource(CachedSourceConfig{
			Key: "k", Cache: &brokenLockCache{}, LockOptional: optional,
			Fetch: func(context.Context) (Token, error) {
				fetches++
				return Token{Value: "T", ExpiresAt: time.Now().Add(time.Hour)}, nil
			},
		})
		tok, err := src.Token(t.Context())
		if optional {
			if err != nil || tok != "T" || fetches != 1 {
				t.Errorf("optional lock: token %q, err %v, fetches %d; want a direct fetch", tok, err, fetches)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "token lock") || fetches != 0 {
			t.Errorf("required lock: token %q, err %v, fetches %d; want the lock error and no fetch", tok, err, fetches)
		}
	}
}
