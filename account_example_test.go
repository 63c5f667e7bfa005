package kf_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/wxkf/kf"
)

// ExampleAccountService_All lists every KF account of the corp, page by
// page. A tiny local server stands in for the platform.
func ExampleAccountService_All() {
	mux := http.NewServeMux()
	mux.HandleFunc("/cgi-bin/gettoken", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","access_token":"TOKEN","expires_in":7200}`)
	})
	mux.HandleFunc("/cgi-bin/kf/account/list", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","account_list":[
			{"open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q","name":"咨询客服","avatar":"https://example.com/a.png","manage_privilege":true},
			{"open_kfid":"wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw","name":"售后客服","avatar":"https://example.com/b.png","manage_privilege":false}
		]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client, err := kf.NewClient("corp-id", "app-secret", kf.WithBaseURL(srv.URL))
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
