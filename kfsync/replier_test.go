package kfsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kftest"
)

const cust = "wmCustomer0"

// replyEnv is an emulator, a Syncer feeding a Replier, and the messages the
// handler saw.
type replyEnv struct {
	srv    *kftest.Server
	client *kf.Client
	r      *kfsync.Replier
	s      *kfsync.Syncer

	mu   sync.Mutex
	msgs []kf.Message
}

func newReplyEnv(t *testing.T, opts ...kfsync.ReplierOption) *replyEnv {
	t.Helper()
	e := &replyEnv{srv: emulator(t)}
	e.client = fastClient(e.srv)
	e.r = kfsync.NewReplier(e.client.Messages, e.client.Sessions, append([]kfsync.ReplierOption{kfsync.ReplierClock(e.srv.Now)}, opts...)...)
	var err error
	e.s, err = kfsync.New(e.client.Messages, func(_ context.Context, m kf.Message) error {
		e.mu.Lock()
		e.msgs = append(e.msgs, m)
		e.mu.Unlock()
		return nil
	}, kfsync.WithTap(e.r.Observe), kfsync.WithPollInterval(0), fastBackoff)
	if err != nil {
		t.Fatal(err)
	}
	run(t, e.s)
	return e
}

// customerSays sends a customer text and waits until the Syncer handled it.
func (e *replyEnv) customerSays(t *testing.T, text string) {
	t.Helper()
	id, err := e.srv.CustomerSend(wkA, cust, kftest.CustomerText(text))
	if err != nil {
		t.Fatal(err)
	}
	e.sync(t, id)
}

