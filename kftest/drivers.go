package kftest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wxkf/kf"
)

// Errors of the drivers (and of the control API, which answers them with
// HTTP 404, 409 and 400). They are wrapped with details; match them with
// errors.Is.
var (
	// ErrNotFound: an unknown account, customer, servicer or message.
	ErrNotFound = errors.New("kftest: not found")
	// ErrNotAllowed: the action is impossible in the current state (for
	// example a servicer ending a session that is not theirs).
	ErrNotAllowed = errors.New("kftest: not allowed")
	// ErrInvalid: a malformed argument.
	ErrInvalid = errors.New("kftest: invalid argument")
)

// action runs fn as one atomic change of the state, like an API call, then
// its after-commit effects (callbacks, live updates). fn must check before
// it changes anything.
func (s *Server) action(fn func(c *call, st *State) error) error {
	c := &call{s: s, now: s.clock.Now()}
	if err := s.store.Update(func(st *State) error { return fn(c, st) }); err != nil {
		return err
	}
	for _, f := range c.after {
		f()
	}
	return nil
}

// driverAccount returns the account or an ErrNotFound error.
func driverAccount(st *State, openKfID string) (*account, error) {
	acc := st.accounts[openKfID]
	if acc == nil {
		return nil, fmt.Errorf("%w: open_kfid %q", ErrNotFound, openKfID)
	}
	return acc, nil
}

// driverCustomer returns the account and the customer or an ErrNotFound
// error.
func driverCustomer(st *State, openKfID, externalUserID string) (*account, *customer, error) {
	acc, err := driverAccount(st, openKfID)
	if err != nil {
		return nil, nil, err
	}
	cu := st.customers[externalUserID]
	if cu == nil {
		return nil, nil, fmt.Errorf("%w: external_userid %q (add it with AddCustomer)", ErrNotFound, externalUserID)
	}
	return acc, cu, nil
}

// driverServicer checks that userID is an activated servicer of the account.
// With receiving set it must also be receiving.
func driverServicer(st *State, acc *account, userID string, receiving bool) error {
	m := st.users[userID]
	if _, ok := acc.servicers[userID]; !ok || m == nil {
		return fmt.Errorf("%w: %q is not a servicer of %s", ErrNotFound, userID, acc.openKfID)
	}
	if !m.activated {
		return fmt.Errorf("%w: servicer %q has not activated WeCom", ErrNotAllowed, userID)
	}
	if receiving && m.status != 0 {
		return fmt.Errorf("%w: servicer %q is not receiving", ErrNotAllowed, userID)
	}
	return nil
}

// AddCustomer adds a WeChat user who can then enter sessions and send
// messages. An empty ExternalUserID is generated; adding an existing id
// returns it unchanged.
func (s *Server) AddCustomer(c SeedCustomer) (externalUserID string, err error) {
	err = s.action(func(cl *call, st *State) error {
		cu, err := s.addCustomer(st, c)
		if err != nil {
			return err
		}
		externalUserID = cu.externalUserID
		cl.later(s.hub.publish)
		return nil
	})
	return externalUserID, err
}

// WeChatChannelsInfo is the 视频号 a customer comes from (enter_session's
// wechat_channels): Scene 1–3 with Nickname, 4–5 with ShopNickname.
type WeChatChannelsInfo struct {
	Nickname     string `json:"nickname,omitempty"`
	ShopNickname string `json:"shop_nickname,omitempty"`
	Scene        int    `json:"scene"`
}

// EnterOptions describe how a customer enters a session.
type EnterOptions struct {
	// Scene and SceneParam are the contact link's scene and the scene_param
	// appended to it, returned verbatim in enter_session.
	Scene      string `json:"scene,omitempty"`
	SceneParam string `json:"scene_param,omitempty"`
	// Link is a contact link URL of the account (add_contact_way, with an
	// optional &scene_param=...); when set, its scene and scene_param are
	// used unless Scene or SceneParam are given. A link that does not
	// resolve is an error wrapping ErrInvalidContactURL.
	Link string `json:"link,omitempty"`
	// WeChatChannels is set when the customer comes from 视频号.
	WeChatChannels *WeChatChannelsInfo `json:"wechat_channels,omitempty"`
}

