package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/redisstore"
)

// serveFlags are the flags of kfctl serve.
type serveFlags struct {
	listen          string
	callbackPath    string
	store           string
	forward         string
	forwardTimeout  time.Duration
	forwardAttempts int
	rules           string
	accounts        []string
	pollInterval    time.Duration
	pageLimit       int
	commitEvery     int
	shutdownTimeout time.Duration
}

func newServeCmd(a *app) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR] [--store sqlite:PATH|redis://HOST:PORT/DB] [--forward URL] [--rules FILE]",
		Short: "Run the gateway: callback URL, sync without loss, webhook and rules, health and metrics",
		Long: `Run the gateway for a corp: it serves the callback URL of the WeCom console
(--callback-path, with the global --token, --aes-key and --corp-id), pulls every
message with sync_msg into a durable store without loss or duplicates, and hands
each message to a webhook (--forward) and/or to built-in rules (--rules).

Stores (--store):
  sqlite:PATH               an SQLite file with the cursors, the de-duplication
                            marks and an archive of every message (default
                            sqlite:./kfctl.db)
  redis://HOST:PORT/DB      Redis, shared by several instances: per-account
                            leases share the work, and the access token is
                            shared too (rediss:// for TLS)

--forward URL posts every message (the JSON object exactly as sync_msg returned
it; headers X-Kf-Msgid, X-Kf-Open-Kfid, X-Kf-Attempt) and retries with jittered
backoff until the webhook answers 2xx: delivery is at-least-once, the cursor
only moves once the webhook accepted the message, so de-duplicate by msgid.

--rules FILE (JSON) answers customers: keyword replies, menus, clicks, a
handoff to a person (the pool, state 2) and the welcome message. See
"kfctl demo" for the rules in action.

GET /healthz answers 200 while the syncer runs and the store answers; GET
/metrics serves Prometheus metrics. SIGINT or SIGTERM stops accepting
callbacks, lets the work in flight finish or abandons it uncommitted (it is
pulled again at the next start), and closes the store.

Without --token and --aes-key there is no callback endpoint: the accounts are
only polled every --poll-interval, on the platform's rate-limited path.`,
		GroupID: groupTools,
		Args:    args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runServe(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to serve the callback, /healthz and /metrics on")
	fl.StringVar(&f.callbackPath, "callback-path", "/callback", "path of the callback URL")
	fl.StringVar(&f.store, "store", "sqlite:./kfctl.db", "store: sqlite:PATH or redis://HOST:PORT/DB")
	fl.StringVar(&f.forward, "forward", "", "webhook `URL` that receives every message as JSON")
	fl.DurationVar(&f.forwardTimeout, "forward-timeout", 10*time.Second, "timeout of each webhook attempt")
	fl.IntVar(&f.forwardAttempts, "forward-attempts", 5, "webhook attempts before the message is retried later by the syncer")
	fl.StringVar(&f.rules, "rules", "", "rules `FILE` (JSON): keyword replies, menu, handoff, welcome")
	fl.StringSliceVar(&f.accounts, "accounts", nil, "open_kfids to sync (default: every account of the corp)")
	fl.DurationVar(&f.pollInterval, "poll-interval", kfsync.DefaultPollInterval, "safety poll of accounts whose callbacks went missing (0: none)")
	fl.IntVar(&f.pageLimit, "page-limit", 0, "sync_msg page size, 1..1000 (default 1000)")
	fl.IntVar(&f.commitEvery, "commit-every", 0, "also commit every N messages within a page (default: per page)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long shutdown waits for work in flight")
	return cmd
}

func (a *app) runServe(cmd *cobra.Command, f *serveFlags) error {
	ctx := cmd.Context()
	a.stderr = &lockedWriter{w: a.stderr} // several loggers write at once
	switch {
	case (a.token == "") != (a.aesKey == ""):
		return usagef("%s: --token and --aes-key go together (or neither, to only poll)", cmd.CommandPath())
	case !strings.HasPrefix(f.callbackPath, "/"):
		return usagef("%s: --callback-path must start with /", cmd.CommandPath())
	case f.callbackPath == "/healthz" || f.callbackPath == "/metrics":
		return usagef("%s: --callback-path %s is taken", cmd.CommandPath(), f.callbackPath)
	case f.pollInterval < 0, f.shutdownTimeout <= 0:
		return usagef("%s: --poll-interval must not be negative and --shutdown-timeout must be positive", cmd.CommandPath())
	case f.forwardTimeout <= 0:
		// A webhook that hangs would stall its account until shutdown.
		return usagef("%s: --forward-timeout must be positive", cmd.CommandPath())
	case f.forwardAttempts < 1:
		return usagef("%s: --forward-attempts must be at least 1", cmd.CommandPath())
	case f.pageLimit < 0 || f.pageLimit > 1000:
		return usagef("%s: --page-limit %d not in 1..1000", cmd.CommandPath(), f.pageLimit)
	case f.commitEvery < 0:
		return usagef("%s: --commit-every must not be negative", cmd.CommandPath())
	case a.token == "" && f.pollInterval == 0:
		return usagef("%s: without a callback (--token, --aes-key) --poll-interval 0 would never pull after the start", cmd.CommandPath())
	}
	if f.forward != "" {
		u, err := url.Parse(f.forward)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("%s: --forward %q is not an http(s) URL", cmd.CommandPath(), displayURL(f.forward))
		}
	}
	var rules *botRules
	if f.rules != "" {
		var err error
		if rules, err = readRules(f.rules); err != nil {
			return err
		}
	}
	if a.corpID == "" || a.secret == "" {
		return usagef("%s: missing --corp-id or --secret (or $KF_CORP_ID, $KF_SECRET)", cmd.CommandPath())
	}

	m := newMetrics()
	declareMetrics(m)
	st, err := openServeStore(ctx, f.store)
	if err != nil {
		return err
	}
	defer st.close()
	c, err := a.newGatewayClient(a.corpID, a.secret, a.baseURL, m, st.tokens)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if a.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	gw, err := newGateway(ctx, gatewayConfig{
		client: c, store: st.store, locker: st.locker,
		corpID: a.corpID, token: a.token, aesKey: a.aesKey, callbackPath: f.callbackPath,
		forwardURL: f.forward, forwardTimeout: f.forwardTimeout, forwardAttempts: f.forwardAttempts,
		rules: rules, accounts: f.accounts, pollInterval: f.pollInterval,
		pageLimit: f.pageLimit, commitEvery: f.commitEvery, shutdown: f.shutdownTimeout,
		log: log, metrics: m,
	})
	if err != nil {
		return err
	}

	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", f.listen)
	if err != nil {
		return err
	}
	base := "http://" + l.Addr().String()
	info := serveInfo{CorpID: a.corpID, Health: base + "/healthz", Metrics: base + "/metrics", Store: st.desc,
		Accounts: gw.accounts, Forward: displayURL(f.forward), Rules: f.rules}
	if gw.cb != nil {
		info.CallbackURL = base + f.callbackPath
	}
	if info.Accounts == nil {
		info.Accounts = []string{}
	}
	if a.output == "json" {
		if err := a.jsonDoc(info); err != nil {
			l.Close()
			return err
		}
	} else {
		a.printServeInfo(info)
	}
	return runGateway(ctx, gw, l, f.shutdownTimeout, log)
}

