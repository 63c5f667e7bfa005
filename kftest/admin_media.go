package kftest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"time"

	"github.com/wxkf/kf"
)

// Temporary media: media/upload and media/get; shared/api-surface.md §1.3.
//
// Uploads are multipart/form-data with one part named "media" carrying a
// filename. Media live 3 days on the emulator clock. Type limits: more than
// 5 bytes (40006); image and voice at most 2 MiB, video 10 MiB, file 20 MiB
// (image 40009, others 45001); an image must be JPEG or PNG, a voice AMR, a
// video MP4, judged by the content's first bytes (40004); a type other than
// image, voice, video and file answers 40005.

const (
	mediaTTL       = 72 * time.Hour
	mediaMinSize   = 5       // a file must be larger than this
	mediaOverhead  = 1 << 20 // multipart framing allowed on top of the type's limit
	mediaIDLength  = 40
	mediaPruneStep = 64 // prune expired media every this many uploads
)

// mediaLimit returns the size limit of a media type, 0 for an unknown type.
func mediaLimit(typ string) int64 { return kf.MediaType(typ).MaxSize() }

// liveMedia returns the media if it exists, is less than 3 days old and,
// when typ is not "", of type typ; otherwise nil.
func (st *State) liveMedia(id, typ string, now time.Time) *media {
	m := st.media[id]
	if m == nil || now.Sub(m.created) >= mediaTTL || (typ != "" && m.typ != typ) {
		return nil
	}
	return m
}

// putMedia stores a medium and returns it; data is kept as given and must
// not be changed afterwards.
func (s *Server) putMedia(st *State, typ, filename, ctype string, data []byte, now time.Time) *media {
	if len(st.media)%mediaPruneStep == 0 {
		for id, m := range st.media {
			if now.Sub(m.created) >= mediaTTL+24*time.Hour {
				delete(st.media, id)
			}
		}
	}
	if ctype == "" || ctype == "application/octet-stream" {
		ctype = mime.TypeByExtension(path.Ext(filename))
		if ctype == "" {
			ctype = http.DetectContentType(data)
		}
	}
	m := &media{typ: typ, filename: filename, ctype: ctype, data: data, created: now}
	for {
		m.id = "MT" + s.randID(mediaIDLength)
		if st.media[m.id] == nil {
			break
		}
	}
	st.media[m.id] = m
	return m
}

// PutMedia stores a temporary medium as if it had been uploaded now (or
// received from a customer) and returns its media_id, valid for 3 days on
// the emulator clock. typ is image, voice, video or file; no size or format
// check is made. Drivers and tests use it for the media customers send.
func (s *Server) PutMedia(typ, filename string, data []byte) (mediaID string) {
	_ = s.store.Update(func(st *State) error {
		mediaID = s.putMedia(st, typ, filename, "", bytes.Clone(data), s.clock.Now()).id
		return nil
	})
	return mediaID
}

// upload is a parsed media/upload request.
type upload struct {
	typ, filename, ctype string
	data                 []byte
}

func (s *Server) routesMedia() {
	const uploadPath = "/cgi-bin/media/upload"
	s.mux.HandleFunc(uploadPath, func(w http.ResponseWriter, r *http.Request) {
		// The body is read before the store is locked; errors found while
		// reading are answered through serveAPI, after the token check.
		var up *upload
		var perr error
		if r.Method == http.MethodPost {
			up, perr = readUpload(w, r)
		}
		s.serveAPI(endpoint{path: uploadPath, methods: onlyPOST, fn: func(c *call, st *State) (any, error) {
			if perr != nil {
				return nil, perr
			}
			m := s.putMedia(st, up.typ, up.filename, up.ctype, up.data, c.now)
			return kf.UploadMediaResponse{Type: kf.MediaType(m.typ), MediaID: m.id, CreatedAt: m.created}, nil
		}}, w, r)
	})
	s.api(endpoint{path: "/cgi-bin/media/get", methods: onlyGET, read: true, fn: s.mediaGet})
}

// readUpload reads and checks the multipart body of media/upload.
func readUpload(w http.ResponseWriter, r *http.Request) (*upload, error) {
	typ := r.URL.Query().Get("type")
	limit := mediaLimit(typ)
	if limit == 0 {
		return nil, apiErr(kf.ErrCodeInvalidFileType, "invalid type %q: want image, voice, video or file", typ)
	}
	if !isMultipart(r) {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "want a multipart/form-data body")
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+mediaOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid multipart body: %v", err)
	}
	tooLarge := func() error {
		if typ == "image" {
			return apiErr(kf.ErrCodeInvalidImageSize, "image larger than %d bytes", limit)
		}
		return apiErr(kf.ErrCodeMediaTooLarge, "%s larger than %d bytes", typ, limit)
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, apiErr(kf.ErrCodeParameterEmpty, "no part named media")
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		if err != nil {
			return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid multipart body: %v", err)
		}
		if p.FormName() != "media" {
			continue // NextPart skips the rest of this part
		}
		up := &upload{typ: typ, filename: p.FileName(), ctype: p.Header.Get("Content-Type")}
		if up.filename == "" {
			return nil, apiErr(kf.ErrCodeInvalidParameter, "the media part carries no filename")
		}
		up.data, err = io.ReadAll(io.LimitReader(p, limit+1))
		switch {
		case errors.As(err, &mbe) || int64(len(up.data)) > limit:
			return nil, tooLarge()
		case err != nil:
			return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid multipart body: %v", err)
		case len(up.data) <= mediaMinSize:
			return nil, apiErr(kf.ErrCodeInvalidFileSize, "invalid file size %d: must be larger than %d bytes", len(up.data), mediaMinSize)
		case !mediaFormatOK(typ, up.data):
			return nil, apiErr(kf.ErrCodeInvalidMediaType, "invalid media file type: %s must be %s", typ, mediaFormats[typ])
		}
		return up, nil
	}
}

var mediaFormats = map[string]string{"image": "JPG or PNG", "voice": "AMR", "video": "MP4", "file": "any file"}

// mediaFormatOK checks the content's signature: JPEG or PNG for images,
// AMR for voice, an MP4 ftyp box for video; files may be anything.
func mediaFormatOK(typ string, b []byte) bool {
	switch typ {
	case "image":
		return bytes.HasPrefix(b, []byte("\xff\xd8\xff")) || bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n"))
	case "voice":
		return bytes.HasPrefix(b, []byte("#!AMR"))
	case "video":
		return len(b) >= 8 && string(b[4:8]) == "ftyp"
	}
	return true
}

// mediaFile is the binary reply of media/get.
type mediaFile struct {
	r *http.Request
	m *media
}

func (f mediaFile) writeReply(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", f.m.ctype)
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": f.m.filename})
	if cd == "" {
		cd = "attachment"
	}
	h.Set("Content-Disposition", cd)
	h.Set("Cache-Control", "no-cache, must-revalidate")
	// ServeContent answers HTTP Range requests, as the platform does.
	http.ServeContent(w, f.r, "", f.m.created, bytes.NewReader(f.m.data))
}

// mediaGet serves GET media/get?media_id=: the content, or 40007 (as JSON)
// when the id is unknown or older than 3 days.
func (s *Server) mediaGet(c *call, st *State) (any, error) {
	id := c.r.URL.Query().Get("media_id")
	if id == "" {
		return nil, apiErr(kf.ErrCodeParameterEmpty, "media_id missing")
	}
	m := st.liveMedia(id, "", c.now)
	if m == nil {
		return nil, apiErr(kf.ErrCodeInvalidMediaID, "invalid media_id")
	}
	return mediaFile{r: c.r, m: m}, nil
}
