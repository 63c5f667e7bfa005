package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wxkf/kf"
)

func newCustomerCmd(a *app) *cobra.Command {
	c := group("customer", "Read customer profiles (customer/batchget)",
		newCustomerGetCmd(a),
	)
	c.GroupID = groupAPI
	return c
}

// customersOut is the JSON output of customer get.
type customersOut struct {
	Customers []kf.Customer `json:"customer_list"`
	Invalid   []string      `json:"invalid_external_userid"`
}

func newCustomerGetCmd(a *app) *cobra.Command {
	var withContext bool
	cmd := &cobra.Command{
		Use:   "get EXTERNAL_USERID...",
		Short: "Show customers' profiles (customer/batchget, 100 per call)",
		Long: `Show customers' profiles (customer/batchget). Only customers who entered a session
or wrote to an account within 48 hours can be read; the others are listed as
invalid on stderr. --context adds where each customer last entered a session.`,
		Args: args(1, -1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			const perCall = 100
			var reqs []*kf.BatchGetCustomersRequest
			for i := 0; i < len(ids); i += perCall {
				req := &kf.BatchGetCustomersRequest{ExternalUserIDs: ids[i:min(i+perCall, len(ids))], NeedEnterSessionContext: withContext}
				if err := req.Validate(); err != nil {
					return err
				}
				reqs = append(reqs, req)
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			out := customersOut{Customers: []kf.Customer{}, Invalid: []string{}}
			for _, req := range reqs {
				res, err := c.Customers.BatchGet(cmd.Context(), req)
				if err != nil {
					return err
				}
				out.Customers = append(out.Customers, res.Customers...)
				out.Invalid = append(out.Invalid, res.InvalidExternalUserIDs...)
			}
			header := []string{"EXTERNAL_USERID", "NICKNAME", "GENDER", "UNIONID"}
			if withContext {
				header = append(header, "SCENE", "SCENE_PARAM")
			}
			t := newTable(header...)
			for _, cu := range out.Customers {
				row := []any{cu.ExternalUserID, cu.Nickname, cu.Gender, cu.UnionID}
				if withContext {
					var scene, param string
					if x := cu.EnterSessionContext; x != nil {
						scene, param = x.Scene, x.SceneParam
					}
					row = append(row, scene, param)
				}
				t.row(row...)
			}
			if err := a.show(out, t); err != nil {
				return err
			}
			if len(out.Invalid) > 0 && a.output != "json" {
				fmt.Fprintf(a.stderr, "invalid (unknown, or no session within 48 h): %s\n", strings.Join(out.Invalid, " "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&withContext, "context", false, "also show the last enter-session context (scene, scene_param)")
	return cmd
}