// runGateway serves gw on l and runs it until ctx ends, then shuts down:
// the HTTP server first (no more callbacks), then the Syncer (work in
// flight finishes or is abandoned uncommitted), within timeout.
func runGateway(ctx context.Context, gw *gateway, l net.Listener, timeout time.Duration, log *slog.Logger) error {
	srv := &http.Server{Handler: gw.handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	ran := make(chan error, 1)
	go func() { ran <- gw.run(runCtx) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
		err = fmt.Errorf("serve: %w", err)
	case err = <-ran:
		err = fmt.Errorf("syncer stopped: %w", err)
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if e := srv.Shutdown(shutCtx); e != nil {
		srv.Close()
	}
	stopRun()
	select {
	case <-ran:
	case <-shutCtx.Done():
		// The Syncer's final commit is bounded by its own timeout;
		// this only guards against a handler that ignores its context.
		log.Warn("shutdown: work still in flight after the timeout; it will be pulled again at the next start")
		if err == nil {
			err = errors.New("shutdown timed out")
		}
		return err
	}
	log.Info("stopped")
	return err
}

// serveInfo is what kfctl serve prints when it starts.
type serveInfo struct {
	CorpID      string   `json:"corp_id"`
	CallbackURL string   `json:"callback_url,omitempty"`
	Health      string   `json:"healthz"`
	Metrics     string   `json:"metrics"`
	Store       string   `json:"store"`
	Accounts    []string `json:"accounts"`
	Forward     string   `json:"forward,omitempty"`
	Rules       string   `json:"rules,omitempty"`
}

func (a *app) printServeInfo(info serveInfo) {
	w := a.stdout
	fmt.Fprintf(w, "kfctl serve: gateway for corp %s\n\n", info.CorpID)
	t := newTable()
	cb := info.CallbackURL
	if cb == "" {
		cb = "none (no --token/--aes-key): polling only"
	}
	t.row("callback URL", cb)
	t.row("health", info.Health)
	t.row("metrics", info.Metrics)
	t.row("store", info.Store)
	t.row("accounts", strings.Join(info.Accounts, ", "))
	t.row("forward", info.Forward)
	t.row("rules", info.Rules)
	t.write(w)
	if info.Forward == "" && info.Rules == "" {
		fmt.Fprintln(w, "\nNo --forward and no --rules: messages are only stored.")
	}
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}

// serveStore is the store of kfctl serve with what comes with it.
type serveStore struct {
	store  kfsync.Store
	locker kfsync.Locker // nil for SQLite
	tokens kf.TokenCache // nil for SQLite
	desc   string        // for people: no password
	close  func() error
}

// openServeStore opens a --store: redis:// and rediss:// here, the others
// with openStore.
func openServeStore(ctx context.Context, spec string) (*serveStore, error) {
	scheme, _, _ := strings.Cut(spec, ":")
	if scheme != "redis" && scheme != "rediss" {
		st, closeFn, err := openStore(ctx, spec)
		if err != nil {
			return nil, err
		}
		return &serveStore{store: st, desc: spec, close: closeFn}, nil
	}
	opts, err := redis.ParseURL(spec)
	if err != nil {
		return nil, usagef("--store: %v", err)
	}
	rdb := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("--store: Redis at %s: %w", opts.Addr, err)
	}
	rs := redisstore.New(rdb)
	desc := spec
	if u, err := url.Parse(spec); err == nil {
		u.User = nil
		desc = u.String()
	}
	return &serveStore{store: rs, locker: rs, tokens: rs.TokenCache(), desc: desc, close: rdb.Close}, nil
}
