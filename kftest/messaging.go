package kftest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wxkf/kf"
)

// Time rules and limits of sessions, sending and syncing
// (shared/api-surface.md §2.1, §3.3, §3.4, §7).
const (
	sendWindow     = 48 * time.Hour   // send_msg after the customer's last message
	sendBudget     = 5                // API messages per customer message
	recallWindow   = 2 * time.Minute  // recall_msg, and customer/servicer recalls
	historyWindow  = 72 * time.Hour   // sync_msg history
	cbTokenTTL     = 10 * time.Minute // callback token for sync_msg
	welcomeCodeTTL = 20 * time.Second
	endCodeTTL     = 20 * time.Second
	replyCodeTTL   = 48 * time.Hour // queue and accept codes
	welcomeQuiet   = 48 * time.Hour // no welcome and no message for this long → welcome_code
	syncMaxLimit   = 1000
	maxOpenKfIDLen = 64
	maxCursorLen   = 64
	maxTokenLen    = 128

	// maxExchange bounds a session's recorded exchange: past it, the
	// older half is forgotten.
	maxExchange = 2000
	// sentPruneStep: every so many API messages of an account, those older
	// than 3 days are forgotten (their msgids may then be reused).
	sentPruneStep = 4096
)

func (s *Server) routesMessaging() {
	post := []string{http.MethodPost}
	s.api(endpoint{path: "/cgi-bin/kf/service_state/get", methods: post, read: true, fn: s.serviceStateGet})
	s.api(endpoint{path: "/cgi-bin/kf/service_state/trans", methods: post, fn: s.serviceStateTrans})
	s.api(endpoint{path: "/cgi-bin/kf/sync_msg", methods: post, fn: s.syncMsg})
	s.api(endpoint{path: "/cgi-bin/kf/send_msg", methods: post, fn: s.sendMsg})
	s.api(endpoint{path: "/cgi-bin/kf/send_msg_on_event", methods: post, fn: s.sendMsgOnEvent})
	s.api(endpoint{path: "/cgi-bin/kf/recall_msg", methods: post, fn: s.recallMsg})
}

// msgAccount returns the account of an API request: empty or over-long ids
// answer 95000, unknown ones 95004.
func msgAccount(st *State, openKfID string) (*account, error) {
	if openKfID == "" || len(openKfID) > maxOpenKfIDLen {
		return nil, apiErr(kf.ErrCodeInvalidOpenKfID, "invalid open_kfid")
	}
	acc := st.accounts[openKfID]
	if acc == nil {
		return nil, apiErr(kf.ErrCodeOpenKfIDNotFound, "open_kfid not exist")
	}
	return acc, nil
}

// sessionOf returns the session of a customer with an account, or nil.
func (st *State) sessionOf(openKfID, externalUserID string) *session {
	return st.sessions[sessionKey{openKfID, externalUserID}]
}

// ensureSession returns the session, creating it (state 4, nothing yet).
func (st *State) ensureSession(openKfID, externalUserID string) *session {
	k := sessionKey{openKfID, externalUserID}
	ses := st.sessions[k]
	if ses == nil {
		ses = &session{state: kf.StateEnded}
		st.sessions[k] = ses
	}
	return ses
}

// stateOf returns a session's state; no session is state 4.
func stateOf(ses *session) kf.ServiceState {
	if ses == nil {
		return kf.StateEnded
	}
	return ses.state
}

// ---------------------------------------------------------------------
// service_state

func (s *Server) serviceStateGet(c *call, st *State) (any, error) {
	var req kf.SessionStateRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if _, err := msgAccount(st, req.OpenKfID); err != nil {
		return nil, err
	}
	if req.ExternalUserID == "" {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "external_userid required")
	}
	ses := st.sessionOf(req.OpenKfID, req.ExternalUserID)
	out := kf.SessionStateResponse{ServiceState: stateOf(ses)}
	if out.ServiceState == kf.StateServicer {
		out.ServicerUserID = ses.servicer
	}
	return out, nil
}

