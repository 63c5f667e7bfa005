package kfsync

import (
	"context"
	"errors"
	"time"

	"github.com/wxkf/kf"
)

// Source reads one page of sync_msg. *kf.MessageService implements it, so a
// Syncer is usually built with client.Messages.
type Source interface {
	// Sync reads the page at req.Cursor (doc 94670). The Syncer sets
	// OpenKfID, Cursor, Token, Limit and VoiceFormat.
	Sync(ctx context.Context, req *kf.SyncMsgRequest) (*kf.SyncMsgResponse, error)
}

var _ Source = (*kf.MessageService)(nil)

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, req *kf.SyncMsgRequest) (*kf.SyncMsgResponse, error)

// Sync calls f.
func (f SourceFunc) Sync(ctx context.Context, req *kf.SyncMsgRequest) (*kf.SyncMsgResponse, error) {
	return f(ctx, req)
}

// CursorStore keeps the sync_msg cursor of each KF account.
//
// Contract: Load returns the cursor last written by Save or Commit for
// openKfID, or "" when there is none (the platform then starts from the
// earliest message of the last 3 days). A cursor is at most 64 bytes. Save
// is called only when the store does not implement Committer, and never
// with an empty cursor. Both must be safe for concurrent use (for different
// accounts; the Syncer never runs two calls for one account at once).
type CursorStore interface {
	// Load returns the committed cursor of the account ("" when none).
	Load(ctx context.Context, openKfID string) (cursor string, err error)
	// Save makes cursor the committed cursor of the account.
	Save(ctx context.Context, openKfID, cursor string) error
}

// Deduper remembers which messages were handled.
//
// Contract: Seen returns a slice as long as msgIDs whose element i is true
// when msgIDs[i] was marked for openKfID (by Mark or Commit) and its mark
// has not expired. Mark records a msgid as handled and must remember it for
// at least ttl (the Syncer passes its dedup TTL, by default 3 days plus one
// day of margin: the platform re-delivers messages up to 3 days old when a
// cursor is lost). An entry may be kept longer; it must not be forgotten
// earlier. Mark is called right after the handler succeeded for a message,
// and only when the store does not implement Committer. Msgids are scoped
// by account. The strings passed in may share memory with a whole decoded
// page: a store that keeps them must copy them (strings.Clone).
type Deduper interface {
	// Seen reports, for each msgid, whether it was already handled.
	Seen(ctx context.Context, openKfID string, msgIDs []string) ([]bool, error)
	// Mark records that msgID was handled, for at least ttl.
	Mark(ctx context.Context, openKfID, msgID string, ttl time.Duration) error
}

// Store is what a Syncer persists into: cursors and dedup marks. A Store
// that also implements Committer gets one atomic Commit call instead of
// separate Mark and Save calls.
type Store interface {
	CursorStore
	Deduper
}

// Commit is one atomic step of progress of an account.
type Commit struct {
	// OpenKfID is the account.
	OpenKfID string
	// Cursor is the new cursor (the page's next_cursor), or "" to keep the
	// stored cursor: a progress commit that only marks Handled, made when
	// the handler failed in the middle of a page, when the Syncer stops,
	// or every CommitEvery messages.
	Cursor string
	// Handled is the messages whose handler succeeded since the previous
	// commit, in order, without duplicates. Mark each as handled (for at
	// least TTL) and, for an archiving store, store each. The messages
	// share memory with their decoded page: copy what you keep.
	Handled []kf.Message
	// TTL is how long the dedup marks must be kept, at least.
	TTL time.Duration
	// Fence is the fencing number of the lease under which the work was
	// done (Lease.Fence), or 0 when the Syncer runs without a Locker.
	Fence int64
	// Owner is the lease owner (Lease.Owner), "" without a Locker.
	Owner string
}

