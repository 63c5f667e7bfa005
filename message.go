package kf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/wxkf/kf/internal/wxjson"
)

// Message is one received message or event of sync_msg (doc 94670,
// shared/api-surface.md §2.2): the envelope fields, a typed Payload and the
// raw JSON.
//
// Read messages with MessageService.SyncAll (or Sync) and switch on the
// payload:
//
//	for m, err := range c.Messages.SyncAll(ctx, &kf.SyncMsgRequest{OpenKfID: id, Token: token}) {
//		if err != nil {
//			return err
//		}
//		switch p := m.Payload.(type) {
//		case *kf.Text:
//			fmt.Println(m.Customer(), "says", p.Content, p.MenuID)
//		case *kf.Image:
//			download(p.MediaID)
//		case *kf.Event:
//			switch e := p.Payload.(type) {
//			case *kf.EnterSession:
//				greet(e.WelcomeCode)
//			case *kf.SessionStatusChange:
//				log.Println(m.Account(), e.ChangeType)
//			}
//		case *kf.Unknown:
//			archive(m.Raw) // a msgtype this version does not know
//		}
//	}
//
// Events (MsgType "event") carry no top-level open_kfid or external_userid:
// the platform puts them inside the event. OpenKfID and ExternalUserID hold
// exactly what the envelope said (empty for events); use Account and
// Customer to route every message, events included.
//
// Payload is never nil after a successful decode. For a msgtype this package
// does not know, Payload is an *Unknown carrying the payload's raw JSON, and
// the message still decodes without error.
//
// Raw is the message's JSON exactly as received, and MarshalJSON returns it
// unchanged, so that unknown types and fields survive a round trip (note
// that encoding/json compacts and HTML-escapes what a MarshalJSON method
// returns when it embeds it in a larger document).
//
// Memory: for speed, decoding copies a sync_msg page once as bytes and once
// as a string, and every Raw and every string of every Message of the page
// points into those copies instead of being allocated separately (strings
// holding escape sequences are the exception). Keeping any one Message, or
// any string taken from it, therefore keeps its whole page alive (about
// twice the reply size, at most a few MB for 1000 messages). Copy what you
// keep for long (strings.Clone, bytes.Clone) if that matters.
type Message struct {
	// MsgID is the message's unique id (msgid).
	MsgID string `json:"msgid"`
	// OpenKfID is the KF account (open_kfid); empty for events, see Account.
	OpenKfID string `json:"open_kfid,omitempty"`
	// ExternalUserID is the customer (external_userid); empty for events,
	// see Customer.
	ExternalUserID string `json:"external_userid,omitempty"`
	// SendTime is the send time in unix seconds (send_time); see Time.
	SendTime uint64 `json:"send_time"`
	// Origin says who produced the message: customer (3), system event (4)
	// or servicer (5).
	Origin Origin `json:"origin"`
	// ServicerUserID is the servicer who sent the message (servicer_userid),
	// set only when Origin is OriginServicer.
	ServicerUserID string `json:"servicer_userid,omitempty"`
	// MsgType is the message type (msgtype); it names the payload's key.
	MsgType MsgType `json:"msgtype"`
	// Payload is the typed content: *Text, *Image, *Voice, *Video, *File,
	// *Location, *Link, *BusinessCard, *MiniProgram, *MsgMenu,
	// *ChannelsShopProduct, *ChannelsShopOrder, *MergedMsg, *Channels,
	// *Meeting, *Schedule, *Note, *Event or *Unknown.
	Payload Payload `json:"-"`
	// Raw is the whole message object as received (nil for a Message built
	// in code). It shares memory with the rest of the decoded page.
	Raw json.RawMessage `json:"-"`
}

// Payload is the typed content of a received Message. The concrete types are
// listed on Message.Payload; the set is closed (the interface has
// unexported methods) so a type switch over them is exhaustive, with *Unknown
// for msgtypes this package does not know.
type Payload interface {
	// receivedType is the msgtype the payload belongs to.
	receivedType() MsgType
	// rxDecode reads the payload's JSON value at the decoder's position.
	rxDecode(d *rxDecoder)
}

// Time returns SendTime as a time.Time.
func (m *Message) Time() time.Time { return time.Unix(int64(m.SendTime), 0) }

// Account returns the KF account (open_kfid) the message belongs to: the
// envelope's OpenKfID, or for an event the event's OpenKfID. It is empty only
// when the platform sent none.
func (m *Message) Account() string {
	if m.OpenKfID != "" {
		return m.OpenKfID
	}
	if e, ok := m.Payload.(*Event); ok && e != nil {
		return e.OpenKfID
	}
	return ""
}

// Customer returns the customer (external_userid) the message concerns: the
// envelope's ExternalUserID, or for an event the event's ExternalUserID. It
// is empty for events that concern no customer (servicer_status_change).
func (m *Message) Customer() string {
	if m.ExternalUserID != "" {
		return m.ExternalUserID
	}
	if e, ok := m.Payload.(*Event); ok && e != nil {
		return e.ExternalUserID
	}
	return ""
}

