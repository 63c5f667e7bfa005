package kftest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wxkf/kf"
)

// ctl calls the control API and decodes the reply into out (when not nil);
// it returns the HTTP status.
func (e *env) ctl(method, path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.s.URL()+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Fatalf("%s %s: content type %q: %s", method, path, ct, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	if resp.StatusCode != http.StatusOK {
		var er struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &er) != nil || er.Error == "" {
			e.t.Fatalf("%s %s: HTTP %d without an error message: %s", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode
}

func (e *env) ctlOK(method, path string, body any, out any) {
	e.t.Helper()
	if st := e.ctl(method, path, body, out); st != http.StatusOK {
		e.t.Fatalf("%s %s: HTTP %d", method, path, st)
	}
}

func TestControlCustomerFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var cu struct {
		ExternalUserID string `json:"external_userid"`
	}
	e.ctlOK("POST", "/_kftest/customers", map[string]any{"nickname": "Dora"}, &cu)
	if cu.ExternalUserID == "" {
		t.Fatal("no external_userid")
	}
	e.ctlOK("POST", "/_kftest/customers", map[string]any{"external_userid": "wmFixed"}, &cu)
	if cu.ExternalUserID != "wmFixed" {
		t.Fatalf("got %q", cu.ExternalUserID)
	}

	var state struct {
		CorpID   string `json:"corp_id"`
		Accounts []struct {
			OpenKfID  string   `json:"open_kfid"`
			Name      string   `json:"name"`
			Servicers []string `json:"servicers"`
		} `json:"accounts"`
		Customers []struct {
			ExternalUserID string `json:"external_userid"`
			Nickname       string `json:"nickname"`
		} `json:"customers"`
		Now time.Time `json:"now"`
	}
	e.ctlOK("GET", "/_kftest/state", nil, &state)
	if state.CorpID != DefaultCorpID || len(state.Accounts) != 2 || state.Accounts[0].OpenKfID != wkA ||
		strings.Join(state.Accounts[0].Servicers, ",") != "alice,bob,carol,sue,dave" || len(state.Customers) != 3 || !state.Now.Equal(t0) {
		t.Fatalf("state %+v", state)
	}

	var wc struct {
		WelcomeCode string `json:"welcome_code"`
	}
	e.ctlOK("POST", "/_kftest/enter", map[string]any{"open_kfid": wkA, "external_userid": "wmFixed", "scene": "web", "scene_param": "p=1"}, &wc)
	if wc.WelcomeCode == "" {
		t.Fatal("no welcome code")
	}
	if _, err := e.onEvent(wc.WelcomeCode, kf.MenuMsg("Hi", "", kf.ClickItem("7", "Track my order"))); err != nil {
		t.Fatal(err)
	}

	var sent struct {
		MsgID string `json:"msgid"`
	}
	e.ctlOK("POST", "/_kftest/customer/send", map[string]any{"open_kfid": wkA, "external_userid": "wmFixed",
		"msgtype": "text", "text": map[string]any{"content": "Track my order", "menu_id": "7"}}, &sent)
	msgs := e.syncAll(wkA)
	last := msgs[len(msgs)-1]
	if last.MsgID != sent.MsgID || last.Text().MenuID != "7" {
		t.Fatalf("last message %s", last.Raw)
	}
	e.ctlOK("POST", "/_kftest/customer/recall", map[string]any{"open_kfid": wkA, "external_userid": "wmFixed", "msgid": sent.MsgID}, nil)

	var cv Conversation
	e.ctlOK("GET", "/_kftest/conversation?open_kfid="+wkA+"&external_userid=wmFixed", nil, &cv)
	if len(cv.Messages) != 4 || cv.Messages[1].From != "event" || cv.Messages[2].From != "customer" || !cv.Messages[2].Recalled || cv.Session.State != kf.StateUntreated {
		t.Fatalf("conversation %+v", cv)
	}

	var log struct {
		MsgList []json.RawMessage `json:"msg_list"`
	}
	e.ctlOK("GET", "/_kftest/synclog?open_kfid="+wkA, nil, &log)
	if len(log.MsgList) != 3 {
		t.Fatalf("sync log of %d entries, want enter_session, text, user_recall_msg", len(log.MsgList))
	}
	if st := e.ctl("GET", "/_kftest/synclog?open_kfid=wkNone", nil, nil); st != http.StatusNotFound {
		t.Fatalf("unknown account: HTTP %d", st)
	}
}

func TestControlServicerFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.says(wmC, "hi")
	target := map[string]any{"open_kfid": wkA, "external_userid": wmC}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range target {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	var code struct {
		MsgCode string `json:"msg_code"`
	}
	e.ctlOK("POST", "/_kftest/servicer/accept", with("servicer_userid", "alice"), &code)
	if code.MsgCode == "" {
		t.Fatal("no msg_code")
	}
	var sent struct {
		MsgID string `json:"msgid"`
	}
	e.ctlOK("POST", "/_kftest/servicer/send", with("servicer_userid", "alice", "msgtype", "image", "image", map[string]any{"media_id": "M1"}), &sent)
	e.ctlOK("POST", "/_kftest/servicer/recall", with("servicer_userid", "alice", "msgid", sent.MsgID), nil)
	e.ctlOK("POST", "/_kftest/servicer/transfer", with("to_servicer_userid", "bob"), nil)
	e.ctlOK("POST", "/_kftest/servicer/reject", with("servicer_userid", "bob", "reject", true), nil)
	e.ctlOK("POST", "/_kftest/servicer/end", target, &code)
	if code.MsgCode == "" {
		t.Fatal("no end msg_code")
	}
	e.ctlOK("POST", "/_kftest/servicer/status", map[string]any{"servicer_userid": "alice", "status": 1, "stop_type": 1}, nil)

	var types []string
	for _, ev := range e.events(wkA) {
		types = append(types, string(ev.EventType))
	}
	want := "session_status_change servicer_recall_msg session_status_change reject_customer_msg_switch_change session_status_change servicer_status_change"
	if got := strings.Join(types, " "); got != want {
		t.Fatalf("events %s", got)
	}

	// Errors: 404 unknown ids, 409 impossible now, 400 bad requests.
	for _, tc := range []struct {
		path string
		body any
		want int
	}{
		{"/_kftest/servicer/end", target, http.StatusConflict},
		{"/_kftest/servicer/accept", with("servicer_userid", "eve"), http.StatusNotFound},
		{"/_kftest/servicer/accept", map[string]any{"open_kfid": "wkNone", "external_userid": wmC, "servicer_userid": "bob"}, http.StatusNotFound},
		{"/_kftest/customer/send", with("msgtype", "bogus"), http.StatusBadRequest},
		{"/_kftest/customer/send", target, http.StatusBadRequest},
		{"/_kftest/customer/send", "{", http.StatusBadRequest},
		{"/_kftest/enter", map[string]any{"open_kfid": wkA}, http.StatusBadRequest},
		{"/_kftest/servicer/status", map[string]any{"servicer_userid": "alice"}, http.StatusBadRequest},
		{"/_kftest/send_failed", with("msgid", "nosuch"), http.StatusNotFound},
		{"/_kftest/customers", `{"nickname":"` + strings.Repeat("x", 1<<20) + `"}`, http.StatusRequestEntityTooLarge},
		// The message endpoints read their body themselves: same bound, same 413.
		{"/_kftest/customer/send", `{"msgtype":"text","text":{"content":"` + strings.Repeat("x", 1<<20) + `"}}`, http.StatusRequestEntityTooLarge},
		{"/_kftest/servicer/send", `{"msgtype":"text","text":{"content":"` + strings.Repeat("x", 1<<20) + `"}}`, http.StatusRequestEntityTooLarge},
	} {
		if st := e.ctl("POST", tc.path, tc.body, nil); st != tc.want {
			t.Errorf("POST %s: HTTP %d, want %d", tc.path, st, tc.want)
		}
	}
}

func TestControlClockFaultsTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var now struct {
		Now     time.Time `json:"now"`
		NowUnix int64     `json:"now_unix"`
	}
	e.ctlOK("POST", "/_kftest/clock", map[string]any{"advance_seconds": 90}, &now)
	if !now.Now.Equal(t0.Add(90*time.Second)) || now.NowUnix != t0.Unix()+90 {
		t.Fatalf("now %+v", now)
	}
	e.ctlOK("POST", "/_kftest/clock", map[string]any{"set_unix": t0.Unix()}, &now)
	if !e.s.Now().Equal(t0) {
		t.Fatalf("clock %v", e.s.Now())
	}
	if st := e.ctl("POST", "/_kftest/clock", map[string]any{"advance_seconds": -1}, nil); st != http.StatusBadRequest {
		t.Fatalf("negative advance: HTTP %d", st)
	}

	e.ctlOK("POST", "/_kftest/faults", map[string]any{"path": "/cgi-bin/kf/service_state/get", "n": 1, "errcode": 95017}, nil)
	_, err := e.c.Sessions.State(e.ctx, &kf.SessionStateRequest{OpenKfID: wkA, ExternalUserID: wmC})
	wantCode(t, err, kf.ErrCodeAPISwitchOff)
	e.ctlOK("POST", "/_kftest/faults", map[string]any{"path": "/cgi-bin/kf/service_state/get", "n": 1, "http_status": 502, "delay_ms": 10}, nil)
	e.state(wmC) // retried
	if st := e.ctl("POST", "/_kftest/faults", map[string]any{"path": "/x", "errcode": 1, "drop": true}, nil); st != http.StatusBadRequest {
		t.Fatalf("two kinds: HTTP %d", st)
	}
	e.ctlOK("POST", "/_kftest/error_rate", map[string]any{"rate": 1, "faults": []any{map[string]any{"errcode": 95017}}}, nil)
	_, err = e.c.Sessions.State(e.ctx, &kf.SessionStateRequest{OpenKfID: wkA, ExternalUserID: wmC})
	wantCode(t, err, kf.ErrCodeAPISwitchOff)
	e.ctlOK("POST", "/_kftest/error_rate", map[string]any{"rate": 0}, nil)
	e.ctlOK("POST", "/_kftest/faults", map[string]any{"path": "/cgi-bin/kf/service_state/get", "n": 5, "errcode": 95017}, nil)
	e.ctlOK("POST", "/_kftest/faults/clear", nil, nil)
	e.state(wmC)

	var calls map[string]int
	e.ctlOK("GET", "/_kftest/calls", nil, &calls)
	if calls["/cgi-bin/kf/service_state/get"] != 5 || calls["/cgi-bin/gettoken"] != 1 {
		t.Fatalf("calls %v", calls)
	}
	e.ctlOK("POST", "/_kftest/tokens/revoke", nil, nil)
	if n := e.s.TokenCount(); n != 0 {
		t.Fatalf("%d tokens after revoke", n)
	}
	e.state(wmC) // the client refreshes its token after 40014
	e.ctlOK("GET", "/_kftest/calls", nil, &calls)
	if calls["/cgi-bin/gettoken"] != 2 {
		t.Fatalf("calls %v", calls)
	}

	var tok struct {
		Token string `json:"token"`
	}
	e.ctlOK("POST", "/_kftest/sync_token", map[string]any{"open_kfid": wkA}, &tok)
	if _, err := e.sync(kf.SyncMsgRequest{Token: tok.Token}); err != nil {
		t.Fatal(err)
	}
	e.says(wmC, "hi")
	id, _ := e.send(wmC, kf.TextMsg("x"), "")
	e.ctlOK("POST", "/_kftest/send_failed", map[string]any{"open_kfid": wkA, "external_userid": wmC, "msgid": id, "fail_type": 4}, nil)
	if f := e.lastEvent(wkA).Payload.(*kf.MsgSendFail); f.FailType != kf.FailType(4) {
		t.Fatalf("%+v", f)
	}
}

func TestControlEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req, _ := http.NewRequestWithContext(e.ctx, "GET", e.s.URL()+"/_kftest/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if l := <-lines; !strings.HasPrefix(l, ":") {
		t.Fatalf("first line %q", l)
	}
	e.says(wmC, "wake up")
	want := []string{"", "event: update", "data: {}"}
	for _, w := range want {
		select {
		case l := <-lines:
			if l != w {
				t.Fatalf("line %q, want %q", l, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no update")
		}
	}
	// The stream ends when the server closes.
	e.s.Close()
	for range lines {
	}
}
