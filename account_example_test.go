package kf_test

import (
	"context"
	"fmt"
	"log"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
)

// ExampleAccountService_All lists every KF account of the corp, page by
// page. The kftest emulator stands in for the platform; with the real host
// only the base URL changes.
func ExampleAccountService_All() {
	emu, stop := startEmulator(kftest.Seed{Accounts: []kftest.SeedAccount{
		{OpenKfID: "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q", Name: "咨询客服"},
		{OpenKfID: "wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw", Name: "售后客服", Unmanaged: true},
	}})
	defer stop()

	client, err := kf.NewClient(emu.CorpID(), emu.Secret(), kf.WithBaseURL(emu.URL()))
	if err != nil {
		log.Fatal(err)
	}
	for acc, err := range client.Accounts.All(context.Background(), 0) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %s manage=%v\n", acc.OpenKfID, acc.Name, acc.ManagePrivilege)
	}
	// Output:
	// wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q 咨询客服 manage=true
	// wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw 售后客服 manage=false
}