// checkServicer applies the platform's servicer rules for a move to state 3:
// a servicer of the account who activated WeCom (else 95014) and is
// receiving (else 95019).
func checkServicer(st *State, acc *account, userID string) error {
	m := st.users[userID]
	if _, ok := acc.servicers[userID]; !ok || m == nil || !m.activated {
		return apiErr(kf.ErrCodeNotServicer, "invalid servicer userid %s: not a servicer of this account or not activated", userID)
	}
	if m.status != 0 {
		return apiErr(kf.ErrCodeServicerUnavailable, "servicer %s is not receiving", userID)
	}
	return nil
}

func (s *Server) serviceStateTrans(c *call, st *State) (any, error) {
	var req kf.TransferRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	acc, err := msgAccount(st, req.OpenKfID)
	if err != nil {
		return nil, err
	}
	if req.ExternalUserID == "" {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "external_userid required")
	}
	to := req.ServiceState
	if !to.Valid() {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid service_state %d", int(to))
	}
	ses := st.sessionOf(req.OpenKfID, req.ExternalUserID)
	from := stateOf(ses)
	if from == kf.StateEnded {
		return nil, apiErr(kf.ErrCodeSessionEnded, "session already ended")
	}
	if ok, why := kf.CanTransition(from, to); !ok {
		return nil, apiErr(kf.ErrCodeStateTransitionForbidden, "service state transition not allowed: %s", why)
	}
	if to == kf.StateEnded && from != kf.StateServicer && !s.cfg.endFromOpenStates {
		return nil, apiErr(kf.ErrCodeStateTransitionForbidden, "service state transition not allowed: only a session with a servicer can be ended")
	}
	if to == kf.StateServicer {
		if req.ServicerUserID == "" {
			return nil, apiErr(kf.ErrCodeInvalidParameter, "servicer_userid required for service_state 3")
		}
		if err := checkServicer(st, acc, req.ServicerUserID); err != nil {
			return nil, err
		}
		if from == kf.StateServicer && ses.servicer == req.ServicerUserID {
			return kf.TransferResponse{}, nil // already there: nothing changes
		}
	}
	key := sessionKey{req.OpenKfID, req.ExternalUserID}
	var out kf.TransferResponse
	switch to {
	case kf.StateBot:
		ses.state, ses.servicer = kf.StateBot, ""
	case kf.StateQueued:
		if ses.servicer != "" {
			ses.lastServicer = ses.servicer
		}
		ses.state, ses.servicer = kf.StateQueued, ""
		if !ses.visitedPool {
			ses.visitedPool = true
			out.MsgCode = s.newCode(st, codeQueue, key, ses, c.now)
		}
	case kf.StateServicer:
		ses.state, ses.servicer, ses.lastServicer = kf.StateServicer, req.ServicerUserID, req.ServicerUserID
		if !ses.visitedServicer {
			ses.visitedServicer = true
			out.MsgCode = s.newCode(st, codeAccept, key, ses, c.now)
		}
		servicerTakes(acc, c.now, req.ServicerUserID, req.ExternalUserID)
	case kf.StateEnded:
		endSession(ses)
		out.MsgCode = s.newCode(st, codeEnd, key, ses, c.now)
	}
	c.later(s.hub.publish)
	return out, nil
}

// endSession moves a session to state 4.
func endSession(ses *session) {
	if ses.servicer != "" {
		ses.lastServicer = ses.servicer
	}
	ses.state, ses.servicer = kf.StateEnded, ""
}

// startSession moves a session from state 4 to a new session in state 0.
func startSession(acc *account, ses *session, now time.Time) {
	ses.gen++
	ses.state, ses.servicer = kf.StateUntreated, ""
	ses.visitedPool, ses.visitedServicer = false, false
	acc.statsAt(now).sessions++
}

// servicerTakes records that a servicer took a session, for statistics.
func servicerTakes(acc *account, now time.Time, userID, externalUserID string) {
	sd := acc.statsAt(now).servicerAt(userID)
	sd.sessions++
	sd.customers[externalUserID] = true
}

