package kftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/wxkf/kf"
)

// maxRequestBody bounds a JSON request body (uploads have their own limit).
const maxRequestBody = 4 << 20

type jsonRaw = json.RawMessage

// call is one API request being served.
type call struct {
	s    *Server
	r    *http.Request
	now  time.Time
	body []byte
	// after runs once the state change is committed (outside the store
	// lock): callbacks, live updates.
	after []func()
}

// decode unmarshals the JSON body into v. A body that is not JSON answers
// 40058 with the platform's "wrong json format" warning.
func (c *call) decode(v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return apiErr(kf.ErrCodeParameterEmpty, "empty request body")
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return apiErr(kf.ErrCodeInvalidParameter, "Warning: wrong json format. %s", jsonErrText(err))
	}
	return nil
}

func jsonErrText(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return "syntax error at offset " + strconv.FormatInt(se.Offset, 10)
	}
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return "invalid type for field " + te.Field
	}
	return "invalid json"
}

// later runs fn after the call's state change is committed.
func (c *call) later(fn func()) { c.after = append(c.after, fn) }

// apiError is an errcode answer.
type apiError struct {
	code kf.ErrCode
	msg  string
}

func (e *apiError) Error() string { return fmt.Sprintf("errcode %d: %s", int(e.code), e.msg) }

// apiErr returns an errcode answer with a message.
func apiErr(code kf.ErrCode, format string, args ...any) error {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// handlerFunc serves one endpoint with exclusive access to the state. It
// returns the reply (marshalled as a JSON object to which errcode and errmsg
// are added), or an error (an *apiError becomes an errcode answer).
type handlerFunc func(c *call, st *State) (any, error)

// endpoint describes one platform endpoint.
type endpoint struct {
	path    string
	methods []string // allowed HTTP methods
	noToken bool     // gettoken
	read    bool     // only reads the state (View instead of Update)
	fn      handlerFunc
}

// api registers an endpoint.
func (s *Server) api(ep endpoint) {
	s.mux.HandleFunc(ep.path, func(w http.ResponseWriter, r *http.Request) { s.serveAPI(ep, w, r) })
}

func (s *Server) serveAPI(ep endpoint, w http.ResponseWriter, r *http.Request) {
	f, body, ok := beginAPI(s, w, r, ep.path, ep.methods, !isMultipart(r))
	if !ok {
		return
	}
	c := &call{s: s, r: r, now: s.clock.Now(), body: body}
	var reply any
	run := func(st *State) error {
		if !ep.noToken {
			if err := checkToken(st, r.URL.Query().Get("access_token"), c.now); err != nil {
				return err
			}
		}
		var err error
		reply, err = ep.fn(c, st)
		return err
	}
	var err error
	if ep.read {
		err = s.store.View(run)
	} else {
		err = s.store.Update(run)
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	for _, fn := range c.after {
		fn()
	}
	if f.DropAfter {
		dropConn(w)
		return
	}
	s.writeOK(w, reply)
}

// The answers of the steps beginAPI takes, in the WeCom format.
func (s *Server) faultErr(code kf.ErrCode) error { return &apiError{code: code, msg: "injected fault"} }

func (s *Server) methodErr(r *http.Request, methods []string) error {
	return apiErr(kf.ErrCodeInvalidParameter, "invalid http method %s, use %v", r.Method, methods)
}

func (s *Server) tooLargeErr() error {
	return apiErr(kf.ErrCodeInvalidParameter, "request body too large")
}

func isMultipart(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return len(ct) >= 19 && ct[:19] == "multipart/form-data"
}

// rawReply is a reply already encoded as a JSON object without errcode.
type rawReply []byte

// replyWriter is a reply that writes itself instead of a JSON object (the
// binary body of media/get).
type replyWriter interface{ writeReply(w http.ResponseWriter) }

const jsonContentType = "application/json; charset=UTF-8"

func (s *Server) writeOK(w http.ResponseWriter, v any) {
	var b []byte
	switch v := v.(type) {
	case nil:
	case rawReply:
		b = v
	case replyWriter:
		v.writeReply(w)
		return
	default:
		var err error
		b, err = json.Marshal(v)
		if err != nil {
			s.writeErr(w, nil, apiErr(kf.ErrCodeSystemBusy, "emulator could not encode the reply: %v", err))
			return
		}
	}
	writeAPIJSON(w, jsonContentType, okJSON(b))
}

// writeErr answers an errcode the way the platform does: HTTP 200, errcode,
// and an errmsg carrying a hint and a "more info" link.
func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		ae = &apiError{code: kf.ErrCodeSystemBusy, msg: "system error: " + err.Error()}
	}
	ip := "127.0.0.1"
	if r != nil {
		if h, _, e := net.SplitHostPort(r.RemoteAddr); e == nil {
			ip = h
		}
	}
	msg := fmt.Sprintf("%s, hint: [%d%s], from ip: %s, more info at https://open.work.weixin.qq.com/devtool/query?e=%d",
		ae.msg, s.clock.Now().Unix(), s.randID(8), ip, int(ae.code))
	writeAPIJSON(w, jsonContentType, errJSON(ae.code, msg))
}

