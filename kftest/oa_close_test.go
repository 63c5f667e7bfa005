package kftest_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxkf/kf/kftest"
)

// TestOAUploadHeadImageBodyBounded: parts other than "media" are skipped,
// but they count toward the bounded body: a large filler part before a
// valid head image is refused (47001) instead of being read without end.
func TestOAUploadHeadImageBodyBounded(t *testing.T) {
	s, c := oaSetup(t, kftest.WithOASeed(oaSeed()))
	tok, err := c.Tokens().Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	post := func(filler int) int {
		t.Helper()
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		if filler > 0 {
			fw, _ := mw.CreateFormField("filler")
			fw.Write(bytes.Repeat([]byte("x"), filler))
		}
		fw, _ := mw.CreateFormFile("media", "head.jpg")
		fw.Write(oaJPEG(t))
		mw.Close()
		u := s.URL() + "/customservice/kfaccount/uploadheadimg?access_token=" + url.QueryEscape(tok) +
			"&kf_account=" + url.QueryEscape(s.KfAccount("alice"))
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, u, &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		switch {
		case strings.Contains(string(body), `"errcode":0`):
			return 0
		case strings.Contains(string(body), `"errcode":47001`):
			return 47001
		}
		t.Fatalf("unexpected answer %s", body)
		return -1
	}
	if got := post(1 << 10); got != 0 {
		t.Fatalf("small filler: errcode %d, want 0", got)
	}
	if got := post(4 << 20); got != 47001 {
		t.Fatalf("4 MiB filler part: errcode %d, want 47001 (body over the bound)", got)
	}
}

// TestOACloseDropsPushConnections: Close closes the emulator's idle
// keep-alive connections to the app's server URL (no connection, and no
// transport goroutine, outlives the emulator).
func TestOACloseDropsPushConnections(t *testing.T) {
	closed := make(chan struct{}, 16)
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "success")
	}))
	app.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed <- struct{}{}
		}
	}
	app.Start()
	t.Cleanup(app.Close)

	s, err := kftest.NewOA(kftest.WithOASeed(oaSeed()),
		kftest.WithOACallback(kftest.OACallback{URL: app.URL + "/wx", Token: oaToken}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserSend("oUser1", "hello"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
		t.Fatal("the push connection closed before Close")
	case <-time.After(50 * time.Millisecond):
	}
	s.Close()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("the push connection is still open after Close")
	}
}
