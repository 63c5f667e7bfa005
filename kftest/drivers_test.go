package kftest

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/callback"
	"github.com/wxkf/kf/internal/wxcrypto"
)

// lastEvent returns the newest event of the account's sync log.
func (e *env) lastEvent(openKfID string) *kf.Event {
	e.t.Helper()
	evs := e.events(openKfID)
	if len(evs) == 0 {
		e.t.Fatal("no event")
	}
	return evs[len(evs)-1]
}

func TestEnterSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cw, err := e.c.Accounts.ContactWay(e.ctx, &kf.ContactWayRequest{OpenKfID: wkA, Scene: "spring_sale"})
	if err != nil {
		t.Fatal(err)
	}
	link, err := kf.AppendSceneParam(cw.URL, "utm=poster 1")
	if err != nil {
		t.Fatal(err)
	}
	code, err := e.s.EnterSession(wkA, wmC, EnterOptions{Link: link})
	if err != nil || code == "" {
		t.Fatalf("enter: %q, %v", code, err)
	}
	ev := e.lastEvent(wkA)
	es, ok := ev.Payload.(*kf.EnterSession)
	if !ok || ev.OpenKfID != wkA || ev.ExternalUserID != wmC || es.Scene != "spring_sale" || es.SceneParam != "utm=poster 1" || es.WelcomeCode != code {
		t.Fatalf("enter_session %s", ev.Raw)
	}
	// A link of another account is refused, and so is an edited one.
	if _, err := e.s.EnterSession(wkB, wmC, EnterOptions{Link: link}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("link of another account: %v", err)
	}
	if _, err := e.s.EnterSession(wkA, wmC, EnterOptions{Link: cw.URL + "x"}); err == nil {
		t.Fatal("edited link accepted")
	}
	// From 视频号, and the context for customer/batchget.
	_, err = e.s.EnterSession(wkA, wmC, EnterOptions{WeChatChannels: &WeChatChannelsInfo{ShopNickname: "Tea shop", Scene: 4}})
	if err != nil {
		t.Fatal(err)
	}
	es = e.lastEvent(wkA).Payload.(*kf.EnterSession)
	if es.WeChatChannels.ShopNickname != "Tea shop" || es.WeChatChannels.Scene != 4 {
		t.Fatalf("second enter_session %+v", es)
	}
	got, err := e.c.Customers.BatchGet(e.ctx, &kf.BatchGetCustomersRequest{ExternalUserIDs: []string{wmC}, NeedEnterSessionContext: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Customers) != 1 || got.Customers[0].EnterSessionContext == nil || got.Customers[0].EnterSessionContext.WeChatChannels == nil {
		t.Fatalf("batchget %+v", got)
	}
	// Entering does not start a session.
	if v, ok := e.s.SessionInfo(wkA, wmC); !ok || v.State != kf.StateEnded || v.Consulted {
		t.Fatalf("session %+v", v)
	}
	if _, err := e.s.EnterSession(wkA, "wmNobody", EnterOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown customer: %v", err)
	}
	if _, err := e.s.EnterSession("wkNone", wmC, EnterOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
}

func TestCustomerSendTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		msg  CustomerMsg
		want kf.Payload
	}{
		{CustomerText("hello"), &kf.Text{Content: "hello"}},
		{CustomerMenuClick("101", "Orders"), &kf.Text{Content: "Orders", MenuID: "101"}},
		{CustomerImage("MIMG"), &kf.Image{MediaID: "MIMG"}},
		{CustomerVoice("MVOICE"), &kf.Voice{MediaID: "MVOICE"}},
		{CustomerVideo("MVIDEO"), &kf.Video{MediaID: "MVIDEO"}},
		{CustomerFile("MFILE"), &kf.File{MediaID: "MFILE"}},
		{CustomerLocation(31.23, 121.47, "People's Square", "Shanghai"), &kf.Location{Latitude: 31.23, Longitude: 121.47, Name: "People's Square", Address: "Shanghai"}},
		{CustomerLink("T", "D", "https://example.com/a", "https://example.com/p.png"), &kf.Link{Title: "T", Desc: "D", URL: "https://example.com/a", PicURL: "https://example.com/p.png"}},
		{CustomerMiniProgram("Shop", "wx123", "pages/i.html", "MTHUMB"), &kf.MiniProgram{Title: "Shop", AppID: "wx123", PagePath: "pages/i.html", ThumbMediaID: "MTHUMB"}},
		{CustomerBusinessCard("alice"), &kf.BusinessCard{UserID: "alice"}},
	}
	var ids []string
	for _, tc := range tests {
		id, err := e.s.CustomerSend(wkA, wmC, tc.msg)
		if err != nil {
			t.Fatalf("%s: %v", tc.msg.MsgType, err)
		}
		ids = append(ids, id)
	}
	if _, err := e.s.CustomerSend(wkA, wmC, CustomerRaw("channels_shop_product",
		json.RawMessage(`{"product_id":"p1", "head_img":"https://h","title":"Tea","sales_price":"1999","shop_nickname":"S","shop_head_img":"https://s"}`))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CustomerSend(wkA, wmC, CustomerRaw("note", nil)); err != nil {
		t.Fatal(err)
	}
	msgs := e.syncAll(wkA)
	if len(msgs) != len(tests)+2 {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, tc := range tests {
		m := msgs[i]
		if m.MsgID != ids[i] || m.Origin != kf.OriginCustomer || m.OpenKfID != wkA || m.ExternalUserID != wmC {
			t.Errorf("%s: envelope %s", tc.msg.MsgType, m.Raw)
		}
		if diff := cmp.Diff(tc.want, m.Payload); diff != "" {
			t.Errorf("%s payload (-want +got):\n%s", tc.msg.MsgType, diff)
		}
	}
	if p, ok := msgs[len(tests)].Payload.(*kf.ChannelsShopProduct); !ok || p.ProductID != "p1" {
		t.Errorf("channels_shop_product: %s", msgs[len(tests)].Raw)
	}
	if got := string(msgs[len(tests)+1].Raw); !strings.HasSuffix(got, `"msgtype":"note","note":{}}`) {
		t.Errorf("note: %s", got)
	}
	for _, bad := range []CustomerMsg{
		CustomerRaw("event", json.RawMessage(`{}`)), CustomerRaw("ca_link", nil), CustomerRaw("bogus", nil),
		CustomerText(""), CustomerImage(""), CustomerRaw("text", json.RawMessage(`["x"]`)),
	} {
		if _, err := e.s.CustomerSend(wkA, wmC, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s %s: %v, want ErrInvalid", bad.MsgType, bad.Payload, err)
		}
	}
	if _, err := e.s.CustomerSend(wkA, "wmNobody", CustomerText("x")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown customer: %v", err)
	}
}

func TestCustomerRecall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.says(wmC, "oops")
	e.s.Advance(2 * time.Minute)
	if err := e.s.CustomerRecall(wkA, wmC, id); err != nil {
		t.Fatal(err)
	}
	ev := e.lastEvent(wkA)
	if r, ok := ev.Payload.(*kf.UserRecallMsg); !ok || r.RecallMsgID != id || ev.ExternalUserID != wmC {
		t.Fatalf("event %s", ev.Raw)
	}
	if err := e.s.CustomerRecall(wkA, wmC, id); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("second recall: %v", err)
	}
	late := e.says(wmC, "late")
	e.s.Advance(2*time.Minute + time.Second)
	if err := e.s.CustomerRecall(wkA, wmC, late); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("late recall: %v", err)
	}
	if err := e.s.CustomerRecall(wkA, wmC, "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown msgid: %v", err)
	}
}

func TestServicerLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.says(wmC, "I need a human")
	e.mustTrans(wmC, kf.StateQueued, "")
	if _, err := e.s.ServicerAccept(wkA, wmC, "carol"); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("stopped servicer accepted: %v", err)
	}
	if _, err := e.s.ServicerAccept(wkA, wmC, "eve"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("non-servicer accepted: %v", err)
	}
	code, err := e.s.ServicerAccept(wkA, wmC, "alice")
	if err != nil || code == "" {
		t.Fatal(code, err)
	}
	if _, err := e.s.ServicerAccept(wkA, wmC, "bob"); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("accepting a served session: %v", err)
	}
	sent, err := e.s.ServicerSend(wkA, wmC, "alice", CustomerText("Hi, Alice here"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.ServicerSend(wkA, wmC, "bob", CustomerText("Bob")); err != nil { // bob re-engages
		t.Fatal(err)
	}
	if err := e.s.ServicerTransfer(wkA, wmC, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.ServicerTransfer(wkA, wmC, "alice"); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("transfer to the same servicer: %v", err)
	}
	if err := e.s.ServicerRecall(wkA, wmC, "alice", sent); err != nil {
		t.Fatal(err)
	}
	if err := e.s.ServicerRecall(wkA, wmC, "bob", sent); !errors.Is(err, ErrNotFound) {
		t.Fatalf("recall of another servicer's message: %v", err)
	}
	end, err := e.s.ServicerEnd(wkA, wmC)
	if err != nil || end == "" {
		t.Fatal(end, err)
	}
	if _, err := e.s.ServicerEnd(wkA, wmC); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("ending an ended session: %v", err)
	}
	if _, err := e.s.ServicerSend(wkA, wmC, "bob", CustomerText("one more thing")); err != nil {
		t.Fatal(err)
	}
	if st := e.state(wmC); st.ServiceState != kf.StateServicer || st.ServicerUserID != "bob" {
		t.Fatalf("after re-engaging: %+v", st)
	}

	type row struct {
		Origin   kf.Origin
		What     string
		Servicer string
	}
	var got []row
	for _, m := range e.syncAll(wkA) {
		r := row{Origin: m.Origin, Servicer: m.ServicerUserID}
		switch p := m.Payload.(type) {
		case *kf.Text:
			r.What = "text " + p.Content
		case *kf.Event:
			switch ev := p.Payload.(type) {
			case *kf.SessionStatusChange:
				r.What = fmt.Sprintf("change %d %s→%s code=%v", ev.ChangeType, ev.OldServicerUserID, ev.NewServicerUserID, ev.MsgCode != "")
			case *kf.ServicerRecallMsg:
				r.What = "recall " + ev.ServicerUserID
			default:
				r.What = string(p.EventType)
			}
		}
		got = append(got, r)
	}
	want := []row{
		{kf.OriginCustomer, "text I need a human", ""},
		{kf.OriginSystem, "change 1 →alice code=true", ""},
		{kf.OriginServicer, "text Hi, Alice here", "alice"},
		{kf.OriginSystem, "change 4 alice→bob code=false", ""},
		{kf.OriginServicer, "text Bob", "bob"},
		{kf.OriginSystem, "change 2 bob→alice code=false", ""},
		{kf.OriginSystem, "recall alice", ""},
		{kf.OriginSystem, "change 3 alice→ code=true", ""},
		{kf.OriginSystem, "change 4 alice→bob code=false", ""},
		{kf.OriginServicer, "text one more thing", "bob"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("sync log (-want +got):\n%s", diff)
	}
	rec := e.s.Received(wkA, wmC)
	if len(rec) != 3 || !rec[0].Recalled || rec[0].From != "servicer" || rec[0].Servicer != "alice" || rec[2].Servicer != "bob" {
		t.Fatalf("received %+v", rec)
	}
	// Servicers need a customer message within 48 h.
	e.s.Advance(48 * time.Hour)
	if _, err := e.s.ServicerSend(wkA, wmC, "bob", CustomerText("hello?")); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("servicer message after 48 h: %v", err)
	}
}

func TestSetServicerStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.s.SetServicerStatus("bob", ServicerStopped, StopTypeSuspended); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{wkA, wkB} {
		ev := e.lastEvent(id)
		sc, ok := ev.Payload.(*kf.ServicerStatusChange)
		if !ok || ev.OpenKfID != id || ev.ExternalUserID != "" || sc.ServicerUserID != "bob" || sc.Status != kf.ReceptionStopped || sc.StopType != 1 {
			t.Fatalf("%s: event %s", id, ev.Raw)
		}
	}
	e.says(wmC, "hi")
	_, err := e.trans(wmC, kf.StateServicer, "bob")
	wantCode(t, err, kf.ErrCodeServicerUnavailable)
	if err := e.s.SetServicerStatus("bob", ServicerReceiving, 0); err != nil {
		t.Fatal(err)
	}
	if sc := e.lastEvent(wkB).Payload.(*kf.ServicerStatusChange); sc.Status != kf.ReceptionReceiving || sc.StopType != 0 {
		t.Fatalf("%+v", sc)
	}
	n := len(e.s.SyncLog(wkB))
	if err := e.s.SetServicerStatus("bob", ServicerReceiving, 0); err != nil || len(e.s.SyncLog(wkB)) != n {
		t.Fatalf("an unchanged status logged an event (%v)", err)
	}
	e.mustTrans(wmC, kf.StateServicer, "bob")
	for _, bad := range [][2]int{{2, 0}, {1, 2}, {-1, 0}} {
		if err := e.s.SetServicerStatus("bob", bad[0], bad[1]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("status %v: %v", bad, err)
		}
	}
	if err := e.s.SetServicerStatus("nobody", 1, 0); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestRejectAndSendFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.says(wmC, "hi")
	if err := e.s.ServicerRejectCustomer(wkA, wmC, "alice", true); err != nil {
		t.Fatal(err)
	}
	ev := e.lastEvent(wkA)
	if r, ok := ev.Payload.(*kf.RejectCustomerMsgSwitchChange); !ok || r.RejectSwitch != kf.RejectSwitchOn || r.ServicerUserID != "alice" || ev.ExternalUserID != wmC {
		t.Fatalf("event %s", ev.Raw)
	}
	if v, _ := e.s.SessionInfo(wkA, wmC); !v.Rejecting {
		t.Fatal("not rejecting")
	}
	e.says(wmC, "still logged")
	if err := e.s.ServicerRejectCustomer(wkA, wmC, "alice", false); err != nil {
		t.Fatal(err)
	}
	if r := e.lastEvent(wkA).Payload.(*kf.RejectCustomerMsgSwitchChange); r.RejectSwitch != kf.RejectSwitchOff {
		t.Fatalf("%+v", r)
	}

	id, err := e.send(wmC, kf.TextMsg("will fail"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.SendFailed(wkA, wmC, id, 10); err != nil {
		t.Fatal(err)
	}
	ev = e.lastEvent(wkA)
	if f, ok := ev.Payload.(*kf.MsgSendFail); !ok || f.FailMsgID != id || f.FailType != 10 || ev.ExternalUserID != wmC {
		t.Fatalf("event %s", ev.Raw)
	}
	if rec := e.s.Received(wkA, wmC); !rec[0].Failed || rec[0].FailType != 10 {
		t.Fatalf("received %+v", rec)
	}
	if err := e.s.SendFailed(wkA, wmC, "nosuch", 0); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := e.s.SendFailed(wkA, wmC, id, 13); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}

func TestConversation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	code, _ := e.s.EnterSession(wkA, wmC, EnterOptions{Scene: "s"})
	if _, err := e.onEvent(code, kf.MenuMsg("Hi!", "", kf.ClickItem("1", "Orders"))); err != nil {
		t.Fatal(err)
	}
	e.s.Advance(time.Second)
	if _, err := e.s.CustomerSend(wkA, wmC, CustomerMenuClick("1", "Orders")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.send(wmC, kf.TextMsg("Your order shipped"), "o1"); err != nil {
		t.Fatal(err)
	}
	cv := e.s.Conversation(wkA, wmC)
	var from []string
	for _, d := range cv.Messages {
		from = append(from, d.From+" "+d.MsgType)
	}
	want := []string{"system event", "event msgmenu", "customer text", "api text"}
	if diff := cmp.Diff(want, from); diff != "" {
		t.Fatalf("conversation (-want +got):\n%s", diff)
	}
	wantView := SessionView{State: kf.StateUntreated, StateName: "untreated", Budget: 4,
		WindowEnds: t0.Add(time.Second + 48*time.Hour), Consulted: true}
	if diff := cmp.Diff(wantView, cv.Session); diff != "" {
		t.Fatalf("session (-want +got):\n%s", diff)
	}
	b, _ := json.Marshal(cv)
	for _, key := range []string{`"open_kfid"`, `"service_state":0`, `"budget":4`, `"window_ends"`, `"from":"customer"`, `"payload":{"content":"Orders","menu_id":"1"}`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("conversation JSON lacks %s: %s", key, b)
		}
	}
	if cv := e.s.Conversation(wkA, "wmNobody"); cv.Messages == nil || cv.Session.State != kf.StateEnded {
		t.Fatalf("empty conversation %+v", cv)
	}
}

