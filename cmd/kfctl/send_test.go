package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
)

// sendEnv is an emulator where wmCarl wrote to wkSupport, and the
// environment that targets him.
func sendEnv(t *testing.T) (*kftest.Server, map[string]string) {
	t.Helper()
	s := newEmulator(t)
	if _, err := s.CustomerSend("wkSupport", "wmCarl", kftest.CustomerText("hello")); err != nil {
		t.Fatal(err)
	}
	return s, with(emuEnv(s), "KF_OPEN_KFID", "wkSupport", "KF_CUSTOMER", "wmCarl")
}

// lastReceived returns the payload of the last message wmCarl received.
func lastReceived(t *testing.T, s *kftest.Server) (msgType string, payload map[string]any) {
	t.Helper()
	got := s.Received("wkSupport", "wmCarl")
	if len(got) == 0 {
		t.Fatal("the customer received nothing")
	}
	last := got[len(got)-1]
	if err := json.Unmarshal(last.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	return last.MsgType, payload
}

func TestSendText(t *testing.T) {
	t.Parallel()
	s, env := sendEnv(t)
	r := kfctl(t, env, "send", "text", "Hi Carl", "--msgid", "reply1").ok(t)
	golden(t, "send_text", r.stdout)
	if typ, p := lastReceived(t, s); typ != "text" || p["content"] != "Hi Carl" {
		t.Errorf("received %s %v", typ, p)
	}
	// KF_MSGID is ignored: a msgid left in the environment would turn
	// every later send into a silent duplicate.
	jenv := with(env, "KF_OUTPUT", "json", "KF_MSGID", "reply1")
	var res kf.SendMsgResponse
	kfctl(t, jenv, "send", "text", "--content", "second").ok(t).json(t, &res)
	if res.MsgID == "" || res.MsgID == "reply1" {
		t.Errorf("msgid = %q", res.MsgID)
	}
	if _, p := lastReceived(t, s); p["content"] != "second" {
		t.Errorf("received %v", p)
	}
}

func TestSendMenuKeepsOrder(t *testing.T) {
	t.Parallel()
	s, env := sendEnv(t)
	kfctl(t, env, "send", "menu", "--head", "How can we help?",
		"--click", "101=Orders", "--view", "https://example.com/faq?a=b=FAQ", "--text", "or just write",
		"--click", "102=Refunds", "--miniprogram", "wx123:pages/index?x=1=Shop", "--tail", "Thanks").ok(t)
	typ, p := lastReceived(t, s)
	if typ != "msgmenu" {
		t.Fatalf("received %s", typ)
	}
	want := map[string]any{
		"head_content": "How can we help?", "tail_content": "Thanks",
		"list": []any{
			map[string]any{"type": "click", "click": map[string]any{"id": "101", "content": "Orders"}},
			map[string]any{"type": "view", "view": map[string]any{"url": "https://example.com/faq?a=b", "content": "FAQ"}},
			map[string]any{"type": "text", "text": map[string]any{"content": "or just write"}},
			map[string]any{"type": "click", "click": map[string]any{"id": "102", "content": "Refunds"}},
			map[string]any{"type": "miniprogram", "miniprogram": map[string]any{"appid": "wx123", "pagepath": "pages/index?x=1", "content": "Shop"}},
		},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("menu (-want +got):\n%s", diff)
	}
}

func TestSendMediaAndCards(t *testing.T) {
	t.Parallel()
	s, env := sendEnv(t)
	img := writeFile(t, "photo.png", pngBytes)

	kfctl(t, env, "send", "image", "--file", img).ok(t)
	typ, p := lastReceived(t, s)
	if typ != "image" || p["media_id"] == "" {
		t.Errorf("received %s %v", typ, p)
	}
	// the media_id of an upload, given directly
	mediaID := s.PutMedia("file", "terms.pdf", []byte("%PDF"))
	kfctl(t, env, "send", "file", mediaID).ok(t)
	if typ, p := lastReceived(t, s); typ != "file" || p["media_id"] != mediaID {
		t.Errorf("received %s %v", typ, p)
	}
	kfctl(t, env, "send", "link", "--url", "https://example.com/a", "--title", "Guide", "--thumb", img).ok(t)
	if typ, p := lastReceived(t, s); typ != "link" || p["url"] != "https://example.com/a" || p["title"] != "Guide" {
		t.Errorf("received %s %v", typ, p)
	}
	kfctl(t, env, "send", "location", "--latitude", "31.23", "--longitude", "121.47", "--place", "Bund").ok(t)
	if typ, p := lastReceived(t, s); typ != "location" || p["name"] != "Bund" || p["latitude"] != 31.23 {
		t.Errorf("received %s %v", typ, p)
	}
	kfctl(t, env, "send", "miniprogram", "--appid", "wx123", "--pagepath", "pages/i", "--title", "Shop", "--thumb-media-id", mediaID).ok(t)
	if typ, p := lastReceived(t, s); typ != "miniprogram" || p["appid"] != "wx123" || p["thumb_media_id"] != mediaID {
		t.Errorf("received %s %v", typ, p)
	}
	// five messages per customer message: the sixth is refused (95001)
	r := kfctl(t, env, "send", "text", "one too many").exit(t, exitAPI)
	contains(t, "stderr", r.stderr, "errcode 95001", "remedy:")
}

func TestSendJSONFile(t *testing.T) {
	t.Parallel()
	s, env := sendEnv(t)
	body := `{"touser":"wmNobody","open_kfid":"wkSupport","msgtype":"text","text":{"content":"from a file"}}`
	file := writeFile(t, "req.json", []byte(body))

	// --customer on the command line replaces the file's touser
	kfctl(t, env, "send", "--json", file, "--customer", "wmCarl").ok(t)
	if typ, p := lastReceived(t, s); typ != "text" || p["content"] != "from a file" {
		t.Errorf("received %s %v", typ, p)
	}
	// KF_CUSTOMER from the environment does not replace the file's touser:
	// wmNobody never wrote, so the platform answers 95031.
	r := kfctl(t, env, "send", "--json", file).exit(t, exitAPI)
	contains(t, "stderr", r.stderr, "errcode 95031", "CustomerNotConsulted", "remedy:")
}

func TestSendAPIErrors(t *testing.T) {
	t.Parallel()
	s, env := sendEnv(t)
	// a customer who never wrote to the account
	r := kfctl(t, env, "send", "text", "--customer", "wmDana", "hi").exit(t, exitAPI)
	contains(t, "stderr", r.stderr, "error: kf/send_msg: errcode 95031 (CustomerNotConsulted)", "  meaning: ", "  remedy:  ")
	// a session with a servicer: 95018
	if _, err := s.ServicerAccept("wkSupport", "wmCarl", "alice"); err != nil {
		t.Fatal(err)
	}
	r = kfctl(t, env, "send", "text", "hi").exit(t, exitAPI)
	contains(t, "stderr", r.stderr, "errcode 95018 (SessionStatusInvalid)", "remedy:  session is not in state 0/1")
	if strings.Count(r.stderr, "remedy") != 1 {
		t.Errorf("remedy printed more than once:\n%s", r.stderr)
	}
}

func TestSendUsageErrors(t *testing.T) {
	t.Parallel()
	s, env := sendEnv(t)
	calls := s.Calls()
	img := writeFile(t, "photo.png", pngBytes)
	bad := writeFile(t, "bad.json", []byte(`{"touser":`))
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env, []string{"send", "text"}, "invalid text.content: required"},
		{env, []string{"send", "text", strings.Repeat("x", 2049)}, "text.content"},
		{env, []string{"send", "text", "a", "b"}, "too many arguments"},
		{env, []string{"send", "text", "a", "--content", "b"}, "not both"},
		{with(env, "KF_CUSTOMER", ""), []string{"send", "text", "hi"}, "invalid touser: required"},
		{env, []string{"send", "image"}, "give MEDIA_ID or --file"},
		{env, []string{"send", "image", "m1", "--file", img}, "not both"},
		// validated before the upload: nothing is sent
		{with(env, "KF_OPEN_KFID", ""), []string{"send", "image", "--file", img}, "invalid open_kfid"},
		{env, []string{"send", "menu"}, "msgmenu.list"},
		{env, []string{"send", "menu", "--click", "nocontent"}, "is not ID=CONTENT"},
		{env, []string{"send", "link", "--url", "ftp://x", "--title", "t", "--thumb-media-id", "m"}, "link.url"},
		{env, []string{"send", "location", "--latitude", "91", "--longitude", "0"}, "location.latitude"},
		{env, []string{"send", "location", "--latitude", "1"}, "give --latitude and --longitude"},
		{env, []string{"send", "ca_link", "--url", "http://x"}, "ca_link.link_url"},
		{env, []string{"send", "--json", bad}, "--json"},
		{env, []string{"send", "txt"}, "did you mean text"},
		{env, []string{"send", "text", "hi", "--msgid", "bad id!"}, "msgid"},
	} {
		r := kfctl(t, tc.env, tc.args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %s)", tc.args, r.code, r.stderr)
		}
		contains(t, strings.Join(tc.args, " "), r.stderr, tc.want)
	}
	if diff := cmp.Diff(calls, s.Calls()); diff != "" {
		t.Errorf("requests were sent (-before +after):\n%s", diff)
	}
}
