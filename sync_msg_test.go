package kf

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSync(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	mux.HandleFunc("/cgi-bin/kf/sync_msg", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"cursor":"4gw7MepFLfgF2VC5npN","token":"ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR","limit":1000,"voice_format":1,"open_kfid":"wkA"}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","next_cursor":"4gw7MepFLfgF2VC5npN2","has_more":1,"msg_list":[`+
			`{"msgid":"from_msgid_1","open_kfid":"wkA","external_userid":"wmB","send_time":1700000000,"origin":3,"msgtype":"text","text":{"content":"你好","menu_id":"101"}},`+
			`{"msgid":"ev1","send_time":1700000100,"origin":4,"msgtype":"event","event":{"event_type":"enter_session","open_kfid":"wkA","external_userid":"wmB","scene":"s","welcome_code":"W"}}]}`)
	})
	got, err := client.Messages.Sync(t.Context(), &SyncMsgRequest{
		Cursor: "4gw7MepFLfgF2VC5npN", Token: "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR",
		Limit: 1000, VoiceFormat: VoiceFormatSILK, OpenKfID: "wkA",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &SyncMsgResponse{NextCursor: "4gw7MepFLfgF2VC5npN2", HasMore: true, MsgList: []Message{
		{MsgID: "from_msgid_1", OpenKfID: "wkA", ExternalUserID: "wmB", SendTime: 1700000000, Origin: OriginCustomer,
			MsgType: MsgTypeText, Payload: &Text{Content: "你好", MenuID: "101"},
			Raw: json.RawMessage(`{"msgid":"from_msgid_1","open_kfid":"wkA","external_userid":"wmB","send_time":1700000000,"origin":3,"msgtype":"text","text":{"content":"你好","menu_id":"101"}}`)},
		{MsgID: "ev1", SendTime: 1700000100, Origin: OriginSystem, MsgType: MsgTypeEvent,
			Payload: &Event{EventType: EventEnterSession, OpenKfID: "wkA", ExternalUserID: "wmB",
				Payload: &EnterSession{Scene: "s", WelcomeCode: "W"},
				Raw:     json.RawMessage(`{"event_type":"enter_session","open_kfid":"wkA","external_userid":"wmB","scene":"s","welcome_code":"W"}`)},
			Raw: json.RawMessage(`{"msgid":"ev1","send_time":1700000100,"origin":4,"msgtype":"event","event":{"event_type":"enter_session","open_kfid":"wkA","external_userid":"wmB","scene":"s","welcome_code":"W"}}`)},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sync mismatch (-want +got):\n%s", diff)
	}
}

func TestSyncMinimalRequest(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	mux.HandleFunc("/cgi-bin/kf/sync_msg", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testJSONBody(t, r, `{"open_kfid":"wkA"}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","next_cursor":"","has_more":0,"msg_list":[]}`)
	})
	got, err := client.Messages.Sync(t.Context(), &SyncMsgRequest{OpenKfID: "wkA"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&SyncMsgResponse{MsgList: []Message{}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSyncValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		req   *SyncMsgRequest
		field string
	}{
		{"nil request", nil, "open_kfid"},
		{"open_kfid missing", &SyncMsgRequest{Cursor: "c"}, "open_kfid"},
		{"open_kfid too long", &SyncMsgRequest{OpenKfID: strings.Repeat("k", 65)}, "open_kfid"},
		{"cursor too long", &SyncMsgRequest{OpenKfID: "wkA", Cursor: strings.Repeat("c", 65)}, "cursor"},
		{"token too long", &SyncMsgRequest{OpenKfID: "wkA", Token: strings.Repeat("t", 129)}, "token"},
		{"limit too large", &SyncMsgRequest{OpenKfID: "wkA", Limit: 1001}, "limit"},
		{"voice_format unknown", &SyncMsgRequest{OpenKfID: "wkA", VoiceFormat: 2}, "voice_format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux, client := setup(t)
			testNoRequest(t, mux, "/cgi-bin/kf/sync_msg")
			_, err := client.Messages.Sync(t.Context(), tc.req)
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			if ve.Op != "kf/sync_msg" || ve.Field != tc.field {
				t.Errorf("Op, Field = %q, %q; want kf/sync_msg, %q", ve.Op, ve.Field, tc.field)
			}
			// SyncAll refuses it too, once, without sending.
			n := 0
			for _, err := range client.Messages.SyncAll(t.Context(), tc.req) {
				n++
				if !errors.As(err, &ve) {
					t.Errorf("SyncAll err = %v, want *ValidationError", err)
				}
			}
			if n != 1 {
				t.Errorf("SyncAll yielded %d times, want 1", n)
			}
		})
	}
}

func TestSyncValidationLimits(t *testing.T) {
	t.Parallel()
	ok := []SyncMsgRequest{
		{OpenKfID: strings.Repeat("k", 64), Cursor: strings.Repeat("c", 64), Token: strings.Repeat("t", 128), Limit: 1000, VoiceFormat: VoiceFormatSILK},
		{OpenKfID: "wkA", Limit: 0, VoiceFormat: VoiceFormatAMR},
		{OpenKfID: "wkA", Limit: 1},
	}
	for _, r := range ok {
		if err := r.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", r, err)
		}
	}
}

func TestSyncAPIError(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	testAPIError(t, mux, "/cgi-bin/kf/sync_msg", "kf/sync_msg", ErrCodeInvalidMsgToken, func() error {
		_, err := client.Messages.Sync(t.Context(), &SyncMsgRequest{OpenKfID: "wkA", Token: "stale"})
		return err
	})
}

func TestSyncDecodeError(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	mux.HandleFunc("/cgi-bin/kf/sync_msg", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, `{"errcode":0,"errmsg":"ok","next_cursor":"c","has_more":0,"msg_list":[{"msgid":"m1","send_time":"soon"}]}`)
	})
	_, err := client.Messages.Sync(t.Context(), &SyncMsgRequest{OpenKfID: "wkA"})
	var de *DecodeError
	if !errors.As(err, &de) || de.Op != "kf/sync_msg" {
		t.Fatalf("err = %v, want *DecodeError for kf/sync_msg", err)
	}
	if !strings.Contains(err.Error(), "msg_list[0]") {
		t.Errorf("err = %v, want it to name msg_list[0]", err)
	}
}

