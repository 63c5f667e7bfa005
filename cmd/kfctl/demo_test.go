package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoHeadless is the CI run of the issue: 50 customers, 2000 messages,
// nothing lost, nothing answered twice.
func TestDemoHeadless(t *testing.T) {
	t.Parallel()
	start := time.Now()
	r := kfctl(t, nil, "demo", "--headless", "--customers", "50", "--messages", "2000", "--output", "json").ok(t)
	var s demoSummary
	r.json(t, &s)
	if s.Lost != 0 || s.Duplicated != 0 || s.NotSent != 0 || s.MessagesIn != 2000 || s.Archived != 2000 || s.Echoes != 2000 ||
		s.Events != 50 || s.Welcomes != 50 || s.MessagesOut != 2050 || s.Customers != 50 {
		t.Errorf("summary %+v", s)
	}
	if s.P50ms <= 0 || s.P99ms < s.P50ms || s.MaxMs < s.P99ms {
		t.Errorf("latencies p50 %v p99 %v max %v", s.P50ms, s.P99ms, s.MaxMs)
	}
	contains(t, "progress", r.stderr, "demo: 2000/2000 sent, 2000 replied")
	t.Logf("%d messages in %.1fs (test %s): p50 %.1fms p99 %.1fms, %d pages",
		s.MessagesIn, s.Seconds, time.Since(start).Round(time.Millisecond), s.P50ms, s.P99ms, s.Pages)
}

// TestDemoHeadlessTable checks the human summary, and that a bot that does
// not answer makes the demo fail: the lost count is real.
func TestDemoHeadlessTable(t *testing.T) {
	t.Parallel()
	r := kfctl(t, nil, "demo", "--headless", "--customers", "3", "--messages", "7", "-q").ok(t)
	contains(t, "summary", r.stdout, "3 customers, 2 accounts, 7 messages", "messages in     7", "lost            0",
		"duplicated      0", "reply latency", "p99", "OK: every message was archived and answered exactly once.")
	if r.stderr != "" {
		t.Errorf("--quiet printed %q", r.stderr)
	}

	silent := writeFile(t, "silent.json", []byte(`{"keywords": [{"keywords": ["never said"], "reply": {"text": "no"}}]}`))
	r = kfctl(t, nil, "demo", "--headless", "--customers", "2", "--messages", "3", "--wait", "200ms", "-q", "--rules", silent).exit(t, exitError)
	contains(t, "summary", r.stdout, "lost            3")
	contains(t, "error", r.stderr, "demo: 3 lost, 0 duplicated")
}

var chatURL = regexp.MustCompile(`chat page +(http://\S+)`)

// startDemo runs the interactive demo until the returned stop is called,
// and returns the chat page's URL.
func startDemo(t *testing.T, args ...string) (page string, stop func() result) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"demo", "--addr", "127.0.0.1:0"}, args...), &out, &errb, func(string) string { return "" })
	}()
	stopped := false
	var res result
	stop = func() result {
		if stopped {
			return res
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			res = result{code: code, stdout: out.String(), stderr: errb.String()}
		case <-time.After(10 * time.Second):
			t.Fatalf("the demo did not stop within 10 s\nstdout:\n%s\nstderr:\n%s", out.String(), errb.String())
		}
		return res
	}
	t.Cleanup(func() { stop() })
	eventually(t, 15*time.Second, "the chat page URL", func() bool {
		select {
		case code := <-done:
			t.Fatalf("the demo exited with %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
		default:
		}
		return strings.Contains(out.String(), "Press Ctrl-C to stop.")
	})
	m := chatURL.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no chat page in\n%s", out.String())
	}
	return m[1], stop
}

func TestDemoInteractive(t *testing.T) {
	t.Parallel()
	page, stop := startDemo(t)
	resp, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(html), "<html") {
		t.Fatalf("chat page: HTTP %d\n%.200s", resp.StatusCode, html)
	}
	base := strings.SplitN(page, "/?", 2)[0]

	// The customer writes through the control API, as the chat page does.
	resp, err = http.Post(base+"/_kftest/customer/send", "application/json", strings.NewReader(
		`{"open_kfid":"wkSupport","external_userid":"wmCustomer","msgtype":"text","text":{"content":"hello demo"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("customer/send: HTTP %d", resp.StatusCode)
	}
	var conv struct {
		Messages []struct {
			From    string          `json:"from"`
			Payload json.RawMessage `json:"payload"`
		} `json:"messages"`
	}
	eventually(t, 10*time.Second, "the echo in the conversation", func() bool {
		resp, err := http.Get(base + "/_kftest/conversation?open_kfid=wkSupport&external_userid=wmCustomer")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&conv); err != nil {
			t.Fatal(err)
		}
		for _, m := range conv.Messages {
			if m.From == "api" && strings.Contains(string(m.Payload), `"echo: hello demo"`) {
				return true
			}
		}
		return false
	})

	r := stop()
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	contains(t, "stdout", r.stdout, "kfctl demo:", "contact link", "https://work.weixin.qq.com/kf/", `Write "human" or "人工"`, "demo stopped")
	// Everything stopped: the chat page is gone.
	if resp, err := http.Get(page); err == nil {
		resp.Body.Close()
		t.Errorf("the emulator still answers after the demo stopped (HTTP %d)", resp.StatusCode)
	}
}

func TestDemoUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"demo", "--headless", "--customers", "0"},
		{"demo", "--headless", "--messages", "-1"},
		{"demo", "--headless", "--wait", "0s"},
		{"demo", "--rules", "/nonexistent/rules.json", "--headless"},
	} {
		r := kfctl(t, nil, args...)
		if r.code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}
