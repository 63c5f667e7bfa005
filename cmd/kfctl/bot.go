package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
)

// botRules is the built-in rule set of kfctl serve --rules FILE (JSON) and
// the bot of kfctl demo. For a customer's text the first matching rule
// answers: a menu click (clicks, or handoff.menu_ids), the handoff keywords,
// the keywords, then the echo, then the fallback. Every reply is at most
// two messages (a text and a menu), well within the platform's 5 messages
// per customer message.
type botRules struct {
	// Welcome is sent with the welcome_code of enter_session
	// (send_msg_on_event): a text or a menu, not both (one message).
	Welcome *botReply `json:"welcome,omitempty"`
	// Keywords answer texts equal to one of their keywords (trimmed,
	// case-insensitive), or containing one with "contains": true.
	Keywords []botKeyword `json:"keywords,omitempty"`
	// Clicks answer clicks on menu items, by the item's id.
	Clicks map[string]botReply `json:"clicks,omitempty"`
	// Handoff hands the session to a human.
	Handoff *botHandoff `json:"handoff,omitempty"`
	// Echo answers any other text with EchoPrefix and the text.
	Echo       bool   `json:"echo,omitempty"`
	EchoPrefix string `json:"echo_prefix,omitempty"` // default "echo: "
	// Fallback answers what nothing else answered (other message types
	// too).
	Fallback *botReply `json:"fallback,omitempty"`
}

// botReply is a text, a menu (in the platform's msgmenu form: head_content,
// list, tail_content) or both, the text first.
type botReply struct {
	Text string      `json:"text,omitempty"`
	Menu *kf.MsgMenu `json:"menu,omitempty"`
}

type botKeyword struct {
	Keywords []string `json:"keywords"`
	Contains bool     `json:"contains,omitempty"`
	Reply    botReply `json:"reply"`
}

// botHandoff moves the session to the pool (state 2, 待接入池), or to
// servicer_userid (state 3), when the customer asks for a person.
type botHandoff struct {
	Keywords []string `json:"keywords"`
	MenuIDs  []string `json:"menu_ids,omitempty"`
	// Text is said before the transfer (optional).
	Text           string `json:"text,omitempty"`
	ServicerUserID string `json:"servicer_userid,omitempty"`
}

// demoRules is the bot of kfctl demo: a welcome menu, "menu", the hours,
// a handoff on "human" or "人工", and an echo of everything else.
func demoRules() *botRules {
	menu := &kf.MsgMenu{
		HeadContent: "Hello! I am the kfctl demo bot. How can I help? 您好，请问有什么可以帮您？",
		List: []kf.MenuItem{
			kf.ClickItem("hours", "Opening hours 营业时间"),
			kf.ClickItem("echo", "Talk to the echo bot"),
			kf.ClickItem("human", "Talk to a person 转人工"),
			kf.ViewItem("https://github.com/wxkf/kf", "About kf"),
		},
		TailContent: `Or just write: I echo what you say. "menu" shows this menu again, "human" or "人工" asks for a person.`,
	}
	return &botRules{
		Welcome: &botReply{Menu: menu},
		Keywords: []botKeyword{
			{Keywords: []string{"menu", "菜单", "help", "帮助"}, Reply: botReply{Menu: menu}},
			{Keywords: []string{"hours", "营业时间"}, Reply: botReply{Text: "We are open every day, 9:00–18:00 (UTC+8). 每天 9:00–18:00 营业。"}},
		},
		Clicks: map[string]botReply{
			"hours": {Text: "We are open every day, 9:00–18:00 (UTC+8). 每天 9:00–18:00 营业。"},
			"echo":  {Text: "Write anything and I will echo it."},
		},
		Handoff: &botHandoff{
			Keywords: []string{"human", "person", "agent", "人工", "转人工"},
			MenuIDs:  []string{"human"},
			Text:     "Connecting you to a person, please wait. 正在为您转接人工客服，请稍候。",
		},
		Echo:     true,
		Fallback: &botReply{Text: "I can only read text for now. Write \"menu\" for the menu."},
	}
}

// readRules reads and checks a rules file (JSON; unknown fields are
// refused).
func readRules(name string) (*botRules, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r botRules
	if err := dec.Decode(&r); err != nil {
		return nil, usagef("--rules %s: %v", name, err)
	}
	if err := r.check(); err != nil {
		return nil, usagef("--rules %s: %v", name, err)
	}
	return &r, nil
}

