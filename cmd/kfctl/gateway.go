package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/callback"
	"github.com/wxkf/kf/kfsync"
)

// gatewayConfig configures the gateway of kfctl serve and kfctl demo: the
// callback endpoint, a kfsync Syncer into a durable store, and the
// handlers of every synced message (the webhook, the rules).
type gatewayConfig struct {
	client *kf.Client
	store  kfsync.Store
	locker kfsync.Locker // nil: no leases (one instance)

	// Callback settings; without token and aesKey there is no callback
	// endpoint and the gateway only polls.
	corpID, token, aesKey string
	callbackPath          string

	forwardURL      string
	forwardTimeout  time.Duration // per attempt
	forwardAttempts int           // per delivery of the message to the handler
	rules           *botRules

	accounts     []string // nil: every account of the corp (Accounts.All)
	pollInterval time.Duration
	pageLimit    int
	commitEvery  int
	shutdown     time.Duration // bound of the Syncer's final commit

	log     *slog.Logger
	metrics *metrics
	onReply func(botReplyEvent) // optional: after each reply of the rules
}

// gateway is a configured gateway; run it with run and serve handler.
type gateway struct {
	cfg      gatewayConfig
	metrics  *metrics
	syncer   *kfsync.Syncer
	cb       *callback.Handler
	fwd      *forwarder
	bot      *bot
	accounts []string
	running  atomic.Bool
}

// declareMetrics declares every metric of the gateway.
func declareMetrics(m *metrics) {
	m.counter("kf_messages_handled_total", "Messages and events handled (forwarded, answered by the rules) and committed to the store.", "open_kfid")
	m.counter("kf_duplicates_skipped_total", "Messages pulled again and skipped because they were already handled.", "open_kfid")
	m.counter("kf_pages_pulled_total", "sync_msg pages pulled.")
	m.counter("kf_pages_tokenless_total", "sync_msg pages pulled without a callback token (the rate-limited path).")
	m.gauge("kf_sync_lag_seconds", "Age of the newest message of the last page pulled (0 once caught up).", "open_kfid")
	m.counter("kf_errors_total", "Failures by stage (sync, handler, store, lease, reply) and errcode (none when not a platform error, http_NNN for an HTTP status).", "stage", "code")
	m.counter("kf_token_refreshes_total", "Access tokens fetched (gettoken calls).")
	m.counter("kf_callback_tokens_total", "Callback tokens for sync_msg: received, expired, rejected by the platform.", "event")
	m.counter("kf_callbacks_total", "Callback requests accepted, by event (url_verification for the GET check).", "event")
	m.counter("kf_callback_rejected_total", "Callback requests rejected, by reason.", "reason")
	m.counter("kf_forwarded_total", "Messages delivered to the --forward webhook (2xx).")
	m.counter("kf_forward_failures_total", "Failed attempts to deliver a message to the --forward webhook.")
	m.counter("kf_replies_total", "Messages sent by the rules, by kind (echo, keyword, click, handoff, welcome, fallback).", "open_kfid", "kind")
	m.counter("kf_replies_skipped_total", "Replies the rules did not send because of the platform's rules, by reason.", "open_kfid", "reason")
	m.counter("kf_handoffs_total", "Sessions handed to a person by the rules.", "open_kfid")
	m.counter("kf_lease_lost_total", "Account leases lost while pulling (several instances).")
	m.counter("kf_api_requests_total", "HTTP requests made to the WeCom API, by path (retries included).", "path")
}

