package kf

import (
	"context"
	"encoding/json"
	"math"
	"time"
)

// Statistics (docs 95489 corp, 95490 servicer; shared/api-surface.md §1.10)
// and the corp qualification (doc 95153, §1.9).

const (
	opCorpStatistic     = "kf/get_corp_statistic"
	opServicerStatistic = "kf/get_servicer_statistic"
	opCorpQualification = "kf/get_corp_qualification"

	// statMaxDays is the longest span of a statistics query, counted as a
	// closed interval of days.
	statMaxDays = 31
	// statZoneOffset is the offset of China Standard Time, in which the
	// platform counts statistics days (UTC+8, no daylight saving).
	statZoneOffset = 8 * 60 * 60
)

// statZone returns China Standard Time, the zone of the platform's
// statistics days. A fresh value each call keeps the package free of
// mutable globals.
func statZone() *time.Location { return time.FixedZone("CST", statZoneOffset) }

// statDay returns the number of the CST day holding unix second u (u ≥ 0).
func statDay(u int64) int64 { return (u + statZoneOffset) / (24 * 60 * 60) }

// StatDay returns 00:00 China Standard Time (UTC+8) of the given date: the
// instant the platform uses for statistics days. Use it to build
// StartTime/EndTime.
func StatDay(year int, month time.Month, day int) time.Time {
	return time.Date(year, month, day, 0, 0, 0, 0, statZone())
}

// statTime converts a wire unix-seconds value; 0 stays the zero time.
func statTime(u int64) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(u, 0).In(statZone())
}

// statUnix converts t for the wire; the zero time becomes 0.
func statUnix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// validateStatRange checks start_time and end_time of a statistics request.
//
// The platform floors both instants to 00:00 China Standard Time and returns
// every day of the closed interval [start day, end day], at most 31 days.
// So the rule is: end day − start day ≤ 30, with days counted in UTC+8.
// For example 2024-05-01 .. 2024-05-31 (31 days) is accepted and
// 2024-05-01 .. 2024-06-01 (32 days) is refused, whatever the time of day
// of either instant.
//
// The other documented window (yesterday back to 180 days ago; today's data
// only after 06:00 the next day) depends on the current time and is left to
// the platform.
func validateStatRange(op string, start, end time.Time) error {
	if start.IsZero() {
		return invalid(op, "start_time", "required")
	}
	if end.IsZero() {
		return invalid(op, "end_time", "required")
	}
	s, e := start.Unix(), end.Unix()
	if s < 0 || s > math.MaxUint32 {
		return invalid(op, "start_time", "%s is outside the uint32 unix-seconds range", start.Format(time.RFC3339))
	}
	if e < 0 || e > math.MaxUint32 {
		return invalid(op, "end_time", "%s is outside the uint32 unix-seconds range", end.Format(time.RFC3339))
	}
	if e < s {
		return invalid(op, "end_time", "before start_time")
	}
	if days := statDay(e) - statDay(s) + 1; days > statMaxDays {
		return invalid(op, "end_time", "range covers %d days (UTC+8); at most %d", days, statMaxDays)
	}
	return nil
}

// CorpStatisticRequest asks for the daily statistics of one KF account
// (get_corp_statistic, doc 95489). StartTime and EndTime travel as uint32
// unix seconds; the platform floors each to 00:00 China Standard Time (see
// StatDay) and returns every day of the closed interval, at most 31 days.
type CorpStatisticRequest struct {
	// OpenKfID is required by the current doc. Older docs (and WxJava) let
	// it be omitted for a corp-wide aggregate; that form is unconfirmed and
	// refused here.
	OpenKfID  string    `json:"open_kfid"`
	StartTime time.Time `json:"start_time"` // sent as uint32 unix seconds
	EndTime   time.Time `json:"end_time"`   // sent as uint32 unix seconds
}

type corpStatisticWire struct {
	OpenKfID  string `json:"open_kfid"`
	StartTime int64  `json:"start_time"`
	EndTime   int64  `json:"end_time"`
}

// MarshalJSON encodes the request as the platform expects (unix seconds).
func (r CorpStatisticRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(corpStatisticWire{r.OpenKfID, statUnix(r.StartTime), statUnix(r.EndTime)})
}

// UnmarshalJSON decodes the wire form (used by the kftest emulator).
func (r *CorpStatisticRequest) UnmarshalJSON(b []byte) error {
	var w corpStatisticWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = CorpStatisticRequest{OpenKfID: w.OpenKfID, StartTime: statTime(w.StartTime), EndTime: statTime(w.EndTime)}
	return nil
}

// CorpStatisticResponse is the reply of get_corp_statistic: one item per day.
type CorpStatisticResponse struct {
	StatisticList []CorpStatisticItem `json:"statistic_list"`
}

