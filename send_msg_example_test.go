package kf_test

import (
	"context"
	"fmt"
	"log"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
)

// ExampleMessageService_Send replies to a customer who wrote, through the
// kftest emulator (with the real host only the base URL changes).
func ExampleMessageService_Send() {
	emu, stop := startEmulator(kftest.Seed{
		Accounts:  []kftest.SeedAccount{{OpenKfID: "wkAccount", Name: "Shop"}},
		Customers: []kftest.SeedCustomer{{ExternalUserID: "wmCustomer", Nickname: "Carl"}},
	})
	defer stop()
	// The platform only lets the app reply within 48 h of a customer's
	// message, at most 5 times per message.
	if _, err := emu.CustomerSend("wkAccount", "wmCustomer", kftest.CustomerText("where is my order?")); err != nil {
		log.Fatal(err)
	}

	client, err := kf.NewClient(emu.CorpID(), emu.Secret(), kf.WithBaseURL(emu.URL()))
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
	fmt.Println(len(emu.Received("wkAccount", "wmCustomer")), "message received by the customer")
	// Output:
	// order-123-shipped
	// 1 message received by the customer
}
