package callback

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/wxkf/kf/internal/wxcrypto"
)

func TestNewValidation(t *testing.T) {
	t.Parallel()
	noop := func(context.Context, Event) {}
	valid := func() Config {
		return Config{Token: testToken, EncodingAESKey: testKey, ReceiverID: testCorpID, OnEvent: noop}
	}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"empty token", func(c *Config) { c.Token = "" }},
		{"long token", func(c *Config) { c.Token = strings.Repeat("a", 33) }},
		{"token with symbol", func(c *Config) { c.Token = "abc-def" }},
		{"token with space", func(c *Config) { c.Token = "abc def" }},
		{"no key", func(c *Config) { c.EncodingAESKey = "" }},
		{"short key", func(c *Config) { c.EncodingAESKey = testKey[:42] }},
		{"padded key", func(c *Config) { c.EncodingAESKey = testKey[:42] + "=" }},
		{"no receiver", func(c *Config) { c.ReceiverID = "" }},
		{"no OnEvent", func(c *Config) { c.OnEvent = nil }},
		{"plain with key", func(c *Config) { c.Plain = true }},
		{"previous without end", func(c *Config) { c.Previous = &Credentials{Token: otherToken, EncodingAESKey: otherKey} }},
		{"previous bad key", func(c *Config) {
			c.Previous = &Credentials{Token: otherToken, EncodingAESKey: "x"}
			c.RotationEnds = testNow
		}},
		{"previous bad token", func(c *Config) {
			c.Previous = &Credentials{Token: "", EncodingAESKey: otherKey}
			c.RotationEnds = testNow
		}},
		{"tiny window", func(c *Config) { c.Window = time.Millisecond }},
		{"negative window", func(c *Config) { c.Window = -time.Minute }},
		{"negative body", func(c *Config) { c.MaxBodyBytes = -1 }},
		{"negative queue", func(c *Config) { c.QueueSize = -1 }},
		{"negative workers", func(c *Config) { c.Workers = -1 }},
		{"negative ttl", func(c *Config) { c.DedupTTL = -1 }},
		{"negative dedup size", func(c *Config) { c.DedupSize = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.edit(&cfg)
			h, err := New(cfg)
			if err == nil {
				t.Fatalf("New succeeded: %v", h)
			}
			for _, secret := range []string{testKey, otherKey, testToken, otherToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks a secret", err)
				}
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		h, err := New(valid())
		if err != nil {
			t.Fatal(err)
		}
		if h.window != DefaultWindow || h.maxBody != DefaultMaxBodyBytes || cap(h.queue) != DefaultQueueSize || h.workers != 1 {
			t.Errorf("defaults not applied: window %v body %d queue %d workers %d", h.window, h.maxBody, cap(h.queue), h.workers)
		}
		if h.dedup.ttl != int64(2*DefaultWindow) || len(h.dedup.ring) != DefaultDedupSize {
			t.Errorf("dedup defaults: ttl %v size %d", time.Duration(h.dedup.ttl), len(h.dedup.ring))
		}
	})
	t.Run("valid plain", func(t *testing.T) {
		if _, err := New(Config{Token: "abc", Plain: true, OnEvent: noop}); err != nil {
			t.Fatal(err)
		}
	})
}

// vecHandler is a Handler with the official vector credentials.
func vecHandler(t *testing.T, at string) *harness {
	t.Helper()
	sec, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return newHarness(t, func(c *Config) {
		c.Token, c.EncodingAESKey, c.ReceiverID = vecToken, vecKey, vecReceiver
		c.Now = func() time.Time { return time.Unix(sec, 0) }
	})
}

