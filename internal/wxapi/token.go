package wxapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Token is an access_token with its expiry.
type Token struct {
	Value     string
	ExpiresAt time.Time
}

// Valid reports whether the token is non-empty and still valid at now with
// at least margin to spare.
func (t Token) Valid(now time.Time, margin time.Duration) bool {
	return t.Value != "" && now.Add(margin).Before(t.ExpiresAt)
}

// TokenSource hands out access tokens.
type TokenSource interface {
	// Token returns a valid access_token, fetching one if needed.
	Token(ctx context.Context) (string, error)
	// Invalidate reports that token was rejected by the platform (40014,
	// 42001, ...). Only that token is dropped: when a newer one is already
	// cached, Invalidate does nothing, so that many callers that met the same
	// bad token cause a single refresh.
	Invalidate(ctx context.Context, token string) error
}

// TokenCache stores access tokens so that several clients (or processes)
// share one token. Keys are opaque strings built by the client from the app
// id and a hash of the secret; they never contain the secret itself.
type TokenCache interface {
	// Get returns the cached token for key; ok is false when there is none.
	Get(ctx context.Context, key string) (tok Token, ok bool, err error)
	// Set stores tok under key until tok.ExpiresAt.
	Set(ctx context.Context, key string, tok Token) error
	// Delete removes the token stored under key if its value equals value.
	Delete(ctx context.Context, key, value string) error
}

// TokenLocker is implemented by token caches that can elect one refresher
// among several processes (needed where a new token invalidates the previous
// one, as on Official Accounts). TryLock returns ok=false when another holder
// has the lock; unlock releases it.
type TokenLocker interface {
	TryLock(ctx context.Context, key string, ttl time.Duration) (unlock func(context.Context) error, ok bool, err error)
}

// CacheKey builds a TokenCache key from a platform prefix, the app or corp
// id and the secret. Only a short SHA-256 prefix of the secret is used.
func CacheKey(prefix, id, secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return prefix + ":" + id + ":" + hex.EncodeToString(sum[:8])
}

// MemoryTokenCache is an in-process TokenCache. The zero value is ready.
type MemoryTokenCache struct {
	mu sync.Mutex
	m  map[string]Token
}

// Get implements TokenCache.
func (c *MemoryTokenCache) Get(_ context.Context, key string) (Token, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[key]
	return t, ok, nil
}

// Set implements TokenCache.
func (c *MemoryTokenCache) Set(_ context.Context, key string, tok Token) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]Token)
	}
	c.m[key] = tok
	return nil
}

// Delete implements TokenCache.
func (c *MemoryTokenCache) Delete(_ context.Context, key, value string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.m[key]; ok && t.Value == value {
		delete(c.m, key)
	}
	return nil
}

// FetchFunc obtains a fresh token from the platform.
type FetchFunc func(ctx context.Context) (Token, error)

// CachedSource is the default TokenSource: an in-memory copy in front of a
// TokenCache, refreshed early, with at most one refresh in flight per source.
type CachedSource struct {
	key       string
	fetch     FetchFunc
	cache     TokenCache
	now       func() time.Time
	early     time.Duration
	fetchWait time.Duration
	log       *slog.Logger
	// lockOptional: see CachedSourceConfig.LockOptional.
	lockOptional bool

	cur     atomic.Pointer[heldToken]
	group   singleflight.Group
	fetches atomic.Int64
}

// heldToken is the in-memory token with the instant from which Token
// refreshes it.
type heldToken struct {
	Token
	refreshAt time.Time
}

// hold returns t for the in-memory copy, to be refreshed margin before it
// expires.
func hold(t Token, margin time.Duration) *heldToken {
	return &heldToken{Token: t, refreshAt: t.ExpiresAt.Add(-margin)}
}

// freshMargin is the refresh margin of a token just fetched at now: the
// configured early margin, or half the token's lifetime when that is
// shorter, so that a short-lived token (for example the same token handed
// out again with its remaining expires_in) is used for a while instead of
// being fetched again on every call.
func (s *CachedSource) freshMargin(t Token, now time.Time) time.Duration {
	return min(s.early, t.ExpiresAt.Sub(now)/2)
}

// CachedSourceConfig configures NewCachedSource.
type CachedSourceConfig struct {
	Key   string           // cache key (see CacheKey)
	Fetch FetchFunc        // fetches a new token
	Cache TokenCache       // shared cache; nil means a private MemoryTokenCache
	Now   func() time.Time // clock; nil means time.Now
	// Early is how long before expiry a token is refreshed (default 5 min;
	// a freshly fetched token that lives less than twice Early is refreshed
	// halfway through its lifetime instead).
	Early time.Duration
	// FetchTimeout bounds one refresh, which runs detached from the
	// caller's context so that one impatient caller does not fail the
	// others waiting on the same refresh (default 30 s).
	FetchTimeout time.Duration
	// Logger receives a warning when the shared cache fails (the source
	// then carries on with the platform and its in-memory copy); nil means
	// silent.
	Logger *slog.Logger
	// LockOptional makes a failing TokenLocker (the shared cache is down)
	// fall back to a direct fetch instead of failing the call. Set it only
	// where a new token does not retire the previous one.
	LockOptional bool
}