// ---------------------------------------------------------------------------
// The steps both platforms' APIs (Server.serveAPI, OAServer.serveOA) take.

// apiPlatform is a platform's part in beginAPI: its faults and random
// source, its errcode answer (writeErr, in the platform's errmsg format)
// and the errors of an injected errcode, a method the endpoint does not
// take and a body over maxRequestBody.
type apiPlatform interface {
	take(path string, rnd interface{ randFloat() float64 }) (Fault, bool)
	randFloat() float64
	writeErr(w http.ResponseWriter, r *http.Request, err error)
	faultErr(code kf.ErrCode) error
	methodErr(r *http.Request, methods []string) error
	tooLargeErr() error
}

// beginAPI takes the steps before an API call is served: it counts the call
// and injects its fault, if any (Delay, then Drop, HTTPStatus or Code),
// checks the method and, if readBody, reads a POST body. It returns the
// fault, whose DropAfter applies once the call is served, and the body; ok
// is false when the request has been answered (or is gone).
func beginAPI(p apiPlatform, w http.ResponseWriter, r *http.Request, path string, methods []string, readBody bool) (f Fault, body []byte, ok bool) {
	if f, ok = p.take(path, p); ok {
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return f, nil, false
			}
		}
		switch {
		case f.Drop:
			dropConn(w)
			return f, nil, false
		case f.HTTPStatus != 0:
			http.Error(w, http.StatusText(f.HTTPStatus), f.HTTPStatus)
			return f, nil, false
		case f.Code != 0:
			p.writeErr(w, r, p.faultErr(f.Code))
			return f, nil, false
		}
	}
	if !slices.Contains(methods, r.Method) {
		p.writeErr(w, r, p.methodErr(r, methods))
		return f, nil, false
	}
	if readBody && r.Method == http.MethodPost && r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		if err != nil {
			return f, nil, false
		}
		if len(b) > maxRequestBody {
			p.writeErr(w, r, p.tooLargeErr())
			return f, nil, false
		}
		body = b
	}
	return f, body, true
}

// okJSON returns the success answer {"errcode":0,"errmsg":"ok",...} with
// the members of the JSON object b (nil: none).
func okJSON(b []byte) []byte {
	const prefix = `{"errcode":0,"errmsg":"ok"`
	out := make([]byte, 0, len(prefix)+len(b)+1)
	out = append(out, prefix...)
	if len(b) > 2 && b[0] == '{' {
		out = append(out, ',')
		return append(out, b[1:]...)
	}
	return append(out, '}')
}

// errJSON returns an errcode answer.
func errJSON(code kf.ErrCode, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}{int(code), msg})
	return b
}

// writeAPIJSON writes an API answer with HTTP 200.
func writeAPIJSON(w http.ResponseWriter, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Write(b)
}

func dropConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

// nextID returns a new unique id with the given prefix.
func (st *State) nextID(prefix string) string {
	st.seq++
	return prefix + strconv.FormatUint(st.seq, 36)
}

// routes registers every endpoint.
func (s *Server) routes() {
	s.routesToken()
	s.routesAdmin()     // admin.go: accounts, servicers, customers, upgrade, stats, knowledge, media, idconvert
	s.routesMessaging() // messaging.go: service_state, sync_msg, send_msg, send_msg_on_event, recall_msg
	s.routesControl()   // control.go: /_kftest/ control API
	s.routesWeb()       // web.go: the customer chat page
}
