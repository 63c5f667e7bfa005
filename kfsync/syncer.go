package kfsync

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxkf/kf"
)

// Handler handles one message. It is called at least once for every message
// (exactly once unless the commit after the handler's return does not happen:
// a crash, a store failure or a lost lease, see the package doc), in the order of the account's stream, never
// concurrently for one account. Returning an error stops the account's pull:
// the message is retried after a backoff, from the last committed cursor,
// and the messages before it are not handled again.
//
// ctx is cancelled when Run's context ends or when the account's lease is
// lost; a handler doing slow work should stop then.
//
// A message that can never be handled (a poison message) blocks its
// account, retried with backoff, until the handler lets it pass: log it (or
// store it aside) and return nil. A panic is recovered and treated as an
// error.
type Handler func(ctx context.Context, m kf.Message) error

// BatchHandler handles the new messages of one page at once (duplicates
// already removed; never called with an empty slice). It succeeds or fails
// as a whole: after an error the whole batch is retried. The slice and the
// messages share memory with the page: copy what you keep after returning.
type BatchHandler func(ctx context.Context, openKfID string, msgs []kf.Message) error

// ErrStarted is returned by Run when the Syncer was already started: a
// Syncer runs once.
var ErrStarted = errors.New("kfsync: Syncer already started")

// errStalled is reported when a pull sees too many pages with has_more=1
// that make no progress: an unchanged cursor and no new message (empty
// pages, or pages that only repeat messages already handled).
var errStalled = errors.New("kfsync: sync_msg keeps answering pages with has_more=1, the same cursor and no new message")

// Syncer pulls the messages of KF accounts with sync_msg and hands each to a
// handler exactly once (see the package doc). Create it with New or
// NewBatch, call Run, and call Notify from the callback handler. A Syncer is
// safe for concurrent use.
type Syncer struct {
	cfg config
	src Source
	h   Handler
	bh  BatchHandler
	ctr counters

	mu       sync.Mutex
	accounts map[string]*account
	byStage  map[Stage]int64
	byCode   map[kf.ErrCode]int64
	byStatus map[int]int64
	ctx      context.Context // Run's context; nil before Run
	started  bool
	stopped  bool
	wg       sync.WaitGroup
}

// account is the state of one KF account. Its fields are guarded by
// Syncer.mu.
type account struct {
	id      string
	known   bool // polled by the safety poll
	pending bool // a pull is requested
	running bool // a worker goroutine is active
	tokens  []tokenEntry

	backoff   backoffState
	cursor    string
	handled   int64
	lastErr   string
	lastPull  time.Time
	lastMsg   time.Time
	lag       time.Duration
	lastDelay time.Duration
}

// tokenEntry is a queued callback token.
type tokenEntry struct {
	token    string
	received time.Time
}

// New returns a Syncer that passes each message to h. src is usually
// client.Messages.
func New(src Source, h Handler, opts ...Option) (*Syncer, error) {
	if h == nil {
		return nil, errors.New("kfsync: nil Handler")
	}
	return newSyncer(src, h, nil, opts)
}

// NewBatch returns a Syncer that passes the new messages of each page to h
// at once.
func NewBatch(src Source, h BatchHandler, opts ...Option) (*Syncer, error) {
	if h == nil {
		return nil, errors.New("kfsync: nil BatchHandler")
	}
	return newSyncer(src, nil, h, opts)
}

