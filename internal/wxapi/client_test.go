package wxapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fastRetryer retries like the standard one but without real delays.
func fastRetryer(attempts int) Retryer {
	return NewStandardRetryer(StandardRetryerConfig{MaxAttempts: attempts, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond})
}

func newTestClient(t *testing.T, h http.Handler, attempts int) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return New(Config{BaseURL: u, Tokens: StaticSource("TOKEN-SECRET-VALUE"), Retryer: fastRetryer(attempts),
		TokenCodes: []ErrCode{40014, 42001, 41001}}), srv
}

// hijackClose drops the connection without answering.
func hijackClose(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestRetryDecisions(t *testing.T) {
	t.Parallel()
	type step func(w http.ResponseWriter)
	ok := func(w http.ResponseWriter) { io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`) }
	code := func(c string) step {
		return func(w http.ResponseWriter) { io.WriteString(w, `{"errcode":`+c+`,"errmsg":"x"}`) }
	}
	status := func(s int) step { return func(w http.ResponseWriter) { w.WriteHeader(s) } }
	drop := func(w http.ResponseWriter) { hijackClose(w) }

	tests := []struct {
		name       string
		idempotent bool
		steps      []step
		wantCalls  int
		wantErr    bool
		wantCode   ErrCode
		unknown    bool // ErrOutcomeUnknown expected
		rateLimit  bool
	}{
		{"ok first time", false, []step{ok}, 1, false, 0, false, false},
		{"busy then ok (read)", true, []step{code("-1"), ok}, 2, false, 0, false, false},
		{"5xx then ok (read)", true, []step{status(502), ok}, 2, false, 0, false, false},
		{"drop then ok (read)", true, []step{drop, ok}, 2, false, 0, false, false},
		{"busy 3 times gives up", true, []step{code("-1"), code("-1"), code("-1"), ok}, 3, true, -1, false, false},
		{"bad request not retried", true, []step{code("40058"), ok}, 1, true, 40058, false, false},
		{"frequency limit not retried", true, []step{code("45009"), ok}, 1, true, 45009, false, true},
		{"concurrency limit not retried", true, []step{code("45033"), ok}, 1, true, 45033, false, true},
		{"write 5xx not retried: unknown", false, []step{status(500), ok}, 1, true, 0, true, false},
		{"write drop not retried: unknown", false, []step{drop, ok}, 1, true, 0, true, false},
		{"write busy not retried: unknown", false, []step{code("-1"), ok}, 1, true, -1, true, false},
		{"404 not retried", true, []step{status(404), ok}, 1, true, 0, false, false},
		{"token expired replays once (write)", false, []step{code("42001"), ok}, 2, false, 0, false, false},
		{"token invalid twice fails", true, []step{code("40014"), code("40014"), ok}, 2, true, 40014, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				tt.steps[min(n, len(tt.steps))-1](w)
			}), 3)
			err := c.Do(t.Context(), &Request{Op: "test/op", Path: "/x", JSON: map[string]int{"a": 1}, Idempotent: tt.idempotent}, nil)
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			if tt.wantCode != 0 && !errors.Is(err, tt.wantCode) {
				t.Errorf("err = %v, want code %d", err, tt.wantCode)
			}
			if got := errors.Is(err, ErrOutcomeUnknown); got != tt.unknown {
				t.Errorf("outcome unknown = %v, want %v (err %v)", got, tt.unknown, err)
			}
			var rl *RateLimitError
			if got := errors.As(err, &rl); got != tt.rateLimit {
				t.Errorf("rate limit error = %v, want %v", got, tt.rateLimit)
			}
			if !strings.Contains(err.Error(), "test/op") {
				t.Errorf("error %q does not name the operation", err)
			}
			if strings.Contains(err.Error(), "TOKEN-SECRET-VALUE") {
				t.Errorf("error leaks the access token: %q", err)
			}
		})
	}
}

func TestWriteRetriedWhenNeverSent(t *testing.T) {
	t.Parallel()
	// A port with no listener: the dial fails, so even a write is retried.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	u, _ := url.Parse("http://" + addr)
	var delays atomic.Int32
	r := &countingRetryer{Retryer: fastRetryer(3), n: &delays}
	c := New(Config{BaseURL: u, Tokens: StaticSource("T"), Retryer: r})
	err = c.Do(t.Context(), &Request{Op: "test/write", Path: "/x", JSON: 1}, nil)
	if err == nil {
		t.Fatal("expected an error")
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("dial failure reported as unknown outcome: %v", err)
	}
	if got := delays.Load(); got != 2 {
		t.Errorf("retries = %d, want 2", got)
	}
	if !strings.Contains(err.Error(), "after 3 attempts") {
		t.Errorf("error %q does not give the attempt count", err)
	}
}

type countingRetryer struct {
	Retryer
	n *atomic.Int32
}

func (r *countingRetryer) Delay(attempt int, err error) time.Duration {
	r.n.Add(1)
	return r.Retryer.Delay(attempt, err)
}

func TestBackoffSleepStopsOnCancel(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"errcode":-1,"errmsg":"busy"}`)
	}), 3)
	sleeping := make(chan struct{}, 1)
	c.retryer = &signalRetryer{Retryer: NewStandardRetryer(StandardRetryerConfig{BaseDelay: time.Hour, MaxDelay: time.Hour}), sleeping: sleeping}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Do(ctx, &Request{Op: "test/op", Path: "/x", Idempotent: true}, nil) }()
	<-sleeping // the first attempt failed; the client is about to sleep an hour
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if !errors.Is(err, ErrCode(-1)) {
			t.Errorf("err = %v, want it to keep the last API error", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Do returned %v after cancel", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Do did not return after cancel: the backoff ignores ctx")
	}
}

