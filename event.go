package kf

import (
	"encoding/json"
	"strconv"

	"github.com/wxkf/kf/internal/wxjson"
)

// Event is the payload of an event message (msgtype event, origin 4; doc
// 94670, shared/api-surface.md §2.4). The fields every event shares are
// typed here; the rest is in Payload.
//
// The platform puts open_kfid and external_userid inside the event, not in
// the message envelope; Message.Account and Message.Customer read them from
// here.
type Event struct {
	// EventType is the event type (event_type).
	EventType EventType `json:"event_type"`
	// OpenKfID is the KF account the event concerns.
	OpenKfID string `json:"open_kfid,omitempty"`
	// ExternalUserID is the customer the event concerns (absent for
	// servicer_status_change).
	ExternalUserID string `json:"external_userid,omitempty"`
	// Payload holds the event-specific fields: *EnterSession,
	// *MsgSendFail, *ServicerStatusChange, *SessionStatusChange,
	// *UserRecallMsg, *ServicerRecallMsg, *RejectCustomerMsgSwitchChange, or
	// *UnknownEvent for an event type this package does not know. It is never
	// nil after a decode.
	Payload EventPayload `json:"-"`
	// Raw is the event object as received (nil for an Event built in code).
	Raw json.RawMessage `json:"-"`
}

// EventPayload is the event-specific part of an Event. The set of types is
// closed (listed on Event.Payload).
type EventPayload interface {
	// receivedEventType is the event_type the payload belongs to.
	receivedEventType() EventType
	// rxField reads the event member key; false for keys it does not know.
	rxField(d *rxDecoder, key string) bool
}

// EnterSession reports that a customer opened the chat (enter_session).
type EnterSession struct {
	// Scene is the scene value of the contact link (add_contact_way).
	Scene string `json:"scene,omitempty"`
	// SceneParam is the scene_param appended to the link, verbatim.
	SceneParam string `json:"scene_param,omitempty"`
	// WelcomeCode, when set, allows one welcome message through
	// MessageService.SendOnEvent within 20 seconds. It is given only when
	// the customer got no welcome in the past 48 h and has not messaged.
	WelcomeCode string `json:"welcome_code,omitempty"`
	// WeChatChannels is set (non-zero) when the customer came from 视频号.
	WeChatChannels WeChatChannels `json:"wechat_channels,omitzero"`
}

// WeChatChannels describes the 视频号 a customer came from.
type WeChatChannels struct {
	// Nickname is the 视频号 name (scenes 1–3).
	Nickname string `json:"nickname,omitempty"`
	// ShopNickname is the 视频号小店 name (scenes 4–5).
	ShopNickname string `json:"shop_nickname,omitempty"`
	// Scene is where in 视频号 the customer came from.
	Scene WeChatChannelsScene `json:"scene"`
}

// WeChatChannelsScene is the 视频号 entry point of an enter_session event.
type WeChatChannelsScene int

// 视频号 scenes.
const (
	WeChatChannelsSceneHome              WeChatChannelsScene = 1 // 视频号主页
	WeChatChannelsSceneLiveProducts      WeChatChannelsScene = 2 // 直播间商品列表页
	WeChatChannelsSceneShowcase          WeChatChannelsScene = 3 // 商品橱窗页
	WeChatChannelsSceneShopProductDetail WeChatChannelsScene = 4 // 小店商品详情页
	WeChatChannelsSceneShopOrder         WeChatChannelsScene = 5 // 小店订单页
)

// String returns the scene's name.
func (s WeChatChannelsScene) String() string {
	switch s {
	case WeChatChannelsSceneHome:
		return "home"
	case WeChatChannelsSceneLiveProducts:
		return "live_products"
	case WeChatChannelsSceneShowcase:
		return "showcase"
	case WeChatChannelsSceneShopProductDetail:
		return "shop_product_detail"
	case WeChatChannelsSceneShopOrder:
		return "shop_order"
	}
	return "WeChatChannelsScene(" + strconv.Itoa(int(s)) + ")"
}

