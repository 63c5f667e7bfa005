package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
)

// emulation is a kfctl emulate running in a goroutine.
type emulation struct {
	cancel context.CancelFunc
	done   chan int
	stderr *syncBuffer
}

// startEmulate runs kfctl emulate --output json on a free port and returns
// what it printed and a handle to stop it.
func startEmulate(t *testing.T, env map[string]string, args ...string) (emulatorInfo, *emulation) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	e := &emulation{cancel: cancel, done: make(chan int, 1), stderr: &syncBuffer{}}
	go func() {
		code := run(ctx, append([]string{"emulate", "--addr", "127.0.0.1:0", "--output", "json"}, args...),
			pw, e.stderr, func(k string) string { return env[k] })
		pw.Close()
		e.done <- code
	}()
	t.Cleanup(func() { e.stop(t) })
	var info emulatorInfo
	if err := json.NewDecoder(pr).Decode(&info); err != nil {
		t.Fatalf("emulate printed no JSON: %v\nstderr:\n%s", err, e.stderr.String())
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // drain whatever follows
	return info, e
}

// stop cancels the emulator and returns its exit code (once).
func (e *emulation) stop(t *testing.T) int {
	t.Helper()
	e.cancel()
	select {
	case code, ok := <-e.done:
		if ok {
			close(e.done)
		}
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("kfctl emulate did not stop after cancel")
	}
	return -1
}

