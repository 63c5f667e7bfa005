package mp

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testToken is the access_token the test server hands out.
const testToken = "TEST_ACCESS_TOKEN"

// setup starts a loopback test server and returns its mux and a client
// pointed at it. The mux already serves /cgi-bin/token; any path the test
// does not register fails the test (the base-path trap). Retries have no
// real delay.
func setup(t *testing.T, opts ...Option) (*http.ServeMux, *Client) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/cgi-bin/token", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method != http.MethodGet || q.Get("grant_type") != "client_credential" || q.Get("appid") != "app" || q.Get("secret") != "secret" {
			writeJSON(w, `{"errcode":40001,"errmsg":"invalid credential, access_token is invalid or not latest"}`)
			return
		}
		writeJSON(w, `{"access_token":"`+testToken+`","expires_in":7200}`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		http.Error(w, "unexpected", http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	all := append([]Option{WithBaseURL(srv.URL), WithRetryer(NewStandardRetryer(StandardRetryerConfig{BaseDelay: 1, MaxDelay: 1}))}, opts...)
	c, err := NewClient("app", "secret", all...)
	if err != nil {
		t.Fatal(err)
	}
	return mux, c
}

// writeJSON writes a JSON reply as the platform does (HTTP 200).
func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = io.WriteString(w, body)
}

// ok is the platform's success reply.
const ok = `{"errcode":0,"errmsg":"ok"}`

// testMethod checks the HTTP method and that the access_token was sent.
func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if r.Method != want {
		t.Errorf("method = %s, want %s", r.Method, want)
	}
	if got := r.URL.Query().Get("access_token"); got != testToken {
		t.Errorf("access_token = %q, want %q", got, testToken)
	}
}

// testQuery checks the query parameters other than access_token.
func testQuery(t *testing.T, r *http.Request, want url.Values) {
	t.Helper()
	got := r.URL.Query()
	got.Del("access_token")
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("query mismatch (-want +got):\n%s", diff)
	}
}

// testJSONBody checks that the request body is the JSON document want
// (compared as values, so key order and spacing do not matter).
func testJSONBody(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, want, b)
}

// jsonEqual compares two JSON documents as values.
func jsonEqual(t *testing.T, want string, got []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("JSON mismatch (-want +got):\n%s", diff)
	}
}

// testNoRequest registers a handler for path that fails the test if called:
// used to prove that an invalid request is refused before sending.
func testNoRequest(t *testing.T, mux *http.ServeMux, path string) {
	t.Helper()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent to %s although the input was invalid", path)
		writeJSON(w, ok)
	})
}

// wantAPIError checks that err is an *APIError with the given operation and
// code, matched by errors.Is.
func wantAPIError(t *testing.T, err error, op string, code ErrCode) {
	t.Helper()
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if ae.Code != code || ae.Op != op {
		t.Errorf("got Op=%q Code=%d, want Op=%q Code=%d", ae.Op, ae.Code, op, code)
	}
	if !errors.Is(err, code) {
		t.Errorf("errors.Is(%v, %v) = false", err, code)
	}
}

// wantInvalid checks that err is a *ValidationError for field.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	if !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("errors.Is(err, ErrInvalidRequest) = false for %v", err)
	}
	if ve.Field != field {
		t.Errorf("Field = %q, want %q (%v)", ve.Field, field, err)
	}
}

// errcodeReply is the platform reply for code.
func errcodeReply(code ErrCode) string {
	return `{"errcode":` + strconv.Itoa(int(code)) + `,"errmsg":"injected rid: 0-0-0"}`
}

// fakeClock is a Clock that moves only when told; safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