// MsgSendFail reports that a message sent with send_msg finally failed
// (msg_send_fail).
type MsgSendFail struct {
	// FailMsgID is the msgid of the failed message.
	FailMsgID string `json:"fail_msgid"`
	// FailType says why.
	FailType FailType `json:"fail_type"`
}

// FailType is the reason of a msg_send_fail event.
type FailType int

// Failure reasons. 3 is undefined in every source; 7 and 9 are absent from
// the newest list but kept for older accounts.
const (
	FailTypeUnknown                        FailType = 0  // 未知原因
	FailTypeAccountDeleted                 FailType = 1  // 客服账号已删除
	FailTypeAppClosed                      FailType = 2  // 应用已关闭
	FailTypeSessionExpired                 FailType = 4  // 会话已过期，超过48小时
	FailTypeSessionClosed                  FailType = 5  // 会话已关闭
	FailTypeTooManyMessages                FailType = 6  // 超过5条限制
	FailTypeChannelsNotBound               FailType = 7  // 未绑定视频号
	FailTypeCorpNotVerified                FailType = 8  // 主体未验证
	FailTypeChannelsNotBoundCorpUnverified FailType = 9  // 未绑定视频号且主体未验证
	FailTypeUserRejected                   FailType = 10 // 用户拒收
	FailTypeNoMemberLoggedIn               FailType = 11 // 企业未有成员登录企业微信App
	FailTypeMsgTypeForbidden               FailType = 12 // 发送的消息为客服组件禁发的消息类型
)

// String returns the reason's name.
func (t FailType) String() string {
	switch t {
	case FailTypeUnknown:
		return "unknown"
	case FailTypeAccountDeleted:
		return "account_deleted"
	case FailTypeAppClosed:
		return "app_closed"
	case FailTypeSessionExpired:
		return "session_expired"
	case FailTypeSessionClosed:
		return "session_closed"
	case FailTypeTooManyMessages:
		return "too_many_messages"
	case FailTypeChannelsNotBound:
		return "channels_not_bound"
	case FailTypeCorpNotVerified:
		return "corp_not_verified"
	case FailTypeChannelsNotBoundCorpUnverified:
		return "channels_not_bound_corp_unverified"
	case FailTypeUserRejected:
		return "user_rejected"
	case FailTypeNoMemberLoggedIn:
		return "no_member_logged_in"
	case FailTypeMsgTypeForbidden:
		return "msgtype_forbidden"
	}
	return "FailType(" + strconv.Itoa(int(t)) + ")"
}

// ServicerStatusChange reports that a servicer changed their reception
// status in the WeCom client (servicer_status_change). The event has no
// external_userid.
type ServicerStatusChange struct {
	ServicerUserID string `json:"servicer_userid"`
	// Status is the new status. Note that it is 1/2 here, whereas
	// servicer/list reports 0/1 (ServicerStatus).
	Status ReceptionStatus `json:"status"`
	// StopType says how the servicer stopped (meaningful when Status is
	// ReceptionStopped).
	StopType ServicerStopType `json:"stop_type"`
}

// ReceptionStatus is the status of a servicer_status_change event (1/2; one
// source uses 0/1, the doc and two SDKs 1/2, which is what this follows).
type ReceptionStatus int

// Reception statuses of servicer_status_change.
const (
	ReceptionReceiving ReceptionStatus = 1 // 接待中
	ReceptionStopped   ReceptionStatus = 2 // 停止接待
)

// String returns the status's name.
func (s ReceptionStatus) String() string {
	switch s {
	case ReceptionReceiving:
		return "receiving"
	case ReceptionStopped:
		return "stopped"
	}
	return "ReceptionStatus(" + strconv.Itoa(int(s)) + ")"
}

