package kftest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxkf/kf/kftest"
	"github.com/wxkf/kf/mp"
)

func TestOASessionCreateRules(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rc := oaNewReceiver(t, false)
	s, c := oaSetup(t, rc.option(), kftest.WithOASeed(oaSeed()))
	alice, bob, carol := s.KfAccount("alice"), s.KfAccount("bob"), s.KfAccount("carol")
	create := func(acc, openid string) error {
		return c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: acc, OpenID: openid})
	}
	oaWantCode(t, create(bob, "oUser1"), mp.ErrCodeWorkerOffline)       // bound, offline
	oaWantCode(t, create(carol, "oUser1"), mp.ErrCodeKfAccountNotBound) // no worker
	oaWantCode(t, create(s.KfAccount("ghost"), "oUser1"), mp.ErrCodeInvalidKfAccount)
	oaWantCode(t, create(alice, "oStranger"), mp.ErrCodeInvalidUserID)
	if code, _ := oaRaw(t, s, c, "POST", "/customservice/kfsession/create", "", `{"kf_account":"x@y","openid":"oUser1"}`); code != 65401 {
		t.Errorf("create for another WeChat ID: %d", code)
	}

	if err := create(alice, "oUser1"); err != nil {
		t.Fatal(err)
	}
	if ev := rc.event(t, "kf_create_session", "oUser1"); ev.KfAccount != alice {
		t.Errorf("event %+v", ev)
	}
	s.Advance(time.Second)
	// The same session again: 0, and no second event.
	if err := create(alice, "oUser1"); err != nil {
		t.Fatal(err)
	}
	rc.quiet(t, s)
	got, err := c.Sessions.Get(ctx, "oUser1")
	if err != nil {
		t.Fatal(err)
	}
	if *got != (mp.GetSessionResponse{CreateTime: oaT0.Unix(), KfAccount: alice}) || !got.Served() {
		t.Errorf("getsession %+v", got)
	}
	// Another worker cannot take the user over with create.
	if err := s.SetWorkerOnline(bob, true); err != nil {
		t.Fatal(err)
	}
	oaWantCode(t, create(bob, "oUser1"), mp.ErrCodeServedByAnotherWorker)

	// Nobody serves oUser2.
	if got, err := c.Sessions.Get(ctx, "oUser2"); err != nil || got.Served() || got.CreateTime != 0 {
		t.Errorf("getsession of an unserved user: %+v %v", got, err)
	}
	_, err = c.Sessions.Get(ctx, "oStranger")
	oaWantCode(t, err, mp.ErrCodeInvalidUserID)

	// Session lists per worker, oldest first.
	s.AddUser("oUser3")
	if err := create(alice, "oUser3"); err != nil {
		t.Fatal(err)
	}
	if err := create(bob, "oUser2"); err != nil {
		t.Fatal(err)
	}
	list, err := c.Sessions.List(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	want := []mp.SessionItem{{CreateTime: oaT0.Unix(), OpenID: "oUser1"}, {CreateTime: oaT0.Add(time.Second).Unix(), OpenID: "oUser3"}}
	if diff := cmp.Diff(want, list.Sessions); diff != "" {
		t.Errorf("alice's sessions (-want +got):\n%s", diff)
	}
	if list, err := c.Sessions.List(ctx, bob); err != nil || len(list.Sessions) != 1 || list.Sessions[0].OpenID != "oUser2" {
		t.Errorf("bob's sessions %+v %v", list, err)
	}
	_, err = c.Sessions.List(ctx, carol)
	oaWantCode(t, err, mp.ErrCodeKfAccountNotBound)
	_, err = c.Sessions.List(ctx, s.KfAccount("ghost"))
	oaWantCode(t, err, mp.ErrCodeInvalidKfAccount)
}