// sync notifies the Syncer and waits for msgID.
func (e *replyEnv) sync(t *testing.T, msgID string) kf.Message {
	t.Helper()
	notify(t, e.srv, e.s, wkA)
	var got kf.Message
	waitFor(t, "message "+msgID, 5*time.Second, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, m := range e.msgs {
			if m.MsgID == msgID {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

func (e *replyEnv) sendCalls() int { return e.srv.Calls()["/cgi-bin/kf/send_msg"] }

func TestReplierBudget(t *testing.T) {
	t.Parallel()
	e := newReplyEnv(t)
	ctx := t.Context()
	if _, err := e.r.Reply(ctx, wkA, cust, kf.TextMsg("unknown customer")); err != nil {
		// An unknown customer without any message: the platform refuses
		// (95031/95002/95018) and the Replier explains it.
		var qe *kfsync.QuotaError
		if !errors.As(err, &qe) {
			t.Fatalf("reply to a silent customer = %v, want a *QuotaError", err)
		}
	}
	e.customerSays(t, "hi")
	if left, _, known := e.r.Budget(wkA, cust); !known || left != 5 {
		t.Fatalf("budget = %d %v, want 5 known", left, known)
	}
	for i := range 3 {
		if _, err := e.r.Reply(ctx, wkA, cust, kf.TextMsg("answer")); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	ids, err := e.r.Reply(ctx, wkA, cust, kf.TextMsg("four"), kf.TextMsg("five"))
	if err != nil || len(ids) != 2 {
		t.Fatalf("replies 4-5 = %v, %v", ids, err)
	}
	// A recall does not give the message back.
	if err := e.client.Messages.Recall(ctx, &kf.RecallMsgRequest{OpenKfID: wkA, MsgID: ids[1]}); err != nil {
		t.Fatal(err)
	}
	calls := e.sendCalls()
	_, err = e.r.Reply(ctx, wkA, cust, kf.TextMsg("six"))
	var qe *kfsync.QuotaError
	if !errors.Is(err, kfsync.ErrBudgetExhausted) || !errors.As(err, &qe) || qe.Remaining != 0 || qe.Needed != 1 {
		t.Fatalf("sixth reply = %v, want ErrBudgetExhausted with 0 left", err)
	}
	if e.sendCalls() != calls {
		t.Error("the refused reply reached the platform")
	}
	// A new customer message resets the budget to 5.
	e.customerSays(t, "again")
	if left, _, _ := e.r.Budget(wkA, cust); left != 5 {
		t.Errorf("budget after a new message = %d, want 5", left)
	}
	if _, err := e.r.Reply(ctx, wkA, cust, kf.TextMsg("fresh")); err != nil {
		t.Errorf("reply after reset: %v", err)
	}
	// Re-delivery of an old message does not reset the budget.
	e.mu.Lock()
	first := e.msgs[0]
	e.mu.Unlock()
	e.r.Observe(first)
	if left, _, _ := e.r.Budget(wkA, cust); left != 4 {
		t.Errorf("budget after a redelivered message = %d, want 4", left)
	}
}

func TestReplierWindow(t *testing.T) {
	t.Parallel()
	e := newReplyEnv(t)
	ctx := t.Context()
	e.customerSays(t, "hi")
	e.srv.Advance(47 * time.Hour)
	if _, err := e.r.Reply(ctx, wkA, cust, kf.TextMsg("still open")); err != nil {
		t.Fatalf("reply at 47 h: %v", err)
	}
	e.srv.Advance(time.Hour + time.Second)
	calls := e.sendCalls()
	_, err := e.r.Reply(ctx, wkA, cust, kf.TextMsg("too late"))
	if !errors.Is(err, kfsync.ErrWindowClosed) {
		t.Fatalf("reply at 48 h = %v, want ErrWindowClosed", err)
	}
	if e.sendCalls() != calls {
		t.Error("the refused reply reached the platform")
	}
	if !strings.Contains(err.Error(), "48 h window closed") {
		t.Errorf("error text = %q", err)
	}
}

func TestReplierRequireKnownCustomer(t *testing.T) {
	t.Parallel()
	e := newReplyEnv(t, kfsync.RequireKnownCustomer(true))
	if _, err := e.r.Reply(t.Context(), wkA, "wmCustomer3", kf.TextMsg("hi")); !errors.Is(err, kfsync.ErrWindowClosed) {
		t.Errorf("reply to an unknown customer = %v, want ErrWindowClosed", err)
	}
	if n := e.sendCalls(); n != 0 {
		t.Errorf("%d send_msg calls", n)
	}
}

func TestReplierHumanOwnsTheSession(t *testing.T) {
	t.Parallel()
	e := newReplyEnv(t, kfsync.TakeOver(true))
	ctx := t.Context()
	e.customerSays(t, "I want a human")
	if _, err := e.srv.ServicerAccept(wkA, cust, "zhangsan"); err != nil {
		t.Fatal(err)
	}
	calls := e.sendCalls()
	_, err := e.r.Reply(ctx, wkA, cust, kf.TextMsg("bot here"))
	var qe *kfsync.QuotaError
	if !errors.As(err, &qe) || qe.State != kf.StateServicer || qe.ServicerUserID != "zhangsan" {
		t.Fatalf("reply in state 3 = %v, want a *QuotaError with the servicer", err)
	}
	if !errors.Is(err, kfsync.ErrSessionState) || !errors.Is(err, kf.ErrCodeSessionStatusInvalid) {
		t.Errorf("error %v does not match ErrSessionState and 95018", err)
	}
	if !strings.Contains(err.Error(), "human servicer (zhangsan)") || !strings.Contains(err.Error(), "95018") {
		t.Errorf("error text = %q", err)
	}
	if e.sendCalls() != calls {
		t.Error("the refused reply reached the platform")
	}
	if left, _, _ := e.r.Budget(wkA, cust); left != 5 {
		t.Errorf("a refused reply used budget: %d left", left)
	}
}

func TestReplierPlatformRefusalIsExplained(t *testing.T) {
	t.Parallel()
	// Without state checks the platform's 95018 still comes back as a
	// *QuotaError.
	e := newReplyEnv(t, kfsync.CheckState(false))
	e.customerSays(t, "hi")
	if _, err := e.srv.ServicerAccept(wkA, cust, "zhangsan"); err != nil {
		t.Fatal(err)
	}
	_, err := e.r.Reply(t.Context(), wkA, cust, kf.TextMsg("bot here"))
	var qe *kfsync.QuotaError
	if !errors.As(err, &qe) || !errors.Is(err, kfsync.ErrSessionState) || !errors.Is(err, kf.ErrCodeSessionStatusInvalid) {
		t.Fatalf("reply = %v, want an explained 95018", err)
	}
	if left, _, _ := e.r.Budget(wkA, cust); left != 5 {
		t.Errorf("a refused reply used budget: %d left", left)
	}
}

func TestReplierTakeOverMovesTheSessionToTheBot(t *testing.T) {
	t.Parallel()
	for _, takeOver := range []bool{false, true} {
		e := newReplyEnv(t, kfsync.TakeOver(takeOver))
		e.customerSays(t, "hi")
		if _, err := e.r.Reply(t.Context(), wkA, cust, kf.TextMsg("hello")); err != nil {
			t.Fatal(err)
		}
		info, _ := e.srv.SessionInfo(wkA, cust)
		want := kf.StateUntreated
		if takeOver {
			want = kf.StateBot
		}
		if info.State != want {
			t.Errorf("TakeOver(%v): state = %v, want %v", takeOver, info.State, want)
		}
	}
}

func TestReplierLongText(t *testing.T) {
	t.Parallel()
	e := newReplyEnv(t)
	ctx := t.Context()
	e.customerSays(t, "tell me a story")
	story := strings.Repeat("从前有座山，山里有座庙。", 200) // 36 bytes × 200 = 7200 bytes
	ids, err := e.r.ReplyText(ctx, wkA, cust, story)
	if err != nil || len(ids) != 4 {
		t.Fatalf("ReplyText = %v, %v; want 4 parts", ids, err)
	}
	var got strings.Builder
	for _, d := range e.srv.Received(wkA, cust) {
		if d.From != "api" {
			continue
		}
		var p struct{ Content string }
		_ = json.Unmarshal(d.Payload, &p)
		if len(p.Content) > kfsync.MaxTextBytes || !utf8.ValidString(p.Content) {
			t.Errorf("part of %d bytes, valid UTF-8 %v", len(p.Content), utf8.ValidString(p.Content))
		}
		got.WriteString(p.Content)
	}
	if got.String() != story {
		t.Error("the parts do not join into the text")
	}
	// Two more parts do not fit in the one message left: nothing is sent.
	calls := e.sendCalls()
	_, err = e.r.ReplyText(ctx, wkA, cust, strings.Repeat("好", 1000)) // 3000 bytes
	var qe *kfsync.QuotaError
	if !errors.As(err, &qe) || qe.Needed != 2 || qe.Remaining != 1 {
		t.Fatalf("over-budget text = %v, want Needed 2 Remaining 1", err)
	}
	if e.sendCalls() != calls {
		t.Error("a refused text reached the platform")
	}
}

func TestReplierWelcome(t *testing.T) {
	t.Parallel()
	e := newReplyEnv(t)
	ctx := t.Context()
	enter := func() kf.Message {
		t.Helper()
		code, err := e.srv.EnterSession(wkA, cust, kftest.EnterOptions{Scene: "ad"})
		if err != nil || code == "" {
			t.Fatalf("EnterSession = %q, %v", code, err)
		}
		log := e.srv.SyncLog(wkA)
		var id struct{ MsgID string }
		_ = json.Unmarshal(log[len(log)-1], &id)
		return e.sync(t, id.MsgID)
	}
	ev := enter()
	e.srv.Advance(15 * time.Second)
	if _, err := e.r.Welcome(ctx, ev, kf.TextMsg("welcome!")); err != nil {
		t.Fatalf("welcome within 20 s: %v", err)
	}
	if _, err := e.r.Welcome(ctx, ev, kf.TextMsg("again")); !errors.Is(err, kfsync.ErrNoWelcome) {
		t.Errorf("second welcome = %v, want ErrNoWelcome", err)
	}
	var welcomed bool
	for _, d := range e.srv.Received(wkA, cust) {
		welcomed = welcomed || d.From == "event"
	}
	if !welcomed {
		t.Error("the customer got no welcome")
	}

	// Too late: refused on the clock, before any call.
	e.srv.Advance(49 * time.Hour) // a welcome code again after 48 h of quiet
	ev = enter()
	e.srv.Advance(21 * time.Second)
	calls := e.srv.Calls()["/cgi-bin/kf/send_msg_on_event"]
	if _, err := e.r.Welcome(ctx, ev, kf.TextMsg("late")); !errors.Is(err, kfsync.ErrNoWelcome) {
		t.Errorf("welcome after 21 s = %v, want ErrNoWelcome", err)
	}
	if e.srv.Calls()["/cgi-bin/kf/send_msg_on_event"] != calls {
		t.Error("the late welcome reached the platform")
	}
	// Not an enter_session event.
	if _, err := e.r.Welcome(ctx, kf.Message{MsgType: kf.MsgTypeText}, kf.TextMsg("x")); !errors.Is(err, kfsync.ErrNoWelcome) {
		t.Errorf("welcome on a text = %v", err)
	}
}

func TestSplitText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		max  int
		want []string
	}{
		{"", 10, nil},
		{"short", 10, []string{"short"}},
		{"exactly10!", 10, []string{"exactly10!"}},
		{"hello world again", 12, []string{"hello world ", "again"}},
		{"line one\nline two", 12, []string{"line one\n", "line two"}},
		{"你好世界", 7, []string{"你好", "世界"}},                     // 3-byte runes never cut
		{"abcdefghijkl", 5, []string{"abcde", "fghij", "kl"}}, // no separator
		{"a b", 1, []string{"a b"}},                           // max raised to 4
		{"\xff\xfe\xfd\xfc\xfb\xfa", 4, []string{"\xff\xfe\xfd\xfc", "\xfb\xfa"}},
	} {
		if diff := cmp.Diff(tc.want, kfsync.SplitText(tc.in, tc.max)); diff != "" {
			t.Errorf("SplitText(%q, %d) (-want +got):\n%s", tc.in, tc.max, diff)
		}
	}
}

func FuzzSplitText(f *testing.F) {
	f.Add("hello world, 你好世界\n🙂🙂🙂", 7)
	f.Add(strings.Repeat("é", 3000), 2048)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = n%3000 + 1
		if n < 0 {
			n = -n + 4
		}
		parts := kfsync.SplitText(s, n)
		limit := max(n, utf8.UTFMax)
		if strings.Join(parts, "") != s {
			t.Fatal("parts do not join into the input")
		}
		for _, p := range parts {
			if p == "" || len(p) > limit {
				t.Fatalf("part of %d bytes (limit %d)", len(p), limit)
			}
			if utf8.ValidString(s) && !utf8.ValidString(p) {
				t.Fatalf("part %q cuts a rune", p)
			}
		}
	})
}
