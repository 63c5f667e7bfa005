package kf

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func statFloat(f float64) *float64 { return &f }

func TestStatsCorp(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/get_corp_statistic", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"open_kfid":"wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw","start_time":1645545600,"end_time":1645718400}`)
		writeJSON(w, `{
			"errcode": 0,
			"errmsg": "ok",
			"statistic_list": [
				{
					"stat_time": 1645545600,
					"statistic": {
						"session_cnt": 2,
						"customer_cnt": 1,
						"customer_msg_cnt": 6,
						"upgrade_service_customer_cnt": 3,
						"ai_session_reply_cnt": 1,
						"ai_transfer_rate": 0.5,
						"ai_knowledge_hit_rate": 0.25,
						"msg_rejected_customer_cnt": 4
					}
				},
				{
					"stat_time": 1645632000,
					"statistic": {
						"session_cnt": 1,
						"customer_cnt": 1,
						"customer_msg_cnt": 0,
						"upgrade_service_customer_cnt": 0,
						"ai_session_reply_cnt": 0,
						"ai_transfer_rate": 0,
						"msg_rejected_customer_cnt": 0
					}
				},
				{"stat_time": 1645718400}
			]
		}`)
	})
	got, err := c.Stats.Corp(t.Context(), &CorpStatisticRequest{
		OpenKfID:  "wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw",
		StartTime: StatDay(2022, 2, 23),
		EndTime:   StatDay(2022, 2, 25),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &CorpStatisticResponse{StatisticList: []CorpStatisticItem{
		{StatTime: time.Unix(1645545600, 0), Statistic: &CorpStatistic{
			SessionCnt: 2, CustomerCnt: 1, CustomerMsgCnt: 6, UpgradeServiceCustomerCnt: 3,
			AISessionReplyCnt: 1, AITransferRate: statFloat(0.5), AIKnowledgeHitRate: statFloat(0.25),
			MsgRejectedCustomerCnt: 4,
		}},
		// ai_transfer_rate reported as 0, ai_knowledge_hit_rate absent.
		{StatTime: time.Unix(1645632000, 0), Statistic: &CorpStatistic{
			SessionCnt: 1, CustomerCnt: 1, AITransferRate: statFloat(0),
		}},
		// statistic omitted: no data for the day.
		{StatTime: time.Unix(1645718400, 0)},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Corp mismatch (-want +got):\n%s", diff)
	}
	// StatTime is 00:00 in the platform's zone, whatever the local zone.
	if s := got.StatisticList[0].StatTime.Format("2006-01-02 15:04"); s != "2022-02-23 00:00" {
		t.Errorf("StatTime formats as %q, want 2022-02-23 00:00", s)
	}
}

func TestStatsServicer(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/get_servicer_statistic", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"open_kfid":"wkAJ2G","servicer_userid":"zhangsan","start_time":1645545600,"end_time":1645545600}`)
		writeJSON(w, `{
			"errcode": 0,
			"errmsg": "ok",
			"statistic_list": [
				{
					"stat_time": 1645545600,
					"statistic": {
						"session_cnt": 10,
						"customer_cnt": 8,
						"customer_msg_cnt": 30,
						"reply_rate": 0.9,
						"first_reply_average_sec": 12.5,
						"satisfaction_investgate_cnt": 5,
						"satisfaction_participation_rate": 0.8,
						"satisfied_rate": 0.75,
						"middling_rate": 0.25,
						"dissatisfied_rate": 0,
						"upgrade_service_customer_cnt": 2,
						"upgrade_service_member_invite_cnt": 3,
						"upgrade_service_member_customer_cnt": 1,
						"upgrade_service_groupchat_invite_cnt": 4,
						"upgrade_service_groupchat_customer_cnt": 2,
						"msg_rejected_customer_cnt": 1
					}
				}
			]
		}`)
	})
	day := StatDay(2022, 2, 23)
	got, err := c.Stats.Servicer(t.Context(), &ServicerStatisticRequest{
		OpenKfID: "wkAJ2G", ServicerUserID: "zhangsan", StartTime: day, EndTime: day,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &ServicerStatisticResponse{StatisticList: []ServicerStatisticItem{{
		StatTime: day,
		Statistic: &ServicerStatistic{
			SessionCnt: 10, CustomerCnt: 8, CustomerMsgCnt: 30,
			ReplyRate: statFloat(0.9), FirstReplyAverageSec: statFloat(12.5),
			SatisfactionInvestigateCnt: 5, SatisfactionParticipationRate: statFloat(0.8),
			SatisfiedRate: statFloat(0.75), MiddlingRate: statFloat(0.25), DissatisfiedRate: statFloat(0),
			UpgradeServiceCustomerCnt: 2, UpgradeServiceMemberInviteCnt: 3, UpgradeServiceMemberCustomerCnt: 1,
			UpgradeServiceGroupChatInviteCnt: 4, UpgradeServiceGroupChatCustomerCnt: 2,
			MsgRejectedCustomerCnt: 1,
		},
	}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Servicer mismatch (-want +got):\n%s", diff)
	}
}

func TestStatsServicerAggregateOmitsUserID(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/get_servicer_statistic", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testJSONBody(t, r, `{"open_kfid":"kf1","start_time":1645545600,"end_time":1645632000}`)
		// Rates omitted: nothing to compute.
		writeJSON(w, `{"errcode":0,"errmsg":"ok","statistic_list":[{"stat_time":1645545600,"statistic":{"session_cnt":0}}]}`)
	})
	got, err := c.Stats.Servicer(t.Context(), &ServicerStatisticRequest{
		OpenKfID: "kf1", StartTime: StatDay(2022, 2, 23), EndTime: StatDay(2022, 2, 24),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &ServicerStatisticResponse{StatisticList: []ServicerStatisticItem{{
		StatTime: StatDay(2022, 2, 23), Statistic: &ServicerStatistic{},
	}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestStatsQualification(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		want bool
	}{
		{`{"errcode":0,"errmsg":"ok","wechat_channels_binding":true}`, true},
		{`{"errcode":0,"errmsg":"ok","wechat_channels_binding":false}`, false},
	} {
		mux, c := setup(t)
		mux.HandleFunc("/cgi-bin/kf/get_corp_qualification", func(w http.ResponseWriter, r *http.Request) {
			testMethod(t, r, "GET")
			testQuery(t, r, url.Values{})
			writeJSON(w, tc.body)
		})
		got, err := c.Stats.Qualification(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&CorpQualification{WeChatChannelsBinding: tc.want}, got); diff != "" {
			t.Errorf("Qualification mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestStatsValidation(t *testing.T) {
	t.Parallel()
	cst := statZone()
	may1 := time.Date(2024, 5, 1, 0, 0, 0, 0, cst)
	tests := []struct {
		name       string
		req        *CorpStatisticRequest
		field, msg string
	}{
		{"nil", nil, "request", "nil"},
		{"no open_kfid", &CorpStatisticRequest{StartTime: may1, EndTime: may1}, "open_kfid", "required"},
		{"long open_kfid", &CorpStatisticRequest{OpenKfID: strings.Repeat("k", 65), StartTime: may1, EndTime: may1}, "open_kfid", "64"},
		{"no start", &CorpStatisticRequest{OpenKfID: "kf", EndTime: may1}, "start_time", "required"},
		{"no end", &CorpStatisticRequest{OpenKfID: "kf", StartTime: may1}, "end_time", "required"},
		{"end before start", &CorpStatisticRequest{OpenKfID: "kf", StartTime: may1, EndTime: may1.Add(-time.Second)}, "end_time", "before"},
		{"32 days", &CorpStatisticRequest{OpenKfID: "kf", StartTime: may1, EndTime: time.Date(2024, 6, 1, 0, 0, 0, 0, cst)}, "end_time", "32 days"},
		{"32 days from late start", &CorpStatisticRequest{OpenKfID: "kf", StartTime: may1.Add(23 * time.Hour), EndTime: time.Date(2024, 6, 1, 0, 0, 0, 0, cst)}, "end_time", "32 days"},
		// Midnight UTC of May 1 is 08:00 CST on May 1; 16:00 UTC of May 31
		// is 00:00 CST on June 1, so the closed interval holds 32 days.
		{"utc instants", &CorpStatisticRequest{OpenKfID: "kf", StartTime: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), EndTime: time.Date(2024, 5, 31, 16, 0, 0, 0, time.UTC)}, "end_time", "32 days"},
		{"before 1970", &CorpStatisticRequest{OpenKfID: "kf", StartTime: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), EndTime: may1}, "start_time", "uint32"},
		{"after 2106", &CorpStatisticRequest{OpenKfID: "kf", StartTime: may1, EndTime: time.Date(2107, 1, 1, 0, 0, 0, 0, time.UTC)}, "end_time", "uint32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			testNoRequest(t, mux, "/cgi-bin/kf/get_corp_statistic")
			testNoRequest(t, mux, "/cgi-bin/kf/get_servicer_statistic")
			_, err := c.Stats.Corp(t.Context(), tc.req)
			checkValidation(t, err, "kf/get_corp_statistic", tc.field, tc.msg)
			var sreq *ServicerStatisticRequest
			if tc.req != nil {
				sreq = &ServicerStatisticRequest{OpenKfID: tc.req.OpenKfID, ServicerUserID: "u", StartTime: tc.req.StartTime, EndTime: tc.req.EndTime}
			}
			_, err = c.Stats.Servicer(t.Context(), sreq)
			checkValidation(t, err, "kf/get_servicer_statistic", tc.field, tc.msg)
		})
	}
}

// checkValidation checks that err is a *ValidationError of op naming field,
// whose reason contains msg.
func checkValidation(t *testing.T, err error, op, field, msg string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	if !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("errors.Is(err, ErrInvalidRequest) = false")
	}
	if ve.Op != op || ve.Field != field || !strings.Contains(ve.Reason, msg) {
		t.Errorf("got %+v, want Op %q Field %q and a reason containing %q", ve, op, field, msg)
	}
}

// TestStatsRangeBoundaries checks the accepted edges of the 31-day window:
// they are sent.
func TestStatsRangeBoundaries(t *testing.T) {
	t.Parallel()
	cst := statZone()
	may1 := time.Date(2024, 5, 1, 0, 0, 0, 0, cst)
	for _, tc := range []struct {
		name       string
		start, end time.Time
	}{
		{"same day", may1, may1},
		{"31 days, midnights", may1, time.Date(2024, 5, 31, 0, 0, 0, 0, cst)},
		{"31 days, end late in the day", may1, time.Date(2024, 5, 31, 23, 59, 59, 0, cst)},
		{"31 days, UTC instants", time.Date(2024, 4, 30, 16, 0, 0, 0, time.UTC), time.Date(2024, 5, 31, 15, 59, 59, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			var calls atomic.Int32
			mux.HandleFunc("/cgi-bin/kf/get_corp_statistic", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				testJSONBody(t, r, `{"open_kfid":"kf","start_time":`+itoa64(tc.start.Unix())+`,"end_time":`+itoa64(tc.end.Unix())+`}`)
				writeJSON(w, `{"errcode":0,"errmsg":"ok","statistic_list":[]}`)
			})
			if _, err := c.Stats.Corp(t.Context(), &CorpStatisticRequest{OpenKfID: "kf", StartTime: tc.start, EndTime: tc.end}); err != nil {
				t.Fatal(err)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("%d calls, want 1", n)
			}
		})
	}
}

func itoa64(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestStatsAPIErrors(t *testing.T) {
	t.Parallel()
	day := StatDay(2024, 5, 1)
	t.Run("corp", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/get_corp_statistic", "kf/get_corp_statistic", ErrCodeInvalidOpenKfID, func() error {
			_, err := c.Stats.Corp(t.Context(), &CorpStatisticRequest{OpenKfID: "kf", StartTime: day, EndTime: day})
			return err
		})
	})
	t.Run("servicer", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/get_servicer_statistic", "kf/get_servicer_statistic", ErrCodeNotServicer, func() error {
			_, err := c.Stats.Servicer(t.Context(), &ServicerStatisticRequest{OpenKfID: "kf", ServicerUserID: "u", StartTime: day, EndTime: day})
			return err
		})
	})
	t.Run("qualification", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/get_corp_qualification", "kf/get_corp_qualification", ErrCodeAPIForbidden, func() error {
			_, err := c.Stats.Qualification(t.Context())
			return err
		})
	})
}