// SessionStatusChange reports a session change made by a servicer in the
// WeCom client (session_status_change); changes made with the
// service_state/trans API do not produce it.
type SessionStatusChange struct {
	ChangeType ChangeType `json:"change_type"`
	// OldServicerUserID is set for ChangeTypeTransfer, ChangeTypeEnd and
	// ChangeTypeReengage.
	OldServicerUserID string `json:"old_servicer_userid,omitempty"`
	// NewServicerUserID is set for ChangeTypeFromPool, ChangeTypeTransfer and
	// ChangeTypeReengage.
	NewServicerUserID string `json:"new_servicer_userid,omitempty"`
	// MsgCode (ChangeTypeFromPool and ChangeTypeEnd only) allows one message
	// through MessageService.SendOnEvent.
	MsgCode string `json:"msg_code,omitempty"`
}

// ChangeType is the kind of a session_status_change event.
type ChangeType int

// Session change types.
const (
	ChangeTypeFromPool ChangeType = 1 // 从接待池接入会话
	ChangeTypeTransfer ChangeType = 2 // 转接会话
	ChangeTypeEnd      ChangeType = 3 // 结束会话
	ChangeTypeReengage ChangeType = 4 // 重新接入已结束/已转接会话
)

// String returns the change type's name.
func (t ChangeType) String() string {
	switch t {
	case ChangeTypeFromPool:
		return "from_pool"
	case ChangeTypeTransfer:
		return "transfer"
	case ChangeTypeEnd:
		return "end"
	case ChangeTypeReengage:
		return "reengage"
	}
	return "ChangeType(" + strconv.Itoa(int(t)) + ")"
}

// UserRecallMsg reports that the customer recalled a message
// (user_recall_msg).
type UserRecallMsg struct {
	// RecallMsgID is the msgid of the recalled message.
	RecallMsgID string `json:"recall_msgid"`
}

// ServicerRecallMsg reports that a servicer recalled a message
// (servicer_recall_msg).
type ServicerRecallMsg struct {
	// RecallMsgID is the msgid of the recalled message.
	RecallMsgID    string `json:"recall_msgid"`
	ServicerUserID string `json:"servicer_userid"`
}

// RejectCustomerMsgSwitchChange reports that a servicer started or stopped
// rejecting the customer's messages (reject_customer_msg_switch_change).
type RejectCustomerMsgSwitchChange struct {
	ServicerUserID string       `json:"servicer_userid"`
	RejectSwitch   RejectSwitch `json:"reject_switch"`
}

// RejectSwitch is the state of a servicer's reject switch.
type RejectSwitch int

// Reject switch states.
const (
	RejectSwitchOff RejectSwitch = 0 // 取消拒收
	RejectSwitchOn  RejectSwitch = 1 // 拒收客户消息
)

// String returns the state's name.
func (s RejectSwitch) String() string {
	switch s {
	case RejectSwitchOff:
		return "off"
	case RejectSwitchOn:
		return "on"
	}
	return "RejectSwitch(" + strconv.Itoa(int(s)) + ")"
}

// UnknownEvent is the payload of an event type this package does not know.
// The message decodes without error and re-encodes byte for byte.
type UnknownEvent struct {
	// Type is the event_type.
	Type EventType
	// Raw is the whole event object as received (the same bytes as
	// Event.Raw).
	Raw json.RawMessage
}

// Compile-time checks.
var (
	_ EventPayload = (*EnterSession)(nil)
	_ EventPayload = (*MsgSendFail)(nil)
	_ EventPayload = (*ServicerStatusChange)(nil)
	_ EventPayload = (*SessionStatusChange)(nil)
	_ EventPayload = (*UserRecallMsg)(nil)
	_ EventPayload = (*ServicerRecallMsg)(nil)
	_ EventPayload = (*RejectCustomerMsgSwitchChange)(nil)
	_ EventPayload = (*UnknownEvent)(nil)
)

func (*EnterSession) receivedEventType() EventType         { return EventEnterSession }
func (*MsgSendFail) receivedEventType() EventType          { return EventMsgSendFail }
func (*ServicerStatusChange) receivedEventType() EventType { return EventServicerStatusChange }
func (*SessionStatusChange) receivedEventType() EventType  { return EventSessionStatusChange }
func (*UserRecallMsg) receivedEventType() EventType        { return EventUserRecallMsg }
func (*ServicerRecallMsg) receivedEventType() EventType    { return EventServicerRecallMsg }
func (*RejectCustomerMsgSwitchChange) receivedEventType() EventType {
	return EventRejectCustomerMsgSwitchChange
}
func (p *UnknownEvent) receivedEventType() EventType { return p.Type }

