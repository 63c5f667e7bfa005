package kf

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mediaPattern returns n deterministic bytes that are not all alike.
func mediaPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	return b
}

// onlyReader hides every method but Read (so the reader is not a Seeker).
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// mediaPart is what the test server saw of an upload.
type mediaPart struct {
	Type        string // query parameter
	FormName    string
	Filename    string
	FileLength  string // filelength parameter of Content-Disposition
	ContentType string
	Content     []byte
}

// readMediaPart parses an upload request as the platform does and returns
// its single part.
func readMediaPart(t *testing.T, r *http.Request) mediaPart {
	t.Helper()
	mr, err := r.MultipartReader()
	if err != nil {
		t.Fatalf("not multipart: %v (Content-Type %q)", err, r.Header.Get("Content-Type"))
	}
	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	content, err := io.ReadAll(p)
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		t.Fatal(err)
	}
	got := mediaPart{
		Type: r.URL.Query().Get("type"), FormName: p.FormName(), Filename: p.FileName(),
		FileLength: params["filelength"], ContentType: p.Header.Get("Content-Type"), Content: content,
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("second part: err = %v, want io.EOF", err)
	}
	return got
}

func TestMediaUpload(t *testing.T) {
	t.Parallel()
	content := mediaPattern(1000)
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/media/upload", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{"type": {"image"}})
		got := readMediaPart(t, r)
		want := mediaPart{Type: "image", FormName: "media", Filename: `a "b".png`, FileLength: "1000", ContentType: "image/png", Content: content}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("part mismatch (-want +got):\n%s", diff)
		}
		writeJSON(w, `{"errcode":0,"errmsg":"","type":"image","media_id":"1G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0","created_at":"1380000000"}`)
	})
	got, err := c.Media.Upload(t.Context(), &UploadMediaRequest{
		Type: MediaTypeImage, Filename: `a "b".png`, Body: bytes.NewReader(content), ContentType: "image/png",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &UploadMediaResponse{Type: MediaTypeImage, MediaID: "1G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0", CreatedAt: time.Unix(1380000000, 0)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Upload mismatch (-want +got):\n%s", diff)
	}
}

func TestMediaUploadKnownSizeNotSeekable(t *testing.T) {
	t.Parallel()
	content := []byte("hello, world")
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/media/upload", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{"type": {"file"}})
		got := readMediaPart(t, r)
		want := mediaPart{Type: "file", FormName: "media", Filename: "说明.txt", FileLength: "12", ContentType: "application/octet-stream", Content: content}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("part mismatch (-want +got):\n%s", diff)
		}
		// created_at as a number is tolerated too.
		writeJSON(w, `{"errcode":0,"errmsg":"","type":"file","media_id":"M","created_at":1380000001}`)
	})
	got, err := c.Media.Upload(t.Context(), &UploadMediaRequest{
		Type: MediaTypeFile, Filename: "说明.txt", Body: onlyReader{bytes.NewReader(content)}, Size: 12,
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&UploadMediaResponse{Type: MediaTypeFile, MediaID: "M", CreatedAt: time.Unix(1380000001, 0)}, got); diff != "" {
		t.Errorf("Upload mismatch (-want +got):\n%s", diff)
	}
}

// gatedReader produces n pattern bytes; once half of them have been read it
// waits until gate is closed, so that the upload can only finish if the
// server receives content before the client has read all of it.
type gatedReader struct {
	n, off int
	gate   <-chan struct{}
	read   atomic.Int64
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if g.off >= g.n/2 {
		select {
		case <-g.gate:
		case <-time.After(20 * time.Second):
			return 0, errors.New("the server received nothing while half of the body was read: the upload is buffered, not streamed")
		}
	}
	m := min(len(p), g.n-g.off)
	for i := range m {
		j := g.off + i
		p[i] = byte(j*7 + j>>9)
	}
	g.off += m
	g.read.Add(int64(m))
	return m, nil
}