func TestStatisticsCounters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.says(wmC, "one")
	e.says(wmC, "two")
	if _, err := e.s.ServicerAccept(wkA, wmC, "alice"); err != nil {
		t.Fatal(err)
	}
	e.says(wmC, "three")
	if _, err := e.s.ServicerSend(wkA, wmC, "alice", CustomerText("reply")); err != nil {
		t.Fatal(err)
	}
	var ds dayStats
	var sd servicerDay
	_ = e.s.store.View(func(st *State) error {
		d := st.accounts[wkA].stats[statsDayStart(t0)]
		ds, sd = *d, *d.servicer["alice"]
		return nil
	})
	if ds.sessions != 1 || ds.customerMsgs != 3 || len(ds.customers) != 1 || sd.sessions != 1 || sd.msgs != 1 || sd.replies != 1 || len(sd.customers) != 1 {
		t.Fatalf("day %+v, alice %+v", ds, sd)
	}
}

// kfEvent is the plaintext of a kf_msg_or_event callback.
type kfEvent struct {
	ToUserName string   `xml:"ToUserName"`
	CreateTime int64    `xml:"CreateTime"`
	MsgType    string   `xml:"MsgType"`
	Event      string   `xml:"Event"`
	Token      string   `xml:"Token"`
	OpenKfID   string   `xml:"OpenKfId"`
	FromUser   string   `xml:"FromUserName"`
	AuthAdd    []string `xml:"AuthAddOpenKfId"`
	AuthDel    []string `xml:"AuthDelOpenKfId"`
}

