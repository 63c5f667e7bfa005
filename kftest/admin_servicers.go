package kftest

import (
	"slices"

	"github.com/wxkf/kf"
)

// Servicers (接待人员): servicer/add, servicer/del, servicer/list;
// shared/api-surface.md §1.5, §7.

// Per-call limits of servicer/add and servicer/del.
const (
	servicerUsersPerCall    = 100
	servicerAddDeptsPerCall = 20
	servicerDelDeptsPerCall = 100
)

// Per-item errmsg values of servicer/add and servicer/del.
const (
	itemSuccess = "success"
	itemIgnored = "ignored"
)

func itemOK(r kf.ServicerResult, msg string) kf.ServicerResult {
	r.ErrCode, r.ErrMsg = 0, msg
	return r
}

func itemErr(r kf.ServicerResult, code kf.ErrCode, msg string) kf.ServicerResult {
	r.ErrCode, r.ErrMsg = code, msg
	return r
}

// checkServicerLimits applies the per-call limits (40058 when exceeded).
func checkServicerLimits(nUsers, nDepts, maxDepts int) error {
	if nUsers > servicerUsersPerCall {
		return apiErr(kf.ErrCodeInvalidParameter, "userid_list has %d items, at most %d per call", nUsers, servicerUsersPerCall)
	}
	if nDepts > maxDepts {
		return apiErr(kf.ErrCodeInvalidParameter, "department_id_list has %d items, at most %d per call", nDepts, maxDepts)
	}
	return nil
}

type servicerResultsReply struct {
	Results []kf.ServicerResult `json:"result_list"`
}

// servicerAdd serves POST kf/servicer/add. Each user and department gets a
// result item: "success"; "ignored" when already a servicer (also for a
// repeat within the call); 60111 for an unknown userid; 95014 for a member
// who has not activated WeCom; 95005 when the account's servicer quota
// (Quotas.ServicerUsers / ServicerDepartments) is full.
func (s *Server) servicerAdd(c *call, st *State) (any, error) {
	var req kf.AddServicersRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	if err := checkServicerLimits(len(req.UserIDs), len(req.DepartmentIDs), servicerAddDeptsPerCall); err != nil {
		return nil, err
	}
	acc, err := st.managedAccount(req.OpenKfID)
	if err != nil {
		return nil, err
	}
	out := servicerResultsReply{Results: make([]kf.ServicerResult, 0, len(req.UserIDs)+len(req.DepartmentIDs))}
	for _, u := range req.UserIDs {
		it := kf.ServicerResult{UserID: u}
		m := st.users[u]
		switch {
		case acc.servicers[u] != nil:
			it = itemOK(it, itemIgnored)
		case m == nil:
			it = itemErr(it, kf.ErrCodeUserIDNotFound, "userid not exist")
		case !m.activated:
			it = itemErr(it, kf.ErrCodeNotServicer, "user not activated")
		case len(acc.servicers) >= s.cfg.quotas.ServicerUsers:
			it = itemErr(it, kf.ErrCodeAccountCountLimit, "servicer count exceed limit "+itoa(s.cfg.quotas.ServicerUsers))
		default:
			acc.addServicerUser(u)
			it = itemOK(it, itemSuccess)
		}
		out.Results = append(out.Results, it)
	}
	for _, d := range req.DepartmentIDs {
		it := kf.ServicerResult{DepartmentID: d}
		switch {
		case slices.Contains(acc.departments, d):
			it = itemOK(it, itemIgnored)
		case len(acc.departments) >= s.cfg.quotas.ServicerDepartments:
			it = itemErr(it, kf.ErrCodeAccountCountLimit, "servicer department count exceed limit "+itoa(s.cfg.quotas.ServicerDepartments))
		default:
			acc.departments = append(acc.departments, d)
			it = itemOK(it, itemSuccess)
		}
		out.Results = append(out.Results, it)
	}
	c.later(s.hub.publish)
	return out, nil
}

// servicerDel serves POST kf/servicer/del: "success", "ignored" when not a
// servicer, 60111 for an unknown userid. Sessions the removed servicer holds
// are left as they are.
func (s *Server) servicerDel(c *call, st *State) (any, error) {
	var req kf.DeleteServicersRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	if err := checkServicerLimits(len(req.UserIDs), len(req.DepartmentIDs), servicerDelDeptsPerCall); err != nil {
		return nil, err
	}
	acc, err := st.managedAccount(req.OpenKfID)
	if err != nil {
		return nil, err
	}
	out := servicerResultsReply{Results: make([]kf.ServicerResult, 0, len(req.UserIDs)+len(req.DepartmentIDs))}
	for _, u := range req.UserIDs {
		it := kf.ServicerResult{UserID: u}
		switch {
		case acc.servicers[u] != nil:
			delete(acc.servicers, u)
			acc.servicerOrder = slices.DeleteFunc(acc.servicerOrder, func(id string) bool { return id == u })
			it = itemOK(it, itemSuccess)
		case st.users[u] == nil:
			it = itemErr(it, kf.ErrCodeUserIDNotFound, "userid not exist")
		default:
			it = itemOK(it, itemIgnored)
		}
		out.Results = append(out.Results, it)
	}
	for _, d := range req.DepartmentIDs {
		it := kf.ServicerResult{DepartmentID: d}
		if i := slices.Index(acc.departments, d); i >= 0 {
			acc.departments = slices.Delete(acc.departments, i, i+1)
			it = itemOK(it, itemSuccess)
		} else {
			it = itemOK(it, itemIgnored)
		}
		out.Results = append(out.Results, it)
	}
	c.later(s.hub.publish)
	return out, nil
}

// servicerWire is one servicer/list entry. status and stop_type are sent
// only to apps that manage the account.
type servicerWire struct {
	UserID       string `json:"userid,omitempty"`
	DepartmentID int    `json:"department_id,omitempty"`
	Status       *int   `json:"status,omitempty"`
	StopType     *int   `json:"stop_type,omitempty"`
}

type servicerListReply struct {
	Servicers []servicerWire `json:"servicer_list"`
}

// servicerList serves GET kf/servicer/list?open_kfid=: users in the order
// they were added, then departments.
func (s *Server) servicerList(c *call, st *State) (any, error) {
	acc, err := st.lookupAccount(c.r.URL.Query().Get("open_kfid"))
	if err != nil {
		return nil, err
	}
	out := servicerListReply{Servicers: make([]servicerWire, 0, len(acc.servicerOrder)+len(acc.departments))}
	for _, u := range acc.servicerOrder {
		w := servicerWire{UserID: u}
		if acc.managed {
			status, stopType := 0, 0
			if m := st.users[u]; m != nil {
				status, stopType = m.status, m.stopType
			}
			w.Status, w.StopType = &status, &stopType
		}
		out.Servicers = append(out.Servicers, w)
	}
	for _, d := range acc.departments {
		out.Servicers = append(out.Servicers, servicerWire{DepartmentID: d})
	}
	return out, nil
}
