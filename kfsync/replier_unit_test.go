package kfsync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkf/kf"
)

// fakeSender answers send_msg with scripted errors and counts calls.
type fakeSender struct {
	mu    sync.Mutex
	errs  []error
	sent  []string
	calls atomic.Int32
}

func (f *fakeSender) Send(_ context.Context, req *kf.SendMsgRequest) (*kf.SendMsgResponse, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		if err != nil {
			return nil, err
		}
	}
	id := fmt.Sprint("sent", len(f.sent))
	f.sent = append(f.sent, id)
	return &kf.SendMsgResponse{MsgID: id}, nil
}

func (f *fakeSender) SendOnEvent(context.Context, *kf.SendMsgOnEventRequest) (*kf.SendMsgOnEventResponse, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		if err != nil {
			return nil, err
		}
	}
	return &kf.SendMsgOnEventResponse{MsgID: "welcome"}, nil
}

// fakeSessions answers service_state/get with a fixed state.
type fakeSessions struct {
	state    kf.ServiceState
	servicer string
}

func (f *fakeSessions) State(context.Context, *kf.SessionStateRequest) (*kf.SessionStateResponse, error) {
	return &kf.SessionStateResponse{ServiceState: f.state, ServicerUserID: f.servicer}, nil
}

func (f *fakeSessions) Transfer(context.Context, *kf.TransferRequest) (*kf.TransferResponse, error) {
	return nil, &kf.APIError{Op: "kf/service_state/trans", Code: kf.ErrCodeStateTransitionForbidden}
}

func sendErr(code kf.ErrCode) error { return &kf.APIError{Op: "kf/send_msg", Code: code} }

func customerMsg(id string, at time.Time) kf.Message {
	return kf.Message{MsgID: id, OpenKfID: "wkA", ExternalUserID: "wmC", SendTime: uint64(at.Unix()),
		Origin: kf.OriginCustomer, MsgType: kf.MsgTypeText, Payload: &kf.Text{Content: "hi"}}
}

func TestReplierLearnsFromThePlatform(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	snd := &fakeSender{errs: []error{sendErr(kf.ErrCodeSendCountLimit)}}
	r := NewReplier(snd, nil, ReplierClock(clk.Now))
	ctx := t.Context()

	// Unknown customer: sent optimistically; the platform says 95001.
	_, err := r.Reply(ctx, "wkA", "wmC", kf.TextMsg("hi"))
	if !errors.Is(err, ErrBudgetExhausted) || !errors.Is(err, kf.ErrCodeSendCountLimit) {
		t.Fatalf("reply = %v, want an explained 95001", err)
	}
	// Now known as exhausted: refused without a call.
	_, err = r.Reply(ctx, "wkA", "wmC", kf.TextMsg("hi"))
	if !errors.Is(err, ErrBudgetExhausted) || snd.calls.Load() != 1 {
		t.Fatalf("second reply = %v after %d calls, want an early refusal", err, snd.calls.Load())
	}
	// A customer message resets; a 95002 closes the window.
	r.Observe(customerMsg("m1", clk.Now()))
	snd.errs = []error{sendErr(kf.ErrCodeSendTimeLimit)}
	if _, err := r.Reply(ctx, "wkA", "wmC", kf.TextMsg("hi")); !errors.Is(err, ErrWindowClosed) {
		t.Fatalf("reply = %v, want ErrWindowClosed", err)
	}
	if _, err := r.Reply(ctx, "wkA", "wmC", kf.TextMsg("hi")); !errors.Is(err, ErrWindowClosed) || snd.calls.Load() != 2 {
		t.Fatalf("reply = %v after %d calls, want an early ErrWindowClosed", err, snd.calls.Load())
	}
}

