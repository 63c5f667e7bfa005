package main

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxkf/kf"
)

func testForwarder(url string, log *slog.Logger) *forwarder {
	m := newMetrics()
	declareMetrics(m)
	return &forwarder{url: url, client: newForwardClient(), timeout: 5 * time.Second, attempts: 2,
		initial: time.Millisecond, max: time.Millisecond, metrics: m, log: log}
}

// TestForwardRedirectIsNotADelivery: a webhook URL that redirects (http to
// https, a moved path) must not count as delivered. net/http would repeat a
// POST answered 301/302/303 as a GET without the message; a 2xx to that GET
// used to commit a message the webhook never received.
func TestForwardRedirectIsNotADelivery(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string // method and body of every request reaching /new
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new?key=webhook-key-123", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+string(b))
		mu.Unlock()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var logs bytes.Buffer
	f := testForwarder(srv.URL+"/old", slog.New(slog.NewTextHandler(&logs, nil)))
	msg := kf.Message{MsgID: "m1", Raw: []byte(`{"msgid":"m1"}`)}
	err := f.forward(t.Context(), msg)
	if err == nil {
		t.Fatal("forward through a redirect succeeded; want an error (the message did not reach the webhook)")
	}
	if !strings.Contains(err.Error(), "HTTP 301") || !strings.Contains(err.Error(), "final URL") {
		t.Errorf("err = %v, want the redirect explained", err)
	}
	if strings.Contains(err.Error()+logs.String(), "webhook-key-123") {
		t.Errorf("the redirect's query value leaked: %v\n%s", err, logs.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 0 {
		t.Errorf("requests reached the redirect target: %q", got)
	}
	if n := f.metrics.value("kf_forwarded_total"); n != 0 {
		t.Errorf("kf_forwarded_total = %v, want 0", n)
	}
}

// TestForwardErrorsHideURLSecrets: the webhook URL's password and query
// (a key) never reach the log or the error.
func TestForwardErrorsHideURLSecrets(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: connection refused

	var logs bytes.Buffer
	f := testForwarder("http://bot:hunter2pw@"+addr+"/hook?key=webhook-key-123", slog.New(slog.NewTextHandler(&logs, nil)))
	err = f.forward(t.Context(), kf.Message{MsgID: "m1", Raw: []byte(`{"msgid":"m1"}`)})
	if err == nil {
		t.Fatal("forward to a closed port succeeded")
	}
	out := err.Error() + "\n" + logs.String()
	for _, secret := range []string{"hunter2pw", "webhook-key-123"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q leaked:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, addr+"/hook") {
		t.Errorf("the error no longer names the webhook:\n%s", out)
	}
}

func TestDisplayURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                                   "",
		"https://bot.example.com/kf":         "https://bot.example.com/kf",
		"https://u:pw@bot.example.com/kf":    "https://u:xxxxx@bot.example.com/kf",
		"https://bot.example.com/kf?key=abc": "https://bot.example.com/kf?key=REDACTED",
		"http://[::1]:namedport":             "(unparsable URL)",
	} {
		if got := displayURL(in); got != want {
			t.Errorf("displayURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestServeInfoHidesWebhookSecrets: the startup document names the webhook
// without its password or key.
func TestServeInfoHidesWebhookSecrets(t *testing.T) {
	t.Parallel()
	p := newCallbackProxy(t)
	s := serveEmulator(t, p)
	hook := newWebhook(t, 0)
	u := strings.Replace(hook.srv.URL, "http://", "http://bot:hunter2pw@", 1) + "/kf?key=webhook-key-123"
	sv := startServe(t, serveEnv(s), "--store", "sqlite:"+t.TempDir()+"/kfctl.db", "--forward", u)
	out := sv.out.String() + sv.errb.String()
	for _, secret := range []string{"hunter2pw", "webhook-key-123"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q printed:\n%s", secret, out)
		}
	}
	if want := strings.TrimPrefix(hook.srv.URL, "http://") + "/kf?key=REDACTED"; !strings.Contains(sv.info.Forward, want) {
		t.Errorf("forward = %q, want it to name %s", sv.info.Forward, want)
	}
}
