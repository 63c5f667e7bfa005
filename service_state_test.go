package kf

import (
	"errors"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCanTransition(t *testing.T) {
	t.Parallel()
	const (
		U = StateUntreated
		B = StateBot
		Q = StateQueued
		S = StateServicer
		E = StateEnded
	)
	// All 25 cells of the documented table (shared/api-surface.md §4); the
	// undocumented 0/1/2 → 4 cells are allowed on purpose.
	allowed := map[[2]ServiceState]bool{
		{U, U}: false, {U, B}: true, {U, Q}: true, {U, S}: true, {U, E}: true,
		{B, U}: false, {B, B}: false, {B, Q}: true, {B, S}: true, {B, E}: true,
		{Q, U}: false, {Q, B}: false, {Q, Q}: false, {Q, S}: true, {Q, E}: true,
		{S, U}: false, {S, B}: false, {S, Q}: false, {S, S}: true, {S, E}: true,
		{E, U}: false, {E, B}: false, {E, Q}: false, {E, S}: false, {E, E}: false,
	}
	if len(allowed) != 25 {
		t.Fatalf("table has %d cells, want 25", len(allowed))
	}
	for from := StateUntreated; from <= StateEnded; from++ {
		for to := StateUntreated; to <= StateEnded; to++ {
			ok, reason := CanTransition(from, to)
			if want := allowed[[2]ServiceState{from, to}]; ok != want {
				t.Errorf("CanTransition(%v, %v) = %v (%s), want %v", from, to, ok, reason, want)
			}
			if reason == "" {
				t.Errorf("CanTransition(%v, %v): empty reason", from, to)
			}
		}
	}
	for _, c := range [][2]ServiceState{{-1, B}, {5, B}, {U, -1}, {U, 5}} {
		if ok, reason := CanTransition(c[0], c[1]); ok || reason == "" {
			t.Errorf("CanTransition(%v, %v) = %v, %q; want false with a reason", c[0], c[1], ok, reason)
		}
	}
}

func TestServiceState_String(t *testing.T) {
	t.Parallel()
	want := []string{"untreated", "bot", "queued", "servicer", "ended"}
	for i, w := range want {
		s := ServiceState(i)
		if s.String() != w || !s.Valid() {
			t.Errorf("ServiceState(%d) = %q (valid %v), want %q (valid)", i, s.String(), s.Valid(), w)
		}
	}
	if s := ServiceState(5); s.String() != "ServiceState(5)" || s.Valid() {
		t.Errorf("ServiceState(5) = %q (valid %v)", s.String(), s.Valid())
	}
}

func TestSessions_State(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/service_state/get", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"open_kfid":"wkxxxxxxxxxxxxxxxxxx","external_userid":"wmxxxxxxxxxxxxxxxxxx"}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","service_state":3,"servicer_userid":"zhangsan"}`)
	})
	got, err := c.Sessions.State(t.Context(), &SessionStateRequest{OpenKfID: "wkxxxxxxxxxxxxxxxxxx", ExternalUserID: "wmxxxxxxxxxxxxxxxxxx"})
	if err != nil {
		t.Fatal(err)
	}
	want := &SessionStateResponse{ServiceState: StateServicer, ServicerUserID: "zhangsan"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("State mismatch (-want +got):\n%s", diff)
	}
}

func TestSessions_Transfer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		req   TransferRequest
		body  string
		reply string
		want  TransferResponse
	}{
		{
			name:  "to servicer",
			req:   TransferRequest{OpenKfID: "wkxxxxxxxxxxxxxxxxxx", ExternalUserID: "wmxxxxxxxxxxxxxxxxxx", ServiceState: StateServicer, ServicerUserID: "zhangsan"},
			body:  `{"open_kfid":"wkxxxxxxxxxxxxxxxxxx","external_userid":"wmxxxxxxxxxxxxxxxxxx","service_state":3,"servicer_userid":"zhangsan"}`,
			reply: `{"errcode":0,"errmsg":"ok","msg_code":"MSG_CODE"}`,
			want:  TransferResponse{MsgCode: "MSG_CODE"},
		},
		{
			name:  "end",
			req:   TransferRequest{OpenKfID: "wk", ExternalUserID: "wm", ServiceState: StateEnded},
			body:  `{"open_kfid":"wk","external_userid":"wm","service_state":4}`,
			reply: `{"errcode":0,"errmsg":"ok","msg_code":"END_CODE"}`,
			want:  TransferResponse{MsgCode: "END_CODE"},
		},
		{
			// 0 is sent (not omitted) even though the platform will refuse it.
			name:  "to untreated",
			req:   TransferRequest{OpenKfID: "wk", ExternalUserID: "wm", ServiceState: StateUntreated},
			body:  `{"open_kfid":"wk","external_userid":"wm","service_state":0}`,
			reply: `{"errcode":0,"errmsg":"ok"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			mux.HandleFunc("/cgi-bin/kf/service_state/trans", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, "POST")
				testQuery(t, r, url.Values{})
				testJSONBody(t, r, tt.body)
				writeJSON(w, tt.reply)
			})
			got, err := c.Sessions.Transfer(t.Context(), &tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("Transfer mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSessions_TransferNotRetried proves Transfer is not idempotent: a reply
// that leaves the outcome unknown is reported once, never replayed.
func TestSessions_TransferNotRetried(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/cgi-bin/kf/service_state/trans", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	_, err := c.Sessions.Transfer(t.Context(), &TransferRequest{OpenKfID: "wk", ExternalUserID: "wm", ServiceState: StateQueued})
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v, want ErrOutcomeUnknown", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("service_state/trans called %d times, want 1", n)
	}
}

func TestSessions_Validation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		path  string
		call  func(*Client) error
		field string
	}{
		{"state nil", "/cgi-bin/kf/service_state/get", func(c *Client) error { _, err := c.Sessions.State(t.Context(), nil); return err }, "request"},
		{"state no account", "/cgi-bin/kf/service_state/get", func(c *Client) error {
			_, err := c.Sessions.State(t.Context(), &SessionStateRequest{ExternalUserID: "wm"})
			return err
		}, "open_kfid"},
		{"state no customer", "/cgi-bin/kf/service_state/get", func(c *Client) error {
			_, err := c.Sessions.State(t.Context(), &SessionStateRequest{OpenKfID: "wk"})
			return err
		}, "external_userid"},
		{"trans nil", "/cgi-bin/kf/service_state/trans", func(c *Client) error { _, err := c.Sessions.Transfer(t.Context(), nil); return err }, "request"},
		{"trans no account", "/cgi-bin/kf/service_state/trans", func(c *Client) error {
			_, err := c.Sessions.Transfer(t.Context(), &TransferRequest{ExternalUserID: "wm", ServiceState: StateQueued})
			return err
		}, "open_kfid"},
		{"trans no customer", "/cgi-bin/kf/service_state/trans", func(c *Client) error {
			_, err := c.Sessions.Transfer(t.Context(), &TransferRequest{OpenKfID: "wk", ServiceState: StateQueued})
			return err
		}, "external_userid"},
		{"trans state 5", "/cgi-bin/kf/service_state/trans", func(c *Client) error {
			_, err := c.Sessions.Transfer(t.Context(), &TransferRequest{OpenKfID: "wk", ExternalUserID: "wm", ServiceState: 5})
			return err
		}, "service_state"},
		{"trans state -1", "/cgi-bin/kf/service_state/trans", func(c *Client) error {
			_, err := c.Sessions.Transfer(t.Context(), &TransferRequest{OpenKfID: "wk", ExternalUserID: "wm", ServiceState: -1})
			return err
		}, "service_state"},
		{"trans servicer missing", "/cgi-bin/kf/service_state/trans", func(c *Client) error {
			_, err := c.Sessions.Transfer(t.Context(), &TransferRequest{OpenKfID: "wk", ExternalUserID: "wm", ServiceState: StateServicer})
			return err
		}, "servicer_userid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			testNoRequest(t, mux, tt.path)
			wantInvalidField(t, tt.call(c), tt.field)
		})
	}
}

func TestSessions_APIError(t *testing.T) {
	t.Parallel()
	t.Run("trans", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/service_state/trans", "kf/service_state/trans", ErrCodeStateTransitionForbidden, func() error {
			_, err := c.Sessions.Transfer(t.Context(), &TransferRequest{OpenKfID: "wk", ExternalUserID: "wm", ServiceState: StateBot})
			if !errors.Is(err, ErrCodeStateTransitionForbidden) {
				t.Errorf("errors.Is(%v, ErrCodeStateTransitionForbidden) = false", err)
			}
			return err
		})
	})
	t.Run("get", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/service_state/get", "kf/service_state/get", ErrCodeInvalidExternalUserID, func() error {
			_, err := c.Sessions.State(t.Context(), &SessionStateRequest{OpenKfID: "wk", ExternalUserID: "wm"})
			return err
		})
	})
}