func TestReplierSendFailEventsCloseTheBudget(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	r := NewReplier(&fakeSender{}, nil, ReplierClock(clk.Now))
	r.Observe(customerMsg("m1", clk.Now()))
	r.Observe(kf.Message{MsgID: "ev", SendTime: uint64(clk.Now().Unix()), Origin: kf.OriginSystem, MsgType: kf.MsgTypeEvent,
		Payload: &kf.Event{EventType: kf.EventMsgSendFail, OpenKfID: "wkA", ExternalUserID: "wmC",
			Payload: &kf.MsgSendFail{FailMsgID: "x", FailType: kf.FailTypeTooManyMessages}}})
	if left, _, _ := r.Budget("wkA", "wmC"); left != 0 {
		t.Errorf("budget after msg_send_fail(6) = %d, want 0", left)
	}
}

func TestReplierRefundsOnlyWhatWasCertainlyNotSent(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	snd := &fakeSender{errs: []error{nil, sendErr(kf.ErrCodeSystemBusy)}}
	r := NewReplier(snd, nil, ReplierClock(clk.Now))
	r.Observe(customerMsg("m1", clk.Now()))
	ids, err := r.Reply(t.Context(), "wkA", "wmC", kf.TextMsg("1"), kf.TextMsg("2"), kf.TextMsg("3"))
	if err == nil || len(ids) != 1 {
		t.Fatalf("reply = %v, %v; want one sent then an error", ids, err)
	}
	if left, _, _ := r.Budget("wkA", "wmC"); left != 4 {
		t.Errorf("budget = %d, want 4 (one sent; the refused and the unsent refunded)", left)
	}
	snd.errs = []error{fmt.Errorf("kf/send_msg: %w", kf.ErrOutcomeUnknown)}
	if _, err := r.Reply(t.Context(), "wkA", "wmC", kf.TextMsg("x")); err == nil {
		t.Fatal("no error")
	}
	if left, _, _ := r.Budget("wkA", "wmC"); left != 3 {
		t.Errorf("budget = %d, want 3 (an unknown outcome counts)", left)
	}
	// An invalid message is refused before anything is reserved.
	if _, err := r.Reply(t.Context(), "wkA", "wmC", kf.TextMsg("")); !errors.Is(err, kf.ErrInvalidRequest) {
		t.Errorf("empty text = %v", err)
	}
	if left, _, _ := r.Budget("wkA", "wmC"); left != 3 {
		t.Errorf("budget = %d, want 3", left)
	}
}

func TestReplierConcurrentRepliesNeverExceedTheBudget(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	snd := &fakeSender{}
	r := NewReplier(snd, nil, ReplierClock(clk.Now))
	r.Observe(customerMsg("m1", clk.Now()))
	var wg sync.WaitGroup
	var ok, refused atomic.Int32
	for range 20 {
		wg.Go(func() {
			_, err := r.Reply(t.Context(), "wkA", "wmC", kf.TextMsg("hi"))
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrBudgetExhausted):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 5 || refused.Load() != 15 || snd.calls.Load() != 5 {
		t.Errorf("ok %d refused %d calls %d, want 5 15 5", ok.Load(), refused.Load(), snd.calls.Load())
	}
}

func TestReplierSameSecondMessages(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	r := NewReplier(&fakeSender{}, nil, ReplierClock(clk.Now))
	r.Observe(customerMsg("m1", clk.Now()))
	_, _ = r.Reply(t.Context(), "wkA", "wmC", kf.TextMsg("a"), kf.TextMsg("b"))
	r.Observe(customerMsg("m1", clk.Now())) // redelivered: no reset
	if left, _, _ := r.Budget("wkA", "wmC"); left != 3 {
		t.Errorf("budget = %d, want 3", left)
	}
	r.Observe(customerMsg("m2", clk.Now())) // another message in the same second: reset
	if left, _, _ := r.Budget("wkA", "wmC"); left != 5 {
		t.Errorf("budget = %d, want 5", left)
	}
	r.Observe(customerMsg("m0", clk.Now().Add(-time.Second))) // older: ignored
	if left, _, _ := r.Budget("wkA", "wmC"); left != 5 {
		t.Errorf("budget = %d, want 5", left)
	}
}

func TestReplierForgetsClosedWindows(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	r := NewReplier(&fakeSender{}, nil, ReplierClock(clk.Now))
	for i := range 1023 {
		r.Observe(kf.Message{MsgID: fmt.Sprint("m", i), OpenKfID: "wkA", ExternalUserID: fmt.Sprint("wm", i),
			SendTime: uint64(clk.Now().Unix()), Origin: kf.OriginCustomer, MsgType: kf.MsgTypeText})
	}
	clk.Advance(49 * time.Hour)
	r.Observe(customerMsg("last", clk.Now()))
	r.mu.Lock()
	n := len(r.customers)
	r.mu.Unlock()
	if n != 1 {
		t.Errorf("%d customers remembered, want 1", n)
	}
}

func TestQuotaErrorTexts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		e    QuotaError
		want string
	}{
		{QuotaError{Reason: ReasonSessionState, State: kf.StateQueued}, "queued for a servicer (state 2)"},
		{QuotaError{Reason: ReasonSessionState, State: kf.StateEnded}, "ended or not started (state 4)"},
		{QuotaError{Reason: ReasonSessionState, State: -1}, "the platform refused because of the session state"},
		{QuotaError{Reason: ReasonWindowClosed}, "no customer message known within 48 h"},
		{QuotaError{Reason: ReasonBudgetExhausted, Needed: 3, Remaining: 1}, "3 message(s) needed, 1 of 5 left"},
		{QuotaError{Reason: ReasonNoWelcome, Err: sendErr(kf.ErrCodeInvalidMsgToken)}, "95007"},
	} {
		if got := tc.e.Error(); !strings.Contains(got, tc.want) {
			t.Errorf("%q does not contain %q", got, tc.want)
		}
	}
}

