package kftest_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
)

// adminUpload posts a multipart upload with raw HTTP: one part named part
// (with a filename unless it is empty) holding data.
func adminUpload(t *testing.T, s *kftest.Server, typ, part, filename string, data []byte) (kf.ErrCode, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	disp := fmt.Sprintf(`form-data; name=%q`, part)
	if filename != "" {
		disp += fmt.Sprintf(`; filename=%q; filelength=%d`, filename, len(data))
	}
	h.Set("Content-Disposition", disp)
	h.Set("Content-Type", "application/octet-stream")
	w, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	mw.Close()
	var out map[string]any
	adminDo(t, http.MethodPost, s.URL()+"/cgi-bin/media/upload?access_token="+adminToken(t, s)+"&type="+typ, mw.FormDataContentType(), &body, &out)
	code, _ := out["errcode"].(float64)
	return kf.ErrCode(int(code)), out
}

func TestAdminMediaRoundTrip(t *testing.T) {
	t.Parallel()
	s, c := adminServer(t)
	ctx := t.Context()
	up, err := c.Media.Upload(ctx, &kf.UploadMediaRequest{Type: kf.MediaTypeImage, Filename: "photo.png", Body: bytes.NewReader(adminPNG)})
	if err != nil {
		t.Fatal(err)
	}
	if up.Type != kf.MediaTypeImage || up.MediaID == "" || len(up.MediaID) > 128 || !up.CreatedAt.Equal(adminT0) {
		t.Fatalf("upload = %+v", up)
	}
	var buf bytes.Buffer
	info, err := c.Media.Download(ctx, up.MediaID, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), adminPNG) || info.ContentType != "image/png" || info.Filename != "photo.png" || info.Size != int64(len(adminPNG)) {
		t.Errorf("download = %+v, %q", info, buf.Bytes())
	}

	// A file with a non-ASCII name; a JSON document as content.
	for _, f := range []struct {
		name, ctype string
		data        []byte
	}{
		{"报告 2025.txt", "text/plain", []byte("quarterly numbers")},
		{"data.json", "application/json", []byte(`{"report":true}`)},
	} {
		up, err := c.Media.Upload(ctx, &kf.UploadMediaRequest{Type: kf.MediaTypeFile, Filename: f.name, Body: bytes.NewReader(f.data), ContentType: f.ctype})
		if err != nil {
			t.Fatal(err)
		}
		buf.Reset()
		info, err = c.Media.Download(ctx, up.MediaID, &buf)
		if err != nil || !bytes.Equal(buf.Bytes(), f.data) || !strings.HasPrefix(info.ContentType, f.ctype) {
			t.Errorf("%s: %+v, %q, %v", f.name, info, buf.Bytes(), err)
		}
		// The client reads headers of non-JSON downloads only.
		if f.ctype != "application/json" && info.Filename != f.name {
			t.Errorf("%s: filename %q", f.name, info.Filename)
		}
	}

	// Media sent by customers (PutMedia) download the same way.
	voice := s.PutMedia("voice", "v.amr", []byte("#!AMR\nvoice-data"))
	buf.Reset()
	if _, err := c.Media.Download(ctx, voice, &buf); err != nil || buf.String() != "#!AMR\nvoice-data" {
		t.Errorf("PutMedia download: %q, %v", buf.String(), err)
	}

	// HTTP Range requests are answered.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/cgi-bin/media/get?access_token="+adminToken(t, s)+"&media_id="+up.MediaID, nil)
	req.Header.Set("Range", "bytes=0-3")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, adminPNG[:4]) {
		t.Errorf("range: %d %q", resp.StatusCode, part)
	}

	// Three days later the media is gone: a JSON 40007 that Download
	// returns as an error, writing nothing.
	s.Advance(72*time.Hour - time.Second)
	buf.Reset()
	if _, err := c.Media.Download(ctx, up.MediaID, &buf); err != nil {
		t.Fatalf("just before 3 days: %v", err)
	}
	s.Advance(time.Second)
	buf.Reset()
	_, err = c.Media.Download(ctx, up.MediaID, &buf)
	wantCode(t, err, kf.ErrCodeInvalidMediaID)
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes on error", buf.Len())
	}
	_, err = c.Media.Download(ctx, "MTnope", &buf)
	wantCode(t, err, kf.ErrCodeInvalidMediaID)
	if code, _ := adminRaw(t, s, http.MethodGet, "/cgi-bin/media/get", "", ""); code != kf.ErrCodeParameterEmpty {
		t.Errorf("media/get without media_id: errcode %d, want 40063", int(code))
	}
}