func newSyncer(src Source, h Handler, bh BatchHandler, opts []Option) (*Syncer, error) {
	if src == nil {
		return nil, errors.New("kfsync: nil Source")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &Syncer{
		cfg: cfg, src: src, h: h, bh: bh,
		accounts: map[string]*account{},
		byStage:  map[Stage]int64{},
		byCode:   map[kf.ErrCode]int64{},
		byStatus: map[int]int64{},
	}
	for _, id := range cfg.accounts {
		s.accountLocked(id).known = true
	}
	return s, nil
}

// accountLocked returns the state of openKfID, creating it. s.mu must be
// held.
func (s *Syncer) accountLocked(openKfID string) *account {
	a := s.accounts[openKfID]
	if a == nil {
		id := strings.Clone(openKfID)
		a = &account{id: id}
		s.accounts[id] = a
	}
	return a
}

// Notify asks for a pull of openKfID, for example from a kf_msg_or_event
// callback, with the callback's token ("" when there is none). It never
// blocks. Tokens are queued per account and used, newest first, for 10
// minutes from their receipt (WithTokenTTL), so that pulls rarely take the
// strictly rate-limited tokenless path; a repeated callback with the same
// token adds nothing. Notifications that arrive while the account is being
// pulled are coalesced into one more pull. The account becomes known to the
// safety poll. Notify may be called before Run; the pull then starts when
// Run does.
func (s *Syncer) Notify(openKfID, token string) {
	if openKfID == "" {
		return
	}
	s.ctr.notifies.Add(1)
	now := s.cfg.clock.Now()
	added := false
	s.mu.Lock()
	a := s.accountLocked(openKfID)
	a.known = true
	if token != "" && !hasToken(a.tokens, token) {
		if len(a.tokens) >= maxTokens {
			a.tokens = append(a.tokens[:0], a.tokens[1:]...)
		}
		a.tokens = append(a.tokens, tokenEntry{token: strings.Clone(token), received: now})
		added = true
	}
	a.pending = true
	s.startLocked(a)
	s.mu.Unlock()
	if added {
		s.ctr.tokensReceived.Add(1)
		s.tokenEvent(a.id, TokenReceived)
	}
}

// Forget stops polling openKfID and drops its queued tokens, for example
// after a kf_account_auth_change callback removed the account. A pull in
// progress finishes.
func (s *Syncer) Forget(openKfID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[openKfID]; a != nil {
		a.known = false
		a.pending = false
		a.tokens = nil
		if !a.running {
			delete(s.accounts, openKfID)
		}
	}
}

func hasToken(ts []tokenEntry, token string) bool {
	for _, t := range ts {
		if t.token == token {
			return true
		}
	}
	return false
}

// Run pulls until ctx ends: it catches up every known account at once, then
// pulls accounts as Notify asks and as the safety poll finds them idle. When
// ctx ends, each worker stops before its next message (the handler in
// flight sees its context cancelled), commits the progress it made while
// its lease, if any, is still valid, and Run returns once every goroutine
// it started has ended. Run returns nil then, or ErrStarted when the Syncer
// was already started.
func (s *Syncer) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return ErrStarted
	}
	s.started = true
	s.ctx = ctx
	for _, a := range s.accounts {
		a.pending = true
		s.startLocked(a)
	}
	if s.cfg.pollInterval > 0 {
		s.wg.Add(1)
		go s.poll(ctx)
	}
	s.mu.Unlock()

	<-ctx.Done()
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// startLocked starts a worker for a when one is needed. s.mu must be held.
func (s *Syncer) startLocked(a *account) {
	if s.ctx == nil || s.stopped || a.running || !a.pending {
		return
	}
	a.running = true
	s.wg.Add(1)
	go s.work(s.ctx, a)
}

// poll is the safety poll: every half interval (±10 %) it requests a pull of
// each known account that is idle and has not completed a pull for an
// interval.
func (s *Syncer) poll(ctx context.Context) {
	defer s.wg.Done()
	iv := s.cfg.pollInterval
	for {
		wait := time.Duration(float64(iv/2) * (0.9 + 0.2*s.cfg.rnd()))
		select {
		case <-ctx.Done():
			return
		case <-s.cfg.clock.After(wait):
		}
		now := s.cfg.clock.Now()
		s.mu.Lock()
		for _, a := range s.accounts {
			if a.known && !a.running && !a.pending && now.Sub(a.lastPull) >= iv {
				a.pending = true
				s.ctr.polls.Add(1)
				s.startLocked(a)
			}
		}
		s.mu.Unlock()
	}
}