// NewCachedSource returns a CachedSource.
func NewCachedSource(cfg CachedSourceConfig) *CachedSource {
	s := &CachedSource{key: cfg.Key, fetch: cfg.Fetch, cache: cfg.Cache, now: cfg.Now, early: cfg.Early, fetchWait: cfg.FetchTimeout, log: cfg.Logger, lockOptional: cfg.LockOptional}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cache == nil {
		s.cache = &MemoryTokenCache{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.early <= 0 {
		s.early = 5 * time.Minute
	}
	if s.fetchWait <= 0 {
		s.fetchWait = 30 * time.Second
	}
	return s
}

// Fetches returns how many times the source asked the platform for a token.
func (s *CachedSource) Fetches() int64 { return s.fetches.Load() }

// Token implements TokenSource.
func (s *CachedSource) Token(ctx context.Context) (string, error) {
	if t := s.cur.Load(); t != nil && s.now().Before(t.refreshAt) {
		return t.Value, nil
	}
	ch := s.group.DoChan("token", func() (any, error) {
		// Detach from the first caller's cancellation: others may wait on
		// the same result.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.fetchWait)
		defer cancel()
		return s.refresh(fctx)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (s *CachedSource) refresh(ctx context.Context) (string, error) {
	now := s.now()
	if t := s.cur.Load(); t != nil && now.Before(t.refreshAt) {
		return t.Value, nil
	}
	if t, ok := s.cached(ctx, now); ok {
		return t, nil
	}
	if l, ok := s.cache.(TokenLocker); ok {
		return s.refreshLocked(ctx, l)
	}
	return s.fetchAndStore(ctx)
}

// refreshLocked elects one refresher among processes sharing the cache;
// the others poll the cache until the winner has stored the new token.
func (s *CachedSource) refreshLocked(ctx context.Context, l TokenLocker) (string, error) {
	for {
		unlock, ok, err := l.TryLock(ctx, s.key, s.fetchWait)
		if err != nil {
			if s.lockOptional && ctx.Err() == nil {
				s.log.LogAttrs(ctx, slog.LevelWarn, "token cache lock failed; fetching the token directly",
					slog.String("error", RedactString(err.Error())))
				return s.fetchAndStore(ctx)
			}
			return "", fmt.Errorf("token lock: %w", err)
		}
		if ok {
			// Someone may have refreshed between our Get and the lock.
			if t, ok := s.cached(ctx, s.now()); ok {
				s.unlock(ctx, unlock)
				return t, nil
			}
			v, err := s.fetchAndStore(ctx)
			s.unlock(ctx, unlock)
			return v, err
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
		if t, ok := s.cached(ctx, s.now()); ok {
			return t, nil
		}
	}
}

// cached returns the shared cache's token when it is valid for at least the
// early margin, and keeps it in memory. A cache failure is logged and reads
// as a miss.
func (s *CachedSource) cached(ctx context.Context, now time.Time) (string, bool) {
	t, ok, err := s.cache.Get(ctx, s.key)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "token cache get failed", slog.String("error", RedactString(err.Error())))
		return "", false
	}
	if !ok || !t.Valid(now, s.early) {
		return "", false
	}
	s.cur.Store(hold(t, s.early))
	return t.Value, true
}

// unlock releases the refresh lock, logging a failure (the lock expires by
// itself).
func (s *CachedSource) unlock(ctx context.Context, unlock func(context.Context) error) {
	if err := unlock(ctx); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "token cache unlock failed", slog.String("error", RedactString(err.Error())))
	}
}

func (s *CachedSource) fetchAndStore(ctx context.Context) (string, error) {
	s.fetches.Add(1)
	t, err := s.fetch(ctx)
	if err != nil {
		return "", err
	}
	if t.Value == "" {
		return "", errors.New("token fetch returned an empty access_token")
	}
	s.cur.Store(hold(t, s.freshMargin(t, s.now())))
	if err := s.cache.Set(ctx, s.key, t); err != nil {
		// The token is usable; the cache only shares it.
		s.log.LogAttrs(ctx, slog.LevelWarn, "token cache set failed", slog.String("error", RedactString(err.Error())))
	}
	return t.Value, nil
}

// Invalidate implements TokenSource. The shared cache is cleared before the
// in-memory copy, so that a refresh running in between cannot read the
// rejected token back from the cache.
func (s *CachedSource) Invalidate(ctx context.Context, token string) error {
	err := s.cache.Delete(ctx, s.key, token)
	if t := s.cur.Load(); t != nil && t.Value == token {
		s.cur.CompareAndSwap(t, nil)
	}
	return err
}

// StaticSource is a TokenSource that always returns the same token; for
// tests and for callers that manage tokens themselves.
type StaticSource string

// Token implements TokenSource.
func (s StaticSource) Token(context.Context) (string, error) { return string(s), nil }

// Invalidate implements TokenSource; it does nothing.
func (StaticSource) Invalidate(context.Context, string) error { return nil }
