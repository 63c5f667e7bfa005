package kf

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/wxkf/kf/internal/wxapi"
)

// Operations and paths of the sending endpoints (shared/api-surface.md §3).
const (
	opSendMsg          = "kf/send_msg"
	opSendMsgOnEvent   = "kf/send_msg_on_event"
	opRecallMsg        = "kf/recall_msg"
	pathSendMsg        = "/cgi-bin/kf/send_msg"
	pathSendMsgOnEvent = "/cgi-bin/kf/send_msg_on_event"
	pathRecallMsg      = "/cgi-bin/kf/recall_msg"
)

// Documented limits of sent messages, in UTF-8 bytes unless stated (doc
// 94677, 96427; shared/api-surface.md §3.1, §3.2, §7).
const (
	sendMaxMsgIDBytes    = 32
	sendMaxTextBytes     = 2048
	sendMaxURLBytes      = 2048 // link.url and menu view.url
	sendMaxMenuItems     = 10   // items per msgmenu (95008 over)
	sendMaxMenuHeadTail  = 1024 // msgmenu head_content, tail_content
	sendMaxClickID       = 128  // 128 per WxJava, 64 per silenceper (§9.5): the permissive bound wins
	sendMaxClickContent  = 128
	sendMaxViewContent   = 1024
	sendMaxMenuAppID     = 32
	sendMaxMenuPagePath  = 1024
	sendMaxMenuMPContent = 1024
	sendMaxMenuText      = 256
	sendMaxLatitude      = 90  // degrees
	sendMaxLongitude     = 180 // degrees
)

// Outgoing is a message to send with Send or SendOnEvent. Its zero value is
// no message; build one with TextMsg, ImageMsg, VoiceMsg, VideoMsg, FileMsg,
// LinkMsg, MiniProgramMsg, MenuMsg, LocationMsg or CALinkMsg, which give
// every sendable msgtype its documented shape (doc 94677). Values are
// checked against the documented limits when the message is sent.
//
// business_card is not offered: it appears in one SDK's request model only
// and not in the official list of sendable types (shared/api-surface.md §9.9).
type Outgoing struct {
	f outgoingFields
}

// outgoingFields is the wire form of a message: msgtype plus the payload
// keyed by it. Exactly one payload pointer is set by the constructors.
type outgoingFields struct {
	MsgType     MsgType              `json:"msgtype"`
	Text        *outgoingText        `json:"text,omitempty"`
	Image       *outgoingMedia       `json:"image,omitempty"`
	Voice       *outgoingMedia       `json:"voice,omitempty"`
	Video       *outgoingMedia       `json:"video,omitempty"`
	File        *outgoingMedia       `json:"file,omitempty"`
	Link        *OutgoingLink        `json:"link,omitempty"`
	MiniProgram *OutgoingMiniProgram `json:"miniprogram,omitempty"`
	MsgMenu     *MsgMenu             `json:"msgmenu,omitempty"`
	Location    *outgoingLocation    `json:"location,omitempty"`
	CALink      *outgoingCALink      `json:"ca_link,omitempty"`
}

type outgoingText struct {
	Content string `json:"content"`
}

type outgoingMedia struct {
	MediaID string `json:"media_id"`
}

type outgoingLocation struct {
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

type outgoingCALink struct {
	LinkURL string `json:"link_url"`
}

// OutgoingLink is the content of a link (图文) message; see LinkMsg.
type OutgoingLink struct {
	// Title is truncated by the platform after 128 bytes.
	Title string `json:"title,omitempty"`
	// Desc (optional) is truncated by the platform after 512 bytes.
	Desc string `json:"desc,omitempty"`
	// URL is opened on tap: an http or https URL of at most 2048 bytes
	// (required).
	URL string `json:"url"`
	// ThumbMediaID is the media_id of an uploaded thumbnail (required).
	ThumbMediaID string `json:"thumb_media_id"`
}

// OutgoingMiniProgram is the content of a miniprogram message; see
// MiniProgramMsg.
type OutgoingMiniProgram struct {
	// AppID is the mini program's appid; it must be linked to the corp
	// (required).
	AppID string `json:"appid"`
	// Title (optional) is truncated by the platform after 64 bytes.
	Title string `json:"title,omitempty"`
	// ThumbMediaID is the media_id of the cover image, 520×416 recommended
	// (required).
	ThumbMediaID string `json:"thumb_media_id"`
	// PagePath is the page to open (required).
	PagePath string `json:"pagepath"`
}

// TextMsg returns a text message of 1 to 2048 bytes.
func TextMsg(content string) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeText, Text: &outgoingText{Content: content}}}
}

