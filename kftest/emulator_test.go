package kftest_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/wxkf/kf/kftest"
)

// Both emulators' HTTP lifecycle: Start makes URL valid before it returns
// (no race with the serving goroutine), Close stops serving and is
// idempotent, and serving after Close fails with http.ErrServerClosed.
func TestStartClose(t *testing.T) {
	t.Parallel()
	type emulator interface {
		Start(net.Listener)
		Serve(net.Listener) error
		ListenAndServe(string) error
		Close() error
		URL() string
	}
	srv, err := kftest.New()
	if err != nil {
		t.Fatal(err)
	}
	oa, err := kftest.NewOA()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		e     emulator
		token func(ctx context.Context) (string, error)
	}{
		{"Server", srv, func(ctx context.Context) (string, error) { return srv.Client().Tokens().Token(ctx) }},
		{"OAServer", oa, func(ctx context.Context) (string, error) { return oa.Client().Tokens().Token(ctx) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if u := tc.e.URL(); u != "" {
				t.Fatalf("URL before listening = %q", u)
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			tc.e.Start(l)
			if got, want := tc.e.URL(), "http://"+l.Addr().String(); got != want {
				t.Fatalf("URL after Start = %q, want %q", got, want)
			}
			if tok, err := tc.token(t.Context()); err != nil || tok == "" {
				t.Fatalf("token %q, %v", tok, err)
			}
			if err := tc.e.Close(); err != nil {
				t.Fatal(err)
			}
			if err := tc.e.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := http.Get(tc.e.URL() + "/cgi-bin/token"); err == nil {
				t.Error("still serving after Close")
			}
			l2, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.e.Serve(l2); !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve after Close: %v", err)
			}
			if err := tc.e.ListenAndServe("127.0.0.1:0"); !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("ListenAndServe after Close: %v", err)
			}
		})
	}
}

// Both emulators build their callbacks with callback.Builder, which takes
// the tokens the platforms accept.
func TestCallbackTokenValidation(t *testing.T) {
	t.Parallel()
	const key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	for _, tok := range []string{"bad token!", "tok_en"} {
		if _, err := kftest.NewOA(kftest.WithOACallback(kftest.OACallback{URL: "http://127.0.0.1:1/wx", Token: tok})); err == nil {
			t.Errorf("NewOA accepted Token %q", tok)
		}
		if _, err := kftest.New(kftest.WithCallback(kftest.Callback{URL: "http://127.0.0.1:1/cb", Token: tok, EncodingAESKey: key})); err == nil {
			t.Errorf("New accepted Token %q", tok)
		}
	}
	s, err := kftest.NewOA(kftest.WithOACallback(kftest.OACallback{URL: "http://127.0.0.1:1/wx", Token: "okToken42", EncodingAESKey: key}))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}
