package kf

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// Per-call limits of servicer/add and servicer/del (shared/api-surface.md
// §1.5, §7). Larger inputs are split into several calls.
const (
	kfServicerUsersPerCall    = 100 // userid_list, add and del
	kfServicerAddDeptsPerCall = 20  // department_id_list, add
	kfServicerDelDeptsPerCall = 100 // department_id_list, del
)

// ServicerStatus is the reception status of a servicer (doc 94645).
type ServicerStatus int

// Servicer reception statuses.
const (
	ServicerReceiving ServicerStatus = 0 // 接待中
	ServicerStopped   ServicerStatus = 1 // 停止接待 (see ServicerStopType)
)

// String returns the status's English name.
func (s ServicerStatus) String() string {
	switch s {
	case ServicerReceiving:
		return "receiving"
	case ServicerStopped:
		return "stopped"
	}
	return "ServicerStatus(" + strconv.Itoa(int(s)) + ")"
}

// ServicerStopType says how a servicer whose status is ServicerStopped
// stopped receiving (doc 94645).
type ServicerStopType int

// Servicer stop types.
const (
	ServicerStopTypeStopped   ServicerStopType = 0 // 停止接待
	ServicerStopTypeSuspended ServicerStopType = 1 // 暂时挂起
)

// String returns the stop type's English name.
func (t ServicerStopType) String() string {
	switch t {
	case ServicerStopTypeStopped:
		return "stopped"
	case ServicerStopTypeSuspended:
		return "suspended"
	}
	return "ServicerStopType(" + strconv.Itoa(int(t)) + ")"
}

// Servicer is one entry of servicer/list (doc 94645): a user (UserID set) or
// a department (DepartmentID set).
type Servicer struct {
	// UserID is the servicer's userid (open_userid for third-party apps).
	UserID string `json:"userid,omitempty"`
	// DepartmentID is set for department entries.
	DepartmentID int `json:"department_id,omitempty"`
	// Status is the reception status. The platform returns it only to apps
	// with manage privilege on the account (Account.ManagePrivilege); it is
	// nil when absent, so that "receiving" (0) and "unknown" differ.
	Status *ServicerStatus `json:"status,omitempty"`
	// StopType is meaningful only when Status is ServicerStopped.
	StopType ServicerStopType `json:"stop_type"`
}

// ListServicersRequest is the request of ServicerService.List (doc 94645).
type ListServicersRequest struct {
	// OpenKfID is the account: required.
	OpenKfID string `json:"open_kfid"`
}

// Validate checks that OpenKfID is set. List calls it before sending.
func (r *ListServicersRequest) Validate() error {
	const op = "kf/servicer/list"
	if r == nil {
		return invalid(op, "request", "nil")
	}
	return kfCheckOpenKfID(op, r.OpenKfID)
}

// ListServicersResponse is the reply of ServicerService.List.
type ListServicersResponse struct {
	Servicers []Servicer `json:"servicer_list"`
}

