package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/callback"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kfsync/sqlitestore"
	"github.com/wxkf/kf/kftest"
)

// The callback settings of the serve tests.
const (
	serveToken  = "kfctlServeTest1"
	serveAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

// eventually polls cond every 10 ms until it holds, failing the test after
// timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// callbackProxy is the callback URL the emulator posts to: it passes each
// request to one of the running gateways (round robin), so that gateways
// can stop and start on new ports. Without a gateway it answers 503.
type callbackProxy struct {
	srv     *httptest.Server
	mu      sync.Mutex
	targets []string
	next    int
}

func newCallbackProxy(t *testing.T) *callbackProxy {
	p := &callbackProxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		u, _ := url.Parse(r.In.Header.Get("X-Test-Target"))
		r.SetURL(u)
		r.Out.URL.Path = u.Path
	}, ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
		w.WriteHeader(http.StatusBadGateway) // a gateway that just stopped
	}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		var target string
		if len(p.targets) > 0 {
			target = p.targets[p.next%len(p.targets)]
			p.next++
		}
		p.mu.Unlock()
		if target == "" {
			http.Error(w, "no gateway", http.StatusServiceUnavailable)
			return
		}
		r.Header.Set("X-Test-Target", target)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *callbackProxy) set(targets ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.targets = targets
}

// serveEmulator starts an emulator on the real clock (callbacks carry
// timestamps the gateway checks) that posts callbacks to the proxy.
func serveEmulator(t *testing.T, p *callbackProxy, opts ...kftest.Option) *kftest.Server {
	t.Helper()
	return kftest.NewServer(t, append([]kftest.Option{
		kftest.WithSeed(testSeed()),
		kftest.WithCallback(kftest.Callback{URL: p.srv.URL + "/callback", Token: serveToken, EncodingAESKey: serveAESKey}),
	}, opts...)...)
}

func serveEnv(s *kftest.Server) map[string]string {
	return with(emuEnv(s), "KF_TOKEN", serveToken, "KF_AES_KEY", serveAESKey)
}

// serving is a kfctl serve running in-process.
type serving struct {
	info   serveInfo
	cancel context.CancelFunc
	done   chan int
	out    *syncBuffer
	errb   *syncBuffer
	once   sync.Once
	code   int
}

// startServe runs kfctl serve with --output json and waits for its
// startup document.
func startServe(t *testing.T, env map[string]string, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s := &serving{cancel: cancel, done: make(chan int, 1), out: &syncBuffer{}, errb: &syncBuffer{}}
	all := append([]string{"serve", "--output", "json", "--listen", "127.0.0.1:0"}, args...)
	go func() { s.done <- run(ctx, all, s.out, s.errb, func(k string) string { return env[k] }) }()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(15 * time.Second)
	for {
		if json.Unmarshal([]byte(s.out.String()), &s.info) == nil && s.info.Health != "" {
			return s
		}
		select {
		case code := <-s.done:
			s.done <- code
			t.Fatalf("serve exited with %d before starting\nstdout:\n%s\nstderr:\n%s", code, s.out, s.errb)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start\nstdout:\n%s\nstderr:\n%s", s.out, s.errb)
		}
	}
}

// stop cancels serve (as SIGINT does) and returns its exit code; it fails
// the test when shutdown takes more than 10 s.
func (s *serving) stop(t *testing.T) int {
	s.once.Do(func() {
		s.cancel()
		select {
		case s.code = <-s.done:
		case <-time.After(10 * time.Second):
			t.Errorf("serve did not stop within 10 s\nstderr:\n%s", s.errb)
			s.code = -1
		}
	})
	return s.code
}

func (s *serving) base() string { return strings.TrimSuffix(s.info.Health, "/healthz") }

// webhook is a --forward target that records the messages it accepted.
type webhook struct {
	srv      *httptest.Server
	mu       sync.Mutex
	calls    int
	failures int                   // answer 500 to the first calls
	accepted map[string]int        // msgid → deliveries answered 2xx
	bodies   map[string]kf.Message // msgid → the message posted
	hang     func(msgID string) bool
}

