package mp

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
)

// sendCases are the 11 message types with their documented wire form.
var sendCases = []struct {
	name string
	msg  Outgoing
	want string // JSON without touser
}{
	{"text", TextMsg(`Hello <a href="http://www.qq.com" data-miniprogram-appid="appid" data-miniprogram-path="pages/index/index">here</a>`),
		`{"msgtype":"text","text":{"content":"Hello <a href=\"http://www.qq.com\" data-miniprogram-appid=\"appid\" data-miniprogram-path=\"pages/index/index\">here</a>"}}`},
	{"image", ImageMsg("MEDIA_ID"), `{"msgtype":"image","image":{"media_id":"MEDIA_ID"}}`},
	{"voice", VoiceMsg("MEDIA_ID"), `{"msgtype":"voice","voice":{"media_id":"MEDIA_ID"}}`},
	{"video", VideoMsg(Video{MediaID: "MEDIA_ID", ThumbMediaID: "THUMB", Title: "TITLE", Description: "DESC"}),
		`{"msgtype":"video","video":{"media_id":"MEDIA_ID","thumb_media_id":"THUMB","title":"TITLE","description":"DESC"}}`},
	{"video minimal", VideoMsg(Video{MediaID: "MEDIA_ID"}), `{"msgtype":"video","video":{"media_id":"MEDIA_ID"}}`},
	{"music", MusicMsg(Music{Title: "T", Description: "D", MusicURL: "http://m", HQMusicURL: "http://hq", ThumbMediaID: "THUMB"}),
		`{"msgtype":"music","music":{"title":"T","description":"D","musicurl":"http://m","hqmusicurl":"http://hq","thumb_media_id":"THUMB"}}`},
	{"news", NewsMsg(Article{Title: "Happy Day", Description: "Is Really A Happy Day", URL: "http://u", PicURL: "http://p"}),
		`{"msgtype":"news","news":{"articles":[{"title":"Happy Day","description":"Is Really A Happy Day","url":"http://u","picurl":"http://p"}]}}`},
	{"mpnews", MPNewsMsg("MEDIA_ID"), `{"msgtype":"mpnews","mpnews":{"media_id":"MEDIA_ID"}}`},
	{"mpnewsarticle", MPNewsArticleMsg("ARTICLE_ID"), `{"msgtype":"mpnewsarticle","mpnewsarticle":{"article_id":"ARTICLE_ID"}}`},
	{"msgmenu", MenuMsg("您对本次服务是否满意呢? ", "欢迎再次光临", MenuItem{ID: "101", Content: "满意"}, MenuItem{ID: "102", Content: "不满意"}),
		`{"msgtype":"msgmenu","msgmenu":{"head_content":"您对本次服务是否满意呢? ","list":[{"id":"101","content":"满意"},{"id":"102","content":"不满意"}],"tail_content":"欢迎再次光临"}}`},
	{"wxcard", WxCardMsg("123dsdajkasd231jhksad"), `{"msgtype":"wxcard","wxcard":{"card_id":"123dsdajkasd231jhksad"}}`},
	{"miniprogrampage", MiniProgramPageMsg(MiniProgramPage{Title: "title", AppID: "appid", PagePath: "pagepath", ThumbMediaID: "thumb_media_id"}),
		`{"msgtype":"miniprogrampage","miniprogrampage":{"title":"title","appid":"appid","pagepath":"pagepath","thumb_media_id":"thumb_media_id"}}`},
}

// withField adds a top-level field to a JSON object.
func withField(t *testing.T, obj, key string, v any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(obj), &m); err != nil {
		t.Fatal(err)
	}
	m[key] = v
	b, _ := json.Marshal(m)
	return string(b)
}

