package kf

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestServicers_Add(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/servicer/add", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"open_kfid":"kfxxxxxxxxxxxxxx","userid_list":["zhangsan","lisi"],"department_id_list":[2,3]}`)
		writeJSON(w, `{
			"errcode": 0, "errmsg": "ok",
			"result_list": [
				{"userid": "zhangsan", "errcode": 0, "errmsg": "success"},
				{"userid": "lisi", "errcode": 0, "errmsg": "ignored"},
				{"department_id": 2, "errcode": 0, "errmsg": "success"},
				{"department_id": 3, "errcode": 60123, "errmsg": "invalid party id"}
			]
		}`)
	})
	got, err := c.Servicers.Add(t.Context(), &AddServicersRequest{
		OpenKfID:      "kfxxxxxxxxxxxxxx",
		UserIDs:       []string{"zhangsan", "lisi"},
		DepartmentIDs: []int{2, 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &AddServicersResponse{Results: []ServicerResult{
		{UserID: "zhangsan", ErrMsg: "success"},
		{UserID: "lisi", ErrMsg: "ignored"},
		{DepartmentID: 2, ErrMsg: "success"},
		{DepartmentID: 3, ErrCode: ErrCodeInvalidDepartmentID, ErrMsg: "invalid party id"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Add mismatch (-want +got):\n%s", diff)
	}
	for i, wantIgnored := range []bool{false, true, false, false} {
		if got.Results[i].Ignored() != wantIgnored {
			t.Errorf("Results[%d].Ignored() = %v, want %v", i, !wantIgnored, wantIgnored)
		}
	}
	for i := range 3 {
		if err := got.Results[i].Err(); err != nil {
			t.Errorf("Results[%d].Err() = %v, want nil", i, err)
		}
	}
	itemErr := got.Results[3].Err()
	var ae *APIError
	if !errors.As(itemErr, &ae) || ae.Code != ErrCodeInvalidDepartmentID || ae.Msg != "invalid party id" {
		t.Errorf("Results[3].Err() = %#v, want *APIError with code 60123", itemErr)
	}
	if !errors.Is(itemErr, ErrCodeInvalidDepartmentID) {
		t.Errorf("errors.Is(%v, ErrCodeInvalidDepartmentID) = false", itemErr)
	}
}

func TestServicers_Delete(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/servicer/del", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"open_kfid":"kfxxxxxxxxxxxxxx","userid_list":["zhangsan","lisi"]}`)
		writeJSON(w, `{
			"errcode": 0, "errmsg": "ok",
			"result_list": [
				{"userid": "zhangsan", "errcode": 0, "errmsg": "success"},
				{"userid": "lisi", "errcode": 0, "errmsg": "ignored"}
			]
		}`)
	})
	got, err := c.Servicers.Delete(t.Context(), &DeleteServicersRequest{OpenKfID: "kfxxxxxxxxxxxxxx", UserIDs: []string{"zhangsan", "lisi"}})
	if err != nil {
		t.Fatal(err)
	}
	want := &DeleteServicersResponse{Results: []ServicerResult{
		{UserID: "zhangsan", ErrMsg: "success"},
		{UserID: "lisi", ErrMsg: "ignored"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Delete mismatch (-want +got):\n%s", diff)
	}
}

// servicerBatches serves servicer/add or del: it records each request body
// and answers with one result per id, failing userid "bad" with errcode
// 60011 and, when failCall >= 0, the whole failCall-th call with 95000.
type servicerBatches struct {
	t        *testing.T
	failCall int

	mu   sync.Mutex
	reqs []AddServicersRequest
}

func (b *servicerBatches) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	testMethod(b.t, r, "POST")
	var req AddServicersRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		b.t.Errorf("decode body: %v", err)
	}
	b.mu.Lock()
	call := len(b.reqs)
	b.reqs = append(b.reqs, req)
	b.mu.Unlock()
	if call == b.failCall {
		writeJSON(w, `{"errcode":95000,"errmsg":"invalid open_kfid, hint: [x]"}`)
		return
	}
	var out AddServicersResponse
	for _, u := range req.UserIDs {
		res := ServicerResult{UserID: u, ErrMsg: "success"}
		if u == "bad" {
			res.ErrCode, res.ErrMsg = ErrCodeNoPrivilege, "no privilege to access/modify contact/party/agent"
		}
		out.Results = append(out.Results, res)
	}
	for _, d := range req.DepartmentIDs {
		out.Results = append(out.Results, ServicerResult{DepartmentID: d, ErrMsg: "success"})
	}
	body, _ := json.Marshal(out)
	writeJSON(w, `{"errcode":0,"errmsg":"ok",`+strings.TrimPrefix(string(body), "{"))
}

func (b *servicerBatches) calls() []AddServicersRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]AddServicersRequest(nil), b.reqs...)
}

func servicerUserIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "u" + strconv.Itoa(i)
	}
	return ids
}

func servicerDeptIDs(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i + 1
	}
	return ids
}

