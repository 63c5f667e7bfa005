package kf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxkf/kf/internal/wxapi"
)

// Temporary media: upload (media/upload) and download (media/get);
// shared/api-surface.md §1.3.

const (
	opMediaUpload = "kf/media/upload"
	opMediaGet    = "kf/media/get"

	mediaMinSize = 5 // every file must be larger than 5 bytes
)

// ErrNotReplayable is wrapped into the error of an upload that failed and
// could not be sent again because its reader is not an io.Seeker (or could
// not seek). Give a seekable reader (*os.File, *bytes.Reader) to let the
// client retry.
var ErrNotReplayable = wxapi.ErrNotReplayable

// MediaType is the type of a temporary media.
type MediaType string

// Media types accepted by media/upload.
const (
	MediaTypeImage MediaType = "image" // JPG or PNG, at most 2 MB
	MediaTypeVoice MediaType = "voice" // AMR, at most 2 MB and 60 s
	MediaTypeVideo MediaType = "video" // MP4, at most 10 MB
	MediaTypeFile  MediaType = "file"  // any file, at most 20 MB
)

// MaxSize returns the documented size limit of t in bytes (MB read as
// MiB), or 0 for an unknown type.
func (t MediaType) MaxSize() int64 {
	switch t {
	case MediaTypeImage, MediaTypeVoice:
		return 2 << 20
	case MediaTypeVideo:
		return 10 << 20
	case MediaTypeFile:
		return 20 << 20
	}
	return 0
}

// UploadMediaRequest is the request of MediaService.Upload.
type UploadMediaRequest struct {
	// Type is image, voice, video or file (required).
	Type MediaType
	// Filename is the file name shown to the customer when the media is
	// sent as a file (required; no line breaks).
	Filename string
	// Body is the content, read once per attempt and never buffered whole.
	// If it is an io.Seeker its size is measured and the upload is retried
	// after a transient failure (each attempt seeks back to the position
	// Body had when Upload was called); otherwise it is sent once.
	Body io.Reader
	// Size is the content length in bytes when Body is not an io.Seeker
	// and the caller knows it; 0 means unknown. A known size is checked
	// against the limits before sending, and the body must then hold
	// exactly Size bytes.
	Size int64
	// ContentType is the part's Content-Type (default
	// application/octet-stream).
	ContentType string
}

// UploadMediaResponse is the reply of media/upload.
type UploadMediaResponse struct {
	Type    MediaType `json:"type"`
	MediaID string    `json:"media_id"` // valid for 3 days, usable by every app of the corp
	// CreatedAt is the upload time. The platform sends created_at as a
	// string of unix seconds; a number is accepted too.
	CreatedAt time.Time `json:"created_at"`
}

type uploadMediaWire struct {
	Type      MediaType       `json:"type"`
	MediaID   string          `json:"media_id"`
	CreatedAt json.RawMessage `json:"created_at,omitempty"`
}

