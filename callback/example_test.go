package callback_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"time"

	"github.com/wxkf/kf/callback"
)

// Credentials of the example (a test key pair, not a real one).
const (
	token          = "kjr2TKI8umCBfVF3wAHk8JiPwma5VBme"
	encodingAESKey = "4Ma3YBrSBbX2aez8MJpXGBne5LSDwgGqHbhM9WPYIws"
	corpID         = "ww6a112864f8022910"
)

// A Handler wired to a function that reports which KF account has new
// messages, driven by a signed, encrypted callback made by a Builder.
func Example() {
	accounts := make(chan string, 1)
	h, err := callback.New(callback.Config{
		Token:          token,
		EncodingAESKey: encodingAESKey,
		ReceiverID:     corpID,
		OnEvent: func(ctx context.Context, ev callback.Event) {
			// Runs on Run's goroutine, after the request was answered:
			// this is where to call sync_msg with e.Token.
			if e, ok := ev.KfMsgOrEvent(); ok {
				accounts <- e.OpenKfID
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Run(ctx)

	srv := httptest.NewServer(h)
	defer srv.Close()

	// What the platform sends when account wkAJ2G… has new messages.
	b, err := callback.NewBuilder(token, encodingAESKey, corpID)
	if err != nil {
		log.Fatal(err)
	}
	q, body, err := b.KfMsgOrEvent("wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw", "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR", time.Now())
	if err != nil {
		log.Fatal(err)
	}
	req, err := b.NewRequest(ctx, srv.URL+"/kf/callback", q, body)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("answered", resp.StatusCode)
	fmt.Println("new messages for", <-accounts)
	// Output:
	// answered 200
	// new messages for wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw
}

// The GET URL verification the platform performs when the callback URL is
// saved in the admin console: the Handler answers the decrypted echostr.
func ExampleBuilder_VerifyURL() {
	h, err := callback.New(callback.Config{
		Token:          token,
		EncodingAESKey: encodingAESKey,
		ReceiverID:     corpID,
		OnEvent:        func(context.Context, callback.Event) {},
	})
	if err != nil {
		log.Fatal(err)
	}
	b, err := callback.NewBuilder(token, encodingAESKey, corpID)
	if err != nil {
		log.Fatal(err)
	}
	q, err := b.VerifyURL("1616140317555161061", time.Now())
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/kf/callback?"+q.Encode(), nil))
	answer, _ := io.ReadAll(w.Body)
	fmt.Printf("%d %q\n", w.Code, answer)
	// Output:
	// 200 "1616140317555161061"
}
