package kftest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wxkf/kf"
)

// maxControlBody bounds a control API request body.
const maxControlBody = 1 << 20

// sseHeartbeat is how often the event stream sends a comment line.
const sseHeartbeat = 15 * time.Second

// routesControl registers the control API under /_kftest/ (see the package
// doc). It takes no access_token; errors answer {"error": "..."} with HTTP
// 400 (bad request), 404 (unknown id) or 409 (not possible now).
func (s *Server) routesControl() {
	h := func(pattern string, fn func(r *http.Request) (any, error)) {
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { s.serveControl(w, r, fn) })
	}
	h("POST /_kftest/customers", s.ctlAddCustomer)
	h("GET /_kftest/state", s.ctlState)
	h("POST /_kftest/enter", s.ctlEnter)
	h("POST /_kftest/customer/send", s.ctlCustomerSend)
	h("POST /_kftest/customer/recall", s.ctlCustomerRecall)
	h("POST /_kftest/servicer/accept", s.ctlServicerAccept)
	h("POST /_kftest/servicer/transfer", s.ctlServicerTransfer)
	h("POST /_kftest/servicer/end", s.ctlServicerEnd)
	h("POST /_kftest/servicer/send", s.ctlServicerSend)
	h("POST /_kftest/servicer/recall", s.ctlServicerRecall)
	h("POST /_kftest/servicer/status", s.ctlServicerStatus)
	h("POST /_kftest/servicer/reject", s.ctlServicerReject)
	h("POST /_kftest/send_failed", s.ctlSendFailed)
	h("GET /_kftest/conversation", s.ctlConversation)
	h("GET /_kftest/synclog", s.ctlSyncLog)
	h("POST /_kftest/sync_token", s.ctlSyncToken)
	h("POST /_kftest/clock", s.ctlClock)
	h("POST /_kftest/faults", s.ctlFaults)
	h("POST /_kftest/faults/clear", s.ctlFaultsClear)
	h("POST /_kftest/error_rate", s.ctlErrorRate)
	h("POST /_kftest/tokens/revoke", s.ctlRevoke)
	h("GET /_kftest/calls", s.ctlCalls)
	s.mux.HandleFunc("GET /_kftest/events", s.ctlEvents)
}

// httpError is a control API error with its HTTP status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request, fn func(r *http.Request) (any, error)) {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxControlBody)
	}
	v, err := fn(r)
	if err != nil {
		status := http.StatusBadRequest
		var he *httpError
		switch {
		case errors.As(err, &he):
			status = he.status
		case errors.Is(err, ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, ErrNotAllowed):
			status = http.StatusConflict
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	if v == nil {
		v = struct{}{}
	}
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"cannot encode the reply"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// readBody reads the request body, bounded by serveControl: over 1 MiB
// answers 413.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &httpError{http.StatusRequestEntityTooLarge, "request body larger than 1 MiB"}
		}
		return nil, badRequest("reading the body: %v", err)
	}
	return b, nil
}

// readJSON decodes the request body into v; an empty body leaves v as is.
func readJSON(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("bad JSON: %v", err)
	}
	return nil
}

func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return badRequest("%s required", pairs[i])
		}
	}
	return nil
}

func (s *Server) ctlAddCustomer(r *http.Request) (any, error) {
	var req SeedCustomer
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	id, err := s.AddCustomer(req)
	if err != nil {
		return nil, err
	}
	return map[string]string{"external_userid": id}, nil
}

type ctlStateReply struct {
	CorpID    string           `json:"corp_id"`
	Accounts  []ctlAccount     `json:"accounts"`
	Customers []ctlCustomer    `json:"customers"`
	Members   []ctlMember      `json:"members"`
	Now       time.Time        `json:"now"`
	Callback  *ctlCallbackInfo `json:"callback,omitempty"`
}

type ctlAccount struct {
	OpenKfID  string   `json:"open_kfid"`
	Name      string   `json:"name"`
	Servicers []string `json:"servicers"`
}

type ctlCustomer struct {
	ExternalUserID string `json:"external_userid"`
	Nickname       string `json:"nickname"`
}

