package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxkf/kf"
)

// TokenCache is a Redis kf.TokenCache and kf.TokenLocker (the same
// interfaces as mp.TokenCache and mp.TokenLocker), so that several
// instances of a service share one access token and only one of them
// refreshes it. Give it to kf.WithTokenCache or mp.WithTokenCache; the
// clients build keys that differ by platform, app id and secret, so one
// TokenCache serves every client. It is safe for concurrent use.
type TokenCache struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

var (
	_ kf.TokenCache  = (*TokenCache)(nil)
	_ kf.TokenLocker = (*TokenCache)(nil)
)

// NewTokenCache returns a TokenCache over client. WithPrefix and WithClock
// apply; the clock must be the clients' (it turns Token.ExpiresAt into a
// Redis TTL).
func NewTokenCache(client redis.UniversalClient, opts ...Option) *TokenCache {
	c := newConfig(opts)
	return &TokenCache{rdb: client, prefix: c.prefix, now: c.now}
}

func (c *TokenCache) tokenKey(key string) string { return c.prefix + "token:{" + key + "}" }
func (c *TokenCache) lockKey(key string) string  { return c.prefix + "token:{" + key + "}:lock" }

// Get implements kf.TokenCache: the token stored under key, ok=false when
// none (or when it expired: entries live until their ExpiresAt).
func (c *TokenCache) Get(ctx context.Context, key string) (kf.Token, bool, error) {
	vals, err := c.rdb.HMGet(ctx, c.tokenKey(key), "v", "exp").Result()
	if err != nil {
		return kf.Token{}, false, fmt.Errorf("redisstore: token get: %w", err)
	}
	v, _ := vals[0].(string)
	exp, _ := vals[1].(string)
	if v == "" || exp == "" {
		return kf.Token{}, false, nil
	}
	ms, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return kf.Token{}, false, nil // not ours: treated as absent
	}
	return kf.Token{Value: v, ExpiresAt: time.UnixMilli(ms)}, true, nil
}

// Set implements kf.TokenCache: it stores tok under key, with a Redis TTL
// running to tok.ExpiresAt on the cache's clock. A token already expired is
// not stored.
func (c *TokenCache) Set(ctx context.Context, key string, tok kf.Token) error {
	if tok.Value == "" {
		return errors.New("redisstore: token set: empty token")
	}
	ttl := tok.ExpiresAt.Sub(c.now()) / time.Millisecond // rounded down: never served after expiry
	if ttl <= 0 {
		return nil
	}
	err := tokenSetScript.Run(ctx, c.rdb, []string{c.tokenKey(key)}, tok.Value, tok.ExpiresAt.UnixMilli(), int64(ttl)).Err()
	if err != nil {
		return fmt.Errorf("redisstore: token set: %w", err)
	}
	return nil
}

// Delete implements kf.TokenCache: it removes the token stored under key
// only if it is value (compare-and-delete in Lua), so that an instance
// dropping a rejected token never deletes a newer one.
func (c *TokenCache) Delete(ctx context.Context, key, value string) error {
	if err := tokenDeleteScript.Run(ctx, c.rdb, []string{c.tokenKey(key)}, value).Err(); err != nil {
		return fmt.Errorf("redisstore: token delete: %w", err)
	}
	return nil
}

// TryLock implements kf.TokenLocker: SET NX PX of the key's lock with a
// random owner token. ok is false when another holder has the lock. unlock
// deletes the lock only while it still holds this owner token, so that a
// holder whose lock expired never unlocks the next holder.
func (c *TokenCache) TryLock(ctx context.Context, key string, ttl time.Duration) (unlock func(context.Context) error, ok bool, err error) {
	if ttl <= 0 {
		return nil, false, fmt.Errorf("redisstore: token lock: ttl %v is not positive", ttl)
	}
	lk := c.lockKey(key)
	owner := rand.Text()
	ok, err = c.rdb.SetNX(ctx, lk, owner, time.Duration(millis(ttl))*time.Millisecond).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: token lock: %w", err)
	}
	if !ok {
		return nil, false, nil
	}
	unlock = func(ctx context.Context) error {
		if err := compareAndDeleteScript.Run(ctx, c.rdb, []string{lk}, owner).Err(); err != nil {
			return fmt.Errorf("redisstore: token unlock: %w", err)
		}
		return nil
	}
	return unlock, true, nil
}
