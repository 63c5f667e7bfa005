package kftest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
)

func adminServicerSeed() kftest.Seed {
	return kftest.Seed{
		Members: []kftest.SeedMember{
			{UserID: "alice"}, {UserID: "bob", NotActivated: true}, {UserID: "carol", Suspended: true}, {UserID: "dave"},
		},
		Accounts: []kftest.SeedAccount{
			{OpenKfID: "wksvc", Name: "svc"},
			{OpenKfID: "wkother", Name: "other", Servicers: []string{"alice", "carol"}, Unmanaged: true},
		},
	}
}

func TestAdminServicerAddDelete(t *testing.T) {
	t.Parallel()
	_, c := adminServer(t, kftest.WithSeed(adminServicerSeed()))
	ctx := t.Context()
	add, err := c.Servicers.Add(ctx, &kf.AddServicersRequest{
		OpenKfID: "wksvc", UserIDs: []string{"alice", "bob", "ghost", "carol", "alice"}, DepartmentIDs: []int{7, 8},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []kf.ServicerResult{
		{UserID: "alice", ErrMsg: "success"},
		{UserID: "bob", ErrCode: kf.ErrCodeNotServicer, ErrMsg: "user not activated"},
		{UserID: "ghost", ErrCode: kf.ErrCodeUserIDNotFound, ErrMsg: "userid not exist"},
		{UserID: "carol", ErrMsg: "success"},
		{UserID: "alice", ErrMsg: "ignored"},
		{DepartmentID: 7, ErrMsg: "success"},
		{DepartmentID: 8, ErrMsg: "success"},
	}
	if diff := cmp.Diff(want, add.Results); diff != "" {
		t.Fatalf("add results (-want +got):\n%s", diff)
	}
	if !add.Results[4].Ignored() || add.Results[2].Err() == nil {
		t.Error("Ignored/Err disagree with the items")
	}
	again, err := c.Servicers.Add(ctx, &kf.AddServicersRequest{OpenKfID: "wksvc", UserIDs: []string{"alice"}, DepartmentIDs: []int{7}})
	if err != nil || !again.Results[0].Ignored() || !again.Results[1].Ignored() {
		t.Fatalf("re-add = %+v, %v", again, err)
	}

	list, err := c.Servicers.List(ctx, &kf.ListServicersRequest{OpenKfID: "wksvc"})
	if err != nil {
		t.Fatal(err)
	}
	receiving, stopped := kf.ServicerReceiving, kf.ServicerStopped
	wantList := []kf.Servicer{
		{UserID: "alice", Status: &receiving},
		{UserID: "carol", Status: &stopped, StopType: kf.ServicerStopTypeSuspended},
		{DepartmentID: 7}, {DepartmentID: 8},
	}
	if diff := cmp.Diff(wantList, list.Servicers); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	// An app without manage privilege sees no status.
	other, err := c.Servicers.List(ctx, &kf.ListServicersRequest{OpenKfID: "wkother"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]kf.Servicer{{UserID: "alice"}, {UserID: "carol"}}, other.Servicers); diff != "" {
		t.Errorf("unmanaged list (-want +got):\n%s", diff)
	}
	_, err = c.Servicers.Add(ctx, &kf.AddServicersRequest{OpenKfID: "wkother", UserIDs: []string{"dave"}})
	wantCode(t, err, kf.ErrCodeAPIForbidden)

	del, err := c.Servicers.Delete(ctx, &kf.DeleteServicersRequest{
		OpenKfID: "wksvc", UserIDs: []string{"alice", "ghost", "dave"}, DepartmentIDs: []int{8, 9},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantDel := []kf.ServicerResult{
		{UserID: "alice", ErrMsg: "success"},
		{UserID: "ghost", ErrCode: kf.ErrCodeUserIDNotFound, ErrMsg: "userid not exist"},
		{UserID: "dave", ErrMsg: "ignored"},
		{DepartmentID: 8, ErrMsg: "success"},
		{DepartmentID: 9, ErrMsg: "ignored"},
	}
	if diff := cmp.Diff(wantDel, del.Results); diff != "" {
		t.Errorf("delete results (-want +got):\n%s", diff)
	}
	list, _ = c.Servicers.List(ctx, &kf.ListServicersRequest{OpenKfID: "wksvc"})
	if diff := cmp.Diff([]kf.Servicer{{UserID: "carol", Status: &stopped, StopType: kf.ServicerStopTypeSuspended}, {DepartmentID: 7}}, list.Servicers); diff != "" {
		t.Errorf("list after delete (-want +got):\n%s", diff)
	}

	_, err = c.Servicers.List(ctx, &kf.ListServicersRequest{OpenKfID: "wkghost"})
	wantCode(t, err, kf.ErrCodeOpenKfIDNotFound)
	_, err = c.Servicers.Add(ctx, &kf.AddServicersRequest{OpenKfID: "wkghost", UserIDs: []string{"alice"}})
	wantCode(t, err, kf.ErrCodeOpenKfIDNotFound)
}

func TestAdminServicerLimits(t *testing.T) {
	t.Parallel()
	seed := adminServicerSeed()
	var many []string
	for i := range 250 {
		id := fmt.Sprintf("m%03d", i)
		many = append(many, id)
		seed.Members = append(seed.Members, kftest.SeedMember{UserID: id})
	}
	s, c := adminServer(t, kftest.WithSeed(seed))
	body := func(users []string, depts int) string {
		d := make([]int, depts)
		for i := range d {
			d[i] = i + 1
		}
		b, _ := json.Marshal(map[string]any{"open_kfid": "wksvc", "userid_list": users, "department_id_list": d})
		return string(b)
	}
	for _, tc := range []struct {
		path  string
		users []string
		depts int
		want  kf.ErrCode
	}{
		{"/cgi-bin/kf/servicer/add", many[:101], 0, kf.ErrCodeInvalidParameter},
		{"/cgi-bin/kf/servicer/add", nil, 21, kf.ErrCodeInvalidParameter},
		{"/cgi-bin/kf/servicer/add", many[:100], 20, 0},
		{"/cgi-bin/kf/servicer/del", nil, 101, kf.ErrCodeInvalidParameter},
		{"/cgi-bin/kf/servicer/del", many[:101], 0, kf.ErrCodeInvalidParameter},
		{"/cgi-bin/kf/servicer/del", many[:100], 100, 0},
	} {
		if got, reply := adminRaw(t, s, http.MethodPost, tc.path, "", body(tc.users, tc.depts)); got != tc.want {
			t.Errorf("%s with %d users, %d departments: errcode %d, want %d (%v)", tc.path, len(tc.users), tc.depts, int(got), int(tc.want), reply["errmsg"])
		}
	}
	for _, b := range []string{`{"open_kfid":"wksvc"}`, `{"open_kfid":"wksvc","userid_list":[""]}`} {
		if got, _ := adminRaw(t, s, http.MethodPost, "/cgi-bin/kf/servicer/add", "", b); got != kf.ErrCodeParameterEmpty {
			t.Errorf("%s: errcode %d, want 40063", b, int(got))
		}
	}

	// The client splits 250 users into calls of 100, 100 and 50.
	before := s.Calls()["/cgi-bin/kf/servicer/add"]
	res, err := c.Servicers.Add(t.Context(), &kf.AddServicersRequest{OpenKfID: "wksvc", UserIDs: many})
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Calls()["/cgi-bin/kf/servicer/add"] - before; n != 3 || len(res.Results) != 250 {
		t.Fatalf("%d calls, %d results; want 3 and 250", n, len(res.Results))
	}
	for i, r := range res.Results {
		if r.Err() != nil || r.UserID != many[i] {
			t.Fatalf("item %d = %+v", i, r)
		}
	}
}

func TestAdminServicerQuota(t *testing.T) {
	t.Parallel()
	_, c := adminServer(t, kftest.WithSeed(adminServicerSeed()), kftest.WithQuotas(kftest.Quotas{ServicerUsers: 2, ServicerDepartments: 1}))
	res, err := c.Servicers.Add(t.Context(), &kf.AddServicersRequest{
		OpenKfID: "wksvc", UserIDs: []string{"alice", "carol", "dave"}, DepartmentIDs: []int{1, 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	var codes []kf.ErrCode
	for _, r := range res.Results {
		codes = append(codes, r.ErrCode)
	}
	want := []kf.ErrCode{0, 0, kf.ErrCodeAccountCountLimit, 0, kf.ErrCodeAccountCountLimit}
	if diff := cmp.Diff(want, codes); diff != "" {
		t.Errorf("item codes (-want +got):\n%s", diff)
	}
	if msg := res.Results[2].ErrMsg; !strings.Contains(msg, "limit 2") {
		t.Errorf("errmsg = %q", msg)
	}
}