type ctlMember struct {
	UserID    string `json:"userid"`
	Activated bool   `json:"activated"`
	Status    int    `json:"status"`    // 0 receiving, 1 stopped
	StopType  int    `json:"stop_type"` // 0 stopped, 1 suspended
}

type ctlCallbackInfo struct {
	URL   string        `json:"url"`
	Stats CallbackStats `json:"stats"`
}

func (s *Server) ctlState(r *http.Request) (any, error) {
	out := ctlStateReply{CorpID: s.cfg.corpID, Now: s.clock.Now(),
		Accounts: []ctlAccount{}, Customers: []ctlCustomer{}, Members: []ctlMember{}}
	_ = s.store.View(func(st *State) error {
		for _, id := range st.accountOrder {
			acc := st.accounts[id]
			if acc == nil {
				continue
			}
			a := ctlAccount{OpenKfID: id, Name: acc.name, Servicers: []string{}}
			for _, u := range acc.servicerOrder {
				if _, ok := acc.servicers[u]; ok {
					a.Servicers = append(a.Servicers, u)
				}
			}
			out.Accounts = append(out.Accounts, a)
		}
		for _, cu := range st.customers {
			out.Customers = append(out.Customers, ctlCustomer{cu.externalUserID, cu.nickname})
		}
		for _, m := range st.users {
			out.Members = append(out.Members, ctlMember{m.userID, m.activated, m.status, m.stopType})
		}
		return nil
	})
	slices.SortFunc(out.Customers, func(a, b ctlCustomer) int { return strings.Compare(a.ExternalUserID, b.ExternalUserID) })
	slices.SortFunc(out.Members, func(a, b ctlMember) int { return strings.Compare(a.UserID, b.UserID) })
	if s.cb != nil {
		out.Callback = &ctlCallbackInfo{URL: s.cb.cfg.URL, Stats: s.CallbackStats()}
	}
	return out, nil
}

// ctlTarget names a customer's session with an account.
type ctlTarget struct {
	OpenKfID       string `json:"open_kfid"`
	ExternalUserID string `json:"external_userid"`
}

func (t ctlTarget) check() error {
	return required("open_kfid", t.OpenKfID, "external_userid", t.ExternalUserID)
}

