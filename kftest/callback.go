package kftest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/wxkf/kf/callback"
)

// callbackAgentID is the AgentID written in the outer XML of callbacks.
// Whether KF callbacks carry one is unconfirmed (shared/api-surface.md
// §9.15); general WeCom callbacks do.
const callbackAgentID = "1000001"

// verifyTimeout is how long the platform waits for the answer to a GET URL
// verification (§5.2).
const verifyTimeout = time.Second

// callbacker posts callbacks to the app, asynchronously: one queue per
// account (so that an account's callbacks arrive in order) drained by a
// goroutine while it has work. Close stops it. The requests are built by
// callback.Builder, the code the toolkit's callback.Handler is tested
// against.
type callbacker struct {
	s   *Server
	cfg Callback
	b   *callback.Builder
	hc  *http.Client

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	queues  map[string][]cbJob // account ("" for corp-level events) → callbacks to post
	running map[string]bool
	closed  bool
	stats   CallbackStats
}

// CallbackStats counts callback deliveries.
type CallbackStats struct {
	Queued    int // callbacks queued
	Attempts  int // POSTs made (retries included)
	Delivered int // callbacks answered with HTTP 200
	Failed    int // callbacks given up after every attempt
}

// cbJob builds one callback request: its query and body.
type cbJob func(b *callback.Builder) (url.Values, []byte, error)

func newCallbacker(s *Server, cb Callback) (*callbacker, error) {
	b, err := callback.NewBuilder(cb.Token, cb.EncodingAESKey, s.cfg.corpID)
	if err != nil {
		return nil, fmt.Errorf("WithCallback: %w", err)
	}
	b.AgentID = callbackAgentID
	if u, err := url.Parse(cb.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("WithCallback: %q is not an absolute http(s) URL", cb.URL)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	ctx, cancel := context.WithCancel(context.Background())
	return &callbacker{
		s: s, cfg: cb, b: b, hc: &http.Client{Transport: tr},
		ctx: ctx, cancel: cancel,
		queues: map[string][]cbJob{}, running: map[string]bool{},
	}, nil
}

// enqueue queues a callback for the account.
func (cb *callbacker) enqueue(openKfID string, job cbJob) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if cb.closed {
		return
	}
	cb.stats.Queued++
	cb.queues[openKfID] = append(cb.queues[openKfID], job)
	if !cb.running[openKfID] {
		cb.running[openKfID] = true
		cb.wg.Add(1)
		go cb.drain(openKfID)
	}
}

func (cb *callbacker) drain(openKfID string) {
	defer cb.wg.Done()
	for {
		cb.mu.Lock()
		q := cb.queues[openKfID]
		if len(q) == 0 || cb.closed {
			delete(cb.queues, openKfID)
			cb.running[openKfID] = false
			cb.mu.Unlock()
			return
		}
		p := q[0]
		q[0] = nil
		cb.queues[openKfID] = q[1:]
		cb.mu.Unlock()
		cb.deliver(p)
	}
}

// deliver posts one callback: it waits up to the timeout (5 s) for HTTP 200
// and tries again at once otherwise, up to the attempts (3) in all. Every
// attempt posts the same request.
func (cb *callbacker) deliver(job cbJob) {
	query, body, err := job(cb.b)
	if err != nil {
		cb.s.log.Error("kftest: build callback", "err", err)
		return
	}
	for attempt := 1; attempt <= cb.s.cfg.callbackAttempts; attempt++ {
		if cb.ctx.Err() != nil {
			return
		}
		cb.mu.Lock()
		cb.stats.Attempts++
		cb.mu.Unlock()
		err := cb.post(query, body)
		if err == nil {
			cb.mu.Lock()
			cb.stats.Delivered++
			cb.mu.Unlock()
			return
		}
		cb.s.log.Warn("kftest: callback attempt failed", "attempt", attempt, "err", err)
	}
	cb.mu.Lock()
	cb.stats.Failed++
	cb.mu.Unlock()
}