func TestServicers_AddBatches(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	b := &servicerBatches{t: t, failCall: -1}
	mux.Handle("/cgi-bin/kf/servicer/add", b)

	users := servicerUserIDs(250)
	users[120] = "bad"
	got, err := c.Servicers.Add(t.Context(), &AddServicersRequest{OpenKfID: "kf", UserIDs: users})
	if err != nil {
		t.Fatal(err)
	}
	want := []AddServicersRequest{
		{OpenKfID: "kf", UserIDs: users[:100]},
		{OpenKfID: "kf", UserIDs: users[100:200]},
		{OpenKfID: "kf", UserIDs: users[200:]},
	}
	if diff := cmp.Diff(want, b.calls()); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	if len(got.Results) != 250 {
		t.Fatalf("%d results, want 250", len(got.Results))
	}
	for i, r := range got.Results {
		if r.UserID != users[i] {
			t.Fatalf("Results[%d].UserID = %q, want %q (results out of order)", i, r.UserID, users[i])
		}
		err := r.Err()
		if i == 120 {
			if !errors.Is(err, ErrCodeNoPrivilege) {
				t.Errorf("Results[120].Err() = %v, want ErrCodeNoPrivilege", err)
			}
		} else if err != nil {
			t.Errorf("Results[%d].Err() = %v, want nil", i, err)
		}
	}
}

func TestServicers_AddBatchesMixed(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	b := &servicerBatches{t: t, failCall: -1}
	mux.Handle("/cgi-bin/kf/servicer/add", b)

	users, depts := servicerUserIDs(150), servicerDeptIDs(45)
	got, err := c.Servicers.Add(t.Context(), &AddServicersRequest{OpenKfID: "kf", UserIDs: users, DepartmentIDs: depts})
	if err != nil {
		t.Fatal(err)
	}
	// add: 100 users and 20 departments per call.
	want := []AddServicersRequest{
		{OpenKfID: "kf", UserIDs: users[:100], DepartmentIDs: depts[:20]},
		{OpenKfID: "kf", UserIDs: users[100:], DepartmentIDs: depts[20:40]},
		{OpenKfID: "kf", DepartmentIDs: depts[40:]},
	}
	if diff := cmp.Diff(want, b.calls()); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	if len(got.Results) != 195 {
		t.Errorf("%d results, want 195", len(got.Results))
	}
}

func TestServicers_DeleteBatches(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	b := &servicerBatches{t: t, failCall: -1}
	mux.Handle("/cgi-bin/kf/servicer/del", b)

	depts := servicerDeptIDs(150)
	got, err := c.Servicers.Delete(t.Context(), &DeleteServicersRequest{OpenKfID: "kf", DepartmentIDs: depts})
	if err != nil {
		t.Fatal(err)
	}
	// del: up to 100 departments per call.
	want := []AddServicersRequest{
		{OpenKfID: "kf", DepartmentIDs: depts[:100]},
		{OpenKfID: "kf", DepartmentIDs: depts[100:]},
	}
	if diff := cmp.Diff(want, b.calls()); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	for i, r := range got.Results {
		if r.DepartmentID != depts[i] {
			t.Fatalf("Results[%d].DepartmentID = %d, want %d", i, r.DepartmentID, depts[i])
		}
	}
}

