package kftest

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/wxkf/kf/internal/wxcrypto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wxkf/kf/mp"
)

// Customer messages (§8.5), typing, chat records (§8.4), and the user and
// worker drivers that produce them.

// OASource says how a user received a message.
type OASource string

// Sources of received messages.
const (
	OASourceAPI    OASource = "api"    // message/custom/send
	OASourceWorker OASource = "worker" // a worker in the customer-service client (WorkerSend)
	OASourceReply  OASource = "reply"  // the passive reply to a pushed user message
)

// OAMessage is a message a user received.
type OAMessage struct {
	Time      time.Time
	Source    OASource
	KfAccount string // the worker it was sent as, if any
	MsgType   string // text, image, news, ...
	Text      string // the text, or "[image]", "[news]", ... for other types
	Raw       []byte // the JSON request (api), or the reply XML (reply)
}

// OAUserMessage is a message a user sends (see UserSendMessage).
type OAUserMessage struct {
	MsgType      string // text, image, voice, video, shortvideo, link
	Content      string // text
	PicURL       string // image
	MediaID      string // image, voice, video, shortvideo
	Format       string // voice (amr, speex)
	ThumbMediaID string // video, shortvideo
	Title        string // link
	Description  string // link
	URL          string // link
}

// OAUserText returns a text message from a user.
func OAUserText(content string) OAUserMessage {
	return OAUserMessage{MsgType: "text", Content: content}
}

// OAUserImage returns an image message from a user.
func OAUserImage(picURL, mediaID string) OAUserMessage {
	return OAUserMessage{MsgType: "image", PicURL: picURL, MediaID: mediaID}
}

func (m *OAUserMessage) validate() error {
	switch m.MsgType {
	case "text":
		if m.Content == "" {
			return errors.New("empty text")
		}
	case "image", "voice", "video", "shortvideo":
		if m.MediaID == "" {
			return errors.New("empty MediaID")
		}
	case "link":
		if m.URL == "" {
			return errors.New("empty URL")
		}
	default:
		return fmt.Errorf("unsupported MsgType %q", m.MsgType)
	}
	return nil
}

// recordText is how the message appears in chat records.
func (m *OAUserMessage) recordText() string {
	switch m.MsgType {
	case "text":
		return m.Content
	case "shortvideo":
		return "[video]"
	}
	return "[" + m.MsgType + "]"
}

// xml returns the message as pushed to the server URL.
func (m *OAUserMessage) xml(to, from string, at time.Time, msgID int64) []byte {
	x := wxcrypto.NewXMLWriter()
	x.CDATA("ToUserName", to)
	x.CDATA("FromUserName", from)
	x.Text("CreateTime", strconv.FormatInt(at.Unix(), 10))
	x.CDATA("MsgType", m.MsgType)
	switch m.MsgType {
	case "text":
		x.CDATA("Content", m.Content)
	case "image":
		x.CDATA("PicUrl", m.PicURL)
		x.CDATA("MediaId", m.MediaID)
	case "voice":
		x.CDATA("MediaId", m.MediaID)
		x.CDATA("Format", m.Format)
	case "video", "shortvideo":
		x.CDATA("MediaId", m.MediaID)
		x.CDATA("ThumbMediaId", m.ThumbMediaID)
	case "link":
		x.CDATA("Title", m.Title)
		x.CDATA("Description", m.Description)
		x.CDATA("Url", m.URL)
	}
	x.Text("MsgId", strconv.FormatInt(msgID, 10))
	return x.Done()
}

// ---------------------------------------------------------------------------
// message/custom/send

// oaCustomSend serves POST /cgi-bin/message/custom/send: 40003 unknown
// openid; 40008 bad msgtype; 45008 news with more than one article; 45002
// text over 2048 bytes; 40200 msgmenu when not allowed; 65401/65404 unknown
// customservice.kf_account; 45015 no user message in the last 48 h; 45047
// the 5 messages of the window used.
func (s *OAServer) oaCustomSend(c *oaCall, st *oaState, now time.Time) (any, error) {
	var req mp.SendMessageRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	u, err := knownUser(st, req.ToUser)
	if err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, sendValidationErr(err, &req)
	}
	typ := req.Msg.Type()
	text := renderOutgoing(req.Msg)
	switch {
	case typ == mp.MsgTypeMsgMenu && !s.cfg.msgMenu:
		return nil, oaErr(mp.ErrCodeInvalidAccountType, "invalid account type")
	case typ == mp.MsgTypeText && len(text) > oaTextMaxBytes:
		return nil, oaErr(mp.ErrCodeContentTooLong, "content size out of limit")
	}
	if req.KfAccount != "" {
		if _, err := s.account(st, req.KfAccount); err != nil {
			return nil, err
		}
	}
	if err := u.takeWindow(now); err != nil {
		return nil, err
	}
	u.received = append(u.received, OAMessage{Time: now, Source: OASourceAPI, KfAccount: req.KfAccount,
		MsgType: string(typ), Text: text, Raw: slices.Clone(c.body)})
	if req.KfAccount != "" {
		st.record(req.ToUser, mp.OperCodeWorkerSent, text, now, req.KfAccount)
		if se := st.sessions[req.ToUser]; se != nil && se.kfAccount == req.KfAccount {
			se.last = now
		}
	}
	return nil, nil
}

