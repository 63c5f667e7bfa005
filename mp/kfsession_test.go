package mp

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSessionsCreateClose(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc(pathSessionCreate, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		testQuery(t, r, nil)
		testJSONBody(t, r, `{"kf_account":"test1@gh_test","openid":"OPENID"}`)
		writeJSON(w, ok)
	})
	mux.HandleFunc(pathSessionClose, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		testJSONBody(t, r, `{"kf_account":"test1@gh_test","openid":"OPENID","text":"bye"}`)
		writeJSON(w, ok)
	})
	if err := c.Sessions.Create(t.Context(), &CreateSessionRequest{KfAccount: "test1@gh_test", OpenID: "OPENID"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sessions.Close(t.Context(), &CloseSessionRequest{KfAccount: "test1@gh_test", OpenID: "OPENID", Text: "bye"}); err != nil {
		t.Fatal(err)
	}
}

func TestSessionsGet(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc(pathSessionGet, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		testQuery(t, r, url.Values{"openid": {"OPENID"}})
		writeJSON(w, `{"createtime":123456789,"kf_account":"test1@gh_test","errcode":0,"errmsg":"ok"}`)
	})
	got, err := c.Sessions.Get(t.Context(), "OPENID")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&GetSessionResponse{CreateTime: 123456789, KfAccount: "test1@gh_test"}, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	if !got.Served() {
		t.Error("Served() = false")
	}
	if (&GetSessionResponse{}).Served() {
		t.Error("empty kf_account: Served() = true")
	}
}

func TestSessionsList(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc(pathSessionList, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		testQuery(t, r, url.Values{"kf_account": {"test1@gh_test"}})
		writeJSON(w, `{"sessionlist":[{"createtime":123456789,"openid":"OPENID1"},{"createtime":123456790,"openid":"OPENID2"}]}`)
	})
	got, err := c.Sessions.List(t.Context(), "test1@gh_test")
	if err != nil {
		t.Fatal(err)
	}
	want := &ListSessionsResponse{Sessions: []SessionItem{{123456789, "OPENID1"}, {123456790, "OPENID2"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func TestSessionsListWaiting(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc(pathSessionWaiting, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		testQuery(t, r, nil)
		writeJSON(w, `{"count":150,"waitcaselist":[{"latest_time":123456789,"openid":"OPENID1"},{"latest_time":123456790,"openid":"OPENID2"}]}`)
	})
	got, err := c.Sessions.ListWaiting(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := &ListWaitingResponse{Count: 150, WaitCases: []WaitCase{{123456789, "OPENID1"}, {123456790, "OPENID2"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListWaiting (-want +got):\n%s", diff)
	}
}

// TestSessionErrors: the session codes match their constants with
// errors.Is, and the error text carries the catalogue's remedy.
func TestSessionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, op string
		code     ErrCode
		call     func(c *Client) error
	}{
		{pathSessionCreate, opSessionCreate, ErrCodeWorkerOffline, func(c *Client) error {
			return c.Sessions.Create(t.Context(), &CreateSessionRequest{KfAccount: "a@gh", OpenID: "u"})
		}},
		{pathSessionClose, opSessionClose, ErrCodeNoSession, func(c *Client) error {
			return c.Sessions.Close(t.Context(), &CloseSessionRequest{KfAccount: "a@gh", OpenID: "u"})
		}},
		{pathSessionClose, opSessionClose, ErrCodeServedByAnotherWorker, func(c *Client) error {
			return c.Sessions.Close(t.Context(), &CloseSessionRequest{KfAccount: "a@gh", OpenID: "u"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.code.String(), func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			mux.HandleFunc(tc.path, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, errcodeReply(tc.code)) })
			err := tc.call(c)
			wantAPIError(t, err, tc.op, tc.code)
			if r := tc.code.Remedy(); r == "" || !strings.Contains(err.Error(), "remedy: "+r) {
				t.Errorf("error %q lacks the remedy", err)
			}
			for _, other := range []ErrCode{ErrCodeWorkerOffline, ErrCodeNoSession, ErrCodeServedByAnotherWorker} {
				if other != tc.code && errors.Is(err, other) {
					t.Errorf("errors.Is(err, %s) = true", other)
				}
			}
		})
	}
}

// TestSessionCloseRetried: close cannot apply twice, so an unknown outcome
// is retried.
func TestSessionCloseRetried(t *testing.T) {
	t.Parallel()
	mux, c := setup(t, WithRetry(3))
	var calls atomic.Int32
	mux.HandleFunc(pathSessionClose, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		writeJSON(w, ok)
	})
	if err := c.Sessions.Close(t.Context(), &CloseSessionRequest{KfAccount: "a@gh", OpenID: "u"}); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Errorf("calls = %d, want 2", calls.Load())
	}
}

func TestSessionsValidation(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	for _, p := range []string{pathSessionCreate, pathSessionClose, pathSessionGet, pathSessionList} {
		testNoRequest(t, mux, p)
	}
	ctx := t.Context()
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"create nil", func() error { return c.Sessions.Create(ctx, nil) }, "request"},
		{"create bad account", func() error {
			return c.Sessions.Create(ctx, &CreateSessionRequest{KfAccount: "test1", OpenID: "u"})
		}, "kf_account"},
		{"create no openid", func() error { return c.Sessions.Create(ctx, &CreateSessionRequest{KfAccount: "a@gh"}) }, "openid"},
		{"close nil", func() error { return c.Sessions.Close(ctx, nil) }, "request"},
		{"close no account", func() error { return c.Sessions.Close(ctx, &CloseSessionRequest{OpenID: "u"}) }, "kf_account"},
		{"close no openid", func() error { return c.Sessions.Close(ctx, &CloseSessionRequest{KfAccount: "a@gh"}) }, "openid"},
		{"get no openid", func() error { _, err := c.Sessions.Get(ctx, ""); return err }, "openid"},
		{"list bad account", func() error { _, err := c.Sessions.List(ctx, "toolongprefix@gh"); return err }, "kf_account"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantInvalid(t, tc.call(), tc.field) })
	}
}
