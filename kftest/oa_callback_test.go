package kftest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkf/kf/callback"
	"github.com/wxkf/kf/kftest"
	"github.com/wxkf/kf/mp"
)

// The callback package's Handler, configured for an Official Account in
// plain and in safe mode, accepts the emulator's pushes, decodes the typed
// session events and user messages, and its EncryptReply produces a
// transfer_customer_service reply the emulator obeys.
func TestOACallbackHandler(t *testing.T) {
	t.Parallel()
	for _, safe := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "safe"}[safe], func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			var h atomic.Pointer[callback.Handler]
			events := make(chan callback.Event, 64)
			app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Load().ServeHTTP(w, r) })
			srv := httptest.NewServer(app)
			t.Cleanup(srv.Close)
			cb := kftest.OACallback{URL: srv.URL, Token: oaToken}
			if safe {
				cb.EncodingAESKey = oaAESKey
			}
			s, c := oaSetup(t, kftest.WithOACallback(cb), kftest.WithOASeed(oaSeed()))
			cfg := callback.Config{
				Token: oaToken, ReceiverID: s.AppID(), Plain: !safe, Now: s.Now,
				OnEvent: func(_ context.Context, ev callback.Event) { events <- ev },
				// Passive reply: hand the user to customer service, to the
				// queue or to a named worker.
				Reply: func(_ context.Context, ev callback.Event) []byte {
					m, ok := ev.Message()
					switch {
					case !ok:
						return nil
					case m.Content == "human":
						return callback.TransferCustomerService(ev, "", s.Now())
					case m.Content == "bob please":
						return callback.TransferCustomerService(ev, s.KfAccount("bob"), s.Now())
					}
					return nil
				},
			}
			if safe {
				cfg.EncodingAESKey = oaAESKey
			}
			hd, err := callback.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			h.Store(hd)
			go hd.Run(ctx)
			next := func() callback.Event {
				t.Helper()
				select {
				case ev := <-events:
					if ev.ToUserName != s.OriginalID() || ev.FromUserName != "oUser1" {
						t.Errorf("event header %+v", ev)
					}
					return ev
				case <-time.After(5 * time.Second):
					t.Fatal("no event")
					return callback.Event{}
				}
			}
			alice, bob := s.KfAccount("alice"), s.KfAccount("bob")

			if _, err := s.UserSend("oUser1", "hello"); err != nil {
				t.Fatal(err)
			}
			if m, ok := next().Message(); !ok || m.Content != "hello" || m.MsgID == "" {
				t.Errorf("message %+v", m)
			}
			reply, err := s.UserSend("oUser1", "human")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(reply, []byte("transfer_customer_service")) {
				t.Errorf("decrypted reply %q", reply)
			}
			next()
			if q := s.Waiting(); len(q) != 1 || q[0].OpenID != "oUser1" {
				t.Fatalf("queue %+v", q)
			}
			if err := s.WorkerAccept(alice, "oUser1"); err != nil {
				t.Fatal(err)
			}
			ev := next()
			if k, ok := ev.KfCreateSession(); !ok || k.KfAccount != alice || !ev.CreateTime.Equal(oaT0) {
				t.Errorf("kf_create_session %+v", ev)
			}
			if err := s.SetWorkerOnline(bob, true); err != nil {
				t.Fatal(err)
			}
			if err := s.WorkerTransfer(alice, bob, "oUser1"); err != nil {
				t.Fatal(err)
			}
			if k, ok := next().KfSwitchSession(); !ok || k.FromKfAccount != alice || k.ToKfAccount != bob {
				t.Errorf("kf_switch_session %+v", k)
			}
			if err := c.Sessions.Close(ctx, &mp.CloseSessionRequest{KfAccount: bob, OpenID: "oUser1"}); err != nil {
				t.Fatal(err)
			}
			if k, ok := next().KfCloseSession(); !ok || k.KfAccount != bob {
				t.Errorf("kf_close_session %+v", k)
			}
			// With TransInfo the user goes straight to the named worker.
			if _, err := s.UserSend("oUser1", "bob please"); err != nil {
				t.Fatal(err)
			}
			next()
			if k, ok := next().KfCreateSession(); !ok || k.KfAccount != bob {
				t.Errorf("kf_create_session after TransInfo %+v", k)
			}
			if q := s.Waiting(); len(q) != 0 {
				t.Errorf("queue after TransInfo %+v", q)
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			for _, p := range s.Pushes() {
				if p.Err != "" || p.Status != http.StatusOK {
					t.Errorf("push %s/%s: %d %q", p.MsgType, p.Event, p.Status, p.Err)
				}
			}
		})
	}
}