// MarshalJSON encodes CreatedAt as the platform does: a string of unix
// seconds.
func (r UploadMediaResponse) MarshalJSON() ([]byte, error) {
	w := uploadMediaWire{Type: r.Type, MediaID: r.MediaID}
	if !r.CreatedAt.IsZero() {
		w.CreatedAt = json.RawMessage(strconv.Quote(strconv.FormatInt(r.CreatedAt.Unix(), 10)))
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes created_at from a string or a number of unix
// seconds.
func (r *UploadMediaResponse) UnmarshalJSON(b []byte) error {
	var w uploadMediaWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = UploadMediaResponse{Type: w.Type, MediaID: w.MediaID}
	raw := strings.TrimSpace(string(w.CreatedAt))
	if raw == "" || raw == "null" || raw == `""` {
		return nil
	}
	if raw[0] == '"' {
		if err := json.Unmarshal(w.CreatedAt, &raw); err != nil {
			return err
		}
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return fmt.Errorf("created_at %s is not unix seconds", w.CreatedAt)
	}
	r.CreatedAt = time.Unix(n, 0)
	return nil
}

// validate checks the request fields; the size is checked by Upload once
// known.
func (r *UploadMediaRequest) validate() error {
	if r == nil {
		return invalid(opMediaUpload, "request", "nil")
	}
	if r.Type.MaxSize() == 0 {
		if r.Type == "" {
			return invalid(opMediaUpload, "type", "required")
		}
		return invalid(opMediaUpload, "type", "%q is not image, voice, video or file", r.Type)
	}
	if r.Filename == "" {
		return invalid(opMediaUpload, "media.filename", "required")
	}
	if strings.ContainsAny(r.Filename, "\r\n\x00") {
		return invalid(opMediaUpload, "media.filename", "contains a line break or NUL")
	}
	if strings.ContainsAny(r.ContentType, "\r\n\x00") {
		return invalid(opMediaUpload, "media.content-type", "contains a line break or NUL")
	}
	if r.Body == nil {
		return invalid(opMediaUpload, "media", "nil Body")
	}
	if r.Size < 0 {
		return invalid(opMediaUpload, "media", "negative Size (%d)", r.Size)
	}
	return nil
}

// mediaCheckSize checks a known size against the limits of t.
func mediaCheckSize(t MediaType, size int64) error {
	if size <= mediaMinSize {
		return invalid(opMediaUpload, "media", "%d bytes; must be larger than %d bytes", size, mediaMinSize)
	}
	if limit := t.MaxSize(); size > limit {
		return invalid(opMediaUpload, "media", "%d bytes; %s is limited to %d bytes", size, t, limit)
	}
	return nil
}

// Upload uploads a temporary media (media/upload) as multipart/form-data:
// one part named "media" with the file name, its length when known and a
// content type. The content is streamed from req.Body (the request uses
// chunked transfer encoding) and never held in memory whole.
//
// The type, the file name and, when the size is known (Body is an
// io.Seeker, or Size is set), the documented size limits are checked before
// anything is sent: more than 5 bytes; image and voice at most 2 MB, video
// 10 MB, file 20 MB. When the size is not known the limit is enforced while
// streaming and the upload is aborted once it is exceeded.
//
// A seekable Body is rewound and sent again after a transient failure (a
// replay only leaves an unused media behind, which expires after 3 days).
// A non-seekable Body is sent at most once: a failure that a retry could
// have fixed comes back wrapping both the cause and ErrNotReplayable.
// Upload returns only after it has stopped reading Body.
func (s *MediaService) Upload(ctx context.Context, req *UploadMediaRequest) (*UploadMediaResponse, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	b := &mediaBody{req: req, size: -1, limit: req.Type.MaxSize()}
	if req.Size != 0 {
		b.size = req.Size
	}
	if sk, ok := req.Body.(io.Seeker); ok {
		if start, end, err := mediaMeasure(sk); err == nil {
			if req.Size != 0 && req.Size != end-start {
				return nil, invalid(opMediaUpload, "media", "Size %d differs from the %d bytes left in Body", req.Size, end-start)
			}
			b.seeker, b.start, b.size = sk, start, end-start
		}
	}
	if b.size >= 0 {
		if err := mediaCheckSize(req.Type, b.size); err != nil {
			return nil, err
		}
	}
	defer b.stop()
	var out UploadMediaResponse
	err := (*service)(s).do(ctx, &wxapi.Request{
		Op:     opMediaUpload,
		Method: http.MethodPost,
		Path:   "/cgi-bin/media/upload",
		Query:  url.Values{"type": {string(req.Type)}},
		Body:   b.build,
		// Only a seekable body can be sent again.
		Idempotent: b.seeker != nil,
	}, &out)
	if err != nil {
		b.stop()
		if serr := b.failure(); serr != nil {
			return nil, serr
		}
		if b.seeker == nil && errors.Is(err, ErrOutcomeUnknown) && !errors.Is(err, ErrNotReplayable) {
			err = fmt.Errorf("%w (not retried: %w: the Body is not an io.Seeker)", err, ErrNotReplayable)
		}
		return nil, err
	}
	return &out, nil
}

// mediaMeasure returns the current offset of sk and its end, leaving the
// offset unchanged.
func mediaMeasure(sk io.Seeker) (start, end int64, err error) {
	if start, err = sk.Seek(0, io.SeekCurrent); err != nil {
		return 0, 0, err
	}
	if end, err = sk.Seek(0, io.SeekEnd); err != nil {
		return 0, 0, err
	}
	if _, err = sk.Seek(start, io.SeekStart); err != nil {
		return 0, 0, err
	}
	if end < start {
		return 0, 0, errors.New("end before current offset")
	}
	return start, end, nil
}

// mediaBody builds the multipart body of each upload attempt.
type mediaBody struct {
	req    *UploadMediaRequest
	seeker io.Seeker // nil when the body cannot be rewound
	start  int64     // offset of the content in seeker
	size   int64     // content length; -1 when unknown
	limit  int64     // the type's size limit
	cur    *mediaStream
}

// build is the wxapi.Request.Body builder: it returns a fresh body for an
// attempt, rewinding a seekable source, or ErrNotReplayable when the
// previous attempt consumed a source that cannot be rewound.
func (b *mediaBody) build() (io.Reader, string, error) {
	if prev := b.cur; prev != nil {
		prev.stop()
		if prev.srcErr != nil {
			// The content itself is at fault (too large, wrong size, read
			// error): sending it again cannot help.
			return nil, "", prev.srcErr
		}
		if prev.touched {
			if b.seeker == nil {
				return nil, "", ErrNotReplayable
			}
			if _, err := b.seeker.Seek(b.start, io.SeekStart); err != nil {
				return nil, "", fmt.Errorf("%w: seek: %w", ErrNotReplayable, err)
			}
		}
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	st := &mediaStream{pr: pr, pw: pw, done: make(chan struct{})}
	st.run = func() error { return b.write(st, mw) }
	b.cur = st
	return st, mw.FormDataContentType(), nil
}

// write produces the multipart body of one attempt into mw.
func (b *mediaBody) write(st *mediaStream, mw *multipart.Writer) error {
	disp := `form-data; name="media"; filename="` + mediaQuote(b.req.Filename) + `"`
	if b.size >= 0 {
		// The doc's example part carries the file length too.
		disp += "; filelength=" + strconv.FormatInt(b.size, 10)
	}
	ctype := b.req.ContentType
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", disp)
	h.Set("Content-Type", ctype)
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	// Read one byte more than allowed to notice a longer body.
	capN := b.limit
	if b.size >= 0 {
		capN = b.size
	}
	st.touched = true
	src := &mediaSource{r: io.LimitReader(b.req.Body, capN+1)}
	n, err := io.Copy(part, src)
	if src.err != nil {
		st.srcErr = fmt.Errorf("%s: read media: %w", opMediaUpload, src.err)
		return st.srcErr
	}
	if err != nil {
		return err // the transport stopped reading
	}
	switch {
	case b.size >= 0 && n > b.size:
		st.srcErr = invalid(opMediaUpload, "media", "Body holds more than the expected %d bytes", b.size)
	case b.size >= 0 && n < b.size:
		st.srcErr = invalid(opMediaUpload, "media", "Body holds %d bytes, not the expected %d", n, b.size)
	case n > b.limit:
		st.srcErr = invalid(opMediaUpload, "media", "more than %d bytes; %s is limited to %d bytes", b.limit, b.req.Type, b.limit)
	case n <= mediaMinSize:
		st.srcErr = invalid(opMediaUpload, "media", "%d bytes; must be larger than %d bytes", n, mediaMinSize)
	}
	if st.srcErr != nil {
		return st.srcErr
	}
	return mw.Close()
}

// stop ends the current attempt's stream and waits until it no longer reads
// the source.
func (b *mediaBody) stop() {
	if b.cur != nil {
		b.cur.stop()
	}
}

// failure returns the content error of the last attempt, if any.
func (b *mediaBody) failure() error {
	if b.cur == nil {
		return nil
	}
	return b.cur.srcErr
}

// mediaSource remembers the read error of the source, to tell it apart from
// the transport closing the pipe.
type mediaSource struct {
	r   io.Reader
	err error
}

func (s *mediaSource) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// mediaStream is the body of one attempt: a pipe whose writer goroutine
// starts on the first Read, so that an attempt that never sends its body
// leaves the source untouched.
type mediaStream struct {
	pr   *io.PipeReader
	pw   *io.PipeWriter
	run  func() error
	once sync.Once
	done chan struct{}
	// Written by the writer goroutine, read after done is closed.
	touched bool  // the source was read
	srcErr  error // the content was at fault
}

// Read implements io.Reader.
func (s *mediaStream) Read(p []byte) (int, error) {
	s.once.Do(func() {
		go func() {
			defer close(s.done)
			s.pw.CloseWithError(s.run())
		}()
	})
	return s.pr.Read(p)
}

// Close implements io.Closer; the transport calls it when done.
func (s *mediaStream) Close() error { return s.pr.Close() }

// stop closes the pipe and waits for the writer goroutine, if it started.
func (s *mediaStream) stop() {
	s.pr.Close()
	s.once.Do(func() { close(s.done) })
	<-s.done
}

// mediaQuote escapes a file name for a quoted header parameter.
func mediaQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// DownloadInfo describes a downloaded media.
type DownloadInfo struct {
	// ContentType is the reply's Content-Type, e.g. "image/jpeg".
	ContentType string
	// Filename is the file name from Content-Disposition, if any.
	Filename string
	// Size is the number of bytes written.
	Size int64
}

// mediaJSONFile captures a JSON reply without errcode: the media itself is
// a JSON document (the transport decodes every JSON-typed reply).
type mediaJSONFile struct{ data []byte }

func (m *mediaJSONFile) UnmarshalJSON(b []byte) error {
	m.data = append([]byte(nil), b...)
	return nil
}

// Download streams a temporary media (media/get) into w; media_ids of
// received messages are valid for 3 days. A JSON error reply (for example
// 40007 invalid media_id) is returned as an *APIError and nothing is
// written to w. A failure after part of the content was written is not
// retried. Media larger than 20 MB need HTTP Range requests, which this
// method does not make.
func (s *MediaService) Download(ctx context.Context, mediaID string, w io.Writer) (*DownloadInfo, error) {
	if mediaID == "" {
		return nil, invalid(opMediaGet, "media_id", "required")
	}
	if w == nil {
		return nil, invalid(opMediaGet, "w", "nil writer")
	}
	info := &DownloadInfo{}
	cw := &mediaCountingWriter{w: w}
	var jf mediaJSONFile
	err := (*service)(s).do(ctx, &wxapi.Request{
		Op:         opMediaGet,
		Method:     http.MethodGet,
		Path:       "/cgi-bin/media/get",
		Query:      url.Values{"media_id": {mediaID}},
		Idempotent: true,
		Download:   cw,
		OnHeader: func(h http.Header) {
			info.ContentType = h.Get("Content-Type")
			info.Filename = mediaFilename(h.Get("Content-Disposition"))
		},
	}, &jf)
	if err != nil {
		return nil, err
	}
	if jf.data != nil {
		// A JSON document without errcode: the media is a JSON file.
		info.ContentType = "application/json"
		if _, err := cw.Write(jf.data); err != nil {
			return nil, fmt.Errorf("%s: write: %w", opMediaGet, err)
		}
	}
	info.Size = cw.n
	return info, nil
}

// mediaCountingWriter counts the bytes written through it.
type mediaCountingWriter struct {
	w io.Writer
	n int64
}

func (c *mediaCountingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// mediaFilename extracts the file name of a Content-Disposition header
// (filename* in RFC 2231 form is decoded); it tolerates the unquoted and
// raw UTF-8 forms servers send.
func mediaFilename(cd string) string {
	if cd == "" {
		return ""
	}
	if _, params, err := mime.ParseMediaType(cd); err == nil {
		return params["filename"]
	}
	// Fallback for headers mime rejects: take filename="..." or filename=...
	i := strings.Index(strings.ToLower(cd), "filename=")
	if i < 0 {
		return ""
	}
	v := cd[i+len("filename="):]
	if strings.HasPrefix(v, `"`) {
		if j := strings.Index(v[1:], `"`); j >= 0 {
			return v[1 : j+1]
		}
		return v[1:]
	}
	if j := strings.IndexByte(v, ';'); j >= 0 {
		v = v[:j]
	}
	return strings.TrimSpace(v)
}