// MarshalJSON returns Raw unchanged when the event was decoded; otherwise it
// encodes the common fields and the payload's fields in one object.
func (e *Event) MarshalJSON() ([]byte, error) {
	if len(e.Raw) > 0 {
		return e.Raw, nil
	}
	if u, ok := e.Payload.(*UnknownEvent); ok && u != nil && len(u.Raw) > 0 {
		return u.Raw, nil
	}
	t := e.EventType
	if t == "" && e.Payload != nil {
		t = e.Payload.receivedEventType()
	}
	head, err := json.Marshal(struct {
		EventType      EventType `json:"event_type"`
		OpenKfID       string    `json:"open_kfid,omitempty"`
		ExternalUserID string    `json:"external_userid,omitempty"`
	}{t, e.OpenKfID, e.ExternalUserID})
	if err != nil || e.Payload == nil {
		return head, err
	}
	if _, ok := e.Payload.(*UnknownEvent); ok {
		return head, nil
	}
	pb, err := json.Marshal(e.Payload)
	if err != nil {
		return nil, err
	}
	if len(pb) <= 2 || pb[0] != '{' { // {} or null: nothing to add
		return head, nil
	}
	out := append(head[:len(head)-1:len(head)-1], ',')
	return append(out, pb[1:]...), nil
}

// rxNewEvent is the registry of event payload types: it returns a new Event
// whose Payload is a zero payload of type t (*UnknownEvent for unknown
// types). The Event and its payload share one allocation. Like rxNewPayload
// it is a switch: compiled once, read-only.
func rxNewEvent(t EventType) *Event {
	switch t {
	case EventEnterSession:
		x := new(struct {
			e Event
			p EnterSession
		})
		x.e.Payload = &x.p
		return &x.e
	case EventMsgSendFail:
		x := new(struct {
			e Event
			p MsgSendFail
		})
		x.e.Payload = &x.p
		return &x.e
	case EventServicerStatusChange:
		x := new(struct {
			e Event
			p ServicerStatusChange
		})
		x.e.Payload = &x.p
		return &x.e
	case EventSessionStatusChange:
		x := new(struct {
			e Event
			p SessionStatusChange
		})
		x.e.Payload = &x.p
		return &x.e
	case EventUserRecallMsg:
		x := new(struct {
			e Event
			p UserRecallMsg
		})
		x.e.Payload = &x.p
		return &x.e
	case EventServicerRecallMsg:
		x := new(struct {
			e Event
			p ServicerRecallMsg
		})
		x.e.Payload = &x.p
		return &x.e
	case EventRejectCustomerMsgSwitchChange:
		x := new(struct {
			e Event
			p RejectCustomerMsgSwitchChange
		})
		x.e.Payload = &x.p
		return &x.e
	}
	x := new(struct {
		e Event
		p UnknownEvent
	})
	x.p.Type = t
	x.e.Payload = &x.p
	return &x.e
}

// rxDecode is not used for events (rxDecoder.event allocates the event and
// its payload together); it decodes into e for completeness.
func (e *Event) rxDecode(d *rxDecoder) {
	if ev := d.event(); ev != nil {
		*e = *ev
	}
}

