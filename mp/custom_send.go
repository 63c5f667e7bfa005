package mp

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/wxkf/kf/internal/wxapi"
)

// Customer messages (客服消息; shared/api-surface.md §8.5; official page
// customer/message/api_sendcustommessage).

const (
	opSend          = "mp/message/custom/send"
	opTyping        = "mp/message/custom/typing"
	pathSend        = "/cgi-bin/message/custom/send"
	pathTyping      = "/cgi-bin/message/custom/typing"
	cmdTyping       = "Typing"
	cmdCancelTyping = "CancelTyping"
)

// MsgType is the msgtype of a customer message.
type MsgType string

// The 11 sendable message types.
const (
	MsgTypeText            MsgType = "text"
	MsgTypeImage           MsgType = "image"
	MsgTypeVoice           MsgType = "voice"
	MsgTypeVideo           MsgType = "video"
	MsgTypeMusic           MsgType = "music"
	MsgTypeNews            MsgType = "news"
	MsgTypeMPNews          MsgType = "mpnews"
	MsgTypeMPNewsArticle   MsgType = "mpnewsarticle"
	MsgTypeMsgMenu         MsgType = "msgmenu"
	MsgTypeWxCard          MsgType = "wxcard"
	MsgTypeMiniProgramPage MsgType = "miniprogrampage"
)

// Outgoing is a customer message to send. Its zero value is no message;
// build one with TextMsg, ImageMsg, VoiceMsg, VideoMsg, MusicMsg, NewsMsg,
// MPNewsMsg, MPNewsArticleMsg, MenuMsg, WxCardMsg or MiniProgramPageMsg,
// which give each msgtype its documented shape. Required fields are checked
// when the message is sent.
type Outgoing struct {
	f outgoingFields
}

// outgoingFields is the wire form of a message: msgtype plus the payload
// keyed by it. The constructors set exactly one payload.
type outgoingFields struct {
	MsgType         MsgType            `json:"msgtype"`
	Text            *outgoingText      `json:"text,omitempty"`
	Image           *outgoingMedia     `json:"image,omitempty"`
	Voice           *outgoingMedia     `json:"voice,omitempty"`
	Video           *Video             `json:"video,omitempty"`
	Music           *Music             `json:"music,omitempty"`
	News            *outgoingNews      `json:"news,omitempty"`
	MPNews          *outgoingMedia     `json:"mpnews,omitempty"`
	MPNewsArticle   *outgoingArticleID `json:"mpnewsarticle,omitempty"`
	MsgMenu         *MsgMenu           `json:"msgmenu,omitempty"`
	WxCard          *outgoingCard      `json:"wxcard,omitempty"`
	MiniProgramPage *MiniProgramPage   `json:"miniprogrampage,omitempty"`
}

type outgoingText struct {
	Content string `json:"content"`
}

type outgoingMedia struct {
	MediaID string `json:"media_id"`
}

type outgoingNews struct {
	Articles []Article `json:"articles"`
}

type outgoingArticleID struct {
	ArticleID string `json:"article_id"`
}

type outgoingCard struct {
	CardID string `json:"card_id"`
}

// Video is the content of a video message; see VideoMsg.
type Video struct {
	// MediaID is the media_id of the uploaded video (required).
	MediaID string `json:"media_id"`
	// ThumbMediaID is the media_id of the thumbnail (optional).
	ThumbMediaID string `json:"thumb_media_id,omitempty"`
	// Title is the video's title (optional).
	Title string `json:"title,omitempty"`
	// Description is the video's description (optional).
	Description string `json:"description,omitempty"`
}

// Music is the content of a music message; see MusicMsg.
type Music struct {
	// Title is the music's title (optional).
	Title string `json:"title,omitempty"`
	// Description is the music's description (optional).
	Description string `json:"description,omitempty"`
	// MusicURL is the link to the music (required).
	MusicURL string `json:"musicurl"`
	// HQMusicURL is a high-quality link, preferred on Wi-Fi (optional).
	HQMusicURL string `json:"hqmusicurl,omitempty"`
	// ThumbMediaID is the media_id of the thumbnail (required).
	ThumbMediaID string `json:"thumb_media_id"`
}

