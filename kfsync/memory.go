package kfsync

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// MemoryStore is an in-memory Store and Committer: cursors, dedup marks with
// TTL expiry on its clock, and fences. It is safe for concurrent use. Its
// content is lost with the process, so it suits tests and programs that
// accept re-handling the last 3 days after a restart; use
// kfsync/sqlitestore or redisstore otherwise.
//
// Memory: one entry per handled msgid (the msgid is copied, so that the
// decoded pages are not kept alive), dropped once its TTL has passed.
type MemoryStore struct {
	now func() time.Time

	mu       sync.Mutex
	accounts map[string]*memAccount
	// expiry is the dedup marks in the order they were made; marks of one
	// TTL expire in this order, so pruning pops from the front.
	expiry []memMark
	head   int
	marks  int // live marks, all accounts
}

type memAccount struct {
	cursor string
	fence  int64
	seen   map[string]time.Time // msgid → expiry
}

type memMark struct {
	acct    *memAccount
	msgID   string
	expires time.Time
}

// MemoryOption configures a MemoryStore or a MemoryLocker.
type MemoryOption func(*memoryConfig)

type memoryConfig struct{ now func() time.Time }

// MemoryClock makes a MemoryStore or a MemoryLocker tell the time with now
// (default time.Now), so that TTL expiry follows a test's clock.
func MemoryClock(now func() time.Time) MemoryOption {
	return func(c *memoryConfig) {
		if now != nil {
			c.now = now
		}
	}
}

