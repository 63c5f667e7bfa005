package callback

import "time"

// Event names and message types carried in callbacks.
const (
	// EventKfMsgOrEvent is the WeCom KF callback telling that an account
	// has new messages or events to pull with sync_msg.
	EventKfMsgOrEvent = "kf_msg_or_event"
	// EventKfAccountAuthChange is the WeCom KF callback listing accounts
	// whose authorisation to the app was added or removed.
	EventKfAccountAuthChange = "kf_account_auth_change"
	// EventKfCreateSession is the Official Account event sent when a
	// customer-service worker accepts a session.
	EventKfCreateSession = "kf_create_session"
	// EventKfCloseSession is the Official Account event sent when a
	// session is closed.
	EventKfCloseSession = "kf_close_session"
	// EventKfSwitchSession is the Official Account event sent when a
	// session is transferred to another worker.
	EventKfSwitchSession = "kf_switch_session"

	// MsgTypeEvent is the MsgType of every event; user messages pushed to
	// Official Accounts carry their content type instead ("text", "image",
	// "voice", "video", "shortvideo", "location", "link").
	MsgTypeEvent = "event"
)

// Event is a verified, decrypted callback.
//
// The common header fields are decoded into the exported fields; the
// fields specific to an event or message type are available through the
// typed accessors ([Event.KfMsgOrEvent], [Event.KfAccountAuthChange],
// [Event.KfCreateSession], [Event.KfCloseSession], [Event.KfSwitchSession],
// [Event.Message]). Events of any other type are delivered too, with the
// common fields filled in: decode Raw for anything else.
type Event struct {
	// ToUserName is the recipient: the CorpID for WeCom callbacks, the
	// Official Account's original ID (gh_…) for Official Account pushes.
	ToUserName string
	// FromUserName is the sender: "sys" for WeCom KF events, the user's
	// OpenID for Official Account pushes.
	FromUserName string
	// CreateTime is the creation time of the callback (zero if absent).
	CreateTime time.Time
	// MsgType is "event" for events, or the message type of an Official
	// Account user message ("text", "image", …).
	MsgType string
	// Event is the event name, such as "kf_msg_or_event"; empty for user
	// messages.
	Event string
	// AgentID is the AgentID element of WeCom app callbacks, if present.
	AgentID string
	// Raw is the decrypted XML message (the request body in plain mode).
	// It belongs to the Event, and the typed accessors read from it: do
	// not modify it.
	Raw []byte

	x extra
}

// extra holds the type-specific fields behind the typed accessors.
type extra struct {
	// token and openKfID alias Raw (or, rarely, a buffer of their own):
	// kf_msg_or_event is the hot path, and its accessor makes the strings
	// on the worker, off the request path.
	token, openKfID                       []byte
	authAdd, authDel                      []string
	kfAccount, fromKfAccount, toKfAccount string
}

// KfMsgOrEvent is the payload of a kf_msg_or_event callback. The callback
// carries no message content: pass Token and OpenKfID to sync_msg to pull
// the new messages and events.
type KfMsgOrEvent struct {
	// Token is the short-lived (10 min) token to pass to sync_msg.
	Token string
	// OpenKfID is the KF account that has new data.
	OpenKfID string
	// CreateTime is the creation time of the callback.
	CreateTime time.Time
}

// KfAccountAuthChange is the payload of a kf_account_auth_change
// callback: one entry per repeated AuthAddOpenKfId / AuthDelOpenKfId
// element, in document order.
type KfAccountAuthChange struct {
	// AuthAddOpenKfIDs lists the accounts newly authorised to the app.
	AuthAddOpenKfIDs []string
	// AuthDelOpenKfIDs lists the accounts no longer authorised.
	AuthDelOpenKfIDs []string
}

// KfSession is the payload of the Official Account kf_create_session and
// kf_close_session events.
type KfSession struct {
	// KfAccount is the worker account, such as "test1@test".
	KfAccount string
}

// KfSwitchSession is the payload of the Official Account
// kf_switch_session event.
type KfSwitchSession struct {
	// FromKfAccount is the worker that handed the session over.
	FromKfAccount string
	// ToKfAccount is the worker that received it.
	ToKfAccount string
}

// Message holds the common fields of an Official Account user message
// (MsgType text, image, voice, video, shortvideo, location or link).
// Fields that the message type does not carry are empty; decode
// [Event.Raw] for anything else.
type Message struct {
	MsgID        string // MsgId
	Content      string // text: the text
	PicURL       string // image: PicUrl
	MediaID      string // image, voice, video: MediaId
	Format       string // voice: amr, speex …
	Recognition  string // voice: speech recognition result, if enabled
	ThumbMediaID string // video, shortvideo: ThumbMediaId
	LocationX    string // location: Location_X (latitude)
	LocationY    string // location: Location_Y (longitude)
	Scale        string // location: map zoom
	Label        string // location: place description
	Title        string // link
	Description  string // link
	URL          string // link: Url
}

// KfMsgOrEvent returns the kf_msg_or_event payload, and false if e is not
// such an event.
func (e Event) KfMsgOrEvent() (KfMsgOrEvent, bool) {
	if e.MsgType != MsgTypeEvent || e.Event != EventKfMsgOrEvent {
		return KfMsgOrEvent{}, false
	}
	return KfMsgOrEvent{Token: string(e.x.token), OpenKfID: string(e.x.openKfID), CreateTime: e.CreateTime}, true
}

// KfAccountAuthChange returns the kf_account_auth_change payload, and
// false if e is not such an event.
func (e Event) KfAccountAuthChange() (KfAccountAuthChange, bool) {
	if e.MsgType != MsgTypeEvent || e.Event != EventKfAccountAuthChange {
		return KfAccountAuthChange{}, false
	}
	return KfAccountAuthChange{
		AuthAddOpenKfIDs: append([]string(nil), e.x.authAdd...),
		AuthDelOpenKfIDs: append([]string(nil), e.x.authDel...),
	}, true
}

// KfCreateSession returns the Official Account kf_create_session payload,
// and false if e is not such an event.
func (e Event) KfCreateSession() (KfSession, bool) {
	if e.MsgType != MsgTypeEvent || e.Event != EventKfCreateSession {
		return KfSession{}, false
	}
	return KfSession{KfAccount: e.x.kfAccount}, true
}

// KfCloseSession returns the Official Account kf_close_session payload,
// and false if e is not such an event.
func (e Event) KfCloseSession() (KfSession, bool) {
	if e.MsgType != MsgTypeEvent || e.Event != EventKfCloseSession {
		return KfSession{}, false
	}
	return KfSession{KfAccount: e.x.kfAccount}, true
}

// KfSwitchSession returns the Official Account kf_switch_session payload,
// and false if e is not such an event.
func (e Event) KfSwitchSession() (KfSwitchSession, bool) {
	if e.MsgType != MsgTypeEvent || e.Event != EventKfSwitchSession {
		return KfSwitchSession{}, false
	}
	return KfSwitchSession{FromKfAccount: e.x.fromKfAccount, ToKfAccount: e.x.toKfAccount}, true
}

// Message returns the common fields of an Official Account user message,
// and false if e is an event (MsgType "event") or has no MsgType. It
// decodes them from Raw on each call (they are checked, but not kept, when
// the callback is received, so that events stay small on the hot path).
func (e Event) Message() (Message, bool) {
	if e.MsgType == "" || e.MsgType == MsgTypeEvent {
		return Message{}, false
	}
	var (
		scratch Event
		m       Message
	)
	if err := parseInto(e.Raw, "", &scratch, &m); err != nil {
		return Message{}, false
	}
	return m, true
}