// Text returns the payload of a text message, or nil for other types.
func (m *Message) Text() *Text {
	p, _ := m.Payload.(*Text)
	return p
}

// Event returns the payload of an event message, or nil for other types.
func (m *Message) Event() *Event {
	p, _ := m.Payload.(*Event)
	return p
}

// MarshalJSON returns Raw unchanged when the message was decoded. For a
// Message built in code (Raw empty) it encodes the envelope and the payload
// under the key named by MsgType (or, when MsgType is empty, by the payload's
// type).
func (m Message) MarshalJSON() ([]byte, error) {
	if len(m.Raw) > 0 {
		return m.Raw, nil
	}
	t := m.MsgType
	if t == "" && m.Payload != nil {
		t = m.Payload.receivedType()
	}
	head, err := json.Marshal(rxMessageHead{
		MsgID: m.MsgID, OpenKfID: m.OpenKfID, ExternalUserID: m.ExternalUserID,
		SendTime: m.SendTime, Origin: m.Origin, ServicerUserID: m.ServicerUserID, MsgType: t,
	})
	if err != nil {
		return nil, err
	}
	return rxAppendPayload(head, string(t), m.Payload)
}

// rxMessageHead is the envelope of an encoded Message.
type rxMessageHead struct {
	MsgID          string  `json:"msgid"`
	OpenKfID       string  `json:"open_kfid,omitempty"`
	ExternalUserID string  `json:"external_userid,omitempty"`
	SendTime       uint64  `json:"send_time"`
	Origin         Origin  `json:"origin"`
	ServicerUserID string  `json:"servicer_userid,omitempty"`
	MsgType        MsgType `json:"msgtype"`
}

// rxAppendPayload adds `"key":payload` to the encoded object obj. A nil
// payload, or an Unknown without raw bytes, adds nothing.
func rxAppendPayload(obj []byte, key string, p Payload) ([]byte, error) {
	if p == nil {
		return obj, nil
	}
	if u, ok := p.(*Unknown); ok && (u == nil || len(u.Raw) == 0) {
		return obj, nil
	}
	pb, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	kb, _ := json.Marshal(key)
	out := make([]byte, 0, len(obj)+len(kb)+len(pb)+2)
	out = append(out, obj[:len(obj)-1]...)
	if len(obj) > 2 { // not the empty object
		out = append(out, ',')
	}
	out = append(out, kb...)
	out = append(out, ':')
	out = append(out, pb...)
	return append(out, '}'), nil
}

// UnmarshalJSON decodes one message. The data is copied (once as bytes, once
// as a string) and the strings and Raw of the result point into the copies.
// A null leaves m unchanged.
func (m *Message) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	d := rxNewDecoder(data)
	var msg Message
	d.message(&msg)
	d.sc.End()
	if err := d.sc.Err(); err != nil {
		return fmt.Errorf("kf: decode message: %w", err)
	}
	*m = msg
	return nil
}

// ---------------------------------------------------------------------------
// Payload types (shared/api-surface.md §2.3)

// Text is a text message (msgtype text).
type Text struct {
	// Content is the text.
	Content string `json:"content"`
	// MenuID is set when the text is the customer's click on a msgmenu
	// click item: it equals the item's id (MenuClick.ID).
	MenuID string `json:"menu_id,omitempty"`
}

// Image is an image message (msgtype image).
type Image struct {
	// MediaID is the temporary media id (valid 3 days; download it with the
	// Media service).
	MediaID string `json:"media_id"`
}

// Voice is a voice message (msgtype voice), in AMR or SILK as asked by
// SyncMsgRequest.VoiceFormat.
type Voice struct {
	// MediaID is the temporary media id (valid 3 days).
	MediaID string `json:"media_id"`
}

// Video is a video message (msgtype video).
type Video struct {
	// MediaID is the temporary media id (valid 3 days).
	MediaID string `json:"media_id"`
}

// File is a file message (msgtype file). The platform documents no file name.
type File struct {
	// MediaID is the temporary media id (valid 3 days).
	MediaID string `json:"media_id"`
}

// Location is a location message (msgtype location).
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// Link is a link (图文) message (msgtype link).
type Link struct {
	Title  string `json:"title"`
	Desc   string `json:"desc,omitempty"`
	URL    string `json:"url"`
	PicURL string `json:"pic_url,omitempty"`
}

// BusinessCard is a business card message (msgtype business_card): a corp
// member shared as a card.
type BusinessCard struct {
	// UserID is the shared member's userid.
	UserID string `json:"userid"`
}

// MiniProgram is a mini-program card (msgtype miniprogram).
type MiniProgram struct {
	Title        string `json:"title"`
	AppID        string `json:"appid"`
	PagePath     string `json:"pagepath"`
	ThumbMediaID string `json:"thumb_media_id"`
}