// newGateway builds the gateway: it lists the accounts (unless given),
// builds the Syncer, the webhook forwarder, the rules and the callback
// handler.
func newGateway(ctx context.Context, cfg gatewayConfig) (*gateway, error) {
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	if cfg.metrics == nil {
		cfg.metrics = newMetrics()
		declareMetrics(cfg.metrics)
	}
	if cfg.callbackPath == "" {
		cfg.callbackPath = "/callback"
	}
	g := &gateway{cfg: cfg, metrics: cfg.metrics, accounts: cfg.accounts}
	m := g.metrics
	if g.accounts == nil {
		for acc, err := range cfg.client.Accounts.All(ctx, 0) {
			if err != nil {
				return nil, fmt.Errorf("list the KF accounts (give --accounts to skip): %w", err)
			}
			g.accounts = append(g.accounts, acc.OpenKfID)
		}
	}

	var tap func(kf.Message)
	if cfg.rules != nil {
		replier := kfsync.NewReplier(idemSender{cfg.client.Messages}, cfg.client.Sessions, kfsync.TakeOver(true))
		g.bot = &bot{rules: cfg.rules, replier: replier, sessions: cfg.client.Sessions, metrics: m, log: cfg.log, onReply: cfg.onReply}
		tap = replier.Observe
	}
	if cfg.forwardURL != "" {
		g.fwd = &forwarder{url: cfg.forwardURL, timeout: cfg.forwardTimeout, attempts: cfg.forwardAttempts,
			client: newForwardClient(), metrics: m, log: cfg.log,
			initial: 200 * time.Millisecond, max: 10 * time.Second}
	}

	hooks := kfsync.Hooks{
		Page: func(ev kfsync.PageEvent) {
			m.inc("kf_pages_pulled_total")
			if !ev.WithToken {
				m.inc("kf_pages_tokenless_total")
			}
			if ev.Handled > 0 {
				m.add("kf_messages_handled_total", float64(ev.Handled), ev.OpenKfID)
			}
			if ev.Duplicates > 0 {
				m.add("kf_duplicates_skipped_total", float64(ev.Duplicates), ev.OpenKfID)
			}
			switch {
			case ev.Messages > 0:
				m.set("kf_sync_lag_seconds", max(ev.Lag.Seconds(), 0), ev.OpenKfID)
			case !ev.HasMore:
				m.set("kf_sync_lag_seconds", 0, ev.OpenKfID)
			}
		},
		Error: func(ev kfsync.ErrorEvent) {
			code := "none"
			switch {
			case ev.Code != 0:
				code = strconv.Itoa(int(ev.Code))
			case ev.HTTPStatus != 0:
				code = "http_" + strconv.Itoa(ev.HTTPStatus)
			}
			m.inc("kf_errors_total", string(ev.Stage), code)
		},
		Token:     func(ev kfsync.TokenEvent) { m.inc("kf_callback_tokens_total", string(ev.Kind)) },
		LeaseLost: func(string, int64) { m.inc("kf_lease_lost_total") },
	}
	opts := []kfsync.Option{
		kfsync.WithStore(cfg.store),
		kfsync.WithAccounts(g.accounts...),
		kfsync.WithPollInterval(cfg.pollInterval),
		kfsync.WithHooks(hooks),
		kfsync.WithLogger(cfg.log),
	}
	if cfg.locker != nil {
		opts = append(opts, kfsync.WithLocker(cfg.locker))
	}
	if cfg.pageLimit > 0 {
		opts = append(opts, kfsync.WithPageLimit(cfg.pageLimit))
	}
	if cfg.commitEvery > 0 {
		opts = append(opts, kfsync.WithCommitEvery(cfg.commitEvery))
	}
	if cfg.shutdown > 0 {
		opts = append(opts, kfsync.WithShutdownTimeout(cfg.shutdown))
	}
	if tap != nil {
		opts = append(opts, kfsync.WithTap(tap))
	}
	s, err := kfsync.New(cfg.client.Messages, g.handle, opts...)
	if err != nil {
		return nil, err
	}
	g.syncer = s

	if cfg.token != "" || cfg.aesKey != "" {
		h, err := callback.New(callback.Config{
			Token: cfg.token, EncodingAESKey: cfg.aesKey, ReceiverID: cfg.corpID,
			OnEvent:   g.onCallback,
			QueueSize: 1 << 14,
			Logger:    cfg.log,
			OnReject: func(_ *http.Request, err error) {
				m.inc("kf_callback_rejected_total", callback.Reason(err))
			},
		})
		if err != nil {
			return nil, usageError{err}
		}
		g.cb = h
	}
	m.gaugeFunc("kf_syncer_up", "1 while the syncer runs.", func() float64 {
		if g.running.Load() {
			return 1
		}
		return 0
	})
	return g, nil
}

