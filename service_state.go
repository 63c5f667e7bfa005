package kf

import (
	"context"
	"strconv"
)

// ServiceState is the state of a customer's session with a KF account
// (service_state, doc 94669; shared/api-surface.md §4).
type ServiceState int

// Session states.
const (
	// StateUntreated (0, 未处理): a new session, the customer has written.
	// The API may reply, queue the session or assign a servicer.
	StateUntreated ServiceState = 0
	// StateBot (1, 由智能助手接待): handled by the API or the smart assistant,
	// which may reply, queue the session or assign a servicer.
	StateBot ServiceState = 1
	// StateQueued (2, 待接入池排队中): waiting in the pool for a servicer.
	StateQueued ServiceState = 2
	// StateServicer (3, 由人工接待): handled by a human servicer; it may be
	// transferred to another servicer or ended.
	StateServicer ServiceState = 3
	// StateEnded (4, 已结束/未开始): ended, or not started (the customer
	// entered but has not written). The API cannot change it; a customer
	// message moves it to StateUntreated.
	StateEnded ServiceState = 4
)

// String returns the state's English name ("untreated", "bot", "queued",
// "servicer", "ended").
func (s ServiceState) String() string {
	switch s {
	case StateUntreated:
		return "untreated"
	case StateBot:
		return "bot"
	case StateQueued:
		return "queued"
	case StateServicer:
		return "servicer"
	case StateEnded:
		return "ended"
	}
	return "ServiceState(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is one of the five documented states.
func (s ServiceState) Valid() bool { return s >= StateUntreated && s <= StateEnded }

// CanTransition reports whether service_state/trans may move a session from
// state from to state to, with a short reason either way. It expresses the
// documented table (shared/api-surface.md §4):
//
//	from \ to   0   1   2   3   4
//	0           -   ✔   ✔   ✔   ✔*
//	1           ✗   -   ✔   ✔   ✔*
//	2           ✗   ✗   -   ✔   ✔*
//	3           ✗   ✗   ✗   ✔   ✔
//	4           ✗   ✗   ✗   ✗   ✗
//
// 3 → 3 transfers the session to another servicer, and every move to 3
// needs a servicer. The platform refuses forbidden moves with
// ErrCodeStateTransitionForbidden (95016), and any move out of 4 with
// ErrCodeSessionEnded (95013).
//
// * Ending a session from 0, 1 or 2 is not stated by the documentation's
// text (its flow chart may allow it; community code ends queued sessions).
// CanTransition allows these moves, leaving the final word to the platform.
//
// The client does not call CanTransition before Transfer, since the caller's
// idea of the current state may be stale; it is meant for callers that track
// states and for the kftest emulator.
func CanTransition(from, to ServiceState) (ok bool, reason string) {
	switch {
	case !from.Valid():
		return false, "unknown source state " + from.String()
	case !to.Valid():
		return false, "unknown target state " + to.String()
	case from == StateEnded:
		return false, "an ended session cannot be changed through the API; a customer message reopens it as untreated"
	case to == StateUntreated:
		return false, "no API transition leads back to untreated"
	case from == to && to != StateServicer:
		return false, "the session is already " + to.String()
	case to < from:
		return false, "cannot move back from " + from.String() + " to " + to.String()
	case from == StateServicer && to == StateServicer:
		return true, "transfer to another servicer (servicer_userid required)"
	case to == StateServicer:
		return true, "assign a servicer (servicer_userid required)"
	case to == StateEnded && from != StateServicer:
		return true, "end the session (allowed here although undocumented; the platform may refuse)"
	case to == StateEnded:
		return true, "end the session"
	case to == StateQueued:
		return true, "put the session into the waiting pool"
	default: // 0 → 1
		return true, "hand the session to the bot"
	}
}

// SessionStateRequest is the request of SessionService.State (doc 94669).
type SessionStateRequest struct {
	// OpenKfID is the account: required.
	OpenKfID string `json:"open_kfid"`
	// ExternalUserID is the customer: required.
	ExternalUserID string `json:"external_userid"`
}

// Validate checks that both fields are set. State calls it before sending.
func (r *SessionStateRequest) Validate() error {
	const op = "kf/service_state/get"
	if r == nil {
		return invalid(op, "request", "nil")
	}
	if err := kfCheckOpenKfID(op, r.OpenKfID); err != nil {
		return err
	}
	return kfCheckRequired(op, "external_userid", r.ExternalUserID)
}

// SessionStateResponse is the reply of SessionService.State.
type SessionStateResponse struct {
	// ServiceState is the current state of the session.
	ServiceState ServiceState `json:"service_state"`
	// ServicerUserID is the servicer handling the session; it is valid only
	// when ServiceState is StateServicer (open_userid for third-party apps).
	ServicerUserID string `json:"servicer_userid,omitempty"`
}

// State returns the state of a customer's session (service_state/get, doc
// 94669).
func (s *SessionService) State(ctx context.Context, req *SessionStateRequest) (*SessionStateResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out SessionStateResponse
	if err := (*service)(s).post(ctx, "kf/service_state/get", "/cgi-bin/kf/service_state/get", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// TransferRequest is the request of SessionService.Transfer (doc 94669).
type TransferRequest struct {
	// OpenKfID is the account: required.
	OpenKfID string `json:"open_kfid"`
	// ExternalUserID is the customer: required.
	ExternalUserID string `json:"external_userid"`
	// ServiceState is the target state (see CanTransition). It is always
	// sent, 0 included.
	ServiceState ServiceState `json:"service_state"`
	// ServicerUserID is the servicer to assign: required when ServiceState
	// is StateServicer. The servicer must be receiving (else 95019) and must
	// have activated WeCom (else 95014).
	ServicerUserID string `json:"servicer_userid,omitempty"`
}

// Validate refuses what is certainly wrong: a missing account or customer,
// an unknown target state, a missing servicer for StateServicer. Whether the
// move is allowed from the current state is left to the platform (see
// CanTransition). Transfer calls it before sending.
func (r *TransferRequest) Validate() error {
	const op = "kf/service_state/trans"
	if r == nil {
		return invalid(op, "request", "nil")
	}
	if err := kfCheckOpenKfID(op, r.OpenKfID); err != nil {
		return err
	}
	if err := kfCheckRequired(op, "external_userid", r.ExternalUserID); err != nil {
		return err
	}
	if !r.ServiceState.Valid() {
		return invalid(op, "service_state", "%d is not a state (0..4)", int(r.ServiceState))
	}
	if r.ServiceState == StateServicer && r.ServicerUserID == "" {
		return invalid(op, "servicer_userid", "required when service_state is 3 (servicer)")
	}
	return nil
}

// TransferResponse is the reply of SessionService.Transfer.
type TransferResponse struct {
	// MsgCode is returned when the session first enters StateQueued or
	// StateServicer (a code for the reply phrase) or enters StateEnded (a
	// code for the ending phrase); use it with send_msg_on_event.
	MsgCode string `json:"msg_code,omitempty"`
}

// Transfer changes the state of a customer's session (service_state/trans,
// doc 94669). Only what is certainly wrong is refused before sending (an
// unknown target state, a missing servicer for StateServicer); moves that
// the table of CanTransition forbids are left to the platform, which
// answers ErrCodeStateTransitionForbidden or ErrCodeSessionEnded. A transfer
// is not idempotent (a replay could move the session again), so it is never
// retried once it may have reached the platform.
func (s *SessionService) Transfer(ctx context.Context, req *TransferRequest) (*TransferResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out TransferResponse
	if err := (*service)(s).post(ctx, "kf/service_state/trans", "/cgi-bin/kf/service_state/trans", req, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}