// newCode issues a send_msg_on_event code for the session.
func (s *Server) newCode(st *State, kind codeKind, key sessionKey, ses *session, now time.Time) string {
	ttl := replyCodeTTL
	switch kind {
	case codeWelcome:
		ttl = welcomeCodeTTL
	case codeEnd:
		ttl = endCodeTTL
	}
	code := "MSGCODE" + s.randID(33)
	ec := &eventCode{kind: kind, key: key, expires: now.Add(ttl), gen: ses.gen}
	switch kind {
	case codeQueue:
		ec.forState = kf.StateQueued
	case codeAccept:
		ec.forState = kf.StateServicer
	case codeEnd:
		ec.forState = kf.StateEnded
	}
	if len(st.codes) >= 1024 && len(st.codes)%256 == 0 {
		for k, v := range st.codes { // forget codes long expired
			if now.Sub(v.expires) > time.Hour {
				delete(st.codes, k)
			}
		}
	}
	st.codes[code] = ec
	return code
}

// ---------------------------------------------------------------------
// send_msg, send_msg_on_event, recall_msg

// validationCode maps a failed kf Validate to the platform's errcode:
// empty text 44004, text too long 45002, more than 10 menu items 95008, an
// unknown menu item type 95009, a bad open_kfid 95000, a msgtype that cannot
// be sent 40008, anything else 40058.
func validationCode(err error) error {
	var ve *kf.ValidationError
	if !errors.As(err, &ve) {
		return apiErr(kf.ErrCodeInvalidParameter, "%v", err)
	}
	code := kf.ErrCodeInvalidParameter
	switch f := ve.Field; {
	case f == "text.content" && ve.Reason == "required":
		code = kf.ErrCodeEmptyContent
	case f == "text.content":
		code = kf.ErrCodeContentTooLong
	case f == "msgmenu.list" && !strings.HasPrefix(ve.Reason, "has 0 "):
		code = kf.ErrCodeMenuItemLimit
	case strings.HasPrefix(f, "msgmenu.list[") && strings.HasSuffix(f, "].type"):
		code = kf.ErrCodeInvalidMenuItemType
	case f == "open_kfid":
		code = kf.ErrCodeInvalidOpenKfID
	case f == "msgtype":
		code = kf.ErrCodeInvalidMsgType
	}
	return apiErr(code, "invalid %s: %s", ve.Field, ve.Reason)
}

// checkMedia checks the media a message refers to: a media_id must be an
// uploaded medium of the message's type, a thumb_media_id an uploaded one,
// not older than 3 days (else 40007).
func checkMedia(st *State, m kf.Outgoing, now time.Time) error {
	t := string(m.Type())
	switch m.Type() {
	case kf.MsgTypeImage, kf.MsgTypeVoice, kf.MsgTypeVideo, kf.MsgTypeFile, kf.MsgTypeLink, kf.MsgTypeMiniProgram:
	default:
		return nil
	}
	p, err := m.Payload()
	if err != nil {
		return apiErr(kf.ErrCodeInvalidParameter, "bad %s payload", t)
	}
	var ids struct {
		MediaID      string `json:"media_id"`
		ThumbMediaID string `json:"thumb_media_id"`
	}
	_ = json.Unmarshal(p, &ids)
	check := func(field, id, typ string) error {
		if st.liveMedia(id, typ, now) == nil {
			return apiErr(kf.ErrCodeInvalidMediaID, "invalid media_id in %s.%s", t, field)
		}
		return nil
	}
	if ids.MediaID != "" || (t != "link" && t != "miniprogram") {
		if err := check("media_id", ids.MediaID, t); err != nil {
			return err
		}
	}
	if ids.ThumbMediaID != "" {
		return check("thumb_media_id", ids.ThumbMediaID, "")
	}
	return nil
}

// newSentID returns a msgid unused in the account.
func (s *Server) newSentID(acc *account) string {
	for {
		id := s.randID(32)
		if acc.sent[id] == nil {
			return id
		}
	}
}