const (
	testCBToken  = "QDG6eK"
	testCBAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

// receiver is an app's callback endpoint that checks and decrypts what the
// emulator posts.
type receiver struct {
	t      *testing.T
	corpID string
	key    wxcrypto.Key
	got    chan kfEvent
	// reply decides the answer of attempt n (1-based); nil answers 200.
	reply func(n int, w http.ResponseWriter, r *http.Request)

	mu       sync.Mutex
	attempts int
	agentIDs []string
}

func newReceiver(t *testing.T, reply func(n int, w http.ResponseWriter, r *http.Request)) (*receiver, *httptest.Server) {
	key, err := wxcrypto.ParseKey(testCBAESKey)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t, corpID: DefaultCorpID, key: key, got: make(chan kfEvent, 100), reply: reply}
	hs := httptest.NewServer(rc)
	t.Cleanup(hs.Close)
	return rc, hs
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodGet { // URL verification
		echo := q.Get("echostr")
		if !wxcrypto.VerifySignature(testCBToken, q.Get("timestamp"), q.Get("nonce"), echo, q.Get("msg_signature")) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		msg, err := rc.key.DecryptFor(echo, rc.corpID)
		if err != nil {
			http.Error(w, "bad echostr", http.StatusBadRequest)
			return
		}
		w.Write(msg)
		return
	}
	rc.mu.Lock()
	rc.attempts++
	n := rc.attempts
	rc.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	to, enc, agentID, err := wxcrypto.ParseEncryptedPostBody(body)
	if err != nil || to != rc.corpID {
		rc.t.Errorf("outer body %q: %v", body, err)
		return
	}
	if !wxcrypto.VerifySignature(testCBToken, q.Get("timestamp"), q.Get("nonce"), enc, q.Get("msg_signature")) {
		rc.t.Errorf("bad signature")
		return
	}
	plain, err := rc.key.DecryptFor(enc, rc.corpID)
	if err != nil {
		rc.t.Errorf("decrypt: %v", err)
		return
	}
	var ev kfEvent
	if err := xml.Unmarshal(plain, &ev); err != nil {
		rc.t.Errorf("plaintext %q: %v", plain, err)
		return
	}
	rc.mu.Lock()
	rc.agentIDs = append(rc.agentIDs, agentID)
	rc.mu.Unlock()
	if rc.reply != nil {
		rc.reply(n, w, r)
	}
	select {
	case rc.got <- ev:
	default:
	}
}

func (rc *receiver) next(t *testing.T) kfEvent {
	t.Helper()
	select {
	case ev := <-rc.got:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no callback")
		return kfEvent{}
	}
}