func TestOfficialVectorGET(t *testing.T) {
	t.Parallel()
	hs := vecHandler(t, vecGetTimestamp)
	escaped := url.QueryEscape(vecGetEchostr)
	tests := []struct {
		name, echostr string
	}{
		{"escaped", escaped},
		// '+' left unescaped must stay '+', not become a space.
		{"raw plus", vecGetEchostr},
		{"raw plus escaped slash", strings.ReplaceAll(vecGetEchostr, "/", "%2F")},
		// A proxy that decoded '+' to a space and re-encoded it.
		{"space for plus", strings.ReplaceAll(escaped, "%2B", "%20")},
		{"lower-case escapes", strings.ReplaceAll(escaped, "%3D", "%3d")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := rawQuery("msg_signature", vecGetSignature, "timestamp", vecGetTimestamp, "nonce", vecGetNonce, "echostr", tt.echostr)
			w := serve(hs.h, httptest.NewRequest(http.MethodGet, "/cb?"+q, nil))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, body %q, log %s", w.Code, w.Body, hs.log)
			}
			if got := w.Body.String(); got != vecGetMsg {
				t.Errorf("body %q, want %q", got, vecGetMsg)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	t.Run("url.Values encoding", func(t *testing.T) {
		q := url.Values{"msg_signature": {vecGetSignature}, "timestamp": {vecGetTimestamp}, "nonce": {vecGetNonce}, "echostr": {vecGetEchostr}}
		msg, err := hs.h.VerifyURL(httptest.NewRequest(http.MethodGet, "/cb?"+q.Encode(), nil))
		if err != nil || string(msg) != vecGetMsg {
			t.Fatalf("VerifyURL = %q, %v", msg, err)
		}
	})
}

func TestOfficialVectorPOST(t *testing.T) {
	t.Parallel()
	hs := vecHandler(t, vecPostTimestamp)
	hs.run(t)
	q := rawQuery("msg_signature", vecPostSignature, "timestamp", vecPostTimestamp, "nonce", vecPostNonce)
	ev, err := hs.h.Check(postRaw(q, []byte(vecPostBody)))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := Event{
		ToUserName:   vecReceiver,
		FromUserName: "mycreate",
		CreateTime:   time.Unix(1409659813, 0),
		MsgType:      "text",
		AgentID:      "218",
	}
	if diff := cmp.Diff(want, ev, cmpopts.IgnoreUnexported(Event{}), cmpopts.IgnoreFields(Event{}, "Raw")); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	m, ok := ev.Message()
	if !ok || m.Content != "hello" || m.MsgID != "4561255354251345929" {
		t.Errorf("Message() = %+v, %v", m, ok)
	}
	if !strings.HasPrefix(string(ev.Raw), "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName>") || len(ev.Raw) != 284 {
		t.Errorf("Raw = %q (%d bytes)", ev.Raw, len(ev.Raw))
	}

	w := serve(hs.h, postRaw(q, []byte(vecPostBody)))
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("ServeHTTP: %d %q; log %s", w.Code, w.Body, hs.log)
	}
	got := hs.next(t)
	if m, _ := got.Message(); m.Content != "hello" {
		t.Errorf("delivered %+v", got)
	}
}

// encryptRaw encrypts an arbitrary plaintext (already padded to 16) with
// the test key, bypassing the envelope format, to forge bad paddings and
// length fields.
func encryptRaw(t *testing.T, encodingAESKey string, plain []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

// signedPost builds a POST whose Encrypt value is enc, correctly signed
// with testToken at time ts.
func signedPost(enc string, ts time.Time) *http.Request {
	timestamp := strconv.FormatInt(ts.Unix(), 10)
	nonce := "12345"
	q := url.Values{
		"msg_signature": {wxcrypto.Signature(testToken, timestamp, nonce, enc)},
		"timestamp":     {timestamp},
		"nonce":         {nonce},
	}
	return post(q, wxcrypto.EncryptedPostBody(testCorpID, "", enc))
}

func TestAttacks(t *testing.T) {
	t.Parallel()
	const maxBody = 2048
	hs := newHarness(t, func(c *Config) { c.MaxBodyBytes = maxBody })
	b := mustBuilder(t, testToken, testKey, testCorpID, 1)
	q, body, err := b.KfMsgOrEvent(testOpenKfID, testSyncTok, testNow)
	if err != nil {
		t.Fatal(err)
	}
	good := func() (url.Values, []byte) {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = append([]string(nil), v...)
		}
		return qq, append([]byte(nil), body...)
	}
	sig := q.Get("msg_signature")
	_, enc, _, err := wxcrypto.ParseEncryptedPostBody(body)
	if err != nil {
		t.Fatal(err)
	}

	// Plaintexts forging decryption failures.
	badPad := make([]byte, 64) // last byte 0: invalid PKCS#7
	badLen := make([]byte, 64)
	binary.BigEndian.PutUint32(badLen[16:20], 1000) // length past the end
	for i := 32; i < 64; i++ {
		badLen[i] = 32
	}
	bigPad := make([]byte, 64)
	bigPad[63] = 33

	tests := []struct {
		name   string
		req    func() *http.Request
		want   error
		status int
	}{
		{"bad signature", func() *http.Request {
			qq, bb := good()
			s := []byte(sig)
			s[0] ^= 1
			qq.Set("msg_signature", string(s))
			return post(qq, bb)
		}, ErrBadSignature, 403},
		{"upper-case signature", func() *http.Request {
			qq, bb := good()
			qq.Set("msg_signature", strings.ToUpper(sig))
			return post(qq, bb)
		}, ErrBadSignature, 403},
		{"short signature", func() *http.Request {
			qq, bb := good()
			qq.Set("msg_signature", sig[:39])
			return post(qq, bb)
		}, ErrBadSignature, 403},
		{"signature of other body", func() *http.Request {
			_, bb := good()
			q2, _, err := b.KfMsgOrEvent(testOpenKfID, "other", testNow)
			if err != nil {
				t.Fatal(err)
			}
			return post(q2, bb)
		}, ErrBadSignature, 403},
		{"wrong token", func() *http.Request {
			ob := mustBuilder(t, otherToken, testKey, testCorpID, 2)
			qq, bb, _ := ob.KfMsgOrEvent(testOpenKfID, testSyncTok, testNow)
			return post(qq, bb)
		}, ErrBadSignature, 403},
		{"tampered timestamp", func() *http.Request {
			qq, bb := good()
			qq.Set("timestamp", strconv.FormatInt(testNow.Unix()+1, 10))
			return post(qq, bb)
		}, ErrBadSignature, 403},
		{"stale timestamp", func() *http.Request {
			qq, bb, _ := b.KfMsgOrEvent(testOpenKfID, testSyncTok, testNow.Add(-5*time.Minute-time.Second))
			return post(qq, bb)
		}, ErrStaleTimestamp, 403},
		{"future timestamp", func() *http.Request {
			qq, bb, _ := b.KfMsgOrEvent(testOpenKfID, testSyncTok, testNow.Add(5*time.Minute+time.Second))
			return post(qq, bb)
		}, ErrStaleTimestamp, 403},
		{"non-numeric timestamp", func() *http.Request {
			ts, nonce := "17O0000000", "1"
			qq := url.Values{"msg_signature": {wxcrypto.Signature(testToken, ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}}
			_, bb := good()
			return post(qq, bb)
		}, ErrStaleTimestamp, 403},
		{"wrong receiver", func() *http.Request {
			ob := mustBuilder(t, testToken, testKey, "ww0000000000000000", 3)
			qq, bb, _ := ob.KfMsgOrEvent(testOpenKfID, testSyncTok, testNow)
			return post(qq, bb)
		}, ErrReceiverMismatch, 403},
		{"receiver prefix", func() *http.Request {
			ob := mustBuilder(t, testToken, testKey, testCorpID[:len(testCorpID)-1], 3)
			qq, bb, _ := ob.KfMsgOrEvent(testOpenKfID, testSyncTok, testNow)
			return post(qq, bb)
		}, ErrReceiverMismatch, 403},
		{"wrong key", func() *http.Request {
			ob := mustBuilder(t, testToken, otherKey, testCorpID, 4)
			qq, bb, _ := ob.KfMsgOrEvent(testOpenKfID, testSyncTok, testNow)
			return post(qq, bb)
		}, ErrDecrypt, 400},
		{"truncated body", func() *http.Request {
			qq, bb := good()
			return post(qq, bb[:len(bb)/2])
		}, ErrMalformed, 400},
		{"empty body", func() *http.Request {
			qq, _ := good()
			return post(qq, nil)
		}, ErrMalformed, 400},
		{"no Encrypt element", func() *http.Request {
			qq, _ := good()
			return post(qq, []byte("<xml><ToUserName><![CDATA[x]]></ToUserName></xml>"))
		}, ErrMalformed, 400},
		{"oversized body", func() *http.Request {
			qq, _ := good()
			return post(qq, []byte(strings.Repeat("x", maxBody+1)))
		}, ErrBodyTooLarge, 413},
		{"oversized body without length", func() *http.Request {
			qq, _ := good()
			r := post(qq, nil)
			r.ContentLength = -1
			r.Body = io.NopCloser(io.MultiReader(strings.NewReader(strings.Repeat("<", maxBody)), strings.NewReader("<")))
			return r
		}, ErrBodyTooLarge, 413},
		{"oversized valid event", func() *http.Request {
			qq, bb, _ := b.Event([]byte("<xml><Pad>"+strings.Repeat("p", maxBody)+"</Pad></xml>"), testNow)
			return post(qq, bb)
		}, ErrBodyTooLarge, 413},
		{"garbage base64", func() *http.Request { return signedPost("!!!not*base64!!!", testNow) }, ErrDecrypt, 400},
		{"short ciphertext", func() *http.Request { return signedPost("QUJD", testNow) }, ErrDecrypt, 400},
		{"bad padding", func() *http.Request { return signedPost(encryptRaw(t, testKey, badPad), testNow) }, ErrDecrypt, 400},
		{"padding over 32", func() *http.Request { return signedPost(encryptRaw(t, testKey, bigPad), testNow) }, ErrDecrypt, 400},
		{"bad length field", func() *http.Request { return signedPost(encryptRaw(t, testKey, badLen), testNow) }, ErrDecrypt, 400},
		{"missing signature", func() *http.Request {
			qq, bb := good()
			qq.Del("msg_signature")
			return post(qq, bb)
		}, ErrMissingParams, 400},
		{"missing timestamp", func() *http.Request {
			qq, bb := good()
			qq.Del("timestamp")
			return post(qq, bb)
		}, ErrMissingParams, 400},
		{"missing nonce", func() *http.Request {
			qq, bb := good()
			qq.Del("nonce")
			return post(qq, bb)
		}, ErrMissingParams, 400},
		{"no query", func() *http.Request {
			_, bb := good()
			return post(nil, bb)
		}, ErrMissingParams, 400},
		{"repeated signature", func() *http.Request {
			qq, bb := good()
			qq.Add("msg_signature", sig)
			return post(qq, bb)
		}, ErrMissingParams, 400},
		{"bad percent escape", func() *http.Request {
			qq, bb := good()
			return postRaw(qq.Encode()+"&nonce=%zz", bb)
		}, ErrMissingParams, 400},
		{"plain signature only", func() *http.Request {
			qq, bb := good()
			qq.Set("signature", qq.Get("msg_signature"))
			qq.Del("msg_signature")
			return post(qq, bb)
		}, ErrMissingParams, 400},
		{"non-XML plaintext", func() *http.Request {
			qq, bb, _ := b.Event([]byte("hello, this is not XML"), testNow)
			return post(qq, bb)
		}, ErrMalformed, 400},
		{"empty plaintext", func() *http.Request {
			qq, bb, _ := b.Event(nil, testNow)
			return post(qq, bb)
		}, ErrMalformed, 400},
		{"XML plaintext with trailing junk", func() *http.Request {
			qq, bb, _ := b.Event([]byte("<xml><MsgType>event</MsgType></xml><xml/>"), testNow)
			return post(qq, bb)
		}, ErrMalformed, 400},
		{"repeated OpenKfId", func() *http.Request {
			qq, bb, _ := b.Event([]byte("<xml><MsgType>event</MsgType><OpenKfId>a</OpenKfId><OpenKfId>b</OpenKfId></xml>"), testNow)
			return post(qq, bb)
		}, ErrMalformed, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := hs.h.Check(tt.req())
			if !errors.Is(err, tt.want) {
				t.Errorf("Check error = %v, want %v", err, tt.want)
			}
			w := serve(hs.h, tt.req())
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d", w.Code, tt.status)
			}
			if want := http.StatusText(tt.status) + "\n"; w.Body.String() != want {
				t.Errorf("body = %q, want the generic %q", w.Body, want)
			}
		})
	}
	// Nothing rejected was delivered, and nothing secret was logged.
	if len(hs.h.queue) != 0 {
		t.Errorf("%d rejected events queued", len(hs.h.queue))
	}
	logs := hs.log.String()
	if !strings.Contains(logs, "request rejected") {
		t.Errorf("nothing logged: %q", logs)
	}
	for _, secret := range []string{testToken, testKey, otherToken, otherKey, sig, enc, testSyncTok, testOpenKfID, "not XML", "hello"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log leaks %q:\n%s", secret, logs)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, nil)
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodHead} {
		w := serve(hs.h, httptest.NewRequest(m, "/cb", nil))
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, POST" {
			t.Errorf("%s: %d, Allow %q", m, w.Code, w.Header().Get("Allow"))
		}
	}
}