// List returns the servicers (users and departments) of a KF account
// (GET servicer/list, doc 94645).
func (s *ServicerService) List(ctx context.Context, req *ListServicersRequest) (*ListServicersResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out ListServicersResponse
	if err := (*service)(s).get(ctx, "kf/servicer/list", "/cgi-bin/kf/servicer/list", url.Values{"open_kfid": {req.OpenKfID}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ServicerResult is the outcome for one user or department of a servicer
// add or delete. Items that were already in place (add) or already absent
// (delete) are reported with errcode 0 and errmsg "ignored".
type ServicerResult struct {
	// UserID is set for user items.
	UserID string `json:"userid,omitempty"`
	// DepartmentID is set for department items.
	DepartmentID int `json:"department_id,omitempty"`
	// ErrCode is the item's errcode; 0 means success (or ignored).
	ErrCode ErrCode `json:"errcode"`
	// ErrMsg is the item's errmsg: "success", "ignored", or an error text.
	ErrMsg string `json:"errmsg"`
}

// Err returns nil when the item succeeded (or was ignored) and otherwise an
// *APIError (operation "kf/servicer") carrying the item's code, so that
// errors.Is(r.Err(), ErrCodeNoPrivilege) and the like work.
func (r ServicerResult) Err() error {
	if r.ErrCode == 0 {
		return nil
	}
	return &APIError{Op: "kf/servicer", Code: r.ErrCode, Msg: r.ErrMsg}
}

// Ignored reports whether the platform skipped the item because there was
// nothing to do (already a servicer on add, not a servicer on delete). It
// reads errmsg, which the platform sets to "ignored" for such items.
func (r ServicerResult) Ignored() bool { return r.ErrCode == 0 && r.ErrMsg == "ignored" }

// AddServicersRequest is the request of ServicerService.Add (doc 94646).
type AddServicersRequest struct {
	// OpenKfID is the account: required.
	OpenKfID string `json:"open_kfid"`
	// UserIDs are the users to add (open_userid for third-party apps).
	UserIDs []string `json:"userid_list,omitempty"`
	// DepartmentIDs are the departments to add. At least one of UserIDs and
	// DepartmentIDs must be non-empty.
	DepartmentIDs []int `json:"department_id_list,omitempty"`
}

// Validate checks r: OpenKfID set, at least one id, no empty user id and no
// non-positive department id. It does not apply the per-call limits, since
// Add splits larger inputs. Add calls it before sending.
func (r *AddServicersRequest) Validate() error {
	if r == nil {
		return invalid("kf/servicer/add", "request", "nil")
	}
	return kfCheckServicerIDs("kf/servicer/add", r.OpenKfID, r.UserIDs, r.DepartmentIDs)
}

// AddServicersResponse is the reply of ServicerService.Add.
type AddServicersResponse struct {
	// Results holds one item per user and department, each with its own
	// Err. When the input was split into several calls it is the
	// concatenation of their result lists, in the order sent.
	Results []ServicerResult `json:"result_list"`
}

// Add adds users and departments as servicers of a KF account (servicer/add,
// doc 94646). Inputs over the per-call limits (100 users, 20 departments)
// are split: call i carries the i-th chunk of users and the i-th chunk of
// departments, so 250 users make 3 calls of 100, 100 and 50. Check every
// item's Err: the call succeeds even when single items fail.
//
// When a call fails, Add stops and returns the results of the calls that
// succeeded (already applied) together with the error. Adding a servicer
// twice is harmless, so calls are retried when their outcome is unknown; a
// replayed item then reads as ignored.
func (s *ServicerService) Add(ctx context.Context, req *AddServicersRequest) (*AddServicersResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	res, err := (*service)(s).changeServicers(ctx, "kf/servicer/add", "/cgi-bin/kf/servicer/add", req.OpenKfID, req.UserIDs, req.DepartmentIDs, kfServicerAddDeptsPerCall)
	if res == nil {
		return nil, err
	}
	return &AddServicersResponse{Results: res}, err
}

// DeleteServicersRequest is the request of ServicerService.Delete (doc
// 94647).
type DeleteServicersRequest struct {
	// OpenKfID is the account: required.
	OpenKfID string `json:"open_kfid"`
	// UserIDs are the users to remove (open_userid for third-party apps).
	UserIDs []string `json:"userid_list,omitempty"`
	// DepartmentIDs are the departments to remove. At least one of UserIDs
	// and DepartmentIDs must be non-empty.
	DepartmentIDs []int `json:"department_id_list,omitempty"`
}

// Validate checks r as AddServicersRequest.Validate does. Delete calls it
// before sending.
func (r *DeleteServicersRequest) Validate() error {
	if r == nil {
		return invalid("kf/servicer/del", "request", "nil")
	}
	return kfCheckServicerIDs("kf/servicer/del", r.OpenKfID, r.UserIDs, r.DepartmentIDs)
}

// DeleteServicersResponse is the reply of ServicerService.Delete.
type DeleteServicersResponse struct {
	// Results holds one item per user and department, as in
	// AddServicersResponse.
	Results []ServicerResult `json:"result_list"`
}

// Delete removes users and departments from the servicers of a KF account
// (servicer/del, doc 94647). Inputs over the per-call limits (100 users, 100
// departments) are split as in Add, with the same partial-failure rule.
func (s *ServicerService) Delete(ctx context.Context, req *DeleteServicersRequest) (*DeleteServicersResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	res, err := (*service)(s).changeServicers(ctx, "kf/servicer/del", "/cgi-bin/kf/servicer/del", req.OpenKfID, req.UserIDs, req.DepartmentIDs, kfServicerDelDeptsPerCall)
	if res == nil {
		return nil, err
	}
	return &DeleteServicersResponse{Results: res}, err
}

// kfCheckServicerIDs checks the fields of a servicer add or delete.
func kfCheckServicerIDs(op, openKfID string, users []string, depts []int) error {
	if err := kfCheckOpenKfID(op, openKfID); err != nil {
		return err
	}
	if len(users) == 0 && len(depts) == 0 {
		return invalid(op, "userid_list", "userid_list and department_id_list are both empty")
	}
	for i, u := range users {
		if u == "" {
			return invalid(op, "userid_list", "item %d is empty", i)
		}
	}
	for i, d := range depts {
		if d <= 0 {
			return invalid(op, "department_id_list", "item %d is %d, want a positive department id", i, d)
		}
	}
	return nil
}

// changeServicers sends a validated servicer add or delete in as many calls
// as the per-call limits require, merging the result lists in order. On
// failure it returns the results gathered so far (nil if the first call
// failed) and the error.
func (s *service) changeServicers(ctx context.Context, op, path, openKfID string, users []string, depts []int, deptsPerCall int) ([]ServicerResult, error) {
	calls := max(kfChunkCount(len(users), kfServicerUsersPerCall), kfChunkCount(len(depts), deptsPerCall))
	results := make([]ServicerResult, 0, len(users)+len(depts))
	for i := range calls {
		body := AddServicersRequest{
			OpenKfID:      openKfID,
			UserIDs:       kfChunk(users, i, kfServicerUsersPerCall),
			DepartmentIDs: kfChunk(depts, i, deptsPerCall),
		}
		var out AddServicersResponse
		if err := s.post(ctx, op, path, &body, &out, true); err != nil {
			if i == 0 {
				return nil, err
			}
			return results, fmt.Errorf("%w (call %d of %d failed; the results of the calls before it are returned)", err, i+1, calls)
		}
		results = append(results, out.Results...)
	}
	return results, nil
}

// kfChunkCount returns how many chunks of at most size items n items make.
func kfChunkCount(n, size int) int { return (n + size - 1) / size }

// kfChunk returns the i-th chunk of at most size items of s (nil past the
// end).
func kfChunk[T any](s []T, i, size int) []T {
	lo := i * size
	if lo >= len(s) {
		return nil
	}
	return s[lo:min(lo+size, len(s))]
}
