package kftest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxkf/kf"
)

// The conformance suite: one scenario per documented platform rule
// (shared/api-surface.md §1.6, §2, §3, §4), run through the real kf.Client
// against the emulator with a frozen clock. The requests that the client
// refuses to send (it validates first) go through rawCall.

// t0 is the frozen start time of the scenarios (10:00 in Beijing).
var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

const (
	wkA = "wkAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // account with servicers alice, bob, carol (stopped), dave (not activated)
	wkB = "wkBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB" // second account, servicer bob
	wmC = "wmCustomerC"
)

func testSeed() Seed {
	return Seed{
		Members: []SeedMember{
			{UserID: "alice"}, {UserID: "bob"}, {UserID: "carol", Stopped: true},
			{UserID: "sue", Suspended: true}, {UserID: "dave", NotActivated: true}, {UserID: "eve"},
		},
		Accounts: []SeedAccount{
			{OpenKfID: wkA, Name: "Support", Servicers: []string{"alice", "bob", "carol", "sue", "dave"}},
			{OpenKfID: wkB, Name: "Sales", Servicers: []string{"bob"}},
		},
		Customers: []SeedCustomer{{ExternalUserID: wmC, Nickname: "Carl"}},
	}
}

// env is one scenario's emulator and client.
type env struct {
	t   *testing.T
	s   *Server
	c   *kf.Client
	ctx context.Context
}

// newEnv starts an emulator with the test seed and a frozen clock. The
// tokenless sync limit is raised unless opts set it.
func newEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	all := append([]Option{WithClock(NewFrozenClock(t0)), WithSeed(testSeed()), WithRandSeed(7),
		WithTokenlessSyncLimit(1_000_000, time.Minute)}, opts...)
	s := NewServer(t, all...)
	return &env{t: t, s: s, c: s.Client(kf.WithClock(s.Clock())), ctx: t.Context()}
}

