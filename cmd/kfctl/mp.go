package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/wxkf/kf/mp"
)

func newMPCmd(a *app) *cobra.Command {
	c := group("mp", "Official Account (公众号) customer service: accounts, sessions, records, send",
		group("accounts", "Customer-service accounts of the Official Account (kfaccount)",
			newMPAccountsListCmd(a), newMPAccountsAddCmd(a), newMPAccountsDeleteCmd(a)),
		group("sessions", "Sessions between users and workers (kfsession)",
			newMPSessionsGetCmd(a), newMPSessionsListCmd(a), newMPSessionsWaitingCmd(a),
			newMPSessionsChangeCmd(a, "create"), newMPSessionsChangeCmd(a, "close")),
		newMPRecordsCmd(a),
		group("send", "Send customer messages (message/custom/send)",
			newMPSendTextCmd(a)),
	)
	c.Long = `Official Account (公众号) customer service, with --app-id and --app-secret
($KF_APP_ID, $KF_APP_SECRET); --mp-base-url points it at another host.`
	c.GroupID = groupAPI
	return c
}

func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).Local()
}

func newMPAccountsListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the customer-service accounts (getkflist)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.mpClient()
			if err != nil {
				return err
			}
			res, err := c.Accounts.List(cmd.Context())
			if err != nil {
				return err
			}
			if res.Accounts == nil {
				res.Accounts = []mp.Account{}
			}
			t := newTable("KF_ACCOUNT", "NICKNAME", "KF_ID", "WECHAT", "INVITE")
			for _, acc := range res.Accounts {
				invite := string(acc.InviteStatus)
				if acc.InviteWx != "" {
					invite = acc.InviteWx + " " + invite
				}
				t.row(acc.KfAccount, acc.KfNick, acc.KfID, acc.KfWx, invite)
			}
			return a.show(res.Accounts, t)
		},
	}
}

func newMPAccountsAddCmd(a *app) *cobra.Command {
	var account, nickname string
	cmd := &cobra.Command{
		Use:   "add --account PREFIX@WECHATID --nickname NAME",
		Short: "Add a customer-service account (kfaccount/add)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &mp.AddAccountRequest{KfAccount: account, Nickname: nickname}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.mpClient()
			if err != nil {
				return err
			}
			if err := c.Accounts.Add(cmd.Context(), req); err != nil {
				return err
			}
			return a.showKV(map[string]string{"kf_account": account, "status": "added"}, "kf_account", account, "status", "added")
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "the account, prefix@wechatid")
	cmd.Flags().StringVar(&nickname, "nickname", "", "the nickname shown to users")
	return cmd
}

func newMPAccountsDeleteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "delete PREFIX@WECHATID",
		Aliases: []string{"del", "rm"},
		Short:   "Delete a customer-service account (kfaccount/del)",
		Args:    args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &mp.DeleteAccountRequest{KfAccount: args[0]}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.mpClient()
			if err != nil {
				return err
			}
			if err := c.Accounts.Delete(cmd.Context(), req); err != nil {
				return err
			}
			return a.showKV(map[string]string{"kf_account": args[0], "status": "deleted"}, "kf_account", args[0], "status", "deleted")
		},
	}
}

func newMPSessionsGetCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "get OPENID",
		Short: "Show who serves a user (kfsession/getsession)",
		Args:  args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.mpClient()
			if err != nil {
				return err
			}
			res, err := c.Sessions.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.showKV(res, "openid", args[0], "kf_account", res.KfAccount, "created", unixTime(res.CreateTime))
		},
	}
}

func newMPSessionsListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list PREFIX@WECHATID",
		Short: "List a worker's sessions (kfsession/getsessionlist)",
		Args:  args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.mpClient()
			if err != nil {
				return err
			}
			res, err := c.Sessions.List(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if res.Sessions == nil {
				res.Sessions = []mp.SessionItem{}
			}
			t := newTable("OPENID", "CREATED")
			for _, s := range res.Sessions {
				t.row(s.OpenID, unixTime(s.CreateTime))
			}
			return a.show(res.Sessions, t)
		},
	}
}

func newMPSessionsWaitingCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "waiting",
		Short: "List the users waiting for a worker (kfsession/getwaitcase)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.mpClient()
			if err != nil {
				return err
			}
			res, err := c.Sessions.ListWaiting(cmd.Context())
			if err != nil {
				return err
			}
			if res.WaitCases == nil {
				res.WaitCases = []mp.WaitCase{}
			}
			t := newTable("OPENID", "LATEST")
			for _, w := range res.WaitCases {
				t.row(w.OpenID, unixTime(w.LatestTime))
			}
			return a.show(res, t)
		},
	}
}