// sendValidationErr maps an mp validation failure to the platform's code.
func sendValidationErr(err error, req *mp.SendMessageRequest) error {
	var ve *mp.ValidationError
	if !errors.As(err, &ve) {
		return oaErr(47001, "data format error")
	}
	switch f := ve.Field; {
	case f == "touser":
		return oaErr(mp.ErrCodeInvalidUserID, "invalid openid")
	case f == "msgtype":
		return oaErr(40008, "invalid message type")
	case f == "customservice.kf_account":
		return oaErr(mp.ErrCodeInvalidKfAccountName, "invalid kf_account")
	case f == "news.articles":
		var news struct {
			Articles []json.RawMessage `json:"articles"`
		}
		if p, _ := req.Msg.Payload(); json.Unmarshal(p, &news) == nil && len(news.Articles) > 1 {
			return oaErr(mp.ErrCodeTooManyArticles, "article size out of limit")
		}
		return oaErr(44003, "empty news data")
	case f == "text.content":
		return oaErr(44004, "empty content")
	case strings.HasSuffix(f, "media_id"):
		return oaErr(40007, "invalid media_id")
	}
	return oaErr(47001, "data format error: %s", ve.Reason)
}

// renderOutgoing returns the text of a text message, or "[msgtype]".
func renderOutgoing(m mp.Outgoing) string {
	if m.Type() == mp.MsgTypeText {
		p, _ := m.Payload()
		var t struct {
			Content string `json:"content"`
		}
		_ = json.Unmarshal(p, &t)
		return t.Content
	}
	return "[" + string(m.Type()) + "]"
}

// oaTypingReq is the body of message/custom/typing.
type oaTypingReq struct {
	ToUser  string `json:"touser"`
	Command string `json:"command"`
}

// oaCustomTyping serves POST /cgi-bin/message/custom/typing: it needs the
// window a message would need (45015, 45047). Typing lasts 15 s (or until a
// message is sent); CancelTyping ends it.
func (s *OAServer) oaCustomTyping(c *oaCall, st *oaState, now time.Time) (any, error) {
	var req oaTypingReq
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	u, err := knownUser(st, req.ToUser)
	if err != nil {
		return nil, err
	}
	if req.Command != "Typing" && req.Command != "CancelTyping" {
		return nil, oaErr(47001, "data format error: command must be Typing or CancelTyping")
	}
	if err := u.checkWindow(now); err != nil {
		return nil, err
	}
	if req.Command == "Typing" {
		u.typingUntil = now.Add(oaTypingLasts)
	} else {
		u.typingUntil = time.Time{}
	}
	return nil, nil
}

// ---------------------------------------------------------------------------
// msgrecord/getmsglist

// oaRecordList serves POST /customservice/msgrecord/getmsglist: records
// with starttime ≤ time ≤ endtime and id ≥ msgid, in id order, at most
// number; the reply's msgid is the id to ask for next. A span over 24 h,
// endtime before starttime, a missing time, a negative msgid or number
// outside 1..10000 answer 65416.
func (s *OAServer) oaRecordList(c *oaCall, st *oaState, now time.Time) (any, error) {
	var req mp.ListRecordsRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	switch {
	case req.StartTime <= 0 || req.EndTime <= 0 || req.EndTime < req.StartTime:
		return nil, oaErr(mp.ErrCodeInvalidQueryParams, "invalid query params: starttime/endtime")
	case req.EndTime-req.StartTime > oaRecordSpan:
		return nil, oaErr(mp.ErrCodeInvalidQueryParams, "invalid query params: time span over 24 hours")
	case req.MsgID < 0 || req.Number < 1 || req.Number > oaRecordNumberMax:
		return nil, oaErr(mp.ErrCodeInvalidQueryParams, "invalid query params: msgid/number")
	}
	next := max(req.MsgID, 1)
	out := mp.ListRecordsResponse{Records: []mp.Record{}}
	for _, r := range st.records {
		if len(out.Records) == req.Number {
			break
		}
		if r.id < next || r.Time < req.StartTime || r.Time > req.EndTime {
			continue
		}
		out.Records = append(out.Records, r.Record)
		next = r.id + 1
	}
	out.Number, out.MsgID = len(out.Records), next
	return out, nil
}

// ---------------------------------------------------------------------------
// Drivers

// UserSend plays a user writing text to the Official Account; see
// UserSendMessage.
func (s *OAServer) UserSend(openid, text string) (reply []byte, err error) {
	return s.UserSendMessage(openid, OAUserText(text))
}