// ChannelsShopProduct is a 视频号小店 product card (msgtype
// channels_shop_product).
type ChannelsShopProduct struct {
	ProductID string `json:"product_id"`
	// HeadImg is the product image URL. One source names the key head_image;
	// both spellings are accepted.
	HeadImg string `json:"head_img"`
	Title   string `json:"title"`
	// SalesPrice is the price in fen (分) as its literal text: the doc sample
	// sends a JSON number, one SDK a string; both are accepted. Parse it with
	// strconv.ParseInt.
	SalesPrice   string `json:"sales_price"`
	ShopNickname string `json:"shop_nickname"`
	// ShopHeadImg is the shop's avatar URL (shop_head_img; shop_head_image is
	// accepted too).
	ShopHeadImg string `json:"shop_head_img"`
}

// ChannelsShopOrder is a 视频号小店 order card (msgtype channels_shop_order).
type ChannelsShopOrder struct {
	OrderID       string `json:"order_id"`
	ProductTitles string `json:"product_titles"`
	PriceWording  string `json:"price_wording"`
	// State is the order state as text (a number is kept as its literal).
	State        string `json:"state"`
	ImageURL     string `json:"image_url"`
	ShopNickname string `json:"shop_nickname"`
}

// MergedMsg is a forwarded chat record (msgtype merged_msg).
type MergedMsg struct {
	// Title is the record's title.
	Title string `json:"title"`
	// Item lists the forwarded messages.
	Item []MergedMsgItem `json:"item"`
}

// MergedMsgItem is one forwarded message of a MergedMsg.
type MergedMsgItem struct {
	SendTime   uint64  `json:"send_time"`
	MsgType    MsgType `json:"msgtype"`
	SenderName string  `json:"sender_name"`
	// MsgContent is the inner message as JSON text, exactly as sent (the
	// platform sends a JSON string holding an object such as
	// {"text":{"content":"hi"}} or {"msgtype":"text","text":{...}}).
	MsgContent string `json:"msg_content"`
	// Payload is MsgContent decoded: the value under the key named by
	// MsgType (or, failing that, the whole object read as that type's
	// payload). It is nil when MsgContent is not a JSON object or does not
	// decode; that does not fail the page.
	Payload Payload `json:"-"`
}

// MarshalJSON encodes the item; when MsgContent is empty and Payload is set,
// msg_content is produced from Payload.
func (it MergedMsgItem) MarshalJSON() ([]byte, error) {
	type plain MergedMsgItem
	if it.MsgContent == "" && it.Payload != nil {
		t := it.MsgType
		if t == "" {
			t = it.Payload.receivedType()
		}
		inner, err := rxAppendPayload([]byte("{}"), string(t), it.Payload)
		if err != nil {
			return nil, err
		}
		it.MsgContent = string(inner)
	}
	return json.Marshal(plain(it))
}

// ChannelsSubType is the kind of a channels (视频号) message.
type ChannelsSubType int

// Channels sub types.
const (
	ChannelsSubTypeFeed ChannelsSubType = 1 // 视频号动态
	ChannelsSubTypeLive ChannelsSubType = 2 // 视频号直播
	ChannelsSubTypeCard ChannelsSubType = 3 // 视频号名片
)

// String returns the sub type's name.
func (t ChannelsSubType) String() string {
	switch t {
	case ChannelsSubTypeFeed:
		return "feed"
	case ChannelsSubTypeLive:
		return "live"
	case ChannelsSubTypeCard:
		return "card"
	}
	return "ChannelsSubType(" + strconv.Itoa(int(t)) + ")"
}

// Channels is a 视频号 message (msgtype channels).
type Channels struct {
	SubType  ChannelsSubType `json:"sub_type"`
	Nickname string          `json:"nickname"`
	// Title is set only for ChannelsSubTypeFeed.
	Title string `json:"title,omitempty"`
}

// Meeting is a meeting message (msgtype meeting). Its payload is
// UNCONFIRMED: the type is listed by the doc but no source documents its
// fields. Raw keeps the whole payload object; the typed fields are guesses
// modelled on the 会话存档 meeting message, filled only when a key of that
// name (either spelling) holds a value of a fitting kind, and otherwise left
// empty without error.
type Meeting struct {
	MeetingID string // meetingid or meeting_id (unconfirmed)
	Topic     string // topic or title (unconfirmed)
	StartTime int64  // starttime or start_time, unix seconds (unconfirmed)
	EndTime   int64  // endtime or end_time, unix seconds (unconfirmed)
	// Raw is the payload object as received.
	Raw json.RawMessage
}