// EnterSession makes the customer open the chat with the account (through
// a contact link with a scene, or from 视频号): an enter_session event is
// logged, with a welcome_code (valid 20 s, one message through
// send_msg_on_event) when the customer received no welcome in the past 48 h
// and has not messaged in the past 48 h. The session state does not change.
// The context is kept for customer/batchget.
func (s *Server) EnterSession(openKfID, externalUserID string, opts EnterOptions) (welcomeCode string, err error) {
	err = s.action(func(c *call, st *State) error {
		acc, cu, err := driverCustomer(st, openKfID, externalUserID)
		if err != nil {
			return err
		}
		scene, param := opts.Scene, opts.SceneParam
		if opts.Link != "" {
			id, ls, lp, err := st.resolveContactURL(opts.Link)
			if err != nil {
				return err
			}
			if id != openKfID {
				return fmt.Errorf("%w: the link leads to %s, not %s", ErrInvalid, id, openKfID)
			}
			if scene == "" {
				scene = ls
			}
			if param == "" {
				param = lp
			}
		}
		ses := st.ensureSession(openKfID, externalUserID)
		quiet := func(t time.Time) bool { return t.IsZero() || !c.now.Before(t.Add(welcomeQuiet)) }
		if quiet(ses.lastWelcome) && quiet(ses.lastCustomerMsg) {
			welcomeCode = s.newCode(st, codeWelcome, sessionKey{openKfID, externalUserID}, ses, c.now)
		}
		var ch *WeChatChannelsInfo
		if opts.WeChatChannels != nil {
			v := *opts.WeChatChannels
			ch = &v
		}
		cu.lastEnter = &enterContext{openKfID: openKfID, scene: scene, sceneParam: param, at: c.now, channels: ch}
		cu.lastActive[openKfID] = c.now
		s.logEvent(c, st, acc, ses, evEnterSession{EventType: "enter_session", OpenKfID: openKfID, ExternalUserID: externalUserID,
			Scene: scene, SceneParam: param, WelcomeCode: welcomeCode, WeChatChannels: ch})
		return nil
	})
	return welcomeCode, err
}

// CustomerMsg is a message sent by a customer or by a servicer from the
// WeCom client: a received msgtype and its payload object (the JSON under
// the msgtype key in sync_msg). Build it with CustomerText, CustomerImage,
// ... or CustomerRaw.
type CustomerMsg struct {
	MsgType string          `json:"msgtype"`
	Payload json.RawMessage `json:"payload"`
}

func customerMsg(t string, v any) CustomerMsg {
	b, _ := json.Marshal(v)
	return CustomerMsg{MsgType: t, Payload: b}
}

// CustomerText returns a text message.
func CustomerText(content string) CustomerMsg {
	return customerMsg("text", struct {
		Content string `json:"content"`
	}{content})
}

// CustomerMenuClick returns the text message WeChat sends when the customer
// clicks a click item of a menu: content with menu_id = the item's id.
func CustomerMenuClick(menuID, content string) CustomerMsg {
	return customerMsg("text", struct {
		Content string `json:"content"`
		MenuID  string `json:"menu_id"`
	}{content, menuID})
}

type mediaPayload struct {
	MediaID string `json:"media_id"`
}

// CustomerImage returns an image message.
func CustomerImage(mediaID string) CustomerMsg { return customerMsg("image", mediaPayload{mediaID}) }

// CustomerVoice returns a voice message.
func CustomerVoice(mediaID string) CustomerMsg { return customerMsg("voice", mediaPayload{mediaID}) }

// CustomerVideo returns a video message.
func CustomerVideo(mediaID string) CustomerMsg { return customerMsg("video", mediaPayload{mediaID}) }