// check validates every reply as send_msg would, before anything is sent.
func (r *botRules) check() error {
	if r.Welcome != nil {
		if (r.Welcome.Text != "") == (r.Welcome.Menu != nil) {
			return errors.New("welcome: give a text or a menu (send_msg_on_event sends one message)")
		}
		if err := r.Welcome.check("welcome"); err != nil {
			return err
		}
	}
	for i, k := range r.Keywords {
		if len(k.Keywords) == 0 {
			return fmt.Errorf("keywords[%d]: no keyword", i)
		}
		if err := k.Reply.check(fmt.Sprintf("keywords[%d].reply", i)); err != nil {
			return err
		}
	}
	for id, c := range r.Clicks {
		if err := c.check(fmt.Sprintf("clicks[%q]", id)); err != nil {
			return err
		}
	}
	if h := r.Handoff; h != nil {
		if len(h.Keywords) == 0 && len(h.MenuIDs) == 0 {
			return errors.New("handoff: no keyword and no menu id")
		}
		if h.Text != "" {
			if err := (&botReply{Text: h.Text}).check("handoff.text"); err != nil {
				return err
			}
		}
	}
	if r.Fallback != nil {
		if err := r.Fallback.check("fallback"); err != nil {
			return err
		}
	}
	return nil
}