func TestAdminMediaLimits(t *testing.T) {
	t.Parallel()
	s, _ := adminServer(t)
	png := func(n int) []byte { return append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, n-8)...) }
	for _, tc := range []struct {
		name, typ, part, filename string
		data                      []byte
		want                      kf.ErrCode
	}{
		{"bad type", "bogus", "media", "a.txt", []byte("hello world"), kf.ErrCodeInvalidFileType},
		{"no type", "", "media", "a.txt", []byte("hello world"), kf.ErrCodeInvalidFileType},
		{"5 bytes", "file", "media", "a.txt", []byte("12345"), kf.ErrCodeInvalidFileSize},
		{"6 bytes", "file", "media", "a.txt", []byte("123456"), 0},
		{"image 2 MiB", "image", "media", "a.png", png(2 << 20), 0},
		{"image over 2 MiB", "image", "media", "a.png", png(2<<20 + 1), kf.ErrCodeInvalidImageSize},
		{"voice over 2 MiB", "voice", "media", "a.amr", append([]byte("#!AMR\n"), make([]byte, 2<<20)...), kf.ErrCodeMediaTooLarge},
		{"file over 20 MiB", "file", "media", "a.bin", make([]byte, 20<<20+1), kf.ErrCodeMediaTooLarge},
		{"gif image", "image", "media", "a.gif", []byte("GIF89a......"), kf.ErrCodeInvalidMediaType},
		{"voice not AMR", "voice", "media", "a.mp3", []byte("ID3........."), kf.ErrCodeInvalidMediaType},
		{"video not MP4", "video", "media", "a.avi", []byte("RIFF....AVI "), kf.ErrCodeInvalidMediaType},
		{"video MP4", "video", "media", "a.mp4", []byte("\x00\x00\x00\x18ftypisom"), 0},
		{"jpeg image", "image", "media", "a.jpg", []byte("\xff\xd8\xff\xe0-jpeg"), 0},
		{"no filename", "file", "media", "", []byte("hello world"), kf.ErrCodeInvalidParameter},
		{"wrong part name", "file", "file", "a.txt", []byte("hello world"), kf.ErrCodeParameterEmpty},
	} {
		got, reply := adminUpload(t, s, tc.typ, tc.part, tc.filename, tc.data)
		if got != tc.want {
			t.Errorf("%s: errcode %d, want %d (%v)", tc.name, int(got), int(tc.want), reply["errmsg"])
		}
		if got == 0 && (reply["type"] != tc.typ || reply["created_at"] != fmt.Sprint(adminT0.Unix())) {
			t.Errorf("%s: reply %v; want type %s and created_at as a string", tc.name, reply, tc.typ)
		}
	}
	if code, _ := adminRaw(t, s, http.MethodPost, "/cgi-bin/media/upload", "type=file", `{"not":"multipart"}`); code != kf.ErrCodeInvalidParameter {
		t.Errorf("JSON body: errcode %d, want 40058", int(code))
	}
	if code, _ := adminRaw(t, s, http.MethodGet, "/cgi-bin/media/upload", "type=file", ""); code != kf.ErrCodeInvalidParameter {
		t.Errorf("GET upload: errcode %d, want 40058", int(code))
	}
	// Without a token nothing is stored.
	var out struct {
		ErrCode int `json:"errcode"`
	}
	adminDo(t, http.MethodPost, s.URL()+"/cgi-bin/media/upload?type=file", "multipart/form-data; boundary=x", strings.NewReader("--x--"), &out)
	if out.ErrCode != int(kf.ErrCodeAccessTokenMissing) {
		t.Errorf("no token: errcode %d, want 41001", out.ErrCode)
	}
}