type signalRetryer struct {
	Retryer
	sleeping chan struct{}
}

func (r *signalRetryer) Delay(attempt int, err error) time.Duration {
	d := r.Retryer.Delay(attempt, err)
	r.sleeping <- struct{}{}
	return d
}

func TestStandardRetryerDelay(t *testing.T) {
	t.Parallel()
	r := NewStandardRetryer(StandardRetryerConfig{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Rand: func() float64 { return 0.999999 }})
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		got := r.Delay(i+1, nil)
		if got > w*time.Millisecond || got < w*time.Millisecond/2 {
			t.Errorf("Delay(%d) = %v, want within [%v, %v]", i+1, got, w*time.Millisecond/2, w*time.Millisecond)
		}
	}
	r0 := NewStandardRetryer(StandardRetryerConfig{BaseDelay: 100 * time.Millisecond, Rand: func() float64 { return 0 }})
	if got := r0.Delay(1, nil); got != 50*time.Millisecond {
		t.Errorf("Delay with zero jitter = %v, want 50ms", got)
	}
}

func TestTokenNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	var sb strings.Builder
	c, srv := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hijackClose(w) }), 1)
	c.log = newTextLogger(&sb)
	err := c.Do(t.Context(), &Request{Op: "test/op", Path: "/x", Idempotent: true}, nil)
	if err == nil {
		t.Fatal("expected an error")
	}
	if strings.Contains(err.Error(), "TOKEN-SECRET-VALUE") {
		t.Errorf("error leaks the token: %s", err)
	}
	if !strings.Contains(err.Error(), "REDACTED") {
		t.Errorf("error %q should show the redacted URL", err)
	}
	srv.Close()
	if strings.Contains(sb.String(), "TOKEN-SECRET-VALUE") {
		t.Errorf("log leaks the token: %s", sb.String())
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("https://h/cgi-bin/gettoken?corpid=c&corpsecret=S3CR3T&access_token=T0K3N")
	got := Redact(u)
	if strings.Contains(got, "S3CR3T") || strings.Contains(got, "T0K3N") || !strings.Contains(got, "corpid=c") {
		t.Errorf("Redact = %q", got)
	}
	s := RedactString(`Get "https://h/x?access_token=T0K3N&b=1": EOF`)
	if strings.Contains(s, "T0K3N") || !strings.Contains(s, "b=1") {
		t.Errorf("RedactString = %q", s)
	}
}

