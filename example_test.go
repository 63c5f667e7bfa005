package kf_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
)

// startEmulator runs a kftest emulator on a loopback port for the examples.
func startEmulator(seed kftest.Seed) (*kftest.Server, func()) {
	s, err := kftest.New(kftest.WithSeed(seed), kftest.WithRandSeed(1))
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s.Start(l)
	return s, func() { s.Close() }
}

// Example shows the main path of a bot: list the accounts, read what
// customers wrote, and answer.
func Example() {
	emu, stop := startEmulator(kftest.Seed{
		Accounts:  []kftest.SeedAccount{{OpenKfID: "wkSupport", Name: "Support"}},
		Customers: []kftest.SeedCustomer{{ExternalUserID: "wmAlice", Nickname: "Alice"}},
	})
	defer stop()
	// A customer writes (in production: a WeChat user).
	if _, err := emu.CustomerSend("wkSupport", "wmAlice", kftest.CustomerText("hello")); err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	c, err := kf.NewClient(emu.CorpID(), emu.Secret(), kf.WithBaseURL(emu.URL()))
	if err != nil {
		log.Fatal(err)
	}
	for acc, err := range c.Accounts.All(ctx, 100) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("account:", acc.Name)
	}
	for msg, err := range c.Messages.SyncAll(ctx, &kf.SyncMsgRequest{OpenKfID: "wkSupport"}) {
		if err != nil {
			log.Fatal(err)
		}
		text, ok := msg.Payload.(*kf.Text)
		if !ok {
			continue
		}
		fmt.Printf("%s wrote %q\n", msg.ExternalUserID, text.Content)
		_, err := c.Messages.Send(ctx, &kf.SendMsgRequest{
			ToUser: msg.ExternalUserID, OpenKfID: msg.OpenKfID, Msg: kf.TextMsg("echo: " + text.Content),
		})
		if errors.Is(err, kf.ErrCodeSessionStatusInvalid) {
			fmt.Println("a human servicer owns the session")
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
	}
	for _, d := range emu.Received("wkSupport", "wmAlice") {
		fmt.Println("Alice received:", string(d.Payload))
	}
	// Output:
	// account: Support
	// wmAlice wrote "hello"
	// Alice received: {"content":"echo: hello"}
}
