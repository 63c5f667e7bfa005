package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/mp"
	"github.com/wxkf/kf/redisstore"
)

var (
	_ mp.TokenCache  = (*redisstore.TokenCache)(nil)
	_ mp.TokenLocker = (*redisstore.TokenCache)(nil)
	_ kf.TokenCache  = (*redisstore.TokenCache)(nil)
	_ kf.TokenLocker = (*redisstore.TokenCache)(nil)
)

func TestTokenCache(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC) // an emulated clock
		c := redisstore.NewTokenCache(b.rdb, redisstore.WithClock(func() time.Time { return now }))
		if _, ok, err := c.Get(ctx, "kf:corp:abc"); ok || err != nil {
			t.Fatalf("Get of nothing = %v, %v", ok, err)
		}
		tok := kf.Token{Value: "token-1", ExpiresAt: now.Add(7200 * time.Second)}
		if err := c.Set(ctx, "kf:corp:abc", tok); err != nil {
			t.Fatal(err)
		}
		got, ok, err := c.Get(ctx, "kf:corp:abc")
		if err != nil || !ok || got.Value != tok.Value || !got.ExpiresAt.Equal(tok.ExpiresAt) {
			t.Fatalf("Get = %+v, %v, %v; want %+v", got, ok, err, tok)
		}
		// The Redis TTL runs to ExpiresAt on the cache's clock.
		if d := pttl(t, b.rdb, "wxkf:token:{kf:corp:abc}"); d <= 7199*time.Second || d > 7200*time.Second {
			t.Errorf("token PTTL = %v, want about 2 h", d)
		}
		// Keys are separate (kf and mp clients of one store).
		if _, ok, _ := c.Get(ctx, "mp:app:abc"); ok {
			t.Error("another key sees the token")
		}
		// Compare-and-delete: another value leaves it, its value deletes.
		if err := c.Delete(ctx, "kf:corp:abc", "token-0"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.Get(ctx, "kf:corp:abc"); !ok {
			t.Fatal("Delete of another value removed the token")
		}
		if err := c.Delete(ctx, "kf:corp:abc", "token-1"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.Get(ctx, "kf:corp:abc"); ok {
			t.Fatal("Delete of the value left the token")
		}
		if err := c.Delete(ctx, "kf:corp:abc", "token-1"); err != nil {
			t.Errorf("Delete of nothing: %v", err)
		}
		// An expired token is not stored; a short one expires.
		if err := c.Set(ctx, "k2", kf.Token{Value: "old", ExpiresAt: now.Add(-time.Second)}); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.Get(ctx, "k2"); ok {
			t.Error("an expired token was stored")
		}
		if err := c.Set(ctx, "k2", kf.Token{Value: "short", ExpiresAt: now.Add(100 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.Get(ctx, "k2"); !ok {
			t.Error("a short-lived token was not stored")
		}
		b.elapse(200 * time.Millisecond)
		if _, ok, _ := c.Get(ctx, "k2"); ok {
			t.Error("the token outlived its expiry")
		}
		// A newer token replaces the old one.
		if err := c.Set(ctx, "k3", kf.Token{Value: "a", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, "k3", kf.Token{Value: "b", ExpiresAt: now.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := c.Get(ctx, "k3"); got.Value != "b" || !got.ExpiresAt.Equal(now.Add(2*time.Hour)) {
			t.Errorf("Get after a second Set = %+v", got)
		}
		if err := c.Set(ctx, "k3", kf.Token{}); err == nil {
			t.Error("Set of an empty token succeeded")
		}
	})
}

func TestTokenLock(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		c := redisstore.NewTokenCache(b.rdb)
		other := redisstore.NewTokenCache(b.rdb) // another instance
		const ttl = 300 * time.Millisecond
		unlock, ok, err := c.TryLock(ctx, "mp:app:abc", ttl)
		if err != nil || !ok || unlock == nil {
			t.Fatalf("TryLock = %v, %v", ok, err)
		}
		if d := pttl(t, b.rdb, "wxkf:token:{mp:app:abc}:lock"); d <= 0 || d > ttl {
			t.Errorf("lock PTTL = %v", d)
		}
		// Held: nobody else gets it, the holder neither.
		for _, cc := range []*redisstore.TokenCache{other, c} {
			if _, ok, err := cc.TryLock(ctx, "mp:app:abc", ttl); ok || err != nil {
				t.Errorf("TryLock of a held lock = %v, %v", ok, err)
			}
		}
		// Another key is another lock; the token key is not the lock.
		u2, ok, err := other.TryLock(ctx, "kf:corp:abc", ttl)
		if !ok || err != nil {
			t.Fatalf("TryLock of another key = %v, %v", ok, err)
		}
		if err := u2(ctx); err != nil {
			t.Fatal(err)
		}
		if err := unlock(ctx); err != nil {
			t.Fatal(err)
		}
		u3, ok, err := other.TryLock(ctx, "mp:app:abc", ttl)
		if !ok || err != nil {
			t.Fatalf("TryLock after unlock = %v, %v", ok, err)
		}
		// A holder whose lock expired does not unlock the next holder.
		b.elapse(ttl + 50*time.Millisecond)
		u4, ok, err := c.TryLock(ctx, "mp:app:abc", ttl)
		if !ok || err != nil {
			t.Fatalf("TryLock after expiry = %v, %v", ok, err)
		}
		if err := u3(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := other.TryLock(ctx, "mp:app:abc", ttl); ok {
			t.Error("an expired holder's unlock released the next holder's lock")
		}
		if err := u4(context.WithoutCancel(ctx)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.TryLock(ctx, "x", 0); err == nil {
			t.Error("TryLock with a zero TTL succeeded")
		}
	})
}