func newMemoryConfig(opts []MemoryOption) memoryConfig {
	c := memoryConfig{now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(opts ...MemoryOption) *MemoryStore {
	c := newMemoryConfig(opts)
	return &MemoryStore{now: c.now, accounts: map[string]*memAccount{}}
}

var (
	_ Store     = (*MemoryStore)(nil)
	_ Committer = (*MemoryStore)(nil)
)

// account returns the state of openKfID, creating it. m.mu must be held.
func (m *MemoryStore) account(openKfID string) *memAccount {
	a := m.accounts[openKfID]
	if a == nil {
		a = &memAccount{seen: map[string]time.Time{}}
		m.accounts[strings.Clone(openKfID)] = a
	}
	return a
}

// Load implements CursorStore.
func (m *MemoryStore) Load(_ context.Context, openKfID string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a := m.accounts[openKfID]; a != nil {
		return a.cursor, nil
	}
	return "", nil
}

// Save implements CursorStore.
func (m *MemoryStore) Save(_ context.Context, openKfID, cursor string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.account(openKfID).cursor = strings.Clone(cursor)
	return nil
}

// Seen implements Deduper.
func (m *MemoryStore) Seen(_ context.Context, openKfID string, msgIDs []string) ([]bool, error) {
	out := make([]bool, len(msgIDs))
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[openKfID]
	if a == nil {
		return out, nil
	}
	now := m.now()
	for i, id := range msgIDs {
		if exp, ok := a.seen[id]; ok && now.Before(exp) {
			out[i] = true
		}
	}
	return out, nil
}

// Mark implements Deduper.
func (m *MemoryStore) Mark(_ context.Context, openKfID, msgID string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.prune(now)
	m.mark(m.account(openKfID), msgID, now.Add(ttl))
	return nil
}

// Commit implements Committer: the marks and the cursor are applied under
// one lock, after the fence check.
func (m *MemoryStore) Commit(_ context.Context, c Commit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.account(c.OpenKfID)
	if c.Fence < a.fence {
		return fmt.Errorf("kfsync: memory store: commit of %s with fence %d, %d already accepted: %w",
			c.OpenKfID, c.Fence, a.fence, ErrStaleFence)
	}
	a.fence = c.Fence
	now := m.now()
	m.prune(now)
	exp := now.Add(c.TTL)
	for i := range c.Handled {
		m.mark(a, c.Handled[i].MsgID, exp)
	}
	if c.Cursor != "" {
		a.cursor = strings.Clone(c.Cursor)
	}
	return nil
}

// mark records one msgid. m.mu must be held.
func (m *MemoryStore) mark(a *memAccount, msgID string, exp time.Time) {
	if old, ok := a.seen[msgID]; ok {
		if exp.After(old) {
			a.seen[msgID] = exp // the queue entry of old stays; prune checks
			m.expiry = append(m.expiry, memMark{a, msgID, exp})
		}
		return
	}
	id := strings.Clone(msgID)
	a.seen[id] = exp
	m.marks++
	m.expiry = append(m.expiry, memMark{a, id, exp})
}

// prune drops the marks that expired at now. m.mu must be held.
func (m *MemoryStore) prune(now time.Time) {
	for m.head < len(m.expiry) {
		e := m.expiry[m.head]
		if now.Before(e.expires) {
			break
		}
		if exp, ok := e.acct.seen[e.msgID]; ok && !now.Before(exp) {
			delete(e.acct.seen, e.msgID)
			m.marks--
		}
		m.expiry[m.head] = memMark{}
		m.head++
	}
	if m.head > 1024 && m.head*2 > len(m.expiry) {
		n := copy(m.expiry, m.expiry[m.head:])
		clear(m.expiry[n:])
		m.expiry = m.expiry[:n]
		m.head = 0
	}
}

// Marks returns how many unexpired dedup marks the store holds (for tests
// and metrics).
func (m *MemoryStore) Marks() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prune(m.now())
	return m.marks
}

// Fence returns the greatest fence accepted for openKfID (0 when none).
func (m *MemoryStore) Fence(openKfID string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a := m.accounts[openKfID]; a != nil {
		return a.fence
	}
	return 0
}

// MemoryLocker is an in-process Locker (leases with owner tokens, TTLs on
// its clock and fences). It coordinates Syncers that share it in one
// process; across processes use redisstore.
type MemoryLocker struct {
	now func() time.Time

	mu     sync.Mutex
	leases map[string]*memLease
}

type memLease struct {
	owner   string
	fence   int64 // last fence granted (kept after expiry and release)
	held    bool
	expires time.Time
}

var _ Locker = (*MemoryLocker)(nil)

// NewMemoryLocker returns a MemoryLocker with no leases.
func NewMemoryLocker(opts ...MemoryOption) *MemoryLocker {
	c := newMemoryConfig(opts)
	return &MemoryLocker{now: c.now, leases: map[string]*memLease{}}
}

func (l *MemoryLocker) lease(openKfID string) *memLease {
	ls := l.leases[openKfID]
	if ls == nil {
		ls = &memLease{}
		l.leases[strings.Clone(openKfID)] = ls
	}
	return ls
}

// Acquire implements Locker.
func (l *MemoryLocker) Acquire(_ context.Context, openKfID, owner string, ttl time.Duration) (Lease, error) {
	if ttl <= 0 {
		return Lease{}, fmt.Errorf("kfsync: memory locker: ttl %v is not positive", ttl)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	ls := l.lease(openKfID)
	if ls.held && now.Before(ls.expires) {
		return Lease{}, fmt.Errorf("kfsync: lease of %s: %w", openKfID, ErrLeaseHeld)
	}
	ls.fence++
	ls.owner = strings.Clone(owner)
	ls.held = true
	ls.expires = now.Add(ttl)
	return Lease{OpenKfID: openKfID, Owner: owner, Fence: ls.fence, Expires: ls.expires}, nil
}

// Renew implements Locker.
func (l *MemoryLocker) Renew(_ context.Context, le Lease, ttl time.Duration) (Lease, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	ls := l.leases[le.OpenKfID]
	if ls == nil || !ls.held || ls.owner != le.Owner || ls.fence != le.Fence || !now.Before(ls.expires) {
		return Lease{}, fmt.Errorf("kfsync: renew lease of %s (fence %d): %w", le.OpenKfID, le.Fence, ErrLeaseLost)
	}
	ls.expires = now.Add(ttl)
	le.Expires = ls.expires
	return le, nil
}

// Release implements Locker.
func (l *MemoryLocker) Release(_ context.Context, le Lease) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ls := l.leases[le.OpenKfID]; ls != nil && ls.held && ls.owner == le.Owner && ls.fence == le.Fence {
		ls.held = false
	}
	return nil
}

// Holder returns the current lease of openKfID, if one is held and not
// expired.
func (l *MemoryLocker) Holder(openKfID string) (Lease, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ls := l.leases[openKfID]
	if ls == nil || !ls.held || !l.now().Before(ls.expires) {
		return Lease{}, false
	}
	return Lease{OpenKfID: openKfID, Owner: ls.owner, Fence: ls.fence, Expires: ls.expires}, true
}