func TestCallbackDelivery(t *testing.T) {
	t.Parallel()
	rc, hs := newReceiver(t, nil)
	e := newEnv(t, WithCallback(Callback{URL: hs.URL + "/kf/callback?app=1", Token: testCBToken, EncodingAESKey: testCBAESKey}),
		WithTokenlessSyncLimit(1, time.Hour))
	if _, err := e.sync(kf.SyncMsgRequest{}); err != nil { // uses up the tokenless allowance
		t.Fatal(err)
	}
	id := e.says(wmC, "hello")
	ev := rc.next(t)
	want := kfEvent{ToUserName: DefaultCorpID, CreateTime: t0.Unix(), MsgType: "event", Event: "kf_msg_or_event", Token: ev.Token, OpenKfID: wkA}
	if diff := cmp.Diff(want, ev); diff != "" || ev.Token == "" {
		t.Fatalf("callback (-want +got):\n%s", diff)
	}
	_, err := e.sync(kf.SyncMsgRequest{})
	wantCode(t, err, kf.ErrCodeFrequencyLimit)
	p, err := e.sync(kf.SyncMsgRequest{Token: ev.Token})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.MsgList) != 1 || p.MsgList[0].MsgID != id {
		t.Fatalf("page %+v", p)
	}
	if rc.agentIDs[0] != callbackAgentID {
		t.Fatalf("AgentID %q", rc.agentIDs[0])
	}
	// Servicer actions and other accounts call back too, with their account.
	if err := e.s.SetServicerStatus("bob", ServicerStopped, 0); err != nil {
		t.Fatal(err)
	}
	accounts := map[string]bool{}
	for range 2 {
		accounts[rc.next(t).OpenKfID] = true
	}
	if !accounts[wkA] || !accounts[wkB] {
		t.Fatalf("callbacks for %v", accounts)
	}
	if err := e.s.VerifyCallbackURL(e.ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCallbackHandler receives the emulator's callbacks with the toolkit's
// own callback.Handler (signature, timestamp window, decryption, receiver
// id) and syncs with the token.
func TestCallbackHandler(t *testing.T) {
	t.Parallel()
	clk := NewFrozenClock(t0)
	got := make(chan callback.Event, 10)
	h, err := callback.New(callback.Config{Token: testCBToken, EncodingAESKey: testCBAESKey, ReceiverID: DefaultCorpID,
		Now: clk.Now, OnEvent: func(_ context.Context, ev callback.Event) { got <- ev }})
	if err != nil {
		t.Fatal(err)
	}
	go h.Run(t.Context())
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	e := newEnv(t, WithClock(clk), WithCallback(Callback{URL: hs.URL, Token: testCBToken, EncodingAESKey: testCBAESKey}),
		WithTokenlessSyncLimit(1, time.Hour))
	if err := e.s.VerifyCallbackURL(e.ctx); err != nil {
		t.Fatal(err)
	}
	id := e.says(wmC, "hello")
	var ev callback.Event
	select {
	case ev = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	k, ok := ev.KfMsgOrEvent()
	if !ok || k.OpenKfID != wkA || k.Token == "" || !k.CreateTime.Equal(t0) {
		t.Fatalf("event %+v", ev)
	}
	for range 2 {
		p, err := e.sync(kf.SyncMsgRequest{Token: k.Token})
		if err != nil || len(p.MsgList) != 1 || p.MsgList[0].MsgID != id {
			t.Fatalf("%+v, %v", p, err)
		}
	}
	if err := e.s.AssignAccounts([]string{wkB}, nil); err != nil {
		t.Fatal(err)
	}
	ev = <-got
	if a, ok := ev.KfAccountAuthChange(); !ok || len(a.AuthAddOpenKfIDs) != 1 || a.AuthAddOpenKfIDs[0] != wkB {
		t.Fatalf("event %+v", ev)
	}
}

func TestCallbackRetry(t *testing.T) {
	t.Parallel()
	slow := func(n int, w http.ResponseWriter, r *http.Request) {
		if n <= 2 { // answer too late twice
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	}
	rc, hs := newReceiver(t, slow)
	e := newEnv(t, WithCallback(Callback{URL: hs.URL, Token: testCBToken, EncodingAESKey: testCBAESKey}),
		WithCallbackRetry(100*time.Millisecond, 3))
	e.says(wmC, "hi")
	deadline := time.Now().Add(10 * time.Second)
	for e.s.CallbackStats().Delivered == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // real delivery time, not platform time
	}
	if st := e.s.CallbackStats(); st != (CallbackStats{Queued: 1, Attempts: 3, Delivered: 1}) {
		t.Fatalf("stats %+v", st)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.attempts != 3 {
		t.Fatalf("%d attempts, want 3", rc.attempts)
	}
}

func TestCallbackGivesUp(t *testing.T) {
	t.Parallel()
	_, hs := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	e := newEnv(t, WithCallback(Callback{URL: hs.URL, Token: testCBToken, EncodingAESKey: testCBAESKey}))
	e.says(wmC, "hi")
	deadline := time.Now().Add(10 * time.Second)
	for e.s.CallbackStats().Failed == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := e.s.CallbackStats(); st != (CallbackStats{Queued: 1, Attempts: 3, Failed: 1}) {
		t.Fatalf("stats %+v", st)
	}
}

func TestCallbackStopsOnClose(t *testing.T) {
	t.Parallel()
	_, hs := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	})
	s, err := New(WithSeed(testSeed()), WithCallback(Callback{URL: hs.URL, Token: testCBToken, EncodingAESKey: testCBAESKey}))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.CustomerSend(wkA, wmC, CustomerText("x")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // let the first POST start
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if _, err := s.CustomerSend(wkA, wmC, CustomerText("after close")); err != nil {
		t.Fatal(err) // the state still works; nothing is delivered
	}
}

func TestVerifyCallbackURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.s.VerifyCallbackURL(e.ctx); !errors.Is(err, ErrNoCallback) {
		t.Fatalf("without callback: %v", err)
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, _ := wxcrypto.ParseKey(testCBAESKey)
		msg, _ := key.DecryptFor(r.URL.Query().Get("echostr"), DefaultCorpID)
		fmt.Fprintf(w, "%s\n", msg) // a trailing newline is wrong
	}))
	defer bad.Close()
	e2 := newEnv(t, WithCallback(Callback{URL: bad.URL, Token: testCBToken, EncodingAESKey: testCBAESKey}))
	if err := e2.s.VerifyCallbackURL(e2.ctx); err == nil {
		t.Fatal("an answer with a newline passed")
	}
}

