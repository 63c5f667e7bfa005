package kfsync

import (
	"errors"
	"maps"
	"sync/atomic"
	"time"

	"github.com/wxkf/kf"
)

// Stage says where a failure happened.
type Stage string

// Stages of a pull.
const (
	StageSync    Stage = "sync"    // the sync_msg call
	StageHandler Stage = "handler" // the Handler or BatchHandler
	StageStore   Stage = "store"   // Load, Seen, Mark, Save or Commit
	StageLease   Stage = "lease"   // Acquire or Renew, or a lost lease
)

// PageEvent describes one pulled page, after it was handled and committed.
type PageEvent struct {
	OpenKfID   string
	Messages   int           // messages in the page
	Handled    int           // messages handled now
	Duplicates int           // messages skipped as already handled
	HasMore    bool          // has_more of the page
	WithToken  bool          // the pull used a callback token (not the tokenless path)
	Lag        time.Duration // now − send_time of the page's last message (0 for an empty page)
	Duration   time.Duration // from the sync_msg call to the end of the commit
}

// ErrorEvent describes a failure. The account backs off for Retry (0 when
// the failure is retried at once, for example a rejected token).
type ErrorEvent struct {
	OpenKfID   string
	Stage      Stage
	Code       kf.ErrCode // the platform errcode, 0 when not a platform error
	HTTPStatus int        // the HTTP status of a non-200 reply, else 0
	Err        error
	Retry      time.Duration
}

// TokenKind classifies a TokenEvent.
type TokenKind string

// Token events.
const (
	TokenReceived TokenKind = "received" // Notify queued a new token
	TokenExpired  TokenKind = "expired"  // a queued token passed its TTL unused or used
	TokenRejected TokenKind = "rejected" // sync_msg answered 95007 for it; it was dropped
)

// TokenEvent reports a change to an account's callback tokens.
type TokenEvent struct {
	OpenKfID string
	Kind     TokenKind
}

// Hooks receives metrics from a Syncer. Every field is optional. The hooks
// are called synchronously from the account's worker (Token hooks also from
// Notify) and must be quick and safe for concurrent use.
type Hooks struct {
	// Page is called after each page was handled and committed.
	Page func(PageEvent)
	// Error is called for each failure.
	Error func(ErrorEvent)
	// Token is called when tokens are queued, expire or are rejected.
	Token func(TokenEvent)
	// LeaseLost is called when a worker loses its lease.
	LeaseLost func(openKfID string, fence int64)
}

// Stats is a snapshot of a Syncer's counters (since New).
type Stats struct {
	Handled        int64 // messages handled successfully
	Duplicates     int64 // messages skipped as already handled
	Pages          int64 // pages pulled
	EmptyPages     int64 // pages without messages
	PagesWithToken int64 // pages pulled with a callback token
	PagesTokenless int64 // pages pulled without one (rate-limited path)
	Commits        int64 // Commit or Save calls that succeeded
	Pulls          int64 // pulls that reached has_more=0
	Polls          int64 // pulls started by the safety poll
	Notifies       int64 // Notify calls
	TokensReceived int64 // distinct tokens queued
	TokensExpired  int64 // tokens dropped after their TTL
	TokensRejected int64 // tokens dropped after a 95007 answer
	LeaseLost      int64 // leases lost while working
	LeaseBusy      int64 // pulls deferred because another owner held the lease
	Errors         int64 // failures, all stages

	// ErrorsByStage counts failures per stage.
	ErrorsByStage map[Stage]int64
	// ErrorsByCode counts the platform errcodes of sync_msg failures.
	ErrorsByCode map[kf.ErrCode]int64
	// ErrorsByHTTPStatus counts sync_msg replies with an HTTP status other
	// than 200 and no errcode (for example 502).
	ErrorsByHTTPStatus map[int]int64
	// Accounts has one entry per known account.
	Accounts map[string]AccountStats
}

// AccountStats is the state of one account.
type AccountStats struct {
	Cursor        string        // last committed cursor seen by this Syncer
	Handled       int64         // messages handled
	Running       bool          // a worker is active (pulling or backing off)
	Pending       bool          // a pull is requested
	Tokens        int           // queued callback tokens (some may be expired)
	Failures      int           // consecutive failures (reset after a healthy period)
	LastError     string        // the last failure, if any
	LastPull      time.Time     // end of the last complete pull
	LastMessage   time.Time     // send_time of the last message seen
	Lag           time.Duration // lag of the last non-empty page
	NextRetryWait time.Duration // the last backoff delay
}

// counters are the Syncer's global counters.
type counters struct {
	handled, duplicates, pages, emptyPages, pagesToken, pagesTokenless atomic.Int64
	commits, pulls, polls, notifies                                    atomic.Int64
	tokensReceived, tokensExpired, tokensRejected                      atomic.Int64
	leaseLost, leaseBusy, errors                                       atomic.Int64
}

// errorCode extracts the platform code and HTTP status of err.
func errorCode(err error) (kf.ErrCode, int) {
	var ae *kf.APIError
	if errors.As(err, &ae) {
		return ae.Code, ae.HTTPStatus
	}
	return 0, 0
}

// Stats returns a snapshot of the counters and of every known account.
func (s *Syncer) Stats() Stats {
	c := &s.ctr
	st := Stats{
		Handled: c.handled.Load(), Duplicates: c.duplicates.Load(),
		Pages: c.pages.Load(), EmptyPages: c.emptyPages.Load(),
		PagesWithToken: c.pagesToken.Load(), PagesTokenless: c.pagesTokenless.Load(),
		Commits: c.commits.Load(), Pulls: c.pulls.Load(), Polls: c.polls.Load(),
		Notifies: c.notifies.Load(), TokensReceived: c.tokensReceived.Load(),
		TokensExpired: c.tokensExpired.Load(), TokensRejected: c.tokensRejected.Load(),
		LeaseLost: c.leaseLost.Load(), LeaseBusy: c.leaseBusy.Load(), Errors: c.errors.Load(),
		Accounts: map[string]AccountStats{},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.ErrorsByStage = maps.Clone(s.byStage)
	st.ErrorsByCode = maps.Clone(s.byCode)
	st.ErrorsByHTTPStatus = maps.Clone(s.byStatus)
	for id, a := range s.accounts {
		st.Accounts[id] = AccountStats{
			Cursor: a.cursor, Handled: a.handled, Running: a.running, Pending: a.pending,
			Tokens: len(a.tokens), Failures: a.backoff.failures, LastError: a.lastErr,
			LastPull: a.lastPull, LastMessage: a.lastMsg, Lag: a.lag, NextRetryWait: a.lastDelay,
		}
	}
	return st
}
