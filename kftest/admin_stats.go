package kftest

import (
	"maps"
	"time"

	"github.com/wxkf/kf"
)

// Statistics (get_corp_statistic, get_servicer_statistic), computed from
// the activity the emulator recorded in account.stats; shared/api-surface.md
// §1.10.
//
// Days are China Standard Time days (UTC+8, see statsDayStart): the
// request's start_time and end_time are floored to 00:00 of their day. The
// range is the closed interval of days, at most 31 of them; start_time may
// not be more than 180 days before today (40058). A day's numbers become
// available at 06:00 the next day: days not yet available, and days without
// any activity, come back as items without "statistic".

const (
	statSpanDays    = 31
	statHistoryDays = 180
	statReadyAfter  = 30 * time.Hour // from the day's 00:00: 06:00 the next day
	secondsPerDay   = 24 * 60 * 60
)

// statDays returns the day keys (statsDayStart) of the request's range, or
// 40058 when the range reaches back more than 180 days or spans more than
// 31 days.
func statDays(start, end, now time.Time) ([]int64, error) {
	first, last := statsDayStart(start), statsDayStart(end)
	if last < first {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid end_time: before start_time")
	}
	if n := (last-first)/secondsPerDay + 1; n > statSpanDays {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid time range: %d days, at most %d", n, statSpanDays)
	}
	if oldest := statsDayStart(now) - statHistoryDays*secondsPerDay; first < oldest {
		return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid start_time: more than %d days ago", statHistoryDays)
	}
	days := make([]int64, 0, (last-first)/secondsPerDay+1)
	for d := first; d <= last; d += secondsPerDay {
		days = append(days, d)
	}
	return days, nil
}

// statReady reports whether the numbers of the day starting at day (unix)
// are available at now.
func statReady(day int64, now time.Time) bool {
	return !now.Before(time.Unix(day, 0).Add(statReadyAfter))
}

func (ds *dayStats) empty() bool {
	return ds.sessions == 0 && len(ds.customers) == 0 && ds.customerMsgs == 0 &&
		len(ds.upgrade.customers) == 0 && len(ds.rejected) == 0 && len(ds.servicer) == 0
}

type corpStatReply struct {
	List []kf.CorpStatisticItem `json:"statistic_list"`
}

// corpStatistic serves POST kf/get_corp_statistic.
func (s *Server) corpStatistic(c *call, st *State) (any, error) {
	var req kf.CorpStatisticRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	acc, err := st.lookupAccount(req.OpenKfID)
	if err != nil {
		return nil, err
	}
	days, err := statDays(req.StartTime, req.EndTime, c.now)
	if err != nil {
		return nil, err
	}
	out := corpStatReply{List: make([]kf.CorpStatisticItem, 0, len(days))}
	for _, day := range days {
		it := kf.CorpStatisticItem{StatTime: time.Unix(day, 0).In(statsZone)}
		if ds := acc.stats[day]; ds != nil && !ds.empty() && statReady(day, c.now) {
			it.Statistic = &kf.CorpStatistic{
				SessionCnt:                ds.sessions,
				CustomerCnt:               len(ds.customers),
				CustomerMsgCnt:            ds.customerMsgs,
				UpgradeServiceCustomerCnt: len(ds.upgrade.customers),
				MsgRejectedCustomerCnt:    len(ds.rejected),
			}
		}
		out.List = append(out.List, it)
	}
	return out, nil
}

type servicerStatReply struct {
	List []kf.ServicerStatisticItem `json:"statistic_list"`
}

// servicerStatistic serves POST kf/get_servicer_statistic: the numbers of
// one servicer (servicer_userid; 60111 if no such member) or the aggregate
// of every servicer of the account.
func (s *Server) servicerStatistic(c *call, st *State) (any, error) {
	var req kf.ServicerStatisticRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	acc, err := st.lookupAccount(req.OpenKfID)
	if err != nil {
		return nil, err
	}
	if req.ServicerUserID != "" && st.users[req.ServicerUserID] == nil {
		return nil, apiErr(kf.ErrCodeUserIDNotFound, "servicer_userid not exist")
	}
	days, err := statDays(req.StartTime, req.EndTime, c.now)
	if err != nil {
		return nil, err
	}
	out := servicerStatReply{List: make([]kf.ServicerStatisticItem, 0, len(days))}
	for _, day := range days {
		it := kf.ServicerStatisticItem{StatTime: time.Unix(day, 0).In(statsZone)}
		if ds := acc.stats[day]; ds != nil && statReady(day, c.now) {
			it.Statistic = servicerStat(ds, req.ServicerUserID)
		}
		out.List = append(out.List, it)
	}
	return out, nil
}

// servicerStat computes one servicer's (or, for userID "", every
// servicer's) numbers of a day; nil when there are none. Rates and the
// first-reply time are not computed (omitted); satisfaction counts are 0,
// as when the API manages sessions.
func servicerStat(ds *dayStats, userID string) *kf.ServicerStatistic {
	var sds []*servicerDay
	if userID != "" {
		if sd := ds.servicer[userID]; sd != nil {
			sds = append(sds, sd)
		}
	} else {
		for _, sd := range ds.servicer {
			sds = append(sds, sd)
		}
	}
	if len(sds) == 0 {
		return nil
	}
	var (
		out       kf.ServicerStatistic
		customers = map[string]bool{}
		up        upgradeDay
	)
	up.customers, up.memberCustomers, up.groupCustomers = map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, sd := range sds {
		out.SessionCnt += sd.sessions
		out.CustomerMsgCnt += sd.msgs
		maps.Copy(customers, sd.customers)
		maps.Copy(up.customers, sd.upgrade.customers)
		maps.Copy(up.memberCustomers, sd.upgrade.memberCustomers)
		maps.Copy(up.groupCustomers, sd.upgrade.groupCustomers)
		up.memberInvites += sd.upgrade.memberInvites
		up.groupInvites += sd.upgrade.groupInvites
	}
	out.CustomerCnt = len(customers)
	out.UpgradeServiceCustomerCnt = len(up.customers)
	out.UpgradeServiceMemberInviteCnt = up.memberInvites
	out.UpgradeServiceMemberCustomerCnt = len(up.memberCustomers)
	out.UpgradeServiceGroupChatInviteCnt = up.groupInvites
	out.UpgradeServiceGroupChatCustomerCnt = len(up.groupCustomers)
	if userID == "" {
		out.MsgRejectedCustomerCnt = len(ds.rejected)
	}
	return &out
}
