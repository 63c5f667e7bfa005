package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wxkf/kf"
)

func newServicerCmd(a *app) *cobra.Command {
	c := group("servicer", "Manage the servicers (接待人员) of a KF account",
		newServicerListCmd(a),
		newServicerChangeCmd(a, "add"),
		newServicerChangeCmd(a, "delete"),
	)
	c.GroupID = groupAPI
	return c
}

func openKfIDFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "open-kfid", "", "the KF account (open_kfid)")
}

func newServicerListCmd(a *app) *cobra.Command {
	var openKfID string
	cmd := &cobra.Command{
		Use:   "list --open-kfid ID",
		Short: "List the servicers of a KF account (servicer/list)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &kf.ListServicersRequest{OpenKfID: openKfID}
			if err := req.Validate(); err != nil {
				return err
			}
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			res, err := c.Servicers.List(cmd.Context(), req)
			if err != nil {
				return err
			}
			if res.Servicers == nil {
				res.Servicers = []kf.Servicer{}
			}
			t := newTable("USERID", "DEPARTMENT_ID", "STATUS")
			for _, s := range res.Servicers {
				var dept, status any
				if s.DepartmentID != 0 {
					dept = s.DepartmentID
				}
				if s.Status != nil {
					status = s.Status.String()
					if *s.Status == kf.ServicerStopped {
						status = s.StopType.String()
					}
				}
				t.row(s.UserID, dept, status)
			}
			return a.show(res.Servicers, t)
		},
	}
	openKfIDFlag(cmd, &openKfID)
	return cmd
}

// newServicerChangeCmd builds "servicer add" and "servicer delete".
func newServicerChangeCmd(a *app, verb string) *cobra.Command {
	var openKfID string
	var users []string
	var depts []int
	cmd := &cobra.Command{
		Use:   verb + " --open-kfid ID [--user USERID,...] [--department ID,...]",
		Short: "Add servicers to a KF account (servicer/add)",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.kfClient()
			if err != nil {
				return err
			}
			var results []kf.ServicerResult
			if verb == "add" {
				req := &kf.AddServicersRequest{OpenKfID: openKfID, UserIDs: users, DepartmentIDs: depts}
				if err := req.Validate(); err != nil {
					return err
				}
				res, err := c.Servicers.Add(cmd.Context(), req)
				if res == nil {
					return err
				}
				results = res.Results
				if err != nil {
					_ = a.showResults(results)
					return err
				}
			} else {
				req := &kf.DeleteServicersRequest{OpenKfID: openKfID, UserIDs: users, DepartmentIDs: depts}
				if err := req.Validate(); err != nil {
					return err
				}
				res, err := c.Servicers.Delete(cmd.Context(), req)
				if res == nil {
					return err
				}
				results = res.Results
				if err != nil {
					_ = a.showResults(results)
					return err
				}
			}
			if err := a.showResults(results); err != nil {
				return err
			}
			return itemsFailed(results)
		},
	}
	if verb == "delete" {
		cmd.Short = "Remove servicers from a KF account (servicer/del)"
		cmd.Aliases = []string{"del", "rm"}
	}
	openKfIDFlag(cmd, &openKfID)
	cmd.Flags().StringSliceVar(&users, "user", nil, "userids of members (comma-separated or repeated)")
	cmd.Flags().IntSliceVar(&depts, "department", nil, "department ids (comma-separated or repeated)")
	return cmd
}

// showResults prints the per-item results of servicer/add or servicer/del.
func (a *app) showResults(results []kf.ServicerResult) error {
	if results == nil {
		results = []kf.ServicerResult{}
	}
	t := newTable("USERID", "DEPARTMENT_ID", "RESULT")
	for _, r := range results {
		var dept any
		if r.DepartmentID != 0 {
			dept = r.DepartmentID
		}
		res := "ok"
		switch {
		case r.Ignored():
			res = "ignored (no change)"
		case r.Err() != nil:
			res = fmt.Sprintf("errcode %d (%s): %s", int(r.ErrCode), r.ErrCode, r.ErrCode.Meaning())
		}
		t.row(r.UserID, dept, res)
	}
	return a.show(results, t)
}

// itemsFailed returns an error wrapping the first failed item's *APIError
// (exit code 3), or nil when every item succeeded.
func itemsFailed(results []kf.ServicerResult) error {
	var first error
	n := 0
	for _, r := range results {
		if err := r.Err(); err != nil {
			n++
			if first == nil {
				first = err
			}
		}
	}
	if first == nil {
		return nil
	}
	return fmt.Errorf("%d of %d items failed, the first: %w", n, len(results), first)
}
