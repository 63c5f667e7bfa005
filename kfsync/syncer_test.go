package kfsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxkf/kf"
)

// newTest builds a Syncer over src with an auto-advancing fake clock (so
// backoffs cost no real time), no poll, and a zero-jitter backoff.
func newTest(t *testing.T, src Source, h Handler, opts ...Option) (*Syncer, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	clk.auto = true
	base := []Option{WithClock(clk), WithPollInterval(0), WithRand(func() float64 { return 0 })}
	s, err := New(src, h, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func TestMessageServiceIsASource(t *testing.T) {
	var _ Source = (*kf.MessageService)(nil)
	var _ MessageSender = (*kf.MessageService)(nil)
	var _ SessionController = (*kf.SessionService)(nil)
}

func TestNewValidates(t *testing.T) {
	h := func(context.Context, kf.Message) error { return nil }
	src := newFakeSource()
	for name, tc := range map[string]struct {
		src  Source
		h    Handler
		opts []Option
	}{
		"nil source":     {nil, h, nil},
		"nil handler":    {src, nil, nil},
		"page limit":     {src, h, []Option{WithPageLimit(1001)}},
		"short dedup":    {src, h, []Option{WithDedupTTL(72 * time.Hour)}},
		"long token ttl": {src, h, []Option{WithTokenTTL(11 * time.Minute)}},
		"nil store":      {src, h, []Option{WithStore(nil)}},
		"empty account":  {src, h, []Option{WithAccounts("")}},
		"negative poll":  {src, h, []Option{WithPollInterval(-1)}},
	} {
		if _, err := New(tc.src, tc.h, tc.opts...); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestSyncHandlesEveryMessageOnceInOrder(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 250)
	src.add("wkB", 7)
	c := newCollector()
	store := NewMemoryStore()
	s, _ := newTest(t, src, c.handle, WithStore(store), WithAccounts("wkA", "wkB"))
	stop := start(t, s)
	eventually(t, "all handled", func() bool { return c.count() == 257 })
	eventually(t, "idle", func() bool { return idle(s) })
	stop()
	c.checkOnce(t, append(ids("wkA", 250), ids("wkB", 7)...))
	var gotA []string
	for _, id := range c.order {
		if strings.HasPrefix(id, "wkA") {
			gotA = append(gotA, id)
		}
	}
	if diff := cmp.Diff(ids("wkA", 250), gotA); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if cur, _ := store.Load(t.Context(), "wkA"); cur != "c250" {
		t.Errorf("cursor of wkA = %q, want c250", cur)
	}
	st := s.Stats()
	if st.Handled != 257 || st.Pages != 3+1 || st.Pulls != 2 || st.PagesTokenless != 4 || st.Errors != 0 {
		t.Errorf("stats = %+v", st)
	}
	if a := st.Accounts["wkA"]; a.Cursor != "c250" || a.Handled != 250 || a.LastMessage.IsZero() {
		t.Errorf("account stats = %+v", a)
	}
}

func TestEmptyPagesWithHasMoreDoNotStopThePull(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.pageSize = 10
	src.add("wkA", 30)
	// Every odd call answers an empty page with has_more=1: with the same
	// cursor for the first ones, a new cursor later (both seen in the wild).
	src.hook = func(req *kf.SyncMsgRequest, n int) (*kf.SyncMsgResponse, error, bool) {
		if n%2 == 1 {
			next := req.Cursor
			if n > 4 {
				next = req.Cursor + "" // unchanged is fine too
			}
			return &kf.SyncMsgResponse{NextCursor: next, HasMore: true}, nil, true
		}
		return nil, nil, false
	}
	c := newCollector()
	s, _ := newTest(t, src, c.handle, WithAccounts("wkA"))
	start(t, s)
	eventually(t, "all handled", func() bool { return c.count() == 30 })
	eventually(t, "idle", func() bool { return idle(s) })
	c.checkOnce(t, ids("wkA", 30))
	if st := s.Stats(); st.EmptyPages < 3 || st.Errors != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestEndlessEmptyPagesBackOff(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 1)
	var calls atomic.Int32
	src.hook = func(req *kf.SyncMsgRequest, n int) (*kf.SyncMsgResponse, error, bool) {
		if calls.Add(1) <= 5 {
			return &kf.SyncMsgResponse{NextCursor: req.Cursor, HasMore: true}, nil, true
		}
		return nil, nil, false
	}
	c := newCollector()
	var errs []error
	var mu sync.Mutex
	s, _ := newTest(t, src, c.handle, WithAccounts("wkA"), WithMaxEmptyPages(3),
		WithHooks(Hooks{Error: func(e ErrorEvent) { mu.Lock(); errs = append(errs, e.Err); mu.Unlock() }}))
	start(t, s)
	eventually(t, "handled after the stall", func() bool { return c.count() == 1 })
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 1 || !errors.Is(errs[0], errStalled) {
		t.Errorf("errors = %v, want one stall", errs)
	}
}

// TestEmptyPagesThatMoveTheCursorAreProgress: only empty pages that keep
// the cursor count toward the stall limit.
func TestEmptyPagesThatMoveTheCursorAreProgress(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 1)
	src.hook = func(req *kf.SyncMsgRequest, n int) (*kf.SyncMsgResponse, error, bool) {
		if n <= 20 { // 20 empty pages, each with a new cursor
			return &kf.SyncMsgResponse{NextCursor: fmt.Sprint("c0", strings.Repeat("0", n)), HasMore: true}, nil, true
		}
		return nil, nil, false
	}
	c := newCollector()
	s, _ := newTest(t, src, c.handle, WithAccounts("wkA"), WithMaxEmptyPages(3))
	start(t, s)
	eventually(t, "handled", func() bool { return c.count() == 1 })
	if st := s.Stats(); st.Errors != 0 || st.EmptyPages != 20 {
		t.Errorf("stats = %+v, want 20 empty pages and no stall", st)
	}
}

func TestRepeatedPagesAreSkipped(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.pageSize = 5
	src.add("wkA", 12)
	// The platform re-delivers: the second page starts again at message 3.
	src.hook = func(req *kf.SyncMsgRequest, n int) (*kf.SyncMsgResponse, error, bool) {
		if req.Cursor == "c5" && n == 2 {
			log := src.logs["wkA"]
			return &kf.SyncMsgResponse{NextCursor: "c8", HasMore: true,
				MsgList: append(slices.Clone(log[3:8]), log[4])}, nil, true // and a repeat within the page
		}
		return nil, nil, false
	}
	c := newCollector()
	s, _ := newTest(t, src, c.handle, WithAccounts("wkA"))
	start(t, s)
	eventually(t, "all handled", func() bool { return c.count() == 12 })
	eventually(t, "idle", func() bool { return idle(s) })
	c.checkOnce(t, ids("wkA", 12))
	if st := s.Stats(); st.Duplicates != 3 {
		t.Errorf("duplicates = %d, want 3", st.Duplicates)
	}
}

func TestRestartDoesNotReplay(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 40)
	store := NewMemoryStore()
	c := newCollector()
	s1, _ := newTest(t, src, c.handle, WithStore(store), WithAccounts("wkA"))
	stop := start(t, s1)
	eventually(t, "first batch", func() bool { return c.count() == 40 })
	eventually(t, "idle", func() bool { return idle(s1) })
	stop()

	// A lost cursor re-reads the whole history: the dedup set skips it.
	src.add("wkA", 10)
	_ = store.Save(t.Context(), "wkA", "c0")
	s2, _ := newTest(t, src, c.handle, WithStore(store), WithAccounts("wkA"))
	start(t, s2)
	eventually(t, "second batch", func() bool { return c.count() == 50 })
	eventually(t, "idle", func() bool { return idle(s2) })
	c.checkOnce(t, ids("wkA", 50))
	if d := s2.Stats().Duplicates; d != 40 {
		t.Errorf("duplicates = %d, want 40", d)
	}
}

func TestHandlerErrorRetriesWithoutReHandling(t *testing.T) {
	t.Parallel()
	for _, committer := range []bool{true, false} {
		t.Run(fmt.Sprint("committer=", committer), func(t *testing.T) {
			t.Parallel()
			src := newFakeSource()
			src.pageSize = 10
			src.add("wkA", 25)
			c := newCollector()
			c.fail = func(m kf.Message, attempt int) error {
				if (m.MsgID == "wkA-m5" || m.MsgID == "wkA-m17") && attempt <= 2 {
					return errors.New("boom")
				}
				return nil
			}
			log := &opLog{}
			var store Store = &recordingStore{NewMemoryStore(), log}
			if !committer {
				store = &plainStore{NewMemoryStore(), log}
			}
			s, _ := newTest(t, src, c.handle, WithStore(store), WithAccounts("wkA"))
			start(t, s)
			eventually(t, "all handled", func() bool { return c.count() == 25 })
			eventually(t, "idle", func() bool { return idle(s) })
			c.checkOnce(t, ids("wkA", 25))
			c.mu.Lock()
			tries5, tries4 := c.tries["wkA-m5"], c.tries["wkA-m4"]
			c.mu.Unlock()
			if tries5 != 3 || tries4 != 1 {
				t.Errorf("m5 tried %d times (want 3), m4 %d (want 1)", tries5, tries4)
			}
			st := s.Stats()
			if st.ErrorsByStage[StageHandler] != 4 {
				t.Errorf("handler errors = %d, want 4", st.ErrorsByStage[StageHandler])
			}
			// Retries re-read the page from the committed cursor.
			var cursors []string
			for _, r := range src.Calls() {
				cursors = append(cursors, r.Cursor)
			}
			want := []string{"", "", "", "c10", "c10", "c10", "c20"}
			if diff := cmp.Diff(want, cursors); diff != "" {
				t.Errorf("cursors asked (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCommitOrdering checks that the cursor of a page is committed only
// after the handler succeeded for every message before it, and that each
// message is marked (or committed) right after its handler.
func TestCommitOrdering(t *testing.T) {
	t.Parallel()
	for _, committer := range []bool{true, false} {
		t.Run(fmt.Sprint("committer=", committer), func(t *testing.T) {
			t.Parallel()
			src := newFakeSource()
			src.pageSize = 4
			src.add("wkA", 10)
			log := &opLog{}
			var store Store = &recordingStore{NewMemoryStore(), log}
			if !committer {
				store = &plainStore{NewMemoryStore(), log}
			}
			fails := 0
			h := func(_ context.Context, m kf.Message) error {
				if m.MsgID == "wkA-m6" && fails == 0 {
					fails++
					log.add("fail " + m.MsgID)
					return errors.New("boom")
				}
				log.add("handle " + m.MsgID)
				return nil
			}
			s, _ := newTest(t, src, h, WithStore(store), WithAccounts("wkA"))
			start(t, s)
			eventually(t, "done", func() bool { c, _ := store.Load(t.Context(), "wkA"); return c == "c10" })
			eventually(t, "idle", func() bool { return idle(s) })
			var want []string
			if committer {
				want = []string{
					"handle wkA-m0", "handle wkA-m1", "handle wkA-m2", "handle wkA-m3",
					"commit c4 [wkA-m0 wkA-m1 wkA-m2 wkA-m3]",
					"handle wkA-m4", "handle wkA-m5", "fail wkA-m6",
					"commit  [wkA-m4 wkA-m5]", // progress, cursor kept
					"handle wkA-m6", "handle wkA-m7",
					"commit c8 [wkA-m6 wkA-m7]",
					"handle wkA-m8", "handle wkA-m9",
					"commit c10 [wkA-m8 wkA-m9]",
				}
			} else {
				want = []string{
					"handle wkA-m0", "mark wkA-m0", "handle wkA-m1", "mark wkA-m1",
					"handle wkA-m2", "mark wkA-m2", "handle wkA-m3", "mark wkA-m3", "save c4",
					"handle wkA-m4", "mark wkA-m4", "handle wkA-m5", "mark wkA-m5", "fail wkA-m6",
					"handle wkA-m6", "mark wkA-m6", "handle wkA-m7", "mark wkA-m7", "save c8",
					"handle wkA-m8", "mark wkA-m8", "handle wkA-m9", "mark wkA-m9", "save c10",
				}
			}
			if diff := cmp.Diff(want, log.list()); diff != "" {
				t.Errorf("operations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCommitEvery(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.pageSize = 5
	src.add("wkA", 5)
	log := &opLog{}
	s, _ := newTest(t, src, func(context.Context, kf.Message) error { return nil },
		WithStore(&recordingStore{NewMemoryStore(), log}), WithAccounts("wkA"), WithCommitEvery(2))
	start(t, s)
	eventually(t, "idle", func() bool { return s.Stats().Pulls == 1 })
	want := []string{"commit  [wkA-m0 wkA-m1]", "commit  [wkA-m2 wkA-m3]", "commit c5 [wkA-m4]"}
	if diff := cmp.Diff(want, log.list()); diff != "" {
		t.Errorf("commits (-want +got):\n%s", diff)
	}
}

func TestBackoffGrowsAndResetsAfterHealthyPeriod(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 1)
	clk := newFakeClock()
	var fail atomic.Int32
	fail.Store(6)
	h := func(context.Context, kf.Message) error {
		if fail.Add(-1) >= 0 {
			return errors.New("boom")
		}
		return nil
	}
	var mu sync.Mutex
	var delays []time.Duration
	s, err := New(src, h, WithClock(clk), WithPollInterval(0), WithAccounts("wkA"),
		WithRand(func() float64 { return 0.5 }),
		WithBackoff(Backoff{Initial: time.Second, Max: 10 * time.Second, Jitter: 0.5, ResetAfter: time.Minute}),
		WithHooks(Hooks{Error: func(e ErrorEvent) { mu.Lock(); delays = append(delays, e.Retry); mu.Unlock() }}))
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	got := func() []time.Duration { mu.Lock(); defer mu.Unlock(); return slices.Clone(delays) }
	// Six failures: 1, 2, 4, 8, 10 (cap), 10 s, each with jitter 0.5·0.5.
	for i := 1; i <= 6; i++ {
		eventually(t, "failure", func() bool { return len(got()) == i && clk.Timers() == 1 })
		clk.Advance(got()[i-1])
	}
	eventually(t, "handled", func() bool { return s.Stats().Handled == 1 })
	want := []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second,
		6 * time.Second, 7500 * time.Millisecond, 7500 * time.Millisecond}
	if diff := cmp.Diff(want, got()); diff != "" {
		t.Errorf("delays (-want +got):\n%s", diff)
	}

	// A failure soon after recovery keeps growing; one after a healthy
	// minute starts again from Initial.
	fail.Store(1)
	src.add("wkA", 1)
	s.Notify("wkA", "")
	eventually(t, "failure 7", func() bool { return len(got()) == 7 })
	if d := got()[6]; d != 7500*time.Millisecond {
		t.Errorf("delay soon after recovery = %v, want 7.5s (still backing off)", d)
	}
	clk.Advance(got()[6])
	eventually(t, "handled 2", func() bool { return s.Stats().Handled == 2 })
	clk.Advance(2 * time.Minute)
	fail.Store(1)
	src.add("wkA", 1)
	s.Notify("wkA", "")
	eventually(t, "failure 8", func() bool { return len(got()) == 8 })
	if d := got()[7]; d != 750*time.Millisecond {
		t.Errorf("delay after a healthy period = %v, want 750ms (reset)", d)
	}
	clk.Advance(time.Second)
	eventually(t, "handled 3", func() bool { return s.Stats().Handled == 3 })
}

func TestBackoffIsContextAware(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 1)
	clk := newFakeClock()
	s, _ := New(src, func(context.Context, kf.Message) error { return errors.New("boom") },
		WithClock(clk), WithPollInterval(0), WithAccounts("wkA"),
		WithBackoff(Backoff{Initial: time.Hour}))
	stop := start(t, s)
	eventually(t, "backing off", func() bool { return s.Stats().Errors == 1 && clk.Timers() == 1 })
	stop() // returns without the clock moving
}

func TestTokensAreQueuedUsedAndExpire(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.tokens = map[string]bool{"tok1": true, "tok2": true}
	src.add("wkA", 3)
	clk := newFakeClock()
	var mu sync.Mutex
	var events []TokenKind
	c := newCollector()
	s, _ := New(src, c.handle, WithClock(clk), WithPollInterval(0),
		WithHooks(Hooks{Token: func(e TokenEvent) { mu.Lock(); events = append(events, e.Kind); mu.Unlock() }}))
	s.Notify("wkA", "tok1")
	s.Notify("wkA", "tok1") // a repeated callback adds nothing
	if n := s.Stats().Accounts["wkA"].Tokens; n != 1 {
		t.Errorf("queued tokens = %d, want 1", n)
	}
	start(t, s)
	eventually(t, "handled", func() bool { return c.count() == 3 && idle(s) })

	clk.Advance(5 * time.Minute)
	s.Notify("wkA", "tok2")
	src.add("wkA", 1)
	eventually(t, "handled 2", func() bool { return c.count() == 4 && idle(s) })

	clk.Advance(5 * time.Minute) // tok1 is 10 min old now, tok2 5 min
	src.add("wkA", 1)
	s.Notify("wkA", "")
	eventually(t, "handled 3", func() bool { return c.count() == 5 && idle(s) })

	clk.Advance(5 * time.Minute) // tok2 expired too
	src.add("wkA", 1)
	s.Notify("wkA", "")
	eventually(t, "handled 4", func() bool { return c.count() == 6 && idle(s) })

	var used []string
	for _, r := range src.Calls() {
		used = append(used, r.Token)
	}
	if diff := cmp.Diff([]string{"tok1", "tok2", "tok2", ""}, used); diff != "" {
		t.Errorf("tokens used (-want +got):\n%s", diff)
	}
	st := s.Stats()
	if st.TokensReceived != 2 || st.TokensExpired != 2 || st.PagesWithToken != 3 || st.PagesTokenless != 1 || st.Notifies != 5 {
		t.Errorf("stats = %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]TokenKind{TokenReceived, TokenReceived, TokenExpired, TokenExpired}, events); diff != "" {
		t.Errorf("token events (-want +got):\n%s", diff)
	}
}

func TestRejectedTokenFallsBack(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.tokens = map[string]bool{"good": true}
	src.add("wkA", 2)
	c := newCollector()
	s, _ := newTest(t, src, c.handle)
	s.Notify("wkA", "good")
	s.Notify("wkA", "revoked1")
	s.Notify("wkA", "revoked2") // newest first: revoked2, revoked1, then good
	start(t, s)
	eventually(t, "handled", func() bool { return c.count() == 2 && idle(s) })
	var used []string
	for _, r := range src.Calls() {
		used = append(used, r.Token)
	}
	if diff := cmp.Diff([]string{"revoked2", "revoked1", "good"}, used); diff != "" {
		t.Errorf("tokens tried (-want +got):\n%s", diff)
	}

	// Only bad tokens: the pull goes tokenless.
	src.add("wkA", 1)
	src.mu.Lock()
	src.tokens["good"] = false // revoked since
	src.mu.Unlock()
	s.Notify("wkA", "revoked3")
	eventually(t, "handled tokenless", func() bool { return c.count() == 3 && idle(s) })
	calls := src.Calls()
	if last := calls[len(calls)-1]; last.Token != "" {
		t.Errorf("last call used token %q, want tokenless", last.Token)
	}
	st := s.Stats()
	if st.TokensRejected != 4 || st.ErrorsByCode[kf.ErrCodeInvalidMsgToken] != 4 {
		t.Errorf("stats = %+v", st)
	}
	if a := st.Accounts["wkA"]; a.Failures != 0 {
		t.Errorf("a rejected token counted as a failure: %+v", a)
	}
}

func TestRateLimitBacksOffAtLeastRetryAfter(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 1)
	src.errs = []error{&kf.RateLimitError{Err: &kf.APIError{Op: "kf/sync_msg", Code: kf.ErrCodeFrequencyLimit}, RetryAfter: time.Minute}}
	var retry time.Duration
	c := newCollector()
	s, _ := newTest(t, src, c.handle, WithAccounts("wkA"),
		WithHooks(Hooks{Error: func(e ErrorEvent) { retry = e.Retry }}))
	start(t, s)
	eventually(t, "handled", func() bool { return c.count() == 1 })
	if retry != time.Minute {
		t.Errorf("retry after 45009 = %v, want 1m", retry)
	}
	if n := s.Stats().ErrorsByCode[kf.ErrCodeFrequencyLimit]; n != 1 {
		t.Errorf("45009 count = %d", n)
	}
}

func TestPlatformErrorsAreRetried(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 3)
	src.errs = []error{apiErr(kf.ErrCodeSystemBusy), &kf.APIError{Op: "kf/sync_msg", HTTPStatus: 502},
		&kf.TransportError{Op: "kf/sync_msg", Err: errors.New("connection reset")}}
	c := newCollector()
	var mu sync.Mutex
	var events []ErrorEvent
	s, _ := newTest(t, src, c.handle, WithAccounts("wkA"),
		WithHooks(Hooks{Error: func(e ErrorEvent) { mu.Lock(); events = append(events, e); mu.Unlock() }}))
	start(t, s)
	eventually(t, "handled", func() bool { return c.count() == 3 })
	c.checkOnce(t, ids("wkA", 3))
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 3 || events[0].Code != -1 || events[1].HTTPStatus != 502 || events[2].Stage != StageSync {
		t.Errorf("events = %+v", events)
	}
}

func TestStaleCursorPolicy(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 5)
	store := NewMemoryStore()
	_ = store.Save(t.Context(), "wkA", "c999") // unknown to the platform (40058)
	c := newCollector()
	s, _ := newTest(t, src, c.handle, WithStore(store), WithAccounts("wkA"),
		WithStaleCursor(func(err error) bool { return errors.Is(err, kf.ErrCodeInvalidParameter) }))
	start(t, s)
	eventually(t, "handled", func() bool { return c.count() == 5 && idle(s) })
	if cur, _ := store.Load(t.Context(), "wkA"); cur != "c5" {
		t.Errorf("cursor = %q, want c5", cur)
	}
}

func TestOneWorkerPerAccountUnderNotifyStorm(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.pageSize = 7
	src.delay = 50 * time.Microsecond
	accounts := []string{"wkA", "wkB", "wkC"}
	c := newCollector()
	s, err := New(src, c.handle, WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Go(func() {
			for i := range 300 {
				id := accounts[(g+i)%len(accounts)]
				if g == 0 && i%10 == 0 {
					for _, a := range accounts {
						src.add(a, 3)
					}
				}
				s.Notify(id, fmt.Sprintf("tok-%d", i%20))
			}
		})
	}
	wg.Wait()
	for _, a := range accounts {
		s.Notify(a, "")
	}
	eventually(t, "all handled", func() bool { return c.count() == 3*90 && idle(s) })
	if n := src.overlaps.Load(); n != 0 {
		t.Errorf("%d overlapping pulls of one account", n)
	}
	var want []string
	for _, a := range accounts {
		want = append(want, ids(a, 90)...)
	}
	c.checkOnce(t, want)
}

func TestRunShutdownIsClean(t *testing.T) {
	src := newFakeSource()
	src.add("wkA", 5)
	src.add("wkB", 5)
	before := runtime.NumGoroutine()
	blocked := make(chan struct{})
	log := &opLog{}
	store := &recordingStore{NewMemoryStore(), log}
	var handled atomic.Int32
	h := func(ctx context.Context, m kf.Message) error {
		if m.MsgID == "wkA-m2" {
			close(blocked)
			<-ctx.Done() // a slow handler that honours ctx
			return ctx.Err()
		}
		handled.Add(1)
		return nil
	}
	s, err := New(src, h, WithStore(store), WithAccounts("wkA", "wkB"), WithPollInterval(time.Hour),
		WithLocker(NewMemoryLocker()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-blocked
	eventually(t, "wkB done", func() bool { return handled.Load() == 7 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if err := s.Run(context.Background()); !errors.Is(err, ErrStarted) {
		t.Errorf("second Run = %v, want ErrStarted", err)
	}
	// The progress before the blocked message was committed at shutdown.
	if !slices.Contains(log.list(), "commit  [wkA-m0 wkA-m1]") {
		t.Errorf("commits = %q, want the progress of wkA", log.list())
	}
	eventually(t, "goroutines gone", func() bool { return runtime.NumGoroutine() <= before })
}

func TestNotifyBeforeRunAndAfterStop(t *testing.T) {
	src := newFakeSource()
	src.add("wkA", 2)
	c := newCollector()
	s, _ := newTest(t, src, c.handle)
	s.Notify("wkA", "") // queued until Run
	s.Notify("", "x")   // ignored
	stop := start(t, s)
	eventually(t, "handled", func() bool { return c.count() == 2 && idle(s) })
	stop()
	s.Notify("wkA", "tok") // after Run returned: no worker starts
	if a := s.Stats().Accounts["wkA"]; a.Running || !a.Pending {
		t.Errorf("after stop: %+v, want pending and not running", a)
	}
}

func TestSafetyPollPullsIdleAccounts(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	clk := newFakeClock()
	c := newCollector()
	s, err := New(src, c.handle, WithClock(clk), WithAccounts("wkA"), WithPollInterval(time.Minute),
		WithRand(func() float64 { return 0.5 }))
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	eventually(t, "catch-up pull", func() bool { return s.Stats().Pulls == 1 && idle(s) })
	src.add("wkA", 2) // no callback arrives
	eventually(t, "poll timer", func() bool { return clk.Timers() == 1 })
	clk.Advance(30 * time.Second) // half an interval: too early for this account
	eventually(t, "poll timer 2", func() bool { return clk.Timers() == 1 })
	if c.count() != 0 {
		t.Fatal("polled too early")
	}
	clk.Advance(30 * time.Second)
	eventually(t, "polled", func() bool { return c.count() == 2 })
	if st := s.Stats(); st.Polls != 1 || st.PagesTokenless != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestForget(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	c := newCollector()
	s, _ := newTest(t, src, c.handle, WithAccounts("wkA", "wkB"))
	start(t, s)
	eventually(t, "catch-up", func() bool { return s.Stats().Pulls == 2 && idle(s) })
	s.Forget("wkB")
	if _, ok := s.Stats().Accounts["wkB"]; ok {
		t.Error("wkB still known")
	}
}

func TestHandlerPanicIsAnError(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 3)
	c := newCollector()
	c.fail = func(m kf.Message, attempt int) error {
		if m.MsgID == "wkA-m1" && attempt == 1 {
			panic("oops")
		}
		return nil
	}
	s, _ := newTest(t, src, c.handle, WithAccounts("wkA"))
	start(t, s)
	eventually(t, "handled", func() bool { return c.count() == 3 })
	c.checkOnce(t, ids("wkA", 3))
	if n := s.Stats().ErrorsByStage[StageHandler]; n != 1 {
		t.Errorf("handler errors = %d, want 1", n)
	}
}

func TestBatchHandler(t *testing.T) {
	t.Parallel()
	for _, committer := range []bool{true, false} {
		t.Run(fmt.Sprint("committer=", committer), func(t *testing.T) {
			t.Parallel()
			src := newFakeSource()
			src.pageSize = 4
			src.add("wkA", 10)
			var mu sync.Mutex
			var batches [][]string
			fails := 1
			h := func(_ context.Context, id string, msgs []kf.Message) error {
				mu.Lock()
				defer mu.Unlock()
				var b []string
				for _, m := range msgs {
					b = append(b, m.MsgID)
				}
				if id != "wkA" || len(msgs) == 0 {
					t.Errorf("batch of %s with %d messages", id, len(msgs))
				}
				if b[0] == "wkA-m4" && fails > 0 {
					fails--
					return errors.New("boom")
				}
				batches = append(batches, b)
				return nil
			}
			var store Store = NewMemoryStore()
			if !committer {
				store = &plainStore{NewMemoryStore(), &opLog{}}
			}
			_ = store.Mark(t.Context(), "wkA", "wkA-m1", time.Hour) // already handled
			clk := newFakeClock()
			clk.auto = true
			s, err := NewBatch(src, h, WithClock(clk), WithPollInterval(0), WithStore(store), WithAccounts("wkA"))
			if err != nil {
				t.Fatal(err)
			}
			start(t, s)
			eventually(t, "done", func() bool { c, _ := store.Load(t.Context(), "wkA"); return c == "c10" })
			mu.Lock()
			defer mu.Unlock()
			want := [][]string{{"wkA-m0", "wkA-m2", "wkA-m3"}, {"wkA-m4", "wkA-m5", "wkA-m6", "wkA-m7"}, {"wkA-m8", "wkA-m9"}}
			if diff := cmp.Diff(want, batches); diff != "" {
				t.Errorf("batches (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTapSeesEveryMessageBeforeTheHandler checks the hook used by Replier.
func TestTapSeesEveryMessageBeforeTheHandler(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 3)
	store := NewMemoryStore()
	_ = store.Mark(t.Context(), "wkA", "wkA-m0", time.Hour)
	log := &opLog{}
	s, _ := newTest(t, src, func(_ context.Context, m kf.Message) error { log.add("handle " + m.MsgID); return nil },
		WithStore(store), WithAccounts("wkA"), WithTap(func(m kf.Message) { log.add("tap " + m.MsgID) }))
	start(t, s)
	eventually(t, "idle", func() bool { return s.Stats().Pulls == 1 })
	want := []string{"tap wkA-m0", "tap wkA-m1", "handle wkA-m1", "tap wkA-m2", "handle wkA-m2"}
	if diff := cmp.Diff(want, log.list()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPageHookReportsLag(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 3) // send times t0, t0+1s, t0+2s
	var mu sync.Mutex
	var pages []PageEvent
	clk := newFakeClock()
	clk.Advance(10 * time.Second)
	s, _ := New(src, func(context.Context, kf.Message) error { return nil }, WithClock(clk),
		WithPollInterval(0), WithAccounts("wkA"),
		WithHooks(Hooks{Page: func(e PageEvent) { mu.Lock(); pages = append(pages, e); mu.Unlock() }}))
	start(t, s)
	eventually(t, "idle", func() bool { return s.Stats().Pulls == 1 })
	mu.Lock()
	defer mu.Unlock()
	want := []PageEvent{{OpenKfID: "wkA", Messages: 3, Handled: 3, Lag: 8 * time.Second}}
	if diff := cmp.Diff(want, pages); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestStoreErrorsAreRetried(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 4)
	store := &flakyStore{MemoryStore: NewMemoryStore(), failCommits: 2}
	c := newCollector()
	s, _ := newTest(t, src, c.handle, WithStore(store), WithAccounts("wkA"))
	start(t, s)
	eventually(t, "done", func() bool { cur, _ := store.Load(t.Context(), "wkA"); return cur == "c4" })
	// The page is handled again after a failed commit: at-least-once for
	// the handler, exactly-once for the store.
	c.mu.Lock()
	tries := c.tries["wkA-m0"]
	c.mu.Unlock()
	if tries != 3 {
		t.Errorf("m0 handled %d times, want 3 (two commits failed)", tries)
	}
	if n := s.Stats().ErrorsByStage[StageStore]; n != 2 {
		t.Errorf("store errors = %d", n)
	}
}

type flakyStore struct {
	*MemoryStore
	mu          sync.Mutex
	failCommits int
}

func (f *flakyStore) Commit(ctx context.Context, c Commit) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failCommits > 0 {
		f.failCommits--
		return errors.New("disk full")
	}
	return f.MemoryStore.Commit(ctx, c)
}

func TestLoggingIsSilentByDefaultAndNeverShowsTokens(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.tokens = map[string]bool{"SECRET-TOKEN-1": true}
	src.add("wkA", 2)
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fails := 1
	h := func(context.Context, kf.Message) error {
		if fails > 0 {
			fails--
			return errors.New("downstream unavailable")
		}
		return nil
	}
	s, _ := newTest(t, src, h, WithLogger(logger))
	s.Notify("wkA", "SECRET-TOKEN-1")
	s.Notify("wkA", "SECRET-TOKEN-2") // rejected (95007)
	stop := start(t, s)
	eventually(t, "handled", func() bool { return s.Stats().Handled == 2 })
	stop()
	out := buf.String()
	for _, want := range []string{"pull failed", "downstream unavailable", "stage=handler", "level=DEBUG msg=\"kfsync: page\""} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SECRET-TOKEN") {
		t.Errorf("a callback token reached the log:\n%s", out)
	}
}

// TestRepeatedPagesWithoutProgressBackOff: a page that repeats messages
// already handled, with has_more=1 and an unchanged cursor, makes no
// progress either; endless such pages must count toward the stall limit
// and back off instead of hammering sync_msg in a hot loop.
func TestRepeatedPagesWithoutProgressBackOff(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 2)
	var calls atomic.Int32
	src.hook = func(req *kf.SyncMsgRequest, n int) (*kf.SyncMsgResponse, error, bool) {
		if calls.Add(1) <= 50 {
			// The same first message again and again, the cursor kept.
			return &kf.SyncMsgResponse{NextCursor: req.Cursor, HasMore: true,
				MsgList: slices.Clone(src.logs["wkA"][:1])}, nil, true
		}
		return nil, nil, false
	}
	c := newCollector()
	var errs []error
	var mu sync.Mutex
	s, _ := newTest(t, src, c.handle, WithAccounts("wkA"), WithMaxEmptyPages(3),
		WithHooks(Hooks{Error: func(e ErrorEvent) { mu.Lock(); errs = append(errs, e.Err); mu.Unlock() }}))
	start(t, s)
	eventually(t, "all handled", func() bool { return c.count() == 2 })
	eventually(t, "idle", func() bool { return idle(s) })
	c.checkOnce(t, ids("wkA", 2))
	mu.Lock()
	defer mu.Unlock()
	if len(errs) == 0 || !errors.Is(errs[0], errStalled) {
		t.Errorf("errors = %v, want stalls", errs)
	}
	// Call 1 handles message 0 (progress); every 3 calls after it make no
	// progress and stall: calls 2–4, 5–7, …, 47–49.
	if got := len(errs); got != 16 {
		t.Errorf("%d stalls for 50 repeated pages, want 16", got)
	}
}