func (s *Server) sendMsg(c *call, st *State) (any, error) {
	var req kf.SendMsgRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, validationCode(err)
	}
	acc, err := msgAccount(st, req.OpenKfID)
	if err != nil {
		return nil, err
	}
	if old := acc.sent[req.MsgID]; req.MsgID != "" && old != nil {
		// A reused msgid does not deliver again: the first answer repeats
		// (this makes the client's retries safe).
		return kf.SendMsgResponse{MsgID: old.msgID}, nil
	}
	ses := st.sessionOf(req.OpenKfID, req.ToUser)
	switch {
	case ses == nil || !ses.consulted:
		return nil, apiErr(kf.ErrCodeCustomerNotConsulted, "customer has not consulted this account")
	case !c.now.Before(ses.lastCustomerMsg.Add(sendWindow)):
		return nil, apiErr(kf.ErrCodeSendTimeLimit, "send msg time limit: more than 48 hours since the customer's last message")
	case ses.state != kf.StateUntreated && ses.state != kf.StateBot:
		return nil, apiErr(kf.ErrCodeSessionStatusInvalid, "send msg session status invalid")
	case ses.budget <= 0:
		return nil, apiErr(kf.ErrCodeSendCountLimit, "send msg count limit: 5 messages per customer message")
	}
	if err := checkMedia(st, req.Msg, c.now); err != nil {
		return nil, err
	}
	id := req.MsgID
	if id == "" {
		id = s.newSentID(acc)
	}
	ses.budget--
	s.deliverAPI(c, acc, sessionKey{req.OpenKfID, req.ToUser}, ses, id, "api", req.Msg)
	return kf.SendMsgResponse{MsgID: id}, nil
}

// deliverAPI records a message sent through the API: in the account's sent
// messages (never in the sync log) and in the customer's view.
func (s *Server) deliverAPI(c *call, acc *account, key sessionKey, ses *session, id, from string, m kf.Outgoing) {
	p, _ := m.Payload()
	if len(acc.sent) >= sentPruneStep && len(acc.sent)%sentPruneStep == 0 {
		for k, v := range acc.sent {
			if c.now.Sub(v.sentAt) >= historyWindow {
				delete(acc.sent, k)
			}
		}
	}
	acc.sent[id] = &sentMsg{msgID: id, key: key, sentAt: c.now, msgType: string(m.Type())}
	ses.record(Delivered{MsgID: id, From: from, MsgType: string(m.Type()), Payload: p, SentAt: c.now})
	c.later(s.hub.publish)
}

func (s *Server) sendMsgOnEvent(c *call, st *State) (any, error) {
	var req kf.SendMsgOnEventRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, validationCode(err)
	}
	ec := st.codes[req.Code]
	if ec == nil {
		return nil, apiErr(kf.ErrCodeInvalidMsgToken, "invalid msg code")
	}
	acc := st.accounts[ec.key.openKfID]
	if acc == nil {
		return nil, apiErr(kf.ErrCodeInvalidMsgToken, "invalid msg code: the account was deleted")
	}
	if old := acc.sent[req.MsgID]; req.MsgID != "" && old != nil {
		return kf.SendMsgOnEventResponse{MsgID: old.msgID}, nil
	}
	ses := st.sessions[ec.key]
	switch {
	case ec.used:
		return nil, apiErr(kf.ErrCodeInvalidMsgToken, "invalid msg code: already used")
	case !c.now.Before(ec.expires):
		return nil, apiErr(kf.ErrCodeInvalidMsgToken, "invalid msg code: expired")
	case ec.kind != codeWelcome && (ses == nil || ses.gen != ec.gen || ses.state != ec.forState):
		return nil, apiErr(kf.ErrCodeInvalidMsgToken, "invalid msg code: the session left the state of the code")
	case (ec.kind == codeQueue || ec.kind == codeAccept) && req.Msg.Type() != kf.MsgTypeText:
		return nil, apiErr(kf.ErrCodeInvalidMsgType, "invalid msgtype %s: this code allows text only", req.Msg.Type())
	}
	if ses == nil {
		ses = st.ensureSession(ec.key.openKfID, ec.key.externalUserID)
	}
	id := req.MsgID
	if id == "" {
		id = s.newSentID(acc)
	}
	ec.used = true
	if ec.kind == codeWelcome {
		ses.lastWelcome = c.now
	}
	s.deliverAPI(c, acc, ec.key, ses, id, "event", req.Msg)
	return kf.SendMsgOnEventResponse{MsgID: id}, nil
}