// with returns the env for a subtest.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// customer adds a fresh customer.
func (e *env) customer() string {
	e.t.Helper()
	id, err := e.s.AddCustomer(SeedCustomer{})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// says makes the customer send a text to wkA.
func (e *env) says(cust, text string) string {
	e.t.Helper()
	id, err := e.s.CustomerSend(wkA, cust, CustomerText(text))
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) state(cust string) *kf.SessionStateResponse {
	e.t.Helper()
	r, err := e.c.Sessions.State(e.ctx, &kf.SessionStateRequest{OpenKfID: wkA, ExternalUserID: cust})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) trans(cust string, to kf.ServiceState, servicer string) (string, error) {
	r, err := e.c.Sessions.Transfer(e.ctx, &kf.TransferRequest{OpenKfID: wkA, ExternalUserID: cust, ServiceState: to, ServicerUserID: servicer})
	if err != nil {
		return "", err
	}
	return r.MsgCode, nil
}

func (e *env) mustTrans(cust string, to kf.ServiceState, servicer string) string {
	e.t.Helper()
	code, err := e.trans(cust, to, servicer)
	if err != nil {
		e.t.Fatalf("trans to %v: %v", to, err)
	}
	return code
}

func (e *env) send(cust string, m kf.Outgoing, msgID string) (string, error) {
	r, err := e.c.Messages.Send(e.ctx, &kf.SendMsgRequest{ToUser: cust, OpenKfID: wkA, MsgID: msgID, Msg: m})
	if err != nil {
		return "", err
	}
	return r.MsgID, nil
}

func (e *env) onEvent(code string, m kf.Outgoing) (string, error) {
	r, err := e.c.Messages.SendOnEvent(e.ctx, &kf.SendMsgOnEventRequest{Code: code, Msg: m})
	if err != nil {
		return "", err
	}
	return r.MsgID, nil
}

func (e *env) sync(req kf.SyncMsgRequest) (*kf.SyncMsgResponse, error) {
	if req.OpenKfID == "" {
		req.OpenKfID = wkA
	}
	return e.c.Messages.Sync(e.ctx, &req)
}

// syncAll reads every message of the account from the start.
func (e *env) syncAll(openKfID string) []kf.Message {
	e.t.Helper()
	var out []kf.Message
	for m, err := range e.c.Messages.SyncAll(e.ctx, &kf.SyncMsgRequest{OpenKfID: openKfID}) {
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// wantCode fails unless err carries the errcode.
func wantCode(t *testing.T, err error, code kf.ErrCode) {
	t.Helper()
	if code == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, code) {
		t.Fatalf("got error %v, want errcode %d", err, int(code))
	}
}

// rawCall posts a JSON body to an API path with a fresh access token and
// returns the decoded reply, for requests the client refuses to send.
func (e *env) rawCall(path string, body any) map[string]any {
	e.t.Helper()
	q := url.Values{"corpid": {e.s.CorpID()}, "corpsecret": {e.s.Secret()}}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	e.getJSON(e.s.URL()+"/cgi-bin/gettoken?"+q.Encode(), &tok)
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	if s, ok := body.(string); ok {
		b = []byte(s)
	}
	resp, err := http.Post(e.s.URL()+path+"?access_token="+tok.AccessToken, "application/json", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) getJSON(u string, v any) {
	e.t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, v); err != nil {
		e.t.Fatalf("%s: %v: %s", u, err, b)
	}
}

func errcodeOf(reply map[string]any) int {
	f, _ := reply["errcode"].(float64)
	return int(f)
}

// events returns the event payloads of the account's sync log, decoded by
// the client's types.
func (e *env) events(openKfID string) []*kf.Event {
	var out []*kf.Event
	for _, raw := range e.s.SyncLog(openKfID) {
		var m kf.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			e.t.Fatal(err)
		}
		if ev := m.Event(); ev != nil {
			out = append(out, ev)
		}
	}
	return out
}

// addMedia stores an uploaded medium directly.
func (e *env) addMedia(id, typ string) {
	_ = e.s.store.Update(func(st *State) error {
		st.media[id] = &media{id: id, typ: typ, created: e.s.Now(), data: []byte("x")}
		return nil
	})
}

// states reached for the transition table, and how to reach them.
var reach = map[kf.ServiceState]func(e *env, cust string){
	kf.StateUntreated: func(e *env, cust string) { e.says(cust, "hi") },
	kf.StateBot:       func(e *env, cust string) { e.says(cust, "hi"); e.mustTrans(cust, kf.StateBot, "") },
	kf.StateQueued:    func(e *env, cust string) { e.says(cust, "hi"); e.mustTrans(cust, kf.StateQueued, "") },
	kf.StateServicer:  func(e *env, cust string) { e.says(cust, "hi"); e.mustTrans(cust, kf.StateServicer, "alice") },
	kf.StateEnded:     func(e *env, cust string) {},
}

type rule struct {
	name string
	opts []Option
	run  func(t *testing.T, e *env)
}

var rules = []rule{
	// ---- sessions (§1.6, §4)
	{name: "a never-seen customer is in state 4", run: func(t *testing.T, e *env) {
		if got := e.state("wmNeverSeen").ServiceState; got != kf.StateEnded {
			t.Fatalf("state %v, want 4", got)
		}
	}},
	{name: "a customer message moves state 4 to 0", run: func(t *testing.T, e *env) {
		e.says(wmC, "hello")
		if got := e.state(wmC).ServiceState; got != kf.StateUntreated {
			t.Fatalf("state %v, want 0", got)
		}
		e.mustTrans(wmC, kf.StateServicer, "alice")
		e.mustTrans(wmC, kf.StateEnded, "")
		e.says(wmC, "again")
		if got := e.state(wmC); got.ServiceState != kf.StateUntreated || got.ServicerUserID != "" {
			t.Fatalf("after end and a new message: %+v, want state 0 without servicer", got)
		}
	}},
	{name: "transition table", run: func(t *testing.T, e *env) {
		for from := kf.StateUntreated; from <= kf.StateEnded; from++ {
			for to := kf.StateUntreated; to <= kf.StateEnded; to++ {
				t.Run(fmt.Sprintf("%d to %d", from, to), func(t *testing.T) {
					e := e.with(t)
					cust := e.customer()
					reach[from](e, cust)
					servicer := ""
					if to == kf.StateServicer {
						servicer = "bob"
					}
					_, err := e.trans(cust, to, servicer)
					ok, _ := kf.CanTransition(from, to)
					switch {
					case from == kf.StateEnded:
						wantCode(t, err, kf.ErrCodeSessionEnded)
					case !ok:
						wantCode(t, err, kf.ErrCodeStateTransitionForbidden)
					default:
						wantCode(t, err, 0)
						st := e.state(cust)
						if st.ServiceState != to || (to == kf.StateServicer) != (st.ServicerUserID == "bob") {
							t.Fatalf("after the move: %+v, want state %v", st, to)
						}
					}
				})
			}
		}
	}},
	{name: "ending from 0, 1 or 2 is refused with WithEndFromOpenStates(false)", opts: []Option{WithEndFromOpenStates(false)},
		run: func(t *testing.T, e *env) {
			for _, from := range []kf.ServiceState{kf.StateUntreated, kf.StateBot, kf.StateQueued} {
				cust := e.customer()
				reach[from](e, cust)
				_, err := e.trans(cust, kf.StateEnded, "")
				wantCode(t, err, kf.ErrCodeStateTransitionForbidden)
			}
			cust := e.customer()
			reach[kf.StateServicer](e, cust)
			if code := e.mustTrans(cust, kf.StateEnded, ""); code == "" {
				t.Fatal("no end msg_code")
			}
		}},
	{name: "trans from state 4 answers 95013", run: func(t *testing.T, e *env) {
		_, err := e.trans(wmC, kf.StateBot, "")
		wantCode(t, err, kf.ErrCodeSessionEnded)
		e.says(wmC, "hi")
		e.mustTrans(wmC, kf.StateEnded, "")
		_, err = e.trans(wmC, kf.StateQueued, "")
		wantCode(t, err, kf.ErrCodeSessionEnded)
	}},
	{name: "a forbidden transition answers 95016", run: func(t *testing.T, e *env) {
		reach[kf.StateQueued](e, wmC)
		_, err := e.trans(wmC, kf.StateBot, "")
		wantCode(t, err, kf.ErrCodeStateTransitionForbidden)
	}},
	{name: "a servicer not of this account or not activated answers 95014", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		for _, u := range []string{"eve", "dave", "nobody"} {
			_, err := e.trans(wmC, kf.StateServicer, u)
			wantCode(t, err, kf.ErrCodeNotServicer)
		}
	}},
	{name: "a stopped or suspended servicer answers 95019", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		for _, u := range []string{"carol", "sue"} {
			_, err := e.trans(wmC, kf.StateServicer, u)
			wantCode(t, err, kf.ErrCodeServicerUnavailable)
		}
		if err := e.s.SetServicerStatus("carol", ServicerReceiving, 0); err != nil {
			t.Fatal(err)
		}
		e.mustTrans(wmC, kf.StateServicer, "carol")
	}},
	{name: "servicer_userid is required for state 3", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		r := e.rawCall("/cgi-bin/kf/service_state/trans", map[string]any{"open_kfid": wkA, "external_userid": wmC, "service_state": 3})
		if errcodeOf(r) != int(kf.ErrCodeInvalidParameter) {
			t.Fatalf("reply %v, want 40058", r)
		}
	}},
	{name: "msg_code comes when first entering 2 or 3 and when entering 4", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		steps := []struct {
			to       kf.ServiceState
			servicer string
			code     bool
		}{
			{kf.StateBot, "", false},
			{kf.StateQueued, "", true},
			{kf.StateServicer, "alice", true},
			{kf.StateServicer, "bob", false}, // transfer: not the first entry into 3
			{kf.StateEnded, "", true},
		}
		for _, st := range steps {
			code := e.mustTrans(wmC, st.to, st.servicer)
			if (code != "") != st.code {
				t.Fatalf("trans to %v (%s): msg_code %q, want one: %v", st.to, st.servicer, code, st.code)
			}
		}
		e.says(wmC, "new session")
		if code := e.mustTrans(wmC, kf.StateQueued, ""); code == "" {
			t.Fatal("a new session gives a queue msg_code again")
		}
	}},
	{name: "API transitions emit no session_status_change events", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		e.mustTrans(wmC, kf.StateQueued, "")
		e.mustTrans(wmC, kf.StateServicer, "alice")
		e.mustTrans(wmC, kf.StateServicer, "bob")
		e.mustTrans(wmC, kf.StateEnded, "")
		if evs := e.events(wkA); len(evs) != 0 {
			t.Fatalf("events %v, want none", evs)
		}
	}},
	{name: "an unknown open_kfid answers 95004 and an empty one 95000", run: func(t *testing.T, e *env) {
		_, err := e.c.Sessions.State(e.ctx, &kf.SessionStateRequest{OpenKfID: "wkUnknown", ExternalUserID: wmC})
		wantCode(t, err, kf.ErrCodeOpenKfIDNotFound)
		r := e.rawCall("/cgi-bin/kf/service_state/get", map[string]any{"open_kfid": "", "external_userid": wmC})
		if errcodeOf(r) != int(kf.ErrCodeInvalidOpenKfID) {
			t.Fatalf("reply %v, want 95000", r)
		}
		_, err = e.send(wmC, kf.TextMsg("x"), "")
		wantCode(t, err, kf.ErrCodeCustomerNotConsulted)
		_, err = e.c.Messages.Send(e.ctx, &kf.SendMsgRequest{ToUser: wmC, OpenKfID: "wkUnknown", Msg: kf.TextMsg("x")})
		wantCode(t, err, kf.ErrCodeOpenKfIDNotFound)
		_, err = e.sync(kf.SyncMsgRequest{OpenKfID: "wkUnknown"})
		wantCode(t, err, kf.ErrCodeOpenKfIDNotFound)
		r = e.rawCall("/cgi-bin/kf/sync_msg", map[string]any{})
		if errcodeOf(r) != int(kf.ErrCodeInvalidOpenKfID) {
			t.Fatalf("sync_msg without open_kfid: %v, want 95000", r)
		}
	}},
	{name: "service_state/get returns servicer_userid only in state 3", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		if r := e.state(wmC); r.ServiceState != 0 || r.ServicerUserID != "" {
			t.Fatalf("%+v", r)
		}
		e.mustTrans(wmC, kf.StateServicer, "alice")
		if r := e.state(wmC); r.ServiceState != 3 || r.ServicerUserID != "alice" {
			t.Fatalf("%+v", r)
		}
	}},

	// ---- send_msg (§3.1, §3.4)
	{name: "send_msg validation errcodes", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		menu := func(n int, typ string) map[string]any {
			items := make([]any, n)
			for i := range items {
				items[i] = map[string]any{"type": typ, typ: map[string]any{"id": fmt.Sprint(i), "content": "c"}}
			}
			return map[string]any{"list": items}
		}
		for _, tc := range []struct {
			name string
			body map[string]any
			want kf.ErrCode
		}{
			{"text too long 45002", map[string]any{"msgtype": "text", "text": map[string]any{"content": strings.Repeat("a", 2049)}}, kf.ErrCodeContentTooLong},
			{"empty text 44004", map[string]any{"msgtype": "text", "text": map[string]any{"content": ""}}, kf.ErrCodeEmptyContent},
			{"11 menu items 95008", map[string]any{"msgtype": "msgmenu", "msgmenu": menu(11, "click")}, kf.ErrCodeMenuItemLimit},
			{"bad menu item type 95009", map[string]any{"msgtype": "msgmenu", "msgmenu": menu(1, "bogus")}, kf.ErrCodeInvalidMenuItemType},
			{"unsendable msgtype 40008", map[string]any{"msgtype": "channels", "channels": map[string]any{}}, kf.ErrCodeInvalidMsgType},
			{"bad msgid 40058", map[string]any{"msgid": "bad id!", "msgtype": "text", "text": map[string]any{"content": "x"}}, kf.ErrCodeInvalidParameter},
			{"missing payload 40058", map[string]any{"msgtype": "image"}, kf.ErrCodeInvalidParameter},
			{"bad link url 40058", map[string]any{"msgtype": "link", "link": map[string]any{"url": "ftp://x", "thumb_media_id": "m"}}, kf.ErrCodeInvalidParameter},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := e.with(t)
				body := map[string]any{"touser": wmC, "open_kfid": wkA}
				for k, v := range tc.body {
					body[k] = v
				}
				if r := e.rawCall("/cgi-bin/kf/send_msg", body); errcodeOf(r) != int(tc.want) {
					t.Fatalf("reply %v, want %d", r, tc.want)
				}
			})
		}
		if r := e.rawCall("/cgi-bin/kf/send_msg", "{not json"); errcodeOf(r) != int(kf.ErrCodeInvalidParameter) {
			t.Fatalf("bad JSON: %v", r)
		}
	}},
	{name: "send_msg checks media ids (40007)", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		_, err := e.send(wmC, kf.ImageMsg("nosuchmedia"), "")
		wantCode(t, err, kf.ErrCodeInvalidMediaID)
		e.addMedia("img1", "image")
		e.addMedia("file1", "file")
		_, err = e.send(wmC, kf.VoiceMsg("img1"), "")
		wantCode(t, err, kf.ErrCodeInvalidMediaID)
		if _, err := e.send(wmC, kf.ImageMsg("img1"), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.send(wmC, kf.LinkMsg(kf.OutgoingLink{Title: "t", URL: "https://x.example", ThumbMediaID: "img1"}), ""); err != nil {
			t.Fatal(err)
		}
		e.s.Advance(72 * time.Hour)
		e.says(wmC, "still there?")
		_, err = e.send(wmC, kf.FileMsg("file1"), "")
		wantCode(t, err, kf.ErrCodeInvalidMediaID)
	}},
	{name: "send_msg to a customer who never consulted answers 95031", run: func(t *testing.T, e *env) {
		_, err := e.send(wmC, kf.TextMsg("hi"), "")
		wantCode(t, err, kf.ErrCodeCustomerNotConsulted)
		if _, err := e.s.EnterSession(wkA, wmC, EnterOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err = e.send(wmC, kf.TextMsg("hi"), "")
		wantCode(t, err, kf.ErrCodeCustomerNotConsulted)
	}},
	{name: "send_msg outside state 0 or 1 answers 95018", run: func(t *testing.T, e *env) {
		for _, st := range []kf.ServiceState{kf.StateQueued, kf.StateServicer} {
			cust := e.customer()
			reach[st](e, cust)
			_, err := e.send(cust, kf.TextMsg("x"), "")
			wantCode(t, err, kf.ErrCodeSessionStatusInvalid)
		}
		cust := e.customer()
		reach[kf.StateBot](e, cust)
		if _, err := e.send(cust, kf.TextMsg("x"), ""); err != nil {
			t.Fatal(err)
		}
		e.mustTrans(cust, kf.StateEnded, "")
		_, err := e.send(cust, kf.TextMsg("x"), "")
		wantCode(t, err, kf.ErrCodeSessionStatusInvalid)
	}},
	{name: "send_msg 48 h after the customer's last message answers 95002", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		e.s.Advance(48*time.Hour - time.Second)
		if _, err := e.send(wmC, kf.TextMsg("just in time"), ""); err != nil {
			t.Fatal(err)
		}
		e.s.Advance(time.Second)
		_, err := e.send(wmC, kf.TextMsg("too late"), "")
		wantCode(t, err, kf.ErrCodeSendTimeLimit)
		// The window is checked before the state: 95002 in state 3 too.
		e.says(wmC, "hi again")
		e.mustTrans(wmC, kf.StateServicer, "alice")
		e.s.Advance(49 * time.Hour)
		_, err = e.send(wmC, kf.TextMsg("x"), "")
		wantCode(t, err, kf.ErrCodeSendTimeLimit)
	}},
	{name: "send_msg allows 5 messages per customer message (95001), reset by the next one", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		for i := range 5 {
			if _, err := e.send(wmC, kf.TextMsg(fmt.Sprint("reply ", i)), ""); err != nil {
				t.Fatalf("message %d: %v", i+1, err)
			}
		}
		_, err := e.send(wmC, kf.TextMsg("sixth"), "")
		wantCode(t, err, kf.ErrCodeSendCountLimit)
		e.says(wmC, "more please")
		if v, _ := e.s.SessionInfo(wkA, wmC); v.Budget != 5 {
			t.Fatalf("budget %d after a new customer message, want 5", v.Budget)
		}
		if _, err := e.send(wmC, kf.TextMsg("ok"), ""); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "send_msg with a reused msgid returns the original msgid and delivers once", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		for range 3 {
			id, err := e.send(wmC, kf.TextMsg("order shipped"), "order-123")
			if err != nil || id != "order-123" {
				t.Fatalf("send: %q, %v", id, err)
			}
		}
		if got := e.s.Received(wkA, wmC); len(got) != 1 {
			t.Fatalf("delivered %d messages, want 1", len(got))
		}
		if v, _ := e.s.SessionInfo(wkA, wmC); v.Budget != 4 {
			t.Fatalf("budget %d, want 4", v.Budget)
		}
	}},
	{name: "send_msg generates a msgid when absent", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		r := e.rawCall("/cgi-bin/kf/send_msg", map[string]any{"touser": wmC, "open_kfid": wkA, "msgtype": "text", "text": map[string]any{"content": "x"}})
		id, _ := r["msgid"].(string)
		if errcodeOf(r) != 0 || id == "" {
			t.Fatalf("reply %v", r)
		}
		if got := e.s.Received(wkA, wmC); len(got) != 1 || got[0].MsgID != id {
			t.Fatalf("received %+v", got)
		}
	}},
	{name: "messages sent via send_msg never appear in sync_msg but reach the customer", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		id, err := e.send(wmC, kf.TextMsg("hello from the bot"), "")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range e.syncAll(wkA) {
			if m.MsgID == id {
				t.Fatal("the sent message appears in sync_msg")
			}
		}
		got := e.s.Received(wkA, wmC)
		want := []Delivered{{MsgID: id, From: "api", MsgType: "text", Payload: json.RawMessage(`{"content":"hello from the bot"}`), SentAt: t0}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("received (-want +got):\n%s", diff)
		}
	}},

	// ---- recall_msg
	{name: "recall_msg within 2 minutes marks the message recalled and still counts", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		id, err := e.send(wmC, kf.TextMsg("oops"), "")
		if err != nil {
			t.Fatal(err)
		}
		e.s.Advance(2 * time.Minute)
		if err := e.c.Messages.Recall(e.ctx, &kf.RecallMsgRequest{OpenKfID: wkA, MsgID: id}); err != nil {
			t.Fatal(err)
		}
		if got := e.s.Received(wkA, wmC); len(got) != 1 || !got[0].Recalled {
			t.Fatalf("received %+v, want the message recalled", got)
		}
		if v, _ := e.s.SessionInfo(wkA, wmC); v.Budget != 4 {
			t.Fatalf("budget %d, want 4 (a recalled message counts)", v.Budget)
		}
		err = e.c.Messages.Recall(e.ctx, &kf.RecallMsgRequest{OpenKfID: wkA, MsgID: id})
		wantCode(t, err, kf.ErrCodeInvalidParameter)
	}},
	{name: "recall_msg after 2 minutes or of an unknown msgid answers 40058", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		id, err := e.send(wmC, kf.TextMsg("late"), "")
		if err != nil {
			t.Fatal(err)
		}
		e.s.Advance(2*time.Minute + time.Second)
		err = e.c.Messages.Recall(e.ctx, &kf.RecallMsgRequest{OpenKfID: wkA, MsgID: id})
		wantCode(t, err, kf.ErrCodeInvalidParameter)
		err = e.c.Messages.Recall(e.ctx, &kf.RecallMsgRequest{OpenKfID: wkA, MsgID: "nosuchmsg"})
		wantCode(t, err, kf.ErrCodeInvalidParameter)
		// A customer message cannot be recalled through the API.
		cid := e.says(wmC, "mine")
		err = e.c.Messages.Recall(e.ctx, &kf.RecallMsgRequest{OpenKfID: wkA, MsgID: cid})
		wantCode(t, err, kf.ErrCodeInvalidParameter)
	}},

	// ---- send_msg_on_event (§3.3)
	{name: "welcome_code is valid 20 s", run: func(t *testing.T, e *env) {
		code, err := e.s.EnterSession(wkA, wmC, EnterOptions{})
		if err != nil || code == "" {
			t.Fatalf("welcome code %q, %v", code, err)
		}
		e.s.Advance(20 * time.Second)
		_, err = e.onEvent(code, kf.TextMsg("welcome"))
		wantCode(t, err, kf.ErrCodeInvalidMsgToken)
		cust := e.customer()
		code, _ = e.s.EnterSession(wkA, cust, EnterOptions{})
		e.s.Advance(19 * time.Second)
		if _, err := e.onEvent(code, kf.TextMsg("welcome")); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "welcome_code is single use and allows text or msgmenu", run: func(t *testing.T, e *env) {
		code, _ := e.s.EnterSession(wkA, wmC, EnterOptions{})
		menu := kf.MenuMsg("How can we help?", "", kf.ClickItem("101", "Orders"), kf.ClickItem("102", "Refunds"))
		if _, err := e.onEvent(code, menu); err != nil {
			t.Fatal(err)
		}
		_, err := e.onEvent(code, kf.TextMsg("again"))
		wantCode(t, err, kf.ErrCodeInvalidMsgToken)
		got := e.s.Received(wkA, wmC)
		if len(got) != 1 || got[0].From != "event" || got[0].MsgType != "msgmenu" {
			t.Fatalf("received %+v", got)
		}
		cust := e.customer()
		code, _ = e.s.EnterSession(wkA, cust, EnterOptions{})
		if _, err := e.onEvent(code, kf.TextMsg("welcome")); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "welcome_code only without a welcome or a customer message in 48 h", run: func(t *testing.T, e *env) {
		code, _ := e.s.EnterSession(wkA, wmC, EnterOptions{})
		if _, err := e.onEvent(code, kf.TextMsg("welcome")); err != nil {
			t.Fatal(err)
		}
		if code, _ := e.s.EnterSession(wkA, wmC, EnterOptions{}); code != "" {
			t.Fatal("a second welcome within 48 h")
		}
		e.s.Advance(48 * time.Hour)
		if code, _ := e.s.EnterSession(wkA, wmC, EnterOptions{}); code == "" {
			t.Fatal("no welcome after 48 h")
		}
		cust := e.customer()
		e.says(cust, "hi")
		e.s.Advance(47 * time.Hour)
		if code, _ := e.s.EnterSession(wkA, cust, EnterOptions{}); code != "" {
			t.Fatal("a welcome although the customer wrote within 48 h")
		}
		e.s.Advance(time.Hour)
		if code, _ := e.s.EnterSession(wkA, cust, EnterOptions{}); code == "" {
			t.Fatal("no welcome 48 h after the customer's message")
		}
	}},
	{name: "queue code is valid only while the session stays queued", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		code := e.mustTrans(wmC, kf.StateQueued, "")
		e.mustTrans(wmC, kf.StateServicer, "alice")
		_, err := e.onEvent(code, kf.TextMsg("please wait"))
		wantCode(t, err, kf.ErrCodeInvalidMsgToken)
	}},
	{name: "queue and accept codes are valid 48 h and allow text only", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		code := e.mustTrans(wmC, kf.StateQueued, "")
		_, err := e.onEvent(code, kf.MenuMsg("", "", kf.ClickItem("1", "x")))
		wantCode(t, err, kf.ErrCodeInvalidMsgType)
		e.s.Advance(48*time.Hour - time.Second)
		if _, err := e.onEvent(code, kf.TextMsg("you are number 3")); err != nil {
			t.Fatal(err)
		}
		cust := e.customer()
		e.says(cust, "hi")
		code = e.mustTrans(cust, kf.StateServicer, "alice")
		e.s.Advance(48 * time.Hour)
		_, err = e.onEvent(code, kf.TextMsg("late"))
		wantCode(t, err, kf.ErrCodeInvalidMsgToken)
	}},
	{name: "accept code comes from a servicer taking the session (change_type 1)", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		e.mustTrans(wmC, kf.StateQueued, "")
		code, err := e.s.ServicerAccept(wkA, wmC, "alice")
		if err != nil || code == "" {
			t.Fatalf("accept: %q, %v", code, err)
		}
		evs := e.events(wkA)
		ssc, ok := evs[len(evs)-1].Payload.(*kf.SessionStatusChange)
		if !ok || ssc.ChangeType != kf.ChangeTypeFromPool || ssc.NewServicerUserID != "alice" || ssc.MsgCode != code {
			t.Fatalf("last event %+v", evs[len(evs)-1].Payload)
		}
		if _, err := e.onEvent(code, kf.TextMsg("Alice here, sorry for the wait")); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "end code is valid 20 s while the session stays ended", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		e.mustTrans(wmC, kf.StateServicer, "alice")
		code := e.mustTrans(wmC, kf.StateEnded, "")
		e.s.Advance(21 * time.Second)
		_, err := e.onEvent(code, kf.TextMsg("bye"))
		wantCode(t, err, kf.ErrCodeInvalidMsgToken)

		e.says(wmC, "hi")
		e.mustTrans(wmC, kf.StateServicer, "alice")
		code, err = e.s.ServicerEnd(wkA, wmC)
		if err != nil {
			t.Fatal(err)
		}
		e.says(wmC, "wait, one more thing")
		_, err = e.onEvent(code, kf.TextMsg("bye"))
		wantCode(t, err, kf.ErrCodeInvalidMsgToken)

		e.mustTrans(wmC, kf.StateServicer, "alice")
		code = e.mustTrans(wmC, kf.StateEnded, "")
		rate := kf.MenuMsg("Rate us", "", kf.ClickItem("5", "★★★★★"), kf.ClickItem("1", "★"))
		if _, err := e.onEvent(code, rate); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "an unknown code answers 95007", run: func(t *testing.T, e *env) {
		_, err := e.onEvent("MSGCODEnotacode", kf.TextMsg("x"))
		wantCode(t, err, kf.ErrCodeInvalidMsgToken)
	}},

	// ---- sync_msg (§2)
	{name: "sync_msg pages the log in order with has_more and stable cursors", run: func(t *testing.T, e *env) {
		var ids []string
		for i := range 5 {
			ids = append(ids, e.says(wmC, fmt.Sprint("m", i)))
		}
		p1, err := e.sync(kf.SyncMsgRequest{Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !p1.HasMore || len(p1.MsgList) != 2 || p1.MsgList[0].MsgID != ids[0] || p1.MsgList[1].MsgID != ids[1] {
			t.Fatalf("page 1: %+v", p1)
		}
		again, _ := e.sync(kf.SyncMsgRequest{Limit: 2})
		if again.NextCursor != p1.NextCursor {
			t.Fatal("the same position gave another cursor")
		}
		p2, _ := e.sync(kf.SyncMsgRequest{Limit: 2, Cursor: p1.NextCursor})
		p3, _ := e.sync(kf.SyncMsgRequest{Limit: 2, Cursor: p2.NextCursor})
		if !p2.HasMore || p3.HasMore || len(p3.MsgList) != 1 || p3.MsgList[0].MsgID != ids[4] {
			t.Fatalf("pages 2, 3: %+v %+v", p2, p3)
		}
		m := p1.MsgList[0]
		if m.Origin != kf.OriginCustomer || m.OpenKfID != wkA || m.ExternalUserID != wmC || m.Text() == nil || m.Text().Content != "m0" || m.SendTime != uint64(t0.Unix()) {
			t.Fatalf("message %+v", m)
		}
		p4, _ := e.sync(kf.SyncMsgRequest{Cursor: p3.NextCursor})
		if p4.HasMore || len(p4.MsgList) != 0 || p4.NextCursor != p3.NextCursor {
			t.Fatalf("at the end: %+v", p4)
		}
		id := e.says(wmC, "later")
		p5, _ := e.sync(kf.SyncMsgRequest{Cursor: p3.NextCursor})
		if len(p5.MsgList) != 1 || p5.MsgList[0].MsgID != id {
			t.Fatalf("after a new message: %+v", p5)
		}
	}},
	{name: "sync_msg refuses a cursor of another account or garbage (40058)", run: func(t *testing.T, e *env) {
		e.says(wmC, "hi")
		p, _ := e.sync(kf.SyncMsgRequest{})
		_, err := e.sync(kf.SyncMsgRequest{OpenKfID: wkB, Cursor: p.NextCursor})
		wantCode(t, err, kf.ErrCodeInvalidParameter)
		_, err = e.sync(kf.SyncMsgRequest{Cursor: "garbage!"})
		wantCode(t, err, kf.ErrCodeInvalidParameter)
	}},
	{name: "sync_msg limit above 1000 answers 40058", run: func(t *testing.T, e *env) {
		r := e.rawCall("/cgi-bin/kf/sync_msg", map[string]any{"open_kfid": wkA, "limit": 1001})
		if errcodeOf(r) != int(kf.ErrCodeInvalidParameter) {
			t.Fatalf("reply %v", r)
		}
		if r := e.rawCall("/cgi-bin/kf/sync_msg", map[string]any{"open_kfid": wkA, "limit": 1000}); errcodeOf(r) != 0 {
			t.Fatalf("reply %v", r)
		}
	}},
	{name: "sync_msg keeps 3 days of history", run: func(t *testing.T, e *env) {
		old := e.says(wmC, "old")
		e.s.Advance(time.Hour)
		recent := e.says(wmC, "recent")
		p0, _ := e.sync(kf.SyncMsgRequest{Limit: 1})
		e.s.Advance(71 * time.Hour)
		got := e.syncAll(wkA)
		if len(got) != 1 || got[0].MsgID != recent {
			t.Fatalf("after 3 days: %d messages, want only %s (not %s)", len(got), recent, old)
		}
		// An old cursor still works and skips what fell out of the history.
		p, err := e.sync(kf.SyncMsgRequest{Cursor: p0.NextCursor})
		if err != nil || len(p.MsgList) != 1 {
			t.Fatalf("old cursor: %+v, %v", p, err)
		}
		e.s.Advance(time.Hour)
		if got := e.syncAll(wkA); len(got) != 0 {
			t.Fatalf("%d messages, want none", len(got))
		}
	}},
	{name: "sync_msg sometimes answers an empty page with has_more 1", opts: []Option{WithEmptyPageRate(0.5)}, run: func(t *testing.T, e *env) {
		for i := range 20 {
			e.says(wmC, fmt.Sprint(i))
		}
		empty := 0
		var got []string
		cur := ""
		for range 200 {
			p, err := e.sync(kf.SyncMsgRequest{Cursor: cur, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.MsgList) == 0 && p.HasMore {
				empty++
			}
			for _, m := range p.MsgList {
				got = append(got, m.Text().Content)
			}
			cur = p.NextCursor
			if !p.HasMore {
				break
			}
		}
		if empty == 0 || len(got) != 20 || got[0] != "0" || got[19] != "19" {
			t.Fatalf("%d empty pages, got %v", empty, got)
		}
		if n := len(e.syncAll(wkA)); n != 20 {
			t.Fatalf("SyncAll read %d messages, want 20", n)
		}
	}},
	{name: "sync_msg without a token is rate limited (45009)", opts: []Option{WithTokenlessSyncLimit(3, time.Minute)}, run: func(t *testing.T, e *env) {
		for i := range 3 {
			if _, err := e.sync(kf.SyncMsgRequest{}); err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
		}
		_, err := e.sync(kf.SyncMsgRequest{})
		wantCode(t, err, kf.ErrCodeFrequencyLimit)
		var rl *kf.RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("%T, want a *kf.RateLimitError", err)
		}
		// Other accounts have their own allowance; a token is unlimited.
		if _, err := e.sync(kf.SyncMsgRequest{OpenKfID: wkB}); err != nil {
			t.Fatal(err)
		}
		tok, _ := e.s.SyncToken(wkA)
		for range 5 {
			if _, err := e.sync(kf.SyncMsgRequest{Token: tok}); err != nil {
				t.Fatal(err)
			}
		}
		e.s.Advance(time.Minute)
		if _, err := e.sync(kf.SyncMsgRequest{}); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "the callback token is valid 10 minutes for its account (95007)", run: func(t *testing.T, e *env) {
		tok, err := e.s.SyncToken(wkA)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.sync(kf.SyncMsgRequest{OpenKfID: wkB, Token: tok})
		wantCode(t, err, kf.ErrCodeInvalidMsgToken)
		e.s.Advance(10*time.Minute - time.Second)
		if _, err := e.sync(kf.SyncMsgRequest{Token: tok}); err != nil {
			t.Fatal(err)
		}
		e.s.Advance(time.Second)
		_, err = e.sync(kf.SyncMsgRequest{Token: tok})
		wantCode(t, err, kf.ErrCodeInvalidMsgToken)
		_, err = e.sync(kf.SyncMsgRequest{Token: "ENCnotatoken"})
		wantCode(t, err, kf.ErrCodeInvalidMsgToken)
	}},
	{name: "events have origin 4 and no top-level open_kfid or external_userid", run: func(t *testing.T, e *env) {
		if _, err := e.s.EnterSession(wkA, wmC, EnterOptions{Scene: "promo", SceneParam: "a=1"}); err != nil {
			t.Fatal(err)
		}
		msgs := e.syncAll(wkA)
		if len(msgs) != 1 {
			t.Fatalf("%d messages", len(msgs))
		}
		m := msgs[0]
		var top map[string]json.RawMessage
		_ = json.Unmarshal(m.Raw, &top)
		if _, ok := top["open_kfid"]; ok || m.Origin != kf.OriginSystem || m.MsgType != kf.MsgTypeEvent {
			t.Fatalf("event envelope %s", m.Raw)
		}
		if _, ok := top["external_userid"]; ok {
			t.Fatalf("event envelope %s", m.Raw)
		}
		es, ok := m.Event().Payload.(*kf.EnterSession)
		if !ok || m.Account() != wkA || m.Customer() != wmC || es.Scene != "promo" || es.SceneParam != "a=1" || es.WelcomeCode == "" {
			t.Fatalf("enter_session %s", m.Raw)
		}
	}},
}

func TestConformance(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.name] {
			t.Fatalf("duplicate rule %q", r.name)
		}
		seen[r.name] = true
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			r.run(t, newEnv(t, r.opts...))
		})
	}
}
