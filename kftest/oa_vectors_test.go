package kftest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxkf/kf/kftest"
)

// The official WXBizMsgCrypt vector (shared/api-surface.md §5.5, §8.7: the
// same vectors apply to Official Accounts, with the app id as receive ID)
// answered as a safe-mode passive reply: the emulator verifies the
// signature, decrypts it for the app id and returns the plaintext.
func TestOAReplyOfficialVector(t *testing.T) {
	t.Parallel()
	const (
		token   = "QDG6eK"
		aesKey  = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
		appID   = "wx5823bf96d3bd56c7"
		ts      = "1409659813"
		nonce   = "1372623149"
		sig     = "477715d11cdb4164915debcba66cb864d751f3e6"
		encrypt = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
		msg     = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"
	)
	envelope := func(sig string) string {
		return "<xml><Encrypt><![CDATA[" + encrypt + "]]></Encrypt><MsgSignature><![CDATA[" + sig +
			"]]></MsgSignature><TimeStamp>" + ts + "</TimeStamp><Nonce><![CDATA[" + nonce + "]]></Nonce></xml>"
	}
	for _, tc := range []struct {
		name, appID, sig string
		want             string // in the error
		plain            bool   // the vector's plaintext is returned
	}{
		{name: "official", appID: appID, sig: sig, want: "ToUserName", plain: true}, // addressed to the vector's id, not to the user
		{name: "tampered signature", appID: appID, sig: "0" + sig[1:], want: "bad MsgSignature"},
		{name: "other app id", appID: "wx0000000000000000", sig: sig, want: "receive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(envelope(tc.sig)))
			}))
			t.Cleanup(app.Close)
			s, _ := oaSetup(t, kftest.WithOAAppID(tc.appID),
				kftest.WithOACallback(kftest.OACallback{URL: app.URL, Token: token, EncodingAESKey: aesKey}))
			reply, err := s.UserSend("oUser1", "hi")
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.want)) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			if tc.plain != (string(reply) == msg) {
				t.Errorf("reply = %q", reply)
			}
		})
	}
}