// MarshalJSON returns Raw, or for a Meeting built in code its guessed fields.
func (p *Meeting) MarshalJSON() ([]byte, error) {
	if len(p.Raw) > 0 {
		return p.Raw, nil
	}
	return json.Marshal(struct {
		MeetingID string `json:"meetingid,omitempty"`
		Topic     string `json:"topic,omitempty"`
		StartTime int64  `json:"starttime,omitempty"`
		EndTime   int64  `json:"endtime,omitempty"`
	}{p.MeetingID, p.Topic, p.StartTime, p.EndTime})
}

// Schedule is a schedule (日程) message (msgtype schedule). Its payload is
// UNCONFIRMED, see Meeting: Raw keeps the object; the typed fields are
// guesses modelled on the 会话存档 calendar message.
type Schedule struct {
	Title     string // title or summary (unconfirmed)
	StartTime int64  // starttime or start_time, unix seconds (unconfirmed)
	EndTime   int64  // endtime or end_time, unix seconds (unconfirmed)
	// Raw is the payload object as received.
	Raw json.RawMessage
}

// MarshalJSON returns Raw, or for a Schedule built in code its guessed
// fields.
func (p *Schedule) MarshalJSON() ([]byte, error) {
	if len(p.Raw) > 0 {
		return p.Raw, nil
	}
	return json.Marshal(struct {
		Title     string `json:"title,omitempty"`
		StartTime int64  `json:"starttime,omitempty"`
		EndTime   int64  `json:"endtime,omitempty"`
	}{p.Title, p.StartTime, p.EndTime})
}

// Note is a note (笔记) message (msgtype note). Its payload is UNCONFIRMED
// (likely without details); Raw keeps it as received.
type Note struct {
	// Raw is the payload value as received (nil when absent).
	Raw json.RawMessage
}

// MarshalJSON returns Raw, or {} when it is empty.
func (p *Note) MarshalJSON() ([]byte, error) {
	if len(p.Raw) > 0 {
		return p.Raw, nil
	}
	return []byte("{}"), nil
}

// Unknown is the payload of a msgtype this package does not know. The
// message decodes without error and re-encodes byte for byte.
type Unknown struct {
	// Type is the message's msgtype.
	Type MsgType
	// Raw is the value under the key named by the msgtype, as received;
	// nil when the message has no such key.
	Raw json.RawMessage
}

// MarshalJSON returns Raw, or null when it is empty (a Message omits the
// payload key then).
func (p *Unknown) MarshalJSON() ([]byte, error) {
	if len(p.Raw) == 0 {
		return []byte("null"), nil
	}
	return p.Raw, nil
}

// Compile-time checks.
var (
	_ json.Marshaler   = Message{}
	_ json.Unmarshaler = (*Message)(nil)

	_ Payload = (*Text)(nil)
	_ Payload = (*Image)(nil)
	_ Payload = (*Voice)(nil)
	_ Payload = (*Video)(nil)
	_ Payload = (*File)(nil)
	_ Payload = (*Location)(nil)
	_ Payload = (*Link)(nil)
	_ Payload = (*BusinessCard)(nil)
	_ Payload = (*MiniProgram)(nil)
	_ Payload = (*MsgMenu)(nil)
	_ Payload = (*ChannelsShopProduct)(nil)
	_ Payload = (*ChannelsShopOrder)(nil)
	_ Payload = (*MergedMsg)(nil)
	_ Payload = (*Channels)(nil)
	_ Payload = (*Meeting)(nil)
	_ Payload = (*Schedule)(nil)
	_ Payload = (*Note)(nil)
	_ Payload = (*Event)(nil)
	_ Payload = (*Unknown)(nil)
)

func (*Text) receivedType() MsgType                { return MsgTypeText }
func (*Image) receivedType() MsgType               { return MsgTypeImage }
func (*Voice) receivedType() MsgType               { return MsgTypeVoice }
func (*Video) receivedType() MsgType               { return MsgTypeVideo }
func (*File) receivedType() MsgType                { return MsgTypeFile }
func (*Location) receivedType() MsgType            { return MsgTypeLocation }
func (*Link) receivedType() MsgType                { return MsgTypeLink }
func (*BusinessCard) receivedType() MsgType        { return MsgTypeBusinessCard }
func (*MiniProgram) receivedType() MsgType         { return MsgTypeMiniProgram }
func (*MsgMenu) receivedType() MsgType             { return MsgTypeMsgMenu }
func (*ChannelsShopProduct) receivedType() MsgType { return MsgTypeChannelsShopProduct }
func (*ChannelsShopOrder) receivedType() MsgType   { return MsgTypeChannelsShopOrder }
func (*MergedMsg) receivedType() MsgType           { return MsgTypeMergedMsg }
func (*Channels) receivedType() MsgType            { return MsgTypeChannels }
func (*Meeting) receivedType() MsgType             { return MsgTypeMeeting }
func (*Schedule) receivedType() MsgType            { return MsgTypeSchedule }
func (*Note) receivedType() MsgType                { return MsgTypeNote }
func (*Event) receivedType() MsgType               { return MsgTypeEvent }
func (p *Unknown) receivedType() MsgType           { return p.Type }

