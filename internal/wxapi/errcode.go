package wxapi

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrCode is a WeChat / WeCom server errcode. It is a defined integer type so
// that callers can match codes with errors.Is(err, code) and ask the code
// how to react through its classification methods.
//
// ErrCode implements error only so that it can be the target of errors.Is;
// the errors returned by the clients are *APIError values.
type ErrCode int

// Class groups codes by what a caller should do about them.
type Class uint8

// Classes of error codes.
const (
	ClassUnknown   Class = iota // not in the catalogue
	ClassRetryable              // transient: retry with backoff
	ClassRateLimit              // frequency or concurrency limit: back off, do not retry blindly
	ClassToken                  // access_token problem: refresh and replay once
	ClassConfig                 // configuration or permission problem: fix the setup
	ClassRequest                // the request is invalid: fix the request
	ClassState                  // the platform state forbids it now (session, window, quota)
)

// codeInfo is one row of the errcode catalogue.
type codeInfo struct {
	name    string
	meaning string
	remedy  string
	class   Class
}

// Describe registers a code in the catalogue used by String, Meaning, Remedy
// and the classification methods. It is meant for package initialisation of
// the catalogue files of this package only.
func describe(m map[ErrCode]codeInfo, c ErrCode, name string, class Class, meaning, remedy string) {
	m[c] = codeInfo{name: name, meaning: meaning, remedy: remedy, class: class}
}

// catalogue is read-only after package initialisation.
var catalogue = buildCatalogue()

func (c ErrCode) info() (codeInfo, bool) {
	i, ok := catalogue[c]
	return i, ok
}

// String returns the catalogue name of the code (for example
// "SessionStatusInvalid"), or "ErrCode(N)" for a code not in the catalogue.
func (c ErrCode) String() string {
	if i, ok := c.info(); ok {
		return i.name
	}
	return "ErrCode(" + strconv.Itoa(int(c)) + ")"
}

// Error makes a code usable as an errors.Is target.
func (c ErrCode) Error() string {
	return fmt.Sprintf("errcode %d (%s)", int(c), c.String())
}

// Meaning returns a one-line English explanation of the code, or "" when the
// code is not in the catalogue.
func (c ErrCode) Meaning() string {
	i, _ := c.info()
	return i.meaning
}

// Remedy returns a one-line suggestion of what to do about the code, or ""
// when there is none.
func (c ErrCode) Remedy() string {
	i, _ := c.info()
	return i.remedy
}

// Class returns the classification of the code.
func (c ErrCode) Class() Class {
	i, _ := c.info()
	return i.class
}

// Known reports whether the code is in the catalogue.
func (c ErrCode) Known() bool {
	_, ok := c.info()
	return ok
}

// Retryable reports whether a call that failed with the code may simply be
// tried again after a short backoff (system busy). Rate limits (45009,
// 45033) are not retryable in this sense: see RateLimited.
func (c ErrCode) Retryable() bool { return c.Class() == ClassRetryable }

// RateLimited reports whether the code is a frequency or concurrency limit.
func (c ErrCode) RateLimited() bool {
	return c.Class() == ClassRateLimit
}

// TokenProblem reports whether the code says the access_token is missing,
// invalid or expired.
func (c ErrCode) TokenProblem() bool { return c.Class() == ClassToken }

// ConfigProblem reports whether the code points at the setup (corp id,
// secret, permissions, API switches, IP allow-list) rather than the request.
func (c ErrCode) ConfigProblem() bool { return c.Class() == ClassConfig }

// APIError is a reply from the platform that carries a non-zero errcode, or
// an HTTP status other than 200.
type APIError struct {
	// Op is the operation, for example "kf/send_msg".
	Op string
	// Code is the platform errcode (0 when only the HTTP status was wrong).
	Code ErrCode
	// Msg is the platform errmsg, verbatim (it carries a hint id useful to
	// WeChat support). Never match on it.
	Msg string
	// HTTPStatus is the HTTP status code of the reply when it was not 200,
	// and 0 otherwise.
	HTTPStatus int
}

// Error implements error. It names the operation, the code, the catalogue
// name and the remedy when one is known.
func (e *APIError) Error() string {
	var s string
	if e.HTTPStatus != 0 && e.Code == 0 {
		s = fmt.Sprintf("%s: HTTP %d", e.Op, e.HTTPStatus)
		if e.Msg != "" {
			s += ": " + e.Msg
		}
		return s
	}
	s = fmt.Sprintf("%s: errcode %d (%s)", e.Op, int(e.Code), e.Code.String())
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if r := e.Code.Remedy(); r != "" {
		s += "; remedy: " + r
	}
	return s
}

// Is lets errors.Is match an *APIError against an ErrCode.
func (e *APIError) Is(target error) bool {
	if c, ok := target.(ErrCode); ok {
		return e.Code == c && (e.Code != 0 || e.HTTPStatus == 0)
	}
	return false
}

// Retryable reports whether the failed call may be tried again: HTTP 5xx or
// a retryable code.
func (e *APIError) Retryable() bool {
	if e.HTTPStatus >= 500 {
		return true
	}
	return e.Code.Retryable()
}

// Temporary is an alias of Retryable for callers that look for it.
func (e *APIError) Temporary() bool { return e.Retryable() }

// RateLimitError is returned for frequency (45009) and concurrency (45033)
// limits. It wraps the *APIError, so errors.Is(err, code) and
// errors.As(err, **APIError) both work. The transport never retries it
// blindly; RetryAfter is the earliest sensible time to try again.
type RateLimitError struct {
	Err        *APIError
	RetryAfter time.Duration
}

// Error implements error.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s (rate limited: retry after %s)", e.Err.Error(), e.RetryAfter)
}

// Unwrap returns the underlying *APIError.
func (e *RateLimitError) Unwrap() error { return e.Err }

// ErrOutcomeUnknown is wrapped into the error of a write that failed in a
// way that leaves its outcome unknown (for example the connection dropped
// after the request was sent) and that could not be retried safely.
var ErrOutcomeUnknown = errors.New("outcome unknown: the request may have been applied")