func newWebhook(t *testing.T, failures int) *webhook {
	w := &webhook{failures: failures, accepted: map[string]int{}, bodies: map[string]kf.Message{}}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		id := r.Header.Get("X-Kf-Msgid")
		w.mu.Lock()
		w.calls++
		fail := w.calls <= w.failures
		hang := w.hang != nil && w.hang(id)
		w.mu.Unlock()
		if hang {
			<-r.Context().Done() // until the gateway gives up
			return
		}
		if fail {
			http.Error(rw, "try again", http.StatusInternalServerError)
			return
		}
		var m kf.Message
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &m) != nil || m.MsgID != id {
			t.Errorf("webhook: bad request: %s %q %s", r.Header.Get("Content-Type"), id, body)
			http.Error(rw, "bad", http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.accepted[id]++
		w.bodies[id] = m
		w.mu.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) count(id string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.accepted[id]
}

func (w *webhook) has(ids ...string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		if w.accepted[id] == 0 {
			return false
		}
	}
	return true
}

// send makes wmCarl send n texts to wkSupport.
func sendN(t *testing.T, s *kftest.Server, n int, prefix string) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id, err := s.CustomerSend("wkSupport", "wmCarl", kftest.CustomerText(fmt.Sprintf("%s %d", prefix, i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// scrape reads /metrics into a map from "name{labels}" to value, checking
// the format of every line.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("/metrics Content-Type %q", ct)
	}
	out := map[string]float64{}
	typed := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# TYPE ") {
			f := strings.Fields(line)
			if len(f) != 4 || (f[3] != "counter" && f[3] != "gauge") {
				t.Errorf("bad TYPE line %q", line)
			}
			typed[f[2]] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad metrics line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad value in %q", line)
		}
		series := line[:i]
		name, _, _ := strings.Cut(series, "{")
		if !typed[name] {
			t.Errorf("series %q before its # TYPE line", series)
		}
		out[series] = v
	}
	return out
}

// TestServeForwardRetryAndRestart: every message is forwarded (the webhook
// fails twice first), the SQLite cursor advances, a shutdown in the middle
// of a delivery returns promptly and loses nothing, and a restart continues
// where the first run stopped.
func TestServeForwardRetryAndRestart(t *testing.T) {
	t.Parallel()
	p := newCallbackProxy(t)
	s := serveEmulator(t, p)
	hook := newWebhook(t, 2)
	db := filepath.Join(t.TempDir(), "kfctl.db")
	args := []string{"--store", "sqlite:" + db, "--forward", hook.srv.URL}

	sv := startServe(t, serveEnv(s), args...)
	if got := strings.Join(sv.info.Accounts, ","); got != "wkSupport,wkSales" {
		t.Errorf("accounts = %s, want every account of the corp", got)
	}
	p.set(sv.base() + "/callback")
	first := sendN(t, s, 5, "first")
	eventually(t, 10*time.Second, "the first messages at the webhook", func() bool { return hook.has(first...) })

	// A delivery hangs: shutdown abandons it uncommitted.
	hung := make(chan string, 1)
	hook.mu.Lock()
	hook.hang = func(id string) bool {
		select {
		case hung <- id:
		default:
		}
		return true
	}
	hook.mu.Unlock()
	second := sendN(t, s, 1, "second")
	select {
	case <-hung:
	case <-time.After(10 * time.Second):
		t.Fatal("the second message never reached the webhook")
	}
	p.set()
	start := time.Now()
	if code := sv.stop(t); code != 0 {
		t.Fatalf("serve exited with %d\nstderr:\n%s", code, sv.errb)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %s", d)
	}
	if hook.count(second[0]) != 0 {
		t.Fatal("the hung message was accepted")
	}

	// Between the runs: the cursor and the archive hold the first five.
	st, err := sqlitestore.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	if cur, err := st.Load(t.Context(), "wkSupport"); err != nil || cur == "" {
		t.Errorf("cursor of wkSupport = %q, %v; want one", cur, err)
	}
	if n, err := st.Count(t.Context(), "wkSupport"); err != nil || n != 5 {
		t.Errorf("archive of wkSupport holds %d messages (%v), want 5", n, err)
	}
	st.Close()

	// Sent while no gateway runs: the callbacks fail.
	third := sendN(t, s, 3, "third")
	hook.mu.Lock()
	hook.hang = nil
	hook.mu.Unlock()
	sv2 := startServe(t, serveEnv(s), args...)
	p.set(sv2.base() + "/callback")
	all := append(append(append([]string{}, first...), second...), third...)
	eventually(t, 15*time.Second, "every message at the webhook after the restart", func() bool { return hook.has(all...) })
	fourth := sendN(t, s, 2, "fourth")
	eventually(t, 10*time.Second, "new messages after the restart", func() bool { return hook.has(fourth...) })
	if code := sv2.stop(t); code != 0 {
		t.Fatalf("serve exited with %d\nstderr:\n%s", code, sv2.errb)
	}
	for _, id := range append(all, fourth...) {
		if n := hook.count(id); n != 1 {
			t.Errorf("%s accepted %d times, want once (committed messages are not forwarded again)", id, n)
		}
		if m := hook.bodies[id]; m.OpenKfID != "wkSupport" || m.ExternalUserID != "wmCarl" || m.Text() == nil {
			t.Errorf("%s forwarded as %+v", id, m)
		}
	}
	st, err = sqlitestore.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.Count(t.Context(), "wkSupport"); err != nil || n != int64(len(all)+len(fourth)) {
		t.Errorf("archive of wkSupport holds %d messages (%v), want %d", n, err, len(all)+len(fourth))
	}
}