// CustomerFile returns a file message.
func CustomerFile(mediaID string) CustomerMsg { return customerMsg("file", mediaPayload{mediaID}) }

// CustomerLocation returns a location message.
func CustomerLocation(latitude, longitude float64, name, address string) CustomerMsg {
	return customerMsg("location", struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
	}{latitude, longitude, name, address})
}

// CustomerLink returns a link (图文) message.
func CustomerLink(title, desc, linkURL, picURL string) CustomerMsg {
	return customerMsg("link", struct {
		Title  string `json:"title"`
		Desc   string `json:"desc"`
		URL    string `json:"url"`
		PicURL string `json:"pic_url"`
	}{title, desc, linkURL, picURL})
}

// CustomerMiniProgram returns a mini-program card.
func CustomerMiniProgram(title, appID, pagePath, thumbMediaID string) CustomerMsg {
	return customerMsg("miniprogram", struct {
		Title        string `json:"title"`
		AppID        string `json:"appid"`
		PagePath     string `json:"pagepath"`
		ThumbMediaID string `json:"thumb_media_id"`
	}{title, appID, pagePath, thumbMediaID})
}

// CustomerBusinessCard returns a business card of a WeCom member.
func CustomerBusinessCard(userID string) CustomerMsg {
	return customerMsg("business_card", struct {
		UserID string `json:"userid"`
	}{userID})
}

// CustomerRaw returns a message of any received msgtype with its payload
// object as is (channels_shop_product, channels_shop_order, merged_msg,
// channels, meeting, schedule, note, msgmenu, ...). A nil payload is {}.
func CustomerRaw(msgType string, payload json.RawMessage) CustomerMsg {
	return CustomerMsg{MsgType: msgType, Payload: payload}
}

// receivableTypes are the 17 non-event msgtypes of sync_msg (§2.3).
var receivableTypes = []kf.MsgType{
	kf.MsgTypeText, kf.MsgTypeImage, kf.MsgTypeVoice, kf.MsgTypeVideo, kf.MsgTypeFile,
	kf.MsgTypeLocation, kf.MsgTypeLink, kf.MsgTypeBusinessCard, kf.MsgTypeMiniProgram,
	kf.MsgTypeMsgMenu, kf.MsgTypeChannelsShopProduct, kf.MsgTypeChannelsShopOrder,
	kf.MsgTypeMergedMsg, kf.MsgTypeChannels, kf.MsgTypeMeeting, kf.MsgTypeSchedule, kf.MsgTypeNote,
}

// check validates the message and returns its compact payload.
func (m CustomerMsg) check() ([]byte, error) {
	if !slices.Contains(receivableTypes, kf.MsgType(m.MsgType)) {
		return nil, fmt.Errorf("%w: msgtype %q is not a received message type", ErrInvalid, m.MsgType)
	}
	p := []byte(m.Payload)
	if len(p) == 0 || string(p) == "null" {
		p = []byte("{}")
	}
	p, ok := compactObject(p)
	if !ok {
		return nil, fmt.Errorf("%w: the %s payload is not a JSON object", ErrInvalid, m.MsgType)
	}
	var f struct {
		Content *string `json:"content"`
		MediaID *string `json:"media_id"`
	}
	_ = json.Unmarshal(p, &f)
	switch m.MsgType {
	case "text":
		if f.Content == nil || *f.Content == "" {
			return nil, fmt.Errorf("%w: empty text", ErrInvalid)
		}
	case "image", "voice", "video", "file":
		if f.MediaID == nil || *f.MediaID == "" {
			return nil, fmt.Errorf("%w: %s without media_id", ErrInvalid, m.MsgType)
		}
	}
	return p, nil
}

