package kftest_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
)

func TestAdminStatistics(t *testing.T) {
	t.Parallel()
	s, c := adminServer(t, kftest.WithSeed(adminCustomerSeed()))
	ctx := t.Context()
	send := func(who, text string) {
		t.Helper()
		if _, err := s.CustomerSend("wkcs", who, kftest.CustomerText(text)); err != nil {
			t.Fatal(err)
		}
	}
	// 2025-03-10 (adminT0 is 12:00 CST): two sessions, two customers, four
	// customer messages; sam takes X's session and sees two of them.
	send("wmx", "1")
	if _, err := s.ServicerAccept("wkcs", "wmx", "sam"); err != nil {
		t.Fatal(err)
	}
	send("wmx", "2")
	send("wmx", "3")
	send("wmy", "1")

	day := kf.StatDay(2025, 3, 10)
	corp := func(start, end time.Time) []kf.CorpStatisticItem {
		t.Helper()
		out, err := c.Stats.Corp(ctx, &kf.CorpStatisticRequest{OpenKfID: "wkcs", StartTime: start, EndTime: end})
		if err != nil {
			t.Fatal(err)
		}
		return out.StatisticList
	}
	// Today's numbers are not available yet.
	if got := corp(day, day); len(got) != 1 || got[0].Statistic != nil || !got[0].StatTime.Equal(day) {
		t.Fatalf("today = %+v", got)
	}
	// Nor at 05:59 the next day; from 06:00 they are.
	s.SetTime(day.Add(24*time.Hour + 6*time.Hour - time.Minute))
	if got := corp(day, day); got[0].Statistic != nil {
		t.Fatalf("at 05:59 the next day: %+v", got[0].Statistic)
	}
	s.Advance(time.Minute)
	wantDay := &kf.CorpStatistic{SessionCnt: 2, CustomerCnt: 2, CustomerMsgCnt: 4}
	got := corp(day.AddDate(0, 0, -1), day.AddDate(0, 0, 1))
	if len(got) != 3 {
		t.Fatalf("3-day range = %+v", got)
	}
	for i, it := range got {
		if want := day.AddDate(0, 0, i-1); !it.StatTime.Equal(want) {
			t.Errorf("item %d stat_time = %v, want %v", i, it.StatTime, want)
		}
	}
	if got[0].Statistic != nil || got[2].Statistic != nil {
		t.Errorf("days without data carry statistics: %+v, %+v", got[0].Statistic, got[2].Statistic)
	}
	if diff := cmp.Diff(wantDay, got[1].Statistic); diff != "" {
		t.Errorf("corp statistic (-want +got):\n%s", diff)
	}
	// Times within a day are floored to its 00:00 (UTC+8).
	if got := corp(day.Add(13*time.Hour+45*time.Minute), day.Add(23*time.Hour)); len(got) != 1 || !got[0].StatTime.Equal(day) || got[0].Statistic == nil {
		t.Errorf("floored range = %+v", got)
	}

	servicer := func(userID string) *kf.ServicerStatistic {
		t.Helper()
		out, err := c.Stats.Servicer(ctx, &kf.ServicerStatisticRequest{OpenKfID: "wkcs", ServicerUserID: userID, StartTime: day, EndTime: day})
		if err != nil {
			t.Fatal(err)
		}
		return out.StatisticList[0].Statistic
	}
	wantSam := &kf.ServicerStatistic{SessionCnt: 1, CustomerCnt: 1, CustomerMsgCnt: 2}
	if diff := cmp.Diff(wantSam, servicer("sam")); diff != "" {
		t.Errorf("sam (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantSam, servicer("")); diff != "" {
		t.Errorf("all servicers (-want +got):\n%s", diff)
	}
	if st := servicer("vip"); st != nil {
		t.Errorf("a member without sessions: %+v", st)
	}
	_, err := c.Stats.Servicer(ctx, &kf.ServicerStatisticRequest{OpenKfID: "wkcs", ServicerUserID: "ghost", StartTime: day, EndTime: day})
	wantCode(t, err, kf.ErrCodeUserIDNotFound)

	// Range rules. Today is 2025-03-11: the oldest day is 180 days back.
	today := kf.StatDay(2025, 3, 11)
	_, err = c.Stats.Corp(ctx, &kf.CorpStatisticRequest{OpenKfID: "wkcs", StartTime: today.AddDate(0, 0, -181), EndTime: today.AddDate(0, 0, -170)})
	wantCode(t, err, kf.ErrCodeInvalidParameter)
	if _, err := c.Stats.Corp(ctx, &kf.CorpStatisticRequest{OpenKfID: "wkcs", StartTime: today.AddDate(0, 0, -180), EndTime: today.AddDate(0, 0, -170)}); err != nil {
		t.Errorf("180 days back: %v", err)
	}
	_, err = c.Stats.Corp(ctx, &kf.CorpStatisticRequest{OpenKfID: "wkghost", StartTime: day, EndTime: day})
	wantCode(t, err, kf.ErrCodeOpenKfIDNotFound)
	body := func(open string, start, end time.Time) string {
		return fmt.Sprintf(`{"open_kfid":%q,"start_time":%d,"end_time":%d}`, open, start.Unix(), end.Unix())
	}
	for name, tc := range map[string]struct {
		path, body string
		want       kf.ErrCode
	}{
		"32 days":           {"/cgi-bin/kf/get_corp_statistic", body("wkcs", day.AddDate(0, 0, -31), day), kf.ErrCodeInvalidParameter},
		"31 days":           {"/cgi-bin/kf/get_corp_statistic", body("wkcs", day.AddDate(0, 0, -30), day.Add(23*time.Hour)), 0},
		"end before start":  {"/cgi-bin/kf/get_corp_statistic", body("wkcs", day, day.AddDate(0, 0, -1)), kf.ErrCodeInvalidParameter},
		"no open_kfid":      {"/cgi-bin/kf/get_corp_statistic", body("", day, day), kf.ErrCodeInvalidOpenKfID},
		"no start_time":     {"/cgi-bin/kf/get_corp_statistic", `{"open_kfid":"wkcs","end_time":1}`, kf.ErrCodeParameterEmpty},
		"servicer 32 days":  {"/cgi-bin/kf/get_servicer_statistic", body("wkcs", day.AddDate(0, 0, -31), day), kf.ErrCodeInvalidParameter},
		"servicer no kfid":  {"/cgi-bin/kf/get_servicer_statistic", body("", day, day), kf.ErrCodeInvalidOpenKfID},
		"servicer over 180": {"/cgi-bin/kf/get_servicer_statistic", body("wkcs", today.AddDate(0, 0, -181), today.AddDate(0, 0, -181)), kf.ErrCodeInvalidParameter},
	} {
		if code, reply := adminRaw(t, s, http.MethodPost, tc.path, "", tc.body); code != tc.want {
			t.Errorf("%s: errcode %d, want %d (%v)", name, int(code), int(tc.want), reply["errmsg"])
		}
	}
}
