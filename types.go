package kf

import "strconv"

// MsgType is the msgtype of a received or sent message.
type MsgType string

// Message types received through sync_msg (shared/api-surface.md §2.3) and
// sent through send_msg (§3.1).
const (
	MsgTypeText                MsgType = "text"
	MsgTypeImage               MsgType = "image"
	MsgTypeVoice               MsgType = "voice"
	MsgTypeVideo               MsgType = "video"
	MsgTypeFile                MsgType = "file"
	MsgTypeLocation            MsgType = "location"
	MsgTypeLink                MsgType = "link"
	MsgTypeBusinessCard        MsgType = "business_card"
	MsgTypeMiniProgram         MsgType = "miniprogram"
	MsgTypeMsgMenu             MsgType = "msgmenu"
	MsgTypeChannelsShopProduct MsgType = "channels_shop_product"
	MsgTypeChannelsShopOrder   MsgType = "channels_shop_order"
	MsgTypeMergedMsg           MsgType = "merged_msg"
	MsgTypeChannels            MsgType = "channels"
	MsgTypeMeeting             MsgType = "meeting"
	MsgTypeSchedule            MsgType = "schedule"
	MsgTypeNote                MsgType = "note"
	MsgTypeEvent               MsgType = "event"
	MsgTypeCALink              MsgType = "ca_link" // send only
)

// Origin says who produced a received message.
type Origin int

// Message origins.
const (
	OriginCustomer Origin = 3 // sent by the WeChat customer
	OriginSystem   Origin = 4 // system event
	OriginServicer Origin = 5 // sent by a servicer from the WeCom client
)

// String returns the origin's name.
func (o Origin) String() string {
	switch o {
	case OriginCustomer:
		return "customer"
	case OriginSystem:
		return "system"
	case OriginServicer:
		return "servicer"
	}
	return "origin(" + strconv.Itoa(int(o)) + ")"
}

// EventType is the event_type of a received event message.
type EventType string

// Event types (shared/api-surface.md §2.4).
const (
	EventEnterSession                  EventType = "enter_session"
	EventMsgSendFail                   EventType = "msg_send_fail"
	EventServicerStatusChange          EventType = "servicer_status_change"
	EventSessionStatusChange           EventType = "session_status_change"
	EventUserRecallMsg                 EventType = "user_recall_msg"
	EventServicerRecallMsg             EventType = "servicer_recall_msg"
	EventRejectCustomerMsgSwitchChange EventType = "reject_customer_msg_switch_change"
)

// MenuItemType is the type of one msgmenu item.
type MenuItemType string

// Menu item types (shared/api-surface.md §3.2).
const (
	MenuItemClick       MenuItemType = "click"
	MenuItemView        MenuItemType = "view"
	MenuItemMiniProgram MenuItemType = "miniprogram"
	MenuItemText        MenuItemType = "text"
)

// MenuItem is one item of a msgmenu. Exactly one of the pointer fields is
// set, matching Type. Build items with ClickItem, ViewItem, MiniProgramItem
// and TextItem.
type MenuItem struct {
	Type        MenuItemType     `json:"type"`
	Click       *MenuClick       `json:"click,omitempty"`
	View        *MenuView        `json:"view,omitempty"`
	MiniProgram *MenuMiniProgram `json:"miniprogram,omitempty"`
	Text        *MenuText        `json:"text,omitempty"`
}

// MenuClick is a reply button: the customer's click comes back as a text
// message whose MenuID equals ID.
type MenuClick struct {
	ID      string `json:"id"`
	Content string `json:"content"`
}

// MenuView is a link item.
type MenuView struct {
	URL     string `json:"url"`
	Content string `json:"content"`
}

// MenuMiniProgram is a mini-program item.
type MenuMiniProgram struct {
	AppID    string `json:"appid"`
	PagePath string `json:"pagepath"`
	Content  string `json:"content"`
}

// MenuText is a plain text line inside a menu.
type MenuText struct {
	Content   string `json:"content"`
	NoNewline int    `json:"no_newline,omitempty"` // 1 = no newline after the item
}

// ClickItem returns a click (reply) menu item.
func ClickItem(id, content string) MenuItem {
	return MenuItem{Type: MenuItemClick, Click: &MenuClick{ID: id, Content: content}}
}

// ViewItem returns a link menu item.
func ViewItem(url, content string) MenuItem {
	return MenuItem{Type: MenuItemView, View: &MenuView{URL: url, Content: content}}
}

// MiniProgramItem returns a mini-program menu item.
func MiniProgramItem(appID, pagePath, content string) MenuItem {
	return MenuItem{Type: MenuItemMiniProgram, MiniProgram: &MenuMiniProgram{AppID: appID, PagePath: pagePath, Content: content}}
}

// TextItem returns a text menu item; noNewline suppresses the line break
// after it.
func TextItem(content string, noNewline bool) MenuItem {
	t := &MenuText{Content: content}
	if noNewline {
		t.NoNewline = 1
	}
	return MenuItem{Type: MenuItemText, Text: t}
}

// MsgMenu is a menu message (msgmenu), received (sent by a servicer) or sent.
type MsgMenu struct {
	HeadContent string     `json:"head_content,omitempty"`
	List        []MenuItem `json:"list"`
	TailContent string     `json:"tail_content,omitempty"`
}