// CustomerSend makes the customer send a message to the account: it is
// logged (origin 3) for sync_msg and a callback is posted. A session in
// state 4 (or none) becomes a new session in state 0; the 48 h window
// restarts and the send budget is reset to 5.
func (s *Server) CustomerSend(openKfID, externalUserID string, m CustomerMsg) (msgID string, err error) {
	p, err := m.check()
	if err != nil {
		return "", err
	}
	err = s.action(func(c *call, st *State) error {
		acc, cu, err := driverCustomer(st, openKfID, externalUserID)
		if err != nil {
			return err
		}
		ses := st.ensureSession(openKfID, externalUserID)
		if ses.state == kf.StateEnded {
			startSession(acc, ses, c.now)
		}
		ses.consulted = true
		ses.lastCustomerMsg = c.now
		ses.budget = sendBudget
		cu.lastActive[openKfID] = c.now
		ds := acc.statsAt(c.now)
		ds.customerMsgs++
		ds.customers[externalUserID] = true
		if ses.state == kf.StateServicer {
			ds.servicerAt(ses.servicer).msgs++
		}
		if ses.rejecting {
			ds.rejected[externalUserID] = true
		}
		msgID = st.nextID("from_msgid_")
		raw := rawMessage(msgHead{MsgID: msgID, OpenKfID: openKfID, ExternalUserID: externalUserID,
			SendTime: c.now.Unix(), Origin: kf.OriginCustomer, MsgType: m.MsgType}, p)
		s.appendLog(c, st, acc, msgID, raw)
		ses.record(Delivered{MsgID: msgID, From: "customer", MsgType: m.MsgType,
			Payload: p, SentAt: c.now, Origin: kf.OriginCustomer})
		return nil
	})
	return msgID, err
}

// CustomerRecall makes the customer recall one of their messages (within 2
// minutes): user_recall_msg is logged.
func (s *Server) CustomerRecall(openKfID, externalUserID, msgID string) error {
	return s.action(func(c *call, st *State) error {
		acc, _, err := driverCustomer(st, openKfID, externalUserID)
		if err != nil {
			return err
		}
		ses := st.sessionOf(openKfID, externalUserID)
		var d *Delivered
		if ses != nil {
			d = findDelivered(ses, msgID)
		}
		if d == nil || d.From != "customer" {
			return fmt.Errorf("%w: no message %q of the customer", ErrNotFound, msgID)
		}
		if d.Recalled {
			return fmt.Errorf("%w: message %q already recalled", ErrNotAllowed, msgID)
		}
		if c.now.Sub(d.SentAt) > recallWindow {
			return fmt.Errorf("%w: message %q is older than 2 minutes", ErrNotAllowed, msgID)
		}
		d.Recalled = true
		s.logEvent(c, st, acc, ses, evRecall{EventType: "user_recall_msg", OpenKfID: openKfID,
			ExternalUserID: externalUserID, RecallMsgID: msgID})
		return nil
	})
}

// ServicerAccept makes a servicer take the session from the pool (or from
// state 0 or 1) in the WeCom client: state 3, and a session_status_change
// event with change_type 1, new_servicer_userid and a msg_code (valid 48 h
// while the session stays with a servicer), which is also returned.
func (s *Server) ServicerAccept(openKfID, externalUserID, servicerUserID string) (msgCode string, err error) {
	err = s.action(func(c *call, st *State) error {
		acc, _, err := driverCustomer(st, openKfID, externalUserID)
		if err != nil {
			return err
		}
		if err := driverServicer(st, acc, servicerUserID, true); err != nil {
			return err
		}
		ses := st.sessionOf(openKfID, externalUserID)
		switch stateOf(ses) {
		case kf.StateUntreated, kf.StateBot, kf.StateQueued:
		default:
			return fmt.Errorf("%w: the session is %v; only a new, bot or queued session can be accepted", ErrNotAllowed, stateOf(ses))
		}
		ses.state, ses.servicer, ses.lastServicer = kf.StateServicer, servicerUserID, servicerUserID
		ses.visitedServicer = true
		msgCode = s.newCode(st, codeAccept, sessionKey{openKfID, externalUserID}, ses, c.now)
		servicerTakes(acc, c.now, servicerUserID, externalUserID)
		s.logEvent(c, st, acc, ses, evSessionStatus{EventType: "session_status_change", OpenKfID: openKfID,
			ExternalUserID: externalUserID, ChangeType: 1, NewServicerUserID: servicerUserID, MsgCode: msgCode})
		return nil
	})
	return msgCode, err
}

