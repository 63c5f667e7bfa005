package kftest_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
)

func adminCustomerSeed() kftest.Seed {
	return kftest.Seed{
		Accounts: []kftest.SeedAccount{{OpenKfID: "wkcs", Name: "cs", Servicers: []string{"sam"}}, {OpenKfID: "wkcs2", Name: "cs2"}},
		Members:  []kftest.SeedMember{{UserID: "sam"}, {UserID: "vip"}, {UserID: "outsider"}},
		Customers: []kftest.SeedCustomer{
			{ExternalUserID: "wmx", Nickname: "X", Avatar: "https://a/x", Gender: 2, UnionID: "ounion-x"},
			{ExternalUserID: "wmy", Nickname: "Y"},
			{ExternalUserID: "wmz", Nickname: "Z"},
		},
		UpgradeMembers:     []string{"vip"},
		UpgradeDepartments: []int{3},
		UpgradeGroupChats:  []string{"wrchat1"},
	}
}

func TestAdminBatchGet48h(t *testing.T) {
	t.Parallel()
	s, c := adminServer(t, kftest.WithSeed(adminCustomerSeed()))
	ctx := t.Context()
	if _, err := s.EnterSession("wkcs", "wmx", kftest.EnterOptions{Scene: "qr", SceneParam: "shop=1",
		WeChatChannels: &kftest.WeChatChannelsInfo{Nickname: "chan", Scene: 1}}); err != nil {
		t.Fatal(err)
	}
	s.Advance(time.Hour)
	if _, err := s.CustomerSend("wkcs2", "wmy", kftest.CustomerText("hello")); err != nil {
		t.Fatal(err)
	}
	req := &kf.BatchGetCustomersRequest{ExternalUserIDs: []string{"wmx", "wmy", "wmz", "wmghost", "wmx"}, NeedEnterSessionContext: true}
	got, err := c.Customers.BatchGet(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := &kf.BatchGetCustomersResponse{
		Customers: []kf.Customer{
			{ExternalUserID: "wmx", Nickname: "X", Avatar: "https://a/x", Gender: kf.GenderFemale, UnionID: "ounion-x",
				EnterSessionContext: &kf.EnterSessionContext{Scene: "qr", SceneParam: "shop=1",
					WeChatChannels: &kf.WeChatChannels{Nickname: "chan", Scene: kf.WeChatChannelsSceneHome}}},
			{ExternalUserID: "wmy", Nickname: "Y"},
		},
		InvalidExternalUserIDs: []string{"wmz", "wmghost"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batchget (-want +got):\n%s", diff)
	}
	// Without need_enter_session_context, no context.
	got, _ = c.Customers.BatchGet(ctx, &kf.BatchGetCustomersRequest{ExternalUserIDs: []string{"wmx"}})
	if len(got.Customers) != 1 || got.Customers[0].EnterSessionContext != nil {
		t.Errorf("without context = %+v", got.Customers)
	}
	// Exactly 48 h after entering X is still valid; a second later it is
	// not, while Y (who wrote an hour later) stays until its own 48 h pass.
	valid := func() []string {
		t.Helper()
		got, err := c.Customers.BatchGet(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, cu := range got.Customers {
			ids = append(ids, cu.ExternalUserID)
		}
		return ids
	}
	s.Advance(47 * time.Hour)
	if got := valid(); !cmp.Equal(got, []string{"wmx", "wmy"}) {
		t.Errorf("at 48 h: %v", got)
	}
	s.Advance(time.Second)
	if got := valid(); !cmp.Equal(got, []string{"wmy"}) {
		t.Errorf("at 48 h + 1 s: %v", got)
	}
	s.Advance(time.Hour)
	if got := valid(); len(got) != 0 {
		t.Errorf("at 49 h + 1 s: %v", got)
	}

	var ids []string
	for i := range 101 {
		ids = append(ids, fmt.Sprintf("%q", fmt.Sprint("wm", i)))
	}
	for body, want := range map[string]kf.ErrCode{
		`{"external_userid_list":[` + strings.Join(ids, ",") + `]}`:     kf.ErrCodeInvalidParameter,
		`{"external_userid_list":[` + strings.Join(ids[1:], ",") + `]}`: 0,
		`{"external_userid_list":[]}`:                                   kf.ErrCodeParameterEmpty,
	} {
		if code, _ := adminRaw(t, s, http.MethodPost, "/cgi-bin/kf/customer/batchget", "", body); code != want {
			t.Errorf("batchget %.40s…: errcode %d, want %d", body, int(code), int(want))
		}
	}
}

func TestAdminUpgradeService(t *testing.T) {
	t.Parallel()
	s, c := adminServer(t, kftest.WithSeed(adminCustomerSeed()))
	ctx := t.Context()
	cfg, err := c.Customers.UpgradeServiceConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := &kf.UpgradeServiceConfigResponse{
		MemberRange:    kf.MemberRange{UserIDs: []string{"vip"}, DepartmentIDs: []int{3}},
		GroupChatRange: kf.GroupChatRange{ChatIDs: []string{"wrchat1"}},
	}
	if diff := cmp.Diff(wantCfg, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}

	// The customer must have consulted within 48 h.
	err = c.Customers.UpgradeService(ctx, kf.MemberUpgrade("wkcs", "wmx", "vip", "our VIP desk"))
	wantCode(t, err, kf.ErrCodeCustomerNotConsulted)
	if _, err := s.CustomerSend("wkcs", "wmx", kftest.CustomerText("help")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ServicerAccept("wkcs", "wmx", "sam"); err != nil {
		t.Fatal(err)
	}
	if err := c.Customers.UpgradeService(ctx, kf.MemberUpgrade("wkcs", "wmx", "vip", "our VIP desk")); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.UpgradeRecommendation("wkcs", "wmx"); !ok || got != (kftest.Upgrade{Type: kf.UpgradeTypeMember, UserID: "vip", Wording: "our VIP desk"}) {
		t.Errorf("recommendation = %+v, %v", got, ok)
	}
	if err := c.Customers.UpgradeService(ctx, kf.GroupChatUpgrade("wkcs", "wmx", "wrchat1", "join us")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UpgradeRecommendation("wkcs", "wmx"); got != (kftest.Upgrade{Type: kf.UpgradeTypeGroupChat, ChatID: "wrchat1", Wording: "join us"}) {
		t.Errorf("recommendation = %+v", got)
	}

	for name, tc := range map[string]struct {
		req  *kf.UpgradeServiceRequest
		want kf.ErrCode
	}{
		"member out of range":  {kf.MemberUpgrade("wkcs", "wmx", "outsider", ""), kf.ErrCodeNoPrivilege},
		"member unknown":       {kf.MemberUpgrade("wkcs", "wmx", "ghost", ""), kf.ErrCodeUserIDNotFound},
		"chat not configured":  {kf.GroupChatUpgrade("wkcs", "wmx", "wrchat2", ""), kf.ErrCodeInvalidParameter},
		"customer unknown":     {kf.MemberUpgrade("wkcs", "wmghost", "vip", ""), kf.ErrCodeInvalidExternalUserID},
		"customer of other kf": {kf.MemberUpgrade("wkcs2", "wmx", "vip", ""), kf.ErrCodeCustomerNotConsulted},
		"account unknown":      {kf.MemberUpgrade("wkghost", "wmx", "vip", ""), kf.ErrCodeOpenKfIDNotFound},
	} {
		if err := c.Customers.UpgradeService(ctx, tc.req); !errMatches(err, tc.want) {
			t.Errorf("%s: err = %v, want errcode %d", name, err, int(tc.want))
		}
	}
	if code, _ := adminRaw(t, s, http.MethodPost, "/cgi-bin/kf/customer/upgrade_service", "",
		`{"open_kfid":"wkcs","external_userid":"wmx","type":3}`); code != kf.ErrCodeInvalidParameter {
		t.Errorf("type 3: errcode %d, want 40058", int(code))
	}

	cancel := &kf.CancelUpgradeServiceRequest{OpenKfID: "wkcs", ExternalUserID: "wmx"}
	if err := c.Customers.CancelUpgradeService(ctx, cancel); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.UpgradeRecommendation("wkcs", "wmx"); ok {
		t.Errorf("after cancel: %+v", got)
	}
	if err := c.Customers.CancelUpgradeService(ctx, cancel); err != nil {
		t.Errorf("second cancel: %v", err)
	}
	wantCode(t, c.Customers.CancelUpgradeService(ctx, &kf.CancelUpgradeServiceRequest{OpenKfID: "wkcs", ExternalUserID: "wmghost"}),
		kf.ErrCodeInvalidExternalUserID)

	// Both recommendations count in the next day's statistics: one
	// customer, one member and one group-chat invitation, on the account
	// and for the servicer holding the session.
	s.Advance(24 * time.Hour)
	day := kf.StatDay(2025, 3, 10)
	corp, err := c.Stats.Corp(ctx, &kf.CorpStatisticRequest{OpenKfID: "wkcs", StartTime: day, EndTime: day})
	if err != nil {
		t.Fatal(err)
	}
	if st := corp.StatisticList[0].Statistic; st == nil || st.UpgradeServiceCustomerCnt != 1 {
		t.Errorf("corp statistic = %+v", st)
	}
	svc, err := c.Stats.Servicer(ctx, &kf.ServicerStatisticRequest{OpenKfID: "wkcs", ServicerUserID: "sam", StartTime: day, EndTime: day})
	if err != nil {
		t.Fatal(err)
	}
	st := svc.StatisticList[0].Statistic
	if st == nil || st.UpgradeServiceCustomerCnt != 1 || st.UpgradeServiceMemberInviteCnt != 1 || st.UpgradeServiceMemberCustomerCnt != 1 ||
		st.UpgradeServiceGroupChatInviteCnt != 1 || st.UpgradeServiceGroupChatCustomerCnt != 1 {
		t.Errorf("servicer statistic = %+v", st)
	}
}

func errMatches(err error, code kf.ErrCode) bool {
	if code == 0 {
		return err == nil
	}
	return errors.Is(err, code)
}

func TestAdminCorpQualification(t *testing.T) {
	t.Parallel()
	for _, bound := range []bool{false, true} {
		_, c := adminServer(t, kftest.WithSeed(kftest.Seed{WeChatChannelsBinding: bound}))
		q, err := c.Stats.Qualification(t.Context())
		if err != nil || q.WeChatChannelsBinding != bound {
			t.Errorf("qualification = %+v, %v; want %v", q, err, bound)
		}
	}
}

// A seeded customer with a short id and no nickname gets a generated
// nickname (this used to panic).
func TestSeedShortCustomerID(t *testing.T) {
	t.Parallel()
	s := kftest.NewServer(t, kftest.WithSeed(kftest.Seed{Customers: []kftest.SeedCustomer{{ExternalUserID: "w1"}}}))
	id, err := s.AddCustomer(kftest.SeedCustomer{ExternalUserID: "w2"})
	if err != nil || id != "w2" {
		t.Fatalf("AddCustomer = %q, %v", id, err)
	}
}