// TestMediaUploadStreams uploads 8 MB from a reader that stalls half-way
// until the server has received the first megabyte: it proves the body is
// streamed (a client that buffered the file first would stall forever). The
// request is chunked (no Content-Length) and the server gets every byte.
func TestMediaUploadStreams(t *testing.T) {
	t.Parallel()
	const size = 8 << 20
	wantSum := sha256.Sum256(mediaPattern(size))
	gate := make(chan struct{})
	src := &gatedReader{n: size, gate: gate}
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/media/upload", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{"type": {"file"}})
		if r.ContentLength != -1 || !cmp.Equal(r.TransferEncoding, []string{"chunked"}) {
			t.Errorf("ContentLength %d, TransferEncoding %v; want a chunked body", r.ContentLength, r.TransferEncoding)
		}
		mr, err := r.MultipartReader()
		if err != nil {
			t.Fatal(err)
		}
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		if p.FormName() != "media" || p.FileName() != "big.bin" {
			t.Errorf("part %q file %q, want media big.bin", p.FormName(), p.FileName())
		}
		if _, params, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition")); params["filelength"] != "" {
			t.Errorf("filelength %q sent for a body of unknown size", params["filelength"])
		}
		h := sha256.New()
		if _, err := io.CopyN(h, p, 1<<20); err != nil {
			t.Fatal(err)
		}
		if n := src.read.Load(); n >= size {
			t.Errorf("client had read all %d bytes before the server got the first MB", n)
		}
		close(gate)
		n, err := io.Copy(h, p)
		if err != nil {
			t.Fatal(err)
		}
		if n+1<<20 != size || [32]byte(h.Sum(nil)) != wantSum {
			t.Errorf("server received %d bytes with another checksum, want %d bytes", n+1<<20, size)
		}
		writeJSON(w, `{"errcode":0,"errmsg":"","type":"file","media_id":"BIG","created_at":"1380000000"}`)
	})
	got, err := c.Media.Upload(t.Context(), &UploadMediaRequest{Type: MediaTypeFile, Filename: "big.bin", Body: src})
	if err != nil {
		t.Fatal(err)
	}
	if got.MediaID != "BIG" {
		t.Errorf("MediaID = %q, want BIG", got.MediaID)
	}
}