func TestGETAttacks(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, nil)
	b := mustBuilder(t, testToken, testKey, testCorpID, 5)
	q, err := b.VerifyURL("echo-123", testNow)
	if err != nil {
		t.Fatal(err)
	}
	get := func(edit func(url.Values)) *http.Request {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = append([]string(nil), v...)
		}
		if edit != nil {
			edit(qq)
		}
		return httptest.NewRequest(http.MethodGet, "/cb?"+qq.Encode(), nil)
	}
	if w := serve(hs.h, get(nil)); w.Code != 200 || w.Body.String() != "echo-123" {
		t.Fatalf("valid GET: %d %q", w.Code, w.Body)
	}
	wrongRecv := mustBuilder(t, testToken, testKey, "wwother", 6)
	qr, _ := wrongRecv.VerifyURL("echo-123", testNow)
	stale, _ := b.VerifyURL("echo-123", testNow.Add(-time.Hour))
	tests := []struct {
		name   string
		req    *http.Request
		want   error
		status int
	}{
		{"bad signature", get(func(v url.Values) { v.Set("msg_signature", strings.Repeat("0", 40)) }), ErrBadSignature, 403},
		{"tampered echostr", get(func(v url.Values) { v.Set("echostr", "A"+v.Get("echostr")[1:]) }), ErrBadSignature, 403},
		{"missing echostr", get(func(v url.Values) { v.Del("echostr") }), ErrMissingParams, 400},
		{"missing nonce", get(func(v url.Values) { v.Del("nonce") }), ErrMissingParams, 400},
		{"stale", httptest.NewRequest(http.MethodGet, "/cb?"+stale.Encode(), nil), ErrStaleTimestamp, 403},
		{"wrong receiver", httptest.NewRequest(http.MethodGet, "/cb?"+qr.Encode(), nil), ErrReceiverMismatch, 403},
		{"plain-style bad signature", httptest.NewRequest(http.MethodGet, "/cb?signature=abc&timestamp=1&nonce=2&echostr=x", nil), ErrBadSignature, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := hs.h.VerifyURL(tt.req); !errors.Is(err, tt.want) {
				t.Errorf("VerifyURL error = %v, want %v", err, tt.want)
			}
			if w := serve(hs.h, tt.req); w.Code != tt.status || strings.Contains(w.Body.String(), "echo") {
				t.Errorf("ServeHTTP = %d %q, want %d", w.Code, w.Body, tt.status)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	ends := testNow.Add(time.Hour)
	tests := []struct {
		name           string
		prev           Credentials
		wantAfterEnded error
	}{
		{"token and key", Credentials{Token: otherToken, EncodingAESKey: otherKey}, ErrBadSignature},
		{"key only", Credentials{Token: testToken, EncodingAESKey: otherKey}, ErrDecrypt},
		{"token only", Credentials{Token: otherToken, EncodingAESKey: testKey}, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hs := newHarness(t, func(c *Config) {
				c.Previous = &tt.prev
				c.RotationEnds = ends
			})
			cur := mustBuilder(t, testToken, testKey, testCorpID, 7)
			old := mustBuilder(t, tt.prev.Token, tt.prev.EncodingAESKey, testCorpID, 8)

			for _, at := range []time.Time{testNow, ends.Add(-time.Second)} {
				hs.clock.Set(at)
				for name, b := range map[string]*Builder{"current": cur, "previous": old} {
					ev, err := hs.h.Check(kfEvent(t, b, testOpenKfID, name, at))
					if err != nil {
						t.Fatalf("%s credentials at %v: %v", name, at, err)
					}
					if k, _ := ev.KfMsgOrEvent(); k.Token != name {
						t.Errorf("token %q, want %q", k.Token, name)
					}
					vq, err := b.VerifyURL("e", at)
					if err != nil {
						t.Fatal(err)
					}
					if msg, err := hs.h.VerifyURL(httptest.NewRequest("GET", "/?"+vq.Encode(), nil)); err != nil || string(msg) != "e" {
						t.Errorf("%s GET: %q %v", name, msg, err)
					}
				}
			}
			hs.clock.Set(ends)
			if _, err := hs.h.Check(kfEvent(t, cur, testOpenKfID, "x", ends)); err != nil {
				t.Errorf("current after rotation: %v", err)
			}
			if _, err := hs.h.Check(kfEvent(t, old, testOpenKfID, "x", ends)); !errors.Is(err, tt.wantAfterEnded) {
				t.Errorf("previous after rotation: %v, want %v", err, tt.wantAfterEnded)
			}
			// Replies always use the current credentials.
			reply, err := hs.h.EncryptReply([]byte("<xml/>"))
			if err != nil {
				t.Fatal(err)
			}
			_, enc, _, _ := wxcrypto.ParseEncryptedPostBody(reply)
			key, _ := wxcrypto.ParseKey(testKey)
			if _, err := key.DecryptFor(enc, testCorpID); err != nil {
				t.Errorf("reply not encrypted with the current key: %v", err)
			}
		})
	}
}

func TestDedup(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, func(c *Config) { c.DedupTTL = time.Minute })
	hs.run(t)
	b := mustBuilder(t, testToken, testKey, testCorpID, 9)
	q, body, err := b.KfMsgOrEvent(testOpenKfID, "tok-1", testNow)
	if err != nil {
		t.Fatal(err)
	}
	// The original, an identical retry, and a retry re-encrypted with a
	// new nonce and random prefix: one delivery.
	q2, body2, err := b.KfMsgOrEvent(testOpenKfID, "tok-1", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if q2.Get("msg_signature") == q.Get("msg_signature") {
		t.Fatal("re-encryption did not change the signature")
	}
	for i, r := range []*http.Request{post(q, body), post(q, body), post(q2, body2)} {
		if w := serve(hs.h, r); w.Code != http.StatusOK {
			t.Fatalf("request %d: %d", i, w.Code)
		}
	}
	if k, _ := hs.next(t).KfMsgOrEvent(); k.Token != "tok-1" {
		t.Errorf("first delivery %+v", k)
	}
	// A different event is delivered; it also proves no second tok-1 was
	// queued before it (a single worker delivers in order).
	serve(hs.h, kfEvent(t, b, testOpenKfID, "tok-2", testNow))
	if k, _ := hs.next(t).KfMsgOrEvent(); k.Token != "tok-2" {
		t.Errorf("second delivery %+v, want tok-2", k)
	}
	hs.none(t)
	if !strings.Contains(hs.log.String(), "duplicate event") {
		t.Errorf("duplicate not logged at debug level")
	}
	// After the TTL the same callback is delivered again.
	hs.clock.Add(time.Minute)
	if w := serve(hs.h, post(q, body)); w.Code != http.StatusOK {
		t.Fatalf("after TTL: %d", w.Code)
	}
	if k, _ := hs.next(t).KfMsgOrEvent(); k.Token != "tok-1" {
		t.Errorf("after TTL %+v", k)
	}
}

func TestDedupConcurrentRetries(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, nil)
	b := mustBuilder(t, testToken, testKey, testCorpID, 10)
	q, body, _ := b.KfMsgOrEvent(testOpenKfID, "tok", testNow)
	done := make(chan int)
	for range 8 {
		go func() { done <- serve(hs.h, post(q, body)).Code }()
	}
	for range 8 {
		if code := <-done; code != 200 {
			t.Errorf("status %d", code)
		}
	}
	if n := len(hs.h.queue); n != 1 {
		t.Errorf("%d events queued, want 1", n)
	}
}

