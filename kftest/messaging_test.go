package kftest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wxkf/kf"
)

// Faults through the real client: reads are retried, writes only when a
// retry cannot apply twice.

func TestFaultErrcodeIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.says(wmC, "hi")
	if err := e.s.FailNext("/cgi-bin/kf/sync_msg", 2, Fault{Code: kf.ErrCodeSystemBusy}); err != nil {
		t.Fatal(err)
	}
	p, err := e.sync(kf.SyncMsgRequest{})
	if err != nil || len(p.MsgList) != 1 {
		t.Fatalf("%+v, %v", p, err)
	}
	if n := e.s.Calls()["/cgi-bin/kf/sync_msg"]; n != 3 {
		t.Fatalf("%d calls, want 3", n)
	}
	if err := e.s.FailNext("/cgi-bin/kf/service_state/get", 1, Fault{Code: kf.ErrCodeOpenKfIDNotFound}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.Sessions.State(e.ctx, &kf.SessionStateRequest{OpenKfID: wkA, ExternalUserID: wmC})
	wantCode(t, err, kf.ErrCodeOpenKfIDNotFound) // not retryable
}

func TestFaultHTTPStatusAndDrop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, f := range []Fault{{HTTPStatus: 502}, {Drop: true}, {Delay: 50 * time.Millisecond}} {
		if err := e.s.FailNext("/cgi-bin/kf/service_state/get", 1, f); err != nil {
			t.Fatal(err)
		}
		if st := e.state(wmC); st.ServiceState != kf.StateEnded {
			t.Fatalf("%+v: %+v", f, st)
		}
	}
	if n := e.s.Calls()["/cgi-bin/kf/service_state/get"]; n != 5 {
		t.Fatalf("%d calls, want 5", n)
	}
}

func TestFaultDropAfterSendDeliversOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.says(wmC, "hi")
	if err := e.s.FailNext("/cgi-bin/kf/send_msg", 1, Fault{DropAfter: true}); err != nil {
		t.Fatal(err)
	}
	id, err := e.send(wmC, kf.TextMsg("exactly once"), "")
	if err != nil {
		t.Fatal(err)
	}
	if n := e.s.Calls()["/cgi-bin/kf/send_msg"]; n != 2 {
		t.Fatalf("%d calls, want 2 (the retry)", n)
	}
	got := e.s.Received(wkA, wmC)
	if len(got) != 1 || got[0].MsgID != id {
		t.Fatalf("received %+v, want one message %s", got, id)
	}
	if v, _ := e.s.SessionInfo(wkA, wmC); v.Budget != 4 {
		t.Fatalf("budget %d, want 4", v.Budget)
	}
	// send_msg_on_event is made safe the same way.
	code, _ := e.s.EnterSession(wkA, e.customer(), EnterOptions{})
	if err := e.s.FailNext("/cgi-bin/kf/send_msg_on_event", 1, Fault{DropAfter: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.onEvent(code, kf.TextMsg("welcome")); err != nil {
		t.Fatal(err)
	}
}

func TestFaultDropAfterTransferIsNotRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.says(wmC, "hi")
	if err := e.s.FailNext("/cgi-bin/kf/service_state/trans", 1, Fault{DropAfter: true}); err != nil {
		t.Fatal(err)
	}
	_, err := e.trans(wmC, kf.StateQueued, "")
	if !errors.Is(err, kf.ErrOutcomeUnknown) {
		t.Fatalf("got %v, want an unknown outcome", err)
	}
	if st := e.state(wmC); st.ServiceState != kf.StateQueued {
		t.Fatalf("state %v: the dropped call applied", st.ServiceState)
	}
}

func TestErrorRate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.s.SetErrorRate(0.3, Fault{Code: kf.ErrCodeSystemBusy}, Fault{HTTPStatus: 503}); err != nil {
		t.Fatal(err)
	}
	ok := 0
	for range 30 {
		_, err := e.c.Sessions.State(e.ctx, &kf.SessionStateRequest{OpenKfID: wkA, ExternalUserID: wmC})
		switch {
		case err == nil:
			ok++
		case errors.Is(err, kf.ErrCodeSystemBusy), strings.Contains(err.Error(), "503"):
		default:
			t.Fatal(err)
		}
	}
	if ok < 20 {
		t.Fatalf("only %d of 30 calls succeeded with retries at a 30%% error rate", ok)
	}
	e.s.ClearFaults()
	if _, err := e.c.Sessions.State(e.ctx, &kf.SessionStateRequest{OpenKfID: wkA, ExternalUserID: wmC}); err != nil {
		t.Fatal(err)
	}
}

// TestSyncReplyShape checks the raw reply of sync_msg against the documented
// wire form (§2.1, §2.2).
func TestSyncReplyShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.says(wmC, "hi")
	r := e.rawCall("/cgi-bin/kf/sync_msg", map[string]any{"open_kfid": wkA})
	if errcodeOf(r) != 0 || r["errmsg"] != "ok" || r["has_more"] != float64(0) || r["next_cursor"] == "" {
		t.Fatalf("reply %v", r)
	}
	list := r["msg_list"].([]any)
	m := list[0].(map[string]any)
	want := map[string]any{"msgid": m["msgid"], "open_kfid": wkA, "external_userid": wmC, "send_time": float64(t0.Unix()),
		"origin": float64(3), "msgtype": "text", "text": map[string]any{"content": "hi"}}
	b1, _ := json.Marshal(want)
	b2, _ := json.Marshal(m)
	if string(b1) != string(b2) {
		t.Fatalf("message %s, want %s", b2, b1)
	}
	if c := r["next_cursor"].(string); len(c) > 64 {
		t.Fatalf("cursor of %d bytes", len(c))
	}
	// Empty and unknown accounts, and a method other than POST.
	if r := e.rawCall("/cgi-bin/kf/sync_msg", map[string]any{"open_kfid": wkB}); errcodeOf(r) != 0 || len(r["msg_list"].([]any)) != 0 {
		t.Fatalf("empty account: %v", r)
	}
	var got map[string]any
	e.getJSON(e.s.URL()+"/cgi-bin/kf/sync_msg", &got)
	if errcodeOf(got) == 0 {
		t.Fatalf("GET sync_msg: %v", got)
	}
}

func TestCursorEncoding(t *testing.T) {
	t.Parallel()
	tag := cursorTag(wkA)
	for _, tc := range []struct{ seq, empties uint64 }{{0, 0}, {1, 0}, {1 << 40, 3}, {127, 1}} {
		c := encodeCursor(tag, tc.seq, tc.empties)
		seq, empties, ok := decodeCursor(tag, c)
		if !ok || seq != tc.seq || empties != tc.empties || len(c) > 64 {
			t.Fatalf("%+v: %q → %d %d %v", tc, c, seq, empties, ok)
		}
		if _, _, ok := decodeCursor(cursorTag(wkB), c); ok {
			t.Fatalf("%q accepted for another account", c)
		}
	}
	for _, bad := range []string{"", "x", "AAAAAAAAAAAA", encodeCursor(tag, 5, 0) + "A", "!!!"} {
		if _, _, ok := decodeCursor(tag, bad); ok {
			t.Fatalf("%q accepted", bad)
		}
	}
}