// ServicerTransfer makes the session's servicer transfer it to another
// servicer (3 → 3): session_status_change with change_type 2.
func (s *Server) ServicerTransfer(openKfID, externalUserID, toServicerUserID string) error {
	return s.action(func(c *call, st *State) error {
		acc, _, err := driverCustomer(st, openKfID, externalUserID)
		if err != nil {
			return err
		}
		if err := driverServicer(st, acc, toServicerUserID, true); err != nil {
			return err
		}
		ses := st.sessionOf(openKfID, externalUserID)
		if stateOf(ses) != kf.StateServicer {
			return fmt.Errorf("%w: the session is %v, not with a servicer", ErrNotAllowed, stateOf(ses))
		}
		if ses.servicer == toServicerUserID {
			return fmt.Errorf("%w: the session is already with %q", ErrNotAllowed, toServicerUserID)
		}
		old := ses.servicer
		ses.servicer, ses.lastServicer = toServicerUserID, toServicerUserID
		servicerTakes(acc, c.now, toServicerUserID, externalUserID)
		s.logEvent(c, st, acc, ses, evSessionStatus{EventType: "session_status_change", OpenKfID: openKfID,
			ExternalUserID: externalUserID, ChangeType: 2, OldServicerUserID: old, NewServicerUserID: toServicerUserID})
		return nil
	})
}

// ServicerEnd makes the session's servicer end it (→ 4):
// session_status_change with change_type 3, old_servicer_userid and a
// msg_code (valid 20 s), which is also returned.
func (s *Server) ServicerEnd(openKfID, externalUserID string) (msgCode string, err error) {
	err = s.action(func(c *call, st *State) error {
		acc, _, err := driverCustomer(st, openKfID, externalUserID)
		if err != nil {
			return err
		}
		ses := st.sessionOf(openKfID, externalUserID)
		if stateOf(ses) != kf.StateServicer {
			return fmt.Errorf("%w: the session is %v, not with a servicer", ErrNotAllowed, stateOf(ses))
		}
		old := ses.servicer
		endSession(ses)
		msgCode = s.newCode(st, codeEnd, sessionKey{openKfID, externalUserID}, ses, c.now)
		s.logEvent(c, st, acc, ses, evSessionStatus{EventType: "session_status_change", OpenKfID: openKfID,
			ExternalUserID: externalUserID, ChangeType: 3, OldServicerUserID: old, MsgCode: msgCode})
		return nil
	})
	return msgCode, err
}