// CorpStatisticItem is the statistics of one day.
type CorpStatisticItem struct {
	// StatTime is 00:00 of the day, in China Standard Time (wire: unix
	// seconds).
	StatTime time.Time `json:"stat_time"`
	// Statistic is nil when the platform omitted it (no data for the day,
	// or not computed yet).
	Statistic *CorpStatistic `json:"statistic,omitempty"`
}

type corpStatisticItemWire struct {
	StatTime  int64          `json:"stat_time"`
	Statistic *CorpStatistic `json:"statistic,omitempty"`
}

// MarshalJSON encodes StatTime as unix seconds.
func (it CorpStatisticItem) MarshalJSON() ([]byte, error) {
	return json.Marshal(corpStatisticItemWire{statUnix(it.StatTime), it.Statistic})
}

// UnmarshalJSON decodes StatTime from unix seconds.
func (it *CorpStatisticItem) UnmarshalJSON(b []byte) error {
	var w corpStatisticItemWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*it = CorpStatisticItem{StatTime: statTime(w.StatTime), Statistic: w.Statistic}
	return nil
}

// CorpStatistic is the day's numbers of a KF account (doc 95489). Rates are
// pointers because the platform omits them when they cannot be computed (no
// AI sessions, for example): nil means "not reported", which differs from
// a reported 0.
type CorpStatistic struct {
	SessionCnt                int      `json:"session_cnt"`                  // sessions started
	CustomerCnt               int      `json:"customer_cnt"`                 // customers served
	CustomerMsgCnt            int      `json:"customer_msg_cnt"`             // messages sent by customers
	UpgradeServiceCustomerCnt int      `json:"upgrade_service_customer_cnt"` // customers recommended an upgrade service
	AISessionReplyCnt         int      `json:"ai_session_reply_cnt"`         // sessions answered by the AI assistant
	AITransferRate            *float64 `json:"ai_transfer_rate,omitempty"`   // share of AI sessions moved to a human
	AIKnowledgeHitRate        *float64 `json:"ai_knowledge_hit_rate,omitempty"`
	MsgRejectedCustomerCnt    int      `json:"msg_rejected_customer_cnt"` // customers whose messages were rejected
}

// ServicerStatisticRequest asks for the daily statistics of the servicers of
// one KF account (get_servicer_statistic, doc 95490). Times behave as in
// CorpStatisticRequest.
type ServicerStatisticRequest struct {
	OpenKfID string `json:"open_kfid"` // required
	// ServicerUserID selects one servicer; empty asks for the aggregate of
	// all servicers of the account.
	ServicerUserID string    `json:"servicer_userid,omitempty"`
	StartTime      time.Time `json:"start_time"` // sent as uint32 unix seconds
	EndTime        time.Time `json:"end_time"`   // sent as uint32 unix seconds
}

type servicerStatisticWire struct {
	OpenKfID       string `json:"open_kfid"`
	ServicerUserID string `json:"servicer_userid,omitempty"`
	StartTime      int64  `json:"start_time"`
	EndTime        int64  `json:"end_time"`
}

// MarshalJSON encodes the request as the platform expects (unix seconds).
func (r ServicerStatisticRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(servicerStatisticWire{r.OpenKfID, r.ServicerUserID, statUnix(r.StartTime), statUnix(r.EndTime)})
}

// UnmarshalJSON decodes the wire form (used by the kftest emulator).
func (r *ServicerStatisticRequest) UnmarshalJSON(b []byte) error {
	var w servicerStatisticWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = ServicerStatisticRequest{OpenKfID: w.OpenKfID, ServicerUserID: w.ServicerUserID,
		StartTime: statTime(w.StartTime), EndTime: statTime(w.EndTime)}
	return nil
}

// ServicerStatisticResponse is the reply of get_servicer_statistic: one item
// per day.
type ServicerStatisticResponse struct {
	StatisticList []ServicerStatisticItem `json:"statistic_list"`
}

// ServicerStatisticItem is the servicer statistics of one day.
type ServicerStatisticItem struct {
	// StatTime is 00:00 of the day, in China Standard Time (wire: unix
	// seconds).
	StatTime time.Time `json:"stat_time"`
	// Statistic is nil when the platform omitted it.
	Statistic *ServicerStatistic `json:"statistic,omitempty"`
}

type servicerStatisticItemWire struct {
	StatTime  int64              `json:"stat_time"`
	Statistic *ServicerStatistic `json:"statistic,omitempty"`
}

// MarshalJSON encodes StatTime as unix seconds.
func (it ServicerStatisticItem) MarshalJSON() ([]byte, error) {
	return json.Marshal(servicerStatisticItemWire{statUnix(it.StatTime), it.Statistic})
}

// UnmarshalJSON decodes StatTime from unix seconds.
func (it *ServicerStatisticItem) UnmarshalJSON(b []byte) error {
	var w servicerStatisticItemWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*it = ServicerStatisticItem{StatTime: statTime(w.StatTime), Statistic: w.Statistic}
	return nil
}