// work is the worker of one account: it pulls while pulls are requested,
// backing off after failures. At most one worker runs per account.
func (s *Syncer) work(ctx context.Context, a *account) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if !a.pending || ctx.Err() != nil {
			a.running = false
			if !a.known && !a.pending {
				delete(s.accounts, a.id)
			}
			s.mu.Unlock()
			return
		}
		a.pending = false
		s.mu.Unlock()

		stage, err, minDelay := s.pull(ctx, a)
		if err == nil {
			continue
		}
		s.mu.Lock()
		if a.known {
			a.pending = true // retry
		}
		s.mu.Unlock()
		if ctx.Err() != nil {
			continue // shutting down: the loop ends
		}
		var delay time.Duration
		if errors.Is(err, ErrLeaseHeld) {
			// Another process is pulling this account: look again soon,
			// without counting a failure.
			s.ctr.leaseBusy.Add(1)
			delay = time.Duration(float64(min(s.cfg.leaseTTL/3, 5*time.Second)) * (0.5 + 0.5*s.cfg.rnd()))
			s.cfg.log.Debug("kfsync: lease held elsewhere", "open_kfid", a.id, "retry", delay)
		} else {
			delay = s.fail(a, stage, err, minDelay)
		}
		select {
		case <-ctx.Done():
		case <-s.cfg.clock.After(delay):
		}
	}
}

// fail records a failure and returns the backoff delay (at least minDelay,
// and at least the RetryAfter of a rate limit).
func (s *Syncer) fail(a *account, stage Stage, err error, minDelay time.Duration) time.Duration {
	code, status := errorCode(err)
	var rl *kf.RateLimitError
	if errors.As(err, &rl) && rl.RetryAfter > minDelay {
		minDelay = rl.RetryAfter
	}
	now := s.cfg.clock.Now()
	s.mu.Lock()
	d := a.backoff.next(s.cfg.backoff, now, s.cfg.rnd)
	if d < minDelay {
		d = minDelay
		a.backoff.retryAt = now.Add(d)
	}
	a.lastErr = err.Error()
	a.lastDelay = d
	s.countLocked(stage, code, status)
	s.mu.Unlock()
	s.ctr.errors.Add(1)
	s.cfg.log.Warn("kfsync: pull failed", "open_kfid", a.id, "stage", string(stage), "err", err, "retry", d)
	if f := s.cfg.hooks.Error; f != nil {
		f(ErrorEvent{OpenKfID: a.id, Stage: stage, Code: code, HTTPStatus: status, Err: err, Retry: d})
	}
	return d
}

// countLocked counts a failure by stage, errcode and HTTP status. s.mu
// must be held.
func (s *Syncer) countLocked(stage Stage, code kf.ErrCode, status int) {
	s.byStage[stage]++
	if stage != StageSync {
		return
	}
	switch {
	case code != 0:
		s.byCode[code]++
	case status != 0:
		s.byStatus[status]++
	}
}

// note reports a failure that is retried at once (a rejected token, a
// stale cursor).
func (s *Syncer) note(a *account, stage Stage, err error) {
	code, status := errorCode(err)
	s.mu.Lock()
	s.countLocked(stage, code, status)
	s.mu.Unlock()
	s.ctr.errors.Add(1)
	s.cfg.log.Info("kfsync: retrying at once", "open_kfid", a.id, "stage", string(stage), "err", err)
	if f := s.cfg.hooks.Error; f != nil {
		f(ErrorEvent{OpenKfID: a.id, Stage: stage, Code: code, HTTPStatus: status, Err: err})
	}
}

func (s *Syncer) tokenEvent(openKfID string, k TokenKind) {
	if f := s.cfg.hooks.Token; f != nil {
		f(TokenEvent{OpenKfID: openKfID, Kind: k})
	}
}

// token returns the newest unexpired token of a ("" when none), dropping
// the expired ones.
func (s *Syncer) token(a *account) string {
	now := s.cfg.clock.Now()
	expired := 0
	s.mu.Lock()
	keep := a.tokens[:0]
	for _, t := range a.tokens {
		if now.Sub(t.received) < s.cfg.tokenTTL {
			keep = append(keep, t)
		} else {
			expired++
		}
	}
	clear(a.tokens[len(keep):])
	a.tokens = keep
	tok := ""
	if n := len(keep); n > 0 {
		tok = keep[n-1].token
	}
	s.mu.Unlock()
	for range expired {
		s.ctr.tokensExpired.Add(1)
		s.tokenEvent(a.id, TokenExpired)
	}
	return tok
}

