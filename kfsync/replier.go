package kfsync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wxkf/kf"
)

// The platform's sending rules (doc 94677, 95122; shared/api-surface.md
// §3.4).
const (
	// ReplyWindow is how long after a customer's message the API may reply.
	ReplyWindow = 48 * time.Hour
	// ReplyBudget is how many API messages one customer message allows
	// (recalled messages still count; a new customer message resets it).
	ReplyBudget = 5
	// WelcomeWindow is how long a welcome_code is valid.
	WelcomeWindow = 20 * time.Second
	// MaxTextBytes is the longest text send_msg accepts, in UTF-8 bytes.
	MaxTextBytes = 2048
)

// MessageSender sends messages; *kf.MessageService implements it.
type MessageSender interface {
	Send(ctx context.Context, req *kf.SendMsgRequest) (*kf.SendMsgResponse, error)
	SendOnEvent(ctx context.Context, req *kf.SendMsgOnEventRequest) (*kf.SendMsgOnEventResponse, error)
}

// SessionController reads and changes session states; *kf.SessionService
// implements it.
type SessionController interface {
	State(ctx context.Context, req *kf.SessionStateRequest) (*kf.SessionStateResponse, error)
	Transfer(ctx context.Context, req *kf.TransferRequest) (*kf.TransferResponse, error)
}

var (
	_ MessageSender     = (*kf.MessageService)(nil)
	_ SessionController = (*kf.SessionService)(nil)
)

// Sentinels matched (errors.Is) by a *QuotaError, one per QuotaReason.
var (
	// ErrWindowClosed: the customer's last message is older than 48 h (or
	// unknown, with RequireKnownCustomer).
	ErrWindowClosed = errors.New("kfsync: the 48 h reply window is closed")
	// ErrBudgetExhausted: the messages would exceed the 5 allowed per
	// customer message.
	ErrBudgetExhausted = errors.New("kfsync: reply budget exhausted")
	// ErrSessionState: the session is not in a state where the API may send
	// (0 or 1); send_msg would fail with 95018.
	ErrSessionState = errors.New("kfsync: the session state does not allow API replies")
	// ErrNoWelcome: no welcome_code, a used one, or one older than 20 s.
	ErrNoWelcome = errors.New("kfsync: no valid welcome code")
)

// QuotaReason says why a Replier refused to send.
type QuotaReason string

// Reasons of a QuotaError.
const (
	ReasonWindowClosed    QuotaReason = "window_closed"
	ReasonBudgetExhausted QuotaReason = "budget_exhausted"
	ReasonSessionState    QuotaReason = "session_state"
	ReasonNoWelcome       QuotaReason = "no_welcome"
)

// QuotaError is returned by a Replier that refuses to send, before any call
// is made (or after the platform refused with the matching errcode, then in
// Err). Match it with errors.Is against ErrWindowClosed, ErrBudgetExhausted,
// ErrSessionState or ErrNoWelcome, or with errors.As for the details. When Err
// is a platform error, errors.Is also matches its code (for example
// kf.ErrCodeSessionStatusInvalid).
type QuotaError struct {
	Reason         QuotaReason
	OpenKfID       string
	ExternalUserID string
	// Needed is how many messages the call wanted to send; Remaining is
	// what the budget allowed.
	Needed, Remaining int
	// LastCustomerMessage is the send time of the customer's last message
	// (zero when unknown); the window ends ReplyWindow after it.
	LastCustomerMessage time.Time
	// State and ServicerUserID are the session's state (ReasonSessionState;
	// State is -1 when the platform refused with 95018 and the state was
	// not read).
	State          kf.ServiceState
	ServicerUserID string
	// Err is the platform's error, when the platform refused.
	Err error
}

