package kfsync

import (
	"context"
	"fmt"
	"github.com/wxkf/kf/internal/testenv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkf/kf"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a manual Clock: After registers a timer that fires when
// Advance passes it. With auto set, After advances the clock by d at once
// and fires (for tests that only record delays).
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	auto   bool
	timers []fakeTimer
	afters []time.Duration
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.afters = append(c.afters, d)
	ch := make(chan time.Time, 1)
	if c.auto {
		c.now = c.now.Add(d)
		ch <- c.now
		return ch
	}
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, fakeTimer{c.now.Add(d), ch})
	return ch
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.ch <- c.now
		} else {
			keep = append(keep, t)
		}
	}
	c.timers = keep
}

// Timers returns how many timers are pending.
func (c *fakeClock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// eventually polls cond (with tiny real sleeps, to let goroutines run) for
// up to 10 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// msg builds a customer text message.
func msg(openKfID string, i int) kf.Message {
	return kf.Message{
		MsgID: fmt.Sprintf("%s-m%d", openKfID, i), OpenKfID: openKfID, ExternalUserID: "wmC",
		SendTime: uint64(t0.Unix()) + uint64(i), Origin: kf.OriginCustomer, MsgType: kf.MsgTypeText,
		Payload: &kf.Text{Content: "hello " + strconv.Itoa(i)},
	}
}

// fakeSource is a scripted sync_msg: a log per account, cursors "c<N>",
// scripted errors and pages, token checks and overlap detection.
type fakeSource struct {
	mu       sync.Mutex
	logs     map[string][]kf.Message
	pageSize int
	// errs are returned, in order, before serving pages.
	errs []error
	// hook, when set, may answer a call instead of the log.
	hook func(req *kf.SyncMsgRequest, n int) (*kf.SyncMsgResponse, error, bool)
	// tokens, when non-nil, are the valid tokens; others answer 95007.
	tokens map[string]bool
	// delay is a real sleep in each call (to widen overlap windows).
	delay time.Duration
	calls []kf.SyncMsgRequest

	inflight sync.Map // open_kfid → *atomic.Int32
	overlaps atomic.Int32
	total    atomic.Int32 // calls in flight, all accounts
}

func newFakeSource() *fakeSource { return &fakeSource{logs: map[string][]kf.Message{}, pageSize: 100} }

// add appends n messages to the account's log.
func (f *fakeSource) add(openKfID string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	base := len(f.logs[openKfID])
	for i := range n {
		f.logs[openKfID] = append(f.logs[openKfID], msg(openKfID, base+i))
	}
}

func apiErr(code kf.ErrCode) error {
	return &kf.APIError{Op: "kf/sync_msg", Code: code, Msg: "scripted"}
}

func (f *fakeSource) Calls() []kf.SyncMsgRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeSource) Sync(ctx context.Context, req *kf.SyncMsgRequest) (*kf.SyncMsgResponse, error) {
	v, _ := f.inflight.LoadOrStore(req.OpenKfID, new(atomic.Int32))
	in := v.(*atomic.Int32)
	if in.Add(1) > 1 {
		f.overlaps.Add(1)
	}
	defer in.Add(-1)
	f.total.Add(1)
	defer f.total.Add(-1)
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, *req)
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		if err != nil {
			return nil, err
		}
	}
	if f.hook != nil {
		if resp, err, ok := f.hook(req, len(f.calls)); ok {
			return resp, err
		}
	}
	if req.Token != "" && f.tokens != nil && !f.tokens[req.Token] {
		return nil, apiErr(kf.ErrCodeInvalidMsgToken)
	}
	log := f.logs[req.OpenKfID]
	start := 0
	if req.Cursor != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(req.Cursor, "c"))
		if err != nil || n > len(log) {
			return nil, apiErr(kf.ErrCodeInvalidParameter)
		}
		start = n
	}
	limit := f.pageSize
	if req.Limit > 0 && int(req.Limit) < limit {
		limit = int(req.Limit)
	}
	end := min(start+limit, len(log))
	return &kf.SyncMsgResponse{
		NextCursor: "c" + strconv.Itoa(end),
		HasMore:    end < len(log),
		MsgList:    slices.Clone(log[start:end]),
	}, nil
}

// collector is a Handler that records what it handled.
type collector struct {
	mu    sync.Mutex
	seen  map[string]int // msgid → successful handles
	order []string
	fail  func(m kf.Message, attempt int) error
	tries map[string]int
}

func newCollector() *collector {
	return &collector{seen: map[string]int{}, tries: map[string]int{}}
}

func (c *collector) handle(ctx context.Context, m kf.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tries[m.MsgID]++
	if c.fail != nil {
		if err := c.fail(m, c.tries[m.MsgID]); err != nil {
			return err
		}
	}
	c.seen[m.MsgID]++
	c.order = append(c.order, m.MsgID)
	return nil
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// checkOnce fails unless every msgid of want was handled exactly once.
func (c *collector) checkOnce(t testing.TB, want []string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range want {
		if n := c.seen[id]; n != 1 {
			t.Errorf("msgid %s handled %d times, want 1", id, n)
		}
	}
	if len(c.seen) != len(want) {
		t.Errorf("handled %d distinct msgids, want %d", len(c.seen), len(want))
	}
}

func ids(openKfID string, n int) []string {
	out := make([]string, n)
	for i := range n {
		out[i] = msg(openKfID, i).MsgID
	}
	return out
}

// start runs s in the background and returns a stop function that cancels
// and waits for Run to return.
func start(t testing.TB, s *Syncer) (stop func()) {
	t.Helper()
	return testenv.Background(t, s.Run)
}

// idle reports whether no account of s is running or pending.
func idle(s *Syncer) bool {
	for _, a := range s.Stats().Accounts {
		if a.Running || a.Pending {
			return false
		}
	}
	return true
}

// opLog records the order of handler calls and store writes.
type opLog struct {
	mu  sync.Mutex
	ops []string
}

func (l *opLog) add(op string) {
	l.mu.Lock()
	l.ops = append(l.ops, op)
	l.mu.Unlock()
}

func (l *opLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ops)
}

// recordingStore is a Store and Committer that logs its writes.
type recordingStore struct {
	*MemoryStore
	log *opLog
}

func (r *recordingStore) Commit(ctx context.Context, c Commit) error {
	var b strings.Builder
	for _, m := range c.Handled {
		b.WriteString(" " + m.MsgID)
	}
	r.log.add("commit " + c.Cursor + " [" + strings.TrimSpace(b.String()) + "]")
	return r.MemoryStore.Commit(ctx, c)
}

// plainStore is a Store that is not a Committer (Mark and Save), logging.
type plainStore struct {
	m   *MemoryStore
	log *opLog
}

func (p *plainStore) Load(ctx context.Context, id string) (string, error) { return p.m.Load(ctx, id) }
func (p *plainStore) Save(ctx context.Context, id, cursor string) error {
	p.log.add("save " + cursor)
	return p.m.Save(ctx, id, cursor)
}
func (p *plainStore) Seen(ctx context.Context, id string, msgIDs []string) ([]bool, error) {
	return p.m.Seen(ctx, id, msgIDs)
}
func (p *plainStore) Mark(ctx context.Context, id, msgID string, ttl time.Duration) error {
	p.log.add("mark " + msgID)
	return p.m.Mark(ctx, id, msgID, ttl)
}