// TestMediaUploadRetrySeeker: a seekable body is sent again, whole, after a
// 502; it starts at the offset the reader had when Upload was called.
func TestMediaUploadRetrySeeker(t *testing.T) {
	t.Parallel()
	content := mediaPattern(70000)
	mux, c := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/cgi-bin/media/upload", func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		testMethod(t, r, "POST")
		got := readMediaPart(t, r)
		if !bytes.Equal(got.Content, content) || got.FileLength != "70000" {
			t.Errorf("attempt %d: got %d bytes (filelength %q), want the full %d", n, len(got.Content), got.FileLength, len(content))
		}
		if n == 1 {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		writeJSON(w, `{"errcode":0,"errmsg":"","type":"video","media_id":"M2","created_at":"1380000000"}`)
	})
	body := bytes.NewReader(append([]byte("XYZ"), content...))
	if _, err := body.Seek(3, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := c.Media.Upload(t.Context(), &UploadMediaRequest{Type: MediaTypeVideo, Filename: "v.mp4", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	if got.MediaID != "M2" {
		t.Errorf("MediaID = %q, want M2", got.MediaID)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}

// TestMediaUploadNoRetryWithoutSeeker: a body that cannot be rewound is sent
// once; the error keeps the cause and says why it was not retried.
func TestMediaUploadNoRetryWithoutSeeker(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/cgi-bin/media/upload", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		readMediaPart(t, r)
		http.Error(w, "bad gateway", http.StatusBadGateway)
	})
	_, err := c.Media.Upload(t.Context(), &UploadMediaRequest{Type: MediaTypeFile, Filename: "f.bin", Body: onlyReader{bytes.NewReader(mediaPattern(5000))}})
	if n := calls.Load(); n != 1 {
		t.Errorf("%d requests, want exactly 1", n)
	}
	if !errors.Is(err, ErrNotReplayable) || !strings.Contains(err.Error(), "cannot be replayed") {
		t.Errorf("err = %v, want one wrapping ErrNotReplayable", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != http.StatusBadGateway || ae.Op != "kf/media/upload" {
		t.Errorf("err = %v, want the HTTP 502 APIError inside", err)
	}
}

// TestMediaBodyReplay checks the body builder directly: a body that was
// never read can be built again even when not seekable; one that was read
// cannot.
func TestMediaBodyReplay(t *testing.T) {
	t.Parallel()
	req := &UploadMediaRequest{Type: MediaTypeFile, Filename: "f", Body: onlyReader{strings.NewReader("0123456789")}}
	b := &mediaBody{req: req, size: -1, limit: req.Type.MaxSize()}
	defer b.stop()
	if _, _, err := b.build(); err != nil {
		t.Fatal(err)
	}
	// The transport gave up before reading (for example a dial error).
	r2, ct, err := b.build()
	if err != nil {
		t.Fatalf("rebuild of an unread body: %v", err)
	}
	data, err := io.ReadAll(r2)
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(ct)
	if !bytes.Contains(data, []byte("0123456789")) || !bytes.HasSuffix(data, []byte("--"+params["boundary"]+"--\r\n")) {
		t.Errorf("body = %q, want a complete multipart body with the content", data)
	}
	if _, _, err := b.build(); !errors.Is(err, ErrNotReplayable) {
		t.Errorf("rebuild after reading: err = %v, want ErrNotReplayable", err)
	}
}

// zeroSeeker is a seekable reader of n zero bytes that allocates nothing.
func zeroSeeker(n int64) io.ReadSeeker { return io.NewSectionReader(zeroReaderAt{}, 0, n) }

type zeroReaderAt struct{}

func (zeroReaderAt) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}

func TestMediaUploadValidation(t *testing.T) {
	t.Parallel()
	const mb = 1 << 20
	tests := []struct {
		name       string
		req        *UploadMediaRequest
		field, msg string
	}{
		{"nil", nil, "request", "nil"},
		{"no type", &UploadMediaRequest{Filename: "f", Body: zeroSeeker(10)}, "type", "required"},
		{"bad type", &UploadMediaRequest{Type: "thumb", Filename: "f", Body: zeroSeeker(10)}, "type", `"thumb"`},
		{"no filename", &UploadMediaRequest{Type: MediaTypeFile, Body: zeroSeeker(10)}, "media.filename", "required"},
		{"filename with newline", &UploadMediaRequest{Type: MediaTypeFile, Filename: "a\r\nb", Body: zeroSeeker(10)}, "media.filename", "line break"},
		{"content type with newline", &UploadMediaRequest{Type: MediaTypeFile, Filename: "a", ContentType: "x\ny", Body: zeroSeeker(10)}, "media.content-type", "line break"},
		{"nil body", &UploadMediaRequest{Type: MediaTypeFile, Filename: "f"}, "media", "nil Body"},
		{"negative size", &UploadMediaRequest{Type: MediaTypeFile, Filename: "f", Body: onlyReader{zeroSeeker(10)}, Size: -1}, "media", "negative"},
		{"empty", &UploadMediaRequest{Type: MediaTypeFile, Filename: "f", Body: strings.NewReader("")}, "media", "larger than 5"},
		{"5 bytes", &UploadMediaRequest{Type: MediaTypeFile, Filename: "f", Body: strings.NewReader("12345")}, "media", "larger than 5"},
		{"image over 2 MB", &UploadMediaRequest{Type: MediaTypeImage, Filename: "f", Body: zeroSeeker(2*mb + 1)}, "media", "limited to 2097152"},
		{"voice over 2 MB", &UploadMediaRequest{Type: MediaTypeVoice, Filename: "f", Body: zeroSeeker(2*mb + 1)}, "media", "limited to 2097152"},
		{"video over 10 MB", &UploadMediaRequest{Type: MediaTypeVideo, Filename: "f", Body: zeroSeeker(10*mb + 1)}, "media", "limited to 10485760"},
		{"file over 20 MB", &UploadMediaRequest{Type: MediaTypeFile, Filename: "f", Body: zeroSeeker(20*mb + 1)}, "media", "limited to 20971520"},
		{"declared size over limit", &UploadMediaRequest{Type: MediaTypeImage, Filename: "f", Body: onlyReader{zeroSeeker(10)}, Size: 2*mb + 1}, "media", "limited to"},
		{"declared size too small", &UploadMediaRequest{Type: MediaTypeImage, Filename: "f", Body: onlyReader{zeroSeeker(10)}, Size: 3}, "media", "larger than 5"},
		{"size differs from seeker", &UploadMediaRequest{Type: MediaTypeFile, Filename: "f", Body: zeroSeeker(100), Size: 99}, "media", "differs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			testNoRequest(t, mux, "/cgi-bin/media/upload")
			_, err := c.Media.Upload(t.Context(), tc.req)
			checkValidation(t, err, "kf/media/upload", tc.field, tc.msg)
		})
	}
}

// TestMediaUploadLimitsAccepted checks that the largest sizes allowed are
// sent.
func TestMediaUploadLimitsAccepted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ  MediaType
		size int64
	}{
		{MediaTypeImage, 6},
		{MediaTypeImage, 2 << 20},
		{MediaTypeVoice, 2 << 20},
		{MediaTypeVideo, 10 << 20},
	} {
		t.Run(fmt.Sprint(tc.typ, tc.size), func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			mux.HandleFunc("/cgi-bin/media/upload", func(w http.ResponseWriter, r *http.Request) {
				got := readMediaPart(t, r)
				if int64(len(got.Content)) != tc.size || got.Type != string(tc.typ) {
					t.Errorf("got %d bytes of %s, want %d of %s", len(got.Content), got.Type, tc.size, tc.typ)
				}
				writeJSON(w, `{"errcode":0,"errmsg":"","type":"`+string(tc.typ)+`","media_id":"M","created_at":"1380000000"}`)
			})
			if _, err := c.Media.Upload(t.Context(), &UploadMediaRequest{Type: tc.typ, Filename: "f", Body: zeroSeeker(tc.size)}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMediaUploadContentChecksWhileStreaming covers bodies of unknown or
// declared size whose content breaks a rule: the upload is aborted, not
// retried, and the ValidationError comes back.
func TestMediaUploadContentChecksWhileStreaming(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		req        *UploadMediaRequest
		field, msg string
	}{
		{"unknown size over the limit", &UploadMediaRequest{Type: MediaTypeVoice, Filename: "v.amr", Body: onlyReader{zeroSeeker(2<<20 + 1)}}, "media", "more than 2097152 bytes"},
		{"unknown size too small", &UploadMediaRequest{Type: MediaTypeVoice, Filename: "v.amr", Body: onlyReader{strings.NewReader("abc")}}, "media", "larger than 5"},
		{"longer than declared", &UploadMediaRequest{Type: MediaTypeFile, Filename: "f", Body: onlyReader{zeroSeeker(100)}, Size: 50}, "media", "more than the expected 50"},
		{"shorter than declared", &UploadMediaRequest{Type: MediaTypeFile, Filename: "f", Body: onlyReader{zeroSeeker(50)}, Size: 100}, "media", "50 bytes, not the expected 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("/cgi-bin/media/upload", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				if _, err := io.Copy(io.Discard, r.Body); err == nil {
					t.Error("the server read a complete body")
				}
				http.Error(w, "aborted", http.StatusBadRequest)
			})
			_, err := c.Media.Upload(t.Context(), tc.req)
			checkValidation(t, err, "kf/media/upload", tc.field, tc.msg)
			if n := calls.Load(); n > 1 {
				t.Errorf("%d requests, want at most 1", n)
			}
		})
	}
}