// ServicerSend makes a servicer send a message from the WeCom client: it is
// logged for sync_msg (origin 5 with servicer_userid) and shown to the
// customer. The session must be with this servicer, or ended or with
// another servicer, in which case the servicer re-engages it (→ 3 with a
// session_status_change of change_type 4 first). The customer must have
// written within 48 h.
func (s *Server) ServicerSend(openKfID, externalUserID, servicerUserID string, m CustomerMsg) (msgID string, err error) {
	p, err := m.check()
	if err != nil {
		return "", err
	}
	err = s.action(func(c *call, st *State) error {
		acc, _, err := driverCustomer(st, openKfID, externalUserID)
		if err != nil {
			return err
		}
		if err := driverServicer(st, acc, servicerUserID, false); err != nil {
			return err
		}
		ses := st.sessionOf(openKfID, externalUserID)
		if ses == nil || !ses.consulted || !c.now.Before(ses.lastCustomerMsg.Add(sendWindow)) {
			return fmt.Errorf("%w: the customer has not written in the past 48 h", ErrNotAllowed)
		}
		switch {
		case ses.state == kf.StateServicer && ses.servicer == servicerUserID:
		case ses.state == kf.StateServicer || ses.state == kf.StateEnded:
			old := ses.servicer
			if old == "" {
				old = ses.lastServicer
			}
			if ses.state == kf.StateEnded {
				ses.gen++
				ses.visitedPool = false
				acc.statsAt(c.now).sessions++
			}
			ses.state, ses.servicer, ses.lastServicer = kf.StateServicer, servicerUserID, servicerUserID
			ses.visitedServicer = true
			servicerTakes(acc, c.now, servicerUserID, externalUserID)
			s.logEvent(c, st, acc, ses, evSessionStatus{EventType: "session_status_change", OpenKfID: openKfID,
				ExternalUserID: externalUserID, ChangeType: 4, OldServicerUserID: old, NewServicerUserID: servicerUserID})
		default:
			return fmt.Errorf("%w: the session is %v; a servicer sends only in a session of theirs or to re-engage an ended or transferred one", ErrNotAllowed, ses.state)
		}
		acc.statsAt(c.now).servicerAt(servicerUserID).replies++
		msgID = st.nextID("srv_msgid_")
		raw := rawMessage(msgHead{MsgID: msgID, OpenKfID: openKfID, ExternalUserID: externalUserID,
			SendTime: c.now.Unix(), Origin: kf.OriginServicer, ServicerUserID: servicerUserID, MsgType: m.MsgType}, p)
		s.appendLog(c, st, acc, msgID, raw)
		ses.record(Delivered{MsgID: msgID, From: "servicer", Servicer: servicerUserID,
			MsgType: m.MsgType, Payload: p, SentAt: c.now, Origin: kf.OriginServicer})
		return nil
	})
	return msgID, err
}

// ServicerRecall makes a servicer recall one of their messages (within 2
// minutes): servicer_recall_msg is logged.
func (s *Server) ServicerRecall(openKfID, externalUserID, servicerUserID, msgID string) error {
	return s.action(func(c *call, st *State) error {
		acc, _, err := driverCustomer(st, openKfID, externalUserID)
		if err != nil {
			return err
		}
		ses := st.sessionOf(openKfID, externalUserID)
		var d *Delivered
		if ses != nil {
			d = findDelivered(ses, msgID)
		}
		if d == nil || d.From != "servicer" || d.Servicer != servicerUserID {
			return fmt.Errorf("%w: no message %q of servicer %q", ErrNotFound, msgID, servicerUserID)
		}
		if d.Recalled {
			return fmt.Errorf("%w: message %q already recalled", ErrNotAllowed, msgID)
		}
		if c.now.Sub(d.SentAt) > recallWindow {
			return fmt.Errorf("%w: message %q is older than 2 minutes", ErrNotAllowed, msgID)
		}
		d.Recalled = true
		s.logEvent(c, st, acc, ses, evRecall{EventType: "servicer_recall_msg", OpenKfID: openKfID,
			ExternalUserID: externalUserID, RecallMsgID: msgID, ServicerUserID: servicerUserID})
		return nil
	})
}

// Servicer statuses as servicer/list reports them (and SetServicerStatus
// takes them). The servicer_status_change event encodes them as 1 and 2.
const (
	ServicerReceiving = 0 // 接待中
	ServicerStopped   = 1 // 停止接待 (stop type 0) or 暂时挂起 (stop type 1)
)

// Stop types of a stopped servicer.
const (
	StopTypeStopped   = 0 // 停止接待
	StopTypeSuspended = 1 // 暂时挂起
)