// ImageMsg returns an image message; mediaID comes from Media.Upload.
func ImageMsg(mediaID string) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeImage, Image: &outgoingMedia{MediaID: mediaID}}}
}

// VoiceMsg returns a voice message (AMR, at most 60 s); mediaID comes from
// Media.Upload.
func VoiceMsg(mediaID string) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeVoice, Voice: &outgoingMedia{MediaID: mediaID}}}
}

// VideoMsg returns a video message; mediaID comes from Media.Upload.
func VideoMsg(mediaID string) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeVideo, Video: &outgoingMedia{MediaID: mediaID}}}
}

// FileMsg returns a file message; mediaID comes from Media.Upload.
func FileMsg(mediaID string) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeFile, File: &outgoingMedia{MediaID: mediaID}}}
}

// LinkMsg returns a link (图文) message. URL and ThumbMediaID are required.
// Over-long titles and descriptions are accepted: the platform truncates
// them (doc 94677).
func LinkMsg(link OutgoingLink) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeLink, Link: &link}}
}

// MiniProgramMsg returns a mini-program card. AppID, ThumbMediaID and
// PagePath are required; an over-long title is accepted because the
// platform truncates it (doc 94677).
func MiniProgramMsg(mp OutgoingMiniProgram) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeMiniProgram, MiniProgram: &mp}}
}

// MenuMsg returns a menu message (msgmenu) of 1 to 10 items built with
// ClickItem, ViewItem, MiniProgramItem and TextItem. head and tail (at most
// 1024 bytes each) are shown before and after the items; either may be
// empty.
func MenuMsg(head, tail string, items ...MenuItem) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeMsgMenu,
		MsgMenu: &MsgMenu{HeadContent: head, List: slices.Clone(items), TailContent: tail}}}
}

// LocationMsg returns a location message. latitude must be within ±90 and
// longitude within ±180 degrees; name and address may be empty.
func LocationMsg(name, address string, latitude, longitude float64) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeLocation,
		Location: &outgoingLocation{Name: name, Address: address, Latitude: latitude, Longitude: longitude}}}
}

// CALinkMsg returns a 获客链接 (customer acquisition link) message. The
// documented links look like https://work.weixin.qq.com/ca/...; any
// absolute https URL is accepted, since the prefix is shown only as an
// example.
func CALinkMsg(linkURL string) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeCALink, CALink: &outgoingCALink{LinkURL: linkURL}}}
}

// Type returns the message's msgtype ("" for the zero Outgoing).
func (m Outgoing) Type() MsgType { return m.f.MsgType }

// Payload returns the JSON object sent under the msgtype key, for example
// {"content":"hi"} for a text. It is nil for the zero Outgoing and for a
// msgtype this package cannot send.
func (m Outgoing) Payload() (json.RawMessage, error) { return wxapi.MarshalPayload(m.f.payload()) }

// payload returns the payload matching MsgType, or nil when there is none.
func (f *outgoingFields) payload() any {
	switch f.MsgType {
	case MsgTypeText:
		if f.Text != nil {
			return f.Text
		}
	case MsgTypeImage:
		if f.Image != nil {
			return f.Image
		}
	case MsgTypeVoice:
		if f.Voice != nil {
			return f.Voice
		}
	case MsgTypeVideo:
		if f.Video != nil {
			return f.Video
		}
	case MsgTypeFile:
		if f.File != nil {
			return f.File
		}
	case MsgTypeLink:
		if f.Link != nil {
			return f.Link
		}
	case MsgTypeMiniProgram:
		if f.MiniProgram != nil {
			return f.MiniProgram
		}
	case MsgTypeMsgMenu:
		if f.MsgMenu != nil {
			return f.MsgMenu
		}
	case MsgTypeLocation:
		if f.Location != nil {
			return f.Location
		}
	case MsgTypeCALink:
		if f.CALink != nil {
			return f.CALink
		}
	}
	return nil
}