func (s *Server) ctlEnter(r *http.Request) (any, error) {
	var req struct {
		ctlTarget
		EnterOptions
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	code, err := s.EnterSession(req.OpenKfID, req.ExternalUserID, req.EnterOptions)
	if err != nil {
		return nil, err
	}
	return map[string]string{"welcome_code": code}, nil
}

// ctlMessage reads {msgtype, <msgtype>: {...}} (plus other fields) into a
// CustomerMsg; the rest of the body goes to v.
func ctlMessage(r *http.Request, v any) (CustomerMsg, error) {
	b, err := readBody(r)
	if err != nil {
		return CustomerMsg{}, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return CustomerMsg{}, badRequest("bad JSON: %v", err)
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	var t string
	if err := json.Unmarshal(m["msgtype"], &t); err != nil || t == "" {
		return CustomerMsg{}, badRequest("msgtype required")
	}
	return CustomerMsg{MsgType: t, Payload: m[t]}, nil
}

func (s *Server) ctlCustomerSend(r *http.Request) (any, error) {
	var req ctlTarget
	m, err := ctlMessage(r, &req)
	if err != nil {
		return nil, err
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	id, err := s.CustomerSend(req.OpenKfID, req.ExternalUserID, m)
	if err != nil {
		return nil, err
	}
	return map[string]string{"msgid": id}, nil
}

type ctlMsgRef struct {
	ctlTarget
	ServicerUserID string `json:"servicer_userid"`
	MsgID          string `json:"msgid"`
}

func (s *Server) ctlCustomerRecall(r *http.Request) (any, error) {
	var req ctlMsgRef
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if err := firstErr(req.check(), required("msgid", req.MsgID)); err != nil {
		return nil, err
	}
	return nil, s.CustomerRecall(req.OpenKfID, req.ExternalUserID, req.MsgID)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (s *Server) ctlServicerAccept(r *http.Request) (any, error) {
	var req ctlMsgRef
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if err := firstErr(req.check(), required("servicer_userid", req.ServicerUserID)); err != nil {
		return nil, err
	}
	code, err := s.ServicerAccept(req.OpenKfID, req.ExternalUserID, req.ServicerUserID)
	if err != nil {
		return nil, err
	}
	return map[string]string{"msg_code": code}, nil
}

func (s *Server) ctlServicerTransfer(r *http.Request) (any, error) {
	var req struct {
		ctlTarget
		To string `json:"to_servicer_userid"`
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if err := firstErr(req.check(), required("to_servicer_userid", req.To)); err != nil {
		return nil, err
	}
	return nil, s.ServicerTransfer(req.OpenKfID, req.ExternalUserID, req.To)
}

func (s *Server) ctlServicerEnd(r *http.Request) (any, error) {
	var req ctlTarget
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	code, err := s.ServicerEnd(req.OpenKfID, req.ExternalUserID)
	if err != nil {
		return nil, err
	}
	return map[string]string{"msg_code": code}, nil
}

func (s *Server) ctlServicerSend(r *http.Request) (any, error) {
	var req ctlMsgRef
	m, err := ctlMessage(r, &req)
	if err != nil {
		return nil, err
	}
	if err := firstErr(req.check(), required("servicer_userid", req.ServicerUserID)); err != nil {
		return nil, err
	}
	id, err := s.ServicerSend(req.OpenKfID, req.ExternalUserID, req.ServicerUserID, m)
	if err != nil {
		return nil, err
	}
	return map[string]string{"msgid": id}, nil
}

func (s *Server) ctlServicerRecall(r *http.Request) (any, error) {
	var req ctlMsgRef
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if err := firstErr(req.check(), required("servicer_userid", req.ServicerUserID, "msgid", req.MsgID)); err != nil {
		return nil, err
	}
	return nil, s.ServicerRecall(req.OpenKfID, req.ExternalUserID, req.ServicerUserID, req.MsgID)
}

func (s *Server) ctlServicerStatus(r *http.Request) (any, error) {
	var req struct {
		ServicerUserID string `json:"servicer_userid"`
		UserID         string `json:"userid"`
		Status         *int   `json:"status"`
		StopType       int    `json:"stop_type"`
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if req.ServicerUserID == "" {
		req.ServicerUserID = req.UserID
	}
	if err := required("servicer_userid", req.ServicerUserID); err != nil {
		return nil, err
	}
	if req.Status == nil {
		return nil, badRequest("status required (0 receiving, 1 stopped)")
	}
	return nil, s.SetServicerStatus(req.ServicerUserID, *req.Status, req.StopType)
}

func (s *Server) ctlServicerReject(r *http.Request) (any, error) {
	var req struct {
		ctlMsgRef
		Reject bool `json:"reject"`
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if err := firstErr(req.check(), required("servicer_userid", req.ServicerUserID)); err != nil {
		return nil, err
	}
	return nil, s.ServicerRejectCustomer(req.OpenKfID, req.ExternalUserID, req.ServicerUserID, req.Reject)
}

func (s *Server) ctlSendFailed(r *http.Request) (any, error) {
	var req struct {
		ctlMsgRef
		FailType int `json:"fail_type"`
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if err := firstErr(req.check(), required("msgid", req.MsgID)); err != nil {
		return nil, err
	}
	return nil, s.SendFailed(req.OpenKfID, req.ExternalUserID, req.MsgID, req.FailType)
}

func (s *Server) ctlConversation(r *http.Request) (any, error) {
	q := r.URL.Query()
	t := ctlTarget{q.Get("open_kfid"), q.Get("external_userid")}
	if err := t.check(); err != nil {
		return nil, err
	}
	return s.Conversation(t.OpenKfID, t.ExternalUserID), nil
}

func (s *Server) ctlSyncLog(r *http.Request) (any, error) {
	id := r.URL.Query().Get("open_kfid")
	if err := required("open_kfid", id); err != nil {
		return nil, err
	}
	l := s.SyncLog(id)
	if l == nil {
		return nil, fmt.Errorf("%w: open_kfid %q", ErrNotFound, id)
	}
	return map[string]any{"msg_list": l}, nil
}

func (s *Server) ctlSyncToken(r *http.Request) (any, error) {
	var req struct {
		OpenKfID string `json:"open_kfid"`
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("open_kfid", req.OpenKfID); err != nil {
		return nil, err
	}
	tok, err := s.SyncToken(req.OpenKfID)
	if err != nil {
		return nil, err
	}
	return map[string]string{"token": tok}, nil
}

func (s *Server) ctlClock(r *http.Request) (any, error) {
	var req struct {
		AdvanceSeconds *float64 `json:"advance_seconds"`
		SetUnix        *int64   `json:"set_unix"`
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	switch {
	case req.AdvanceSeconds != nil && req.SetUnix != nil:
		return nil, badRequest("give advance_seconds or set_unix, not both")
	case req.AdvanceSeconds != nil:
		if *req.AdvanceSeconds < 0 {
			return nil, badRequest("advance_seconds must not be negative (use set_unix)")
		}
		s.Advance(time.Duration(*req.AdvanceSeconds * float64(time.Second)))
		s.hub.publish()
	case req.SetUnix != nil:
		s.SetTime(time.Unix(*req.SetUnix, 0))
		s.hub.publish()
	}
	now := s.clock.Now()
	return map[string]any{"now": now, "now_unix": now.Unix()}, nil
}

// ctlFault is a Fault in JSON.
type ctlFault struct {
	ErrCode    int  `json:"errcode"`
	HTTPStatus int  `json:"http_status"`
	Drop       bool `json:"drop"`
	DropAfter  bool `json:"drop_after"`
	DelayMS    int  `json:"delay_ms"`
}

func (f ctlFault) fault() (Fault, error) {
	if f.HTTPStatus != 0 && (f.HTTPStatus < 100 || f.HTTPStatus > 599) {
		return Fault{}, badRequest("http_status %d out of range", f.HTTPStatus)
	}
	if f.DelayMS < 0 {
		return Fault{}, badRequest("delay_ms must not be negative")
	}
	ft := Fault{Code: kf.ErrCode(f.ErrCode), HTTPStatus: f.HTTPStatus, Drop: f.Drop, DropAfter: f.DropAfter,
		Delay: time.Duration(f.DelayMS) * time.Millisecond}
	if err := ft.validate(); err != nil {
		return Fault{}, badRequest("%v", err)
	}
	return ft, nil
}

func (s *Server) ctlFaults(r *http.Request) (any, error) {
	var req struct {
		Path string `json:"path"`
		N    int    `json:"n"`
		ctlFault
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if err := required("path", req.Path); err != nil {
		return nil, err
	}
	if req.N == 0 {
		req.N = 1
	}
	if req.N < 0 || req.N > 1_000_000 {
		return nil, badRequest("n %d out of range", req.N)
	}
	f, err := req.fault()
	if err != nil {
		return nil, err
	}
	return nil, s.FailNext(req.Path, req.N, f)
}

func (s *Server) ctlFaultsClear(r *http.Request) (any, error) {
	s.ClearFaults()
	return nil, nil
}

func (s *Server) ctlErrorRate(r *http.Request) (any, error) {
	var req struct {
		Rate   float64    `json:"rate"`
		Faults []ctlFault `json:"faults"`
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	kinds := make([]Fault, 0, len(req.Faults))
	for _, cf := range req.Faults {
		f, err := cf.fault()
		if err != nil {
			return nil, err
		}
		kinds = append(kinds, f)
	}
	if err := s.SetErrorRate(req.Rate, kinds...); err != nil {
		return nil, badRequest("%v", err)
	}
	return nil, nil
}

func (s *Server) ctlRevoke(r *http.Request) (any, error) {
	s.RevokeTokens()
	return nil, nil
}

func (s *Server) ctlCalls(r *http.Request) (any, error) { return s.Calls(), nil }

// ctlEvents streams server-sent events: "event: update" with "data: {}"
// after every change, and a comment line every 15 s, until the client goes
// away or the server closes.
func (s *Server) ctlEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	ch, unsubscribe := s.hub.subscribe()
	defer unsubscribe()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, ": kftest events\n\n"); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(sseHeartbeat)
	defer tick.Stop()
	for {
		var msg string
		select {
		case <-r.Context().Done():
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
			msg = "event: update\ndata: {}\n\n"
		case <-tick.C:
			msg = ": heartbeat\n\n"
		}
		if _, err := io.WriteString(w, msg); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}