// event decodes the event object at the scanner. It finds event_type first
// (normally the first key), then reads the object into the typed payload.
func (d *rxDecoder) event() *Event {
	sc := &d.sc
	switch sc.Peek() {
	case wxjson.Object:
	case wxjson.Null:
		sc.Null()
		return rxNewEvent("")
	default:
		sc.Fail("expected event object")
		return nil
	}
	start := sc.Pos()
	input := sc.Input()
	var t EventType
	sc.Object()
	for key, ok := sc.Key(); ok; key, ok = sc.Key() {
		if key == "event_type" {
			t = EventType(sc.Str())
			break
		}
		sc.Skip()
	}
	if sc.Err() != nil {
		return nil
	}
	for range 2 { // a second pass only if event_type is repeated with another value
		sc.Reset(input, start)
		ev := rxNewEvent(t)
		last := t
		sc.Object()
		for key, ok := sc.Key(); ok; key, ok = sc.Key() {
			switch key {
			case "event_type":
				last = EventType(sc.Str())
			case "open_kfid":
				ev.OpenKfID = sc.Str()
			case "external_userid":
				ev.ExternalUserID = sc.Str()
			default:
				if !ev.Payload.rxField(d, key) {
					sc.Skip()
				}
			}
		}
		if sc.Err() != nil {
			return nil
		}
		if last != t {
			t = last
			continue
		}
		ev.EventType = t
		ev.Raw = d.raw(start, sc.Pos())
		if u, ok := ev.Payload.(*UnknownEvent); ok {
			u.Raw = ev.Raw
		}
		return ev
	}
	sc.Fail("inconsistent event_type")
	return nil
}

func (p *EnterSession) rxField(d *rxDecoder, key string) bool {
	sc := &d.sc
	switch key {
	case "scene":
		p.Scene = sc.Str()
	case "scene_param":
		p.SceneParam = sc.Str()
	case "welcome_code":
		p.WelcomeCode = sc.Str()
	case "wechat_channels":
		p.WeChatChannels = WeChatChannels{}
		if sc.Object() {
			for k, ok := sc.Key(); ok; k, ok = sc.Key() {
				switch k {
				case "nickname":
					p.WeChatChannels.Nickname = sc.Str()
				case "shop_nickname":
					p.WeChatChannels.ShopNickname = sc.Str()
				case "scene":
					p.WeChatChannels.Scene = WeChatChannelsScene(d.int())
				default:
					sc.Skip()
				}
			}
		}
	default:
		return false
	}
	return true
}

func (p *MsgSendFail) rxField(d *rxDecoder, key string) bool {
	switch key {
	case "fail_msgid":
		p.FailMsgID = d.sc.Str()
	case "fail_type":
		p.FailType = FailType(d.int())
	default:
		return false
	}
	return true
}

func (p *ServicerStatusChange) rxField(d *rxDecoder, key string) bool {
	switch key {
	case "servicer_userid":
		p.ServicerUserID = d.sc.Str()
	case "status":
		p.Status = ReceptionStatus(d.int())
	case "stop_type":
		p.StopType = ServicerStopType(d.int())
	default:
		return false
	}
	return true
}

func (p *SessionStatusChange) rxField(d *rxDecoder, key string) bool {
	switch key {
	case "change_type":
		p.ChangeType = ChangeType(d.int())
	case "old_servicer_userid":
		p.OldServicerUserID = d.sc.Str()
	case "new_servicer_userid":
		p.NewServicerUserID = d.sc.Str()
	case "msg_code":
		p.MsgCode = d.sc.Str()
	default:
		return false
	}
	return true
}

func (p *UserRecallMsg) rxField(d *rxDecoder, key string) bool {
	if key != "recall_msgid" {
		return false
	}
	p.RecallMsgID = d.sc.Str()
	return true
}

func (p *ServicerRecallMsg) rxField(d *rxDecoder, key string) bool {
	switch key {
	case "recall_msgid":
		p.RecallMsgID = d.sc.Str()
	case "servicer_userid":
		p.ServicerUserID = d.sc.Str()
	default:
		return false
	}
	return true
}

func (p *RejectCustomerMsgSwitchChange) rxField(d *rxDecoder, key string) bool {
	switch key {
	case "servicer_userid":
		p.ServicerUserID = d.sc.Str()
	case "reject_switch":
		p.RejectSwitch = RejectSwitch(d.int())
	default:
		return false
	}
	return true
}

func (*UnknownEvent) rxField(*rxDecoder, string) bool { return false }
