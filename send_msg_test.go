package kf

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sendGolden is one sendable message and its documented wire form
// (shared/api-surface.md §3.1, §3.2): the fields after touser/open_kfid/msgid.
var sendGolden = []struct {
	name string
	msg  Outgoing
	want string // msgtype and payload, as JSON object members
}{
	{"text", TextMsg("hello 你好"), `"msgtype":"text","text":{"content":"hello 你好"}`},
	{"image", ImageMsg("MID_IMG"), `"msgtype":"image","image":{"media_id":"MID_IMG"}`},
	{"voice", VoiceMsg("MID_VOICE"), `"msgtype":"voice","voice":{"media_id":"MID_VOICE"}`},
	{"video", VideoMsg("MID_VIDEO"), `"msgtype":"video","video":{"media_id":"MID_VIDEO"}`},
	{"file", FileMsg("MID_FILE"), `"msgtype":"file","file":{"media_id":"MID_FILE"}`},
	{"link", LinkMsg(OutgoingLink{Title: "Order shipped", Desc: "tap for tracking", URL: "https://example.com/t/123", ThumbMediaID: "MID"}),
		`"msgtype":"link","link":{"title":"Order shipped","desc":"tap for tracking","url":"https://example.com/t/123","thumb_media_id":"MID"}`},
	{"link without desc", LinkMsg(OutgoingLink{Title: "T", URL: "http://example.com", ThumbMediaID: "MID"}),
		`"msgtype":"link","link":{"title":"T","url":"http://example.com","thumb_media_id":"MID"}`},
	{"miniprogram", MiniProgramMsg(OutgoingMiniProgram{AppID: "wx123", Title: "Shop", ThumbMediaID: "MID", PagePath: "pages/index?x=1"}),
		`"msgtype":"miniprogram","miniprogram":{"appid":"wx123","title":"Shop","thumb_media_id":"MID","pagepath":"pages/index?x=1"}`},
	{"msgmenu", MenuMsg("How was it?", "Thanks",
		ClickItem("101", "Yes"),
		ViewItem("https://example.com/faq", "FAQ"),
		MiniProgramItem("wx123", "pages/x?id=1", "Open MP"),
		TextItem("plain\nline", true),
		TextItem("last", false)),
		`"msgtype":"msgmenu","msgmenu":{"head_content":"How was it?","list":[
			{"type":"click","click":{"id":"101","content":"Yes"}},
			{"type":"view","view":{"url":"https://example.com/faq","content":"FAQ"}},
			{"type":"miniprogram","miniprogram":{"appid":"wx123","pagepath":"pages/x?id=1","content":"Open MP"}},
			{"type":"text","text":{"content":"plain\nline","no_newline":1}},
			{"type":"text","text":{"content":"last"}}],"tail_content":"Thanks"}`},
	{"msgmenu without head and tail", MenuMsg("", "", ClickItem("1", "A")),
		`"msgtype":"msgmenu","msgmenu":{"list":[{"type":"click","click":{"id":"1","content":"A"}}]}`},
	{"location", LocationMsg("Office", "1 Main St", 22.54, 113.93),
		`"msgtype":"location","location":{"name":"Office","address":"1 Main St","latitude":22.54,"longitude":113.93}`},
	{"location at 0,0 keeps both coordinates", LocationMsg("", "", 0, 0),
		`"msgtype":"location","location":{"latitude":0,"longitude":0}`},
	{"ca_link", CALinkMsg("https://work.weixin.qq.com/ca/cawcde123"),
		`"msgtype":"ca_link","ca_link":{"link_url":"https://work.weixin.qq.com/ca/cawcde123"}`},
}

func TestMessageService_Send(t *testing.T) {
	t.Parallel()
	for _, tc := range sendGolden {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux, client := setup(t)
			mux.HandleFunc(pathSendMsg, func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, "POST")
				testQuery(t, r, url.Values{})
				testJSONBody(t, r, `{"touser":"wmB","open_kfid":"wkA","msgid":"order-123",`+tc.want+`}`)
				writeJSON(w, `{"errcode":0,"errmsg":"ok","msgid":"order-123"}`)
			})
			got, err := client.Messages.Send(t.Context(), &SendMsgRequest{ToUser: "wmB", OpenKfID: "wkA", MsgID: "order-123", Msg: tc.msg})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&SendMsgResponse{MsgID: "order-123"}, got); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// sendMsgIDPattern is the documented msgid alphabet and length.