// rxNewPayload is the registry of received payload types: it maps a msgtype to
// a new zero payload of its type (*Unknown for unknown msgtypes). It is a
// switch, compiled once and read-only; there is no mutable package state.
func rxNewPayload(t MsgType) Payload {
	switch t {
	case MsgTypeText:
		return new(Text)
	case MsgTypeImage:
		return new(Image)
	case MsgTypeVoice:
		return new(Voice)
	case MsgTypeVideo:
		return new(Video)
	case MsgTypeFile:
		return new(File)
	case MsgTypeLocation:
		return new(Location)
	case MsgTypeLink:
		return new(Link)
	case MsgTypeBusinessCard:
		return new(BusinessCard)
	case MsgTypeMiniProgram:
		return new(MiniProgram)
	case MsgTypeMsgMenu:
		return new(MsgMenu)
	case MsgTypeChannelsShopProduct:
		return new(ChannelsShopProduct)
	case MsgTypeChannelsShopOrder:
		return new(ChannelsShopOrder)
	case MsgTypeMergedMsg:
		return new(MergedMsg)
	case MsgTypeChannels:
		return new(Channels)
	case MsgTypeMeeting:
		return new(Meeting)
	case MsgTypeSchedule:
		return new(Schedule)
	case MsgTypeNote:
		return new(Note)
	case MsgTypeEvent:
		return &Event{Payload: &UnknownEvent{}}
	}
	return &Unknown{Type: t}
}

// ---------------------------------------------------------------------------
// Decoding

// rxDecoder decodes received messages with the zero-copy scanner. Every
// decoded string is a substring of the scanned text and every Raw a
// sub-slice of buf, which holds the same bytes (one copy of the input each).
type rxDecoder struct {
	sc  wxjson.Scanner
	buf []byte // same bytes as sc.Input(); nil when Raw must be copied out
	// depth counts merged_msg nesting, to bound recursion.
	depth int
}

// rxMaxMergedDepth bounds the nesting of merged_msg inside merged_msg.
const rxMaxMergedDepth = 8

// rxNewDecoder copies data twice (once as bytes for Raw, once as a string
// for the scanned text): two allocations for a whole page.
func rxNewDecoder(data []byte) *rxDecoder {
	buf := bytes.Clone(data)
	d := &rxDecoder{buf: buf}
	d.sc.Reset(string(buf), 0)
	return d
}

// raw returns the input bytes [start, end) as a RawMessage whose capacity
// ends at end, so that appending to it cannot touch its neighbours.
func (d *rxDecoder) raw(start, end int) json.RawMessage {
	if d.buf == nil {
		return json.RawMessage(d.sc.Input()[start:end])
	}
	return d.buf[start:end:end]
}

// rxFielder reads the object member key of a payload; it reports false for
// keys it does not know (the caller skips the value).
type rxFielder interface {
	rxField(d *rxDecoder, key string) bool
}

// fields reads an object member by member into p. A null leaves p zero.
func (d *rxDecoder) fields(p rxFielder) {
	if !d.sc.Object() {
		return
	}
	for key, ok := d.sc.Key(); ok; key, ok = d.sc.Key() {
		if !p.rxField(d, key) {
			d.sc.Skip()
		}
	}
}

// u32 reads an unsigned number that must fit in 32 bits.
func (d *rxDecoder) u32() uint32 {
	at := d.sc.Pos()
	n := d.sc.Uint64()
	if n > math.MaxUint32 {
		d.sc.Reset(d.sc.Input(), at)
		d.sc.Fail("number overflows uint32")
		return 0
	}
	return uint32(n)
}

// int reads an integer that must fit in an int32 (enumerations).
func (d *rxDecoder) int() int {
	n := d.sc.Int64()
	if n > math.MaxInt32 || n < math.MinInt32 {
		d.sc.Fail("number overflows int32")
		return 0
	}
	return int(n)
}

// flag reads a 0/1 number (or a boolean) as a bool.
func (d *rxDecoder) flag() bool {
	if d.sc.Peek() == wxjson.Bool {
		return d.sc.Bool()
	}
	return d.sc.Int64() != 0
}

// lenientStr reads a string or a number's text; any other value is skipped
// and reads as "". For unconfirmed payloads.
func (d *rxDecoder) lenientStr() string {
	switch d.sc.Peek() {
	case wxjson.String, wxjson.Number:
		return d.sc.StrOrNumber()
	}
	d.sc.Skip()
	return ""
}

// lenientInt reads an integer given as a number or a numeric string; any
// other value is skipped and reads as 0. For unconfirmed payloads.
func (d *rxDecoder) lenientInt() int64 {
	switch d.sc.Peek() {
	case wxjson.String, wxjson.Number:
		n, err := strconv.ParseInt(d.sc.StrOrNumber(), 10, 64)
		if err != nil {
			return 0
		}
		return n
	}
	d.sc.Skip()
	return 0
}