// newMPSessionsChangeCmd builds "mp sessions create" and "mp sessions close".
func newMPSessionsChangeCmd(a *app, verb string) *cobra.Command {
	var account, openID, text string
	cmd := &cobra.Command{
		Use:   verb + " --account PREFIX@WECHATID --openid OPENID",
		Short: "Give a user to a worker (kfsession/create)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.mpClient()
			if err != nil {
				return err
			}
			if verb == "create" {
				req := &mp.CreateSessionRequest{KfAccount: account, OpenID: openID, Text: text}
				if err := req.Validate(); err != nil {
					return err
				}
				err = c.Sessions.Create(cmd.Context(), req)
			} else {
				req := &mp.CloseSessionRequest{KfAccount: account, OpenID: openID, Text: text}
				if err := req.Validate(); err != nil {
					return err
				}
				err = c.Sessions.Close(cmd.Context(), req)
			}
			if err != nil {
				return err
			}
			status := map[string]string{"create": "created", "close": "closed"}[verb]
			return a.showKV(map[string]string{"kf_account": account, "openid": openID, "status": status},
				"kf_account", account, "openid", openID, "status", status)
		},
	}
	if verb == "close" {
		cmd.Short = "End a user's session with a worker (kfsession/close)"
	}
	cmd.Flags().StringVar(&account, "account", "", "the worker's account, prefix@wechatid")
	cmd.Flags().StringVar(&openID, "openid", "", "the user (openid)")
	cmd.Flags().StringVar(&text, "note", "", "note for the worker (legacy client)")
	return cmd
}

// parseTime reads --from/--to of mp records: RFC 3339, "YYYY-MM-DD HH:MM[:SS]"
// or a date (local time). --to is included, so a date alone given to --to
// means the last second of that day ("--from 2024-05-01 --to 2024-05-01" is
// the whole day, not its first second).
func parseTime(flag, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{time.DateTime, "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			if layout == time.DateOnly && flag == "to" {
				t = t.AddDate(0, 0, 1).Add(-time.Second)
			}
			return t, nil
		}
	}
	return time.Time{}, usagef("--%s: %q is not a time (RFC 3339, YYYY-MM-DD HH:MM[:SS] or YYYY-MM-DD)", flag, s)
}

func newMPRecordsCmd(a *app) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "records --from TIME --to TIME",
		Short: "List chat records (msgrecord/getmsglist, 24 h windows, every page)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := need(cmd, "from", "to"); err != nil {
				return err
			}
			start, err := parseTime("from", from)
			if err != nil {
				return err
			}
			end, err := parseTime("to", to)
			if err != nil {
				return err
			}
			if end.Before(start) {
				return usagef("--to is before --from")
			}
			c, err := a.mpClient()
			if err != nil {
				return err
			}
			records := []mp.Record{}
			t := newTable("TIME", "OPENID", "WORKER", "OPERCODE", "TEXT")
			for r, err := range c.Records.All(cmd.Context(), start, end) {
				if err != nil {
					return err
				}
				records = append(records, r)
				t.row(unixTime(r.Time), r.OpenID, r.Worker, r.OperCode, truncate(r.Text, 80))
			}
			return a.show(records, t)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start (RFC 3339, YYYY-MM-DD HH:MM[:SS] or YYYY-MM-DD, local time)")
	cmd.Flags().StringVar(&to, "to", "", "end, included (a date alone: the end of that day)")
	return cmd
}

func newMPSendTextCmd(a *app) *cobra.Command {
	var to, account string
	cmd := &cobra.Command{
		Use:   "text --openid OPENID TEXT [--account PREFIX@WECHATID]",
		Short: "Send a text to a user (within 48 h of the user's last message)",
		Args:  args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &mp.SendMessageRequest{ToUser: to, Msg: mp.TextMsg(args[0]), KfAccount: account}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.mpClient()
			if err != nil {
				return err
			}
			if err := c.Messages.Send(cmd.Context(), req); err != nil {
				return err
			}
			return a.showKV(map[string]string{"touser": to, "status": "sent"}, "touser", to, "status", "sent")
		},
	}
	cmd.Flags().StringVar(&to, "openid", "", "the user (openid)")
	cmd.Flags().StringVar(&account, "account", "", "send as this worker's account (optional)")
	return cmd
}