func (r *botReply) check(where string) error {
	msgs := r.outgoing()
	if len(msgs) == 0 {
		return fmt.Errorf("%s: empty reply (give a text, a menu or both)", where)
	}
	for _, m := range msgs {
		req := kf.SendMsgRequest{ToUser: "wmCheck", OpenKfID: "wkCheck", Msg: m}
		if err := req.Validate(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return nil
}

// outgoing returns the messages of the reply, the text first.
func (r *botReply) outgoing() []kf.Outgoing {
	var out []kf.Outgoing
	if r.Text != "" {
		out = append(out, kf.TextMsg(r.Text))
	}
	if r.Menu != nil {
		out = append(out, kf.MenuMsg(r.Menu.HeadContent, r.Menu.TailContent, r.Menu.List...))
	}
	return out
}

// botReplyEvent tells the demo (and tests) that the bot answered a message.
type botReplyEvent struct {
	Msg  kf.Message // the customer message or enter_session event (shares memory with its page)
	Kind string     // echo, keyword, click, handoff, welcome, fallback
	IDs  []string   // msgids of the messages sent
}

// bot answers customers by the rules, through a quota-aware Replier.
type bot struct {
	rules    *botRules
	replier  *kfsync.Replier
	sessions kfsync.SessionController
	metrics  *metrics
	log      *slog.Logger
	onReply  func(botReplyEvent) // optional
}

// normalize prepares a text for keyword matching.
func normalize(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func matches(keywords []string, text string, contains bool) bool {
	t := normalize(text)
	for _, k := range keywords {
		k = normalize(k)
		if k == "" {
			continue
		}
		if t == k || (contains && strings.Contains(t, k)) {
			return true
		}
	}
	return false
}

// handle answers one synced message. It returns an error only for
// failures worth retrying (network, platform 5xx, unknown outcome): the
// Syncer then re-delivers the message later, and the replies, sent with
// msgids derived from the message's, are not delivered twice. Refusals by
// the platform's rules (a human owns the session, the budget is used up,
// the 48 h window closed) and other permanent errors are logged, counted
// and skipped.
func (b *bot) handle(ctx context.Context, m kf.Message) error {
	ctx = withReplySeq(ctx, m.Account(), m.MsgID)
	if m.MsgType == kf.MsgTypeEvent {
		e := m.Event()
		if e == nil || e.EventType != kf.EventEnterSession || b.rules.Welcome == nil {
			return nil
		}
		es, ok := e.Payload.(*kf.EnterSession)
		if !ok || es.WelcomeCode == "" {
			return nil
		}
		id, err := b.replier.Welcome(ctx, m, b.rules.Welcome.outgoing()[0])
		if err != nil {
			return b.outcome(ctx, "welcome", m, err)
		}
		b.replied(m, "welcome", []string{id})
		return nil
	}
	if m.Origin != kf.OriginCustomer {
		return nil
	}
	r := b.rules
	if t := m.Text(); t != nil {
		if t.MenuID != "" {
			if r.Handoff != nil && slices.Contains(r.Handoff.MenuIDs, t.MenuID) {
				return b.handoff(ctx, m)
			}
			if c, ok := r.Clicks[t.MenuID]; ok {
				return b.reply(ctx, m, "click", c.outgoing()...)
			}
		}
		if r.Handoff != nil && matches(r.Handoff.Keywords, t.Content, false) {
			return b.handoff(ctx, m)
		}
		for _, k := range r.Keywords {
			if matches(k.Keywords, t.Content, k.Contains) {
				return b.reply(ctx, m, "keyword", k.Reply.outgoing()...)
			}
		}
		if r.Echo {
			prefix := r.EchoPrefix
			if prefix == "" {
				prefix = "echo: "
			}
			ids, err := b.replier.ReplyText(ctx, m.Account(), m.Customer(), prefix+t.Content)
			if err != nil {
				return b.outcome(ctx, "echo", m, err)
			}
			b.replied(m, "echo", ids)
			return nil
		}
	}
	if r.Fallback != nil {
		return b.reply(ctx, m, "fallback", r.Fallback.outgoing()...)
	}
	return nil
}

func (b *bot) reply(ctx context.Context, m kf.Message, kind string, msgs ...kf.Outgoing) error {
	ids, err := b.replier.Reply(ctx, m.Account(), m.Customer(), msgs...)
	if err != nil {
		return b.outcome(ctx, kind, m, err)
	}
	b.replied(m, kind, ids)
	return nil
}

// handoff says handoff.text, then moves the session to the pool (or to a
// servicer). In a session a human already owns or that is queued, the
// Replier refuses the text and nothing more is done.
func (b *bot) handoff(ctx context.Context, m kf.Message) error {
	h := b.rules.Handoff
	var ids []string
	if h.Text != "" {
		var err error
		if ids, err = b.replier.ReplyText(ctx, m.Account(), m.Customer(), h.Text); err != nil {
			return b.outcome(ctx, "handoff", m, err)
		}
	}
	req := &kf.TransferRequest{OpenKfID: m.Account(), ExternalUserID: m.Customer(), ServiceState: kf.StateQueued}
	if h.ServicerUserID != "" {
		req.ServiceState, req.ServicerUserID = kf.StateServicer, h.ServicerUserID
	}
	if _, err := b.sessions.Transfer(ctx, req); err != nil {
		return b.outcome(ctx, "handoff", m, err)
	}
	b.metrics.inc("kf_handoffs_total", m.Account())
	b.replied(m, "handoff", ids)
	return nil
}

func (b *bot) replied(m kf.Message, kind string, ids []string) {
	b.metrics.add("kf_replies_total", float64(len(ids)), m.Account(), kind)
	if b.onReply != nil {
		b.onReply(botReplyEvent{Msg: m, Kind: kind, IDs: ids})
	}
}

// outcome decides what a failed reply means: nil (skip the message) for
// refusals and permanent errors, err (retry later) for transient ones.
func (b *bot) outcome(ctx context.Context, kind string, m kf.Message, err error) error {
	var qe *kfsync.QuotaError
	if errors.As(err, &qe) {
		b.metrics.inc("kf_replies_skipped_total", m.Account(), string(qe.Reason))
		b.log.Debug("bot: not answering", "open_kfid", m.Account(), "external_userid", m.Customer(),
			"msgid", m.MsgID, "kind", kind, "reason", err)
		return nil
	}
	if ctx.Err() != nil || transient(err) {
		return err
	}
	code := "none"
	var ae *kf.APIError
	if errors.As(err, &ae) && ae.Code != 0 {
		code = fmt.Sprint(int(ae.Code))
	}
	b.metrics.inc("kf_errors_total", "reply", code)
	b.log.Warn("bot: reply failed, message skipped", "open_kfid", m.Account(), "external_userid", m.Customer(),
		"msgid", m.MsgID, "kind", kind, "err", err)
	return nil
}

// transient reports whether err may go away on a retry: anything but a
// request refused before sending or an errcode the platform says is not
// retryable.
func transient(err error) bool {
	if errors.Is(err, kf.ErrInvalidRequest) {
		return false
	}
	var rl *kf.RateLimitError
	if errors.As(err, &rl) {
		return true
	}
	var ae *kf.APIError
	if errors.As(err, &ae) && !errors.Is(err, kf.ErrOutcomeUnknown) {
		return ae.Retryable()
	}
	return true
}

// replySeq numbers the messages sent while handling one synced message, so
// that each gets a msgid derived from the message's: when the message is
// handled again (after a crash or a failure before the commit), the platform
// recognises the msgids and delivers nothing twice.
type replySeq struct {
	base string
	n    atomic.Int64
}

type replySeqKey struct{}

func withReplySeq(ctx context.Context, openKfID, msgID string) context.Context {
	if msgID == "" {
		return ctx
	}
	return context.WithValue(ctx, replySeqKey{}, &replySeq{base: openKfID + "\x00" + msgID})
}

// nextReplyID returns the next derived msgid, or "" outside a handler.
func nextReplyID(ctx context.Context) string {
	s, _ := ctx.Value(replySeqKey{}).(*replySeq)
	if s == nil {
		return ""
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d", s.base, s.n.Add(1)-1))
	return "kfr" + hex.EncodeToString(sum[:])[:29] // 32 bytes of [0-9a-z]
}

// idemSender sends with derived msgids (see replySeq).
type idemSender struct{ kfsync.MessageSender }

func (s idemSender) Send(ctx context.Context, req *kf.SendMsgRequest) (*kf.SendMsgResponse, error) {
	if req.MsgID == "" {
		req.MsgID = nextReplyID(ctx)
	}
	return s.MessageSender.Send(ctx, req)
}

func (s idemSender) SendOnEvent(ctx context.Context, req *kf.SendMsgOnEventRequest) (*kf.SendMsgOnEventResponse, error) {
	if req.MsgID == "" {
		req.MsgID = nextReplyID(ctx)
	}
	return s.MessageSender.SendOnEvent(ctx, req)
}