// validate checks the message against the documented limits; fields are
// named by their JSON path (for example "text.content").
func (m *Outgoing) validate(op string) error {
	c := sendCheck(op)
	f := &m.f
	switch {
	case f.MsgType == "":
		return c.invalid("msgtype", "no message (build one with TextMsg, ImageMsg, MenuMsg, ...)")
	case f.payload() != nil:
	case sendable(f.MsgType):
		return c.invalid(string(f.MsgType), "required with msgtype %q", f.MsgType)
	default:
		return c.invalid("msgtype", "%q cannot be sent", f.MsgType)
	}
	switch f.MsgType {
	case MsgTypeText:
		return c.length("text.content", f.Text.Content, true, sendMaxTextBytes)
	case MsgTypeImage:
		return c.required("image.media_id", f.Image.MediaID)
	case MsgTypeVoice:
		return c.required("voice.media_id", f.Voice.MediaID)
	case MsgTypeVideo:
		return c.required("video.media_id", f.Video.MediaID)
	case MsgTypeFile:
		return c.required("file.media_id", f.File.MediaID)
	case MsgTypeLink:
		// title (128 bytes) and desc (512 bytes) are truncated by the
		// platform (doc 94677), so they are not limited here.
		l := f.Link
		return firstErrOf(
			c.length("link.url", l.URL, true, sendMaxURLBytes),
			c.url("link.url", l.URL, "http", "https"),
			c.required("link.thumb_media_id", l.ThumbMediaID))
	case MsgTypeMiniProgram:
		// title (64 bytes) is truncated by the platform: not limited here.
		mp := f.MiniProgram
		return firstErrOf(
			c.required("miniprogram.appid", mp.AppID),
			c.required("miniprogram.thumb_media_id", mp.ThumbMediaID),
			c.required("miniprogram.pagepath", mp.PagePath))
	case MsgTypeMsgMenu:
		return c.menu(f.MsgMenu)
	case MsgTypeLocation:
		loc := f.Location
		// NaN fails both comparisons; ±Inf is out of range.
		if !(loc.Latitude >= -sendMaxLatitude && loc.Latitude <= sendMaxLatitude) {
			return c.invalid("location.latitude", "%v is outside -90..90", loc.Latitude)
		}
		if !(loc.Longitude >= -sendMaxLongitude && loc.Longitude <= sendMaxLongitude) {
			return c.invalid("location.longitude", "%v is outside -180..180", loc.Longitude)
		}
		return nil
	case MsgTypeCALink:
		// The doc shows https://work.weixin.qq.com/ca/... links; any
		// absolute https URL is accepted (the prefix is not stated as a rule).
		return firstErrOf(
			c.required("ca_link.link_url", f.CALink.LinkURL),
			c.url("ca_link.link_url", f.CALink.LinkURL, "https"))
	}
	return nil
}

// sendable reports whether t is one of the msgtypes send_msg accepts.
func sendable(t MsgType) bool {
	switch t {
	case MsgTypeText, MsgTypeImage, MsgTypeVoice, MsgTypeVideo, MsgTypeFile, MsgTypeLink,
		MsgTypeMiniProgram, MsgTypeMsgMenu, MsgTypeLocation, MsgTypeCALink:
		return true
	}
	return false
}

// sendCheck validates the fields of one sending operation (its value is the
// operation name) and reports *ValidationError.
type sendCheck string

func (c sendCheck) invalid(field, format string, args ...any) error {
	return invalid(string(c), field, format, args...)
}

