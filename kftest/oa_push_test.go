package kftest_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkf/kf/internal/wxcrypto"
	"github.com/wxkf/kf/kftest"
	"github.com/wxkf/kf/mp"
)

// The app side of pushes: a receiver that verifies every push
// independently of the emulator (plain signature, or msg_signature and
// decryption with internal/wxcrypto in safe mode) and answers passive
// replies.

const (
	oaToken  = "oaCallbackToken42"
	oaAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

// oaPushed is one verified push.
type oaPushed struct {
	Query url.Values
	Plain []byte
	X     oaPushXML
}

type oaPushXML struct {
	ToUserName    string `xml:"ToUserName"`
	FromUserName  string `xml:"FromUserName"`
	CreateTime    int64  `xml:"CreateTime"`
	MsgType       string `xml:"MsgType"`
	Event         string `xml:"Event"`
	KfAccount     string `xml:"KfAccount"`
	FromKfAccount string `xml:"FromKfAccount"`
	ToKfAccount   string `xml:"ToKfAccount"`
	Content       string `xml:"Content"`
	MsgID         string `xml:"MsgId"`
}

type oaReceiver struct {
	t     *testing.T
	safe  bool
	key   wxcrypto.Key
	ch    chan oaPushed
	reply func(p oaPushed) []byte // plaintext passive reply (nil: empty answer)
	srv   *httptest.Server
}

// oaNewReceiver starts a receiver; safe selects safe mode.
func oaNewReceiver(t *testing.T, safe bool) *oaReceiver {
	t.Helper()
	rc := &oaReceiver{t: t, safe: safe, ch: make(chan oaPushed, 512)}
	if safe {
		k, err := wxcrypto.ParseKey(oaAESKey)
		if err != nil {
			t.Fatal(err)
		}
		rc.key = k
	}
	rc.srv = httptest.NewServer(rc)
	t.Cleanup(rc.srv.Close)
	return rc
}

// option returns the emulator option pointing at the receiver.
func (rc *oaReceiver) option() kftest.OAOption {
	cb := kftest.OACallback{URL: rc.srv.URL + "/wx", Token: oaToken}
	if rc.safe {
		cb.EncodingAESKey = oaAESKey
	}
	return kftest.WithOACallback(cb)
}

func (rc *oaReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := rc.t
	q := r.URL.Query()
	body, _ := io.ReadAll(r.Body)
	fail := func(format string, args ...any) {
		t.Errorf("receiver: "+format, args...)
		http.Error(w, "bad push", http.StatusForbidden)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/wx" {
		fail("%s %s", r.Method, r.URL.Path)
		return
	}
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	parts := []string{oaToken, ts, nonce}
	slices.Sort(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	if q.Get("signature") != hex.EncodeToString(sum[:]) {
		fail("bad plain signature")
		return
	}
	plain := body
	if rc.safe {
		if q.Get("encrypt_type") != "aes" {
			fail("encrypt_type = %q", q.Get("encrypt_type"))
			return
		}
		to, enc, agent, err := wxcrypto.ParseEncryptedPostBody(body)
		if err != nil || to != kftest.DefaultOAOriginalID || agent != "" {
			fail("outer envelope: to=%q agent=%q err=%v", to, agent, err)
			return
		}
		if !wxcrypto.VerifySignature(oaToken, ts, nonce, enc, q.Get("msg_signature")) {
			fail("bad msg_signature")
			return
		}
		if plain, err = rc.key.DecryptFor(enc, kftest.DefaultOAAppID); err != nil {
			fail("decrypt: %v", err)
			return
		}
	} else if q.Get("encrypt_type") != "" || q.Get("msg_signature") != "" {
		fail("plain mode push with encryption parameters")
		return
	}
	var x oaPushXML
	if err := xml.Unmarshal(plain, &x); err != nil {
		fail("push XML: %v", err)
		return
	}
	if x.ToUserName != kftest.DefaultOAOriginalID || x.FromUserName == "" || q.Get("openid") != x.FromUserName {
		fail("push header: %+v, openid %q", x, q.Get("openid"))
		return
	}
	p := oaPushed{Query: q, Plain: plain, X: x}
	rc.ch <- p
	if rc.reply == nil {
		return
	}
	out := rc.reply(p)
	if out == nil {
		return
	}
	if rc.safe {
		enc, err := rc.key.Encrypt(nil, out, kftest.DefaultOAAppID)
		if err != nil {
			t.Error(err)
			return
		}
		out = wxcrypto.BuildEncryptedXML(oaToken, enc, ts, "reply"+nonce)
	}
	w.Write(out)
}

// next returns the next push.
func (rc *oaReceiver) next(t *testing.T) oaPushed {
	t.Helper()
	select {
	case p := <-rc.ch:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no push within 5 s")
		return oaPushed{}
	}
}

// event returns the next push and checks that it is the event for openid.
func (rc *oaReceiver) event(t *testing.T, event, openid string) oaPushXML {
	t.Helper()
	p := rc.next(t)
	if p.X.MsgType != "event" || p.X.Event != event || p.X.FromUserName != openid {
		t.Fatalf("push %+v, want event %s of %s", p.X, event, openid)
	}
	return p.X
}

// quiet checks that nothing more was pushed.
func (rc *oaReceiver) quiet(t *testing.T, s *kftest.OAServer) {
	t.Helper()
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-rc.ch:
		t.Fatalf("unexpected push %+v", p.X)
	default:
	}
}

// oaReply builds a passive reply to openid; inner is added after MsgType.
func oaReply(openid, msgType, inner string) []byte {
	return fmt.Appendf(nil, "<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
		"<CreateTime>%d</CreateTime><MsgType><![CDATA[%s]]></MsgType>%s</xml>",
		openid, kftest.DefaultOAOriginalID, oaT0.Unix(), msgType, inner)
}

func oaTransInfo(kfAccount string) string {
	return "<TransInfo><KfAccount><![CDATA[" + kfAccount + "]]></KfAccount></TransInfo>"
}

// oaDesk is the reply logic of a small desk: "human" (optionally
// "human:<prefix>") transfers to customer service, anything else is
// echoed.
func oaDesk(s *kftest.OAServer) func(p oaPushed) []byte {
	return func(p oaPushed) []byte {
		if p.X.MsgType != "text" {
			return nil
		}
		switch c := p.X.Content; {
		case c == "human":
			return oaReply(p.X.FromUserName, "transfer_customer_service", "")
		case strings.HasPrefix(c, "human:"):
			return oaReply(p.X.FromUserName, "transfer_customer_service", oaTransInfo(s.KfAccount(strings.TrimPrefix(c, "human:"))))
		}
		return oaReply(p.X.FromUserName, "text", "<Content><![CDATA[echo: "+p.X.Content+"]]></Content>")
	}
}

// TestOAPushFlow runs the whole desk flow in both modes: a user message
// pushed and answered, transfer_customer_service to the queue, a worker
// accepting (kf_create_session), messages going to the worker, a transfer
// between workers (kf_switch_session), closing (kf_close_session), and a
// transfer to a named worker with TransInfo.
func TestOAPushFlow(t *testing.T) {
	t.Parallel()
	for _, safe := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "safe"}[safe], func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			rc := oaNewReceiver(t, safe)
			s, c := oaSetup(t, rc.option(), kftest.WithOASeed(oaSeed()))
			rc.reply = oaDesk(s)
			alice, bob := s.KfAccount("alice"), s.KfAccount("bob")

			// An ordinary message: pushed, answered passively.
			reply, err := s.UserSend("oUser1", "hello")
			if err != nil {
				t.Fatal(err)
			}
			p := rc.next(t)
			if p.X.MsgType != "text" || p.X.Content != "hello" || p.X.MsgID == "" || p.X.CreateTime != oaT0.Unix() {
				t.Fatalf("pushed message %+v", p.X)
			}
			if !strings.Contains(string(reply), "echo: hello") {
				t.Errorf("reply %q", reply)
			}
			if got := s.Received("oUser1"); len(got) != 1 || got[0].Source != kftest.OASourceReply || got[0].Text != "echo: hello" {
				t.Errorf("received %+v", got)
			}

			// Transfer without TransInfo: the user waits.
			s.Advance(time.Minute)
			if _, err := s.UserSend("oUser1", "human"); err != nil {
				t.Fatal(err)
			}
			rc.next(t)
			w, err := c.Sessions.ListWaiting(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if w.Count != 1 || w.WaitCases[0] != (mp.WaitCase{OpenID: "oUser1", LatestTime: oaT0.Add(time.Minute).Unix()}) {
				t.Fatalf("waitcase %+v", w)
			}
			// While waiting, messages still reach the app; only the ones
			// it transfers reach the worker who accepts.
			s.Advance(time.Minute)
			if reply, err := s.UserSend("oUser1", "anyone?"); err != nil || !strings.Contains(string(reply), "echo: anyone?") {
				t.Fatalf("while waiting: %q, %v", reply, err)
			}
			if p := rc.next(t); p.X.Content != "anyone?" {
				t.Fatalf("push %+v", p.X)
			}
			if w, _ := c.Sessions.ListWaiting(ctx); w.WaitCases[0].LatestTime != oaT0.Add(2*time.Minute).Unix() {
				t.Errorf("latest_time not updated: %+v", w)
			}
			rc.quiet(t, s)

			// A worker accepts.
			if err := s.WorkerAccept(alice, "oUser1"); err != nil {
				t.Fatal(err)
			}
			if ev := rc.event(t, "kf_create_session", "oUser1"); ev.KfAccount != alice || ev.CreateTime != oaT0.Add(2*time.Minute).Unix() {
				t.Errorf("kf_create_session %+v", ev)
			}
			if sess, err := c.Sessions.Get(ctx, "oUser1"); err != nil || sess.KfAccount != alice {
				t.Fatalf("getsession %+v %v", sess, err)
			}
			// Now the user talks to the worker, not to the app.
			reply, err = s.UserSend("oUser1", "my order is late")
			if err != nil || reply != nil {
				t.Fatalf("UserSend in session: %q, %v", reply, err)
			}
			if err := s.WorkerSend(alice, "oUser1", "let me check"); err != nil {
				t.Fatal(err)
			}
			rc.quiet(t, s)

			// The worker hands the user to bob.
			if err := s.SetWorkerOnline(bob, true); err != nil {
				t.Fatal(err)
			}
			if err := s.WorkerTransfer(alice, bob, "oUser1"); err != nil {
				t.Fatal(err)
			}
			if ev := rc.event(t, "kf_switch_session", "oUser1"); ev.FromKfAccount != alice || ev.ToKfAccount != bob {
				t.Errorf("kf_switch_session %+v", ev)
			}
			oaWantCode(t, c.Sessions.Close(ctx, &mp.CloseSessionRequest{KfAccount: alice, OpenID: "oUser1"}), mp.ErrCodeServedByAnotherWorker)
			if err := c.Sessions.Close(ctx, &mp.CloseSessionRequest{KfAccount: bob, OpenID: "oUser1"}); err != nil {
				t.Fatal(err)
			}
			if ev := rc.event(t, "kf_close_session", "oUser1"); ev.KfAccount != bob {
				t.Errorf("kf_close_session %+v", ev)
			}
			// Back with the app.
			if reply, err := s.UserSend("oUser1", "thanks"); err != nil || !strings.Contains(string(reply), "echo: thanks") {
				t.Fatalf("after close: %q, %v", reply, err)
			}
			rc.next(t)

			// The records show what the workers saw and said.
			var texts []string
			for _, r := range s.Records() {
				texts = append(texts, fmt.Sprintf("%d %s %s", r.OperCode, r.Worker, r.Text))
			}
			want := []string{
				"2003 " + alice + " human",
				"2003 " + alice + " my order is late", "2002 " + alice + " let me check",
			}
			if !slices.Equal(texts, want) {
				t.Errorf("records:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
			}

			// TransInfo names a worker: the user goes straight to it, even
			// though the worker is offline.
			if err := s.SetWorkerOnline(bob, false); err != nil {
				t.Fatal(err)
			}
			if _, err := s.UserSend("oUser2", "human:bob"); err != nil {
				t.Fatal(err)
			}
			rc.next(t)
			if ev := rc.event(t, "kf_create_session", "oUser2"); ev.KfAccount != bob {
				t.Errorf("kf_create_session %+v", ev)
			}
			if w, _ := c.Sessions.ListWaiting(ctx); w.Count != 0 {
				t.Errorf("queue %+v", w)
			}
			l, err := c.Sessions.List(ctx, bob)
			if err != nil || len(l.Sessions) != 1 || l.Sessions[0].OpenID != "oUser2" {
				t.Fatalf("bob's sessions %+v %v", l, err)
			}
			// TransInfo naming an unknown account falls back to the queue.
			if _, err := s.UserSend("oUser3", "human:nobody"); err != nil {
				t.Fatal(err)
			}
			rc.next(t)
			if w, _ := c.Sessions.ListWaiting(ctx); w.Count != 1 || w.WaitCases[0].OpenID != "oUser3" {
				t.Errorf("queue %+v", w)
			}
			rc.quiet(t, s)
			for _, p := range s.Pushes() {
				if p.Err != "" || p.Attempts != 1 {
					t.Errorf("push %s/%s: %d attempts, %q", p.MsgType, p.Event, p.Attempts, p.Err)
				}
			}
		})
	}
}