func TestAssignAccounts(t *testing.T) {
	t.Parallel()
	rc, hs := newReceiver(t, nil)
	e := newEnv(t, WithCallback(Callback{URL: hs.URL, Token: testCBToken, EncodingAESKey: testCBAESKey}))
	if err := e.s.AssignAccounts([]string{wkA}, []string{wkB, "wkGone"}); err != nil {
		t.Fatal(err)
	}
	ev := rc.next(t)
	want := kfEvent{ToUserName: DefaultCorpID, FromUser: "sys", CreateTime: t0.Unix(), MsgType: "event",
		Event: "kf_account_auth_change", AuthAdd: []string{wkA}, AuthDel: []string{wkB, "wkGone"}}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Fatalf("callback (-want +got):\n%s", diff)
	}
	_ = e.s.store.View(func(st *State) error {
		if !st.accounts[wkA].managed || st.accounts[wkB].managed {
			t.Error("manage privileges not updated")
		}
		return nil
	})
	if err := e.s.AssignAccounts(nil, nil); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}

// TestConcurrency drives customers, servicers and the API at once (run it
// with -race).
func TestConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const customers, msgs = 6, 15
	ids := make([]string, customers)
	for i := range ids {
		ids[i] = e.customer()
	}
	var wg sync.WaitGroup
	errc := make(chan error, customers*msgs*3)
	for i, cust := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range msgs {
				if _, err := e.s.CustomerSend(wkA, cust, CustomerText(fmt.Sprint(i, ":", j))); err != nil {
					errc <- err
					return
				}
				if j%3 == 0 {
					if _, err := e.send(cust, kf.TextMsg("ack"), ""); err != nil {
						errc <- err
					}
				}
				_ = e.s.Conversation(wkA, cust)
			}
			if _, err := e.s.ServicerAccept(wkA, cust, "alice"); err != nil {
				errc <- err
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			if _, err := e.sync(kf.SyncMsgRequest{}); err != nil {
				errc <- err
			}
			_ = e.s.SyncLog(wkA)
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	last := map[string]int{}
	n := 0
	for _, m := range e.syncAll(wkA) {
		if m.Text() == nil {
			continue
		}
		n++
		var i, j int
		fmt.Sscanf(m.Text().Content, "%d:%d", &i, &j)
		if prev, ok := last[m.ExternalUserID]; ok && j != prev+1 {
			t.Fatalf("%s: message %d after %d", m.ExternalUserID, j, prev)
		}
		last[m.ExternalUserID] = j
	}
	if n != customers*msgs {
		t.Fatalf("%d customer messages, want %d", n, customers*msgs)
	}
	for _, cust := range ids {
		if got := len(e.s.Received(wkA, cust)); got != 5 {
			t.Errorf("%s received %d, want 5", cust, got)
		}
	}
}
