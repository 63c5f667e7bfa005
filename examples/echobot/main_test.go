package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxkf/kf/kfsync/sqlitestore"
	"github.com/wxkf/kf/kftest"
)

const (
	account  = "wkEchoBot"
	customer = "wmAlice"
	token    = "echobotToken123"
	aesKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// bot runs the bot on ln until the returned stop is called.
func bot(t *testing.T, cfg Config, ln net.Listener) (stop func()) {
	t.Helper()
	cfg.Listener = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("run did not return")
		}
	}
	t.Cleanup(stop)
	return stop
}

// texts returns the contents of the texts the customer received.
func texts(srv *kftest.Server) []string {
	var out []string
	for _, d := range srv.Received(account, customer) {
		var p struct {
			Content string `json:"content"`
		}
		if d.MsgType == "text" && json.Unmarshal(d.Payload, &p) == nil {
			out = append(out, p.Content)
		}
	}
	return out
}

func waitTexts(t *testing.T, srv *kftest.Server, want ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := texts(srv)
		if strings.Join(got, "|") == strings.Join(want, "|") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the customer received %q, want %q", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEchoBot runs the bot's wiring (callback → kfsync → SQLite → Replier)
// against kftest, whose callbacks go to the bot's callback URL.
func TestEchoBot(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := kftest.NewServer(t,
		kftest.WithCallback(kftest.Callback{URL: "http://" + addr + CallbackPath, Token: token, EncodingAESKey: aesKey}),
		kftest.WithSeed(kftest.Seed{
			Accounts:  []kftest.SeedAccount{{OpenKfID: account, Name: "Echo"}},
			Customers: []kftest.SeedCustomer{{ExternalUserID: customer, Nickname: "Alice"}},
		}))
	cfg := Config{
		CorpID: srv.CorpID(), Secret: srv.Secret(), Token: token, AESKey: aesKey,
		BaseURL: srv.URL(), DB: filepath.Join(t.TempDir(), "echobot.db"), Accounts: []string{account},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	stop := bot(t, cfg, ln)

	// The platform checks the URL when it is saved.
	if err := srv.VerifyCallbackURL(context.Background()); err != nil {
		t.Fatalf("URL verification: %v", err)
	}

	// The customer opens the chat: the welcome message; then writes.
	if _, err := srv.EnterSession(account, customer, kftest.EnterOptions{Scene: "test"}); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, srv, "Hello! I repeat what you write.")
	if _, err := srv.CustomerSend(account, customer, kftest.CustomerText("hello")); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, srv, "Hello! I repeat what you write.", "echo: hello")
	if _, err := srv.CustomerSend(account, customer, kftest.CustomerText("你好")); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, srv, "Hello! I repeat what you write.", "echo: hello", "echo: 你好")

	// The health endpoint reads the archive.
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "3 messages archived") {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}

	// The bot stops; a message arrives meanwhile (its callback is lost).
	stop()
	if _, err := srv.CustomerSend(account, customer, kftest.CustomerText("are you there?")); err != nil {
		t.Fatal(err)
	}
	// Restarted on the same file, it catches up from its cursor: the new
	// message is answered, the old ones are not answered again.
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	bot(t, cfg, ln2)
	waitTexts(t, srv, "Hello! I repeat what you write.", "echo: hello", "echo: 你好", "echo: are you there?")
	time.Sleep(200 * time.Millisecond) // a repeated echo would show now
	waitTexts(t, srv, "Hello! I repeat what you write.", "echo: hello", "echo: 你好", "echo: are you there?")

	// The archive holds the conversation (the customer's side: the events
	// and messages of sync_msg), once.
	store, err := sqlitestore.Open(context.Background(), cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	got, err := store.ByCustomer(context.Background(), account, customer, time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, a := range got {
		if tx := a.Message.Text(); tx != nil {
			kinds = append(kinds, tx.Content)
		} else {
			kinds = append(kinds, fmt.Sprint(a.Message.MsgType))
		}
	}
	if want := "event|hello|你好|are you there?"; strings.Join(kinds, "|") != want {
		t.Errorf("archive: %q, want %q", strings.Join(kinds, "|"), want)
	}
}
