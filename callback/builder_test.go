package callback

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/wxkf/kf/internal/wxcrypto"
)

// Builder.OfficialAccount: safe-mode requests carry encrypt_type=aes and
// the plain signature besides msg_signature, the URL check is plain, and
// plain-mode requests do not change.
func TestBuilderOfficialAccount(t *testing.T) {
	t.Parallel()
	const appID = "wx1234567890abcdef"
	const xml = `<xml><ToUserName><![CDATA[gh_abcdef]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1740830400</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content><MsgId>1</MsgId></xml>`
	keys := func(q map[string][]string) []string {
		var ks []string
		for k := range q {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}

	// Safe mode.
	b := mustBuilder(t, testToken, testKey, appID, 7)
	b.ToUserName, b.OfficialAccount = "gh_abcdef", true
	q, body, err := b.Event([]byte(xml), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(q), []string{"encrypt_type", "msg_signature", "nonce", "signature", "timestamp"}; !slices.Equal(got, want) {
		t.Fatalf("query keys %v, want %v", got, want)
	}
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	if q.Get("encrypt_type") != "aes" || q.Get("signature") != wxcrypto.Signature(testToken, ts, nonce, "") {
		t.Errorf("query %v", q)
	}
	to, enc, agent, err := wxcrypto.ParseEncryptedPostBody(body)
	if err != nil || to != "gh_abcdef" || agent != "" {
		t.Fatalf("envelope: to %q agent %q err %v", to, agent, err)
	}
	if q.Get("msg_signature") != wxcrypto.Signature(testToken, ts, nonce, enc) {
		t.Error("bad msg_signature")
	}
	// Without OfficialAccount, the same random source gives the same
	// request minus the two parameters.
	w := mustBuilder(t, testToken, testKey, appID, 7)
	w.ToUserName = "gh_abcdef"
	wq, wbody, err := w.Event([]byte(xml), testNow)
	if err != nil {
		t.Fatal(err)
	}
	q.Del("encrypt_type")
	q.Del("signature")
	if q.Encode() != wq.Encode() || !bytes.Equal(body, wbody) {
		t.Errorf("OfficialAccount changed more than the query: %v vs %v", q, wq)
	}

	// A safe-mode Handler for the app id accepts it.
	hs := newHarness(t, func(c *Config) { c.ReceiverID = appID })
	hs.run(t)
	q, body, err = b.Event([]byte(xml), testNow)
	if err != nil {
		t.Fatal(err)
	}
	q.Set("openid", "oUser")
	if w := serve(hs.h, post(q, body)); w.Code != http.StatusOK {
		t.Fatalf("POST: %d; log %s", w.Code, hs.log)
	}
	if m, ok := hs.next(t).Message(); !ok || m.Content != "hi" {
		t.Errorf("message %+v", m)
	}
	// The URL check is plain, and the Handler answers it.
	vq, err := b.VerifyURL("abc+def", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(vq), []string{"echostr", "nonce", "signature", "timestamp"}; !slices.Equal(got, want) || vq.Get("echostr") != "abc+def" {
		t.Fatalf("URL check %v", vq)
	}
	if w := serve(hs.h, httptest.NewRequest(http.MethodGet, "/wx?"+vq.Encode(), nil)); w.Code != http.StatusOK || w.Body.String() != "abc+def" {
		t.Fatalf("GET: %d %q", w.Code, w.Body)
	}

	// Plain mode does not change.
	for _, oa := range []bool{false, true} {
		p := mustBuilder(t, testToken, "", appID, 9)
		p.OfficialAccount = oa
		pq, pbody, err := p.Event([]byte(xml), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := keys(pq), []string{"nonce", "signature", "timestamp"}; !slices.Equal(got, want) || string(pbody) != xml {
			t.Errorf("plain mode, OfficialAccount %v: %v %q", oa, pq, pbody)
		}
	}
}