var sendMsgIDPattern = regexp.MustCompile(`^[0-9a-zA-Z_-]{1,32}$`)

// sendBodyMsgID reads a request body and returns its msgid and the body
// without it.
func sendBodyMsgID(t *testing.T, r *http.Request) (string, map[string]any) {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Error(err)
		return "", nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Errorf("body is not JSON: %v: %s", err, b)
		return "", nil
	}
	id, _ := m["msgid"].(string)
	delete(m, "msgid")
	return id, m
}

func TestMessageService_Send_generatesMsgID(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	var mu sync.Mutex
	var seen []string
	mux.HandleFunc(pathSendMsg, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		id, rest := sendBodyMsgID(t, r)
		want := map[string]any{"touser": "wmB", "open_kfid": "wkA", "msgtype": "text", "text": map[string]any{"content": "hi"}}
		if diff := cmp.Diff(want, rest); diff != "" {
			t.Errorf("body without msgid mismatch (-want +got):\n%s", diff)
		}
		mu.Lock()
		seen = append(seen, id)
		mu.Unlock()
		writeJSON(w, `{"errcode":0,"errmsg":"ok","msgid":"`+id+`"}`)
	})
	req := &SendMsgRequest{ToUser: "wmB", OpenKfID: "wkA", Msg: TextMsg("hi")}
	before := *req
	var got []string
	for range 2 {
		resp, err := client.Messages.Send(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.MsgID)
	}
	if diff := cmp.Diff(seen, got); diff != "" {
		t.Errorf("response msgids are not the server's echo (-sent +returned):\n%s", diff)
	}
	for _, id := range got {
		if !sendMsgIDPattern.MatchString(id) {
			t.Errorf("generated msgid %q does not match %s", id, sendMsgIDPattern)
		}
	}
	if got[0] == got[1] {
		t.Errorf("two sends share the generated msgid %q", got[0])
	}
	if req.MsgID != "" || req.ToUser != before.ToUser || req.OpenKfID != before.OpenKfID || req.Msg.Type() != before.Msg.Type() {
		t.Errorf("Send modified the caller's request: %+v", req)
	}
}

// sendFailFirst answers the first attempt of a send with a failure of the
// given kind and later attempts with success, recording every msgid.
type sendFailFirst struct {
	t    *testing.T
	kind string // "http502", "busy", "drop" or "always502"
	mu   sync.Mutex
	ids  []string
}

func (f *sendFailFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	testMethod(f.t, r, "POST")
	id, _ := sendBodyMsgID(f.t, r)
	f.mu.Lock()
	f.ids = append(f.ids, id)
	n := len(f.ids)
	f.mu.Unlock()
	if n == 1 || f.kind == "always502" {
		switch f.kind {
		case "http502", "always502":
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		case "busy":
			writeJSON(w, `{"errcode":-1,"errmsg":"system busy"}`)
			return
		case "drop":
			// The request arrived; the reply is lost: the outcome is
			// unknown to the client.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				f.t.Error(err)
				return
			}
			conn.Close()
			return
		}
	}
	writeJSON(w, `{"errcode":0,"errmsg":"ok","msgid":"`+id+`"}`)
}

func (f *sendFailFirst) msgIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ids...)
}

func TestMessageService_Send_retryReusesMsgID(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"http502", "busy", "drop"} {
		for _, callerID := range []string{"", "order-7"} {
			t.Run(kind+"/msgid="+callerID, func(t *testing.T) {
				t.Parallel()
				mux, client := setup(t)
				h := &sendFailFirst{t: t, kind: kind}
				mux.Handle(pathSendMsg, h)
				resp, err := client.Messages.Send(t.Context(), &SendMsgRequest{ToUser: "wmB", OpenKfID: "wkA", MsgID: callerID, Msg: TextMsg("once")})
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				ids := h.msgIDs()
				if len(ids) != 2 {
					t.Fatalf("server got %d requests, want 2 (msgids %q)", len(ids), ids)
				}
				if ids[0] == "" || ids[0] != ids[1] {
					t.Errorf("attempts carried msgids %q, want one non-empty msgid twice", ids)
				}
				if callerID != "" && ids[0] != callerID {
					t.Errorf("msgid = %q, want the caller's %q", ids[0], callerID)
				}
				if resp.MsgID != ids[0] {
					t.Errorf("response MsgID = %q, want %q", resp.MsgID, ids[0])
				}
			})
		}
	}
}