// Committer is an optional Store extension: a store that can apply the dedup
// marks of the handled messages, their archive rows (if it keeps any) and
// the cursor advance as ONE atomic commit. The Syncer then calls Commit
// instead of Mark and Save, and the store's content (its archive, its dedup
// set) is exactly-once even if the process dies at any instant: either a
// commit happened completely or not at all, and a message whose commit did
// not happen is pulled and handled again.
//
// Contract:
//
//   - Atomicity: every mark, every archive row and the cursor of c are
//     applied together or not at all. When Commit returns an error nothing
//     may have been applied (if the outcome is unknown, for example a lost
//     reply, the store must make a later retry of the same commit harmless:
//     marks and archive rows keyed by msgid make it so).
//   - Cursor: when c.Cursor is "" the stored cursor is left unchanged.
//   - Fencing: the store keeps, per account, the greatest Fence it has
//     accepted. A commit with c.Fence lower than it must be rejected, with
//     nothing applied, by an error wrapping ErrStaleFence; otherwise it is
//     applied and its fence becomes the greatest. (Fence 0, used without a
//     Locker, is therefore refused once a fenced commit happened.) A store
//     that also holds the leases (the Redis store) should check more
//     strictly, in the same atomic step (a Lua script), that the lease of
//     c.OpenKfID is still held by c.Owner with fence c.Fence, and reject the
//     commit with ErrStaleFence otherwise: then even a worker that was
//     paused between its own lease check and its commit cannot commit after
//     its lease expired.
//   - Concurrency: Commit is safe for concurrent use for different
//     accounts; the Syncer never runs two commits for one account at once
//     in one process.
type Committer interface {
	// Commit applies c atomically (see the interface's contract).
	Commit(ctx context.Context, c Commit) error
}

// Lease is a per-account lease granted by a Locker.
type Lease struct {
	// OpenKfID is the account.
	OpenKfID string
	// Owner is the token of the holder (unique per Syncer by default).
	Owner string
	// Fence is the fencing number: strictly greater than the fence of every
	// earlier lease of the account.
	Fence int64
	// Expires is when the lease ends, on the Locker's clock. It is
	// informational: the Syncer keeps its own, more conservative deadline
	// (the time before the Acquire or Renew call was sent, plus the TTL,
	// minus a safety margin).
	Expires time.Time
}

// Locker grants per-account leases so that pulls of one account never
// overlap across processes. NewMemoryLocker is an in-process
// implementation; package redisstore has a Redis one.
//
// Contract (what the Syncer relies on):
//
//   - Acquire grants the lease of openKfID to owner for ttl when it is free
//     or expired, and fails with an error wrapping ErrLeaseHeld while any
//     holder (the same owner included) has an unexpired lease. Each grant
//     gets a fence strictly greater than every fence granted before for that
//     account, forever (a counter that never expires and never goes back,
//     even when the lease itself expires or is released).
//   - Renew extends the lease to ttl from now only if it is still held by
//     l.Owner with l.Fence and has not expired; otherwise it fails with an
//     error wrapping ErrLeaseLost. It never changes the fence.
//   - Release ends the lease only if it is still held by l.Owner with
//     l.Fence; otherwise it does nothing and returns nil.
//   - Each call is atomic. In Redis: Acquire is one Lua script (EXISTS on
//     the lease key, INCR of a fence counter key without TTL, SET of the
//     lease key to "owner:fence" with PX ttl); Renew and Release compare the
//     lease key's value with "owner:fence" and then PEXPIRE or DEL it in the
//     same script.
//
// The Syncer acquires the lease before it loads the cursor, renews it in the
// background every third of its TTL, and considers it lost as soon as a
// renewal fails with ErrLeaseLost or its own deadline passes without a
// successful renewal. A lost lease cancels the worker's context (the
// handler in flight sees it) and the worker stops without committing; every
// commit carries the fence so that the store can reject a stale one (see
// Committer).
type Locker interface {
	// Acquire takes the lease of openKfID for owner, for ttl.
	Acquire(ctx context.Context, openKfID, owner string, ttl time.Duration) (Lease, error)
	// Renew extends the lease l by ttl from now.
	Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// Release gives the lease l back.
	Release(ctx context.Context, l Lease) error
}

// Errors of stores and lockers.
var (
	// ErrStaleFence is wrapped by the error of a Commit whose fence is lower
	// than one the store has already accepted, or (for stores that check
	// the lease) whose lease is no longer held.
	ErrStaleFence = errors.New("kfsync: stale fence (the lease was taken over)")
	// ErrLeaseHeld is wrapped by the error of Acquire when another holder
	// has the lease.
	ErrLeaseHeld = errors.New("kfsync: lease held by another owner")
	// ErrLeaseLost is wrapped by the error of Renew when the lease expired or
	// was taken over, and by the Syncer's errors when a worker stopped
	// because its lease was lost.
	ErrLeaseLost = errors.New("kfsync: lease lost")
)