func TestMessagesSend(t *testing.T) {
	t.Parallel()
	for _, tc := range sendCases {
		for _, as := range []string{"", "test1@gh_test"} {
			t.Run(tc.name+"/"+as, func(t *testing.T) {
				t.Parallel()
				mux, c := setup(t)
				want := withField(t, tc.want, "touser", "OPENID")
				if as != "" {
					want = withField(t, want, "customservice", map[string]any{"kf_account": as})
				}
				mux.HandleFunc(pathSend, func(w http.ResponseWriter, r *http.Request) {
					testMethod(t, r, http.MethodPost)
					testQuery(t, r, nil)
					testJSONBody(t, r, want)
					writeJSON(w, ok)
				})
				if err := c.Messages.Send(t.Context(), &SendMessageRequest{ToUser: "OPENID", Msg: tc.msg, KfAccount: as}); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestSendMessageRequestRoundTrip: the wire form decodes into the same
// request (for servers such as an emulator) and encodes back unchanged.
func TestSendMessageRequestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range sendCases {
		req := SendMessageRequest{ToUser: "OPENID", Msg: tc.msg, KfAccount: "a@gh"}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var back SendMessageRequest
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := back.Validate(); err != nil {
			t.Errorf("%s: decoded request invalid: %v", tc.name, err)
		}
		if back.Msg.Type() != tc.msg.Type() || back.KfAccount != "a@gh" || back.ToUser != "OPENID" {
			t.Errorf("%s: decoded %+v", tc.name, back)
		}
		b2, _ := json.Marshal(back)
		jsonEqual(t, string(b), b2)
		p, err := back.Msg.Payload()
		if err != nil || len(p) == 0 {
			t.Errorf("%s: Payload() = %s, %v", tc.name, p, err)
		}
	}
	if p, err := (Outgoing{}).Payload(); p != nil || err != nil {
		t.Errorf("zero Outgoing Payload() = %s, %v", p, err)
	}
}

func TestMessagesSendValidation(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	testNoRequest(t, mux, pathSend)
	testNoRequest(t, mux, pathTyping)
	decode := func(s string) Outgoing {
		var r SendMessageRequest
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			t.Fatal(err)
		}
		return r.Msg
	}
	tests := []struct {
		name  string
		req   *SendMessageRequest
		field string
	}{
		{"nil", nil, "request"},
		{"no touser", &SendMessageRequest{Msg: TextMsg("hi")}, "touser"},
		{"no message", &SendMessageRequest{ToUser: "u"}, "msgtype"},
		{"bad kf_account", &SendMessageRequest{ToUser: "u", Msg: TextMsg("hi"), KfAccount: "test1"}, "customservice.kf_account"},
		{"empty text", &SendMessageRequest{ToUser: "u", Msg: TextMsg("")}, "text.content"},
		{"image no media", &SendMessageRequest{ToUser: "u", Msg: ImageMsg("")}, "image.media_id"},
		{"voice no media", &SendMessageRequest{ToUser: "u", Msg: VoiceMsg("")}, "voice.media_id"},
		{"video no media", &SendMessageRequest{ToUser: "u", Msg: VideoMsg(Video{Title: "t"})}, "video.media_id"},
		{"music no url", &SendMessageRequest{ToUser: "u", Msg: MusicMsg(Music{ThumbMediaID: "x"})}, "music.musicurl"},
		{"music no thumb", &SendMessageRequest{ToUser: "u", Msg: MusicMsg(Music{MusicURL: "x"})}, "music.thumb_media_id"},
		{"news two articles", &SendMessageRequest{ToUser: "u",
			Msg: decode(`{"msgtype":"news","news":{"articles":[{"title":"a"},{"title":"b"}]}}`)}, "news.articles"},
		{"news no article", &SendMessageRequest{ToUser: "u", Msg: decode(`{"msgtype":"news","news":{"articles":[]}}`)}, "news.articles"},
		{"mpnews no media", &SendMessageRequest{ToUser: "u", Msg: MPNewsMsg("")}, "mpnews.media_id"},
		{"mpnewsarticle no id", &SendMessageRequest{ToUser: "u", Msg: MPNewsArticleMsg("")}, "mpnewsarticle.article_id"},
		{"menu no items", &SendMessageRequest{ToUser: "u", Msg: MenuMsg("h", "t")}, "msgmenu.list"},
		{"menu item no id", &SendMessageRequest{ToUser: "u", Msg: MenuMsg("h", "t", MenuItem{ID: "1", Content: "a"}, MenuItem{Content: "b"})}, "msgmenu.list[1].id"},
		{"menu item no content", &SendMessageRequest{ToUser: "u", Msg: MenuMsg("h", "t", MenuItem{ID: "1"})}, "msgmenu.list[0].content"},
		{"wxcard no id", &SendMessageRequest{ToUser: "u", Msg: WxCardMsg("")}, "wxcard.card_id"},
		{"miniprogram no appid", &SendMessageRequest{ToUser: "u",
			Msg: MiniProgramPageMsg(MiniProgramPage{PagePath: "p", ThumbMediaID: "m"})}, "miniprogrampage.appid"},
		{"miniprogram no path", &SendMessageRequest{ToUser: "u",
			Msg: MiniProgramPageMsg(MiniProgramPage{AppID: "a", ThumbMediaID: "m"})}, "miniprogrampage.pagepath"},
		{"miniprogram no thumb", &SendMessageRequest{ToUser: "u",
			Msg: MiniProgramPageMsg(MiniProgramPage{AppID: "a", PagePath: "p"})}, "miniprogrampage.thumb_media_id"},
		{"unknown type", &SendMessageRequest{ToUser: "u", Msg: decode(`{"msgtype":"link","link":{}}`)}, "msgtype"},
		{"payload missing", &SendMessageRequest{ToUser: "u", Msg: decode(`{"msgtype":"image","voice":{"media_id":"m"}}`)}, "image"},
		{"two payloads", &SendMessageRequest{ToUser: "u",
			Msg: decode(`{"msgtype":"image","image":{"media_id":"m"},"voice":{"media_id":"m"}}`)}, "msgtype"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantInvalid(t, c.Messages.Send(t.Context(), tc.req), tc.field) })
	}
	wantInvalid(t, c.Messages.Typing(t.Context(), ""), "touser")
	wantInvalid(t, c.Messages.CancelTyping(t.Context(), ""), "touser")
}

// TestMessagesSendNotRetried: custom messages carry no dedupe id, so a send
// whose outcome is unknown is never replayed.
func TestMessagesSendNotRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		reply func(w http.ResponseWriter)
	}{
		{"HTTP 502", func(w http.ResponseWriter) { http.Error(w, "bad gateway", http.StatusBadGateway) }},
		{"system busy", func(w http.ResponseWriter) { writeJSON(w, errcodeReply(ErrCodeSystemBusy)) }},
		{"connection dropped after the request", func(w http.ResponseWriter) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t, WithRetry(5))
			var calls atomic.Int32
			mux.HandleFunc(pathSend, func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				_, _ = io.Copy(io.Discard, r.Body)
				tc.reply(w)
			})
			err := c.Messages.Send(t.Context(), &SendMessageRequest{ToUser: "u", Msg: TextMsg("once")})
			if !errors.Is(err, ErrOutcomeUnknown) {
				t.Errorf("err = %v, want ErrOutcomeUnknown", err)
			}
			if calls.Load() != 1 {
				t.Errorf("sent %d times, want 1", calls.Load())
			}
		})
	}
}

