package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
)

// syncEmulator is an emulator without the tokenless sync_msg limit, where
// wmCarl wrote three messages to wkSupport and wmDana one to wkSales.
func syncEmulator(t *testing.T) (*kftest.Server, map[string]string) {
	t.Helper()
	s := newEmulator(t, kftest.WithTokenlessSyncLimit(10000, time.Minute))
	for _, m := range []struct{ acc, cu, text string }{
		{"wkSupport", "wmCarl", "hello"},
		{"wkSupport", "wmCarl", "where is my order?"},
		{"wkSales", "wmDana", "price list please"},
		{"wkSupport", "wmCarl", "thanks"},
	} {
		if _, err := s.CustomerSend(m.acc, m.cu, kftest.CustomerText(m.text)); err != nil {
			t.Fatal(err)
		}
	}
	return s, emuEnv(s)
}

// jsonLines decodes stdout as JSON lines of messages, checking that each
// line is the raw JSON of the sync log.
func jsonLines(t *testing.T, stdout string) []kf.Message {
	t.Helper()
	var msgs []kf.Message
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m kf.Message
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// compactLog returns the sync log of an account as compact JSON lines.
func compactLog(t *testing.T, s *kftest.Server, acc string) []string {
	t.Helper()
	var out []string
	for _, raw := range s.SyncLog(acc) {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.String())
	}
	return out
}

func TestSyncJSONLines(t *testing.T) {
	t.Parallel()
	s, env := syncEmulator(t)
	r := kfctl(t, with(env, "KF_OUTPUT", "json"), "sync").ok(t)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	// every account in turn (account/list order), each line the raw JSON
	want := append(compactLog(t, s, "wkSupport"), compactLog(t, s, "wkSales")...)
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("JSON lines (-want +got):\n%s", diff)
	}
	msgs := jsonLines(t, r.stdout)
	if len(msgs) != 4 || msgs[0].Text().Content != "hello" || msgs[3].Customer() != "wmDana" {
		t.Errorf("messages = %+v", msgs)
	}
	contains(t, "stderr", r.stderr, "sync: 4 messages from 2 accounts")
}

func TestSyncTableAndResume(t *testing.T) {
	t.Parallel()
	s, env := syncEmulator(t)
	r := kfctl(t, env, "sync", "--open-kfid", "wkSupport").ok(t)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("table has %d lines, want a header and 3 rows:\n%s", len(lines), r.stdout)
	}
	contains(t, "header", lines[0], "TIME", "OPEN_KFID", "EXTERNAL_USERID", "ORIGIN", "MSGTYPE", "CONTENT")
	contains(t, "row", lines[2], "wkSupport", "wmCarl", "customer", "text", "where is my order?")
	// the columns are aligned
	if i, j := strings.Index(lines[0], "CONTENT"), strings.Index(lines[2], "where"); i != j {
		t.Errorf("CONTENT column at %d, content at %d:\n%s", i, j, r.stdout)
	}

	// resume from the printed cursor: only the new message comes
	m := regexp.MustCompile(`--cursor (\S+)`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no cursor on stderr:\n%s", r.stderr)
	}
	if _, err := s.CustomerSend("wkSupport", "wmCarl", kftest.CustomerText("one more")); err != nil {
		t.Fatal(err)
	}
	r = kfctl(t, with(env, "KF_OUTPUT", "json"), "sync", "--open-kfid", "wkSupport", "--cursor", m[1], "--quiet").ok(t)
	msgs := jsonLines(t, r.stdout)
	if len(msgs) != 1 || msgs[0].Text().Content != "one more" {
		t.Errorf("resumed messages = %+v", msgs)
	}
	if r.stderr != "" {
		t.Errorf("--quiet printed %q", r.stderr)
	}
}

