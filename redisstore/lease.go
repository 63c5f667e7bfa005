package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxkf/kf/kfsync"
)

// Acquire implements kfsync.Locker: one Lua script grants the lease of
// openKfID to owner for ttl when no lease key exists (none was granted, or
// it expired or was released), with a fence from a counter that never
// expires. While a lease is held, by anyone including owner, it fails with
// an error wrapping kfsync.ErrLeaseHeld.
func (s *Store) Acquire(ctx context.Context, openKfID, owner string, ttl time.Duration) (kfsync.Lease, error) {
	if openKfID == "" {
		return kfsync.Lease{}, errNoAccount
	}
	if owner == "" {
		return kfsync.Lease{}, errors.New("redisstore: acquire: empty owner")
	}
	if ttl <= 0 {
		return kfsync.Lease{}, fmt.Errorf("redisstore: acquire: ttl %v is not positive", ttl)
	}
	res, err := acquireScript.Run(ctx, s.rdb, []string{s.leaseKey(openKfID), s.fenceKey(openKfID)}, owner, millis(ttl)).Slice()
	if err != nil {
		return kfsync.Lease{}, fmt.Errorf("redisstore: acquire lease of %s: %w", openKfID, err)
	}
	now := s.now()
	if ok, _ := res[0].(int64); ok == 1 && len(res) == 2 {
		fence, _ := res[1].(int64)
		return kfsync.Lease{OpenKfID: openKfID, Owner: owner, Fence: fence, Expires: now.Add(ttl)}, nil
	}
	if len(res) == 3 {
		held, _ := res[1].(string)
		left, _ := res[2].(int64)
		return kfsync.Lease{}, fmt.Errorf("redisstore: lease of %s (fence %s, %v left): %w",
			openKfID, fenceOf(held), time.Duration(left)*time.Millisecond, kfsync.ErrLeaseHeld)
	}
	return kfsync.Lease{}, fmt.Errorf("redisstore: acquire lease of %s: unexpected reply %v", openKfID, res)
}

// Renew implements kfsync.Locker: it extends the lease to ttl from now if
// the lease key still holds l.Owner and l.Fence, and fails with an error
// wrapping kfsync.ErrLeaseLost otherwise (expired, released, taken over).
func (s *Store) Renew(ctx context.Context, l kfsync.Lease, ttl time.Duration) (kfsync.Lease, error) {
	if l.OpenKfID == "" {
		return kfsync.Lease{}, errNoAccount
	}
	if ttl <= 0 {
		return kfsync.Lease{}, fmt.Errorf("redisstore: renew: ttl %v is not positive", ttl)
	}
	n, err := renewScript.Run(ctx, s.rdb, []string{s.leaseKey(l.OpenKfID)}, leaseValue(l.Owner, l.Fence), millis(ttl)).Int64()
	if err != nil {
		return kfsync.Lease{}, fmt.Errorf("redisstore: renew lease of %s: %w", l.OpenKfID, err)
	}
	if n != 1 {
		return kfsync.Lease{}, fmt.Errorf("redisstore: renew lease of %s (fence %d): %w", l.OpenKfID, l.Fence, kfsync.ErrLeaseLost)
	}
	l.Expires = s.now().Add(ttl)
	return l, nil
}

// Release implements kfsync.Locker: it deletes the lease key if it still
// holds l.Owner and l.Fence, and does nothing otherwise. The fence counter
// stays.
func (s *Store) Release(ctx context.Context, l kfsync.Lease) error {
	if l.OpenKfID == "" {
		return errNoAccount
	}
	err := compareAndDeleteScript.Run(ctx, s.rdb, []string{s.leaseKey(l.OpenKfID)}, leaseValue(l.Owner, l.Fence)).Err()
	if err != nil {
		return fmt.Errorf("redisstore: release lease of %s: %w", l.OpenKfID, err)
	}
	return nil
}

// Holder returns the current lease of openKfID; ok is false when no lease
// is held. Expires is computed from the key's remaining TTL.
func (s *Store) Holder(ctx context.Context, openKfID string) (l kfsync.Lease, ok bool, err error) {
	key := s.leaseKey(openKfID)
	var get *redis.StringCmd
	var pttl *redis.DurationCmd
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, key)
		pttl = p.PTTL(ctx, key)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return kfsync.Lease{}, false, nil
	}
	if err != nil {
		return kfsync.Lease{}, false, fmt.Errorf("redisstore: lease of %s: %w", openKfID, err)
	}
	v := get.Val()
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return kfsync.Lease{}, false, fmt.Errorf("redisstore: lease of %s: malformed value", openKfID)
	}
	fence, err := strconv.ParseInt(v[i+1:], 10, 64)
	if err != nil {
		return kfsync.Lease{}, false, fmt.Errorf("redisstore: lease of %s: malformed fence", openKfID)
	}
	return kfsync.Lease{OpenKfID: openKfID, Owner: v[:i], Fence: fence, Expires: s.now().Add(pttl.Val())}, true, nil
}