func TestMessageService_SendOnEvent_retryReusesMsgID(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	h := &sendFailFirst{t: t, kind: "drop"}
	mux.Handle(pathSendMsgOnEvent, h)
	if _, err := client.Messages.SendOnEvent(t.Context(), &SendMsgOnEventRequest{Code: "WELCOME", Msg: TextMsg("hi")}); err != nil {
		t.Fatal(err)
	}
	if ids := h.msgIDs(); len(ids) != 2 || ids[0] == "" || ids[0] != ids[1] {
		t.Errorf("attempts carried msgids %q, want one non-empty msgid twice", ids)
	}
}

func TestMessageService_Send_persistentFailure(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	h := &sendFailFirst{t: t, kind: "always502"}
	mux.Handle(pathSendMsg, h)
	_, err := client.Messages.Send(t.Context(), &SendMsgRequest{ToUser: "wmB", OpenKfID: "wkA", Msg: TextMsg("x")})
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != http.StatusBadGateway || ae.Op != opSendMsg {
		t.Fatalf("err = %v, want *APIError with HTTP 502 from %s", err, opSendMsg)
	}
	// The retries were safe (same msgid), so the outcome is not "unknown".
	if errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v, should not be ErrOutcomeUnknown", err)
	}
	if !strings.Contains(err.Error(), "after 3 attempts") {
		t.Errorf("err = %q, want the attempt count", err)
	}
	ids := h.msgIDs()
	if len(ids) != 3 {
		t.Fatalf("server got %d requests, want 3", len(ids))
	}
	if ids[0] == "" || ids[1] != ids[0] || ids[2] != ids[0] {
		t.Errorf("attempts carried msgids %q, want one msgid three times", ids)
	}
}

// A business failure is final: one request, no retry, and the error explains
// itself.
func TestMessageService_Send_sessionStatusInvalid(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	var mu sync.Mutex
	calls := 0
	mux.HandleFunc(pathSendMsg, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		writeJSON(w, `{"errcode":95018,"errmsg":"send msg session status invalid, hint: [1761875715499301309318952]"}`)
	})
	_, err := client.Messages.Send(t.Context(), &SendMsgRequest{ToUser: "wmB", OpenKfID: "wkA", Msg: TextMsg("x")})
	if !errors.Is(err, ErrCodeSessionStatusInvalid) {
		t.Fatalf("err = %v, want ErrCodeSessionStatusInvalid", err)
	}
	if r := ErrCodeSessionStatusInvalid.Remedy(); r == "" || !strings.Contains(err.Error(), r) {
		t.Errorf("err = %q, want it to contain the remedy %q", err, r)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Errorf("server got %d requests, want 1 (95018 is not retryable)", calls)
	}
}

func TestMessageService_Send_apiError(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	var err error
	testAPIError(t, mux, pathSendMsg, opSendMsg, ErrCodeSessionStatusInvalid, func() error {
		_, err = client.Messages.Send(t.Context(), &SendMsgRequest{ToUser: "wmB", OpenKfID: "wkA", Msg: TextMsg("x")})
		return err
	})
	if !errors.Is(err, ErrCodeSessionStatusInvalid) {
		t.Errorf("errors.Is(%v, ErrCodeSessionStatusInvalid) = false", err)
	}
	if !strings.Contains(err.Error(), ErrCodeSessionStatusInvalid.Remedy()) {
		t.Errorf("err = %q, want the remedy text", err)
	}
}