// syncTestServer serves scripted sync_msg pages keyed by the request cursor and
// records the requests.
type syncTestServer struct {
	t     *testing.T
	pages map[string]string // cursor -> reply body
	mu    sync.Mutex
	reqs  []SyncMsgRequest
}

func newSyncTestServer(t *testing.T, pages map[string]string) (*syncTestServer, *Client) {
	mux, client := setup(t)
	s := &syncTestServer{t: t, pages: pages}
	mux.HandleFunc("/cgi-bin/kf/sync_msg", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		var req SyncMsgRequest
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("bad request body %s: %v", body, err)
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		reply, ok := pages[req.Cursor]
		if !ok {
			t.Errorf("unexpected cursor %q", req.Cursor)
			reply = `{"errcode":40058,"errmsg":"invalid cursor"}`
		}
		writeJSON(w, reply)
	})
	return s, client
}

func (s *syncTestServer) cursors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c []string
	for _, r := range s.reqs {
		c = append(c, r.Cursor)
	}
	return c
}

func syncTestPage(next string, hasMore int, msgids ...string) string {
	var b strings.Builder
	b.WriteString(`{"errcode":0,"errmsg":"ok","next_cursor":"` + next + `","has_more":`)
	b.WriteByte(byte('0' + hasMore))
	b.WriteString(`,"msg_list":[`)
	for i, id := range msgids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"msgid":"` + id + `","open_kfid":"wkA","external_userid":"wmB","send_time":1700000000,"origin":3,"msgtype":"text","text":{"content":"` + id + `"}}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

// syncCollect runs SyncAll to the end and returns the msgids and errors seen.
func syncCollect(seq func(func(Message, error) bool)) (ids []string, errs []error) {
	for m, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, m.MsgID)
	}
	return ids, errs
}