// UserSendMessage plays a user sending m. The message opens the user's
// customer-message window (5 messages within 48 h). While a worker serves
// the user, the message goes to the worker (a chat record with opercode
// 2003) and nothing is pushed. Otherwise it is pushed to the server URL (if
// configured) and UserSendMessage returns the app's passive reply, decrypted
// in safe mode (nil for an empty or "success" answer), after acting on it: a
// transfer_customer_service reply puts the user in the wait queue, or with
// TransInfo hands the user straight to that worker; another reply is
// received by the user. err reports a failed push or an invalid reply (bad
// signature or encryption, wrong ToUserName/FromUserName, unknown type).
func (s *OAServer) UserSendMessage(openid string, m OAUserMessage) (reply []byte, err error) {
	if openid == "" {
		return nil, errors.New("kftest: UserSend: empty openid")
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("kftest: UserSend: %w", err)
	}
	var (
		body      []byte
		forwarded bool
		at        time.Time
	)
	text := m.recordText()
	_ = s.update(func(st *oaState, now time.Time) error {
		u := st.user(openid)
		u.lastMsg, u.quota, at = now, oaWindowQuota, now
		if se := st.sessions[openid]; se != nil {
			se.last = now
			st.record(openid, mp.OperCodeWorkerReceived, text, now, se.kfAccount)
			forwarded = true
			return nil
		}
		if w := st.queue[openid]; w != nil {
			w.latest = now
		}
		st.msgID++
		body = m.xml(s.cfg.originalID, openid, now, st.msgID)
		return nil
	})
	if forwarded || s.cfg.callback == nil {
		return nil, nil
	}
	res := s.deliver(s.closeCtx, oaPushJob{openid: openid, msgType: m.MsgType, xml: body})
	if res.Err != "" {
		return nil, fmt.Errorf("kftest: UserSend: push: %s", res.Err)
	}
	plain, err := s.openReply(res.Reply)
	if err != nil {
		return nil, fmt.Errorf("kftest: UserSend: reply: %w", err)
	}
	if plain == nil {
		return nil, nil
	}
	if err := s.applyReply(openid, text, at, plain); err != nil {
		return plain, fmt.Errorf("kftest: UserSend: reply: %w", err)
	}
	return plain, nil
}

// transfer acts on a transfer_customer_service reply.
func (s *OAServer) transfer(openid, text string, at time.Time, target string) {
	_ = s.update(func(st *oaState, now time.Time) error {
		if se := st.sessions[openid]; se != nil { // assigned meanwhile
			st.record(openid, mp.OperCodeWorkerReceived, text, at, se.kfAccount)
			return nil
		}
		w := st.queue[openid]
		if w == nil {
			w = &oaWait{openid: openid, latest: at}
			st.queue[openid] = w
		}
		w.pending = append(w.pending, oaPending{text: text, at: at})
		if a := st.accounts[target]; target != "" && a != nil && a.wx != "" {
			// §8.6: the named worker gets the user even if it cannot
			// accept (offline, or its automatic limit reached).
			s.openSession(st, now, openid, target)
			return nil
		}
		s.autoAssign(st, now)
		return nil
	})
}

// WorkerSend plays the worker writing to the user in the customer-service
// client. The worker must serve the user, and the message needs the
// customer-message window like any customer message (45015, 45047). It is
// recorded with opercode 2002.
func (s *OAServer) WorkerSend(kfAccount, openid, text string) error {
	return s.update(func(st *oaState, now time.Time) error {
		se := st.sessions[openid]
		if se == nil || se.kfAccount != kfAccount {
			return fmt.Errorf("kftest: WorkerSend: %q does not serve %q", kfAccount, openid)
		}
		u := st.user(openid)
		if err := u.takeWindow(now); err != nil {
			return fmt.Errorf("kftest: WorkerSend: %w", err)
		}
		se.last = now
		u.received = append(u.received, OAMessage{Time: now, Source: OASourceWorker, KfAccount: kfAccount, MsgType: "text", Text: text})
		st.record(openid, mp.OperCodeWorkerSent, text, now, kfAccount)
		return nil
	})
}

// Received returns the messages the user received, oldest first.
func (s *OAServer) Received(openid string) []OAMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.st.users[openid]; u != nil {
		return slices.Clone(u.received)
	}
	return nil
}

// Records returns every chat record, in msgid order.
func (s *OAServer) Records() []mp.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]mp.Record, len(s.st.records))
	for i, r := range s.st.records {
		out[i] = r.Record
	}
	return out
}

// Window returns when the user's customer-message window closes and how
// many messages are left in it (zero time and 0 when it is closed).
func (s *OAServer) Window(openid string) (closes time.Time, left int) {
	_ = s.update(func(st *oaState, now time.Time) error {
		if u := st.users[openid]; u != nil && u.windowOpen(now) {
			closes, left = u.lastMsg.Add(oaWindow), u.quota
		}
		return nil
	})
	return closes, left
}

// Typing reports whether the user sees "typing…" now.
func (s *OAServer) Typing(openid string) bool {
	var on bool
	_ = s.update(func(st *oaState, now time.Time) error {
		if u := st.users[openid]; u != nil {
			on = !u.typingUntil.IsZero()
		}
		return nil
	})
	return on
}