func (s *Server) recallMsg(c *call, st *State) (any, error) {
	var req kf.RecallMsgRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	acc, err := msgAccount(st, req.OpenKfID)
	if err != nil {
		return nil, err
	}
	sm := acc.sent[req.MsgID]
	switch {
	case req.MsgID == "" || sm == nil:
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid msgid: no message sent through the API with this msgid")
	case sm.recall:
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid msgid: message already recalled")
	case c.now.Sub(sm.sentAt) > recallWindow:
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid msgid: a message can only be recalled within 2 minutes")
	}
	sm.recall = true
	if ses := st.sessions[sm.key]; ses != nil {
		if d := findDelivered(ses, req.MsgID); d != nil {
			d.Recalled = true
		}
	}
	c.later(s.hub.publish)
	return nil, nil
}

// record appends to the session's exchange, forgetting the older half when
// it is full.
func (ses *session) record(d Delivered) {
	if len(ses.received) >= maxExchange {
		ses.received = append([]Delivered(nil), ses.received[len(ses.received)-maxExchange/2:]...)
	}
	ses.received = append(ses.received, d)
}

// findDelivered returns the newest entry of the exchange with the msgid.
func findDelivered(ses *session, msgID string) *Delivered {
	for i := len(ses.received) - 1; i >= 0; i-- {
		if ses.received[i].MsgID == msgID {
			return &ses.received[i]
		}
	}
	return nil
}

// ---------------------------------------------------------------------
// sync log

// msgHead is the envelope of a logged message (§2.2).
type msgHead struct {
	MsgID          string    `json:"msgid"`
	OpenKfID       string    `json:"open_kfid,omitempty"`
	ExternalUserID string    `json:"external_userid,omitempty"`
	SendTime       int64     `json:"send_time"`
	Origin         kf.Origin `json:"origin"`
	ServicerUserID string    `json:"servicer_userid,omitempty"`
	MsgType        string    `json:"msgtype"`
}

// rawMessage encodes a logged message: the envelope plus the payload under
// the msgtype key. msgtype is one of the known tokens and payload a compact
// JSON value.
func rawMessage(h msgHead, payload []byte) []byte {
	b, _ := json.Marshal(h)
	b = b[:len(b)-1]
	b = append(b, `,"`...)
	b = append(b, h.MsgType...)
	b = append(b, `":`...)
	b = append(b, payload...)
	return append(b, '}')
}

// appendLog appends a message or event to the account's sync log and, after
// the change is committed, posts a callback and wakes live viewers.
func (s *Server) appendLog(c *call, st *State, acc *account, msgID string, raw []byte) {
	acc.log = append(acc.log, logEntry{seq: acc.logBase + uint64(len(acc.log)), at: c.now, msgID: msgID, raw: raw})
	// Forget entries that no cursor can reach any more (with an hour of
	// slack for clocks set backwards), a batch at a time.
	cut := c.now.Add(-historyWindow - time.Hour)
	n := 0
	for n < len(acc.log) && acc.log[n].at.Before(cut) {
		n++
	}
	if n >= 256 || (n > 0 && n*2 >= len(acc.log)) {
		acc.log = append([]logEntry(nil), acc.log[n:]...)
		acc.logBase += uint64(n)
	}
	if s.cb != nil {
		tok := s.newSyncToken(st, acc.openKfID, c.now)
		id, at := acc.openKfID, c.now
		c.later(func() { s.cb.enqueue(id, kfMsgOrEvent(id, tok, at)) })
	}
	c.later(s.hub.publish)
}

// newSyncToken issues a sync_msg token bound to the account, valid 10
// minutes (the Token of a kf_msg_or_event callback).
func (s *Server) newSyncToken(st *State, openKfID string, now time.Time) string {
	if len(st.cbTokens) >= 1024 && len(st.cbTokens)%256 == 0 {
		for k, v := range st.cbTokens {
			if !now.Before(v.expires) {
				delete(st.cbTokens, k)
			}
		}
	}
	tok := "ENC" + s.randID(61)
	st.cbTokens[tok] = cbToken{openKfID: openKfID, expires: now.Add(cbTokenTTL)}
	return tok
}