func TestOASessionCloseRules(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rc := oaNewReceiver(t, false)
	seed := oaSeed()
	seed.Accounts[1].Online = true
	s, c := oaSetup(t, rc.option(), kftest.WithOASeed(seed))
	alice, bob := s.KfAccount("alice"), s.KfAccount("bob")
	closeS := func(acc, openid string) error {
		return c.Sessions.Close(ctx, &mp.CloseSessionRequest{KfAccount: acc, OpenID: openid})
	}
	oaWantCode(t, closeS(alice, "oUser1"), mp.ErrCodeNoSession)
	oaWantCode(t, closeS(alice, "oStranger"), mp.ErrCodeInvalidUserID)
	oaWantCode(t, closeS(s.KfAccount("ghost"), "oUser1"), mp.ErrCodeInvalidKfAccount)
	if err := c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: alice, OpenID: "oUser1"}); err != nil {
		t.Fatal(err)
	}
	rc.event(t, "kf_create_session", "oUser1")
	oaWantCode(t, closeS(bob, "oUser1"), mp.ErrCodeServedByAnotherWorker)
	s.Advance(time.Minute)
	if err := closeS(alice, "oUser1"); err != nil {
		t.Fatal(err)
	}
	if ev := rc.event(t, "kf_close_session", "oUser1"); ev.KfAccount != alice || ev.CreateTime != oaT0.Add(time.Minute).Unix() {
		t.Errorf("event %+v", ev)
	}
	oaWantCode(t, closeS(alice, "oUser1"), mp.ErrCodeNoSession)
	if got, _ := c.Sessions.Get(ctx, "oUser1"); got.Served() {
		t.Errorf("still served: %+v", got)
	}
	// The worker's driver closes too.
	if err := c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: bob, OpenID: "oUser1"}); err != nil {
		t.Fatal(err)
	}
	rc.event(t, "kf_create_session", "oUser1")
	if err := s.WorkerClose(alice, "oUser1"); err == nil {
		t.Error("alice closed bob's session")
	}
	if err := s.WorkerClose(bob, "oUser1"); err != nil {
		t.Fatal(err)
	}
	rc.event(t, "kf_close_session", "oUser1")
	rc.quiet(t, s)
}

// The wait queue: count of every waiting user, the 100 earliest by
// latest_time; a new message moves a user back; create takes a user off.
func TestOAWaitQueue(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rc := oaNewReceiver(t, false)
	s, c := oaSetup(t, rc.option(), kftest.WithOASeed(oaSeed()))
	rc.reply = func(p oaPushed) []byte { return oaReply(p.X.FromUserName, "transfer_customer_service", "") }
	go func() { // drain
		for range rc.ch {
		}
	}()
	const n = 150
	for i := range n {
		if _, err := s.UserSend(fmt.Sprintf("oWait%03d", i), "help"); err != nil {
			t.Fatal(err)
		}
		s.Advance(time.Second)
	}
	w, err := c.Sessions.ListWaiting(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if w.Count != n || len(w.WaitCases) != 100 {
		t.Fatalf("count %d, %d cases", w.Count, len(w.WaitCases))
	}
	for i, wc := range w.WaitCases {
		if want := (mp.WaitCase{OpenID: fmt.Sprintf("oWait%03d", i), LatestTime: oaT0.Add(time.Duration(i) * time.Second).Unix()}); wc != want {
			t.Fatalf("case %d = %+v, want %+v", i, wc, want)
		}
	}
	// oWait000 writes again: it is now the latest.
	if _, err := s.UserSend("oWait000", "still there?"); err != nil {
		t.Fatal(err)
	}
	w, _ = c.Sessions.ListWaiting(ctx)
	if w.Count != n || w.WaitCases[0].OpenID != "oWait001" || w.WaitCases[99].OpenID != "oWait100" {
		t.Errorf("after a new message: first %+v, last %+v", w.WaitCases[0], w.WaitCases[99])
	}
	if q := s.Waiting(); len(q) != n || q[n-1].OpenID != "oWait000" {
		t.Errorf("Waiting: %d, last %+v", len(q), q[len(q)-1])
	}
	// create takes the user off the queue, the worker receiving both
	// transferred messages.
	if err := c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: s.KfAccount("alice"), OpenID: "oWait000"}); err != nil {
		t.Fatal(err)
	}
	w, _ = c.Sessions.ListWaiting(ctx)
	if w.Count != n-1 {
		t.Errorf("count %d after create", w.Count)
	}
	if r := s.Records(); len(r) != 2 || r[0].Text != "help" || r[1].Text != "still there?" || r[1].OperCode != mp.OperCodeWorkerReceived {
		t.Errorf("records %+v", r)
	}
	// WorkerAccept needs the user to wait, and an online worker.
	if err := s.WorkerAccept(s.KfAccount("alice"), "oWait000"); err == nil {
		t.Error("accepted a user who is not waiting")
	}
	if err := s.WorkerAccept(s.KfAccount("bob"), "oWait001"); err == nil {
		t.Error("an offline worker accepted")
	}
	if err := s.WorkerAccept(s.KfAccount("alice"), "oWait001"); err != nil {
		t.Fatal(err)
	}
	if w, _ = c.Sessions.ListWaiting(ctx); w.Count != n-2 {
		t.Errorf("count %d after accept", w.Count)
	}
}