// serveRulesJSON is a rules file in the documented format.
const serveRulesJSON = `{
  "welcome": {"menu": {"head_content": "Welcome!", "list": [
      {"type": "click", "click": {"id": "hours", "content": "Opening hours"}},
      {"type": "click", "click": {"id": "human", "content": "A person"}}]}},
  "keywords": [
    {"keywords": ["menu"], "reply": {"text": "Here is the menu:", "menu": {"head_content": "Choose", "list": [
      {"type": "click", "click": {"id": "hours", "content": "Opening hours"}}]}}},
    {"keywords": ["price"], "contains": true, "reply": {"text": "It is free."}}
  ],
  "clicks": {"hours": {"text": "9:00-18:00"}},
  "handoff": {"keywords": ["human", "人工"], "menu_ids": ["human"], "text": "A person will answer you."},
  "echo": true
}`

// received returns the texts (and msgtypes) the customer received.
func received(s *kftest.Server, acc, cust string) []string {
	var out []string
	for _, d := range s.Received(acc, cust) {
		var p struct {
			Content     string `json:"content"`
			HeadContent string `json:"head_content"`
		}
		_ = json.Unmarshal(d.Payload, &p)
		out = append(out, d.From+":"+d.MsgType+":"+p.Content+p.HeadContent)
	}
	return out
}