// cursorTag is the account part of a cursor.
func cursorTag(openKfID string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(openKfID))
	return h.Sum64()
}

// encodeCursor returns the opaque cursor of a log position: base64url of the
// account's tag, the sequence number and, after empty pages, how many empty
// pages were served at that position. The same position (reached by a page
// with messages) always has the same cursor, and a cursor of another account
// is recognised.
func encodeCursor(tag, seq, empties uint64) string {
	var b [8 + 2*binary.MaxVarintLen64]byte
	binary.BigEndian.PutUint64(b[:8], tag)
	n := 8 + binary.PutUvarint(b[8:], seq)
	if empties > 0 {
		n += binary.PutUvarint(b[n:], empties)
	}
	return base64.RawURLEncoding.EncodeToString(b[:n])
}

func decodeCursor(tag uint64, cur string) (seq, empties uint64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil || len(b) < 9 || binary.BigEndian.Uint64(b[:8]) != tag {
		return 0, 0, false
	}
	b = b[8:]
	seq, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, 0, false
	}
	if b = b[n:]; len(b) > 0 {
		empties, n = binary.Uvarint(b)
		if n <= 0 || n != len(b) || empties == 0 {
			return 0, 0, false
		}
	}
	return seq, empties, true
}

func (s *Server) syncMsg(c *call, st *State) (any, error) {
	var req kf.SyncMsgRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	acc, err := msgAccount(st, req.OpenKfID)
	if err != nil {
		return nil, err
	}
	switch {
	case len(req.Cursor) > maxCursorLen:
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid cursor: longer than 64 bytes")
	case req.Limit > syncMaxLimit:
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid limit %d: at most 1000", req.Limit)
	case req.VoiceFormat != kf.VoiceFormatAMR && req.VoiceFormat != kf.VoiceFormatSILK:
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid voice_format %d", req.VoiceFormat)
	}
	if req.Token != "" {
		t, ok := st.cbTokens[req.Token]
		if len(req.Token) > maxTokenLen || !ok || t.openKfID != acc.openKfID || !c.now.Before(t.expires) {
			return nil, apiErr(kf.ErrCodeInvalidMsgToken, "invalid msg token")
		}
	} else {
		w := &acc.tokenless
		if c.now.Before(w.start) || !c.now.Before(w.start.Add(s.cfg.tokenlessWindow)) {
			w.start, w.n = c.now, 0
		}
		if w.n >= s.cfg.tokenlessLimit {
			return nil, apiErr(kf.ErrCodeFrequencyLimit, "api freq out of limit: sync_msg without a callback token is limited to %d calls per %v", s.cfg.tokenlessLimit, s.cfg.tokenlessWindow)
		}
		w.n++
	}
	tag := cursorTag(acc.openKfID)
	end := acc.logBase + uint64(len(acc.log))
	seq, empties := acc.logBase, uint64(0)
	if req.Cursor != "" {
		var ok bool
		seq, empties, ok = decodeCursor(tag, req.Cursor)
		if !ok || seq > end {
			return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid cursor")
		}
		if seq < acc.logBase {
			seq = acc.logBase
		}
	}
	limit := int(req.Limit)
	if limit == 0 {
		limit = syncMaxLimit
	}
	cut := c.now.Add(-historyWindow)
	i := int(seq - acc.logBase)
	for i < len(acc.log) && !acc.log[i].at.After(cut) {
		i++
	}
	if i < len(acc.log) && s.cfg.emptyPageRate > 0 && s.randFloat() < s.cfg.emptyPageRate {
		// The platform sometimes answers an empty page although messages
		// are pending: has_more = 1, and no message is skipped. The
		// cursor keeps its position but changes (as the platform's does
		// when it passes records the app cannot see), so that clients
		// which refuse a repeated cursor keep going.
		return rawReply(`{"next_cursor":"` + encodeCursor(tag, seq, empties+1) + `","has_more":1,"msg_list":[]}`), nil
	}
	size := 64
	j := i
	for k := 0; j < len(acc.log) && k < limit; j++ {
		if !acc.log[j].at.After(cut) {
			continue
		}
		size += len(acc.log[j].raw) + 1
		k++
	}
	b := make([]byte, 0, size)
	b = append(b, `{"msg_list":[`...)
	first := true
	for k := i; k < j; k++ {
		if !acc.log[k].at.After(cut) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, acc.log[k].raw...)
	}
	b = append(b, `],"next_cursor":"`...)
	b = append(b, encodeCursor(tag, acc.logBase+uint64(j), 0)...)
	if j < len(acc.log) {
		b = append(b, `","has_more":1}`...)
	} else {
		b = append(b, `","has_more":0}`...)
	}
	return rawReply(b), nil
}