// Workers with an automatic accept limit take waiting users by themselves.
func TestOAAutoAccept(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rc := oaNewReceiver(t, false)
	seed := oaSeed()
	seed.Accounts[0].AutoAccept = 1
	s, c := oaSetup(t, rc.option(), kftest.WithOASeed(seed))
	rc.reply = func(p oaPushed) []byte {
		if p.X.MsgType == "event" {
			return nil
		}
		return oaReply(p.X.FromUserName, "transfer_customer_service", "")
	}
	alice := s.KfAccount("alice")
	if _, err := s.UserSend("oUser1", "help"); err != nil {
		t.Fatal(err)
	}
	rc.next(t)
	if ev := rc.event(t, "kf_create_session", "oUser1"); ev.KfAccount != alice {
		t.Errorf("event %+v", ev)
	}
	if _, err := s.UserSend("oUser2", "help"); err != nil {
		t.Fatal(err)
	}
	rc.next(t)
	rc.quiet(t, s)
	if q := s.Waiting(); len(q) != 1 || q[0].OpenID != "oUser2" {
		t.Fatalf("queue %+v", q)
	}
	online, _ := c.Accounts.ListOnline(ctx)
	if online.Accounts[0].AcceptedCase != 1 {
		t.Errorf("online %+v", online.Accounts)
	}
	// When alice's session ends, oUser2 is hers.
	if err := s.WorkerClose(alice, "oUser1"); err != nil {
		t.Fatal(err)
	}
	rc.event(t, "kf_close_session", "oUser1")
	if ev := rc.event(t, "kf_create_session", "oUser2"); ev.KfAccount != alice {
		t.Errorf("event %+v", ev)
	}
	if acc, ok := s.Session("oUser2"); !ok || acc != alice {
		t.Errorf("Session(oUser2) = %q, %v", acc, ok)
	}
}

// A session without messages for 30 minutes ends by itself.
func TestOASessionIdleTimeout(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rc := oaNewReceiver(t, false)
	s, c := oaSetup(t, rc.option(), kftest.WithOASeed(oaSeed()))
	alice := s.KfAccount("alice")
	if err := c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: alice, OpenID: "oUser1"}); err != nil {
		t.Fatal(err)
	}
	rc.event(t, "kf_create_session", "oUser1")
	s.Advance(20 * time.Minute)
	if _, err := s.UserSend("oUser1", "hello?"); err != nil { // activity
		t.Fatal(err)
	}
	s.Advance(29 * time.Minute)
	if got, _ := c.Sessions.Get(ctx, "oUser1"); !got.Served() {
		t.Fatalf("ended too early")
	}
	s.Advance(time.Minute)
	if got, _ := c.Sessions.Get(ctx, "oUser1"); got.Served() {
		t.Fatalf("not ended after 30 idle minutes: %+v", got)
	}
	if ev := rc.event(t, "kf_close_session", "oUser1"); ev.KfAccount != alice || ev.CreateTime != oaT0.Add(50*time.Minute).Unix() {
		t.Errorf("event %+v", ev)
	}

	// Disabled.
	s2, c2 := oaSetup(t, kftest.WithOASeed(oaSeed()), kftest.WithOASessionIdleTimeout(0))
	if err := c2.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: alice, OpenID: "oUser1"}); err != nil {
		t.Fatal(err)
	}
	s2.Advance(24 * time.Hour)
	if got, _ := c2.Sessions.Get(ctx, "oUser1"); !got.Served() {
		t.Errorf("ended although the timeout is disabled")
	}
}

// Deleting an account ends its sessions.
func TestOADeleteAccountEndsSessions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rc := oaNewReceiver(t, false)
	s, c := oaSetup(t, rc.option(), kftest.WithOASeed(oaSeed()))
	alice := s.KfAccount("alice")
	for _, u := range []string{"oUser1", "oUser2"} {
		if err := c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: alice, OpenID: u}); err != nil {
			t.Fatal(err)
		}
		rc.event(t, "kf_create_session", u)
	}
	if err := c.Accounts.Delete(ctx, &mp.DeleteAccountRequest{KfAccount: alice}); err != nil {
		t.Fatal(err)
	}
	rc.event(t, "kf_close_session", "oUser1")
	rc.event(t, "kf_close_session", "oUser2")
	if got, _ := c.Sessions.Get(ctx, "oUser1"); got.Served() {
		t.Errorf("still served")
	}
}