// ServicerStatistic is the day's numbers of one servicer, or of all
// servicers of an account (doc 95490). Rates and the average first-reply
// time are pointers because the platform omits them when they cannot be
// computed (for example no satisfaction survey answered): nil means "not
// reported". When the API manages session assignment, the native
// satisfaction features are off and their counts are 0.
type ServicerStatistic struct {
	SessionCnt     int      `json:"session_cnt"`
	CustomerCnt    int      `json:"customer_cnt"`
	CustomerMsgCnt int      `json:"customer_msg_cnt"`
	ReplyRate      *float64 `json:"reply_rate,omitempty"`
	// FirstReplyAverageSec is the average time to the first reply, in
	// seconds.
	FirstReplyAverageSec *float64 `json:"first_reply_average_sec,omitempty"`
	// SatisfactionInvestigateCnt is the number of satisfaction surveys sent
	// (the wire name is misspelt "investgate" by the platform).
	SatisfactionInvestigateCnt         int      `json:"satisfaction_investgate_cnt"`
	SatisfactionParticipationRate      *float64 `json:"satisfaction_participation_rate,omitempty"`
	SatisfiedRate                      *float64 `json:"satisfied_rate,omitempty"`
	MiddlingRate                       *float64 `json:"middling_rate,omitempty"`
	DissatisfiedRate                   *float64 `json:"dissatisfied_rate,omitempty"`
	UpgradeServiceCustomerCnt          int      `json:"upgrade_service_customer_cnt"`
	UpgradeServiceMemberInviteCnt      int      `json:"upgrade_service_member_invite_cnt"`
	UpgradeServiceMemberCustomerCnt    int      `json:"upgrade_service_member_customer_cnt"`
	UpgradeServiceGroupChatInviteCnt   int      `json:"upgrade_service_groupchat_invite_cnt"`
	UpgradeServiceGroupChatCustomerCnt int      `json:"upgrade_service_groupchat_customer_cnt"`
	MsgRejectedCustomerCnt             int      `json:"msg_rejected_customer_cnt"`
}

// Validate checks r against the documented rules: open_kfid is required
// (at most 64 bytes), both times are set, end_time is not before
// start_time and the closed interval of days between them, counted in China
// Standard Time, holds at most 31 days. Corp calls it before sending.
func (r *CorpStatisticRequest) Validate() error {
	if r == nil {
		return invalid(opCorpStatistic, "request", "nil")
	}
	if err := kfCheckOpenKfID(opCorpStatistic, r.OpenKfID); err != nil {
		return err
	}
	return validateStatRange(opCorpStatistic, r.StartTime, r.EndTime)
}

// Validate checks r as CorpStatisticRequest.Validate does; servicer_userid
// is optional. Servicer calls it before sending.
func (r *ServicerStatisticRequest) Validate() error {
	if r == nil {
		return invalid(opServicerStatistic, "request", "nil")
	}
	if err := kfCheckOpenKfID(opServicerStatistic, r.OpenKfID); err != nil {
		return err
	}
	return validateStatRange(opServicerStatistic, r.StartTime, r.EndTime)
}

// Corp returns the daily statistics of a KF account (get_corp_statistic,
// doc 95489). open_kfid is required and the range must cover 1 to 31 days
// (see StatDay); an invalid request is refused before sending.
func (s *StatsService) Corp(ctx context.Context, req *CorpStatisticRequest) (*CorpStatisticResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out CorpStatisticResponse
	if err := (*service)(s).post(ctx, opCorpStatistic, "/cgi-bin/kf/get_corp_statistic", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// Servicer returns the daily statistics of the servicers of a KF account, or
// of one servicer (get_servicer_statistic, doc 95490). Validation is as in
// Corp.
func (s *StatsService) Servicer(ctx context.Context, req *ServicerStatisticRequest) (*ServicerStatisticResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out ServicerStatisticResponse
	if err := (*service)(s).post(ctx, opServicerStatistic, "/cgi-bin/kf/get_servicer_statistic", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// CorpQualification is the reply of get_corp_qualification (doc 95153).
//
// The number of customers KF may serve depends on it: a corp that is not
// verified may serve 100 customers in total, a verified corp without a bound
// 视频号 10 000, and a verified corp with one no limit (errcode 95003 when
// exceeded).
type CorpQualification struct {
	// WeChatChannelsBinding is true when at least one 视频号 (WeChat
	// Channels account) binding has been confirmed by its administrator.
	WeChatChannelsBinding bool `json:"wechat_channels_binding"`
}

// Qualification reports whether the corp has a bound 视频号, which decides
// how many customers KF may serve (get_corp_qualification, doc 95153).
func (s *StatsService) Qualification(ctx context.Context) (*CorpQualification, error) {
	var out CorpQualification
	if err := (*service)(s).get(ctx, opCorpQualification, "/cgi-bin/kf/get_corp_qualification", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
