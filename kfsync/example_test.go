package kfsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kftest"
)

// Example is an echo bot on the kftest emulator: a Syncer pulls each
// customer message once, and a Replier answers within the platform's
// rules. In production the Notify call comes from the callback handler
// (package callback) with the callback's token.
func Example() {
	// The platform: one KF account and one customer.
	srv, err := kftest.New(kftest.WithSeed(kftest.Seed{
		Accounts:  []kftest.SeedAccount{{OpenKfID: "wkShop", Name: "Shop"}},
		Customers: []kftest.SeedCustomer{{ExternalUserID: "wmAlice", Nickname: "Alice"}},
	}))
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	client, err := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL("http://"+l.Addr().String()))
	if err != nil {
		log.Fatal(err)
	}

	// The bot.
	replier := kfsync.NewReplier(client.Messages, client.Sessions, kfsync.TakeOver(true))
	answered := make(chan struct{}, 10)
	syncer, err := kfsync.New(client.Messages, func(ctx context.Context, m kf.Message) error {
		t := m.Text()
		if t == nil || m.Origin != kf.OriginCustomer {
			return nil
		}
		_, err := replier.ReplyText(ctx, m.OpenKfID, m.ExternalUserID, "echo: "+t.Content)
		if errors.Is(err, kfsync.ErrSessionState) {
			err = nil // a human servicer answers this customer
		}
		answered <- struct{}{}
		return err // any other error: retried later, never twice after success
	}, kfsync.WithTap(replier.Observe), kfsync.WithStore(kfsync.NewMemoryStore()))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- syncer.Run(ctx) }()

	// Alice writes; the callback would carry a token.
	for _, text := range []string{"hello", "where is my parcel?"} {
		if _, err := srv.CustomerSend("wkShop", "wmAlice", kftest.CustomerText(text)); err != nil {
			log.Fatal(err)
		}
		token, _ := srv.SyncToken("wkShop")
		syncer.Notify("wkShop", token)
		select {
		case <-answered:
		case <-time.After(5 * time.Second):
			log.Fatal("no answer")
		}
	}
	cancel()
	<-done

	for _, d := range srv.Received("wkShop", "wmAlice") {
		var p struct{ Content string }
		_ = json.Unmarshal(d.Payload, &p)
		fmt.Printf("Alice received from %s: %s\n", d.From, p.Content)
	}
	left, _, _ := replier.Budget("wkShop", "wmAlice")
	fmt.Println("replies left:", left)
	// Output:
	// Alice received from api: echo: hello
	// Alice received from api: echo: where is my parcel?
	// replies left: 4
}