func TestNonJSONAndOversizedReplies(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/html" {
			io.WriteString(w, "<html>gateway</html>")
			return
		}
		io.WriteString(w, `{"errcode":0,"pad":"`+strings.Repeat("x", 2048)+`"}`)
	}), 1)
	c.maxBody = 1024
	var de *DecodeError
	if err := c.Do(t.Context(), &Request{Op: "t", Path: "/html", Idempotent: true}, nil); !errors.As(err, &de) {
		t.Errorf("html reply: err = %v, want *DecodeError", err)
	}
	if err := c.Do(t.Context(), &Request{Op: "t", Path: "/big", Idempotent: true}, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized reply: err = %v", err)
	}
}

func TestDecodeInto(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("access_token") != "TOKEN-SECRET-VALUE" || r.URL.Query().Get("q") != "1" {
			t.Errorf("query = %v", r.URL.RawQuery)
		}
		io.WriteString(w, `{"errcode":0,"errmsg":"ok","name":"n"}`)
	}), 1)
	var out struct {
		Name string `json:"name"`
	}
	if err := c.Do(t.Context(), &Request{Op: "t", Method: http.MethodGet, Path: "/x", Query: url.Values{"q": {"1"}}}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Name != "n" {
		t.Errorf("name = %q", out.Name)
	}
}

func TestDownloadRecognisesJSONErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ctype, body string
		wantFile    bool
	}{
		{"image/jpeg", "\xff\xd8binary", true},
		{"text/plain", "hello, a .txt file", true},
		{"text/plain", `  {"errcode":40007,"errmsg":"invalid media_id"}`, false},
		{"application/json", `{"errcode":40007,"errmsg":"invalid media_id"}`, false},
		{"application/octet-stream", `{"a json file":1}`, true},
	}
	for _, tt := range tests {
		c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", tt.ctype)
			io.WriteString(w, tt.body)
		}), 1)
		var sb strings.Builder
		err := c.Do(t.Context(), &Request{Op: "t/get", Method: http.MethodGet, Path: "/m", Download: &sb, Idempotent: true}, nil)
		if tt.wantFile {
			if err != nil || sb.String() != tt.body {
				t.Errorf("%s %q: err %v, wrote %q", tt.ctype, tt.body, err, sb.String())
			}
			continue
		}
		if !errors.Is(err, ErrCode(40007)) || sb.Len() != 0 {
			t.Errorf("%s %q: err %v, wrote %q; want 40007 and nothing written", tt.ctype, tt.body, err, sb.String())
		}
	}
}

// TestWriteCancelledInFlightIsOutcomeUnknown: a write whose context ends
// while the request is at the server may have been applied; it must say so.
// A write whose context ended before it started is not sent at all.
func TestWriteCancelledInFlightIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	var calls atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.Copy(io.Discard, r.Body) // lets the server notice the client leaving
		arrived <- struct{}{}
		select { // never answers: the client gives up first
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}), 3)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-arrived; cancel() }()
	err := c.Do(ctx, &Request{Op: "test/write", Path: "/x", JSON: 1}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v, want ErrOutcomeUnknown", err)
	}
	if strings.Contains(err.Error(), "TOKEN-SECRET-VALUE") {
		t.Errorf("error leaks the token: %v", err)
	}

	// Already cancelled: nothing is sent, so the outcome is known.
	err = c.Do(ctx, &Request{Op: "test/write", Path: "/x", JSON: 1}, nil)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("pre-cancelled write: err = %v, want context.Canceled without ErrOutcomeUnknown", err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("server calls = %d, want 1", got)
	}
}

// TestTokenReplayKeepsCauseWhenBodyNotReplayable: when the token is rejected
// and the body cannot be built again, the error still names the token
// problem.
func TestTokenReplayKeepsCauseWhenBodyNotReplayable(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"errcode":42001,"errmsg":"access_token expired"}`)
	}), 3)
	built := 0
	body := func() (io.Reader, string, error) {
		built++
		if built > 1 {
			return nil, "", ErrNotReplayable
		}
		return strings.NewReader("payload"), "application/octet-stream", nil
	}
	err := c.Do(t.Context(), &Request{Op: "test/upload", Path: "/u", Body: body}, nil)
	if !errors.Is(err, ErrNotReplayable) {
		t.Errorf("err = %v, want ErrNotReplayable", err)
	}
	if !errors.Is(err, ErrCode(42001)) {
		t.Errorf("err = %v, want it to keep errcode 42001", err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("server calls = %d, want 1", got)
	}
}