// Error explains the refusal.
func (e *QuotaError) Error() string {
	who := fmt.Sprintf("%s via %s", e.ExternalUserID, e.OpenKfID)
	var s string
	switch e.Reason {
	case ReasonWindowClosed:
		if e.LastCustomerMessage.IsZero() {
			s = fmt.Sprintf("kfsync: cannot reply to %s: no customer message known within 48 h", who)
		} else {
			s = fmt.Sprintf("kfsync: cannot reply to %s: the 48 h window closed at %s",
				who, e.LastCustomerMessage.Add(ReplyWindow).Format(time.RFC3339))
		}
	case ReasonBudgetExhausted:
		s = fmt.Sprintf("kfsync: cannot reply to %s: %d message(s) needed, %d of %d left since the customer's last message",
			who, e.Needed, e.Remaining, ReplyBudget)
	case ReasonSessionState:
		switch e.State {
		case kf.StateServicer:
			s = fmt.Sprintf("kfsync: cannot reply to %s: a human servicer (%s) owns the session (state 3); send_msg would fail with 95018 — reply from WeCom or end the session first", who, e.ServicerUserID)
		case kf.StateQueued:
			s = fmt.Sprintf("kfsync: cannot reply to %s: the session is queued for a servicer (state 2); send_msg would fail with 95018", who)
		case kf.StateEnded:
			s = fmt.Sprintf("kfsync: cannot reply to %s: the session has ended or not started (state 4); send_msg would fail with 95018", who)
		case -1:
			s = fmt.Sprintf("kfsync: cannot reply to %s: the platform refused because of the session state (95018: a human servicer owns the session, it is queued, or it has ended)", who)
		default:
			s = fmt.Sprintf("kfsync: cannot reply to %s: session state %d does not allow replies (95018)", who, int(e.State))
		}
	case ReasonNoWelcome:
		s = fmt.Sprintf("kfsync: cannot welcome %s: no welcome code, already used, or older than %s", who, WelcomeWindow)
	default:
		s = fmt.Sprintf("kfsync: cannot reply to %s: %s", who, e.Reason)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches the sentinel of the reason.
func (e *QuotaError) Is(target error) bool {
	switch e.Reason {
	case ReasonWindowClosed:
		return target == ErrWindowClosed
	case ReasonBudgetExhausted:
		return target == ErrBudgetExhausted
	case ReasonSessionState:
		return target == ErrSessionState || target == kf.ErrCodeSessionStatusInvalid
	case ReasonNoWelcome:
		return target == ErrNoWelcome
	}
	return false
}

// Unwrap returns the platform's error, if any.
func (e *QuotaError) Unwrap() error { return e.Err }

// ReplierOption configures a Replier.
type ReplierOption func(*Replier)

// ReplierClock makes the Replier tell the time with now (default time.Now);
// use the emulator's clock (kftest Server.Now) in tests.
func ReplierClock(now func() time.Time) ReplierOption {
	return func(r *Replier) {
		if now != nil {
			r.now = now
		}
	}
}

// TakeOver makes the Replier move a session in state 0 (new, untreated) to
// state 1 (智能助手接待, the bot) with Sessions.Transfer before replying, so
// that it does not wait in the servicers' queue (default false).
func TakeOver(on bool) ReplierOption { return func(r *Replier) { r.takeOver = on } }

// CheckState sets whether the Replier reads the session state before each
// reply (default true when a SessionController is given). Without it a
// reply in a human-owned session fails at the platform with 95018, which
// the Replier still reports as a *QuotaError.
func CheckState(on bool) ReplierOption { return func(r *Replier) { r.checkState = on } }

// RequireKnownCustomer makes the Replier refuse (ErrWindowClosed) customers
// whose messages it has not observed. By default it sends to them and lets
// the platform decide: after a restart the Replier has not seen the
// messages that were handled before, and the budget is learnt again from the
// platform's answers (95001, 95002).
func RequireKnownCustomer(on bool) ReplierOption { return func(r *Replier) { r.requireKnown = on } }

// Replier sends replies within the platform's rules, refusing early with a
// *QuotaError instead of burning calls that must fail. The bot calls it
// instead of Messages.Send. It learns each customer's 48 h window and
// remaining budget of 5 messages per customer message from the synced
// stream: give Observe to the Syncer with WithTap, so that it sees every
// message before the handler does.
//
//	r := kfsync.NewReplier(c.Messages, c.Sessions, kfsync.TakeOver(true))
//	s, _ := kfsync.New(c.Messages, func(ctx context.Context, m kf.Message) error {
//		if t := m.Text(); t != nil && m.Origin == kf.OriginCustomer {
//			_, err := r.ReplyText(ctx, m.OpenKfID, m.ExternalUserID, "echo: "+t.Content)
//			if errors.Is(err, kfsync.ErrSessionState) { return nil } // a human answers
//			return err
//		}
//		return nil
//	}, kfsync.WithTap(r.Observe))
//
// A Replier is safe for concurrent use; the budget is reserved before the
// calls, so concurrent replies to one customer never exceed it.
type Replier struct {
	msgs         MessageSender
	sessions     SessionController
	now          func() time.Time
	takeOver     bool
	checkState   bool
	requireKnown bool

	mu        sync.Mutex
	customers map[custKey]*custState
	welcomed  map[string]time.Time // used welcome codes → event time
	observed  int
}

type custKey struct{ openKfID, userID string }

// custState is what the Replier knows of one customer of one account.
type custState struct {
	last    time.Time // send time of the newest customer message
	lastIDs []string  // msgids of the customer messages sent at last
	used    int       // API messages sent or reserved since last
}

// NewReplier returns a Replier sending through msgs (usually c.Messages)
// and reading session states through sessions (usually c.Sessions; nil to
// skip state checks).
func NewReplier(msgs MessageSender, sessions SessionController, opts ...ReplierOption) *Replier {
	r := &Replier{
		msgs: msgs, sessions: sessions, now: time.Now, checkState: sessions != nil,
		customers: map[custKey]*custState{}, welcomed: map[string]time.Time{},
	}
	for _, o := range opts {
		o(r)
	}
	if r.sessions == nil {
		r.checkState, r.takeOver = false, false
	}
	return r
}

// Observe learns from one synced message: a customer message (origin 3)
// newer than the last one known opens a new 48 h window with a budget of 5;
// a msg_send_fail event for the 5-message limit or an expired session
// closes the budget. Messages seen again (redelivery) change nothing.
// Observe is meant for WithTap.
func (r *Replier) Observe(m kf.Message) {
	switch {
	case m.Origin == kf.OriginCustomer && m.MsgType != kf.MsgTypeEvent:
		r.observeCustomer(m.Account(), m.Customer(), m.MsgID, m.Time())
	case m.MsgType == kf.MsgTypeEvent:
		e := m.Event()
		if e == nil {
			return
		}
		if f, ok := e.Payload.(*kf.MsgSendFail); ok &&
			(f.FailType == kf.FailTypeTooManyMessages || f.FailType == kf.FailTypeSessionExpired) {
			r.mu.Lock()
			if c := r.customers[custKey{e.OpenKfID, e.ExternalUserID}]; c != nil && !m.Time().Before(c.last) {
				c.used = ReplyBudget
			}
			r.mu.Unlock()
		}
	}
}

func (r *Replier) observeCustomer(openKfID, userID, msgID string, at time.Time) {
	if openKfID == "" || userID == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observed++
	if r.observed%1024 == 0 {
		r.pruneLocked()
	}
	k := custKey{openKfID, userID}
	c := r.customers[k]
	if c == nil {
		c = &custState{}
		r.customers[custKey{strings.Clone(openKfID), strings.Clone(userID)}] = c
	}
	switch {
	case at.After(c.last):
		c.last = at
		c.lastIDs = append(c.lastIDs[:0], strings.Clone(msgID))
		c.used = 0
	case at.Equal(c.last):
		for _, id := range c.lastIDs {
			if id == msgID {
				return // seen again
			}
		}
		c.lastIDs = append(c.lastIDs, strings.Clone(msgID))
		c.used = 0
	}
}

// pruneLocked forgets customers whose window has closed and welcome codes
// past their 20 s.
func (r *Replier) pruneLocked() {
	now := r.now()
	for k, c := range r.customers {
		if now.Sub(c.last) > ReplyWindow {
			delete(r.customers, k)
		}
	}
	for code, at := range r.welcomed {
		if now.Sub(at) > 2*WelcomeWindow {
			delete(r.welcomed, code)
		}
	}
}

// Budget returns how many messages may still be sent to a customer and when
// the window closes; known is false when the Replier has observed no message
// of the customer within 48 h.
func (r *Replier) Budget(openKfID, externalUserID string) (remaining int, windowEnd time.Time, known bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.customers[custKey{openKfID, externalUserID}]
	if c == nil || r.now().Sub(c.last) >= ReplyWindow {
		return 0, time.Time{}, false
	}
	return ReplyBudget - c.used, c.last.Add(ReplyWindow), true
}

// reserve takes n messages of the customer's budget, or explains why not.
// A customer never observed gets an unknown (nil) state and no reservation
// unless RequireKnownCustomer refuses it.
func (r *Replier) reserve(openKfID, userID string, n int) (*custState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	qe := &QuotaError{OpenKfID: openKfID, ExternalUserID: userID, Needed: n}
	c := r.customers[custKey{openKfID, userID}]
	if c == nil {
		if r.requireKnown {
			qe.Reason = ReasonWindowClosed
			return nil, qe
		}
		return nil, nil
	}
	qe.LastCustomerMessage = c.last
	if r.now().Sub(c.last) >= ReplyWindow {
		qe.Reason = ReasonWindowClosed
		return nil, qe
	}
	if left := ReplyBudget - c.used; n > left {
		qe.Reason, qe.Remaining = ReasonBudgetExhausted, max(left, 0)
		return nil, qe
	}
	c.used += n
	return c, nil
}

// refund gives back n reserved messages (calls that certainly sent
// nothing).
func (r *Replier) refund(c *custState, n int) {
	if c == nil || n <= 0 {
		return
	}
	r.mu.Lock()
	c.used = max(c.used-n, 0)
	r.mu.Unlock()
}

// learn records what a platform refusal says about the budget.
func (r *Replier) learn(openKfID, userID string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := custKey{openKfID, userID}
	c := r.customers[k]
	switch {
	case errors.Is(err, kf.ErrCodeSendCountLimit):
		if c == nil {
			c = &custState{last: r.now()} // unknown send time: assume recent
			r.customers[custKey{strings.Clone(openKfID), strings.Clone(userID)}] = c
		}
		c.used = ReplyBudget
	case errors.Is(err, kf.ErrCodeSendTimeLimit), errors.Is(err, kf.ErrCodeCustomerNotConsulted):
		if c != nil {
			c.last = time.Time{}
			c.lastIDs = c.lastIDs[:0]
		}
	}
}

// sentNothing reports whether a failed send certainly did not send: the
// request was refused before sending or by the platform with an errcode.
func sentNothing(err error) bool {
	if errors.Is(err, kf.ErrInvalidRequest) {
		return true
	}
	if errors.Is(err, kf.ErrOutcomeUnknown) {
		return false
	}
	var ae *kf.APIError
	return errors.As(err, &ae) && ae.Code != 0
}

// quotaFromAPI turns a platform refusal into a *QuotaError when it is one
// of the sending rules, else returns err.
func (r *Replier) quotaFromAPI(openKfID, userID string, n int, err error) error {
	qe := &QuotaError{OpenKfID: openKfID, ExternalUserID: userID, Needed: n, Err: err}
	switch {
	case errors.Is(err, kf.ErrCodeSendCountLimit):
		qe.Reason = ReasonBudgetExhausted
	case errors.Is(err, kf.ErrCodeSendTimeLimit), errors.Is(err, kf.ErrCodeCustomerNotConsulted):
		qe.Reason = ReasonWindowClosed
	case errors.Is(err, kf.ErrCodeSessionStatusInvalid):
		qe.Reason, qe.State = ReasonSessionState, -1
	default:
		return err
	}
	return qe
}

// ready checks the session state, moving it from 0 to 1 with TakeOver.
func (r *Replier) ready(ctx context.Context, openKfID, userID string, n int) error {
	if !r.checkState {
		return nil
	}
	st, err := r.sessions.State(ctx, &kf.SessionStateRequest{OpenKfID: openKfID, ExternalUserID: userID})
	if err != nil {
		return fmt.Errorf("kfsync: read session state of %s via %s: %w", userID, openKfID, err)
	}
	switch st.ServiceState {
	case kf.StateBot:
		return nil
	case kf.StateUntreated:
		if !r.takeOver {
			return nil
		}
		_, err := r.sessions.Transfer(ctx, &kf.TransferRequest{
			OpenKfID: openKfID, ExternalUserID: userID, ServiceState: kf.StateBot})
		if err != nil {
			return fmt.Errorf("kfsync: move session of %s via %s to state 1: %w", userID, openKfID, err)
		}
		return nil
	}
	return &QuotaError{Reason: ReasonSessionState, OpenKfID: openKfID, ExternalUserID: userID,
		Needed: n, State: st.ServiceState, ServicerUserID: st.ServicerUserID, Err: kf.ErrCodeSessionStatusInvalid}
}

// Reply sends msgs to a customer, in order, within the rules: it refuses
// with a *QuotaError when the 48 h window is closed or when the messages do
// not all fit in the remaining budget (nothing is sent then), checks the
// session state (moving it from 0 to 1 with TakeOver; refusing in states 2,
// 3 and 4 with an explanation of 95018), then sends. Every message is
// validated before anything is sent. It returns the msgids of the messages
// sent; after a failure in the middle, those sent before it.
func (r *Replier) Reply(ctx context.Context, openKfID, externalUserID string, msgs ...kf.Outgoing) ([]string, error) {
	n := len(msgs)
	if n == 0 {
		return nil, nil
	}
	reqs := make([]kf.SendMsgRequest, n)
	for i, m := range msgs {
		reqs[i] = kf.SendMsgRequest{ToUser: externalUserID, OpenKfID: openKfID, Msg: m}
		if err := reqs[i].Validate(); err != nil {
			return nil, err
		}
	}
	c, err := r.reserve(openKfID, externalUserID, n)
	if err != nil {
		return nil, err
	}
	if err := r.ready(ctx, openKfID, externalUserID, n); err != nil {
		r.refund(c, n)
		return nil, err
	}
	ids := make([]string, 0, n)
	for i := range reqs {
		resp, err := r.msgs.Send(ctx, &reqs[i])
		if err != nil {
			unsent := n - i - 1
			if sentNothing(err) {
				unsent++
			}
			r.refund(c, unsent)
			r.learn(openKfID, externalUserID, err)
			return ids, r.quotaFromAPI(openKfID, externalUserID, n-i, err)
		}
		ids = append(ids, resp.MsgID)
	}
	return ids, nil
}

// ReplyText sends a text of any length: it is split with SplitText into
// parts of at most 2048 bytes, and the parts are sent with Reply. When the
// parts do not all fit in the remaining budget nothing is sent (a reply cut
// in the middle is worse than none) and the *QuotaError says how many parts
// were needed and how many messages remain; split the text yourself to send
// what fits.
func (r *Replier) ReplyText(ctx context.Context, openKfID, externalUserID, text string) ([]string, error) {
	parts := SplitText(text, MaxTextBytes)
	msgs := make([]kf.Outgoing, len(parts))
	for i, p := range parts {
		msgs[i] = kf.TextMsg(p)
	}
	if len(msgs) == 0 {
		msgs = []kf.Outgoing{kf.TextMsg("")} // let validation explain
	}
	return r.Reply(ctx, openKfID, externalUserID, msgs...)
}

// Welcome sends the welcome message allowed by an enter_session event
// (send_msg_on_event with its welcome_code). It refuses with a *QuotaError
// (ErrNoWelcome) when the event has no welcome code, when this Replier has
// already used the code, or when the event is older than 20 s on the
// Replier's clock. msg must be a kf.TextMsg or a kf.MenuMsg. It does not
// touch the customer's reply budget.
func (r *Replier) Welcome(ctx context.Context, ev kf.Message, msg kf.Outgoing) (string, error) {
	qe := &QuotaError{Reason: ReasonNoWelcome, OpenKfID: ev.Account(), ExternalUserID: ev.Customer(), Needed: 1}
	e := ev.Event()
	if e == nil {
		return "", qe
	}
	es, ok := e.Payload.(*kf.EnterSession)
	if !ok || es.WelcomeCode == "" {
		return "", qe
	}
	req := &kf.SendMsgOnEventRequest{Code: es.WelcomeCode, Msg: msg}
	if err := req.Validate(); err != nil {
		return "", err
	}
	at := ev.Time()
	r.mu.Lock()
	_, used := r.welcomed[es.WelcomeCode]
	if used || r.now().Sub(at) > WelcomeWindow {
		r.mu.Unlock()
		return "", qe
	}
	r.welcomed[strings.Clone(es.WelcomeCode)] = at
	r.mu.Unlock()
	resp, err := r.msgs.SendOnEvent(ctx, req)
	if err != nil {
		if sentNothing(err) && !errors.Is(err, kf.ErrCodeInvalidMsgToken) {
			r.mu.Lock()
			delete(r.welcomed, es.WelcomeCode)
			r.mu.Unlock()
		}
		if errors.Is(err, kf.ErrCodeInvalidMsgToken) {
			qe.Err = err
			return "", qe
		}
		return "", err
	}
	return resp.MsgID, nil
}

// SplitText splits s into parts of at most maxBytes bytes (at least 4),
// never inside a UTF-8 sequence: preferably after the last newline, else
// after the last space, found in the second half of a part, else at the last
// rune boundary. Joining the parts gives s back. An empty s gives no parts.
func SplitText(s string, maxBytes int) []string {
	maxBytes = max(maxBytes, utf8.UTFMax)
	var parts []string
	for len(s) > maxBytes {
		cut := maxBytes
		for back := 0; back < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(s[cut]); back++ {
			cut--
		}
		if !utf8.RuneStart(s[cut]) { // not UTF-8 here: cut anywhere
			cut = maxBytes
		}
		if i := strings.LastIndexByte(s[:cut], '\n'); i >= cut/2 {
			cut = i + 1
		} else if i := strings.LastIndexByte(s[:cut], ' '); i >= cut/2 {
			cut = i + 1
		}
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		parts = append(parts, s)
	}
	return parts
}