// SetServicerStatus changes a member's reception status as the member does
// in the WeCom client. status is ServicerReceiving or ServicerStopped (as
// in servicer/list), stopType StopTypeStopped or StopTypeSuspended (ignored
// when receiving). When the status changes, every account the member
// serves logs a servicer_status_change event (status 1 receiving or 2
// stopped, stop_type).
func (s *Server) SetServicerStatus(userID string, status, stopType int) error {
	if status != ServicerReceiving && status != ServicerStopped {
		return fmt.Errorf("%w: status %d (want 0 receiving or 1 stopped)", ErrInvalid, status)
	}
	if stopType != StopTypeStopped && stopType != StopTypeSuspended {
		return fmt.Errorf("%w: stop_type %d (want 0 stopped or 1 suspended)", ErrInvalid, stopType)
	}
	if status == ServicerReceiving {
		stopType = 0
	}
	return s.action(func(c *call, st *State) error {
		m := st.users[userID]
		if m == nil {
			return fmt.Errorf("%w: member %q", ErrNotFound, userID)
		}
		if m.status == status && m.stopType == stopType {
			return nil
		}
		m.status, m.stopType = status, stopType
		for _, id := range st.accountOrder {
			acc := st.accounts[id]
			if acc == nil {
				continue
			}
			if _, ok := acc.servicers[userID]; !ok {
				continue
			}
			s.logEvent(c, st, acc, nil, evServicerStatus{EventType: "servicer_status_change", OpenKfID: id,
				ServicerUserID: userID, Status: status + 1, StopType: stopType})
		}
		c.later(s.hub.publish)
		return nil
	})
}

// ServicerRejectCustomer makes a servicer switch on (reject) or off the
// rejection of the customer's messages: reject_customer_msg_switch_change.
// The customer's messages are still logged while rejected.
func (s *Server) ServicerRejectCustomer(openKfID, externalUserID, servicerUserID string, reject bool) error {
	return s.action(func(c *call, st *State) error {
		acc, _, err := driverCustomer(st, openKfID, externalUserID)
		if err != nil {
			return err
		}
		if err := driverServicer(st, acc, servicerUserID, false); err != nil {
			return err
		}
		ses := st.ensureSession(openKfID, externalUserID)
		ses.rejecting = reject
		sw := 0
		if reject {
			sw = 1
		}
		s.logEvent(c, st, acc, ses, evRejectSwitch{EventType: "reject_customer_msg_switch_change", OpenKfID: openKfID,
			ExternalUserID: externalUserID, ServicerUserID: servicerUserID, RejectSwitch: sw})
		return nil
	})
}

// SendFailed reports that a message sent through the API finally failed:
// msg_send_fail with fail_msgid and fail_type (0 unknown, 1 account
// deleted, 2 app closed, 4 session expired, 5 session closed, 6 over the
// 5-message limit, 7–9 qualification, 10 user rejected, 11 no member
// logged in, 12 msgtype forbidden). The message is marked failed in the
// customer's view.
func (s *Server) SendFailed(openKfID, externalUserID, msgID string, failType int) error {
	if failType < 0 || failType > 12 {
		return fmt.Errorf("%w: fail_type %d", ErrInvalid, failType)
	}
	return s.action(func(c *call, st *State) error {
		acc, _, err := driverCustomer(st, openKfID, externalUserID)
		if err != nil {
			return err
		}
		sm := acc.sent[msgID]
		if sm == nil || sm.key != (sessionKey{openKfID, externalUserID}) {
			return fmt.Errorf("%w: no message %q sent through the API to %q", ErrNotFound, msgID, externalUserID)
		}
		ses := st.ensureSession(openKfID, externalUserID)
		if d := findDelivered(ses, msgID); d != nil {
			d.Failed, d.FailType = true, failType
		}
		s.logEvent(c, st, acc, ses, evMsgSendFail{EventType: "msg_send_fail", OpenKfID: openKfID,
			ExternalUserID: externalUserID, FailMsgID: msgID, FailType: failType})
		return nil
	})
}