// Inputs at the documented limits are accepted (and sent).
func TestMessageService_Send_limitsAccepted(t *testing.T) {
	t.Parallel()
	items := make([]MenuItem, 10)
	for i := range items {
		items[i] = ClickItem(strings.Repeat("i", 128), strings.Repeat("c", 128))
	}
	tests := []struct {
		name  string
		msgid string
		msg   Outgoing
	}{
		{"msgid of 32 bytes", strings.Repeat("aZ9_-", 6) + "ab", TextMsg("x")},
		{"text of 2048 bytes", "", TextMsg(strings.Repeat("好", 682) + "ab")},
		{"link title and desc over the truncation limits", "", LinkMsg(OutgoingLink{Title: strings.Repeat("t", 200), Desc: strings.Repeat("d", 600), URL: "https://e.com/" + strings.Repeat("p", 2048-14), ThumbMediaID: "M"})},
		{"miniprogram title over the truncation limit", "", MiniProgramMsg(OutgoingMiniProgram{AppID: "wx1", Title: strings.Repeat("t", 100), ThumbMediaID: "M", PagePath: "p"})},
		{"menu of 10 items with 128-byte click ids", "", MenuMsg(strings.Repeat("h", 1024), strings.Repeat("t", 1024), items...)},
		{"menu items at their limits", "", MenuMsg("", "",
			ViewItem(strings.Repeat("u", 2048), strings.Repeat("c", 1024)),
			MiniProgramItem(strings.Repeat("a", 32), strings.Repeat("p", 1024), strings.Repeat("c", 1024)),
			TextItem(strings.Repeat("x", 256), false))},
		{"location at the poles", "", LocationMsg("", "", -90, 180)},
		{"location at the other corner", "", LocationMsg("", "", 90, -180)},
		{"ca_link other https host", "", CALinkMsg("https://example.com/ca/x")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux, client := setup(t)
			mux.HandleFunc(pathSendMsg, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, `{"errcode":0,"errmsg":"ok","msgid":"m"}`)
			})
			if _, err := client.Messages.Send(t.Context(), &SendMsgRequest{ToUser: "u", OpenKfID: "k", MsgID: tc.msgid, Msg: tc.msg}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// sendValidationCase is one invalid request; the call must fail with a
// *ValidationError naming field, and send nothing.
type sendValidationCase struct {
	name  string
	path  string
	op    string
	field string
	call  func(ctx context.Context, c *Client) error
}

func sendCase(name, field string, msg Outgoing) sendValidationCase {
	return sendCaseReq(name, field, &SendMsgRequest{ToUser: "wmB", OpenKfID: "wkA", Msg: msg})
}

func sendCaseReq(name, field string, req *SendMsgRequest) sendValidationCase {
	return sendValidationCase{name: "send_msg/" + name, path: pathSendMsg, op: opSendMsg, field: field, call: func(ctx context.Context, c *Client) error {
		_, err := c.Messages.Send(ctx, req)
		return err
	}}
}

func onEventCase(name, field string, req *SendMsgOnEventRequest) sendValidationCase {
	return sendValidationCase{name: "send_msg_on_event/" + name, path: pathSendMsgOnEvent, op: opSendMsgOnEvent, field: field, call: func(ctx context.Context, c *Client) error {
		_, err := c.Messages.SendOnEvent(ctx, req)
		return err
	}}
}

func recallCase(name, field string, req *RecallMsgRequest) sendValidationCase {
	return sendValidationCase{name: "recall_msg/" + name, path: pathRecallMsg, op: opRecallMsg, field: field, call: func(ctx context.Context, c *Client) error {
		return c.Messages.Recall(ctx, req)
	}}
}

// sendDecoded decodes a send_msg body, as a server would.
func sendDecoded(t *testing.T, body string) *SendMsgRequest {
	t.Helper()
	var r SendMsgRequest
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestMessageService_validation(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("x", n) }
	link := func(mod func(*OutgoingLink)) Outgoing {
		l := OutgoingLink{Title: "T", URL: "https://e.com", ThumbMediaID: "M"}
		mod(&l)
		return LinkMsg(l)
	}
	mp := func(mod func(*OutgoingMiniProgram)) Outgoing {
		m := OutgoingMiniProgram{AppID: "wx1", ThumbMediaID: "M", PagePath: "p"}
		mod(&m)
		return MiniProgramMsg(m)
	}
	menu := func(items ...MenuItem) Outgoing { return MenuMsg("", "", items...) }
	eleven := make([]MenuItem, 11)
	for i := range eleven {
		eleven[i] = ClickItem("1", "a")
	}
	twoObjects := ClickItem("1", "a")
	twoObjects.Text = &MenuText{Content: "b"}
	clickWithoutObject := MenuItem{Type: MenuItemClick}
	ok := TextMsg("ok")

	tests := []sendValidationCase{
		sendCaseReq("nil request", "request", nil),
		sendCaseReq("touser", "touser", &SendMsgRequest{OpenKfID: "wkA", Msg: ok}),
		sendCaseReq("open_kfid", "open_kfid", &SendMsgRequest{ToUser: "wmB", Msg: ok}),
		sendCaseReq("msgid over 32 bytes", "msgid", &SendMsgRequest{ToUser: "wmB", OpenKfID: "wkA", MsgID: long(33), Msg: ok}),
		sendCaseReq("msgid with a space", "msgid", &SendMsgRequest{ToUser: "wmB", OpenKfID: "wkA", MsgID: "a b", Msg: ok}),
		sendCaseReq("msgid with non-ASCII", "msgid", &SendMsgRequest{ToUser: "wmB", OpenKfID: "wkA", MsgID: "订单1", Msg: ok}),
		sendCase("no message", "msgtype", Outgoing{}),
		sendCase("empty text", "text.content", TextMsg("")),
		// 683 runes but 2049 bytes: the limit is in bytes.
		sendCase("text over 2048 bytes", "text.content", TextMsg(strings.Repeat("好", 682)+"abc")),
		sendCase("image media_id", "image.media_id", ImageMsg("")),
		sendCase("voice media_id", "voice.media_id", VoiceMsg("")),
		sendCase("video media_id", "video.media_id", VideoMsg("")),
		sendCase("file media_id", "file.media_id", FileMsg("")),
		sendCase("link url missing", "link.url", link(func(l *OutgoingLink) { l.URL = "" })),
		sendCase("link url over 2048 bytes", "link.url", link(func(l *OutgoingLink) { l.URL = "https://e.com/" + long(2048-13) })),
		sendCase("link url not http", "link.url", link(func(l *OutgoingLink) { l.URL = "ftp://e.com/x" })),
		sendCase("link url without scheme", "link.url", link(func(l *OutgoingLink) { l.URL = "e.com/x" })),
		sendCase("link thumb_media_id", "link.thumb_media_id", link(func(l *OutgoingLink) { l.ThumbMediaID = "" })),
		sendCase("miniprogram appid", "miniprogram.appid", mp(func(m *OutgoingMiniProgram) { m.AppID = "" })),
		sendCase("miniprogram thumb_media_id", "miniprogram.thumb_media_id", mp(func(m *OutgoingMiniProgram) { m.ThumbMediaID = "" })),
		sendCase("miniprogram pagepath", "miniprogram.pagepath", mp(func(m *OutgoingMiniProgram) { m.PagePath = "" })),
		sendCase("menu without items", "msgmenu.list", menu()),
		sendCase("menu of 11 items", "msgmenu.list", menu(eleven...)),
		sendCase("menu head over 1024 bytes", "msgmenu.head_content", MenuMsg(long(1025), "", ClickItem("1", "a"))),
		sendCase("menu tail over 1024 bytes", "msgmenu.tail_content", MenuMsg("", long(1025), ClickItem("1", "a"))),
		sendCase("click id empty", "msgmenu.list[1].click.id", menu(ClickItem("1", "a"), ClickItem("", "b"))),
		sendCase("click id over 128 bytes", "msgmenu.list[0].click.id", menu(ClickItem(long(129), "a"))),
		sendCase("click content empty", "msgmenu.list[0].click.content", menu(ClickItem("1", ""))),
		sendCase("click content over 128 bytes", "msgmenu.list[0].click.content", menu(ClickItem("1", long(129)))),
		sendCase("view url empty", "msgmenu.list[0].view.url", menu(ViewItem("", "a"))),
		sendCase("view url over 2048 bytes", "msgmenu.list[0].view.url", menu(ViewItem(long(2049), "a"))),
		sendCase("view content empty", "msgmenu.list[0].view.content", menu(ViewItem("https://e.com", ""))),
		sendCase("view content over 1024 bytes", "msgmenu.list[0].view.content", menu(ViewItem("https://e.com", long(1025)))),
		sendCase("menu miniprogram appid empty", "msgmenu.list[0].miniprogram.appid", menu(MiniProgramItem("", "p", "c"))),
		sendCase("menu miniprogram appid over 32 bytes", "msgmenu.list[0].miniprogram.appid", menu(MiniProgramItem(long(33), "p", "c"))),
		sendCase("menu miniprogram pagepath empty", "msgmenu.list[0].miniprogram.pagepath", menu(MiniProgramItem("wx", "", "c"))),
		sendCase("menu miniprogram pagepath over 1024 bytes", "msgmenu.list[0].miniprogram.pagepath", menu(MiniProgramItem("wx", long(1025), "c"))),
		sendCase("menu miniprogram content empty", "msgmenu.list[0].miniprogram.content", menu(MiniProgramItem("wx", "p", ""))),
		sendCase("menu miniprogram content over 1024 bytes", "msgmenu.list[0].miniprogram.content", menu(MiniProgramItem("wx", "p", long(1025)))),
		sendCase("menu text empty", "msgmenu.list[0].text.content", menu(TextItem("", false))),
		sendCase("menu text over 256 bytes", "msgmenu.list[0].text.content", menu(TextItem(long(257), false))),
		sendCase("menu text no_newline 2", "msgmenu.list[0].text.no_newline", menu(MenuItem{Type: MenuItemText, Text: &MenuText{Content: "a", NoNewline: 2}})),
		sendCase("menu item of unknown type", "msgmenu.list[0].type", menu(MenuItem{Type: "button"})),
		sendCase("menu item without its object", "msgmenu.list[0].click", menu(clickWithoutObject)),
		sendCase("menu item with two objects", "msgmenu.list[0]", menu(twoObjects)),
		sendCase("latitude over 90", "location.latitude", LocationMsg("", "", 90.0001, 0)),
		sendCase("latitude under -90", "location.latitude", LocationMsg("", "", -90.0001, 0)),
		sendCase("latitude NaN", "location.latitude", LocationMsg("", "", math.NaN(), 0)),
		sendCase("longitude over 180", "location.longitude", LocationMsg("", "", 0, 180.0001)),
		sendCase("longitude under -180", "location.longitude", LocationMsg("", "", 0, -180.0001)),
		sendCase("longitude NaN", "location.longitude", LocationMsg("", "", 0, math.NaN())),
		sendCase("longitude infinite", "location.longitude", LocationMsg("", "", 0, math.Inf(1))),
		sendCase("ca_link empty", "ca_link.link_url", CALinkMsg("")),
		sendCase("ca_link not https", "ca_link.link_url", CALinkMsg("http://work.weixin.qq.com/ca/x")),
		sendCase("ca_link relative", "ca_link.link_url", CALinkMsg("/ca/x")),

		onEventCase("nil request", "request", nil),
		onEventCase("code", "code", &SendMsgOnEventRequest{Msg: ok}),
		onEventCase("msgid", "msgid", &SendMsgOnEventRequest{Code: "C", MsgID: "a/b", Msg: ok}),
		onEventCase("no message", "msgtype", &SendMsgOnEventRequest{Code: "C"}),
		onEventCase("empty text", "text.content", &SendMsgOnEventRequest{Code: "C", Msg: TextMsg("")}),
		onEventCase("menu of 11 items", "msgmenu.list", &SendMsgOnEventRequest{Code: "C", Msg: menu(eleven...)}),

		recallCase("nil request", "request", nil),
		recallCase("open_kfid", "open_kfid", &RecallMsgRequest{MsgID: "m"}),
		recallCase("msgid", "msgid", &RecallMsgRequest{OpenKfID: "wkA"}),
	}
	// Types that only send_msg may carry.
	for _, m := range []Outgoing{ImageMsg("M"), VoiceMsg("M"), VideoMsg("M"), FileMsg("M"),
		link(func(*OutgoingLink) {}), mp(func(*OutgoingMiniProgram) {}), LocationMsg("", "", 1, 1), CALinkMsg("https://e.com/ca/x")} {
		tests = append(tests, onEventCase(string(m.Type())+" is not allowed", "msgtype", &SendMsgOnEventRequest{Code: "C", Msg: m}))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux, client := setup(t)
			testNoRequest(t, mux, tc.path)
			err := tc.call(t.Context(), client)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			if ve.Field != tc.field || ve.Op != tc.op {
				t.Errorf("got Op=%q Field=%q (%v), want Op=%q Field=%q", ve.Op, ve.Field, err, tc.op, tc.field)
			}
			if !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("errors.Is(%v, ErrInvalidRequest) = false", err)
			}
		})
	}
}