func (cb *callbacker) post(query url.Values, body []byte) error {
	ctx, cancel := context.WithTimeout(cb.ctx, cb.s.cfg.callbackTimeout)
	defer cancel()
	req, err := cb.b.NewRequest(ctx, cb.cfg.URL, query, body)
	if err != nil {
		return err
	}
	resp, err := cb.hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// close stops delivery: queued callbacks are dropped and a POST in flight
// is cancelled.
func (cb *callbacker) close() {
	cb.mu.Lock()
	cb.closed = true
	cb.mu.Unlock()
	cb.cancel()
	cb.wg.Wait()
	cb.hc.CloseIdleConnections()
}

// kfMsgOrEvent is the job of a kf_msg_or_event callback (§5.3).
func kfMsgOrEvent(openKfID, token string, at time.Time) cbJob {
	return func(b *callback.Builder) (url.Values, []byte, error) { return b.KfMsgOrEvent(openKfID, token, at) }
}

// kfAccountAuthChange is the job of a kf_account_auth_change callback.
func kfAccountAuthChange(add, del []string, at time.Time) cbJob {
	return func(b *callback.Builder) (url.Values, []byte, error) { return b.KfAccountAuthChange(add, del, at) }
}

// ErrNoCallback is returned by VerifyCallbackURL when the emulator has no
// callback configured (WithCallback).
var ErrNoCallback = errors.New("kftest: no callback configured")

// VerifyCallbackURL checks the app's callback URL as the platform does when
// the URL is saved (§5.2): a GET with msg_signature, timestamp, nonce and an
// encrypted echostr, which must be answered within 1 second with HTTP 200
// and exactly the decrypted message as body.
func (s *Server) VerifyCallbackURL(ctx context.Context) error {
	cb := s.cb
	if cb == nil {
		return ErrNoCallback
	}
	msg := strconv.FormatUint(uint64(s.randFloat()*1e18)+1e18, 10) // 19 digits
	q, err := cb.b.VerifyURL(msg, s.clock.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	req, err := cb.b.NewRequest(ctx, cb.cfg.URL, q, nil)
	if err != nil {
		return err
	}
	resp, err := cb.hc.Do(req)
	if err != nil {
		return fmt.Errorf("kftest: verify callback URL: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		return fmt.Errorf("kftest: verify callback URL: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kftest: verify callback URL: HTTP %d", resp.StatusCode)
	}
	if string(body) != msg {
		return fmt.Errorf("kftest: verify callback URL: the answer (%d bytes) is not the decrypted echostr (%d bytes, no quotes, BOM or newline)", len(body), len(msg))
	}
	return nil
}

// AssignAccounts reports a change of the accounts the app may manage, as
// when an administrator grants or withdraws accounts: the accounts' manage
// privilege is updated (unknown ids are ignored) and, with WithCallback, a
// kf_account_auth_change callback lists them (AuthAddOpenKfId,
// AuthDelOpenKfId).
func (s *Server) AssignAccounts(add, del []string) error {
	if len(add) == 0 && len(del) == 0 {
		return fmt.Errorf("%w: no account to assign", ErrInvalid)
	}
	return s.action(func(c *call, st *State) error {
		for _, id := range add {
			if a := st.accounts[id]; a != nil {
				a.managed = true
			}
		}
		for _, id := range del {
			if a := st.accounts[id]; a != nil {
				a.managed = false
			}
		}
		add, del := append([]string(nil), add...), append([]string(nil), del...)
		at := c.now
		c.later(func() { s.notifyAuthChange(at, add, del) })
		return nil
	})
}

// notifyAuthChange queues a kf_account_auth_change callback without
// touching the state, so that handlers may call it from c.later.
func (s *Server) notifyAuthChange(at time.Time, add, del []string) {
	if s.cb != nil {
		s.cb.enqueue("", kfAccountAuthChange(add, del, at))
	}
	s.hub.publish()
}

// CallbackStats returns the counts of callback deliveries so far (zero
// without WithCallback).
func (s *Server) CallbackStats() CallbackStats {
	if s.cb == nil {
		return CallbackStats{}
	}
	s.cb.mu.Lock()
	defer s.cb.mu.Unlock()
	return s.cb.stats
}

// SyncToken issues a sync_msg token for the account, valid 10 minutes, as a
// kf_msg_or_event callback would carry (for tests and tools that do not
// receive callbacks).
func (s *Server) SyncToken(openKfID string) (string, error) {
	var tok string
	err := s.store.Update(func(st *State) error {
		if st.accounts[openKfID] == nil {
			return fmt.Errorf("%w: open_kfid %q", ErrNotFound, openKfID)
		}
		tok = s.newSyncToken(st, openKfID, s.clock.Now())
		return nil
	})
	return tok, err
}