// TestStatsJSONRoundTrip checks that the request and reply types encode to
// the wire form and back (the emulator serves the same types).
func TestStatsJSONRoundTrip(t *testing.T) {
	t.Parallel()
	req := ServicerStatisticRequest{OpenKfID: "kf", ServicerUserID: "u", StartTime: StatDay(2024, 5, 1), EndTime: StatDay(2024, 5, 2)}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"open_kfid":"kf","servicer_userid":"u","start_time":1714492800,"end_time":1714579200}`; string(b) != want {
		t.Errorf("marshal = %s, want %s", b, want)
	}
	var back ServicerStatisticRequest
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(req, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	resp := CorpStatisticResponse{StatisticList: []CorpStatisticItem{
		{StatTime: StatDay(2024, 5, 1), Statistic: &CorpStatistic{SessionCnt: 1, AITransferRate: statFloat(0)}},
		{StatTime: StatDay(2024, 5, 2)},
	}}
	b, err = json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"statistic_list":[{"stat_time":1714492800,"statistic":{"session_cnt":1,"customer_cnt":0,"customer_msg_cnt":0,"upgrade_service_customer_cnt":0,"ai_session_reply_cnt":0,"ai_transfer_rate":0,"msg_rejected_customer_cnt":0}},{"stat_time":1714579200}]}`
	if string(b) != want {
		t.Errorf("marshal = %s\nwant      %s", b, want)
	}
	var rback CorpStatisticResponse
	if err := json.Unmarshal(b, &rback); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(resp, rback); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
