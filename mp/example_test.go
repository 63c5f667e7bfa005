package mp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/wxkf/kf/mp"
)

// Forward a user to a human worker and back: open a session with an online
// worker (the user's messages then go to the worker's customer-service
// client), then close it (they come back to the developer's server).
func Example_forwardToWorker() {
	srv := newFakeOA("alice@gh_demo") // stands in for api.weixin.qq.com; alice is online
	defer srv.Close()
	ctx := context.Background()

	c, err := mp.NewClient("wx_app_id", "app_secret", mp.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	const user = "oUSER_OPENID"

	// An offline worker cannot take the user.
	err = c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: "bob@gh_demo", OpenID: user})
	fmt.Println("bob offline:", errors.Is(err, mp.ErrCodeWorkerOffline))

	// Forward the user to alice.
	if err := c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: "alice@gh_demo", OpenID: user}); err != nil {
		log.Fatal(err)
	}
	s, err := c.Sessions.Get(ctx, user)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("served by:", s.KfAccount)

	// And back: close the session.
	if err := c.Sessions.Close(ctx, &mp.CloseSessionRequest{KfAccount: "alice@gh_demo", OpenID: user}); err != nil {
		log.Fatal(err)
	}
	s, err = c.Sessions.Get(ctx, user)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("served:", s.Served())

	// Closing again finds no session.
	err = c.Sessions.Close(ctx, &mp.CloseSessionRequest{KfAccount: "alice@gh_demo", OpenID: user})
	fmt.Println("no session:", errors.Is(err, mp.ErrCodeNoSession))

	// Output:
	// bob offline: true
	// served by: alice@gh_demo
	// served: false
	// no session: true
}

// newFakeOA starts a minimal stand-in for the session endpoints of an
// Official Account, with the given workers online.
func newFakeOA(online ...string) *httptest.Server {
	var mu sync.Mutex
	sessions := map[string]string{} // openid → kf_account
	isOnline := map[string]bool{}
	for _, w := range online {
		isOnline[w] = true
	}
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(w http.ResponseWriter, code int) { reply(w, map[string]any{"errcode": code, "errmsg": "fake"}) }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/token", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"access_token": "TOKEN", "expires_in": 7200})
	})
	mux.HandleFunc("POST /customservice/kfsession/{op}", func(w http.ResponseWriter, r *http.Request) {
		var req mp.CreateSessionRequest // create and close have the same body
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(w, 44002)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch r.PathValue("op") {
		case "create":
			if !isOnline[req.KfAccount] {
				fail(w, int(mp.ErrCodeWorkerOffline))
				return
			}
			sessions[req.OpenID] = req.KfAccount
		case "close":
			switch cur, ok := sessions[req.OpenID]; {
			case !ok:
				fail(w, int(mp.ErrCodeNoSession))
				return
			case cur != req.KfAccount:
				fail(w, int(mp.ErrCodeServedByAnotherWorker))
				return
			}
			delete(sessions, req.OpenID)
		default:
			http.NotFound(w, r)
			return
		}
		reply(w, map[string]any{"errcode": 0, "errmsg": "ok"})
	})
	mux.HandleFunc("GET /customservice/kfsession/getsession", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var resp mp.GetSessionResponse // an empty kf_account: nobody serves the user
		if kf, ok := sessions[r.URL.Query().Get("openid")]; ok {
			resp = mp.GetSessionResponse{KfAccount: kf, CreateTime: time.Now().Unix()}
		}
		reply(w, resp)
	})
	return httptest.NewServer(mux)
}
