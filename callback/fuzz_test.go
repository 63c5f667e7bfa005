package callback

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wxkf/kf/internal/wxcrypto"
)

var fuzzSeeds = []string{
	"<xml><ToUserName><![CDATA[ww-corpid]]></ToUserName><CreateTime>1700000000</CreateTime>\n<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>\n<Token><![CDATA[ENC]]></Token><OpenKfId><![CDATA[wk]]></OpenKfId></xml>",
	"<xml><Event>kf_account_auth_change</Event><AuthAddOpenKfId>a</AuthAddOpenKfId><AuthAddOpenKfId><![CDATA[b]]></AuthAddOpenKfId><AuthDelOpenKfId/></xml>",
	"\xef\xbb\xbf<?xml version=\"1.0\"?><!--c--><xml><A x='1'><B>t&amp;&#x41;</B></A><Content> a <![CDATA[ b ]]> c </Content></xml>",
	"<xml><MsgType>text</MsgType><Content><![CDATA[]]]]><![CDATA[>]]></Content></xml>",
	"<xml><CreateTime>12</CreateTime><CreateTime>13</CreateTime></xml>",
	"<xml><A><![CDATA[",
	"<xml/>",
	"",
}

// FuzzParseEvent checks that the event parser never panics, reports only
// ErrMalformed, and that what it accepts is stable: the values it returns
// are substrings of the input or decoded from it, and parsing the same
// input twice gives the same event.
func FuzzParseEvent(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ev, err := parseEvent(in, "")
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(ev.Raw, in) {
			t.Fatal("Raw differs from the input")
		}
		for _, v := range []string{ev.ToUserName, ev.FromUserName, ev.MsgType, ev.Event, ev.AgentID, string(ev.x.token), string(ev.x.openKfID)} {
			// Without entities, comments and CDATA, a value is one trimmed
			// text segment.
			if !strings.Contains(string(in), "&") && !strings.Contains(string(in), "<!") &&
				!strings.Contains(string(in), v) {
				t.Fatalf("value %q not in input", v)
			}
		}
		ev2, err := parseEvent(in, "")
		if err != nil || ev2.Event != ev.Event || ev2.MsgType != ev.MsgType || len(ev2.x.authAdd) != len(ev.x.authAdd) {
			t.Fatal("parsing is not deterministic")
		}
		if !ev.CreateTime.IsZero() && ev.CreateTime.Unix() < 0 {
			t.Fatal("negative CreateTime accepted")
		}
	})
}

// FuzzCheck drives the whole Check path with random bodies and query
// strings: it must never panic, and must return either an event or an
// error wrapping one of the sentinels. A random body under a valid
// signature reaches the decryption step; a Builder-made body with a random
// plaintext reaches the parser.
func FuzzCheck(f *testing.F) {
	b, err := NewBuilder(testToken, testKey, testCorpID)
	if err != nil {
		f.Fatal(err)
	}
	b.Rand = newRand(1)
	q, body, err := b.KfMsgOrEvent(testOpenKfID, testSyncTok, testNow)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(q.Encode(), body, []byte(nil))
	f.Add(q.Encode(), []byte("<xml><Encrypt>AAAA</Encrypt></xml>"), []byte("<xml/>"))
	f.Add("msg_signature=%zz", []byte("<xml>"), []byte("<xml><Event>x</Event></xml>"))
	f.Add("", []byte(nil), []byte("garbage"))
	for _, s := range fuzzSeeds {
		f.Add(q.Encode(), []byte(s), []byte(s))
	}
	h, err := New(Config{
		Token: testToken, EncodingAESKey: testKey, ReceiverID: testCorpID,
		MaxBodyBytes: 4096,
		Now:          func() time.Time { return testNow },
		OnEvent:      func(context.Context, Event) {},
	})
	if err != nil {
		f.Fatal(err)
	}
	sentinels := []error{ErrBodyTooLarge, ErrMissingParams, ErrBadSignature, ErrStaleTimestamp, ErrDecrypt, ErrReceiverMismatch, ErrMalformed}
	check := func(t *testing.T, r *http.Request) {
		t.Helper()
		_, err := h.Check(r)
		if err == nil {
			return
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error %v wraps no sentinel", err)
	}
	f.Fuzz(func(t *testing.T, rawQuery string, body, plain []byte) {
		// Arbitrary request.
		r := httptest.NewRequest(http.MethodPost, "/cb", bytes.NewReader(body))
		r.URL.RawQuery = rawQuery
		check(t, r)
		// Arbitrary body under a valid signature for its Encrypt value.
		if len(body) > 0 {
			r2 := signedPost(string(body), testNow)
			check(t, r2)
		}
		// Arbitrary plaintext, correctly signed and encrypted.
		bq, bb, err := b.Event(plain, testNow)
		if err != nil {
			t.Fatal(err)
		}
		check(t, post(bq, bb))
		// Arbitrary GET.
		g := httptest.NewRequest(http.MethodGet, "/cb", nil)
		g.URL.RawQuery = rawQuery
		if _, err := h.VerifyURL(g); err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("VerifyURL error %v wraps no sentinel", err)
		}
	})
}

// FuzzParseEnvelope checks the outer-envelope parser against
// wxcrypto.ParseEncryptedPostBody, which it replaces on the request path:
// whatever wxcrypto accepts, parseEnvelope accepts with the same Encrypt
// value (it is more lenient only about names and about unknown elements
// with attributes or children, which carry nothing it reads).
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(vecPostBody))
	f.Add([]byte("<xml><Encrypt>a&amp;b</Encrypt></xml>"))
	f.Add([]byte("<?xml version=\"1.0\"?>\n<xml>\n <ToUserName><![CDATA[x]]></ToUserName>\n <Encrypt> <![CDATA[a]]><![CDATA[b]]> </Encrypt><!-- c --><AgentID/>\n</xml>\n"))
	f.Add([]byte("<xml><Encrypt></Encrypt></xml>"))
	f.Add([]byte("<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>"))
	f.Add([]byte("<xml><Encrypt><![CDATA[ a ]]></Encrypt><X>&#x41;&lt;</X></xml>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseEnvelope(body)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		_, want, _, werr := wxcrypto.ParseEncryptedPostBody(body)
		if werr != nil {
			return
		}
		if err != nil {
			t.Fatalf("wxcrypto accepts (Encrypt %q), parseEnvelope rejects: %v", want, err)
		}
		// wxcrypto also trims whitespace inside CDATA at either end;
		// parseEnvelope keeps CDATA verbatim, like the official libraries.
		if string(trimRightSpace(trimLeftSpace(got))) != want {
			t.Fatalf("Encrypt = %q, wxcrypto says %q", got, want)
		}
	})
}