func TestServicers_BatchFailsMidway(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	b := &servicerBatches{t: t, failCall: 1}
	mux.Handle("/cgi-bin/kf/servicer/add", b)

	users := servicerUserIDs(250)
	got, err := c.Servicers.Add(t.Context(), &AddServicersRequest{OpenKfID: "kf", UserIDs: users})
	if !errors.Is(err, ErrCodeInvalidOpenKfID) {
		t.Fatalf("err = %v, want ErrCodeInvalidOpenKfID", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Op != "kf/servicer/add" {
		t.Errorf("err = %v, want an *APIError of kf/servicer/add", err)
	}
	if got == nil || len(got.Results) != 100 || got.Results[99].UserID != "u99" {
		t.Errorf("partial response = %+v, want the 100 results of the first call", got)
	}
	if n := len(b.calls()); n != 2 {
		t.Errorf("%d calls, want 2 (stop at the failure)", n)
	}
}

func TestServicers_FirstCallFails(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	testAPIError(t, mux, "/cgi-bin/kf/servicer/del", "kf/servicer/del", ErrCodeOpenKfIDNotFound, func() error {
		got, err := c.Servicers.Delete(t.Context(), &DeleteServicersRequest{OpenKfID: "kf", UserIDs: servicerUserIDs(150)})
		if got != nil {
			t.Errorf("response = %+v, want nil when nothing succeeded", got)
		}
		return err
	})
}

func TestServicers_List(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/servicer/list", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "GET")
		testQuery(t, r, url.Values{"open_kfid": {"XXX"}})
		if r.ContentLength > 0 {
			t.Errorf("GET carries a body of %d bytes", r.ContentLength)
		}
		writeJSON(w, `{
			"errcode": 0, "errmsg": "ok",
			"servicer_list": [
				{"userid": "zhangsan", "status": 0},
				{"userid": "lisi", "status": 1, "stop_type": 1},
				{"userid": "wangwu", "status": 1, "stop_type": 0},
				{"userid": "zhaoliu"},
				{"department_id": 2}
			]
		}`)
	})
	got, err := c.Servicers.List(t.Context(), &ListServicersRequest{OpenKfID: "XXX"})
	if err != nil {
		t.Fatal(err)
	}
	status := func(s ServicerStatus) *ServicerStatus { return &s }
	want := &ListServicersResponse{Servicers: []Servicer{
		{UserID: "zhangsan", Status: status(ServicerReceiving)},
		{UserID: "lisi", Status: status(ServicerStopped), StopType: ServicerStopTypeSuspended},
		{UserID: "wangwu", Status: status(ServicerStopped), StopType: ServicerStopTypeStopped},
		{UserID: "zhaoliu"}, // no manage privilege: no status
		{DepartmentID: 2},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List mismatch (-want +got):\n%s", diff)
	}
}

func TestServicers_Validation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		path  string
		call  func(*Client) error
		field string
	}{
		{"add nil", "/cgi-bin/kf/servicer/add", func(c *Client) error { _, err := c.Servicers.Add(t.Context(), nil); return err }, "request"},
		{"add no account", "/cgi-bin/kf/servicer/add", func(c *Client) error {
			_, err := c.Servicers.Add(t.Context(), &AddServicersRequest{UserIDs: []string{"u"}})
			return err
		}, "open_kfid"},
		{"add no ids", "/cgi-bin/kf/servicer/add", func(c *Client) error {
			_, err := c.Servicers.Add(t.Context(), &AddServicersRequest{OpenKfID: "kf", UserIDs: []string{}})
			return err
		}, "userid_list"},
		{"add empty user", "/cgi-bin/kf/servicer/add", func(c *Client) error {
			_, err := c.Servicers.Add(t.Context(), &AddServicersRequest{OpenKfID: "kf", UserIDs: []string{"a", ""}})
			return err
		}, "userid_list"},
		{"add department 0", "/cgi-bin/kf/servicer/add", func(c *Client) error {
			_, err := c.Servicers.Add(t.Context(), &AddServicersRequest{OpenKfID: "kf", DepartmentIDs: []int{1, 0}})
			return err
		}, "department_id_list"},
		{"add empty user in a later chunk", "/cgi-bin/kf/servicer/add", func(c *Client) error {
			users := servicerUserIDs(150)
			users[140] = ""
			_, err := c.Servicers.Add(t.Context(), &AddServicersRequest{OpenKfID: "kf", UserIDs: users})
			return err
		}, "userid_list"},
		{"del nil", "/cgi-bin/kf/servicer/del", func(c *Client) error { _, err := c.Servicers.Delete(t.Context(), nil); return err }, "request"},
		{"del no ids", "/cgi-bin/kf/servicer/del", func(c *Client) error {
			_, err := c.Servicers.Delete(t.Context(), &DeleteServicersRequest{OpenKfID: "kf"})
			return err
		}, "userid_list"},
		{"del negative department", "/cgi-bin/kf/servicer/del", func(c *Client) error {
			_, err := c.Servicers.Delete(t.Context(), &DeleteServicersRequest{OpenKfID: "kf", DepartmentIDs: []int{-2}})
			return err
		}, "department_id_list"},
		{"del id too long", "/cgi-bin/kf/servicer/del", func(c *Client) error {
			_, err := c.Servicers.Delete(t.Context(), &DeleteServicersRequest{OpenKfID: strings.Repeat("k", 65), UserIDs: []string{"u"}})
			return err
		}, "open_kfid"},
		{"list nil", "/cgi-bin/kf/servicer/list", func(c *Client) error { _, err := c.Servicers.List(t.Context(), nil); return err }, "request"},
		{"list no account", "/cgi-bin/kf/servicer/list", func(c *Client) error {
			_, err := c.Servicers.List(t.Context(), &ListServicersRequest{})
			return err
		}, "open_kfid"},
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

func TestServicers_APIError(t *testing.T) {
	t.Parallel()
	t.Run("add", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/servicer/add", "kf/servicer/add", ErrCodeInvalidOpenKfID, func() error {
			_, err := c.Servicers.Add(t.Context(), &AddServicersRequest{OpenKfID: "kf", UserIDs: []string{"u"}})
			return err
		})
	})
	t.Run("list", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/servicer/list", "kf/servicer/list", ErrCodeOpenKfIDNotFound, func() error {
			_, err := c.Servicers.List(t.Context(), &ListServicersRequest{OpenKfID: "kf"})
			return err
		})
	})
}

func TestServicerEnumStrings(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{ServicerReceiving.String(), "receiving"},
		{ServicerStopped.String(), "stopped"},
		{ServicerStatus(7).String(), "ServicerStatus(7)"},
		{ServicerStopTypeStopped.String(), "stopped"},
		{ServicerStopTypeSuspended.String(), "suspended"},
		{ServicerStopType(9).String(), "ServicerStopType(9)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
}