// messages decodes a msg_list array (nil for null).
func (d *rxDecoder) messages() ([]Message, error) {
	sc := &d.sc
	if !sc.Array() {
		return nil, sc.Err()
	}
	// A cheap capacity hint from the size of the rest of the reply: real
	// messages take 150-400 bytes, so a 1000-message page usually needs a
	// single allocation, and append grows the list if the guess is short.
	list := make([]Message, 0, 1+(len(sc.Input())-sc.Pos())/rxMsgSizeHint)
	for sc.Elem() {
		list = append(list, Message{})
		d.message(&list[len(list)-1])
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("msg_list[%d]: %w", len(list)-1, err)
		}
	}
	return list, sc.Err()
}

// rxMsgSizeHint is the assumed JSON size of a message when sizing MsgList.
const rxMsgSizeHint = 256

// message decodes one message object into m.
func (d *rxDecoder) message(m *Message) {
	sc := &d.sc
	if sc.Peek() != wxjson.Object {
		sc.Fail("expected message object")
		return
	}
	start := sc.Pos()
	sc.Object()
	decoded := false
	var decodedAs MsgType
	for key, ok := sc.Key(); ok; key, ok = sc.Key() {
		switch key {
		case "msgid":
			m.MsgID = sc.Str()
		case "open_kfid":
			m.OpenKfID = sc.Str()
		case "external_userid":
			m.ExternalUserID = sc.Str()
		case "send_time":
			m.SendTime = sc.Uint64()
		case "origin":
			m.Origin = Origin(d.u32())
		case "servicer_userid":
			m.ServicerUserID = sc.Str()
		case "msgtype":
			m.MsgType = MsgType(sc.Str())
		default:
			if key == string(m.MsgType) {
				m.Payload = d.payload(m.MsgType)
				decoded, decodedAs = true, m.MsgType
			} else {
				sc.Skip()
			}
		}
	}
	if sc.Err() != nil {
		return
	}
	end := sc.Pos()
	m.Raw = d.raw(start, end)
	if decoded && decodedAs == m.MsgType {
		return
	}
	// Rare: the payload key came before msgtype (or msgtype was repeated).
	// Read the object again for the payload key alone.
	m.Payload = nil
	sc.Reset(sc.Input(), start)
	sc.Object()
	for key, ok := sc.Key(); ok; key, ok = sc.Key() {
		if key == string(m.MsgType) {
			m.Payload = d.payload(m.MsgType)
		} else {
			sc.Skip()
		}
	}
	if m.Payload == nil {
		m.Payload = rxNewPayload(m.MsgType) // no payload key: a zero payload
	}
}

// payload decodes the payload value of type t at the scanner.
func (d *rxDecoder) payload(t MsgType) Payload {
	if t == MsgTypeEvent {
		return d.event()
	}
	p := rxNewPayload(t)
	p.rxDecode(d)
	return p
}

func (p *Text) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *Text) rxField(d *rxDecoder, key string) bool {
	switch key {
	case "content":
		p.Content = d.sc.Str()
	case "menu_id":
		p.MenuID = d.sc.StrOrNumber()
	default:
		return false
	}
	return true
}

func (p *Image) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *Image) rxField(d *rxDecoder, key string) bool {
	return rxMediaField(d, key, &p.MediaID)
}

func (p *Voice) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *Voice) rxField(d *rxDecoder, key string) bool {
	return rxMediaField(d, key, &p.MediaID)
}

func (p *Video) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *Video) rxField(d *rxDecoder, key string) bool {
	return rxMediaField(d, key, &p.MediaID)
}

func (p *File) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *File) rxField(d *rxDecoder, key string) bool {
	return rxMediaField(d, key, &p.MediaID)
}

func rxMediaField(d *rxDecoder, key string, mediaID *string) bool {
	if key != "media_id" {
		return false
	}
	*mediaID = d.sc.Str()
	return true
}

func (p *Location) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *Location) rxField(d *rxDecoder, key string) bool {
	switch key {
	case "latitude":
		p.Latitude = d.sc.Float64()
	case "longitude":
		p.Longitude = d.sc.Float64()
	case "name":
		p.Name = d.sc.Str()
	case "address":
		p.Address = d.sc.Str()
	default:
		return false
	}
	return true
}

func (p *Link) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *Link) rxField(d *rxDecoder, key string) bool {
	switch key {
	case "title":
		p.Title = d.sc.Str()
	case "desc":
		p.Desc = d.sc.Str()
	case "url":
		p.URL = d.sc.Str()
	case "pic_url":
		p.PicURL = d.sc.Str()
	default:
		return false
	}
	return true
}

