package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/wxkf/kf"
)

func newStatsCmd(a *app) *cobra.Command {
	c := group("stats", "Read statistics (get_corp_statistic, get_servicer_statistic)",
		newStatsCorpCmd(a),
		newStatsServicerCmd(a),
		newStatsQualificationCmd(a),
	)
	c.GroupID = groupAPI
	return c
}

// cst is China Standard Time, the zone of the platform's statistics days.
var cst = time.FixedZone("CST", 8*3600)

// dateRange holds --from and --to (YYYY-MM-DD, days in China Standard Time).
type dateRange struct{ from, to string }

func (d *dateRange) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&d.from, "from", "", "first day, YYYY-MM-DD (China Standard Time)")
	cmd.Flags().StringVar(&d.to, "to", "", "last day, YYYY-MM-DD (default: --from); at most 31 days")
}

// parse returns 00:00 CST of both days (see kf.StatDay).
func (d *dateRange) parse(cmd *cobra.Command) (from, to time.Time, err error) {
	if err := need(cmd, "from"); err != nil {
		return time.Time{}, time.Time{}, err
	}
	day := func(flag, s string) (time.Time, error) {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return time.Time{}, usagef("--%s: %q is not a date YYYY-MM-DD", flag, s)
		}
		return kf.StatDay(t.Year(), t.Month(), t.Day()), nil
	}
	if from, err = day("from", d.from); err != nil {
		return
	}
	to = from
	if d.to != "" {
		if to, err = day("to", d.to); err != nil {
			return
		}
	}
	if to.Before(from) {
		return from, to, usagef("--to %s is before --from %s", d.to, d.from)
	}
	return from, to, nil
}

func statDate(t time.Time) string { return t.In(cst).Format(time.DateOnly) }

func newStatsCorpCmd(a *app) *cobra.Command {
	var openKfID string
	var dr dateRange
	cmd := &cobra.Command{
		Use:   "corp --open-kfid ID --from YYYY-MM-DD [--to YYYY-MM-DD]",
		Short: "Daily statistics of a KF account (get_corp_statistic)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, to, err := dr.parse(cmd)
			if err != nil {
				return err
			}
			req := &kf.CorpStatisticRequest{OpenKfID: openKfID, StartTime: from, EndTime: to}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			res, err := c.Stats.Corp(cmd.Context(), req)
			if err != nil {
				return err
			}
			if res.StatisticList == nil {
				res.StatisticList = []kf.CorpStatisticItem{}
			}
			t := newTable("DATE", "SESSIONS", "CUSTOMERS", "CUSTOMER_MSGS", "UPGRADE_CUSTOMERS",
				"AI_REPLIES", "AI_TRANSFER_RATE", "AI_KNOWLEDGE_HIT_RATE", "REJECTED_CUSTOMERS")
			for _, it := range res.StatisticList {
				s := it.Statistic
				if s == nil {
					t.row(statDate(it.StatTime))
					continue
				}
				t.row(statDate(it.StatTime), s.SessionCnt, s.CustomerCnt, s.CustomerMsgCnt, s.UpgradeServiceCustomerCnt,
					s.AISessionReplyCnt, s.AITransferRate, s.AIKnowledgeHitRate, s.MsgRejectedCustomerCnt)
			}
			return a.show(res.StatisticList, t)
		},
	}
	openKfIDFlag(cmd, &openKfID)
	dr.register(cmd)
	return cmd
}

func newStatsServicerCmd(a *app) *cobra.Command {
	var openKfID, servicer string
	var dr dateRange
	cmd := &cobra.Command{
		Use:   "servicer --open-kfid ID [--servicer USERID] --from YYYY-MM-DD [--to YYYY-MM-DD]",
		Short: "Daily statistics of the servicers of a KF account (get_servicer_statistic)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, to, err := dr.parse(cmd)
			if err != nil {
				return err
			}
			req := &kf.ServicerStatisticRequest{OpenKfID: openKfID, ServicerUserID: servicer, StartTime: from, EndTime: to}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			res, err := c.Stats.Servicer(cmd.Context(), req)
			if err != nil {
				return err
			}
			if res.StatisticList == nil {
				res.StatisticList = []kf.ServicerStatisticItem{}
			}
			t := newTable("DATE", "SESSIONS", "CUSTOMERS", "CUSTOMER_MSGS", "REPLY_RATE", "FIRST_REPLY_AVG_S",
				"SURVEYS", "SATISFIED_RATE", "MIDDLING_RATE", "DISSATISFIED_RATE", "REJECTED_CUSTOMERS")
			for _, it := range res.StatisticList {
				s := it.Statistic
				if s == nil {
					t.row(statDate(it.StatTime))
					continue
				}
				t.row(statDate(it.StatTime), s.SessionCnt, s.CustomerCnt, s.CustomerMsgCnt, s.ReplyRate, s.FirstReplyAverageSec,
					s.SatisfactionInvestigateCnt, s.SatisfiedRate, s.MiddlingRate, s.DissatisfiedRate, s.MsgRejectedCustomerCnt)
			}
			return a.show(res.StatisticList, t)
		},
	}
	openKfIDFlag(cmd, &openKfID)
	cmd.Flags().StringVar(&servicer, "servicer", "", "one servicer's userid (default: all servicers together)")
	dr.register(cmd)
	return cmd
}

func newStatsQualificationCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "qualification",
		Short: "Whether the corp has a bound 视频号, which sets the reception quota (get_corp_qualification)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			res, err := c.Stats.Qualification(cmd.Context())
			if err != nil {
				return err
			}
			return a.showKV(res, "wechat_channels_binding", res.WeChatChannelsBinding)
		},
	}
}