// ---------------------------------------------------------------------
// events

// eventRaw encodes a system event message (origin 4, no top-level
// open_kfid or external_userid).
func eventRaw(msgID string, now time.Time, event any) (raw, payload []byte) {
	payload, _ = json.Marshal(event)
	return rawMessage(msgHead{MsgID: msgID, SendTime: now.Unix(), Origin: kf.OriginSystem, MsgType: "event"}, payload), payload
}

// logEvent appends an event to the account's sync log and, when it concerns
// a customer, to the session's exchange (From "system").
func (s *Server) logEvent(c *call, st *State, acc *account, ses *session, event any) string {
	id := st.nextID("evt_")
	raw, payload := eventRaw(id, c.now, event)
	s.appendLog(c, st, acc, id, raw)
	if ses != nil {
		ses.record(Delivered{MsgID: id, From: "system", MsgType: "event",
			Payload: payload, SentAt: c.now, Origin: kf.OriginSystem})
	}
	return id
}

// Event bodies (§2.4), in the documented field order.
type (
	evEnterSession struct {
		EventType      string              `json:"event_type"`
		OpenKfID       string              `json:"open_kfid"`
		ExternalUserID string              `json:"external_userid"`
		Scene          string              `json:"scene,omitempty"`
		SceneParam     string              `json:"scene_param,omitempty"`
		WelcomeCode    string              `json:"welcome_code,omitempty"`
		WeChatChannels *WeChatChannelsInfo `json:"wechat_channels,omitempty"`
	}
	evMsgSendFail struct {
		EventType      string `json:"event_type"`
		OpenKfID       string `json:"open_kfid"`
		ExternalUserID string `json:"external_userid"`
		FailMsgID      string `json:"fail_msgid"`
		FailType       int    `json:"fail_type"`
	}
	evServicerStatus struct {
		EventType      string `json:"event_type"`
		OpenKfID       string `json:"open_kfid"`
		ServicerUserID string `json:"servicer_userid"`
		Status         int    `json:"status"`
		StopType       int    `json:"stop_type"`
	}
	evSessionStatus struct {
		EventType         string `json:"event_type"`
		OpenKfID          string `json:"open_kfid"`
		ExternalUserID    string `json:"external_userid"`
		ChangeType        int    `json:"change_type"`
		OldServicerUserID string `json:"old_servicer_userid,omitempty"`
		NewServicerUserID string `json:"new_servicer_userid,omitempty"`
		MsgCode           string `json:"msg_code,omitempty"`
	}
	evRecall struct {
		EventType      string `json:"event_type"`
		OpenKfID       string `json:"open_kfid"`
		ExternalUserID string `json:"external_userid"`
		RecallMsgID    string `json:"recall_msgid"`
		ServicerUserID string `json:"servicer_userid,omitempty"`
	}
	evRejectSwitch struct {
		EventType      string `json:"event_type"`
		OpenKfID       string `json:"open_kfid"`
		ExternalUserID string `json:"external_userid"`
		ServicerUserID string `json:"servicer_userid"`
		RejectSwitch   int    `json:"reject_switch"`
	}
)

// compactObject returns p as compact JSON if it is a JSON object.
func compactObject(p []byte) ([]byte, bool) {
	var b bytes.Buffer
	if err := json.Compact(&b, p); err != nil || b.Len() < 2 || b.Bytes()[0] != '{' {
		return nil, false
	}
	return b.Bytes(), true
}

// itoa is strconv.Itoa, for brevity.
func itoa(n int) string { return strconv.Itoa(n) }