func TestDedupCache(t *testing.T) {
	t.Parallel()
	c := newDedupCache(3, 10)
	for k := range uint64(3) {
		c.add(10+k, 0)
	}
	for k := range uint64(3) {
		if !c.seen(10+k, 9) {
			t.Errorf("key %d not seen", 10+k)
		}
	}
	if c.seen(10, 10) {
		t.Error("key 10 seen after its TTL")
	}
	c.add(13, 5) // full: evicts key 10
	if c.seen(10, 5) || !c.seen(13, 5) || !c.seen(11, 5) {
		t.Error("eviction of the oldest entry failed")
	}
	c.add(14, 12) // keys 11, 12 expired (exp 10), key 13 live until 15
	if c.len() != 2 || !c.seen(13, 12) || !c.seen(14, 12) {
		t.Errorf("expiry failed: %d entries", c.len())
	}
	// A key re-added after expiry survives the pop of its older entry.
	c = newDedupCache(4, 10)
	c.add(7, 0)
	c.add(7, 10)
	c.add(8, 11) // pops the first 7 (exp 10)
	if !c.seen(7, 11) {
		t.Error("re-added key dropped by its stale ring entry")
	}
}

func TestSlowHandlerAcksFast(t *testing.T) {
	t.Parallel()
	started := make(chan string, 8)
	release := make(chan struct{})
	hs := newHarness(t, func(c *Config) {
		c.QueueSize = 1
		c.OnEvent = func(_ context.Context, ev Event) {
			k, _ := ev.KfMsgOrEvent()
			started <- k.Token
			<-release // a slow consumer
		}
	})
	hs.run(t)
	b := mustBuilder(t, testToken, testKey, testCorpID, 11)
	if w := serve(hs.h, kfEvent(t, b, testOpenKfID, "a", testNow)); w.Code != 200 {
		t.Fatalf("a: %d", w.Code)
	}
	if got := <-started; got != "a" {
		t.Fatalf("started %q", got)
	}
	// OnEvent is blocked on "a"; "b" is acknowledged at once (queued).
	if w := serve(hs.h, kfEvent(t, b, testOpenKfID, "b", testNow)); w.Code != 200 {
		t.Fatalf("b: %d", w.Code)
	}
	// The queue (capacity 1) is full: "c" gets 503 so that the platform
	// retries it, and is not recorded as seen.
	qc, bc, _ := b.KfMsgOrEvent(testOpenKfID, "c", testNow)
	if w := serve(hs.h, post(qc, bc)); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("c with a full queue: %d", w.Code)
	}
	if !strings.Contains(hs.log.String(), "event queue full") {
		t.Errorf("overload not logged")
	}
	release <- struct{}{} // finish "a"; the worker takes "b"
	if got := <-started; got != "b" {
		t.Fatalf("started %q", got)
	}
	// The platform's retry of "c" now succeeds and is delivered.
	if w := serve(hs.h, post(qc, bc)); w.Code != 200 {
		t.Fatalf("retry of c: %d", w.Code)
	}
	release <- struct{}{}
	if got := <-started; got != "c" {
		t.Fatalf("started %q", got)
	}
	close(release)
}