func TestSyncEvents(t *testing.T) {
	t.Parallel()
	s, env := syncEmulator(t)
	if _, err := s.EnterSession("wkSales", "wmCarl", kftest.EnterOptions{Scene: "ad1"}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []kftest.CustomerMsg{
		kftest.CustomerImage("MEDIA_IMG"),
		kftest.CustomerLocation(31.23, 121.47, "Bund", "Zhongshan Rd"),
		kftest.CustomerMenuClick("101", "Orders"),
		kftest.CustomerLink("Guide", "", "https://example.com/g", ""),
		kftest.CustomerText("line one\nline two " + strings.Repeat("x", 100)),
		kftest.CustomerRaw("channels", json.RawMessage(`{"sub_type":1,"nickname":"Shop","title":"Live"}`)),
	} {
		if _, err := s.CustomerSend("wkSales", "wmCarl", m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ServicerAccept("wkSales", "wmCarl", "bob"); err != nil {
		t.Fatal(err)
	}
	r := kfctl(t, env, "sync", "--open-kfid", "wkSales").ok(t)
	contains(t, "stdout", r.stdout, "system", "event", "enter_session scene=ad1 welcome_code=", "wmCarl",
		"image", "media_id MEDIA_IMG", "Bund Zhongshan Rd (31.23, 121.47)", "Orders [menu_id 101]",
		"Guide https://example.com/g", "line one ⏎ line two xxx", "…", `{"sub_type":1,"nickname":"Shop","title":"Live"}`,
		"session_status_change change_type=", "new_servicer=bob")
	// one line per message, whatever the content
	if n := strings.Count(r.stdout, "\n"); n != 1+1+1+6+1 {
		t.Errorf("%d lines, want %d:\n%s", n, 10, r.stdout)
	}
}

func TestSyncStore(t *testing.T) {
	t.Parallel()
	s, env := syncEmulator(t)
	env = with(env, "KF_OUTPUT", "json", "KF_STORE", "sqlite:"+filepath.Join(t.TempDir(), "kf.db"))

	r := kfctl(t, env, "sync").ok(t)
	if msgs := jsonLines(t, r.stdout); len(msgs) != 4 {
		t.Fatalf("first pull: %d messages, want 4:\n%s", len(msgs), r.stdout)
	}
	contains(t, "stderr", r.stderr, "sync: 4 messages from 2 accounts")

	// the store keeps the cursors: nothing new, nothing printed
	r = kfctl(t, env, "sync").ok(t)
	if r.stdout != "" {
		t.Errorf("second pull printed:\n%s", r.stdout)
	}
	if _, err := s.CustomerSend("wkSales", "wmDana", kftest.CustomerText("still there?")); err != nil {
		t.Fatal(err)
	}
	r = kfctl(t, env, "sync").ok(t)
	if msgs := jsonLines(t, r.stdout); len(msgs) != 1 || msgs[0].Text().Content != "still there?" {
		t.Errorf("third pull = %+v", msgs)
	}
}

func TestSyncStoreAPIError(t *testing.T) {
	t.Parallel()
	s, env := syncEmulator(t)
	if err := s.FailNext("/cgi-bin/kf/sync_msg", 1, kftest.Fault{Code: kf.ErrCodeAPIForbidden}); err != nil {
		t.Fatal(err)
	}
	r := kfctl(t, with(env, "KF_STORE", "sqlite:"+filepath.Join(t.TempDir(), "kf.db")), "sync", "--open-kfid", "wkSupport").exit(t, exitAPI)
	contains(t, "stderr", r.stderr, "errcode 48002", "remedy:")
}

// waitFor polls out until it contains want (the command runs in another
// goroutine), for at most 10 s.
func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never contained %q:\n%s", want, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSyncFollow(t *testing.T) {
	t.Parallel()
	for _, store := range []bool{false, true} {
		s, env := syncEmulator(t)
		env = with(env, "KF_OUTPUT", "json")
		if store {
			env = with(env, "KF_STORE", "sqlite:"+filepath.Join(t.TempDir(), "kf.db"))
		}
		ctx, cancel := context.WithCancel(t.Context())
		var out, errb syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"sync", "--open-kfid", "wkSupport", "--follow", "--interval", "10ms"}, &out, &errb,
				func(k string) string { return env[k] })
		}()
		waitFor(t, &out, "thanks")
		if _, err := s.CustomerSend("wkSupport", "wmCarl", kftest.CustomerText("are you following?")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, &out, "are you following?")
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("store=%v: exit %d after cancel, want 0\nstderr:\n%s", store, code, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("store=%v: sync --follow did not stop after cancel", store)
		}
		if msgs := jsonLines(t, out.String()); len(msgs) != 4 {
			t.Errorf("store=%v: %d messages, want 4 (each once):\n%s", store, len(msgs), out.String())
		}
	}
}

func TestSyncUsageErrors(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := emuEnv(s)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sync", "--cursor", "abc"}, "--cursor needs exactly one --open-kfid"},
		{[]string{"sync", "--open-kfid", "wkSupport", "--cursor", "abc", "--store", "sqlite:x.db"}, "cannot be used with --store"},
		{[]string{"sync", "--open-kfid", "a,b", "--sync-token", "t"}, "--sync-token needs exactly one --open-kfid"},
		{[]string{"sync", "--follow", "--interval", "0s"}, "--interval must be positive"},
		{[]string{"sync", "--store", "redis://localhost"}, "unsupported"},
		{[]string{"sync", "--store", "sqlite:"}, "missing the file path"},
		{[]string{"sync", "--open-kfid", "wkSupport", "--limit", "5000"}, "limit"},
	} {
		r := kfctl(t, env, tc.args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %s)", tc.args, r.code, r.stderr)
		}
		contains(t, strings.Join(tc.args, " "), r.stderr, tc.want)
	}
	noCalls(t, s)
}
