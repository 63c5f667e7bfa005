package kftest

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/wxkf/kf"
)

// The customer's window: a small web page, embedded in the binary, where a
// person plays a WeChat customer. It is served at / and /_kftest/chat, with
// its assets under /_kftest/web/. It talks only to the control API (and the
// routes below); live updates come from GET /_kftest/events.
//
// Routes added for the page (no access_token, JSON errors as in control.go):
//
//	GET  /_kftest/media/{media_id}      the bytes of a medium (uploaded, PutMedia or media/upload),
//	                                    404 when unknown or older than 3 days
//	POST /_kftest/media?type=image      a file the customer sends: multipart/form-data with a part
//	                                    "media" (with a filename), or the raw bytes with ?filename=;
//	                                    stored with PutMedia → {media_id, type, size}
//	GET  /_kftest/contact_links?open_kfid=   → {links: [{url, scene}]}
//	POST /_kftest/contact_links         {open_kfid, scene?} → {url, scene} (as kf/add_contact_way)
//	POST /_kftest/contact_links/resolve {url} → {open_kfid, scene, scene_param}

//go:embed web
var webFS embed.FS

// webAsset is one embedded file, ready to serve.
type webAsset struct {
	name  string
	ctype string
	etag  string
	data  []byte
}

// webAssets are the files of web/, by base name, loaded once.
var webAssets = func() map[string]*webAsset {
	sub, err := fs.Sub(webFS, "web")
	if err != nil {
		panic("kftest: web assets: " + err.Error())
	}
	types := map[string]string{
		".html": "text/html; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".svg":  "image/svg+xml",
		".png":  "image/png",
		".ico":  "image/x-icon",
	}
	out := map[string]*webAsset{}
	entries, err := fs.ReadDir(sub, ".")
	if err != nil {
		panic("kftest: web assets: " + err.Error())
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(sub, e.Name())
		if err != nil {
			panic("kftest: web assets: " + err.Error())
		}
		ct := types[path.Ext(e.Name())]
		if ct == "" {
			ct = http.DetectContentType(b)
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = &webAsset{name: e.Name(), ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, data: b}
	}
	return out
}()

// webCSP keeps the page to its own origin (no CDN, no inline script);
// images may come from anywhere because link cards show the sender's pic_url.
const webCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src * data: blob:; " +
	"media-src 'self' blob:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"

// maxWebUpload is the multipart framing allowed on top of a media type's
// size limit in POST /_kftest/media.
const maxWebUpload = 1 << 20

func (s *Server) routesWeb() {
	s.mux.HandleFunc("GET /{$}", s.webIndex)
	s.mux.HandleFunc("GET /_kftest/chat", s.webIndex)
	s.mux.HandleFunc("GET /_kftest/web/{file}", s.webFile)
	s.mux.HandleFunc("GET /_kftest/media/{media_id}", s.webMedia)
	s.mux.HandleFunc("POST /_kftest/media", s.webUpload)
	h := func(pattern string, fn func(r *http.Request) (any, error)) {
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { s.serveControl(w, r, fn) })
	}
	h("GET /_kftest/contact_links", s.webContactLinks)
	h("POST /_kftest/contact_links", s.webAddContactLink)
	h("POST /_kftest/contact_links/resolve", s.webResolveLink)
}

func serveAsset(w http.ResponseWriter, r *http.Request, a *webAsset) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if a.ctype == webAssets["index.html"].ctype {
		h.Set("Content-Security-Policy", webCSP)
		h.Set("Referrer-Policy", "no-referrer")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.data))
}

func (s *Server) webIndex(w http.ResponseWriter, r *http.Request) {
	serveAsset(w, r, webAssets["index.html"])
}

func (s *Server) webFile(w http.ResponseWriter, r *http.Request) {
	a := webAssets[r.PathValue("file")]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	serveAsset(w, r, a)
}

// webMedia streams a medium by media_id, without a token, for the page's
// <img>, <video> and download links.
func (s *Server) webMedia(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("media_id")
	var m media
	found := false
	_ = s.store.View(func(st *State) error {
		if lm := st.liveMedia(id, "", s.clock.Now()); lm != nil {
			m, found = *lm, true
		}
		return nil
	})
	if !found {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("media_id %q unknown or older than 3 days", id)})
		return
	}
	h := w.Header()
	ct := m.ctype
	if ct == "" {
		ct = http.DetectContentType(m.data)
	}
	h.Set("Content-Type", ct)
	disp := "attachment"
	if mt, _, _ := mime.ParseMediaType(ct); strings.HasPrefix(mt, "image/") || strings.HasPrefix(mt, "video/") || strings.HasPrefix(mt, "audio/") {
		disp = "inline"
	}
	if m.filename != "" {
		if cd := mime.FormatMediaType(disp, map[string]string{"filename": m.filename}); cd != "" {
			disp = cd
		}
	}
	h.Set("Content-Disposition", disp)
	// A media_id never changes content.
	h.Set("Cache-Control", "private, max-age=3600, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	http.ServeContent(w, r, "", m.created, bytes.NewReader(m.data))
}