// Article is the one article of a news (图文, external link) message; see
// NewsMsg.
type Article struct {
	// Title is the article's title.
	Title string `json:"title,omitempty"`
	// Description is the article's description.
	Description string `json:"description,omitempty"`
	// URL is opened on tap.
	URL string `json:"url,omitempty"`
	// PicURL is the picture's URL.
	PicURL string `json:"picurl,omitempty"`
}

// MsgMenu is the content of a menu message; see MenuMsg.
type MsgMenu struct {
	// HeadContent is shown above the items.
	HeadContent string `json:"head_content"`
	// List holds the items (at least one).
	List []MenuItem `json:"list"`
	// TailContent is shown below the items.
	TailContent string `json:"tail_content"`
}

// MenuItem is one choice of a menu message. A tap comes back as a text
// message from the user carrying the item's id.
type MenuItem struct {
	// ID identifies the choice (required).
	ID string `json:"id"`
	// Content is the text of the choice (required).
	Content string `json:"content"`
}

// MiniProgramPage is the content of a mini-program card; see
// MiniProgramPageMsg.
type MiniProgramPage struct {
	// Title is the card's title (optional).
	Title string `json:"title,omitempty"`
	// AppID is the mini program's appid; it must be linked to the Official
	// Account (required).
	AppID string `json:"appid"`
	// PagePath is the page to open, as in app.json, with parameters
	// allowed (required).
	PagePath string `json:"pagepath"`
	// ThumbMediaID is the media_id of the card image, 520×416 recommended
	// (required).
	ThumbMediaID string `json:"thumb_media_id"`
}

// TextMsg returns a text message. content may hold <a href="..."> links,
// including mini-program links with data-miniprogram-appid and
// data-miniprogram-path attributes.
func TextMsg(content string) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeText, Text: &outgoingText{Content: content}}}
}

// ImageMsg returns an image message of an uploaded image.
func ImageMsg(mediaID string) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeImage, Image: &outgoingMedia{MediaID: mediaID}}}
}

// VoiceMsg returns a voice message of an uploaded voice.
func VoiceMsg(mediaID string) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeVoice, Voice: &outgoingMedia{MediaID: mediaID}}}
}

// VideoMsg returns a video message; MediaID is required.
func VideoMsg(v Video) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeVideo, Video: &v}}
}

// MusicMsg returns a music message; MusicURL and ThumbMediaID are required.
func MusicMsg(m Music) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeMusic, Music: &m}}
}

// NewsMsg returns a news message (图文, opening an external link) of exactly
// one article: the platform refuses more with ErrCodeTooManyArticles.
func NewsMsg(a Article) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeNews, News: &outgoingNews{Articles: []Article{a}}}}
}

// MPNewsMsg returns an mpnews message: one article of the account's own
// material, identified by its media_id.
func MPNewsMsg(mediaID string) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeMPNews, MPNews: &outgoingMedia{MediaID: mediaID}}}
}

// MPNewsArticleMsg returns an mpnewsarticle message: a published article
// identified by its article_id.
func MPNewsArticleMsg(articleID string) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeMPNewsArticle, MPNewsArticle: &outgoingArticleID{ArticleID: articleID}}}
}

// MenuMsg returns a menu message: head, then one tappable line per item,
// then tail. At least one item is required. Only verified service accounts
// may send it (others get ErrCodeInvalidAccountType).
func MenuMsg(head, tail string, items ...MenuItem) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeMsgMenu,
		MsgMenu: &MsgMenu{HeadContent: head, List: slices.Clone(items), TailContent: tail}}}
}

// WxCardMsg returns a card (卡券) message.
func WxCardMsg(cardID string) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeWxCard, WxCard: &outgoingCard{CardID: cardID}}}
}

// MiniProgramPageMsg returns a mini-program card; AppID, PagePath and
// ThumbMediaID are required.
func MiniProgramPageMsg(p MiniProgramPage) Outgoing {
	return Outgoing{outgoingFields{MsgType: MsgTypeMiniProgramPage, MiniProgramPage: &p}}
}

// Type returns the message's msgtype ("" for the zero Outgoing).
func (m Outgoing) Type() MsgType { return m.f.MsgType }

// Payload returns the JSON object sent under the msgtype key, for example
// {"content":"hi"} for a text. It is nil for the zero Outgoing and for a
// message without the payload of its msgtype.
func (m Outgoing) Payload() (json.RawMessage, error) { return wxapi.MarshalPayload(m.f.payload()) }

