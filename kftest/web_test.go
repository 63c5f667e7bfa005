package kftest

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxkf/kf"
)

// webSeed is a corp with one account and one customer.
func webSeed() Option {
	return WithSeed(Seed{
		Accounts:  []SeedAccount{{OpenKfID: "wkWeb", Name: "Web Shop", Servicers: []string{"alice"}}},
		Customers: []SeedCustomer{{ExternalUserID: "wmWeb", Nickname: "Wendy"}},
	})
}

func webGet(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func webPost(t *testing.T, url, ctype string, body []byte) (*http.Response, map[string]any) {
	t.Helper()
	res, err := http.Post(url, ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("POST %s: %d %q: %v", url, res.StatusCode, b, err)
	}
	return res, out
}

func webJSON(t *testing.T, url string, v any) (*http.Response, map[string]any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return webPost(t, url, "application/json", b)
}

func TestWebEmbeddedFiles(t *testing.T) {
	for _, name := range []string{"index.html", "app.js", "style.css"} {
		b, err := fs.ReadFile(webFS, "web/"+name)
		if err != nil {
			t.Fatalf("embedded %s: %v", name, err)
		}
		if len(b) == 0 {
			t.Errorf("embedded %s is empty", name)
		}
		if webAssets[name] == nil {
			t.Errorf("asset %s not loaded", name)
		}
	}
	index := string(webAssets["index.html"].data)
	// The page must not depend on anything outside the emulator.
	for _, bad := range []string{"http://", "https://cdn", "//cdn", "<script>"} {
		if strings.Contains(index, bad) {
			t.Errorf("index.html contains %q", bad)
		}
	}
	// The ids the browser test and users' tests rely on.
	for _, id := range []string{"customer-select", "account-select", "message-input", "send-button", "session-state",
		"messages", "sync-log", "image-input", "link-input", "scene-input", "enter-button", "new-customer-button"} {
		if !strings.Contains(index, `id="`+id+`"`) {
			t.Errorf("index.html has no #%s", id)
		}
	}
}

func TestWebPage(t *testing.T) {
	s := NewServer(t, webSeed())
	for _, path := range []string{"/", "/_kftest/chat"} {
		res, b := webGet(t, s.URL()+path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		if !strings.Contains(string(b), `<script src="/_kftest/web/app.js" defer></script>`) {
			t.Errorf("GET %s: not the chat page", path)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
	assets := map[string]string{
		"/_kftest/web/app.js":     "text/javascript; charset=utf-8",
		"/_kftest/web/style.css":  "text/css; charset=utf-8",
		"/_kftest/web/index.html": "text/html; charset=utf-8",
	}
	for path, want := range assets {
		res, b := webGet(t, s.URL()+path)
		if res.StatusCode != http.StatusOK || len(b) == 0 {
			t.Fatalf("GET %s: %d, %d bytes", path, res.StatusCode, len(b))
		}
		if ct := res.Header.Get("Content-Type"); ct != want {
			t.Errorf("GET %s: Content-Type %q, want %q", path, ct, want)
		}
		// Revalidation with the ETag answers 304.
		req, _ := http.NewRequest("GET", s.URL()+path, nil)
		req.Header.Set("If-None-Match", res.Header.Get("ETag"))
		res2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res2.Body.Close()
		if res2.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match: %d, want 304", path, res2.StatusCode)
		}
	}
	for _, path := range []string{"/_kftest/web/nope.js", "/_kftest/web/", "/nope", "/_kftest/web/..%2fweb.go"} {
		if res, _ := webGet(t, s.URL()+path); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
		}
	}
	// POST / is not the page; the API paths are untouched.
	if res, _ := webPost(t, s.URL()+"/cgi-bin/gettoken?corpid=x&corpsecret=y", "application/json", nil); res.StatusCode != http.StatusOK {
		t.Errorf("gettoken: %d", res.StatusCode)
	}
}

var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

func TestWebMedia(t *testing.T) {
	s := NewServer(t, webSeed())

	// Multipart upload, as the page sends it.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("media", `C:\photos\dot.png`)
	fw.Write(pngBytes)
	mw.Close()
	res, out := webPost(t, s.URL()+"/_kftest/media?type=image", mw.FormDataContentType(), body.Bytes())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("upload: %d %v", res.StatusCode, out)
	}
	id, _ := out["media_id"].(string)
	if id == "" || out["type"] != "image" || out["size"] != float64(len(pngBytes)) {
		t.Fatalf("upload reply %v", out)
	}

	// The page's media route serves it without a token...
	res, b := webGet(t, s.URL()+"/_kftest/media/"+id)
	if res.StatusCode != http.StatusOK || !bytes.Equal(b, pngBytes) {
		t.Fatalf("GET media: %d, %d bytes", res.StatusCode, len(b))
	}
	if ct := res.Header.Get("Content-Type"); ct != "image/png" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); cd != `inline; filename=dot.png` {
		t.Errorf("Content-Disposition %q", cd)
	}
	// ... and the bot downloads the same bytes through media/get.
	var got bytes.Buffer
	if _, err := s.Client().Media.Download(t.Context(), id, &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), pngBytes) {
		t.Errorf("media/get: %d bytes", got.Len())
	}
	// The customer sends it.
	_, out = webJSON(t, s.URL()+"/_kftest/customer/send", map[string]any{
		"open_kfid": "wkWeb", "external_userid": "wmWeb", "msgtype": "image", "image": map[string]string{"media_id": id}})
	if out["msgid"] == nil {
		t.Fatalf("customer/send image: %v", out)
	}

	// A raw body with ?filename=; a PutMedia medium is served too.
	res, out = webPost(t, s.URL()+"/_kftest/media?type=file&filename=notes.html", "application/octet-stream", []byte("<b>hi</b>"))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("raw upload: %d %v", res.StatusCode, out)
	}
	res, _ = webGet(t, s.URL()+"/_kftest/media/"+out["media_id"].(string))
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("an HTML file must download, not render: Content-Disposition %q", cd)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
		t.Errorf("media CSP %q", csp)
	}
	pid := s.PutMedia("voice", "v.amr", []byte("#!AMR\n1234"))
	if res, b := webGet(t, s.URL()+"/_kftest/media/"+pid); res.StatusCode != http.StatusOK || string(b) != "#!AMR\n1234" {
		t.Errorf("PutMedia medium: %d %q", res.StatusCode, b)
	}

	// Errors.
	for _, tc := range []struct {
		query, ctype string
		body         []byte
		status       int
	}{
		{"type=sticker", "application/octet-stream", pngBytes, 400},
		{"type=image", "application/octet-stream", nil, 400},
		{"type=image", "application/octet-stream", make([]byte, 2<<20+1), 413},
		{"type=image", "multipart/form-data; boundary=x", []byte("--x--\r\n"), 400},
	} {
		res, out := webPost(t, s.URL()+"/_kftest/media?"+tc.query, tc.ctype, tc.body)
		if res.StatusCode != tc.status || out["error"] == nil {
			t.Errorf("upload %s (%d bytes): %d %v, want %d", tc.query, len(tc.body), res.StatusCode, out, tc.status)
		}
	}
	if res, _ := webGet(t, s.URL()+"/_kftest/media/MTnope"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown media: %d", res.StatusCode)
	}
	// Media expire after 3 days, as media/get's.
	s.Advance(72 * time.Hour)
	if res, _ := webGet(t, s.URL()+"/_kftest/media/"+id); res.StatusCode != http.StatusNotFound {
		t.Errorf("expired media: %d", res.StatusCode)
	}
}

