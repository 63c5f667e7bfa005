package kf

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testToken is the access_token the test server hands out.
const testToken = "TEST_ACCESS_TOKEN"

// setup starts a loopback test server and returns its mux and a client
// pointed at it. The mux already serves /cgi-bin/gettoken; any path the test
// does not register fails the test (the base-path trap).
func setup(t *testing.T, opts ...Option) (*http.ServeMux, *Client) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/cgi-bin/gettoken", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("corpid") != "corp" || r.URL.Query().Get("corpsecret") != "secret" {
			writeJSON(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
			return
		}
		writeJSON(w, `{"errcode":0,"errmsg":"ok","access_token":"`+testToken+`","expires_in":7200}`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		http.Error(w, "unexpected", http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	all := append([]Option{WithBaseURL(srv.URL), WithRetryer(NewStandardRetryer(StandardRetryerConfig{BaseDelay: 1, MaxDelay: 1}))}, opts...)
	c, err := NewClient("corp", "secret", all...)
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
	var got, exp any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("request body is not JSON: %v: %s", err, b)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	if diff := cmp.Diff(exp, got); diff != "" {
		t.Errorf("request body mismatch (-want +got):\n%s", diff)
	}
}

// testNoRequest registers a handler for path that fails the test if called:
// used to prove that an invalid request is refused before sending.
func testNoRequest(t *testing.T, mux *http.ServeMux, path string) {
	t.Helper()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent to %s although the input was invalid", path)
		writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
	})
}

// testAPIError registers path to answer with errcode code and checks that
// call returns an *APIError with that code and operation op.
func testAPIError(t *testing.T, mux *http.ServeMux, path, op string, code ErrCode, call func() error) {
	t.Helper()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, `{"errcode":`+strconv.Itoa(int(code))+`,"errmsg":"injected, hint: [x]"}`)
	})
	err := call()
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if ae.Code != code || ae.Op != op {
		t.Errorf("got Op=%q Code=%d, want Op=%q Code=%d", ae.Op, ae.Code, op, code)
	}
}