// webUpload stores a file the customer is about to send (PutMedia) and
// returns its media_id. The type's size limit applies; the content is not
// checked (customers' media are not, see the package doc).
func (s *Server) webUpload(w http.ResponseWriter, r *http.Request) {
	typ := r.URL.Query().Get("type")
	if typ == "" {
		typ = "image"
	}
	limit := kf.MediaType(typ).MaxSize()
	var name string
	var data []byte
	var err error
	if limit == 0 {
		err = badRequest("type %q: want image, voice, video or file", typ)
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, limit+maxWebUpload)
		name, data, err = readWebUpload(r, limit)
	}
	s.serveControl(w, r, func(*http.Request) (any, error) {
		if err != nil {
			return nil, err
		}
		id := s.PutMedia(typ, name, data)
		return map[string]any{"media_id": id, "type": typ, "size": len(data)}, nil
	})
}

// readWebUpload reads the "media" part of a multipart body, or the raw body
// named by ?filename=.
func readWebUpload(r *http.Request, limit int64) (filename string, data []byte, err error) {
	tooLarge := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("larger than %d bytes", limit)}
		}
		return badRequest("reading the body: %v", err)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			return "", nil, badRequest("invalid multipart body: %v", err)
		}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return "", nil, badRequest(`no part named "media"`)
			}
			if err != nil {
				return "", nil, tooLarge(err)
			}
			if p.FormName() != "media" {
				continue
			}
			filename = p.FileName()
			data, err = io.ReadAll(io.LimitReader(p, limit+1))
			if err != nil {
				return "", nil, tooLarge(err)
			}
			break
		}
	} else {
		filename = r.URL.Query().Get("filename")
		data, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return "", nil, tooLarge(err)
		}
	}
	switch {
	case int64(len(data)) > limit:
		return "", nil, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("larger than %d bytes", limit)}
	case len(data) == 0:
		return "", nil, badRequest("empty file")
	}
	if filename == "" {
		filename = "upload"
	}
	filename = path.Base(strings.ReplaceAll(filename, `\`, "/"))
	return filename, data, nil
}

// webLink is a contact link of an account.
type webLink struct {
	URL   string `json:"url"`
	Scene string `json:"scene"`
}

func (s *Server) webContactLinks(r *http.Request) (any, error) {
	id := r.URL.Query().Get("open_kfid")
	if err := required("open_kfid", id); err != nil {
		return nil, err
	}
	links := []webLink{}
	err := s.store.View(func(st *State) error {
		acc, err := driverAccount(st, id)
		if err != nil {
			return err
		}
		for lid, l := range acc.links {
			links = append(links, webLink{URL: contactURL(lid, l), Scene: l.scene})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(links, func(a, b webLink) int {
		return cmpOr(strings.Compare(a.Scene, b.Scene), strings.Compare(a.URL, b.URL))
	})
	return map[string]any{"links": links}, nil
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// webAddContactLink makes a contact link as kf/add_contact_way does (same
// rules and errors, the same link for the same scene).
func (s *Server) webAddContactLink(r *http.Request) (any, error) {
	var req kf.ContactWayRequest
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	body, _ := json.Marshal(req)
	var url string
	err := s.store.Update(func(st *State) error {
		c := &call{s: s, r: r, now: s.clock.Now(), body: body}
		v, err := s.addContactWay(c, st)
		if err != nil {
			return err
		}
		url = v.(kf.ContactWayResponse).URL
		return nil
	})
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.code == kf.ErrCodeOpenKfIDNotFound:
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ae.msg)
	case errors.As(err, &ae):
		return nil, badRequest("%s (errcode %d)", ae.msg, int(ae.code))
	case err != nil:
		return nil, err
	}
	return webLink{URL: url, Scene: req.Scene}, nil
}

func (s *Server) webResolveLink(r *http.Request) (any, error) {
	var req struct {
		URL string `json:"url"`
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("url", strings.TrimSpace(req.URL)); err != nil {
		return nil, err
	}
	id, scene, param, err := s.ResolveContactURL(strings.TrimSpace(req.URL))
	if err != nil {
		return nil, badRequest("%v", err)
	}
	return map[string]string{"open_kfid": id, "scene": scene, "scene_param": param}, nil
}
