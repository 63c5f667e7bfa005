package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxkf/kf/kfsync"
)

// DefaultPrefix is the prefix of every key (WithPrefix changes it).
const DefaultPrefix = "wxkf:"

// Option configures a Store or a TokenCache.
type Option func(*config)

type config struct {
	prefix string
	now    func() time.Time
}

// WithPrefix sets the prefix of every key (default DefaultPrefix), so that
// several applications or environments can share one Redis. Include the
// separator, for example "myapp:kf:".
func WithPrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// WithClock sets the clock (default time.Now). Expiry itself is Redis's
// (PX TTLs): the clock only turns a TokenCache entry's ExpiresAt into a TTL
// and computes the informational Lease.Expires. Give a TokenCache the same
// clock as the clients that use it when they run on an emulated time.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

func newConfig(opts []Option) config {
	c := config{prefix: DefaultPrefix, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// Store keeps the sync state of kfsync in Redis: it is a kfsync.Store
// (cursors and dedup marks), a kfsync.Committer (atomic, fenced commits) and
// a kfsync.Locker (per-account leases with fencing). Pass it to both
// kfsync.WithStore and kfsync.WithLocker: its commits check the lease it
// granted. It is safe for concurrent use; the client is not closed by it.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

var (
	_ kfsync.Store     = (*Store)(nil)
	_ kfsync.Committer = (*Store)(nil)
	_ kfsync.Locker    = (*Store)(nil)
)

// New returns a Store over client (a *redis.Client, *redis.ClusterClient,
// *redis.Ring in front of one shard, or any redis.UniversalClient).
func New(client redis.UniversalClient, opts ...Option) *Store {
	c := newConfig(opts)
	return &Store{rdb: client, prefix: c.prefix, now: c.now}
}

// TokenCache returns a TokenCache on the same client, prefix and clock.
func (s *Store) TokenCache() *TokenCache {
	return &TokenCache{rdb: s.rdb, prefix: s.prefix, now: s.now}
}

// acct returns the key prefix of an account: the prefix and the account in
// a hash tag, so that all the keys of one account are in one cluster slot.
func (s *Store) acct(openKfID string) string { return s.prefix + "{" + openKfID + "}:" }

func (s *Store) cursorKey(openKfID string) string    { return s.acct(openKfID) + "cursor" }
func (s *Store) leaseKey(openKfID string) string     { return s.acct(openKfID) + "lease" }
func (s *Store) fenceKey(openKfID string) string     { return s.acct(openKfID) + "fence" }
func (s *Store) committedKey(openKfID string) string { return s.acct(openKfID) + "committed" }

// seenKeys returns the mark keys of msgIDs, after extra leading slots.
func (s *Store) seenKeys(openKfID string, extra int, msgIDs []string) []string {
	base := s.acct(openKfID) + "seen:"
	keys := make([]string, extra, extra+len(msgIDs))
	for _, id := range msgIDs {
		keys = append(keys, base+id)
	}
	return keys
}

var errNoAccount = errors.New("redisstore: empty open_kfid")

// millis converts a TTL to whole milliseconds, rounding up so that nothing
// is kept for less than asked.
func millis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// Load implements kfsync.CursorStore: the committed cursor, "" when none.
func (s *Store) Load(ctx context.Context, openKfID string) (string, error) {
	if openKfID == "" {
		return "", errNoAccount
	}
	v, err := s.rdb.Get(ctx, s.cursorKey(openKfID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("redisstore: load cursor of %s: %w", openKfID, err)
	}
	return v, nil
}

// Save implements kfsync.CursorStore. The cursor has no TTL. Save does not
// check fences (the Syncer uses Commit on this store); use it for
// administration, such as rewinding an account.
func (s *Store) Save(ctx context.Context, openKfID, cursor string) error {
	if openKfID == "" {
		return errNoAccount
	}
	if cursor == "" {
		return errors.New("redisstore: save: empty cursor")
	}
	if err := s.rdb.Set(ctx, s.cursorKey(openKfID), cursor, 0).Err(); err != nil {
		return fmt.Errorf("redisstore: save cursor of %s: %w", openKfID, err)
	}
	return nil
}

// Seen implements kfsync.Deduper with one MGET for the whole page.
func (s *Store) Seen(ctx context.Context, openKfID string, msgIDs []string) ([]bool, error) {
	if openKfID == "" {
		return nil, errNoAccount
	}
	out := make([]bool, len(msgIDs))
	if len(msgIDs) == 0 {
		return out, nil
	}
	vals, err := s.rdb.MGet(ctx, s.seenKeys(openKfID, 0, msgIDs)...).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: dedup lookup of %s: %w", openKfID, err)
	}
	if len(vals) != len(msgIDs) {
		return nil, fmt.Errorf("redisstore: dedup lookup of %s: %d answers for %d msgids", openKfID, len(vals), len(msgIDs))
	}
	for i, v := range vals {
		out[i] = v != nil
	}
	return out, nil
}

// Mark implements kfsync.Deduper: the msgid's mark key gets a TTL of ttl,
// unless it already lives longer.
func (s *Store) Mark(ctx context.Context, openKfID, msgID string, ttl time.Duration) error {
	if openKfID == "" {
		return errNoAccount
	}
	if ttl <= 0 {
		return fmt.Errorf("redisstore: mark: ttl %v is not positive", ttl)
	}
	keys := s.seenKeys(openKfID, 0, []string{msgID})
	if err := markScript.Run(ctx, s.rdb, keys, millis(ttl)).Err(); err != nil {
		return fmt.Errorf("redisstore: mark %s of %s: %w", msgID, openKfID, err)
	}
	return nil
}

// Commit implements kfsync.Committer with one Lua script. It refuses, with
// an error wrapping kfsync.ErrStaleFence and without writing anything, a
// commit whose fence is lower than the greatest this store accepted for the
// account, and, when c.Owner is set, one whose lease is no longer held in
// this store by c.Owner with c.Fence (expired, released or taken over).
// Otherwise it sets the dedup marks of c.Handled (TTL c.TTL, never
// shortening a mark) and, unless c.Cursor is "", the cursor. Retrying a
// commit whose reply was lost is harmless.
func (s *Store) Commit(ctx context.Context, c kfsync.Commit) error {
	if c.OpenKfID == "" {
		return errNoAccount
	}
	if len(c.Handled) > 0 && c.TTL <= 0 {
		return fmt.Errorf("redisstore: commit of %s: ttl %v is not positive", c.OpenKfID, c.TTL)
	}
	keys := make([]string, 3, 3+len(c.Handled))
	keys[0], keys[1], keys[2] = s.leaseKey(c.OpenKfID), s.cursorKey(c.OpenKfID), s.committedKey(c.OpenKfID)
	base := s.acct(c.OpenKfID) + "seen:"
	for i := range c.Handled {
		keys = append(keys, base+c.Handled[i].MsgID)
	}
	res, err := commitScript.Run(ctx, s.rdb, keys, c.Owner, c.Fence, c.Cursor, max(millis(c.TTL), 1)).Slice()
	if err != nil {
		return fmt.Errorf("redisstore: commit of %s: %w", c.OpenKfID, err)
	}
	if ok, _ := res[0].(int64); ok == 1 {
		return nil
	}
	if len(res) == 3 {
		switch res[1] {
		case "fence":
			return fmt.Errorf("redisstore: commit of %s with fence %d, fence %v already accepted: %w",
				c.OpenKfID, c.Fence, res[2], kfsync.ErrStaleFence)
		case "lease":
			held := "none"
			if v, _ := res[2].(string); v != "" {
				held = "fence " + fenceOf(v)
			}
			return fmt.Errorf("redisstore: commit of %s with fence %d: the lease is no longer held (now: %s): %w",
				c.OpenKfID, c.Fence, held, kfsync.ErrStaleFence)
		}
	}
	return fmt.Errorf("redisstore: commit of %s: unexpected reply %v", c.OpenKfID, res)
}

// fenceOf returns the fence part of a lease value "owner:fence".
func fenceOf(v string) string {
	for i := len(v) - 1; i >= 0; i-- {
		if v[i] == ':' {
			return v[i+1:]
		}
	}
	return "?"
}

// CommittedFence returns the greatest fence Commit accepted for the account
// (0 when none).
func (s *Store) CommittedFence(ctx context.Context, openKfID string) (int64, error) {
	n, err := s.rdb.Get(ctx, s.committedKey(openKfID)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("redisstore: committed fence of %s: %w", openKfID, err)
	}
	return n, nil
}

// leaseValue is the value of a lease key.
func leaseValue(owner string, fence int64) string {
	return owner + ":" + strconv.FormatInt(fence, 10)
}