func TestSyncAll(t *testing.T) {
	t.Parallel()
	srv, client := newSyncTestServer(t, map[string]string{
		"start": syncTestPage("c1", 1, "m1", "m2"),
		"c1":    syncTestPage("c2", 1), // empty page with has_more=1: must continue
		"c2":    syncTestPage("c3", 1, "m3"),
		"c3":    syncTestPage("c4", 0, "m4"),
	})
	req := &SyncMsgRequest{OpenKfID: "wkA", Token: "TOKEN", Cursor: "start", Limit: 2}
	ids, errs := syncCollect(client.Messages.SyncAll(t.Context(), req))
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if diff := cmp.Diff([]string{"m1", "m2", "m3", "m4"}, ids); diff != "" {
		t.Errorf("msgids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"start", "c1", "c2", "c3"}, srv.cursors()); diff != "" {
		t.Errorf("cursors sent (-want +got):\n%s", diff)
	}
	for _, r := range srv.reqs {
		if r.Token != "TOKEN" || r.OpenKfID != "wkA" || r.Limit != 2 {
			t.Errorf("request %+v lost token, account or limit", r)
		}
	}
	if req.Cursor != "start" {
		t.Errorf("SyncAll changed the caller's request: cursor %q", req.Cursor)
	}
}

func TestSyncAllFromEmptyCursor(t *testing.T) {
	t.Parallel()
	srv, client := newSyncTestServer(t, map[string]string{
		"":   syncTestPage("c1", 1),
		"c1": syncTestPage("c2", 0),
	})
	ids, errs := syncCollect(client.Messages.SyncAll(t.Context(), &SyncMsgRequest{OpenKfID: "wkA"}))
	if len(ids) != 0 || len(errs) != 0 {
		t.Errorf("ids %v, errs %v; want none", ids, errs)
	}
	if diff := cmp.Diff([]string{"", "c1"}, srv.cursors()); diff != "" {
		t.Errorf("cursors sent (-want +got):\n%s", diff)
	}
}

func TestSyncAllRepeatedCursor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		pages map[string]string
		ids   []string
		sent  []string
	}{
		{
			name:  "same cursor again",
			pages: map[string]string{"": syncTestPage("c1", 1, "m1"), "c1": syncTestPage("c1", 1, "m2")},
			ids:   []string{"m1", "m2"}, sent: []string{"", "c1"},
		},
		{
			name:  "cycle",
			pages: map[string]string{"": syncTestPage("c1", 1), "c1": syncTestPage("c2", 1, "m1"), "c2": syncTestPage("c1", 1)},
			ids:   []string{"m1"}, sent: []string{"", "c1", "c2"},
		},
		{
			name:  "back to the start",
			pages: map[string]string{"": syncTestPage("", 1, "m1")},
			ids:   []string{"m1"}, sent: []string{""},
		},
		{
			name:  "has_more without cursor",
			pages: map[string]string{"a": syncTestPage("", 1, "m1")},
			ids:   []string{"m1"}, sent: []string{"a"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, client := newSyncTestServer(t, tc.pages)
			start := ""
			if tc.sent[0] != "" {
				start = tc.sent[0]
			}
			ids, errs := syncCollect(client.Messages.SyncAll(t.Context(), &SyncMsgRequest{OpenKfID: "wkA", Cursor: start}))
			if diff := cmp.Diff(tc.ids, ids); diff != "" {
				t.Errorf("msgids (-want +got):\n%s", diff)
			}
			if len(errs) != 1 || !errors.Is(errs[0], ErrRepeatedCursor) {
				t.Errorf("errors = %v, want one ErrRepeatedCursor", errs)
			}
			if diff := cmp.Diff(tc.sent, srv.cursors()); diff != "" {
				t.Errorf("cursors sent (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSyncAllErrorMidway(t *testing.T) {
	t.Parallel()
	srv, client := newSyncTestServer(t, map[string]string{
		"":   syncTestPage("c1", 1, "m1", "m2"),
		"c1": `{"errcode":95007,"errmsg":"invalid msg token"}`,
		"c2": syncTestPage("c3", 0, "never"),
	})
	var ids []string
	var errs []error
	for m, err := range client.Messages.SyncAll(t.Context(), &SyncMsgRequest{OpenKfID: "wkA", Token: "T"}) {
		if err != nil {
			errs = append(errs, err)
			continue // the iterator must stop by itself
		}
		ids = append(ids, m.MsgID)
	}
	if diff := cmp.Diff([]string{"m1", "m2"}, ids); diff != "" {
		t.Errorf("msgids (-want +got):\n%s", diff)
	}
	var ae *APIError
	if len(errs) != 1 || !errors.As(errs[0], &ae) || ae.Code != ErrCodeInvalidMsgToken {
		t.Errorf("errors = %v, want one APIError 95007", errs)
	}
	if diff := cmp.Diff([]string{"", "c1"}, srv.cursors()); diff != "" {
		t.Errorf("cursors sent (-want +got):\n%s", diff)
	}
}

func TestSyncAllStopEarly(t *testing.T) {
	t.Parallel()
	srv, client := newSyncTestServer(t, map[string]string{
		"":   syncTestPage("c1", 1, "m1", "m2"),
		"c1": syncTestPage("c2", 0, "m3"),
	})
	for m, err := range client.Messages.SyncAll(t.Context(), &SyncMsgRequest{OpenKfID: "wkA"}) {
		if err != nil || m.MsgID != "m1" {
			t.Fatalf("first item = %v, %v", m.MsgID, err)
		}
		break
	}
	if diff := cmp.Diff([]string{""}, srv.cursors()); diff != "" {
		t.Errorf("cursors sent (-want +got):\n%s", diff)
	}
}

func TestSyncAllContextCancel(t *testing.T) {
	t.Parallel()
	srv, client := newSyncTestServer(t, map[string]string{
		"":   syncTestPage("c1", 1, "m1", "m2"),
		"c1": syncTestPage("c2", 1, "m3"),
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var ids []string
	var errs []error
	for m, err := range client.Messages.SyncAll(ctx, &SyncMsgRequest{OpenKfID: "wkA"}) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, m.MsgID)
		cancel() // the rest of the page is still delivered; no new page is fetched
	}
	if diff := cmp.Diff([]string{"m1", "m2"}, ids); diff != "" {
		t.Errorf("msgids (-want +got):\n%s", diff)
	}
	if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Errorf("errors = %v, want one context.Canceled", errs)
	}
	if diff := cmp.Diff([]string{""}, srv.cursors()); diff != "" {
		t.Errorf("cursors sent (-want +got):\n%s", diff)
	}
}

func TestSyncAllCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	testNoRequest(t, mux, "/cgi-bin/kf/sync_msg")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, errs := syncCollect(client.Messages.SyncAll(ctx, &SyncMsgRequest{OpenKfID: "wkA"}))
	if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Errorf("errors = %v, want one context.Canceled", errs)
	}
}

func TestSyncMsgResponseJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     SyncMsgResponse
	}{
		{"has_more 1", `{"next_cursor":"n","has_more":1,"msg_list":[]}`, SyncMsgResponse{NextCursor: "n", HasMore: true, MsgList: []Message{}}},
		{"has_more 0, no list", `{"errcode":0,"errmsg":"ok","next_cursor":"n","has_more":0}`, SyncMsgResponse{NextCursor: "n"}},
		{"has_more bool", `{"has_more":true}`, SyncMsgResponse{HasMore: true}},
		{"null list and fields", `{"next_cursor":null,"has_more":null,"msg_list":null}`, SyncMsgResponse{}},
		{"unknown members", ` {"a":{"b":[1,{"c":"\u00e9"}]},"has_more":1} `, SyncMsgResponse{HasMore: true}},
	}
	for _, tc := range tests {
		var got SyncMsgResponse
		if err := json.Unmarshal([]byte(tc.in), &got); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	for _, in := range []string{
		``, `[]`, `{"has_more":"1"}`, `{"has_more":1.5}`, `{"next_cursor":1}`,
		`{"msg_list":{}}`, `{"msg_list":[null]}`, `{"msg_list":[1]}`, `{"msg_list":[{}],}`,
		`{"msg_list":[{"msgid":"a"}`, `{"msg_list":[]} {}`,
		string(genSyncPage(3)[:500]),
	} {
		var got SyncMsgResponse
		if err := got.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("UnmarshalJSON(%q) succeeded, want an error", in)
		}
	}
	// Encoding: has_more as 0/1, messages as their raw JSON.
	var r SyncMsgResponse
	page := syncTestPage("c9", 1, "m1")
	if err := r.UnmarshalJSON([]byte(page)); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"next_cursor":"c9","has_more":1,"msg_list":[{"msgid":"m1","open_kfid":"wkA","external_userid":"wmB","send_time":1700000000,"origin":3,"msgtype":"text","text":{"content":"m1"}}]}`
	if string(out) != want {
		t.Errorf("Marshal = %s\nwant %s", out, want)
	}
	out, _ = json.Marshal(SyncMsgResponse{})
	if string(out) != `{"next_cursor":"","has_more":0,"msg_list":[]}` {
		t.Errorf("Marshal(zero) = %s", out)
	}
}