// SessionView is the state of a customer's session with an account.
type SessionView struct {
	State          kf.ServiceState `json:"service_state"`
	StateName      string          `json:"state_name"` // "untreated", "bot", "queued", "servicer", "ended"
	ServicerUserID string          `json:"servicer_userid,omitempty"`
	// Budget is how many more messages send_msg allows for the
	// customer's last message (0..5).
	Budget int `json:"budget"`
	// WindowEnds is when the 48 h window opened by the customer's last
	// message closes (zero if the customer never wrote).
	WindowEnds time.Time `json:"window_ends,omitzero"`
	// Consulted reports whether the customer ever wrote to the account.
	Consulted bool `json:"consulted"`
	// Rejecting reports whether a servicer rejects the customer's messages.
	Rejecting bool `json:"rejecting,omitempty"`
}

func sessionView(ses *session) SessionView {
	v := SessionView{State: stateOf(ses)}
	v.StateName = v.State.String()
	if ses == nil {
		return v
	}
	v.ServicerUserID = ses.servicer
	v.Budget = ses.budget
	v.Consulted = ses.consulted
	v.Rejecting = ses.rejecting
	if !ses.lastCustomerMsg.IsZero() {
		v.WindowEnds = ses.lastCustomerMsg.Add(sendWindow)
	}
	return v
}

// SessionInfo returns the session of the customer with the account; false
// when there is none yet (the state is then 4).
func (s *Server) SessionInfo(openKfID, externalUserID string) (SessionView, bool) {
	var v SessionView
	var ok bool
	_ = s.store.View(func(st *State) error {
		ses := st.sessionOf(openKfID, externalUserID)
		v, ok = sessionView(ses), ses != nil
		return nil
	})
	return v, ok
}

// Received returns what the customer received from the account, oldest
// first: messages sent through send_msg (From "api") and send_msg_on_event
// ("event") and by servicers ("servicer"), recalled ones marked.
func (s *Server) Received(openKfID, externalUserID string) []Delivered {
	var out []Delivered
	_ = s.store.View(func(st *State) error {
		if ses := st.sessionOf(openKfID, externalUserID); ses != nil {
			for _, d := range ses.received {
				if d.From == "api" || d.From == "event" || d.From == "servicer" {
					out = append(out, cloneDelivered(d))
				}
			}
		}
		return nil
	})
	return out
}

func cloneDelivered(d Delivered) Delivered {
	d.Payload = append(json.RawMessage(nil), d.Payload...)
	return d
}

// Conversation is a customer's session with an account and the whole
// exchange, oldest first: the customer's messages (From "customer"), the
// messages sent through the API ("api", "event") and by servicers
// ("servicer"), and the sync log's events about the session ("system",
// msgtype "event", the event object as payload).
type Conversation struct {
	OpenKfID       string      `json:"open_kfid"`
	ExternalUserID string      `json:"external_userid"`
	Session        SessionView `json:"session"`
	Messages       []Delivered `json:"messages"`
}

// Conversation returns the customer's conversation with the account.
func (s *Server) Conversation(openKfID, externalUserID string) Conversation {
	cv := Conversation{OpenKfID: openKfID, ExternalUserID: externalUserID, Messages: []Delivered{}}
	_ = s.store.View(func(st *State) error {
		ses := st.sessionOf(openKfID, externalUserID)
		cv.Session = sessionView(ses)
		if ses != nil {
			for _, d := range ses.received {
				cv.Messages = append(cv.Messages, cloneDelivered(d))
			}
		}
		return nil
	})
	return cv
}

// SyncLog returns the account's sync log within the 3-day history, oldest
// first, as sync_msg serves it (nil for an unknown account).
func (s *Server) SyncLog(openKfID string) []json.RawMessage {
	var out []json.RawMessage
	now := s.clock.Now()
	_ = s.store.View(func(st *State) error {
		acc := st.accounts[openKfID]
		if acc == nil {
			return nil
		}
		out = []json.RawMessage{}
		cut := now.Add(-historyWindow)
		for _, e := range acc.log {
			if e.at.After(cut) {
				out = append(out, append(json.RawMessage(nil), e.raw...))
			}
		}
		return nil
	})
	return out
}