func TestReplierStateRefusals(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	for _, st := range []kf.ServiceState{kf.StateQueued, kf.StateEnded, kf.StateServicer} {
		snd := &fakeSender{}
		r := NewReplier(snd, &fakeSessions{state: st, servicer: "lisi"}, ReplierClock(clk.Now), TakeOver(true))
		r.Observe(customerMsg("m1", clk.Now()))
		_, err := r.Reply(t.Context(), "wkA", "wmC", kf.TextMsg("x"))
		var qe *QuotaError
		if !errors.As(err, &qe) || qe.State != st || !errors.Is(err, ErrSessionState) || snd.calls.Load() != 0 {
			t.Errorf("state %v: %v", st, err)
		}
	}
	// A failed take-over is reported and refunds the budget.
	r := NewReplier(&fakeSender{}, &fakeSessions{state: kf.StateUntreated}, ReplierClock(clk.Now), TakeOver(true))
	r.Observe(customerMsg("m1", clk.Now()))
	if _, err := r.Reply(t.Context(), "wkA", "wmC", kf.TextMsg("x")); !errors.Is(err, kf.ErrCodeStateTransitionForbidden) {
		t.Errorf("take-over failure = %v", err)
	}
	if left, _, _ := r.Budget("wkA", "wmC"); left != 5 {
		t.Errorf("budget = %d, want 5", left)
	}
}

func TestReplierWelcomeRejectedCode(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	snd := &fakeSender{errs: []error{sendErr(kf.ErrCodeInvalidMsgToken)}}
	r := NewReplier(snd, nil, ReplierClock(clk.Now))
	ev := kf.Message{MsgID: "ev", SendTime: uint64(clk.Now().Unix()), Origin: kf.OriginSystem, MsgType: kf.MsgTypeEvent,
		Payload: &kf.Event{EventType: kf.EventEnterSession, OpenKfID: "wkA", ExternalUserID: "wmC",
			Payload: &kf.EnterSession{WelcomeCode: "CODE"}}}
	_, err := r.Welcome(t.Context(), ev, kf.TextMsg("hi"))
	if !errors.Is(err, ErrNoWelcome) || !errors.Is(err, kf.ErrCodeInvalidMsgToken) {
		t.Errorf("welcome = %v, want an explained 95007", err)
	}
	if _, err := r.Welcome(t.Context(), ev, kf.ImageMsg("MID")); !errors.Is(err, kf.ErrInvalidRequest) {
		t.Errorf("welcome with an image = %v, want a validation error", err)
	}
}