// A request decoded from JSON (as the emulator does) is held to the same
// rules: unsendable msgtypes and missing payloads are refused.
func TestSendMsgRequest_ValidateDecoded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, field string
	}{
		{`{"touser":"u","open_kfid":"k","msgtype":"business_card","business_card":{"userid":"zhangsan"}}`, "msgtype"},
		{`{"touser":"u","open_kfid":"k","msgtype":"event"}`, "msgtype"},
		{`{"touser":"u","open_kfid":"k","msgtype":"text"}`, "text"},
		{`{"touser":"u","open_kfid":"k","msgtype":"text","image":{"media_id":"M"}}`, "text"},
		{`{"touser":"u","open_kfid":"k","msgtype":"msgmenu","msgmenu":{"list":[{"type":"click"}]}}`, "msgmenu.list[0].click"},
	}
	for _, tc := range tests {
		err := sendDecoded(t, tc.body).Validate()
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("Validate(%s) = %v, want a ValidationError for %q", tc.body, err, tc.field)
		}
	}
}

func TestSendMsgRequest_JSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range sendGolden {
		req := SendMsgRequest{ToUser: "wmB", OpenKfID: "wkA", MsgID: "m1", Msg: tc.msg}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		back := sendDecoded(t, string(b))
		if err := back.Validate(); err != nil {
			t.Errorf("%s: decoded request invalid: %v", tc.name, err)
		}
		b2, err := json.Marshal(back)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(b2) {
			t.Errorf("%s: round trip changed the JSON:\n%s\n%s", tc.name, b, b2)
		}
		if back.Msg.Type() != tc.msg.Type() || back.ToUser != "wmB" || back.OpenKfID != "wkA" || back.MsgID != "m1" {
			t.Errorf("%s: decoded %+v", tc.name, back)
		}
	}
}