// Replies the emulator refuses.
func TestOAPushBadReplies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		safe  bool
		reply func(p oaPushed) []byte
		raw   []byte // answered as is (bypassing the receiver's encryption)
		want  string
	}{
		{name: "wrong ToUserName", reply: func(p oaPushed) []byte { return oaReply("oSomeoneElse", "text", "<Content>x</Content>") }, want: "ToUserName"},
		{name: "unknown type", reply: func(p oaPushed) []byte { return oaReply(p.X.FromUserName, "dance", "") }, want: "unsupported"},
		{name: "not XML", raw: []byte("<xml><oops"), want: "not a reply"},
		{name: "plain reply in safe mode", safe: true, raw: []byte("<xml><ToUserName>oUser1</ToUserName></xml>"), want: "plain replies are refused"},
		{name: "bad signature", safe: true, raw: wxcrypto.BuildEncryptedXML("wrongToken", "AAAA", "1", "2"), want: "MsgSignature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc := oaNewReceiver(t, tc.safe)
			s, _ := oaSetup(t, rc.option())
			rc.reply = tc.reply
			if tc.raw != nil {
				rc.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(tc.raw) })
			}
			if _, err := s.UserSend("oUser1", "hi"); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			if got := s.Received("oUser1"); len(got) != 0 {
				t.Errorf("the user received %+v", got)
			}
		})
	}
}

// The platform retries a push 3 times when the app does not answer 200.
func TestOAPushRetries(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	s, _ := oaSetup(t, kftest.WithOACallback(kftest.OACallback{URL: srv.URL, Token: oaToken}), kftest.WithOASeed(oaSeed()))
	if _, err := s.UserSend("oUser1", "hi"); err != nil {
		t.Fatal(err)
	}
	if p := s.Pushes(); len(p) != 1 || p[0].Attempts != 3 || p[0].Err != "" {
		t.Fatalf("pushes %+v", p)
	}
	n.Store(-100)
	if _, err := s.UserSend("oUser1", "hi again"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v", err)
	}
	if p := s.Pushes(); p[1].Attempts != 3 || p[1].Status != 503 {
		t.Fatalf("pushes %+v", p[1])
	}
}