// rejectToken drops a token the platform refused (95007).
func (s *Syncer) rejectToken(a *account, tok string) {
	s.mu.Lock()
	for i, t := range a.tokens {
		if t.token == tok {
			a.tokens = append(a.tokens[:i], a.tokens[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	s.ctr.tokensRejected.Add(1)
	s.tokenEvent(a.id, TokenRejected)
}

// pull is one pull of an account: take the lease, load the cursor, then
// fetch, handle and commit pages until has_more is 0. It returns the stage
// and error of a failure, and the minimum delay before a retry.
func (s *Syncer) pull(ctx context.Context, a *account) (Stage, error, time.Duration) {
	r := &run{s: s, a: a, ctx: ctx, wctx: ctx}
	if s.cfg.locker != nil {
		lk, err := s.acquire(ctx, a.id)
		if err != nil {
			return StageLease, err, 0
		}
		defer lk.stop()
		r.lk = lk
		r.wctx = lk.ctx
	}
	stage, err := r.pages()
	if err != nil && r.lk != nil && r.lk.lost.Load() {
		// Whatever failed, the cause is the lost lease.
		return StageLease, fmt.Errorf("%w: %w", ErrLeaseLost, err), 0
	}
	if err != nil {
		return stage, err, 0
	}
	now := s.cfg.clock.Now()
	s.mu.Lock()
	a.lastPull = now
	s.mu.Unlock()
	s.ctr.pulls.Add(1)
	return "", nil, 0
}

// run is the state of one pull.
type run struct {
	s    *Syncer
	a    *account
	ctx  context.Context // Run's context
	wctx context.Context // ctx, or the lease's context (also cancelled when the lease is lost)
	lk   *leaseKeeper

	cursor  string
	fresh   int // messages handled by the last page
	ids     []string
	handled []kf.Message
	inPage  map[string]struct{}
}

// pages loads the cursor and pulls pages until has_more is 0.
func (r *run) pages() (Stage, error) {
	s, a := r.s, r.a
	cursor, err := s.cfg.store.Load(r.wctx, a.id)
	if err != nil {
		return StageStore, fmt.Errorf("kfsync: load cursor of %s: %w", a.id, err)
	}
	r.cursor = cursor
	empty := 0
	for {
		if err := r.wctx.Err(); err != nil {
			return StageSync, err
		}
		tok := s.token(a)
		start := s.cfg.clock.Now()
		page, err := s.src.Sync(r.wctx, &kf.SyncMsgRequest{
			OpenKfID: a.id, Cursor: r.cursor, Token: tok,
			Limit: s.cfg.pageLimit, VoiceFormat: s.cfg.voiceFormat,
		})
		if err != nil {
			if r.wctx.Err() != nil {
				return StageSync, err
			}
			if tok != "" && errors.Is(err, kf.ErrCodeInvalidMsgToken) {
				s.rejectToken(a, tok)
				s.note(a, StageSync, err)
				continue // with the next token, or without
			}
			if r.cursor != "" && s.cfg.staleCursor != nil && s.cfg.staleCursor(err) {
				s.note(a, StageSync, err)
				s.cfg.log.Warn("kfsync: stale cursor, restarting from the platform's history", "open_kfid", a.id)
				r.cursor = ""
				continue
			}
			return StageSync, err
		}
		s.ctr.pages.Add(1)
		if tok != "" {
			s.ctr.pagesToken.Add(1)
		} else {
			s.ctr.pagesTokenless.Add(1)
		}
		if len(page.MsgList) == 0 {
			s.ctr.emptyPages.Add(1)
		}
		prev := r.cursor
		if stage, err := r.page(page, tok != "", start); err != nil {
			return stage, err
		}
		if !page.HasMore {
			return "", nil
		}
		// A page that neither moved the cursor nor brought a new message
		// made no progress: the next call would get the same answer.
		if r.cursor == prev && r.fresh == 0 {
			if empty++; empty >= s.cfg.maxEmpty {
				return StageSync, errStalled
			}
		} else {
			empty = 0
		}
	}
}

// page handles and commits one page.
func (r *run) page(page *kf.SyncMsgResponse, withToken bool, start time.Time) (Stage, error) {
	s, a := r.s, r.a
	list := page.MsgList
	var seen []bool
	if len(list) > 0 {
		r.ids = r.ids[:0]
		for i := range list {
			r.ids = append(r.ids, list[i].MsgID)
		}
		var err error
		seen, err = s.cfg.store.Seen(r.wctx, a.id, r.ids)
		if err != nil {
			return StageStore, fmt.Errorf("kfsync: dedup lookup of %s: %w", a.id, err)
		}
		if len(seen) != len(list) {
			return StageStore, fmt.Errorf("kfsync: dedup lookup of %s: %d answers for %d msgids", a.id, len(seen), len(list))
		}
		if r.inPage == nil {
			r.inPage = make(map[string]struct{}, len(list))
		}
		clear(r.inPage)
	}
	r.handled = r.handled[:0]
	r.fresh = 0
	dups, handled := 0, 0
	fresh := r.handled // the batch form collects the new messages here
	for i := range list {
		m := &list[i]
		if s.cfg.tap != nil {
			s.cfg.tap(*m)
		}
		if _, again := r.inPage[m.MsgID]; seen[i] || again {
			dups++
			continue
		}
		r.inPage[m.MsgID] = struct{}{}
		if s.bh != nil {
			fresh = append(fresh, *m)
			continue
		}
		if err := r.stopping(); err != nil {
			r.progress()
			return StageSync, err
		}
		if err := s.call(r.wctx, *m); err != nil {
			r.progress()
			return StageHandler, fmt.Errorf("kfsync: handler of %s for msgid %s: %w", a.id, m.MsgID, err)
		}
		handled++
		s.ctr.handled.Add(1)
		if s.cfg.committer != nil {
			r.handled = append(r.handled, *m)
			if s.cfg.commitEvery > 0 && len(r.handled) >= s.cfg.commitEvery {
				if err := r.commit(""); err != nil {
					return StageStore, err
				}
			}
		} else if err := r.mark(m.MsgID); err != nil {
			return StageStore, err
		}
	}
	if s.bh != nil && len(fresh) > 0 {
		if err := r.stopping(); err != nil {
			return StageSync, err
		}
		if err := s.callBatch(r.wctx, a.id, fresh); err != nil {
			return StageHandler, fmt.Errorf("kfsync: batch handler of %s: %w", a.id, err)
		}
		handled = len(fresh)
		s.ctr.handled.Add(int64(handled))
		if s.cfg.committer != nil {
			r.handled = fresh
		} else {
			for i := range fresh {
				if err := r.mark(fresh[i].MsgID); err != nil {
					return StageStore, err
				}
			}
		}
	}
	s.ctr.duplicates.Add(int64(dups))
	r.fresh = handled

	next := page.NextCursor
	if next == r.cursor {
		next = ""
	}
	if err := r.commit(next); err != nil {
		return StageStore, err
	}

	now := s.cfg.clock.Now()
	var lag time.Duration
	s.mu.Lock()
	a.handled += int64(handled)
	if n := len(list); n > 0 {
		last := list[n-1].Time()
		lag = now.Sub(last)
		a.lastMsg, a.lag = last, lag
	}
	a.cursor = r.cursor
	s.mu.Unlock()
	if f := s.cfg.hooks.Page; f != nil {
		f(PageEvent{OpenKfID: a.id, Messages: len(list), Handled: handled, Duplicates: dups,
			HasMore: page.HasMore, WithToken: withToken, Lag: lag, Duration: now.Sub(start)})
	}
	s.cfg.log.Debug("kfsync: page", "open_kfid", a.id, "messages", len(list), "handled", handled,
		"duplicates", dups, "has_more", page.HasMore, "token", withToken)
	return "", nil
}

// call runs the handler, turning a panic into an error.
func (s *Syncer) call(ctx context.Context, m kf.Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.cfg.log.Error("kfsync: handler panicked", "msgid", m.MsgID, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("kfsync: handler panicked: %v", p)
		}
	}()
	return s.h(ctx, m)
}

// callBatch runs the batch handler, turning a panic into an error.
func (s *Syncer) callBatch(ctx context.Context, openKfID string, msgs []kf.Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.cfg.log.Error("kfsync: batch handler panicked", "open_kfid", openKfID, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("kfsync: batch handler panicked: %v", p)
		}
	}()
	return s.bh(ctx, openKfID, msgs)
}

// leaseOK reports whether the work may still be committed.
func (r *run) leaseOK() bool { return r.lk == nil || r.lk.valid() }

// stopping returns a non-nil error when the worker must not hand another
// message to the handler: Run's context ended, or the lease is lost or past
// its local deadline. The deadline is checked here too, not only by the
// renewal goroutine, because that goroutine may be stuck in a Renew call
// (an unreachable lock server) while the deadline passes, and a message
// handled then may be handled by the lease's next owner as well.
func (r *run) stopping() error {
	r.leaseOK() // a lease past its deadline is lost now, cancelling wctx
	return r.wctx.Err()
}

// commitCtx is the context of a store write. It is detached from the
// worker's cancellation and bounded by the shutdown timeout, so that a
// shutdown (or a lost lease) that begins while a commit is in flight does
// not abort the commit half-way and make the page be pulled again: the
// lease is checked before every write, and a store fences late commits.
func (r *run) commitCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.wctx), r.s.cfg.shutdown)
}