// payloads returns the payload of every type, keyed by msgtype; a nil value
// means unset.
func (f *outgoingFields) payloads() map[MsgType]any {
	m := map[MsgType]any{}
	add := func(t MsgType, set bool, p any) {
		if set {
			m[t] = p
		}
	}
	add(MsgTypeText, f.Text != nil, f.Text)
	add(MsgTypeImage, f.Image != nil, f.Image)
	add(MsgTypeVoice, f.Voice != nil, f.Voice)
	add(MsgTypeVideo, f.Video != nil, f.Video)
	add(MsgTypeMusic, f.Music != nil, f.Music)
	add(MsgTypeNews, f.News != nil, f.News)
	add(MsgTypeMPNews, f.MPNews != nil, f.MPNews)
	add(MsgTypeMPNewsArticle, f.MPNewsArticle != nil, f.MPNewsArticle)
	add(MsgTypeMsgMenu, f.MsgMenu != nil, f.MsgMenu)
	add(MsgTypeWxCard, f.WxCard != nil, f.WxCard)
	add(MsgTypeMiniProgramPage, f.MiniProgramPage != nil, f.MiniProgramPage)
	return m
}

// payload returns the payload matching MsgType, or nil.
func (f *outgoingFields) payload() any { return f.payloads()[f.MsgType] }

// sendable reports whether t is one of the 11 sendable msgtypes.
func sendable(t MsgType) bool {
	switch t {
	case MsgTypeText, MsgTypeImage, MsgTypeVoice, MsgTypeVideo, MsgTypeMusic, MsgTypeNews,
		MsgTypeMPNews, MsgTypeMPNewsArticle, MsgTypeMsgMenu, MsgTypeWxCard, MsgTypeMiniProgramPage:
		return true
	}
	return false
}

// validate checks the message shape and its required fields, naming fields
// by their JSON path (for example "video.media_id").
func (m *Outgoing) validate(op string) error {
	f := &m.f
	switch {
	case f.MsgType == "":
		return invalid(op, "msgtype", "no message (build one with TextMsg, NewsMsg, MenuMsg, ...)")
	case !sendable(f.MsgType):
		return invalid(op, "msgtype", "%q cannot be sent", f.MsgType)
	}
	ps := f.payloads()
	if ps[f.MsgType] == nil {
		return invalid(op, string(f.MsgType), "required with msgtype %q", f.MsgType)
	}
	if len(ps) != 1 {
		return invalid(op, "msgtype", "payloads of %d types set, want only %q", len(ps), f.MsgType)
	}
	req := func(field, v string) error { return required(op, field, v) }
	switch f.MsgType {
	case MsgTypeText:
		return req("text.content", f.Text.Content)
	case MsgTypeImage:
		return req("image.media_id", f.Image.MediaID)
	case MsgTypeVoice:
		return req("voice.media_id", f.Voice.MediaID)
	case MsgTypeVideo:
		return req("video.media_id", f.Video.MediaID)
	case MsgTypeMusic:
		return firstErr(req("music.musicurl", f.Music.MusicURL), req("music.thumb_media_id", f.Music.ThumbMediaID))
	case MsgTypeNews:
		if n := len(f.News.Articles); n != 1 {
			return invalid(op, "news.articles", "has %d articles, want exactly 1 (the platform answers 45008 TooManyArticles)", n)
		}
		return nil
	case MsgTypeMPNews:
		return req("mpnews.media_id", f.MPNews.MediaID)
	case MsgTypeMPNewsArticle:
		return req("mpnewsarticle.article_id", f.MPNewsArticle.ArticleID)
	case MsgTypeMsgMenu:
		if len(f.MsgMenu.List) == 0 {
			return invalid(op, "msgmenu.list", "has no items")
		}
		for i, it := range f.MsgMenu.List {
			p := "msgmenu.list[" + strconv.Itoa(i) + "]"
			if err := firstErr(req(p+".id", it.ID), req(p+".content", it.Content)); err != nil {
				return err
			}
		}
		return nil
	case MsgTypeWxCard:
		return req("wxcard.card_id", f.WxCard.CardID)
	default: // MsgTypeMiniProgramPage
		p := f.MiniProgramPage
		return firstErr(req("miniprogrampage.appid", p.AppID), req("miniprogrampage.pagepath", p.PagePath),
			req("miniprogrampage.thumb_media_id", p.ThumbMediaID))
	}
}

