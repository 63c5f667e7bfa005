package kf_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/wxkf/kf"
)

// ExampleMediaService_Upload uploads a small text file as temporary media.
// A tiny local server stands in for the platform:
// it reads the multipart part named "media" and answers as media/upload
// does (created_at is a string there).
func ExampleMediaService_Upload() {
	mux := http.NewServeMux()
	mux.HandleFunc("/cgi-bin/gettoken", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","access_token":"TOKEN","expires_in":7200}`)
	})
	mux.HandleFunc("/cgi-bin/media/upload", func(w http.ResponseWriter, r *http.Request) {
		f, hdr, err := r.FormFile("media")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer f.Close()
		n, _ := io.Copy(io.Discard, f)
		fmt.Printf("server got type=%s: %s, %d bytes\n", r.URL.Query().Get("type"), hdr.Filename, n)
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"","type":"file","media_id":"MEDIA_ID_1","created_at":"1700000000"}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client, err := kf.NewClient("corp-id", "app-secret", kf.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	// A *strings.Reader is an io.Seeker: its size is checked before sending
	// and the upload may be retried.
	resp, err := client.Media.Upload(context.Background(), &kf.UploadMediaRequest{
		Type:     kf.MediaTypeFile,
		Filename: "hello.txt",
		Body:     strings.NewReader("hello, customer service"),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Type, resp.MediaID, resp.CreatedAt.UTC().Format(time.RFC3339))
	// Output:
	// server got type=file: hello.txt, 23 bytes
	// file MEDIA_ID_1 2023-11-14T22:13:20Z
}