// mark records one handled message (stores that are not Committers).
func (r *run) mark(msgID string) error {
	if !r.leaseOK() {
		return fmt.Errorf("kfsync: mark %s: %w", msgID, ErrLeaseLost)
	}
	ctx, cancel := r.commitCtx()
	defer cancel()
	if err := r.s.cfg.store.Mark(ctx, r.a.id, msgID, r.s.cfg.dedupTTL); err != nil {
		return fmt.Errorf("kfsync: mark %s of %s: %w", msgID, r.a.id, err)
	}
	return nil
}

// commit makes the progress durable: the handled messages (Committer) and
// the cursor next ("" keeps the cursor).
func (r *run) commit(next string) error {
	s := r.s
	if len(r.handled) == 0 && next == "" {
		return nil
	}
	if !r.leaseOK() {
		return fmt.Errorf("kfsync: commit of %s: %w", r.a.id, ErrLeaseLost)
	}
	ctx, cancel := r.commitCtx()
	defer cancel()
	var err error
	if s.cfg.committer != nil {
		c := Commit{OpenKfID: r.a.id, Cursor: next, Handled: r.handled, TTL: s.cfg.dedupTTL}
		if r.lk != nil {
			c.Fence, c.Owner = r.lk.lease.Fence, r.lk.lease.Owner
		}
		err = s.cfg.committer.Commit(ctx, c)
	} else if next != "" {
		err = s.cfg.store.Save(ctx, r.a.id, next)
	}
	if err != nil {
		return fmt.Errorf("kfsync: commit of %s: %w", r.a.id, err)
	}
	s.ctr.commits.Add(1)
	r.handled = r.handled[:0]
	if next != "" {
		r.cursor = next
	}
	return nil
}