func TestEmulate(t *testing.T) {
	t.Parallel()
	info, e := startEmulate(t, nil, "--rand-seed", "3")
	if info.CorpID != kftest.DefaultCorpID || !strings.HasPrefix(info.BaseURL, "http://127.0.0.1:") ||
		info.ControlAPI != info.BaseURL+"/_kftest/" || info.ChatPage != info.BaseURL+"/" {
		t.Fatalf("info = %+v", info)
	}
	wantAccounts := []emuAccount{
		{OpenKfID: "wkSupport", Name: "Support", Servicers: []string{"alice", "bob"}},
		{OpenKfID: "wkSales", Name: "Sales", Servicers: []string{"bob"}},
	}
	if diff := cmp.Diff(wantAccounts, info.Accounts); diff != "" {
		t.Errorf("accounts (-want +got):\n%s", diff)
	}
	if len(info.Customers) != 1 || info.Customers[0].ExternalUserID != "wmCustomer" {
		t.Errorf("customers = %+v", info.Customers)
	}

	// The API, through kfctl pointed at it.
	env := map[string]string{"KF_BASE_URL": info.BaseURL, "KF_CORP_ID": info.CorpID, "KF_SECRET": kftest.DefaultSecret}
	r := kfctl(t, env, "account", "list").ok(t)
	contains(t, "account list", r.stdout, "wkSupport", "wkSales")

	// The control API: a customer writes, and kfctl syncs it.
	body := `{"open_kfid":"wkSupport","external_userid":"wmCustomer","msgtype":"text","text":{"content":"hello emulator"}}`
	resp, err := http.Post(info.ControlAPI+"customer/send", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("customer/send: HTTP %d", resp.StatusCode)
	}
	r = kfctl(t, with(env, "KF_OUTPUT", "json"), "sync", "--open-kfid", "wkSupport").ok(t)
	if msgs := jsonLines(t, r.stdout); len(msgs) != 1 || msgs[0].Text().Content != "hello emulator" {
		t.Errorf("synced %s", r.stdout)
	}
	kfctl(t, env, "send", "text", "--open-kfid", "wkSupport", "--customer", "wmCustomer", "hi from kfctl").ok(t)

	resp, err = http.Get(info.BaseURL + "/_kftest/conversation?open_kfid=wkSupport&external_userid=wmCustomer")
	if err != nil {
		t.Fatal(err)
	}
	var conv kftest.Conversation
	err = json.NewDecoder(resp.Body).Decode(&conv)
	resp.Body.Close()
	if err != nil || len(conv.Messages) != 2 || conv.Messages[1].From != "api" {
		t.Errorf("conversation = %+v (%v)", conv, err)
	}

	// The chat page.
	resp, err = http.Get(info.ChatPage)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("chat page: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// Cancelling (Ctrl-C) stops it cleanly, and the port is closed.
	if code := e.stop(t); code != 0 {
		t.Errorf("exit %d after cancel, want 0\nstderr:\n%s", code, e.stderr.String())
	}
	if _, err := http.Get(info.BaseURL + "/_kftest/state"); err == nil {
		t.Error("the emulator still answers after stopping")
	}
}

func TestEmulateFlags(t *testing.T) {
	t.Parallel()
	const secret = "my-own-emulator-secret"
	seed := kftest.Seed{
		Accounts:  []kftest.SeedAccount{{OpenKfID: "wkShop", Name: "Shop"}},
		Customers: []kftest.SeedCustomer{{ExternalUserID: "wmEve", Nickname: "Eve"}},
	}
	b, _ := json.Marshal(seed)
	seedFile := writeFile(t, "seed.json", b)

	// corp id and secret from the environment (the same variables the
	// other commands read), the seed from a file
	env := map[string]string{"KF_CORP_ID": "wwMyCorp", "KF_SECRET": secret}
	info, _ := startEmulate(t, env, "--seed", seedFile)
	if info.CorpID != "wwMyCorp" || len(info.Accounts) != 1 || info.Accounts[0].OpenKfID != "wkShop" {
		t.Fatalf("info = %+v", info)
	}
	c, err := kf.NewClient("wwMyCorp", secret, kf.WithBaseURL(info.BaseURL))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Accounts.List(t.Context(), nil)
	if err != nil || len(res.Accounts) != 1 || res.Accounts[0].Name != "Shop" {
		t.Errorf("account/list = %+v, %v", res, err)
	}
}

func TestEmulateTextOutput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		secret     string
		wantSecret string
	}{
		{"", "KF_SECRET=" + kftest.DefaultSecret},
		{"private-secret-123", "KF_SECRET=<your --secret>"},
	} {
		ctx, cancel := context.WithCancel(t.Context())
		var out, errb syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"emulate", "--addr", "127.0.0.1:0"}, &out, &errb,
				func(k string) string { return map[string]string{"KF_SECRET": tc.secret}[k] })
		}()
		waitFor(t, &out, "Press Ctrl-C to stop.")
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d\nstderr:\n%s", code, errb.String())
		}
		got := out.String()
		contains(t, "emulate output", got, "API base URL  http://127.0.0.1:", "control API", "/_kftest/", "chat page",
			"wkSupport  Support  alice,bob", "wmCustomer", "export KF_BASE_URL=http://127.0.0.1:", "KF_CORP_ID="+kftest.DefaultCorpID,
			tc.wantSecret, "emulator stopped")
		if tc.secret != "" && strings.Contains(got+errb.String(), tc.secret) {
			t.Errorf("the secret was printed:\n%s", got)
		}
	}
}

func TestEmulateUsageErrors(t *testing.T) {
	t.Parallel()
	bad := writeFile(t, "seed.json", []byte(`{"acounts":[]}`))
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
		code int
	}{
		{nil, []string{"emulate", "--seed", bad}, "unknown field", exitUsage},
		{nil, []string{"emulate", "--callback-url", "http://127.0.0.1:1/cb"}, "needs --token and --aes-key", exitUsage},
		{map[string]string{"KF_TOKEN": "t", "KF_AES_KEY": "short"}, []string{"emulate", "--callback-url", "http://127.0.0.1:1/cb"}, "", exitUsage},
		{nil, []string{"emulate", "--addr", "127.0.0.1:-1"}, "", exitError},
		{nil, []string{"emulate", "extra"}, "too many arguments", exitUsage},
	} {
		r := kfctl(t, tc.env, tc.args...)
		if r.code != tc.code {
			t.Errorf("%v: exit %d, want %d (stderr %s)", tc.args, r.code, tc.code, r.stderr)
		}
		contains(t, "stderr", r.stderr, tc.want)
	}
}