// SendMessageRequest is the request of MessageService.Send.
type SendMessageRequest struct {
	// ToUser is the user's openid (touser, required).
	ToUser string
	// Msg is the message: msgtype and its payload (required).
	Msg Outgoing
	// KfAccount, when set, sends the message as that worker's account
	// (customservice.kf_account, prefix@wechatid): the user sees the
	// worker's avatar and nickname. Optional.
	KfAccount string
}

// customService is the customservice object of a custom send.
type customService struct {
	KfAccount string `json:"kf_account"`
}

// sendWire is the JSON form of SendMessageRequest.
type sendWire struct {
	ToUser string `json:"touser"`
	outgoingFields
	CustomService *customService `json:"customservice,omitempty"`
}

// MarshalJSON implements json.Marshaler: the documented wire form, with the
// payload keyed by msgtype.
func (r SendMessageRequest) MarshalJSON() ([]byte, error) {
	w := sendWire{ToUser: r.ToUser, outgoingFields: r.Msg.f}
	if r.KfAccount != "" {
		w.CustomService = &customService{KfAccount: r.KfAccount}
	}
	return json.Marshal(w)
}

// UnmarshalJSON implements json.Unmarshaler, so that a server (such as an
// emulator) decodes the same type. The result may be invalid; check it with
// Validate.
func (r *SendMessageRequest) UnmarshalJSON(data []byte) error {
	var w sendWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*r = SendMessageRequest{ToUser: w.ToUser, Msg: Outgoing{w.outgoingFields}}
	if w.CustomService != nil {
		r.KfAccount = w.CustomService.KfAccount
	}
	return nil
}

// Validate checks r and returns a *ValidationError naming the first
// offending JSON field. Send calls it before sending.
func (r *SendMessageRequest) Validate() error {
	if r == nil {
		return invalid(opSend, "request", "nil")
	}
	if err := required(opSend, "touser", r.ToUser); err != nil {
		return err
	}
	if r.KfAccount != "" {
		if err := checkKfAccount(opSend, "customservice.kf_account", r.KfAccount); err != nil {
			return err
		}
	}
	return r.Msg.validate(opSend)
}

// Send sends a customer message (POST /cgi-bin/message/custom/send). It is
// allowed only within the user's window: up to 5 messages in the 48 h after
// a user message (fewer after menu clicks, follows and scans). Outside it
// the platform answers ErrCodeReplyTimeLimit (45015) or
// ErrCodeOutOfMessageCount (45047).
//
// The platform does not de-duplicate custom messages (there is no msgid),
// so Send is never retried once the request may have reached the platform:
// after a network error, HTTP 5xx or errcode -1 the error wraps
// ErrOutcomeUnknown and the message may or may not have been delivered.
// Failures that prove nothing was sent (a refused connection) are still
// retried. The request is validated first; nothing is sent when it is
// invalid.
func (s *MessageService) Send(ctx context.Context, req *SendMessageRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, opSend, pathSend, req, nil, false)
}

// typingRequest is the body of message/custom/typing.
type typingRequest struct {
	ToUser  string `json:"touser"`
	Command string `json:"command"`
}

// Typing shows "typing…" to the user for 15 s or until the next message
// (POST /cgi-bin/message/custom/typing, command "Typing"). It needs the
// customer-message permission and an open window, and the worker must have
// interacted with the user within the last 30 s; it cannot be sent again
// while it lasts. Like Send it is not retried once the request may have
// reached the platform.
func (s *MessageService) Typing(ctx context.Context, openID string) error {
	return s.typing(ctx, openID, cmdTyping)
}

// CancelTyping stops the "typing…" indicator (POST
// /cgi-bin/message/custom/typing, command "CancelTyping"). Sending a message
// cancels it too.
func (s *MessageService) CancelTyping(ctx context.Context, openID string) error {
	return s.typing(ctx, openID, cmdCancelTyping)
}

func (s *MessageService) typing(ctx context.Context, openID, command string) error {
	if err := required(opTyping, "touser", openID); err != nil {
		return err
	}
	return (*service)(s).post(ctx, opTyping, pathTyping, &typingRequest{ToUser: openID, Command: command}, nil, false)
}