// progress commits the messages handled so far in the page, keeping the
// cursor, after a failure or at shutdown. Its own failure is only logged:
// the messages are then handled again on the retry.
func (r *run) progress() {
	if len(r.handled) == 0 || r.s.cfg.committer == nil {
		return
	}
	if err := r.commit(""); err != nil {
		r.s.cfg.log.Warn("kfsync: progress commit failed", "open_kfid", r.a.id, "err", err)
	}
}

// leaseKeeper holds a lease while a pull runs and renews it in the
// background.
type leaseKeeper struct {
	s      *Syncer
	lease  Lease
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}

	mu       sync.Mutex
	deadline time.Time // local, conservative
	lost     atomic.Bool
}

// acquire takes the lease of an account and starts renewing it.
func (s *Syncer) acquire(ctx context.Context, openKfID string) (*leaseKeeper, error) {
	ttl := s.cfg.leaseTTL
	t0 := s.cfg.clock.Now()
	l, err := s.cfg.locker.Acquire(ctx, openKfID, s.cfg.owner, ttl)
	if err != nil {
		return nil, err
	}
	lk := &leaseKeeper{s: s, lease: l, done: make(chan struct{}), deadline: t0.Add(ttl - ttl/10)}
	lk.ctx, lk.cancel = context.WithCancelCause(ctx)
	go lk.renew()
	return lk, nil
}

