package kftest_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/wxkf/kf/kftest"
	"github.com/wxkf/kf/mp"
)

// Forward a user to a human worker and back, against the Official Account
// emulator: the app answers "human" with transfer_customer_service, a
// worker takes the user from the queue, and closing the session returns the
// user to the app. (A real app verifies every push, for example with
// callback.Handler; this one only reads the XML.)
func ExampleOAServer() {
	ctx := context.Background()
	events := make(chan string, 8)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ FromUserName, ToUserName, MsgType, Event, Content, KfAccount string }
		if err := xml.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		switch {
		case m.MsgType == "event":
			events <- m.Event + " " + m.KfAccount
		case m.Content == "human":
			fmt.Fprintf(w, "<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
				"<CreateTime>0</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>", m.FromUserName, m.ToUserName)
		default:
			fmt.Fprintf(w, "<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
				"<CreateTime>0</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[Bot: say \"human\" for a person]]></Content></xml>",
				m.FromUserName, m.ToUserName)
		}
	}))
	defer app.Close()

	s, err := kftest.NewOA(
		kftest.WithOACallback(kftest.OACallback{URL: app.URL, Token: "apptoken"}),
		kftest.WithOASeed(kftest.OASeed{Accounts: []kftest.OASeedAccount{{KfAccount: "alice", Worker: "alicewx01", Online: true}}}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	api := httptest.NewServer(s.Handler())
	defer api.Close()
	c, err := mp.NewClient(s.AppID(), s.Secret(), mp.WithBaseURL(api.URL))
	if err != nil {
		log.Fatal(err)
	}
	const user = "oUSER"
	alice := s.KfAccount("alice")

	s.UserSend(user, "where is my parcel?")
	s.UserSend(user, "human") // the app transfers the user
	w, _ := c.Sessions.ListWaiting(ctx)
	fmt.Println("waiting:", w.Count)

	// The desk hands the user to alice.
	if err := c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: alice, OpenID: user}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-events)
	s.UserSend(user, "it was due Monday") // goes to alice, not to the app
	if err := c.Messages.Send(ctx, &mp.SendMessageRequest{ToUser: user, Msg: mp.TextMsg("It ships today."), KfAccount: alice}); err != nil {
		log.Fatal(err)
	}
	// And back to the app.
	if err := c.Sessions.Close(ctx, &mp.CloseSessionRequest{KfAccount: alice, OpenID: user}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-events)
	s.UserSend(user, "thanks")

	for _, m := range s.Received(user) {
		fmt.Printf("%s %s: %s\n", m.Source, m.KfAccount, m.Text)
	}
	for _, r := range s.Records() {
		fmt.Println(r.OperCode, r.Text)
	}
	// Output:
	// waiting: 1
	// kf_create_session alice@kftestoa
	// kf_close_session alice@kftestoa
	// reply : Bot: say "human" for a person
	// api alice@kftestoa: It ships today.
	// reply : Bot: say "human" for a person
	// WorkerReceived human
	// WorkerReceived it was due Monday
	// WorkerSent It ships today.
}