// failingReader returns some bytes, then an error.
type failingReader struct{ n int }

var errDisk = errors.New("disk on fire")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errDisk
	}
	m := min(len(p), f.n)
	f.n -= m
	return m, nil
}

func TestMediaUploadReadError(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/cgi-bin/media/upload", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "aborted", http.StatusBadRequest)
	})
	_, err := c.Media.Upload(t.Context(), &UploadMediaRequest{Type: MediaTypeFile, Filename: "f", Body: &failingReader{n: 100}})
	if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "kf/media/upload") {
		t.Errorf("err = %v, want the read error with the operation", err)
	}
	if n := calls.Load(); n > 1 {
		t.Errorf("%d requests, want at most 1", n)
	}
}

func TestMediaUploadAPIError(t *testing.T) {
	t.Parallel()
	for _, code := range []ErrCode{ErrCodeInvalidFileType, ErrCodeInvalidFileSize, ErrCodeMediaTooLarge} {
		t.Run(code.String(), func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			testAPIError(t, mux, "/cgi-bin/media/upload", "kf/media/upload", code, func() error {
				_, err := c.Media.Upload(t.Context(), &UploadMediaRequest{Type: MediaTypeImage, Filename: "a.png", Body: bytes.NewReader(mediaPattern(100))})
				return err
			})
		})
	}
}

func TestMediaUploadResponseJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want UploadMediaResponse
	}{
		{`{"type":"image","media_id":"M","created_at":"1380000000"}`, UploadMediaResponse{Type: "image", MediaID: "M", CreatedAt: time.Unix(1380000000, 0)}},
		{`{"type":"image","media_id":"M","created_at":1380000000}`, UploadMediaResponse{Type: "image", MediaID: "M", CreatedAt: time.Unix(1380000000, 0)}},
		{`{"type":"image","media_id":"M","created_at":""}`, UploadMediaResponse{Type: "image", MediaID: "M"}},
		{`{"type":"image","media_id":"M"}`, UploadMediaResponse{Type: "image", MediaID: "M"}},
	} {
		var got UploadMediaResponse
		if err := got.UnmarshalJSON([]byte(tc.in)); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.in, diff)
		}
	}
	var bad UploadMediaResponse
	if err := bad.UnmarshalJSON([]byte(`{"created_at":"yesterday"}`)); err == nil {
		t.Error("created_at \"yesterday\" decoded without error")
	}
	b, err := UploadMediaResponse{Type: "voice", MediaID: "M", CreatedAt: time.Unix(1380000000, 0)}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"voice","media_id":"M","created_at":"1380000000"}`; string(b) != want {
		t.Errorf("marshal = %s, want %s", b, want)
	}
}

func TestMediaDownload(t *testing.T) {
	t.Parallel()
	content := append([]byte{0xff, 0xd8, 0x00, '{'}, mediaPattern(100000)...)
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/media/get", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "GET")
		testQuery(t, r, url.Values{"media_id": {"MEDIA_ID"}})
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Disposition", `attachment; filename="pic.jpg"`)
		_, _ = w.Write(content)
	})
	var buf bytes.Buffer
	got, err := c.Media.Download(t.Context(), "MEDIA_ID", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&DownloadInfo{ContentType: "image/jpeg", Filename: "pic.jpg", Size: int64(len(content))}, got); diff != "" {
		t.Errorf("DownloadInfo mismatch (-want +got):\n%s", diff)
	}
	if !bytes.Equal(buf.Bytes(), content) {
		t.Errorf("wrote %d bytes, not the %d served", buf.Len(), len(content))
	}
}

func TestMediaDownloadJSONError(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/cgi-bin/media/get", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		testMethod(t, r, "GET")
		testQuery(t, r, url.Values{"media_id": {"EXPIRED"}})
		w.Header().Set("Error-Code", "40007")
		writeJSON(w, `{"errcode":40007,"errmsg":"invalid media_id"}`)
	})
	var buf bytes.Buffer
	info, err := c.Media.Download(t.Context(), "EXPIRED", &buf)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != ErrCodeInvalidMediaID || ae.Op != "kf/media/get" || ae.Msg != "invalid media_id" {
		t.Fatalf("err = %v, want APIError 40007 of kf/media/get", err)
	}
	if !errors.Is(err, ErrCodeInvalidMediaID) {
		t.Error("errors.Is(err, ErrCodeInvalidMediaID) = false")
	}
	if info != nil || buf.Len() != 0 {
		t.Errorf("info = %v, %d bytes written; want nil and nothing", info, buf.Len())
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (not retried)", n)
	}
}

// TestMediaDownloadJSONFile: a JSON reply without errcode is the media
// itself (a .json file) and is written out, not swallowed.
func TestMediaDownloadJSONFile(t *testing.T) {
	t.Parallel()
	const doc = `{"name":"config","items":[1,2,3]}`
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/media/get", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, doc)
	})
	var buf bytes.Buffer
	info, err := c.Media.Download(t.Context(), "M", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != doc || info.Size != int64(len(doc)) || info.ContentType != "application/json" {
		t.Errorf("got %q, info %+v; want the document", buf.String(), info)
	}
}

func TestMediaDownloadRetry(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/cgi-bin/media/get", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "audio/amr")
		_, _ = io.WriteString(w, "#!AMR\n....")
	})
	var buf bytes.Buffer
	info, err := c.Media.Download(t.Context(), "M", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != "#!AMR\n...." || info.Size != 10 || info.Filename != "" {
		t.Errorf("got %q, info %+v", buf.String(), info)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// errWriter fails after accepting some bytes.
type errWriter struct {
	mu sync.Mutex
	n  int
}

func (e *errWriter) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n > 0 {
		return 0, errors.New("disk full")
	}
	e.n += len(p)
	return len(p), nil
}

func TestMediaDownloadWriteErrorNotRetried(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/cgi-bin/media/get", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "video/mp4")
		_, _ = w.Write(mediaPattern(1 << 20))
	})
	_, err := c.Media.Download(t.Context(), "M", &errWriter{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("err = %v, want the write error", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1: a partly written download cannot be retried", n)
	}
}

func TestMediaDownloadValidation(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	testNoRequest(t, mux, "/cgi-bin/media/get")
	_, err := c.Media.Download(t.Context(), "", io.Discard)
	checkValidation(t, err, "kf/media/get", "media_id", "required")
	_, err = c.Media.Download(t.Context(), "M", nil)
	checkValidation(t, err, "kf/media/get", "w", "nil")
}

func TestMediaDownloadAPIError(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	testAPIError(t, mux, "/cgi-bin/media/get", "kf/media/get", ErrCodeInvalidMediaID, func() error {
		_, err := c.Media.Download(t.Context(), "M", io.Discard)
		return err
	})
}

func TestMediaFilename(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{``, ``},
		{`attachment`, ``},
		{`attachment; filename="pic.jpg"`, `pic.jpg`},
		{`attachment; filename=pic.jpg`, `pic.jpg`},
		{`attachment; filename="说明 书.pdf"`, `说明 书.pdf`},
		{`attachment; filename*=UTF-8''%E8%AF%B4%E6%98%8E.pdf`, `说明.pdf`},
		{`attachment; filename="a.amr"; filelength=6`, `a.amr`},
		// Not valid for mime.ParseMediaType: the fallback still finds it.
		{`attachment; filename="x y.png"; broken`, `x y.png`},
		{`attachment; FILENAME=x.png; broken=`, `x.png`},
	} {
		if got := mediaFilename(tc.in); got != tc.want {
			t.Errorf("mediaFilename(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
