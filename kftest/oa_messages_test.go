package kftest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wxkf/kf/kftest"
	"github.com/wxkf/kf/mp"
)

// The customer-message window: a user message allows 5 messages within
// 48 h; 45015 outside, 45047 beyond 5.
func TestOAWindow(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, c := oaSetup(t, kftest.WithOASeed(oaSeed()))
	send := func(text string) error {
		return c.Messages.Send(ctx, &mp.SendMessageRequest{ToUser: "oUser1", Msg: mp.TextMsg(text)})
	}
	oaWantCode(t, send("unsolicited"), mp.ErrCodeReplyTimeLimit)
	oaWantCode(t, c.Messages.Send(ctx, &mp.SendMessageRequest{ToUser: "oStranger", Msg: mp.TextMsg("x")}), mp.ErrCodeInvalidUserID)

	if _, err := s.UserSend("oUser1", "hi"); err != nil {
		t.Fatal(err)
	}
	if closes, left := s.Window("oUser1"); !closes.Equal(oaT0.Add(48*time.Hour)) || left != 5 {
		t.Errorf("window %v %d", closes, left)
	}
	for i := range 5 {
		if err := send("reply"); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	oaWantCode(t, send("sixth"), mp.ErrCodeOutOfMessageCount)
	if got := s.Received("oUser1"); len(got) != 5 || got[0].Source != kftest.OASourceAPI || got[0].Text != "reply" {
		t.Errorf("received %d: %+v", len(got), got)
	}

	// A new user message grants 5 again, for 48 h from then.
	s.Advance(10 * time.Hour)
	if _, err := s.UserSend("oUser1", "again"); err != nil {
		t.Fatal(err)
	}
	if err := send("ok"); err != nil {
		t.Fatal(err)
	}
	s.Advance(48*time.Hour - time.Second)
	if err := send("just in time"); err != nil {
		t.Fatal(err)
	}
	s.Advance(time.Second)
	oaWantCode(t, send("too late"), mp.ErrCodeReplyTimeLimit)
	if closes, left := s.Window("oUser1"); !closes.IsZero() || left != 0 {
		t.Errorf("closed window %v %d", closes, left)
	}

	// A worker's messages use the same window.
	if _, err := s.UserSend("oUser2", "need a human"); err != nil {
		t.Fatal(err)
	}
	alice := s.KfAccount("alice")
	if err := c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: alice, OpenID: "oUser2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.WorkerSend(s.KfAccount("bob"), "oUser2", "not mine"); err == nil {
		t.Error("bob wrote in alice's session")
	}
	for range 5 {
		if err := s.WorkerSend(alice, "oUser2", "typing away"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WorkerSend(alice, "oUser2", "one more"); !errors.Is(err, mp.ErrCodeOutOfMessageCount) {
		t.Errorf("sixth worker message: %v", err)
	}
	if got := s.Received("oUser2"); len(got) != 5 || got[0].Source != kftest.OASourceWorker || got[0].KfAccount != alice {
		t.Errorf("received %+v", got)
	}
}

func TestOATyping(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, c := oaSetup(t, kftest.WithOASeed(oaSeed()))
	oaWantCode(t, c.Messages.Typing(ctx, "oUser1"), mp.ErrCodeReplyTimeLimit)
	oaWantCode(t, c.Messages.Typing(ctx, "oStranger"), mp.ErrCodeInvalidUserID)
	if _, err := s.UserSend("oUser1", "hi"); err != nil {
		t.Fatal(err)
	}
	if err := c.Messages.Typing(ctx, "oUser1"); err != nil {
		t.Fatal(err)
	}
	if !s.Typing("oUser1") {
		t.Error("not typing")
	}
	s.Advance(15 * time.Second)
	if s.Typing("oUser1") {
		t.Error("still typing after 15 s")
	}
	if err := c.Messages.Typing(ctx, "oUser1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Messages.CancelTyping(ctx, "oUser1"); err != nil {
		t.Fatal(err)
	}
	if s.Typing("oUser1") {
		t.Error("still typing after CancelTyping")
	}
	// Sending a message ends it.
	if err := c.Messages.Typing(ctx, "oUser1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Messages.Send(ctx, &mp.SendMessageRequest{ToUser: "oUser1", Msg: mp.TextMsg("here")}); err != nil {
		t.Fatal(err)
	}
	if s.Typing("oUser1") {
		t.Error("still typing after a message")
	}
	if code, _ := oaRaw(t, s, c, "POST", "/cgi-bin/message/custom/typing", "", `{"touser":"oUser1","command":"Dance"}`); code != 47001 {
		t.Errorf("bad command: %d", code)
	}
	// Typing needs a message left in the window.
	for range 4 {
		if err := c.Messages.Send(ctx, &mp.SendMessageRequest{ToUser: "oUser1", Msg: mp.TextMsg("more")}); err != nil {
			t.Fatal(err)
		}
	}
	oaWantCode(t, c.Messages.Typing(ctx, "oUser1"), mp.ErrCodeOutOfMessageCount)
	s.Advance(48 * time.Hour)
	oaWantCode(t, c.Messages.Typing(ctx, "oUser1"), mp.ErrCodeReplyTimeLimit)
}

// All 11 message types, sent as the OA and as a worker, and the send
// errors.
func TestOACustomSend(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, c := oaSetup(t, kftest.WithOASeed(oaSeed()))
	alice := s.KfAccount("alice")
	msgs := []mp.Outgoing{
		mp.TextMsg(`see <a href="https://example.com">here</a>`),
		mp.ImageMsg("MEDIA_IMG"),
		mp.VoiceMsg("MEDIA_VOICE"),
		mp.VideoMsg(mp.Video{MediaID: "MEDIA_VIDEO", Title: "t"}),
		mp.MusicMsg(mp.Music{MusicURL: "https://example.com/m.mp3", ThumbMediaID: "THUMB"}),
		mp.NewsMsg(mp.Article{Title: "news", URL: "https://example.com"}),
		mp.MPNewsMsg("MEDIA_MPNEWS"),
		mp.MPNewsArticleMsg("ARTICLE_ID"),
		mp.MenuMsg("How was it?", "Thanks", mp.MenuItem{ID: "101", Content: "good"}, mp.MenuItem{ID: "102", Content: "bad"}),
		mp.WxCardMsg("CARD_ID"),
		mp.MiniProgramPageMsg(mp.MiniProgramPage{AppID: "wxmini", PagePath: "pages/index", ThumbMediaID: "THUMB"}),
	}
	for i, m := range msgs {
		if i%5 == 0 {
			if _, err := s.UserSend("oUser1", "next"); err != nil {
				t.Fatal(err)
			}
		}
		as := ""
		if i%2 == 1 {
			as = alice
		}
		if err := c.Messages.Send(ctx, &mp.SendMessageRequest{ToUser: "oUser1", Msg: m, KfAccount: as}); err != nil {
			t.Fatalf("%s: %v", m.Type(), err)
		}
	}
	got := s.Received("oUser1")
	if len(got) != len(msgs) {
		t.Fatalf("received %d messages", len(got))
	}
	for i, m := range msgs {
		g := got[i]
		if g.MsgType != string(m.Type()) || (i%2 == 1) != (g.KfAccount == alice) {
			t.Errorf("message %d: %+v", i, g)
		}
		if want := "[" + string(m.Type()) + "]"; i > 0 && g.Text != want {
			t.Errorf("message %d text %q, want %q", i, g.Text, want)
		}
	}
	if got[0].Text != `see <a href="https://example.com">here</a>` {
		t.Errorf("text %q", got[0].Text)
	}
	// Messages sent as a worker are chat records (2002).
	recs := s.Records()
	if len(recs) != 5 || recs[0].OperCode != mp.OperCodeWorkerSent || recs[0].Worker != alice || recs[0].Text != "[image]" {
		t.Errorf("records %+v", recs)
	}

	if _, err := s.UserSend("oUser1", "more"); err != nil {
		t.Fatal(err)
	}
	oaWantCode(t, c.Messages.Send(ctx, &mp.SendMessageRequest{ToUser: "oUser1", Msg: mp.TextMsg("x"), KfAccount: s.KfAccount("ghost")}), mp.ErrCodeInvalidKfAccount)
	oaWantCode(t, c.Messages.Send(ctx, &mp.SendMessageRequest{ToUser: "oUser1", Msg: mp.TextMsg(strings.Repeat("长", 700))}), mp.ErrCodeContentTooLong)
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"touser":"oUser1","msgtype":"news","news":{"articles":[{"title":"a"},{"title":"b"}]}}`, 45008},
		{`{"touser":"oUser1","msgtype":"hologram","hologram":{}}`, 40008},
		{`{"touser":"oUser1","msgtype":"text","text":{"content":""}}`, 44004},
		{`{"touser":"oUser1","msgtype":"image","image":{"media_id":""}}`, 40007},
		{`{"touser":"","msgtype":"text","text":{"content":"x"}}`, 40003},
		{`not json`, 47001},
	} {
		if code, _ := oaRaw(t, s, c, "POST", "/cgi-bin/message/custom/send", "", tc.body); code != tc.code {
			t.Errorf("%s: errcode %d, want %d", tc.body, code, tc.code)
		}
	}
	// None of the refused messages used the window.
	if _, left := s.Window("oUser1"); left != 5 {
		t.Errorf("window left %d", left)
	}

	// msgmenu needs a verified service account.
	s2, c2 := oaSetup(t, kftest.WithOASeed(oaSeed()), kftest.WithOAMsgMenu(false))
	if _, err := s2.UserSend("oUser1", "hi"); err != nil {
		t.Fatal(err)
	}
	oaWantCode(t, c2.Messages.Send(ctx, &mp.SendMessageRequest{ToUser: "oUser1", Msg: msgs[8]}), mp.ErrCodeInvalidAccountType)
}

// Chat records: getmsglist rules (24 h span, number ≤ 10000, 65416), msgid
// paging, and Records.All over several days.
func TestOARecords(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, c := oaSetup(t, kftest.WithOASeed(oaSeed()), kftest.WithOASessionIdleTimeout(0))
	alice := s.KfAccount("alice")
	if err := c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: alice, OpenID: "oUser1"}); err != nil {
		t.Fatal(err)
	}
	// Three days, 4 exchanges a day, 6 h apart.
	var want []mp.Record
	for i := range 12 {
		at := s.Now()
		if _, err := s.UserSend("oUser1", "question"); err != nil {
			t.Fatal(err)
		}
		if err := s.WorkerSend(alice, "oUser1", "answer"); err != nil {
			t.Fatal(err)
		}
		want = append(want,
			mp.Record{OpenID: "oUser1", OperCode: mp.OperCodeWorkerReceived, Text: "question", Time: at.Unix(), Worker: alice},
			mp.Record{OpenID: "oUser1", OperCode: mp.OperCodeWorkerSent, Text: "answer", Time: at.Unix(), Worker: alice})
		_ = i
		s.Advance(6 * time.Hour)
	}
	start, end := oaT0.Unix(), oaT0.Add(24*time.Hour).Unix()
	// One day, paged by 3: 8 records on day one (0h, 6h, 12h, 18h; 24h is
	// the first of day two and included: endtime is inclusive).
	var got []mp.Record
	req := &mp.ListRecordsRequest{StartTime: start, EndTime: end, MsgID: 1, Number: 3}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		page, err := c.Records.List(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.Records...)
		if page.Number < req.Number {
			break
		}
		if page.MsgID <= req.MsgID {
			t.Fatalf("msgid did not advance: %d → %d", req.MsgID, page.MsgID)
		}
		req.MsgID = page.MsgID
	}
	if len(got) != 10 || got[0] != want[0] || got[9] != want[9] {
		t.Errorf("day one: %d records %+v", len(got), got)
	}
	// Records.All splits 3 days into 24 h windows.
	var all []mp.Record
	for r, err := range c.Records.All(ctx, oaT0, oaT0.Add(72*time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	if len(all) != len(want) {
		t.Fatalf("All: %d records, want %d", len(all), len(want))
	}
	for i := range want {
		if all[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, all[i], want[i])
		}
	}

	// The server's rules, sent raw (the client refuses them itself).
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"starttime":1,"endtime":86402,"msgid":1,"number":10}`, 65416},
		{`{"starttime":100,"endtime":50,"msgid":1,"number":10}`, 65416},
		{`{"starttime":0,"endtime":50,"msgid":1,"number":10}`, 65416},
		{`{"starttime":1,"endtime":50,"msgid":1,"number":10001}`, 65416},
		{`{"starttime":1,"endtime":50,"msgid":1,"number":0}`, 65416},
		{`{"starttime":1,"endtime":50,"msgid":-1,"number":5}`, 65416},
		{`{"starttime":1,"endtime":86401,"msgid":1,"number":10000}`, 0},
	} {
		if code, _ := oaRaw(t, s, c, "POST", "/customservice/msgrecord/getmsglist", "", tc.body); code != tc.code {
			t.Errorf("%s: errcode %d, want %d", tc.body, code, tc.code)
		}
	}
	_, err := c.Records.List(ctx, &mp.ListRecordsRequest{StartTime: start, EndTime: start + 86400 + 1, Number: 5})
	if !errors.Is(err, mp.ErrInvalidRequest) {
		t.Errorf("client-side span check: %v", err)
	}
}