func (p *BusinessCard) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *BusinessCard) rxField(d *rxDecoder, key string) bool {
	if key != "userid" {
		return false
	}
	p.UserID = d.sc.Str()
	return true
}

func (p *MiniProgram) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *MiniProgram) rxField(d *rxDecoder, key string) bool {
	switch key {
	case "title":
		p.Title = d.sc.Str()
	case "appid":
		p.AppID = d.sc.Str()
	case "pagepath":
		p.PagePath = d.sc.Str()
	case "thumb_media_id":
		p.ThumbMediaID = d.sc.Str()
	default:
		return false
	}
	return true
}

func (p *MsgMenu) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *MsgMenu) rxField(d *rxDecoder, key string) bool {
	switch key {
	case "head_content":
		p.HeadContent = d.sc.Str()
	case "tail_content":
		p.TailContent = d.sc.Str()
	case "list":
		p.List = nil
		if d.sc.Array() {
			p.List = []MenuItem{}
			for d.sc.Elem() {
				var it MenuItem
				d.menuItem(&it)
				p.List = append(p.List, it)
			}
		}
	default:
		return false
	}
	return true
}

// menuItem decodes one msgmenu item.
func (d *rxDecoder) menuItem(it *MenuItem) {
	sc := &d.sc
	if sc.Peek() != wxjson.Object {
		sc.Fail("expected menu item object")
		return
	}
	sc.Object()
	for key, ok := sc.Key(); ok; key, ok = sc.Key() {
		switch key {
		case "type":
			it.Type = MenuItemType(sc.Str())
		case "click":
			var v MenuClick
			if d.menuObject(func(k string) bool {
				switch k {
				case "id":
					v.ID = sc.StrOrNumber()
				case "content":
					v.Content = sc.Str()
				default:
					return false
				}
				return true
			}) {
				it.Click = &v
			}
		case "view":
			var v MenuView
			if d.menuObject(func(k string) bool {
				switch k {
				case "url":
					v.URL = sc.Str()
				case "content":
					v.Content = sc.Str()
				default:
					return false
				}
				return true
			}) {
				it.View = &v
			}
		case "miniprogram":
			var v MenuMiniProgram
			if d.menuObject(func(k string) bool {
				switch k {
				case "appid":
					v.AppID = sc.Str()
				case "pagepath":
					v.PagePath = sc.Str()
				case "content":
					v.Content = sc.Str()
				default:
					return false
				}
				return true
			}) {
				it.MiniProgram = &v
			}
		case "text":
			var v MenuText
			if d.menuObject(func(k string) bool {
				switch k {
				case "content":
					v.Content = sc.Str()
				case "no_newline":
					v.NoNewline = d.int()
				default:
					return false
				}
				return true
			}) {
				it.Text = &v
			}
		default:
			sc.Skip()
		}
	}
}

// menuObject reads an object with field (rare path: closures are fine) and
// reports whether it was an object (not null).
func (d *rxDecoder) menuObject(field func(key string) bool) bool {
	if !d.sc.Object() {
		return false
	}
	for key, ok := d.sc.Key(); ok; key, ok = d.sc.Key() {
		if !field(key) {
			d.sc.Skip()
		}
	}
	return d.sc.Err() == nil
}

func (p *ChannelsShopProduct) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *ChannelsShopProduct) rxField(d *rxDecoder, key string) bool {
	switch key {
	case "product_id":
		p.ProductID = d.sc.StrOrNumber()
	case "head_img", "head_image":
		p.HeadImg = d.sc.Str()
	case "title":
		p.Title = d.sc.Str()
	case "sales_price":
		p.SalesPrice = d.sc.StrOrNumber()
	case "shop_nickname":
		p.ShopNickname = d.sc.Str()
	case "shop_head_img", "shop_head_image":
		p.ShopHeadImg = d.sc.Str()
	default:
		return false
	}
	return true
}

func (p *ChannelsShopOrder) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *ChannelsShopOrder) rxField(d *rxDecoder, key string) bool {
	switch key {
	case "order_id":
		p.OrderID = d.sc.StrOrNumber()
	case "product_titles":
		p.ProductTitles = d.sc.Str()
	case "price_wording":
		p.PriceWording = d.sc.Str()
	case "state":
		p.State = d.sc.StrOrNumber()
	case "image_url":
		p.ImageURL = d.sc.Str()
	case "shop_nickname":
		p.ShopNickname = d.sc.Str()
	default:
		return false
	}
	return true
}

func (p *Channels) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *Channels) rxField(d *rxDecoder, key string) bool {
	switch key {
	case "sub_type":
		p.SubType = ChannelsSubType(d.int())
	case "nickname":
		p.Nickname = d.sc.Str()
	case "title":
		p.Title = d.sc.Str()
	default:
		return false
	}
	return true
}

