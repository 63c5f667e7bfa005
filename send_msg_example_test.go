package kf_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/wxkf/kf"
)

// ExampleMessageService_Send sends a text to a customer. A tiny stand-in for
// the platform answers gettoken and send_msg (echoing the msgid, as the
// platform does); with the kftest emulator or the real host only the base
// URL changes.
func ExampleMessageService_Send() {
	mux := http.NewServeMux()
	mux.HandleFunc("/cgi-bin/gettoken", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"errcode":0,"errmsg":"ok","access_token":"TOKEN","expires_in":7200}`)
	})
	mux.HandleFunc("/cgi-bin/kf/send_msg", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			MsgID string `json:"msgid"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","msgid":%q}`, body.MsgID)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client, err := kf.NewClient("corp-id", "secret", kf.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Messages.Send(context.Background(), &kf.SendMsgRequest{
		ToUser:   "wmCustomer",
		OpenKfID: "wkAccount",
		// Optional: without it the client picks a random msgid. Either
		// way, retries after network errors reuse it, so the customer
		// gets the message once.
		MsgID: "order-123-shipped",
		Msg:   kf.TextMsg("Your order has shipped."),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.MsgID)
	// Output: order-123-shipped
}