func TestServeRules(t *testing.T) {
	t.Parallel()
	p := newCallbackProxy(t)
	s := serveEmulator(t, p)
	rules := writeFile(t, "rules.json", []byte(serveRulesJSON))
	sv := startServe(t, serveEnv(s), "--store", "sqlite:"+filepath.Join(t.TempDir(), "db"), "--rules", rules)
	p.set(sv.base() + "/callback")

	want := []string{}
	expect := func(what string, more ...string) {
		t.Helper()
		want = append(want, more...)
		eventually(t, 10*time.Second, what, func() bool { return len(received(s, "wkSupport", "wmCarl")) >= len(want) })
		got := received(s, "wkSupport", "wmCarl")
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s: the customer received\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if _, err := s.EnterSession("wkSupport", "wmCarl", kftest.EnterOptions{Scene: "test"}); err != nil {
		t.Fatal(err)
	}
	expect("the welcome menu", "event:msgmenu:Welcome!")
	s.CustomerSend("wkSupport", "wmCarl", kftest.CustomerText("hello"))
	expect("the echo", "api:text:echo: hello")
	s.CustomerSend("wkSupport", "wmCarl", kftest.CustomerText(" MENU "))
	expect("the menu", "api:text:Here is the menu:", "api:msgmenu:Choose")
	s.CustomerSend("wkSupport", "wmCarl", kftest.CustomerMenuClick("hours", "Opening hours"))
	expect("the click's answer", "api:text:9:00-18:00")
	s.CustomerSend("wkSupport", "wmCarl", kftest.CustomerText("what is the price?"))
	expect("the keyword's answer", "api:text:It is free.")
	if v, _ := s.SessionInfo("wkSupport", "wmCarl"); v.State != kf.StateBot {
		t.Errorf("session state %d before the handoff, want 1 (the bot took it)", v.State)
	}
	s.CustomerSend("wkSupport", "wmCarl", kftest.CustomerText("人工"))
	expect("the handoff text", "api:text:A person will answer you.")
	eventually(t, 10*time.Second, "the session in the pool", func() bool {
		v, _ := s.SessionInfo("wkSupport", "wmCarl")
		return v.State == kf.StateQueued
	})
	// In the pool the bot is silent; the message is still handled.
	s.CustomerSend("wkSupport", "wmCarl", kftest.CustomerText("anyone?"))
	eventually(t, 10*time.Second, "the last message handled", func() bool {
		m := scrape(t, sv.base())
		return m[`kf_replies_skipped_total{open_kfid="wkSupport",reason="session_state"}`] == 1
	})
	expect("nothing more")
	m := scrape(t, sv.base())
	for series, want := range map[string]float64{
		`kf_handoffs_total{open_kfid="wkSupport"}`:                    1,
		`kf_replies_total{open_kfid="wkSupport",kind="welcome"}`:      1,
		`kf_replies_total{open_kfid="wkSupport",kind="echo"}`:         1,
		`kf_replies_total{open_kfid="wkSupport",kind="keyword"}`:      3,
		`kf_replies_total{open_kfid="wkSupport",kind="click"}`:        1,
		`kf_replies_total{open_kfid="wkSupport",kind="handoff"}`:      1,
		`kf_messages_handled_total{open_kfid="wkSupport"}`:            7,
		`kf_api_requests_total{path="/cgi-bin/kf/send_msg_on_event"}`: 1,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
}

func TestServeHealthAndMetrics(t *testing.T) {
	t.Parallel()
	p := newCallbackProxy(t)
	s := serveEmulator(t, p)
	sv := startServe(t, serveEnv(s), "--store", "sqlite:"+filepath.Join(t.TempDir(), "db"), "--accounts", "wkSupport")
	base := sv.base()
	p.set(base + "/callback")
	if sv.info.CallbackURL != base+"/callback" {
		t.Errorf("callback URL %q", sv.info.CallbackURL)
	}

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Status, Syncer, Store string
		Accounts              map[string]json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != 200 || h.Status != "ok" || h.Store != "ok" || h.Syncer != "running" {
		t.Errorf("/healthz: %d %+v %v", resp.StatusCode, h, err)
	}
	resp.Body.Close()
	if _, ok := h.Accounts["wkSupport"]; !ok || len(h.Accounts) != 1 {
		t.Errorf("/healthz accounts %v, want wkSupport only (--accounts)", h.Accounts)
	}

	sendN(t, s, 3, "metrics")
	eventually(t, 10*time.Second, "three messages handled", func() bool {
		return scrape(t, base)[`kf_messages_handled_total{open_kfid="wkSupport"}`] == 3
	})

	// The URL verification, as the platform sends it, and rejections.
	b, err := callback.NewBuilder(serveToken, serveAESKey, s.CorpID())
	if err != nil {
		t.Fatal(err)
	}
	q, _ := b.VerifyURL("echo-me", time.Now())
	req, _ := b.NewRequest(t.Context(), base+"/callback", q, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "echo-me" {
			t.Errorf("URL verification: %d %q", resp.StatusCode, body)
		}
	}
	post := func(q url.Values, body []byte) int {
		req, _ := b.NewRequest(t.Context(), base+"/callback", q, body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	q, body, _ := b.KfMsgOrEvent("wkSupport", "tok", time.Now())
	q.Set("msg_signature", strings.Repeat("0", 40))
	if code := post(q, body); code != http.StatusForbidden {
		t.Errorf("bad signature: HTTP %d", code)
	}
	q, body, _ = b.KfMsgOrEvent("wkSupport", "tok", time.Now().Add(-time.Hour))
	if code := post(q, body); code != http.StatusForbidden {
		t.Errorf("stale timestamp: HTTP %d", code)
	}
	other, _ := callback.NewBuilder(serveToken, serveAESKey, "wwSomeoneElse")
	q, body, _ = other.KfMsgOrEvent("wkSupport", "tok", time.Now())
	if code := post(q, body); code != http.StatusForbidden {
		t.Errorf("receiver mismatch: HTTP %d", code)
	}
	if code := post(url.Values{}, []byte("<xml/>")); code != http.StatusBadRequest {
		t.Errorf("missing params: HTTP %d", code)
	}

	m := scrape(t, base)
	for series, want := range map[string]float64{
		`kf_messages_handled_total{open_kfid="wkSupport"}`:       3,
		`kf_callbacks_total{event="url_verification"}`:           1,
		`kf_callback_rejected_total{reason="bad_signature"}`:     1,
		`kf_callback_rejected_total{reason="stale_timestamp"}`:   1,
		`kf_callback_rejected_total{reason="receiver_mismatch"}`: 1,
		`kf_callback_rejected_total{reason="missing_params"}`:    1,
		`kf_token_refreshes_total`:                               1,
		`kf_api_requests_total{path="/cgi-bin/gettoken"}`:        1,
		`kf_syncer_up`:              1,
		`kf_forward_failures_total`: 0,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
	for _, series := range []string{`kf_callbacks_total{event="kf_msg_or_event"}`, `kf_pages_pulled_total`,
		`kf_callback_tokens_total{event="received"}`, `kf_api_requests_total{path="/cgi-bin/kf/sync_msg"}`} {
		if m[series] < 1 {
			t.Errorf("%s = %v, want at least 1", series, m[series])
		}
	}
	if _, ok := m[`kf_sync_lag_seconds{open_kfid="wkSupport"}`]; !ok {
		t.Error("no kf_sync_lag_seconds for wkSupport")
	}
	if code := sv.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestServeRedis runs two gateways on one Redis: the accounts' leases share
// the work (each message forwarded once) and the access token is fetched
// once for both.
func TestServeRedis(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	p := newCallbackProxy(t)
	s := serveEmulator(t, p)
	hook := newWebhook(t, 0)
	args := []string{"--store", "redis://" + mr.Addr() + "/0", "--forward", hook.srv.URL}
	a := startServe(t, serveEnv(s), args...)
	b := startServe(t, serveEnv(s), args...)
	if !strings.HasPrefix(a.info.Store, "redis://") {
		t.Errorf("store %q", a.info.Store)
	}
	p.set(a.base()+"/callback", b.base()+"/callback")
	ids := sendN(t, s, 20, "redis")
	eventually(t, 15*time.Second, "every message at the webhook", func() bool { return hook.has(ids...) })
	a.stop(t)
	b.stop(t)
	for _, id := range ids {
		if n := hook.count(id); n != 1 {
			t.Errorf("%s forwarded %d times, want once", id, n)
		}
	}
	if n := s.Calls()["/cgi-bin/gettoken"]; n != 1 {
		t.Errorf("gettoken called %d times, want once (the token is shared through Redis)", n)
	}
}

func TestServeUsageErrors(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := emuEnv(s)
	bad := writeFile(t, "bad.json", []byte(`{"echo": true, "greeting": "hi"}`))
	long := writeFile(t, "long.json", []byte(`{"keywords": [{"keywords": ["x"], "reply": {"text": "`+strings.Repeat("a", 2049)+`"}}]}`))
	welcome := writeFile(t, "welcome.json", []byte(`{"welcome": {"text": "hi", "menu": {"list": [{"type": "click", "click": {"id": "1", "content": "one"}}]}}}`))
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"token without key", with(env, "KF_TOKEN", "abc"), nil, "--token and --aes-key go together"},
		{"bad forward", env, []string{"--forward", "ftp://x"}, "--forward"},
		{"unknown rule field", env, []string{"--rules", bad}, `unknown field "greeting"`},
		{"text too long", env, []string{"--rules", long}, "keywords[0].reply"},
		{"welcome of two messages", env, []string{"--rules", welcome}, "welcome: give a text or a menu"},
		{"bad store", env, []string{"--store", "mysql://x"}, "unsupported"},
		{"bad path", env, []string{"--callback-path", "metrics"}, "--callback-path"},
		{"no callback, no poll", env, []string{"--poll-interval", "0"}, "would never pull"},
		{"no forward timeout", env, []string{"--forward", "http://127.0.0.1:1/hook", "--forward-timeout", "0"}, "--forward-timeout must be positive"},
	} {
		r := kfctl(t, tc.env, append([]string{"serve", "--listen", "127.0.0.1:0"}, tc.args...)...)
		if r.code != exitUsage {
			t.Errorf("%s: exit %d, want %d\nstderr: %s", tc.name, r.code, exitUsage, r.stderr)
		}
		contains(t, tc.name, r.stderr, tc.want)
	}
	noCalls(t, s)
	// A wrong secret is an API error, explained, before anything listens.
	r := kfctl(t, with(env, "KF_SECRET", "wrong"), "serve", "--listen", "127.0.0.1:0", "--store", "sqlite:"+filepath.Join(t.TempDir(), "db"))
	if r.code != exitAPI {
		t.Errorf("wrong secret: exit %d, want %d (%s)", r.code, exitAPI, r.stderr)
	}
	contains(t, "wrong secret", r.stderr, "errcode 40001", "remedy:")
	// A store that cannot be reached is not a usage error.
	r = kfctl(t, env, "serve", "--listen", "127.0.0.1:0", "--store", "redis://127.0.0.1:1/0")
	if r.code != exitError {
		t.Errorf("unreachable Redis: exit %d, want %d (%s)", r.code, exitError, r.stderr)
	}
}

// TestServeRulesReplyIDs checks that replies carry msgids derived from the
// customer's message, so that a message handled twice is answered once.
func TestServeRulesReplyIDs(t *testing.T) {
	t.Parallel()
	base := withReplySeq(t.Context(), "wkSupport", "from_msgid_1")
	a1, a2 := nextReplyID(base), nextReplyID(base)
	again := withReplySeq(t.Context(), "wkSupport", "from_msgid_1")
	b1, b2 := nextReplyID(again), nextReplyID(again)
	other := nextReplyID(withReplySeq(t.Context(), "wkSales", "from_msgid_1"))
	if a1 != b1 || a2 != b2 || a1 == a2 || a1 == other {
		t.Errorf("derived msgids %s %s / %s %s / %s", a1, a2, b1, b2, other)
	}
	req := kf.SendMsgRequest{ToUser: "wmCarl", OpenKfID: "wkSupport", MsgID: a1, Msg: kf.TextMsg("x")}
	if err := req.Validate(); err != nil {
		t.Errorf("derived msgid %q refused: %v", a1, err)
	}
	if nextReplyID(t.Context()) != "" {
		t.Error("a msgid outside a handler")
	}

	// End to end: a message re-delivered to the bot (its commit lost) is
	// answered once.
	s := newEmulator(t)
	c := s.Client()
	var n atomic.Int32
	b := &bot{rules: &botRules{Echo: true}, replier: nil, sessions: c.Sessions, metrics: newMetrics(), log: discardLog(),
		onReply: func(botReplyEvent) { n.Add(1) }}
	declareMetrics(b.metrics)
	b.replier = kfsync.NewReplier(idemSender{c.Messages}, c.Sessions, kfsync.TakeOver(true), kfsync.ReplierClock(s.Now))
	id, _ := s.CustomerSend("wkSupport", "wmCarl", kftest.CustomerText("once"))
	var msg kf.Message
	for m, err := range c.Messages.SyncAll(t.Context(), &kf.SyncMsgRequest{OpenKfID: "wkSupport", Token: mustToken(t, s, "wkSupport")}) {
		if err != nil {
			t.Fatal(err)
		}
		if m.MsgID == id {
			msg = m
		}
	}
	b.replier.Observe(msg)
	for range 2 {
		if err := b.handle(t.Context(), msg); err != nil {
			t.Fatal(err)
		}
	}
	if got := received(s, "wkSupport", "wmCarl"); len(got) != 1 || got[0] != "api:text:echo: once" || n.Load() != 2 {
		t.Errorf("the customer received %q after two deliveries (%d replies sent)", got, n.Load())
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// mustToken issues a sync_msg token for an account.
func mustToken(t *testing.T, s *kftest.Server, openKfID string) string {
	t.Helper()
	tok, err := s.SyncToken(openKfID)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
