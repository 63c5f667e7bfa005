package kftest_test

import (
	"bytes"
	"context"
	"io"
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
			var (
				h        atomic.Pointer[callback.Handler]
				rejected atomic.Int32
			)
			events := make(chan callback.Event, 64)
			app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hd := h.Load()
				body, _ := io.ReadAll(r.Body)
				probe := r.Clone(r.Context())
				probe.Body = io.NopCloser(bytes.NewReader(body))
				ev, err := hd.Check(probe)
				if err != nil {
					rejected.Add(1)
					t.Errorf("Check: %v", err)
					http.Error(w, "bad", http.StatusForbidden)
					return
				}
				if m, ok := ev.Message(); ok && m.Content == "human" {
					// Passive reply: hand the user to customer service.
					reply, err := hd.EncryptReply(oaReply(ev.FromUserName, "transfer_customer_service", ""))
					if err != nil {
						t.Error(err)
					}
					events <- ev
					w.Write(reply)
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				hd.ServeHTTP(w, r) // verifies again, acknowledges, queues for OnEvent
			})
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
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if rejected.Load() != 0 {
				t.Errorf("%d pushes rejected", rejected.Load())
			}
			for _, p := range s.Pushes() {
				if p.Err != "" || p.Status != http.StatusOK {
					t.Errorf("push %s/%s: %d %q", p.MsgType, p.Event, p.Status, p.Err)
				}
			}
		})
	}
}
