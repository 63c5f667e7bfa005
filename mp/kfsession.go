package mp

import (
	"context"
	"net/url"
)

// Session control (会话控制; shared/api-surface.md §8.3; official pages
// customer/messctrl/*).

// Operations and paths of the session endpoints.
const (
	opSessionCreate  = "mp/kfsession/create"
	opSessionClose   = "mp/kfsession/close"
	opSessionGet     = "mp/kfsession/getsession"
	opSessionList    = "mp/kfsession/getsessionlist"
	opSessionWaiting = "mp/kfsession/getwaitcase"

	pathSessionCreate  = "/customservice/kfsession/create"
	pathSessionClose   = "/customservice/kfsession/close"
	pathSessionGet     = "/customservice/kfsession/getsession"
	pathSessionList    = "/customservice/kfsession/getsessionlist"
	pathSessionWaiting = "/customservice/kfsession/getwaitcase"
)

// CreateSessionRequest is the request of SessionService.Create.
type CreateSessionRequest struct {
	// KfAccount is the worker's account, prefix@wechatid (required). Its
	// worker must be online.
	KfAccount string `json:"kf_account"`
	// OpenID is the user's openid (required).
	OpenID string `json:"openid"`
	// Text is a note shown to the worker in the legacy customer-service
	// client (optional, legacy; the current docs do not list it).
	Text string `json:"text,omitempty"`
}

// Validate checks r. Create calls it before sending.
func (r *CreateSessionRequest) Validate() error {
	if r == nil {
		return invalid(opSessionCreate, "request", "nil")
	}
	return firstErr(checkKfAccount(opSessionCreate, "kf_account", r.KfAccount), required(opSessionCreate, "openid", r.OpenID))
}

// Create hands a user to a worker: it opens a session between the
// account's worker and the user (POST /customservice/kfsession/create).
// From then on the user's messages go to the worker instead of the
// developer's server, until the session is closed. The worker must be bound
// and online (otherwise ErrCodeWorkerOffline; see Accounts.ListOnline); the
// worker's automatic-accept limit does not apply. Creating a session that
// already exists succeeds, so the call is retried when its outcome is
// unknown. Other errors: ErrCodeKfNotEnabled, ErrCodeInvalidKfAccount,
// ErrCodeKfAccountNotBound, ErrCodeInvalidUserID.
func (s *SessionService) Create(ctx context.Context, req *CreateSessionRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, opSessionCreate, pathSessionCreate, req, nil, true)
}

// CloseSessionRequest is the request of SessionService.Close.
type CloseSessionRequest struct {
	// KfAccount is the account of the worker serving the user,
	// prefix@wechatid (required).
	KfAccount string `json:"kf_account"`
	// OpenID is the user's openid (required).
	OpenID string `json:"openid"`
	// Text is a note shown to the worker in the legacy customer-service
	// client (optional, legacy).
	Text string `json:"text,omitempty"`
}

// Validate checks r. Close calls it before sending.
func (r *CloseSessionRequest) Validate() error {
	if r == nil {
		return invalid(opSessionClose, "request", "nil")
	}
	return firstErr(checkKfAccount(opSessionClose, "kf_account", r.KfAccount), required(opSessionClose, "openid", r.OpenID))
}

// Close ends a user's session with a worker (POST
// /customservice/kfsession/close); the user's messages go to the
// developer's server again. It fails with ErrCodeNoSession when the user has
// no session (nothing to close) and with ErrCodeServedByAnotherWorker when
// another worker serves the user (Get tells which). A close cannot apply
// twice, so it is retried when its outcome is unknown; ErrCodeNoSession after
// such a retry means the first attempt closed the session.
func (s *SessionService) Close(ctx context.Context, req *CloseSessionRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, opSessionClose, pathSessionClose, req, nil, true)
}

// GetSessionResponse is the reply of SessionService.Get.
type GetSessionResponse struct {
	// CreateTime is when the session started, in unix seconds.
	CreateTime int64 `json:"createtime"`
	// KfAccount is the account of the worker serving the user; empty when
	// nobody serves the user.
	KfAccount string `json:"kf_account"`
}

// Served reports whether a worker serves the user.
func (r *GetSessionResponse) Served() bool { return r.KfAccount != "" }

// Get returns a user's session: who serves the user and since when (GET
// /customservice/kfsession/getsession?openid=). An empty KfAccount means no
// worker serves the user.
func (s *SessionService) Get(ctx context.Context, openID string) (*GetSessionResponse, error) {
	if err := required(opSessionGet, "openid", openID); err != nil {
		return nil, err
	}
	var out GetSessionResponse
	if err := (*service)(s).get(ctx, opSessionGet, pathSessionGet, url.Values{"openid": {openID}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SessionItem is one session of a worker.
type SessionItem struct {
	// CreateTime is when the session started, in unix seconds.
	CreateTime int64 `json:"createtime"`
	// OpenID is the user's openid.
	OpenID string `json:"openid"`
}

// ListSessionsResponse is the reply of SessionService.List.
type ListSessionsResponse struct {
	// Sessions are the worker's current sessions.
	Sessions []SessionItem `json:"sessionlist"`
}

// List returns the sessions a worker is serving (GET
// /customservice/kfsession/getsessionlist?kf_account=).
func (s *SessionService) List(ctx context.Context, kfAccount string) (*ListSessionsResponse, error) {
	if err := checkKfAccount(opSessionList, "kf_account", kfAccount); err != nil {
		return nil, err
	}
	var out ListSessionsResponse
	if err := (*service)(s).get(ctx, opSessionList, pathSessionList, url.Values{"kf_account": {kfAccount}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WaitCase is a user waiting in the queue for a worker.
type WaitCase struct {
	// LatestTime is when the user last wrote, in unix seconds.
	LatestTime int64 `json:"latest_time"`
	// OpenID is the user's openid.
	OpenID string `json:"openid"`
}

// ListWaitingResponse is the reply of SessionService.ListWaiting.
type ListWaitingResponse struct {
	// Count is the number of users waiting, which may exceed
	// len(WaitCases).
	Count int `json:"count"`
	// WaitCases are the waiting users, at most the 100 earliest.
	WaitCases []WaitCase `json:"waitcaselist"`
}

// ListWaiting returns the queue of users waiting for a worker (GET
// /customservice/kfsession/getwaitcase): the total count and at most the 100
// earliest users. Take a user off the queue with Create.
func (s *SessionService) ListWaiting(ctx context.Context) (*ListWaitingResponse, error) {
	var out ListWaitingResponse
	if err := (*service)(s).get(ctx, opSessionWaiting, pathSessionWaiting, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