func TestRunDrainsAndStops(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, nil)
	b := mustBuilder(t, testToken, testKey, testCorpID, 12)
	// Events queued before Run are delivered once it runs.
	for _, tok := range []string{"1", "2", "3"} {
		if w := serve(hs.h, kfEvent(t, b, testOpenKfID, tok, testNow)); w.Code != 200 {
			t.Fatalf("%s: %d", tok, w.Code)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // Run drains what is queued, then returns.
	if err := hs.h.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, want := range []string{"1", "2", "3"} {
		if k, _ := hs.next(t).KfMsgOrEvent(); k.Token != want {
			t.Errorf("got %q, want %q", k.Token, want)
		}
	}
	if w := serve(hs.h, kfEvent(t, b, testOpenKfID, "4", testNow)); w.Code != http.StatusServiceUnavailable {
		t.Errorf("after Run returned: %d, want 503", w.Code)
	}
	if err := hs.h.Run(t.Context()); err == nil {
		t.Error("second Run succeeded")
	}
}

func TestOnEventPanicRecovered(t *testing.T) {
	t.Parallel()
	delivered := make(chan string, 2)
	hs := newHarness(t, func(c *Config) {
		c.OnEvent = func(_ context.Context, ev Event) {
			k, _ := ev.KfMsgOrEvent()
			if k.Token == "boom" {
				panic("boom")
			}
			delivered <- k.Token
		}
	})
	hs.run(t)
	b := mustBuilder(t, testToken, testKey, testCorpID, 13)
	serve(hs.h, kfEvent(t, b, testOpenKfID, "boom", testNow))
	serve(hs.h, kfEvent(t, b, testOpenKfID, "ok", testNow))
	if got := <-delivered; got != "ok" {
		t.Errorf("got %q", got)
	}
	if !strings.Contains(hs.log.String(), "OnEvent panicked") {
		t.Error("panic not logged")
	}
}

func TestPlainMode(t *testing.T) {
	t.Parallel()
	const oaToken = "oaToken123"
	hs := newHarness(t, func(c *Config) {
		c.Token, c.EncodingAESKey, c.ReceiverID, c.Plain = oaToken, "", "", true
	})
	hs.run(t)
	b := mustBuilder(t, oaToken, "", "", 14)

	// GET echoes echostr as is.
	vq, err := b.VerifyURL("5837397520665436492", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if vq.Get("msg_signature") != "" || vq.Get("signature") == "" {
		t.Fatalf("plain builder query %v", vq)
	}
	w := serve(hs.h, httptest.NewRequest(http.MethodGet, "/wx?"+vq.Encode(), nil))
	if w.Code != 200 || w.Body.String() != "5837397520665436492" {
		t.Fatalf("GET: %d %q", w.Code, w.Body)
	}
	// The signature is sha1(sort(token, timestamp, nonce)).
	ts, nonce := vq.Get("timestamp"), vq.Get("nonce")
	if want := wxcrypto.Signature(oaToken, ts, nonce, ""); vq.Get("signature") != want {
		t.Errorf("signature %s, want %s", vq.Get("signature"), want)
	}

	events := []struct {
		xml   string
		check func(t *testing.T, ev Event)
	}{
		{`<xml><ToUserName><![CDATA[gh_123]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_create_session]]></Event><KfAccount><![CDATA[test1@test]]></KfAccount></xml>`,
			func(t *testing.T, ev Event) {
				s, ok := ev.KfCreateSession()
				if !ok || s.KfAccount != "test1@test" || ev.FromUserName != "oUser" || ev.ToUserName != "gh_123" {
					t.Errorf("KfCreateSession = %+v %v (%+v)", s, ok, ev)
				}
			}},
		{`<xml><ToUserName><![CDATA[gh_123]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000001</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_close_session]]></Event><KfAccount><![CDATA[test1@test]]></KfAccount></xml>`,
			func(t *testing.T, ev Event) {
				if s, ok := ev.KfCloseSession(); !ok || s.KfAccount != "test1@test" {
					t.Errorf("KfCloseSession = %+v %v", s, ok)
				}
			}},
		{`<xml><ToUserName><![CDATA[gh_123]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000002</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_switch_session]]></Event><FromKfAccount><![CDATA[a@test]]></FromKfAccount><ToKfAccount><![CDATA[b@test]]></ToKfAccount></xml>`,
			func(t *testing.T, ev Event) {
				if s, ok := ev.KfSwitchSession(); !ok || s != (KfSwitchSession{"a@test", "b@test"}) {
					t.Errorf("KfSwitchSession = %+v %v", s, ok)
				}
			}},
		{`<xml><ToUserName><![CDATA[gh_123]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000003</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://example.com/p.jpg]]></PicUrl><MediaId><![CDATA[m1]]></MediaId><MsgId>1234567890123456</MsgId></xml>`,
			func(t *testing.T, ev Event) {
				m, ok := ev.Message()
				want := Message{MsgID: "1234567890123456", PicURL: "http://example.com/p.jpg", MediaID: "m1"}
				if !ok || m != want {
					t.Errorf("Message = %+v %v", m, ok)
				}
			}},
	}
	for _, e := range events {
		q, body, err := b.Event([]byte(e.xml), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if string(body) != e.xml {
			t.Fatalf("plain body altered: %q", body)
		}
		if w := serve(hs.h, post(q, body)); w.Code != 200 {
			t.Fatalf("POST: %d; log %s", w.Code, hs.log)
		}
		ev := hs.next(t)
		if string(ev.Raw) != e.xml {
			t.Errorf("Raw = %q", ev.Raw)
		}
		e.check(t, ev)
	}

	// Failures.
	q, body, _ := b.Event([]byte(events[0].xml), testNow)
	bad := url.Values{"signature": {strings.Repeat("a", 40)}, "timestamp": q["timestamp"], "nonce": q["nonce"]}
	if _, err := hs.h.Check(post(bad, body)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("bad signature: %v", err)
	}
	if _, err := hs.h.Check(post(url.Values{"timestamp": q["timestamp"], "nonce": q["nonce"]}, body)); !errors.Is(err, ErrMissingParams) {
		t.Errorf("no signature: %v", err)
	}
	oldQ, oldBody, _ := b.Event([]byte(events[0].xml), testNow.Add(-time.Hour))
	if _, err := hs.h.Check(post(oldQ, oldBody)); !errors.Is(err, ErrStaleTimestamp) {
		t.Errorf("stale: %v", err)
	}
	aes := url.Values{"signature": q["signature"], "timestamp": q["timestamp"], "nonce": q["nonce"], "encrypt_type": {"aes"}}
	if _, err := hs.h.Check(post(aes, body)); !errors.Is(err, ErrMalformed) {
		t.Errorf("encrypt_type=aes in plain mode: %v", err)
	}
	if _, err := hs.h.Check(post(q, []byte("not xml"))); !errors.Is(err, ErrMalformed) {
		t.Errorf("non-XML body: %v", err)
	}
	if got, err := hs.h.EncryptReply([]byte("<xml/>")); err != nil || string(got) != "<xml/>" {
		t.Errorf("EncryptReply in plain mode = %q %v", got, err)
	}
}

func TestOfficialAccountSafeMode(t *testing.T) {
	t.Parallel()
	const appID = "wx1234567890abcdef"
	hs := newHarness(t, func(c *Config) { c.ReceiverID = appID })
	hs.run(t)
	b := mustBuilder(t, testToken, testKey, appID, 15)
	b.ToUserName = "gh_abcdef"

	// The OA URL check is never encrypted, even in safe mode.
	pq := url.Values{"timestamp": {"1740830400"}, "nonce": {"42"}, "echostr": {"abc+def"}}
	pq.Set("signature", wxcrypto.Signature(testToken, "1740830400", "42", ""))
	w := serve(hs.h, httptest.NewRequest(http.MethodGet, "/wx?"+pq.Encode(), nil))
	if w.Code != 200 || w.Body.String() != "abc+def" {
		t.Fatalf("OA GET: %d %q", w.Code, w.Body)
	}

	xml := `<xml><ToUserName><![CDATA[gh_abcdef]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1740830400</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_switch_session]]></Event><FromKfAccount><![CDATA[a@x]]></FromKfAccount><ToKfAccount><![CDATA[b@x]]></ToKfAccount></xml>`
	q, body, err := b.Event([]byte(xml), testNow)
	if err != nil {
		t.Fatal(err)
	}
	// What the OA server adds to the URL in safe mode.
	q.Set("encrypt_type", "aes")
	q.Set("openid", "oUser")
	q.Set("signature", wxcrypto.Signature(testToken, q.Get("timestamp"), q.Get("nonce"), ""))
	if !strings.Contains(string(body), "<ToUserName><![CDATA[gh_abcdef]]>") {
		t.Errorf("outer ToUserName not set: %s", body)
	}
	if w := serve(hs.h, post(q, body)); w.Code != 200 {
		t.Fatalf("POST: %d; log %s", w.Code, hs.log)
	}
	ev := hs.next(t)
	if s, ok := ev.KfSwitchSession(); !ok || s.ToKfAccount != "b@x" || ev.CreateTime.Unix() != 1740830400 {
		t.Errorf("event %+v", ev)
	}

	// A passive reply for safe mode: the signed, encrypted envelope.
	reply := []byte(`<xml><ToUserName><![CDATA[oUser]]></ToUserName><FromUserName><![CDATA[gh_abcdef]]></FromUserName><CreateTime>1740830400</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>`)
	env, err := hs.h.EncryptReply(reply)
	if err != nil {
		t.Fatal(err)
	}
	checkReplyEnvelope(t, env, testToken, testKey, appID, reply, testNow)
}

// checkReplyEnvelope decodes a passive-reply envelope and checks its
// signature, timestamp and content.
func checkReplyEnvelope(t *testing.T, env []byte, token, key, receiver string, want []byte, now time.Time) {
	t.Helper()
	fields := map[string]string{}
	p := xmlParser{s: env}
	if err := p.begin(); err != nil {
		t.Fatal(err)
	}
	var c child
	for {
		if err := p.next(&c); err != nil {
			t.Fatalf("envelope %s: %v", env, err)
		}
		if c.done {
			break
		}
		fields[string(c.name)] = string(c.val)
	}
	if fields["TimeStamp"] != strconv.FormatInt(now.Unix(), 10) || fields["Nonce"] == "" {
		t.Errorf("envelope fields %v", fields)
	}
	if !wxcrypto.VerifySignature(token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"], fields["MsgSignature"]) {
		t.Error("reply signature does not verify")
	}
	k, _ := wxcrypto.ParseKey(key)
	got, err := k.DecryptFor(fields["Encrypt"], receiver)
	if err != nil || string(got) != string(want) {
		t.Errorf("reply decrypts to %q, %v", got, err)
	}
}

func TestBuilderRoundTrip(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, nil)
	hs.run(t)
	b := mustBuilder(t, testToken, testKey, testCorpID, 16)
	srv := httptest.NewServer(hs.h)
	t.Cleanup(srv.Close)

	created := testNow.Add(-30 * time.Second)
	q, body, err := b.KfMsgOrEvent(testOpenKfID, testSyncTok, created)
	if err != nil {
		t.Fatal(err)
	}
	req, err := b.NewRequest(t.Context(), srv.URL+"/kf/callback?tenant=a", q, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.URL.Query().Get("tenant") != "a" || req.URL.Query().Get("msg_signature") == "" {
		t.Fatalf("request %s %s", req.Method, req.URL)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d; log %s", resp.StatusCode, hs.log)
	}
	ev := hs.next(t)
	want := KfMsgOrEvent{Token: testSyncTok, OpenKfID: testOpenKfID, CreateTime: time.Unix(created.Unix(), 0)}
	got, ok := ev.KfMsgOrEvent()
	if !ok || !cmp.Equal(got, want) {
		t.Errorf("KfMsgOrEvent = %+v %v, want %+v", got, ok, want)
	}
	if ev.ToUserName != testCorpID || ev.MsgType != MsgTypeEvent || ev.Event != EventKfMsgOrEvent {
		t.Errorf("header %+v", ev)
	}

	// kf_account_auth_change with repeated elements, special characters
	// included.
	add, del := []string{"wk1", "wk2", "wk]]>3"}, []string{"wk4"}
	q, body, err = b.KfAccountAuthChange(add, del, testNow)
	if err != nil {
		t.Fatal(err)
	}
	req, _ = b.NewRequest(t.Context(), srv.URL, q, body)
	resp, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ev = hs.next(t)
	ac, ok := ev.KfAccountAuthChange()
	if !ok || !cmp.Equal(ac, KfAccountAuthChange{AuthAddOpenKfIDs: add, AuthDelOpenKfIDs: del}) || ev.FromUserName != "sys" {
		t.Errorf("KfAccountAuthChange = %+v %v", ac, ok)
	}
	if _, ok := ev.KfMsgOrEvent(); ok {
		t.Error("auth change reported as kf_msg_or_event")
	}

	// GET verification.
	vq, err := b.VerifyURL("echo+/=", testNow)
	if err != nil {
		t.Fatal(err)
	}
	req, _ = b.NewRequest(t.Context(), srv.URL, vq, nil)
	resp, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got2, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if req.Method != http.MethodGet || resp.StatusCode != 200 || string(got2) != "echo+/=" {
		t.Errorf("GET: %s %d %q", req.Method, resp.StatusCode, got2)
	}

	// Unknown events are delivered raw.
	unknown := `<xml><ToUserName><![CDATA[ww]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[create_auth]]></Event><ExtraInfo><AuthOpenKfIdList><OpenKfId>wk1</OpenKfId><OpenKfId>wk2</OpenKfId></AuthOpenKfIdList></ExtraInfo></xml>`
	q, body, _ = b.Event([]byte(unknown), testNow)
	if w := serve(hs.h, post(q, body)); w.Code != 200 {
		t.Fatalf("unknown event: %d", w.Code)
	}
	ev = hs.next(t)
	if ev.Event != "create_auth" || string(ev.Raw) != unknown {
		t.Errorf("unknown event %+v", ev)
	}
}

func TestBuilderDeterministic(t *testing.T) {
	t.Parallel()
	b1 := mustBuilder(t, testToken, testKey, testCorpID, 17)
	b2 := mustBuilder(t, testToken, testKey, testCorpID, 17)
	q1, body1, _ := b1.KfMsgOrEvent("a", "b", testNow)
	q2, body2, _ := b2.KfMsgOrEvent("a", "b", testNow)
	if q1.Encode() != q2.Encode() || string(body1) != string(body2) {
		t.Error("same Rand, different output")
	}
	if _, err := NewBuilder("bad token!", testKey, testCorpID); err == nil {
		t.Error("bad token accepted")
	}
	if _, err := NewBuilder(testToken, "short", testCorpID); err == nil {
		t.Error("bad key accepted")
	}
	b1.Rand = strings.NewReader("")
	if _, _, err := b1.KfMsgOrEvent("a", "b", testNow); err == nil {
		t.Error("randomness failure not reported")
	}
	if _, err := b1.NewRequest(t.Context(), "://bad", nil, nil); err == nil {
		t.Error("bad URL accepted")
	}
}

func TestCheckWithoutBody(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, nil)
	r := httptest.NewRequest(http.MethodPost, "/cb?msg_signature=a&timestamp=1&nonce=2", nil)
	r.Body = nil
	if _, err := hs.h.Check(r); !errors.Is(err, ErrMalformed) {
		t.Errorf("nil body: %v", err)
	}
	r.Body = io.NopCloser(errReader{})
	if _, err := hs.h.Check(r); !errors.Is(err, ErrMalformed) {
		t.Errorf("failing body: %v", err)
	}
	r.Body = http.MaxBytesReader(nil, io.NopCloser(strings.NewReader("0123456789")), 5)
	if _, err := hs.h.Check(r); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("MaxBytesReader: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestDedupCacheModel checks the cache against a simple model, with keys
// chosen to collide in the hash table.
func TestDedupCacheModel(t *testing.T) {
	t.Parallel()
	const size, ttl = 8, 50
	c := newDedupCache(size, ttl)
	type rec struct {
		key uint64
		exp int64
	}
	var model []rec // insertion order, at most size entries
	rng := newRand(3)
	var buf [2]byte
	now := int64(0)
	for step := range 20000 {
		if _, err := io.ReadFull(rng, buf[:]); err != nil {
			t.Fatal(err)
		}
		now += int64(buf[0] % 4)
		// Few distinct keys, many sharing low bits: collisions and re-adds.
		key := uint64(buf[1]%24) << 4
		if buf[1]%7 == 0 {
			key = 0 // the empty-slot marker must work as a key too
		}
		// Model: drop expired or overflowing entries from the front.
		want := false
		for _, r := range model {
			if r.key == key && now < r.exp {
				want = true
			}
		}
		if got := c.seen(key, now); got != want {
			t.Fatalf("step %d: seen(%d) = %v, want %v", step, key, got, want)
		}
		if !want {
			for len(model) > 0 && (len(model) == size || model[0].exp <= now) {
				model = model[1:]
			}
			model = append(model, rec{key, now + ttl})
			c.add(key, now)
		}
		if c.len() > size {
			t.Fatalf("step %d: %d entries in a cache of %d", step, c.len(), size)
		}
	}
}
