package callback

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseEvent(t *testing.T) {
	t.Parallel()
	kf := Event{
		ToUserName: "ww-corpid",
		CreateTime: time.Unix(1700000000, 0),
		MsgType:    "event",
		Event:      "kf_msg_or_event",
		x:          extra{token: []byte("ENCtoken"), openKfID: []byte("wkOpenKfId")},
	}
	tests := []struct {
		name string
		in   string
		want Event
		msg  Message
	}{
		{"doc sample with newlines", "<xml><ToUserName><![CDATA[ww-corpid]]></ToUserName><CreateTime>1700000000</CreateTime>\n" +
			"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>\n" +
			"<Token><![CDATA[ENCtoken]]></Token><OpenKfId><![CDATA[wkOpenKfId]]></OpenKfId></xml>", kf, Message{}},
		{"plain text values", "<xml><ToUserName>ww-corpid</ToUserName><CreateTime>1700000000</CreateTime><MsgType>event</MsgType><Event>kf_msg_or_event</Event><Token>ENCtoken</Token><OpenKfId>wkOpenKfId</OpenKfId></xml>", kf, Message{}},
		{"any order, indentation, CRLF", "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<!-- c -->\r\n<xml>\r\n\t<OpenKfId>\r\n\t\t<![CDATA[wkOpenKfId]]>\r\n\t</OpenKfId>\r\n\t<Token><![CDATA[ENCtoken]]></Token>\r\n" +
			"  <Event ><![CDATA[kf_msg_or_event]]></Event >\n  <MsgType> event </MsgType>\n  <CreateTime>\n1700000000\n</CreateTime>\n  <ToUserName><![CDATA[ww-corpid]]></ToUserName>\n</xml>\n<!-- trailing -->\n", kf, Message{}},
		{"split CDATA and entities", "<xml><ToUserName><![CDATA[ww-]]><![CDATA[corpid]]></ToUserName><CreateTime>1700000000</CreateTime><MsgType>ev&#101;nt</MsgType><Event>kf_msg_or_&#x65;vent</Event><Token>ENC<!-- x -->token</Token><OpenKfId>wkOpenKfId</OpenKfId></xml>", kf, Message{}},
		{"unknown elements skipped", "<xml><Unknown a=\"1\" b='2'><Nested><Deep/>text</Nested></Unknown><ToUserName><![CDATA[ww-corpid]]></ToUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[ENCtoken]]></Token><OpenKfId><![CDATA[wkOpenKfId]]></OpenKfId><Unknown/><Unknown>again</Unknown></xml>", kf, Message{}},
		{"auth change", "<xml><ToUserName><![CDATA[ww]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_account_auth_change]]></Event>" +
			"<AuthAddOpenKfId><![CDATA[a1]]></AuthAddOpenKfId><AuthDelOpenKfId><![CDATA[d1]]></AuthDelOpenKfId><AuthAddOpenKfId>a2</AuthAddOpenKfId><AuthAddOpenKfId/></xml>",
			Event{ToUserName: "ww", FromUserName: "sys", CreateTime: time.Unix(1, 0), MsgType: "event", Event: "kf_account_auth_change",
				x: extra{authAdd: []string{"a1", "a2", ""}, authDel: []string{"d1"}}}, Message{}},
		{"CDATA whitespace kept", "<xml><MsgType>text</MsgType><Content>\n  <![CDATA[  two  spaces \n]]>\n</Content></xml>",
			Event{MsgType: "text"}, Message{Content: "  two  spaces \n"}},
		{"text around CDATA", "<xml><Content> a <![CDATA[b]]> c </Content></xml>", Event{}, Message{Content: "a b c"}},
		{"markup in CDATA", "<xml><Content><![CDATA[<xml></xml> & ]]]]><![CDATA[> done]]></Content></xml>", Event{}, Message{Content: "<xml></xml> & ]]> done"}},
		{"escaped text", "<xml><Content>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#20013;&#x6587;</Content></xml>", Event{}, Message{Content: `a <b> & "c" 'd' 中文`}},
		{"location message", "<xml><MsgType>location</MsgType><Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label><![CDATA[位置信息]]></Label><MsgId>1</MsgId></xml>",
			Event{MsgType: "location"}, Message{MsgID: "1", LocationX: "23.134521", LocationY: "113.358803", Scale: "20", Label: "位置信息"}},
		{"empty elements", "<xml><ToUserName/><ToKfAccount></ToKfAccount><MsgType>event</MsgType></xml>", Event{MsgType: "event"}, Message{}},
		{"empty root", "<xml></xml>", Event{}, Message{}},
		{"deep unknown", "<xml><A>" + strings.Repeat("<b>", maxDepth-1) + strings.Repeat("</b>", maxDepth-1) + "</A></xml>", Event{}, Message{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEvent([]byte(tt.in), "")
			if err != nil {
				t.Fatalf("parseEvent: %v", err)
			}
			tt.want.Raw = []byte(tt.in)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(Event{}, extra{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var scratch Event
			var m Message
			if err := parseInto([]byte(tt.in), "", &scratch, &m); err != nil || m != tt.msg {
				t.Errorf("message fields = %+v, %v; want %+v", m, err, tt.msg)
			}
		})
	}
}

func TestParseEventMalformed(t *testing.T) {
	t.Parallel()
	tests := []string{
		"",
		"   ",
		"hello",
		"<xml>",
		"<xml/>",
		"<root></root>",
		"<xml></xmlx>",
		"<xml></XML>",
		"<xml><A></B></xml>",
		"<xml><A>text</xml>",
		"<xml><A><![CDATA[x</A></xml>",
		"<xml><A>x</A>",
		"<xml><A>x</A></xml>trailing",
		"<xml></xml><xml></xml>",
		"<xml>text<A/></xml>",
		"<xml><A a=1/></xml>",
		"<xml><A a='1></A></xml>",
		"<xml><A a=\"<\"/></xml>",
		"<xml><A\"/></xml>",
		"<xml><A b/></xml>",
		"<xml><Ab='1'/></xml>",
		"<xml><1A/></xml>",
		"<xml>< A/></xml>",
		"<xml><A>&unknown;</A></xml>",
		"<xml><A>&amp</A></xml>",
		"<xml><A>&#0;</A></xml>",
		"<xml><A>&#xD800;</A></xml>",
		"<xml><A>&#-1;</A></xml>",
		"<xml><A>&#;</A></xml>",
		"<xml><!-- unterminated </xml>",
		"<!DOCTYPE xml><xml></xml>",
		"<xml><!DOCTYPE x></xml>",
		"<xml><A><?pi?></A></xml>",
		"<?xml version='1.0'",
		"<xml><ToUserName>a</ToUserName><ToUserName>b</ToUserName></xml>",
		"<xml><Event>a</Event><Event/></xml>",
		"<xml><Token><x/></Token></xml>",
		"<xml><AuthAddOpenKfId><x/></AuthAddOpenKfId></xml>",
		"<xml><CreateTime>abc</CreateTime></xml>",
		"<xml><CreateTime>-1</CreateTime></xml>",
		"<xml><CreateTime></CreateTime></xml>",
		"<xml><CreateTime>99999999999999999999</CreateTime></xml>",
		"<xml><A>" + strings.Repeat("<b>", maxDepth) + strings.Repeat("</b>", maxDepth) + "</A></xml>",
		"<xml><A>" + strings.Repeat("<b>", 100000),
	}
	for _, in := range tests {
		ev, err := parseEvent([]byte(in), "")
		if !errors.Is(err, ErrMalformed) {
			name := in
			if len(name) > 60 {
				name = name[:60] + "…"
			}
			t.Errorf("parseEvent(%q) = %+v, %v; want ErrMalformed", name, ev, err)
		}
	}
}

func TestEventAccessorsMismatch(t *testing.T) {
	t.Parallel()
	ev, err := parseEvent([]byte("<xml><MsgType>text</MsgType><Event>kf_msg_or_event</Event><Content>x</Content></xml>"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ev.KfMsgOrEvent(); ok {
		t.Error("text message reported as kf_msg_or_event")
	}
	for name, ok := range map[string]bool{
		"KfAccountAuthChange": second(ev.KfAccountAuthChange()),
		"KfCreateSession":     second(ev.KfCreateSession()),
		"KfCloseSession":      second(ev.KfCloseSession()),
		"KfSwitchSession":     second(ev.KfSwitchSession()),
	} {
		if ok {
			t.Errorf("%s reported ok for a text message", name)
		}
	}
	if m, ok := ev.Message(); !ok || m.Content != "x" {
		t.Errorf("Message = %+v %v", m, ok)
	}
	ev.MsgType = MsgTypeEvent
	if _, ok := ev.Message(); ok {
		t.Error("event reported as message")
	}
	// The auth-change accessor returns copies.
	ev, _ = parseEvent([]byte("<xml><MsgType>event</MsgType><Event>kf_account_auth_change</Event><AuthAddOpenKfId>a</AuthAddOpenKfId></xml>"), "")
	ac, _ := ev.KfAccountAuthChange()
	ac.AuthAddOpenKfIDs[0] = "changed"
	if ac2, _ := ev.KfAccountAuthChange(); ac2.AuthAddOpenKfIDs[0] != "a" {
		t.Error("accessor exposes internal slice")
	}
}

func second[T any](_ T, ok bool) bool { return ok }

func TestParseQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want params
		err  bool
	}{
		{"msg_signature=abc&timestamp=1&nonce=2&echostr=a+b/c==", params{msgSignature: "abc", timestamp: "1", nonce: "2", echostr: "a+b/c=="}, false},
		{"echostr=a%2Bb%2Fc%3D%3D", params{echostr: "a+b/c=="}, false},
		{"echostr=a%20b", params{echostr: "a+b"}, false},
		{"&&signature=s&&other=%zz&encrypt_type=aes&openid=o", params{signature: "s", encryptType: "aes"}, false},
		{"msg%5Fsignature=x&nonce", params{msgSignature: "x"}, false},
		{"nonce=1&nonce=2", params{}, true},
		{"nonce=%", params{}, true},
		{"nonce=%4", params{}, true},
		{"nonce=%4g", params{}, true},
		{"", params{}, false},
	}
	for _, tt := range tests {
		got, err := parseQuery(tt.raw)
		if (err != nil) != tt.err || (err != nil && !errors.Is(err, ErrMissingParams)) {
			t.Errorf("parseQuery(%q) error %v", tt.raw, err)
			continue
		}
		if got != tt.want {
			t.Errorf("parseQuery(%q) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}

func TestParseAllocs(t *testing.T) {
	in := []byte("<xml><ToUserName><![CDATA[ww-corpid]]></ToUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[ENCtoken]]></Token><OpenKfId><![CDATA[wkOpenKfId]]></OpenKfId></xml>")
	// A kf_msg_or_event costs nothing: Token and OpenKfId stay in raw, the
	// other values are well-known strings or the receiver ID.
	if n := testing.AllocsPerRun(100, func() { _, _ = parseEvent(in, "ww-corpid") }); n != 0 {
		t.Errorf("parseEvent: %v allocations, want 0", n)
	}
	// Other values are copied out together, in one allocation.
	oa := []byte("<xml><ToUserName>gh_1</ToUserName><FromUserName>oUser</FromUserName><MsgType>event</MsgType><Event>kf_switch_session</Event><FromKfAccount>a@b</FromKfAccount><ToKfAccount>c@d</ToKfAccount></xml>")
	if n := testing.AllocsPerRun(100, func() { _, _ = parseEvent(oa, "") }); n != 1 {
		t.Errorf("parseEvent (OA event): %v allocations, want 1", n)
	}
	body := []byte("<xml><ToUserName><![CDATA[ww]]></ToUserName><Encrypt><![CDATA[abc]]></Encrypt><AgentID>1</AgentID></xml>")
	if n := testing.AllocsPerRun(100, func() { _, _ = parseEnvelope(body) }); n != 0 {
		t.Errorf("parseEnvelope: %v allocations", n)
	}
	q := "msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780"
	if n := testing.AllocsPerRun(100, func() { _, _ = parseQuery(q) }); n != 0 {
		t.Errorf("parseQuery: %v allocations", n)
	}
}