func TestMessagesSendErrors(t *testing.T) {
	t.Parallel()
	for _, code := range []ErrCode{ErrCodeReplyTimeLimit, ErrCodeOutOfMessageCount, ErrCodeInvalidUserID,
		ErrCodeContentTooLong, ErrCodeTooManyArticles, ErrCodeAPIUnauthorized, ErrCodeInvalidAccountType} {
		t.Run(code.String(), func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			mux.HandleFunc(pathSend, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, errcodeReply(code)) })
			err := c.Messages.Send(t.Context(), &SendMessageRequest{ToUser: "u", Msg: TextMsg("hi")})
			wantAPIError(t, err, opSend, code)
		})
	}
	t.Run("frequency limit", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		mux.HandleFunc(pathSend, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, errcodeReply(ErrCodeFrequencyLimit)) })
		err := c.Messages.Send(t.Context(), &SendMessageRequest{ToUser: "u", Msg: TextMsg("hi")})
		var rl *RateLimitError
		if !errors.As(err, &rl) || !errors.Is(err, ErrCodeFrequencyLimit) {
			t.Errorf("err = %v, want a *RateLimitError for 45009", err)
		}
	})
}

func TestMessagesTyping(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	var bodies []string
	mux.HandleFunc(pathTyping, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		testQuery(t, r, nil)
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		writeJSON(w, ok)
	})
	if err := c.Messages.Typing(t.Context(), "OPENID"); err != nil {
		t.Fatal(err)
	}
	if err := c.Messages.CancelTyping(t.Context(), "OPENID"); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 {
		t.Fatalf("%d requests, want 2", len(bodies))
	}
	jsonEqual(t, `{"touser":"OPENID","command":"Typing"}`, []byte(bodies[0]))
	jsonEqual(t, `{"touser":"OPENID","command":"CancelTyping"}`, []byte(bodies[1]))
}