func (p *MergedMsg) rxDecode(d *rxDecoder) { d.fields(p) }
func (p *MergedMsg) rxField(d *rxDecoder, key string) bool {
	sc := &d.sc
	switch key {
	case "title":
		p.Title = sc.Str()
	case "item":
		p.Item = nil
		if !sc.Array() {
			return true
		}
		p.Item = []MergedMsgItem{}
		for sc.Elem() {
			var it MergedMsgItem
			if sc.Peek() != wxjson.Object {
				sc.Fail("expected merged_msg item object")
				return true
			}
			sc.Object()
			for k, ok := sc.Key(); ok; k, ok = sc.Key() {
				switch k {
				case "send_time":
					it.SendTime = sc.Uint64()
				case "msgtype":
					it.MsgType = MsgType(sc.Str())
				case "sender_name":
					it.SenderName = sc.Str()
				case "msg_content":
					if sc.Peek() == wxjson.Object { // permissive: an object instead of a string
						s, e := sc.Value()
						it.MsgContent = sc.Input()[s:e]
					} else {
						it.MsgContent = sc.Str()
					}
				default:
					sc.Skip()
				}
			}
			if sc.Err() != nil {
				return true
			}
			it.Payload = rxDecodeMergedContent(it.MsgContent, it.MsgType, d.depth+1)
			p.Item = append(p.Item, it)
		}
	default:
		return false
	}
	return true
}

// rxDecodeMergedContent decodes the inner message of a merged_msg item. It
// returns nil when content is not a decodable JSON object.
func rxDecodeMergedContent(content string, t MsgType, depth int) Payload {
	if depth > rxMaxMergedDepth || content == "" {
		return nil
	}
	d := &rxDecoder{depth: depth} // buf nil: Raw values are copied out
	sc := &d.sc
	sc.Reset(content, 0)
	if sc.Peek() != wxjson.Object {
		return nil
	}
	start := sc.Pos()
	if t == "" { // take the type from the inner object
		sc.Object()
		for key, ok := sc.Key(); ok; key, ok = sc.Key() {
			if key == "msgtype" && sc.Peek() == wxjson.String {
				t = MsgType(sc.Str())
			} else {
				sc.Skip()
			}
		}
		if sc.Err() != nil {
			return nil
		}
		sc.Reset(content, start)
	}
	var p Payload
	sc.Object()
	for key, ok := sc.Key(); ok; key, ok = sc.Key() {
		if key == string(t) {
			p = d.payload(t)
		} else {
			sc.Skip()
		}
	}
	sc.End()
	if sc.Err() != nil {
		return nil
	}
	if p == nil {
		// No key named after the type: read the object itself as the payload.
		sc.Reset(content, start)
		p = d.payload(t)
		sc.End()
		if sc.Err() != nil {
			return nil
		}
	}
	return p // Raw values inside were copied out of content (buf is nil)
}

func (p *Meeting) rxDecode(d *rxDecoder) {
	start, end := d.sc.Value()
	if d.sc.Err() != nil {
		return
	}
	p.Raw = d.raw(start, end)
	d.lenientObject(start, func(key string) bool {
		switch key {
		case "meetingid", "meeting_id":
			p.MeetingID = d.lenientStr()
		case "topic", "title":
			p.Topic = d.lenientStr()
		case "starttime", "start_time":
			p.StartTime = d.lenientInt()
		case "endtime", "end_time":
			p.EndTime = d.lenientInt()
		default:
			return false
		}
		return true
	})
}

func (p *Schedule) rxDecode(d *rxDecoder) {
	start, end := d.sc.Value()
	if d.sc.Err() != nil {
		return
	}
	p.Raw = d.raw(start, end)
	d.lenientObject(start, func(key string) bool {
		switch key {
		case "title", "summary":
			p.Title = d.lenientStr()
		case "starttime", "start_time":
			p.StartTime = d.lenientInt()
		case "endtime", "end_time":
			p.EndTime = d.lenientInt()
		default:
			return false
		}
		return true
	})
}

func (p *Note) rxDecode(d *rxDecoder) {
	start, end := d.sc.Value()
	if d.sc.Err() == nil {
		p.Raw = d.raw(start, end)
	}
}

func (p *Unknown) rxDecode(d *rxDecoder) {
	start, end := d.sc.Value()
	if d.sc.Err() == nil {
		p.Raw = d.raw(start, end)
	}
}

// lenientObject reads the already validated value starting at start as an
// object with field, ignoring values whose kind does not fit (unconfirmed
// payloads); a non-object is ignored. The scanner is then restored to just
// after the value.
func (d *rxDecoder) lenientObject(start int, field func(key string) bool) {
	sc := &d.sc
	after := *sc // the scanner state just after the value
	sc.Reset(sc.Input(), start)
	if sc.Peek() == wxjson.Object {
		sc.Object()
		for key, ok := sc.Key(); ok; key, ok = sc.Key() {
			if !field(key) {
				sc.Skip()
			}
		}
	}
	*sc = after
}