func TestWebContactLinks(t *testing.T) {
	s := NewServer(t, webSeed())
	list := func() []any {
		t.Helper()
		res, b := webGet(t, s.URL()+"/_kftest/contact_links?open_kfid=wkWeb")
		var out struct{ Links []any }
		if err := json.Unmarshal(b, &out); err != nil || res.StatusCode != 200 {
			t.Fatalf("list: %d %s", res.StatusCode, b)
		}
		return out.Links
	}
	if n := len(list()); n != 0 {
		t.Fatalf("%d links at start", n)
	}
	res, out := webJSON(t, s.URL()+"/_kftest/contact_links", map[string]string{"open_kfid": "wkWeb", "scene": "spring"})
	if res.StatusCode != 200 || out["scene"] != "spring" {
		t.Fatalf("create: %d %v", res.StatusCode, out)
	}
	link := out["url"].(string)
	// The same scene gives the same link, as add_contact_way.
	_, again := webJSON(t, s.URL()+"/_kftest/contact_links", map[string]string{"open_kfid": "wkWeb", "scene": "spring"})
	if again["url"] != link {
		t.Errorf("second link %v, want %s", again["url"], link)
	}
	// The API agrees: the link is the account's.
	resp, err := s.Client().Accounts.ContactWay(t.Context(), &kf.ContactWayRequest{OpenKfID: "wkWeb", Scene: "spring"})
	if err != nil || resp.URL != link {
		t.Errorf("add_contact_way: %v %v, want %s", resp, err, link)
	}
	webJSON(t, s.URL()+"/_kftest/contact_links", map[string]string{"open_kfid": "wkWeb"})
	if n := len(list()); n != 2 {
		t.Errorf("%d links, want 2", n)
	}

	withParam := link + "&scene_param=" + url.QueryEscape("order 42")
	res, out = webJSON(t, s.URL()+"/_kftest/contact_links/resolve", map[string]string{"url": withParam})
	if res.StatusCode != 200 || out["open_kfid"] != "wkWeb" || out["scene"] != "spring" || out["scene_param"] != "order 42" {
		t.Errorf("resolve: %d %v", res.StatusCode, out)
	}
	// Entering through it reports the scene.
	res, out = webJSON(t, s.URL()+"/_kftest/enter", map[string]string{"open_kfid": "wkWeb", "external_userid": "wmWeb", "link": withParam})
	if res.StatusCode != 200 {
		t.Fatalf("enter: %d %v", res.StatusCode, out)
	}
	log := s.SyncLog("wkWeb")
	if len(log) != 1 || !strings.Contains(string(log[0]), `"scene":"spring","scene_param":"order 42"`) {
		t.Errorf("sync log %s", log)
	}

	for _, tc := range []struct {
		path   string
		body   map[string]string
		status int
	}{
		{"/_kftest/contact_links", map[string]string{"open_kfid": "wkNope"}, 404},
		{"/_kftest/contact_links", map[string]string{"open_kfid": ""}, 400},
		{"/_kftest/contact_links", map[string]string{"open_kfid": "wkWeb", "scene": "no spaces"}, 400},
		{"/_kftest/contact_links/resolve", map[string]string{"url": "https://example.com/kf/x"}, 400},
		{"/_kftest/contact_links/resolve", map[string]string{}, 400},
	} {
		if res, out := webJSON(t, s.URL()+tc.path, tc.body); res.StatusCode != tc.status || out["error"] == nil {
			t.Errorf("POST %s %v: %d %v, want %d", tc.path, tc.body, res.StatusCode, out, tc.status)
		}
	}
	if res, _ := webGet(t, s.URL()+"/_kftest/contact_links?open_kfid=wkNope"); res.StatusCode != 404 {
		t.Errorf("list unknown account: %d", res.StatusCode)
	}
	if res, _ := webGet(t, s.URL()+"/_kftest/contact_links"); res.StatusCode != 400 {
		t.Errorf("list without open_kfid: %d", res.StatusCode)
	}
}
