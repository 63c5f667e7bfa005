package mp

import (
	"errors"
	"fmt"

	"github.com/wxkf/kf/internal/wxapi"
)

// ErrCode is a platform errcode. Match it with errors.Is:
//
//	if errors.Is(err, mp.ErrCodeWorkerOffline) { ... }
//
// Its methods classify the code (Retryable, RateLimited, TokenProblem,
// ConfigProblem) and explain it (String, Meaning, Remedy). It is the same
// type as package kf's ErrCode.
type ErrCode = wxapi.ErrCode

// APIError is a reply with a non-zero errcode (or a non-200 HTTP status).
// Get it with errors.As; its Error text carries the remedy when one is known.
type APIError = wxapi.APIError

// RateLimitError wraps the *APIError of a frequency limit (45009) with the
// earliest sensible time to try again. The client never retries it by
// itself.
type RateLimitError = wxapi.RateLimitError

// TransportError is a network failure of one attempt (wrapped with the
// operation name; the URL inside never carries the access_token or the
// secret).
type TransportError = wxapi.TransportError

// DecodeError is a reply that could not be decoded.
type DecodeError = wxapi.DecodeError

// ErrOutcomeUnknown is wrapped into the error of a write that failed after
// the request may have reached the platform and that was not retried
// because a retry could apply it twice (custom messages, account creation).
var ErrOutcomeUnknown = wxapi.ErrOutcomeUnknown

// ErrNotReplayable is wrapped into the error of an upload whose body is not
// an io.Seeker and so could not be sent again.
var ErrNotReplayable = wxapi.ErrNotReplayable

// ErrRepeatedCursor is returned (wrapped) by Records.All when the platform
// hands back a msgid that does not move the paging forward.
var ErrRepeatedCursor = errors.New("platform repeated a paging msgid")

// ErrInvalidRequest is matched (errors.Is) by every *ValidationError.
var ErrInvalidRequest = errors.New("invalid request")

// ValidationError reports a request that breaks a documented rule. It is
// returned before anything is sent.
type ValidationError struct {
	Op     string // operation, e.g. "mp/kfaccount/add"
	Field  string // JSON field path, e.g. "kf_account"
	Reason string // what is wrong
}

// Error implements error.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("%s: invalid %s: %s", e.Op, e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidRequest) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidRequest }

func invalid(op, field, format string, args ...any) error {
	return &ValidationError{Op: op, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Error codes of the Official Account customer-service APIs
// (shared/api-surface.md §8.8). Each name is "ErrCode" followed by the
// code's String() name; Meaning and Remedy explain it.
const (
	ErrCodeSystemBusy         ErrCode = -1    // system busy: retried automatically
	ErrCodeOK                 ErrCode = 0     // success
	ErrCodeInvalidCredential  ErrCode = 40001 // invalid AppSecret (token fetch) or invalid access_token: refreshed once
	ErrCodeInvalidUserID      ErrCode = 40003 // invalid openid
	ErrCodeInvalidAccessToken ErrCode = 40014 // invalid access_token: refreshed once
	ErrCodeInvalidAccountType ErrCode = 40200 // invalid account type (msgmenu on a test or subscription account)
	ErrCodeAccessTokenMissing ErrCode = 41001 // access_token missing
	ErrCodeAccessTokenExpired ErrCode = 42001 // access_token expired: refreshed once
	ErrCodeContentTooLong     ErrCode = 45002 // content too long
	ErrCodeTooManyArticles    ErrCode = 45008 // news with more than one article
	ErrCodeFrequencyLimit     ErrCode = 45009 // daily or frequency quota reached (a *RateLimitError)
	ErrCodeReplyTimeLimit     ErrCode = 45015 // outside the customer-message window (48 h after the user's last message)
	ErrCodeOutOfMessageCount  ErrCode = 45047 // too many customer messages for this user interaction
	ErrCodeAPIUnauthorized    ErrCode = 48001 // API not authorised for this account (verification, permissions)

	ErrCodeKfNotEnabled          ErrCode = 65400 // new customer service not enabled
	ErrCodeInvalidKfAccount      ErrCode = 65401 // invalid (unknown) kf_account
	ErrCodeKfAccountNotBound     ErrCode = 65402 // kf_account not bound to a WeChat ID
	ErrCodeInvalidKfNickname     ErrCode = 65403 // invalid nickname
	ErrCodeInvalidKfAccountName  ErrCode = 65404 // invalid kf_account form
	ErrCodeKfAccountLimit        ErrCode = 65405 // account count reached the limit (100)
	ErrCodeKfAccountExists       ErrCode = 65406 // account already exists
	ErrCodeAlreadyWorker         ErrCode = 65407 // invitee is already a worker of this account
	ErrCodeAlreadyInvited        ErrCode = 65408 // invitee already invited
	ErrCodeInvalidWeChatID       ErrCode = 65409 // invalid WeChat ID
	ErrCodeWorkerBoundTooMany    ErrCode = 65410 // worker bound to too many Official Accounts
	ErrCodeInvitationPending     ErrCode = 65411 // an invitation for this account is pending
	ErrCodeAccountAlreadyBound   ErrCode = 65412 // account already bound to a worker
	ErrCodeNoSession             ErrCode = 65413 // the user has no session
	ErrCodeServedByAnotherWorker ErrCode = 65414 // the user is served by another worker
	ErrCodeWorkerOffline         ErrCode = 65415 // the worker is not online
	ErrCodeInvalidQueryParams    ErrCode = 65416 // invalid chat-record query parameters
)

// required reports an empty value of a required field.
func required(op, field, v string) error {
	if v == "" {
		return invalid(op, field, "required")
	}
	return nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