// required reports an empty value.
func (c sendCheck) required(field, v string) error {
	if v == "" {
		return c.invalid(field, "required")
	}
	return nil
}

// length checks that v has at most max UTF-8 bytes and, when req is set,
// that it is not empty.
func (c sendCheck) length(field, v string, req bool, max int) error {
	if req && v == "" {
		return c.invalid(field, "required")
	}
	if len(v) > max {
		return c.invalid(field, "%d bytes, longer than %d", len(v), max)
	}
	return nil
}

// url checks that a non-empty v is an absolute URL with a host and one of
// the given schemes (an empty v is left to required or length).
func (c sendCheck) url(field, v string, schemes ...string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
		return c.invalid(field, "%q is not an absolute %s URL", v, strings.Join(schemes, " or "))
	}
	return nil
}

// msgID checks a caller-chosen msgid: at most 32 bytes of [0-9a-zA-Z_-]
// (doc 94677). An empty msgid is allowed: the client generates one.
func (c sendCheck) msgID(id string) error {
	if len(id) > sendMaxMsgIDBytes {
		return c.invalid("msgid", "%d bytes, longer than %d", len(id), sendMaxMsgIDBytes)
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !('0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '_' || b == '-') {
			return c.invalid("msgid", "byte %q at offset %d is not one of [0-9a-zA-Z_-]", b, i)
		}
	}
	return nil
}

// menu checks a msgmenu (shared/api-surface.md §3.1, §3.2).
func (c sendCheck) menu(m *MsgMenu) error {
	if n := len(m.List); n < 1 || n > sendMaxMenuItems {
		return c.invalid("msgmenu.list", "has %d items, want 1..%d", n, sendMaxMenuItems)
	}
	if err := firstErrOf(
		c.length("msgmenu.head_content", m.HeadContent, false, sendMaxMenuHeadTail),
		c.length("msgmenu.tail_content", m.TailContent, false, sendMaxMenuHeadTail)); err != nil {
		return err
	}
	for i := range m.List {
		if err := c.menuItem("msgmenu.list["+strconv.Itoa(i)+"]", &m.List[i]); err != nil {
			return err
		}
	}
	return nil
}

// menuItem checks one menu item: its type, that the object named by the
// type is the only one set, and that object's limits.
func (c sendCheck) menuItem(path string, it *MenuItem) error {
	var present bool
	switch it.Type {
	case MenuItemClick:
		present = it.Click != nil
	case MenuItemView:
		present = it.View != nil
	case MenuItemMiniProgram:
		present = it.MiniProgram != nil
	case MenuItemText:
		present = it.Text != nil
	default:
		return c.invalid(path+".type", "unknown menu item type %q (want click, view, miniprogram or text)", it.Type)
	}
	p := path + "." + string(it.Type)
	if !present {
		return c.invalid(p, "required with type %q", it.Type)
	}
	set := 0
	for _, ok := range []bool{it.Click != nil, it.View != nil, it.MiniProgram != nil, it.Text != nil} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return c.invalid(path, "sets %d item objects, want only %q", set, it.Type)
	}
	switch it.Type {
	case MenuItemClick:
		return firstErrOf(
			c.length(p+".id", it.Click.ID, true, sendMaxClickID),
			c.length(p+".content", it.Click.Content, true, sendMaxClickContent))
	case MenuItemView:
		return firstErrOf(
			c.length(p+".url", it.View.URL, true, sendMaxURLBytes),
			c.length(p+".content", it.View.Content, true, sendMaxViewContent))
	case MenuItemMiniProgram:
		return firstErrOf(
			c.length(p+".appid", it.MiniProgram.AppID, true, sendMaxMenuAppID),
			c.length(p+".pagepath", it.MiniProgram.PagePath, true, sendMaxMenuPagePath),
			c.length(p+".content", it.MiniProgram.Content, true, sendMaxMenuMPContent))
	default: // MenuItemText
		if n := it.Text.NoNewline; n != 0 && n != 1 {
			return c.invalid(p+".no_newline", "%d is not 0 or 1", n)
		}
		return c.length(p+".content", it.Text.Content, true, sendMaxMenuText)
	}
}