func TestOutgoing_Payload(t *testing.T) {
	t.Parallel()
	items := []MenuItem{ClickItem("1", "a")}
	m := MenuMsg("h", "", items...)
	items[0] = ClickItem("2", "changed") // MenuMsg copied the list
	tests := []struct {
		msg  Outgoing
		typ  MsgType
		want string
	}{
		{TextMsg("hi"), MsgTypeText, `{"content":"hi"}`},
		{ImageMsg("M"), MsgTypeImage, `{"media_id":"M"}`},
		{m, MsgTypeMsgMenu, `{"head_content":"h","list":[{"type":"click","click":{"id":"1","content":"a"}}]}`},
		{CALinkMsg("https://e.com/ca/1"), MsgTypeCALink, `{"link_url":"https://e.com/ca/1"}`},
		{Outgoing{}, "", ``},
	}
	for _, tc := range tests {
		got, err := tc.msg.Payload()
		if err != nil {
			t.Fatal(err)
		}
		if tc.msg.Type() != tc.typ || string(got) != tc.want {
			t.Errorf("Type, Payload = %q, %s; want %q, %s", tc.msg.Type(), got, tc.typ, tc.want)
		}
	}
}

func TestMessageService_SendOnEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		msgid string
		msg   Outgoing
		want  string
	}{
		{"text", "welcome-1", TextMsg("Welcome!"),
			`{"code":"WELCOME_CODE","msgid":"welcome-1","msgtype":"text","text":{"content":"Welcome!"}}`},
		{"msgmenu", "bye-2", MenuMsg("Rate us", "", ClickItem("good", "Good"), ClickItem("bad", "Bad")),
			`{"code":"WELCOME_CODE","msgid":"bye-2","msgtype":"msgmenu","msgmenu":{"head_content":"Rate us","list":[
				{"type":"click","click":{"id":"good","content":"Good"}},{"type":"click","click":{"id":"bad","content":"Bad"}}]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux, client := setup(t)
			mux.HandleFunc(pathSendMsgOnEvent, func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, "POST")
				testQuery(t, r, url.Values{})
				testJSONBody(t, r, tc.want)
				writeJSON(w, `{"errcode":0,"errmsg":"ok","msgid":"`+tc.msgid+`"}`)
			})
			got, err := client.Messages.SendOnEvent(t.Context(), &SendMsgOnEventRequest{Code: "WELCOME_CODE", MsgID: tc.msgid, Msg: tc.msg})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&SendMsgOnEventResponse{MsgID: tc.msgid}, got); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMessageService_SendOnEvent_generatesMsgID(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	mux.HandleFunc(pathSendMsgOnEvent, func(w http.ResponseWriter, r *http.Request) {
		id, rest := sendBodyMsgID(t, r)
		if !sendMsgIDPattern.MatchString(id) {
			t.Errorf("generated msgid %q does not match %s", id, sendMsgIDPattern)
		}
		want := map[string]any{"code": "C", "msgtype": "text", "text": map[string]any{"content": "hi"}}
		if diff := cmp.Diff(want, rest); diff != "" {
			t.Errorf("body without msgid mismatch (-want +got):\n%s", diff)
		}
		writeJSON(w, `{"errcode":0,"errmsg":"ok","msgid":"`+id+`"}`)
	})
	req := &SendMsgOnEventRequest{Code: "C", Msg: TextMsg("hi")}
	got, err := client.Messages.SendOnEvent(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !sendMsgIDPattern.MatchString(got.MsgID) {
		t.Errorf("response MsgID = %q", got.MsgID)
	}
	if req.MsgID != "" {
		t.Errorf("SendOnEvent modified the caller's request: MsgID = %q", req.MsgID)
	}
}

func TestMessageService_SendOnEvent_apiError(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	testAPIError(t, mux, pathSendMsgOnEvent, opSendMsgOnEvent, ErrCodeInvalidMsgToken, func() error {
		_, err := client.Messages.SendOnEvent(t.Context(), &SendMsgOnEventRequest{Code: "C", Msg: TextMsg("x")})
		return err
	})
}

func TestSendMsgOnEventRequest_JSONRoundTrip(t *testing.T) {
	t.Parallel()
	in := SendMsgOnEventRequest{Code: "C", MsgID: "m", Msg: MenuMsg("h", "t", TextItem("x", true))}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var back SendMsgOnEventRequest
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) || back.Code != "C" || back.MsgID != "m" {
		t.Errorf("round trip: %s -> %+v -> %s", b, back, b2)
	}
	back.Msg = ImageMsg("M")
	if err := back.Validate(); err == nil {
		t.Error("Validate accepted an image on an event")
	}
}

func TestMessageService_Recall(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	mux.HandleFunc(pathRecallMsg, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"open_kfid":"wkA","msgid":"order-123"}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
	})
	if err := client.Messages.Recall(t.Context(), &RecallMsgRequest{OpenKfID: "wkA", MsgID: "order-123"}); err != nil {
		t.Fatal(err)
	}
}

// Recall is idempotent: a lost reply is retried.
func TestMessageService_Recall_retried(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	h := &sendFailFirst{t: t, kind: "drop"}
	mux.Handle(pathRecallMsg, h)
	if err := client.Messages.Recall(t.Context(), &RecallMsgRequest{OpenKfID: "wkA", MsgID: "order-123"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"order-123", "order-123"}, h.msgIDs()); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
}

func TestMessageService_Recall_apiError(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	testAPIError(t, mux, pathRecallMsg, opRecallMsg, ErrCodeInvalidParameter, func() error {
		return client.Messages.Recall(t.Context(), &RecallMsgRequest{OpenKfID: "wkA", MsgID: "m"})
	})
}