// valid reports whether the lease may still be relied upon: not lost and
// within the local deadline.
func (lk *leaseKeeper) valid() bool {
	if lk.lost.Load() {
		return false
	}
	lk.mu.Lock()
	d := lk.deadline
	lk.mu.Unlock()
	if !lk.s.cfg.clock.Now().Before(d) {
		lk.lose(errors.New("local lease deadline passed"))
		return false
	}
	return true
}

// lose marks the lease lost and cancels the work under it.
func (lk *leaseKeeper) lose(cause error) {
	if !lk.lost.CompareAndSwap(false, true) {
		return
	}
	lk.cancel(fmt.Errorf("%w: %w", ErrLeaseLost, cause))
	s := lk.s
	s.ctr.leaseLost.Add(1)
	s.cfg.log.Warn("kfsync: lease lost", "open_kfid", lk.lease.OpenKfID, "fence", lk.lease.Fence, "cause", cause)
	if f := s.cfg.hooks.LeaseLost; f != nil {
		f(lk.lease.OpenKfID, lk.lease.Fence)
	}
}

// renew renews the lease every third of its TTL (a failed renewal is
// retried every thirtieth) until the pull ends or the lease is lost.
func (lk *leaseKeeper) renew() {
	defer close(lk.done)
	s := lk.s
	ttl := s.cfg.leaseTTL
	every, retry := ttl/3, ttl/30
	period := every
	for {
		lk.mu.Lock()
		wait := min(period, lk.deadline.Sub(s.cfg.clock.Now()))
		lk.mu.Unlock()
		if wait > 0 {
			select {
			case <-lk.ctx.Done():
				return
			case <-s.cfg.clock.After(wait):
			}
		}
		if lk.ctx.Err() != nil {
			return
		}
		t0 := s.cfg.clock.Now()
		lk.mu.Lock()
		late := !t0.Before(lk.deadline)
		lk.mu.Unlock()
		if late {
			lk.lose(errors.New("not renewed before the deadline"))
			return
		}
		rctx, cancel := context.WithTimeout(lk.ctx, every)
		l, err := s.cfg.locker.Renew(rctx, lk.lease, ttl)
		cancel()
		switch {
		case err == nil:
			lk.mu.Lock()
			lk.lease.Expires = l.Expires
			lk.deadline = t0.Add(ttl - ttl/10)
			lk.mu.Unlock()
			period = every
		case errors.Is(err, ErrLeaseLost):
			lk.lose(err)
			return
		case lk.ctx.Err() != nil:
			return
		default:
			s.cfg.log.Warn("kfsync: lease renewal failed, will retry", "open_kfid", lk.lease.OpenKfID, "err", err)
			period = retry
		}
	}
}

// stop ends the renewal and releases the lease unless it was lost.
func (lk *leaseKeeper) stop() {
	lk.cancel(nil)
	<-lk.done
	if lk.lost.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(lk.ctx), lk.s.cfg.shutdown)
	defer cancel()
	if err := lk.s.cfg.locker.Release(ctx, lk.lease); err != nil {
		lk.s.cfg.log.Warn("kfsync: lease release failed", "open_kfid", lk.lease.OpenKfID, "err", err)
	}
}