// handle is the Syncer's handler: the webhook first, then the rules. An
// error leaves the message uncommitted: the Syncer retries it after a
// backoff, so that nothing is lost.
func (g *gateway) handle(ctx context.Context, m kf.Message) error {
	if g.fwd != nil {
		if err := g.fwd.forward(ctx, m); err != nil {
			return err
		}
	}
	if g.bot != nil {
		if err := g.bot.handle(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// onCallback wakes the Syncer for a kf_msg_or_event callback, and follows
// the accounts given to or taken from the app.
func (g *gateway) onCallback(_ context.Context, ev callback.Event) {
	if e, ok := ev.KfMsgOrEvent(); ok {
		g.metrics.inc("kf_callbacks_total", ev.Event)
		g.syncer.Notify(e.OpenKfID, e.Token)
		return
	}
	if e, ok := ev.KfAccountAuthChange(); ok {
		g.metrics.inc("kf_callbacks_total", ev.Event)
		for _, id := range e.AuthAddOpenKfIDs {
			g.syncer.Notify(id, "")
		}
		for _, id := range e.AuthDelOpenKfIDs {
			g.syncer.Forget(id)
		}
		return
	}
	g.metrics.inc("kf_callbacks_total", "other")
}

// run runs the callback handler's workers and the Syncer until ctx ends,
// then waits for both: the Syncer commits the progress it made, and work
// in flight is abandoned uncommitted (pulled again at the next start).
func (g *gateway) run(ctx context.Context) error {
	var wg sync.WaitGroup
	if g.cb != nil {
		wg.Go(func() { _ = g.cb.Run(ctx) })
	}
	g.running.Store(true)
	err := g.syncer.Run(ctx)
	g.running.Store(false)
	wg.Wait()
	return err
}

// handler serves the callback path, /healthz and /metrics.
func (g *gateway) handler() http.Handler {
	mux := http.NewServeMux()
	if g.cb != nil {
		mux.Handle(g.cfg.callbackPath, &callbackMetrics{h: g.cb, m: g.metrics})
	}
	mux.HandleFunc("/healthz", g.healthz)
	mux.Handle("/metrics", g.metrics)
	return mux
}

// healthProbe is the account whose cursor /healthz reads to check the
// store (it never exists).
const healthProbe = "kfctl-healthz-probe"

// healthz answers 200 when the Syncer runs and the store answers, 503
// otherwise, with the details as JSON.
func (g *gateway) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	type accountHealth struct {
		Handled   int64  `json:"handled"`
		Cursor    bool   `json:"has_cursor"`
		LagSecs   int64  `json:"lag_seconds"`
		Failures  int    `json:"failures,omitempty"`
		LastError string `json:"last_error,omitempty"`
	}
	out := struct {
		Status   string                   `json:"status"`
		Syncer   string                   `json:"syncer"`
		Store    string                   `json:"store"`
		Accounts map[string]accountHealth `json:"accounts"`
	}{Status: "ok", Syncer: "running", Store: "ok", Accounts: map[string]accountHealth{}}
	if !g.running.Load() {
		out.Status, out.Syncer = "unavailable", "stopped"
	}
	if _, err := g.cfg.store.Load(ctx, healthProbe); err != nil {
		out.Status, out.Store = "unavailable", err.Error()
	}
	for id, a := range g.syncer.Stats().Accounts {
		out.Accounts[id] = accountHealth{Handled: a.Handled, Cursor: a.Cursor != "", LagSecs: int64(a.Lag.Seconds()),
			Failures: a.Failures, LastError: a.LastError}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if out.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(out)
}

// callbackMetrics counts URL verifications; rejections are counted by the
// Handler's OnReject and accepted events by onCallback.
type callbackMetrics struct {
	h *callback.Handler
	m *metrics
}

func (c *callbackMetrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	c.h.ServeHTTP(rec, r)
	if rec.status < 300 && r.Method == http.MethodGet {
		c.m.inc("kf_callbacks_total", "url_verification")
	}
}

// statusRecorder remembers the status written.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// forwarder posts every message to the --forward webhook: the message's
// JSON exactly as sync_msg returned it, retried with jittered exponential
// backoff until the webhook answers 2xx. After attempts failures the
// message's handler fails and the Syncer retries it later (after its own
// backoff, from the last committed cursor): delivery is at-least-once, and
// the webhook should de-duplicate by the X-Kf-Msgid header.
type forwarder struct {
	url      string
	client   *http.Client
	timeout  time.Duration
	attempts int
	initial  time.Duration
	max      time.Duration
	metrics  *metrics
	log      *slog.Logger
}

func (f *forwarder) forward(ctx context.Context, m kf.Message) error {
	body := []byte(m.Raw)
	if len(body) == 0 {
		var err error
		if body, err = json.Marshal(m); err != nil {
			return err
		}
	}
	attempts := max(f.attempts, 1)
	delay := f.initial
	for attempt := 1; ; attempt++ {
		err := f.post(ctx, body, m, attempt)
		if err == nil {
			f.metrics.inc("kf_forwarded_total")
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f.metrics.inc("kf_forward_failures_total")
		f.log.Warn("forward failed", "msgid", m.MsgID, "open_kfid", m.Account(), "attempt", attempt, "err", err)
		if attempt >= attempts {
			return fmt.Errorf("forward msgid %s: %d attempts failed, the last: %w", m.MsgID, attempt, err)
		}
		// Full jitter in [delay/2, delay].
		d := delay/2 + time.Duration(rand.Int64N(int64(delay/2)+1))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
		delay = min(delay*2, f.max)
	}
}

func (f *forwarder) post(ctx context.Context, body []byte, m kf.Message, attempt int) error {
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "kfctl/"+version())
	h.Set("X-Kf-Msgid", m.MsgID)
	h.Set("X-Kf-Open-Kfid", m.Account())
	h.Set("X-Kf-Attempt", strconv.Itoa(attempt))
	resp, err := f.client.Do(req)
	if err != nil {
		// The error names the URL: keep its password and query (a
		// webhook key) out of the logs.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = displayURL(ue.URL)
		}
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		return fmt.Errorf("webhook answered HTTP %d (redirect to %s): give --forward the final URL",
			resp.StatusCode, displayURL(resp.Header.Get("Location")))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// newForwardClient returns the HTTP client of the webhook. It follows no
// redirect: after a 301, 302 or 303 net/http would repeat the POST as a GET
// without the message, and a 2xx to that GET would count as a delivery of
// a message the webhook never received. A redirect is a failed attempt.
func newForwardClient() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// displayURL returns a URL for logs and output: without its password, and
// with every query value hidden (webhook URLs often carry a key there).
func displayURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// countingTransport counts the API requests and the token fetches.
type countingTransport struct {
	base http.RoundTripper
	m    *metrics
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	path := req.URL.Path
	if i := strings.Index(path, "/cgi-bin/"); i >= 0 {
		path = path[i:]
	}
	if strings.HasSuffix(path, "/cgi-bin/gettoken") {
		t.m.inc("kf_token_refreshes_total")
	}
	t.m.inc("kf_api_requests_total", path)
	return t.base.RoundTrip(req)
}

// newGatewayClient returns a kf client for the gateway: the global flags'
// timeout and retries, requests counted in m, and tokens shared through
// cache when it is not nil.
func (a *app) newGatewayClient(corpID, secret, baseURL string, m *metrics, cache kf.TokenCache) (*kf.Client, error) {
	if corpID == "" {
		return nil, usagef("missing --corp-id (or $KF_CORP_ID)")
	}
	if secret == "" {
		return nil, usagef("missing --secret (or $KF_SECRET)")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32 // one account worker each, and the callbacks' pulls
	hc := &http.Client{Timeout: a.timeout, Transport: countingTransport{base: tr, m: m}}
	opts := []kf.Option{kf.WithHTTPClient(hc), kf.WithRetry(a.retry)}
	if baseURL != "" {
		opts = append(opts, kf.WithBaseURL(baseURL))
	}
	if cache != nil {
		opts = append(opts, kf.WithTokenCache(cache))
	}
	if a.debug {
		opts = append(opts, kf.WithLogger(a.logger()))
	}
	c, err := kf.NewClient(corpID, secret, opts...)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}
