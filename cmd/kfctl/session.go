package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wxkf/kf"
)

func newSessionCmd(a *app) *cobra.Command {
	c := group("session", "Read and change session states (service_state)",
		newSessionGetCmd(a),
		newSessionTransferCmd(a),
	)
	c.GroupID = groupAPI
	return c
}

// stateNames are the names --state accepts, besides the numbers 0..4.
var stateNames = map[string]kf.ServiceState{
	"untreated": kf.StateUntreated,
	"bot":       kf.StateBot,
	"queued":    kf.StateQueued,
	"pool":      kf.StateQueued,
	"servicer":  kf.StateServicer,
	"human":     kf.StateServicer,
	"ended":     kf.StateEnded,
	"end":       kf.StateEnded,
}

// parseState reads a session state given by number (0..4) or by name.
func parseState(s string) (kf.ServiceState, error) {
	if n, err := strconv.Atoi(s); err == nil {
		// Out-of-range numbers are left to the request's validation.
		return kf.ServiceState(n), nil
	}
	if st, ok := stateNames[strings.ToLower(s)]; ok {
		return st, nil
	}
	return 0, usagef("--state: %q is not a state: 0 untreated, 1 bot, 2 queued (pool), 3 servicer, 4 ended", s)
}

// stateText is a state as "3 (servicer)".
func stateText(s kf.ServiceState) string { return fmt.Sprintf("%d (%s)", int(s), s) }

// sessionState is the JSON output of session get.
type sessionState struct {
	OpenKfID       string          `json:"open_kfid"`
	ExternalUserID string          `json:"external_userid"`
	ServiceState   kf.ServiceState `json:"service_state"`
	StateName      string          `json:"state_name"`
	ServicerUserID string          `json:"servicer_userid,omitempty"`
}

func newSessionGetCmd(a *app) *cobra.Command {
	var openKfID string
	cmd := &cobra.Command{
		Use:   "get EXTERNAL_USERID --open-kfid ID",
		Short: "Show the state of a customer's session (service_state/get)",
		Args:  args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &kf.SessionStateRequest{OpenKfID: openKfID, ExternalUserID: args[0]}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			res, err := c.Sessions.State(cmd.Context(), req)
			if err != nil {
				return err
			}
			out := sessionState{OpenKfID: openKfID, ExternalUserID: args[0],
				ServiceState: res.ServiceState, StateName: res.ServiceState.String(), ServicerUserID: res.ServicerUserID}
			return a.showKV(out, "open_kfid", openKfID, "external_userid", args[0],
				"service_state", stateText(res.ServiceState), "servicer_userid", res.ServicerUserID)
		},
	}
	openKfIDFlag(cmd, &openKfID)
	return cmd
}

func newSessionTransferCmd(a *app) *cobra.Command {
	var openKfID, state, servicer string
	cmd := &cobra.Command{
		Use:   "transfer EXTERNAL_USERID --open-kfid ID --state STATE [--servicer USERID]",
		Short: "Change the state of a customer's session (service_state/trans)",
		Long: `Change the state of a customer's session (service_state/trans). STATE is a number
or a name: 1 bot, 2 queued (pool), 3 servicer (needs --servicer), 4 ended.
A transfer into the pool, to a servicer or to the end may return a msg_code for
send_msg_on_event.`,
		Args: args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := need(cmd, "state"); err != nil {
				return err
			}
			st, err := parseState(state)
			if err != nil {
				return err
			}
			req := &kf.TransferRequest{OpenKfID: openKfID, ExternalUserID: args[0], ServiceState: st, ServicerUserID: servicer}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			res, err := c.Sessions.Transfer(cmd.Context(), req)
			if err != nil {
				return err
			}
			out := map[string]any{"open_kfid": openKfID, "external_userid": args[0],
				"service_state": st, "state_name": st.String(), "msg_code": res.MsgCode}
			return a.showKV(out, "open_kfid", openKfID, "external_userid", args[0],
				"service_state", stateText(st), "msg_code", res.MsgCode)
		},
	}
	openKfIDFlag(cmd, &openKfID)
	cmd.Flags().StringVar(&state, "state", "", "new state: 1|bot, 2|queued, 3|servicer, 4|ended")
	cmd.Flags().StringVar(&servicer, "servicer", "", "servicer userid (with --state servicer)")
	return cmd
}