// firstErrOf returns the first non-nil error.
func firstErrOf(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// newMsgID returns a random msgid: 26 characters of [A-Z2-7] (128 bits of
// crypto/rand), within the documented 32 bytes of [0-9a-zA-Z_-].
func newMsgID() string { return rand.Text() }

// SendMsgRequest is the body of send_msg (doc 94677).
//
// MsgID makes the send safe to retry: the platform rejects a second message
// with the same msgid in the account. When MsgID is empty, Send picks a
// random one, so that its own retries (network errors, HTTP 5xx, errcode -1)
// can never deliver a message twice. Give your own MsgID (for example an
// order number) to make retries across process restarts safe too.
type SendMsgRequest struct {
	ToUser   string   // touser: the customer's external_userid (required)
	OpenKfID string   // open_kfid: the sending KF account (required)
	MsgID    string   // msgid: at most 32 bytes of [0-9a-zA-Z_-], unique in the account (optional)
	Msg      Outgoing // msgtype and its payload (required)
}

// sendMsgWire is the JSON form of SendMsgRequest.
type sendMsgWire struct {
	ToUser   string `json:"touser"`
	OpenKfID string `json:"open_kfid"`
	MsgID    string `json:"msgid,omitempty"`
	outgoingFields
}

// MarshalJSON implements json.Marshaler: the documented wire form, with the
// payload keyed by msgtype.
func (r SendMsgRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(sendMsgWire{ToUser: r.ToUser, OpenKfID: r.OpenKfID, MsgID: r.MsgID, outgoingFields: r.Msg.f})
}

// UnmarshalJSON implements json.Unmarshaler, so that servers such as the
// kftest emulator decode the same type. The result may be invalid; check it
// with Validate.
func (r *SendMsgRequest) UnmarshalJSON(data []byte) error {
	var w sendMsgWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*r = SendMsgRequest{ToUser: w.ToUser, OpenKfID: w.OpenKfID, MsgID: w.MsgID, Msg: Outgoing{w.outgoingFields}}
	return nil
}

// Validate checks r against the documented limits and returns a
// *ValidationError naming the first offending JSON field. Send calls it
// before sending.
func (r *SendMsgRequest) Validate() error {
	c := sendCheck(opSendMsg)
	if r == nil {
		return c.invalid("request", "nil")
	}
	return firstErrOf(
		c.required("touser", r.ToUser),
		c.required("open_kfid", r.OpenKfID),
		c.msgID(r.MsgID),
		r.Msg.validate(opSendMsg))
}

// SendMsgResponse is the reply of send_msg.
type SendMsgResponse struct {
	// MsgID is the message's id as echoed by the platform: the request's
	// msgid (given or generated). Keep it to recall the message. Success
	// does not mean delivery: a later msg_send_fail event reports failures.
	MsgID string `json:"msgid"`
}

// Send sends a message to a customer (send_msg, doc 94677). It is allowed
// only while the session is in state 0 or 1 (otherwise
// ErrCodeSessionStatusInvalid, 95018), within 48 hours of the customer's
// last message and for at most 5 messages per customer message.
//
// The request is validated first (nothing is sent when it is invalid). A
// missing MsgID is generated, so the call is retried after network errors,
// HTTP 5xx and errcode -1 with the same msgid. req is not modified.
func (s *MessageService) Send(ctx context.Context, req *SendMsgRequest) (*SendMsgResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	r := *req
	if r.MsgID == "" {
		r.MsgID = newMsgID()
	}
	var out SendMsgResponse
	// The body is marshalled once per call, so every attempt carries the
	// same msgid: that is what makes the retry safe.
	if err := (*service)(s).post(ctx, opSendMsg, pathSendMsg, &r, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// SendMsgOnEventRequest is the body of send_msg_on_event (doc 95122). Only
// text and msgmenu messages may be sent this way.
type SendMsgOnEventRequest struct {
	// Code is the single-use code of the event: enter_session's
	// welcome_code, or the msg_code of service_state/trans or of a
	// session_status_change event (required).
	Code string
	// MsgID is as in SendMsgRequest (generated when empty).
	MsgID string
	// Msg is a TextMsg or a MenuMsg (required).
	Msg Outgoing
}

// sendMsgOnEventWire is the JSON form of SendMsgOnEventRequest.
type sendMsgOnEventWire struct {
	Code  string `json:"code"`
	MsgID string `json:"msgid,omitempty"`
	outgoingFields
}

// MarshalJSON implements json.Marshaler.
func (r SendMsgOnEventRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(sendMsgOnEventWire{Code: r.Code, MsgID: r.MsgID, outgoingFields: r.Msg.f})
}

// UnmarshalJSON implements json.Unmarshaler (for servers such as kftest);
// check the result with Validate.
func (r *SendMsgOnEventRequest) UnmarshalJSON(data []byte) error {
	var w sendMsgOnEventWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*r = SendMsgOnEventRequest{Code: w.Code, MsgID: w.MsgID, Msg: Outgoing{w.outgoingFields}}
	return nil
}

// Validate checks r against the documented limits and returns a
// *ValidationError naming the first offending JSON field. SendOnEvent calls
// it before sending.
func (r *SendMsgOnEventRequest) Validate() error {
	c := sendCheck(opSendMsgOnEvent)
	if r == nil {
		return c.invalid("request", "nil")
	}
	if err := firstErrOf(c.required("code", r.Code), c.msgID(r.MsgID)); err != nil {
		return err
	}
	if t := r.Msg.Type(); t != MsgTypeText && t != MsgTypeMsgMenu && t != "" {
		return c.invalid("msgtype", "%q cannot be sent on an event (only text and msgmenu)", t)
	}
	return r.Msg.validate(opSendMsgOnEvent)
}

// SendMsgOnEventResponse is the reply of send_msg_on_event.
type SendMsgOnEventResponse struct {
	// MsgID is the message's id as echoed by the platform.
	MsgID string `json:"msgid"`
}

// SendOnEvent sends the one message an event code allows (send_msg_on_event,
// doc 95122): a welcome (enter_session welcome_code, valid 20 s), a queue or
// late-reply notice (msg_code, valid 48 h while the session keeps its
// state) or a closing message (end code, valid 20 s). An expired or used
// code most likely fails with ErrCodeInvalidMsgToken (95007).
//
// As with Send, the request is validated first, a missing MsgID is
// generated and retries reuse it; req is not modified.
func (s *MessageService) SendOnEvent(ctx context.Context, req *SendMsgOnEventRequest) (*SendMsgOnEventResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	r := *req
	if r.MsgID == "" {
		r.MsgID = newMsgID()
	}
	var out SendMsgOnEventResponse
	if err := (*service)(s).post(ctx, opSendMsgOnEvent, pathSendMsgOnEvent, &r, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// RecallMsgRequest is the body of recall_msg.
type RecallMsgRequest struct {
	OpenKfID string `json:"open_kfid"` // the account that sent the message (required)
	MsgID    string `json:"msgid"`     // the msgid returned by Send (required)
}

// Validate checks that both fields are set. Recall calls it before sending.
func (r *RecallMsgRequest) Validate() error {
	c := sendCheck(opRecallMsg)
	if r == nil {
		return c.invalid("request", "nil")
	}
	return firstErrOf(c.required("open_kfid", r.OpenKfID), c.required("msgid", r.MsgID))
}

// Recall recalls a message sent through the API (recall_msg, doc page
// 撤回消息), within 2 minutes of sending. A recalled message still counts
// toward the 5-message allowance.
//
// The call is retried after network errors, HTTP 5xx and errcode -1: a
// recall cannot apply twice, though a retry after a lost reply may report
// an error for a message that the first attempt did recall.
func (s *MessageService) Recall(ctx context.Context, req *RecallMsgRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, opRecallMsg, pathRecallMsg, req, nil, true)
}
