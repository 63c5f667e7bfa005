package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync/sqlitestore"
	"github.com/wxkf/kf/kftest"
)

// demoFlags are the flags of kfctl demo.
type demoFlags struct {
	headless  bool
	customers int
	messages  int
	db        string
	addr      string
	listen    string
	rules     string
	wait      time.Duration
	quiet     bool
}

func newDemoCmd(a *app) *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo [--headless --customers N --messages M]",
		Short: "Run everything on this machine: the emulator, the gateway and a bot; chat with it in a browser",
		Long: `Run the whole toolkit on this machine, with no configuration: the kftest emulator
of WeCom 微信客服 (a corp with two accounts, servicers, customers and a contact
link), the gateway of "kfctl serve" (the emulator's callbacks, kfsync into an
SQLite file, health and metrics) and a small bot (echo, a menu, a handoff to a
person on "human" or "人工", and a welcome menu sent with the welcome_code).
Open the chat page it prints and play the customer. Ctrl-C stops everything.

--headless drives simulated customers instead of a person: --customers N
customers enter a session and send --messages M messages in total, each
waiting for the echo of the previous one. Progress goes to stderr; the
summary (messages in and out, lost, duplicated, reply latency) to stdout.
The exit code is 1 when a message was lost or answered twice.

--rules FILE replaces the bot's rules (the format of "kfctl serve --rules").`,
		GroupID: groupTools,
		Args:    args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDemo(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.headless, "headless", false, "simulated customers instead of a person, then a summary")
	fl.IntVar(&f.customers, "customers", 10, "simulated customers (--headless)")
	fl.IntVar(&f.messages, "messages", 200, "messages the customers send in total (--headless)")
	fl.StringVar(&f.db, "db", "", "SQLite `FILE` of the gateway (default: a temporary file, removed at the end)")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8088", "address of the emulator (its API, control API and chat page)")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:0", "address of the gateway (callback, /healthz, /metrics)")
	fl.StringVar(&f.rules, "rules", "", "rules `FILE` of the bot (JSON, as for kfctl serve)")
	fl.DurationVar(&f.wait, "wait", 30*time.Second, "how long a simulated customer waits for each reply (--headless)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress on stderr (--headless)")
	return cmd
}

// demoAccounts are the accounts of the demo corp (defaultSeed).
var demoAccounts = []string{"wkSupport", "wkSales"}

// demoStack is the running demo: emulator, store and gateway.
type demoStack struct {
	emu      *kftest.Server
	store    *sqlitestore.Store
	gw       *gateway
	metrics  *metrics
	dbPath   string
	links    map[string]string // open_kfid → contact link
	gwURL    string
	callback string
}

func (a *app) runDemo(cmd *cobra.Command, f *demoFlags) error {
	ctx := cmd.Context()
	a.stderr = &lockedWriter{w: a.stderr} // logs, progress and customers write at once
	if f.headless {
		switch {
		case f.customers < 1 || f.customers > 10000:
			return usagef("%s: --customers %d not in 1..10000", cmd.CommandPath(), f.customers)
		case f.messages < 0 || f.messages > 1000000:
			return usagef("%s: --messages %d not in 0..1000000", cmd.CommandPath(), f.messages)
		case f.wait <= 0:
			return usagef("%s: --wait must be positive", cmd.CommandPath())
		}
	}
	rules := demoRules()
	if f.rules != "" {
		var err error
		if rules, err = readRules(f.rules); err != nil {
			return err
		}
	}
	level := slog.LevelWarn
	if a.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))

	// The gateway's SQLite file.
	dbPath := f.db
	if dbPath == "" {
		dir, err := os.MkdirTemp("", "kfctl-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, "kfctl.db")
	}
	// NORMAL: a commit survives a crash of the process, the only failure a
	// demo meets; it saves an fsync per page.
	store, err := sqlitestore.Open(ctx, dbPath, sqlitestore.WithSynchronous(sqlitestore.Normal))
	if err != nil {
		return err
	}
	defer store.Close()

	// The gateway listens first: the emulator needs its callback URL.
	var lc net.ListenConfig
	gl, err := lc.Listen(ctx, "tcp", f.listen)
	if err != nil {
		return fmt.Errorf("demo: gateway: %w", err)
	}
	defer gl.Close()
	st := &demoStack{store: store, dbPath: dbPath, links: map[string]string{}, metrics: newMetrics()}
	declareMetrics(st.metrics)
	st.gwURL = "http://" + gl.Addr().String()
	st.callback = st.gwURL + "/callback"
	cbToken, cbKey := randomAlnum(32), randomAlnum(43)

	seed := defaultSeed()
	seed.Customers = append(seed.Customers, kftest.SeedCustomer{ExternalUserID: "wmDana", Nickname: "Dana"})
	if f.headless {
		seed.Customers = nil
		for i := range f.customers {
			seed.Customers = append(seed.Customers, kftest.SeedCustomer{
				ExternalUserID: demoCustomer(i), Nickname: fmt.Sprintf("Customer %d", i+1)})
		}
	}
	emuOpts := []kftest.Option{kftest.WithSeed(seed),
		kftest.WithCallback(kftest.Callback{URL: st.callback, Token: cbToken, EncodingAESKey: cbKey})}
	if a.debug {
		emuOpts = append(emuOpts, kftest.WithLogger(log))
	}
	emu, err := kftest.New(emuOpts...)
	if err != nil {
		return err
	}
	defer emu.Close()
	st.emu = emu
	addr := f.addr
	if f.headless && !cmd.Flags().Changed("addr") {
		addr = "127.0.0.1:0"
	}
	el, err := lc.Listen(ctx, "tcp", addr)
	if err != nil && !cmd.Flags().Changed("addr") {
		fmt.Fprintf(a.stderr, "demo: %s is taken (%v); the emulator takes a free port\n", addr, err)
		el, err = lc.Listen(ctx, "tcp", "127.0.0.1:0")
	}
	if err != nil {
		return fmt.Errorf("demo: emulator: %w", err)
	}
	emu.Start(el)

	c, err := a.newGatewayClient(emu.CorpID(), emu.Secret(), emu.URL(), st.metrics, nil)
	if err != nil {
		return err
	}
	for _, acc := range demoAccounts {
		link, err := c.Accounts.ContactWay(ctx, &kf.ContactWayRequest{OpenKfID: acc, Scene: "demo"})
		if err != nil {
			return fmt.Errorf("demo: contact link: %w", err)
		}
		st.links[acc] = link.URL
	}

	var tr *demoTracker
	if f.headless {
		tr = newDemoTracker()
	}
	cfg := gatewayConfig{
		client: c, store: store, corpID: emu.CorpID(), token: cbToken, aesKey: cbKey, callbackPath: "/callback",
		rules: rules, accounts: demoAccounts, pollInterval: 30 * time.Second, shutdown: 5 * time.Second,
		log: log, metrics: st.metrics,
	}
	if tr != nil {
		cfg.onReply = tr.onReply
	}
	gw, err := newGateway(ctx, cfg)
	if err != nil {
		return err
	}
	st.gw = gw

	// The gateway runs until stop; runGateway shuts it down in order.
	gwCtx, stop := context.WithCancel(ctx)
	defer stop()
	gwDone := make(chan error, 1)
	go func() { gwDone <- runGateway(gwCtx, gw, gl, 10*time.Second, log) }()
	stopGateway := func() error {
		stop()
		return <-gwDone
	}

	if !f.headless {
		if err := a.printDemoInfo(st); err != nil {
			stopGateway()
			return err
		}
		select {
		case <-ctx.Done():
		case err := <-gwDone:
			return fmt.Errorf("demo: the gateway stopped: %w", err)
		}
		err := stopGateway()
		if a.output != "json" {
			fmt.Fprintln(a.stdout, "demo stopped")
		}
		return err
	}

	start := time.Now()
	a.driveDemo(ctx, st, tr, f, start)
	elapsed := time.Since(start)
	if err := stopGateway(); err != nil {
		return err
	}
	sum, err := st.summarize(context.WithoutCancel(ctx), tr, f, elapsed)
	if err != nil {
		return err
	}
	if err := a.printDemoSummary(sum); err != nil {
		return err
	}
	switch {
	case ctx.Err() != nil:
		return errors.New("demo: interrupted")
	case sum.Lost > 0 || sum.Duplicated > 0 || sum.NotSent > 0:
		return fmt.Errorf("demo: %d lost, %d duplicated, %d not sent", sum.Lost, sum.Duplicated, sum.NotSent)
	}
	return nil
}

// demoCustomer is the external_userid of the i-th simulated customer.
func demoCustomer(i int) string { return fmt.Sprintf("wmDemo%05d", i+1) }

// randomAlnum returns n random ASCII letters and digits (a callback Token,
// an EncodingAESKey).
func randomAlnum(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic(err) // crypto/rand does not fail
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// demoInfo is what the interactive demo prints (as JSON with --output json).
type demoInfo struct {
	ChatPage    string            `json:"chat_page"`
	EmulatorURL string            `json:"emulator_url"`
	CorpID      string            `json:"corp_id"`
	Secret      string            `json:"secret"`
	CallbackURL string            `json:"callback_url"`
	Health      string            `json:"healthz"`
	Metrics     string            `json:"metrics"`
	Database    string            `json:"database"`
	Links       map[string]string `json:"contact_links"`
}

func (a *app) printDemoInfo(st *demoStack) error {
	base := st.emu.URL()
	info := demoInfo{
		ChatPage:    demoChatURL(base, "wmCustomer", "wkSupport"),
		EmulatorURL: base, CorpID: st.emu.CorpID(), Secret: st.emu.Secret(),
		CallbackURL: st.callback, Health: st.gwURL + "/healthz", Metrics: st.gwURL + "/metrics",
		Database: st.dbPath, Links: st.links,
	}
	if a.output == "json" {
		return a.jsonDoc(info)
	}
	w := a.stdout
	fmt.Fprintf(w, "kfctl demo: the WeCom 微信客服 emulator, the kfctl gateway and a bot, on this machine.\n\n")
	t := newTable()
	t.row("chat page", info.ChatPage)
	t.row("emulator", base+"  (corp "+info.CorpID+", secret "+info.Secret+")")
	t.row("gateway", info.CallbackURL+"  (Token and EncodingAESKey made up for this run)")
	t.row("health, metrics", info.Health+"  "+info.Metrics)
	t.row("archive", info.Database+"  (SQLite)")
	t.row("contact link", info.Links["wkSupport"])
	t.write(w)
	accept := fmt.Sprintf(`curl -d '{"open_kfid":"wkSupport","external_userid":"wmCustomer","servicer_userid":"alice"}' %s/_kftest/servicer/accept`, base)
	end := fmt.Sprintf(`curl -d '{"open_kfid":"wkSupport","external_userid":"wmCustomer"}' %s/_kftest/servicer/end`, base)
	fmt.Fprintf(w, `
Open the chat page: you are the customer Carl, writing to the account Support.
  1. Open "Enter the chat" and click Enter (the contact link): the bot welcomes
     you with a menu, sent with the welcome_code of enter_session.
  2. Write anything: the bot echoes it.
  3. Write "menu" and click "Opening hours".
  4. Write "human" or "人工": the bot hands the session to the pool (state 2,
     待接入池) and stays silent. Play the servicer alice:
       %s
       %s
     After the end, your next message opens a new session and the bot answers again.

Every message goes through the gateway: the emulator calls the callback URL, kfsync
pulls with sync_msg into the SQLite archive, and the bot answers within the
platform's rules (5 messages per customer message, session states 0 and 1).
Point kfctl at the emulator in another terminal:
  export KF_BASE_URL=%s KF_CORP_ID=%s KF_SECRET=%s
  kfctl session get wmCustomer --open-kfid wkSupport

Press Ctrl-C to stop.
`, accept, end, base, info.CorpID, info.Secret)
	return nil
}

// demoTracker follows the simulated customers' messages and the bot's
// replies (through the bot's reply hook).
type demoTracker struct {
	mu        sync.Mutex
	msgs      map[string]*demoMsg  // by customer msgid
	early     map[string]time.Time // echoes seen before the sender registered the msgid
	echoes    map[string]int       // echo replies sent by the bot, by customer msgid
	welcomes  int
	latencies []time.Duration

	sent, replied, entered atomic.Int64
	notSent                atomic.Int64 // customer messages the emulator refused
}

type demoMsg struct {
	account, customer, content string
	sentAt                     time.Time
	done                       chan struct{}
	replied                    bool
}

func newDemoTracker() *demoTracker {
	return &demoTracker{msgs: map[string]*demoMsg{}, early: map[string]time.Time{}, echoes: map[string]int{}}
}

// onReply is the bot's reply hook.
func (t *demoTracker) onReply(ev botReplyEvent) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev.Kind {
	case "welcome":
		t.welcomes++
	case "echo":
		t.echoes[ev.Msg.MsgID]++
		if d := t.msgs[ev.Msg.MsgID]; d != nil {
			t.doneLocked(d, now)
		} else if _, ok := t.early[ev.Msg.MsgID]; !ok {
			t.early[strings.Clone(ev.Msg.MsgID)] = now
		}
	}
}

func (t *demoTracker) doneLocked(d *demoMsg, at time.Time) {
	if d.replied {
		return
	}
	d.replied = true
	t.latencies = append(t.latencies, at.Sub(d.sentAt))
	t.replied.Add(1)
	close(d.done)
}

// register records a sent message and returns a channel closed at its
// echo.
func (t *demoTracker) register(msgID string, d *demoMsg) <-chan struct{} {
	d.done = make(chan struct{})
	t.mu.Lock()
	defer t.mu.Unlock()
	t.msgs[msgID] = d
	t.sent.Add(1)
	if at, ok := t.early[msgID]; ok {
		delete(t.early, msgID)
		t.doneLocked(d, at)
	}
	return d.done
}

// percentiles returns the p-th percentiles of the reply latencies.
func (t *demoTracker) percentiles(ps ...float64) []time.Duration {
	t.mu.Lock()
	l := slices.Clone(t.latencies)
	t.mu.Unlock()
	slices.Sort(l)
	out := make([]time.Duration, len(ps))
	if len(l) == 0 {
		return out
	}
	for i, p := range ps {
		out[i] = l[int(p*float64(len(l)-1)+0.5)]
	}
	return out
}

// driveDemo runs the simulated customers: each enters a session through
// its account's contact link, then sends its share of the messages, each
// after the echo of the previous one (or after f.wait). It returns when all
// are sent and answered, after f.wait without progress, or when ctx ends.
func (a *app) driveDemo(ctx context.Context, st *demoStack, tr *demoTracker, f *demoFlags, start time.Time) {
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-tick.C:
				if !f.quiet {
					a.demoProgress(tr, f, start)
				}
			}
		}
	}()
	defer func() {
		close(stopProgress)
		<-progressDone
	}()

	var wg sync.WaitGroup
	for i := range f.customers {
		n := f.messages / f.customers
		if i < f.messages%f.customers {
			n++
		}
		wg.Go(func() { a.demoCustomer(ctx, st, tr, f, i, n) })
	}
	wg.Wait()

	// Wait for the last replies, and for the Syncer to commit what it
	// handled (the Page hook counts after the commit): a shutdown in the
	// middle of a commit would leave the last page for the next start.
	deadline := time.Now().Add(f.wait)
	settled := func() bool {
		return tr.replied.Load() >= tr.sent.Load() &&
			int64(st.metrics.sum("kf_messages_handled_total")) >= tr.sent.Load()+tr.entered.Load()
	}
	for !settled() && time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !f.quiet {
		a.demoProgress(tr, f, start)
	}
}

func (a *app) demoProgress(tr *demoTracker, f *demoFlags, start time.Time) {
	sent, replied := tr.sent.Load(), tr.replied.Load()
	p := tr.percentiles(0.5)
	fmt.Fprintf(a.stderr, "demo: %d/%d sent, %d replied, %.0f msg/s, p50 %s\n",
		sent, f.messages, replied, rate(replied, time.Since(start)), p[0].Round(100*time.Microsecond))
}

// demoCustomer plays the i-th customer.
func (a *app) demoCustomer(ctx context.Context, st *demoStack, tr *demoTracker, f *demoFlags, i, n int) {
	acc := demoAccounts[i%len(demoAccounts)]
	cust := demoCustomer(i)
	if _, err := st.emu.EnterSession(acc, cust, kftest.EnterOptions{Link: st.links[acc]}); err != nil {
		fmt.Fprintf(a.stderr, "demo: %s enters %s: %v\n", cust, acc, err)
	} else {
		tr.entered.Add(1)
	}
	for j := range n {
		if ctx.Err() != nil {
			return
		}
		content := fmt.Sprintf("hello from %s, message %d of %d", cust, j+1, n)
		d := &demoMsg{account: acc, customer: cust, content: content, sentAt: time.Now()}
		id, err := st.emu.CustomerSend(acc, cust, kftest.CustomerText(content))
		if err != nil {
			tr.notSent.Add(1)
			fmt.Fprintf(a.stderr, "demo: %s sends: %v\n", cust, err)
			continue
		}
		done := tr.register(id, d)
		select {
		case <-done:
		case <-ctx.Done():
			return
		case <-time.After(f.wait):
			fmt.Fprintf(a.stderr, "demo: %s: no echo of %s after %s\n", cust, id, f.wait)
		}
	}
}

// demoSummary is the outcome of a headless run.
type demoSummary struct {
	Customers   int     `json:"customers"`
	Accounts    int     `json:"accounts"`
	Seconds     float64 `json:"seconds"`
	MessagesIn  int     `json:"messages_in"`
	Archived    int     `json:"archived"`
	Events      int     `json:"archived_events"`
	MessagesOut int     `json:"messages_out"`
	Echoes      int     `json:"echoes"`
	Welcomes    int     `json:"welcomes"`
	NotSent     int     `json:"not_sent"` // refused by the emulator: the run did not test them
	Lost        int     `json:"lost"`
	Duplicated  int     `json:"duplicated"`
	P50ms       float64 `json:"latency_p50_ms"`
	P90ms       float64 `json:"latency_p90_ms"`
	P99ms       float64 `json:"latency_p99_ms"`
	MaxMs       float64 `json:"latency_max_ms"`
	Rate        float64 `json:"messages_per_second"`
	Pages       int64   `json:"pages_pulled"`
	// LostIDs and DuplicatedIDs name the first few culprits.
	LostIDs       []string `json:"lost_msgids,omitempty"`
	DuplicatedIDs []string `json:"duplicated_msgids,omitempty"`
}

// summarize checks every sent message against the SQLite archive and what
// the customers received: lost when it is not archived or was never
// echoed, duplicated when the customer received its echo more than once or
// the bot answered it more than once.
func (st *demoStack) summarize(ctx context.Context, tr *demoTracker, f *demoFlags, elapsed time.Duration) (*demoSummary, error) {
	s := &demoSummary{Customers: f.customers, Accounts: len(demoAccounts), Seconds: elapsed.Seconds(),
		Pages: int64(st.metrics.value("kf_pages_pulled_total")), NotSent: int(tr.notSent.Load())}
	archived := map[string]bool{}
	for _, acc := range demoAccounts {
		rows, err := st.store.ByTime(ctx, acc, time.Time{}, time.Time{}, 0)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if r.Message.Origin == kf.OriginCustomer {
				archived[r.Message.MsgID] = true
				s.Archived++
			} else {
				s.Events++
			}
		}
	}
	// What each customer received: echoes counted by the echoed text.
	received := map[string]int{}
	seen := map[[2]string]bool{}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, d := range tr.msgs {
		k := [2]string{d.account, d.customer}
		if seen[k] {
			continue
		}
		seen[k] = true
		for _, m := range st.emu.Received(d.account, d.customer) {
			if m.From != "api" && m.From != "event" {
				continue
			}
			s.MessagesOut++
			var p struct {
				Content string `json:"content"`
			}
			if m.MsgType == "text" && json.Unmarshal(m.Payload, &p) == nil && strings.HasPrefix(p.Content, "echo: ") {
				received[d.account+"\x00"+d.customer+"\x00"+strings.TrimPrefix(p.Content, "echo: ")]++
				s.Echoes++
			}
		}
	}
	s.Welcomes = tr.welcomes
	ids := make([]string, 0, len(tr.msgs))
	for id := range tr.msgs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		d := tr.msgs[id]
		s.MessagesIn++
		got := received[d.account+"\x00"+d.customer+"\x00"+d.content]
		switch {
		case !archived[id] || got == 0:
			s.Lost++
			if len(s.LostIDs) < 10 {
				s.LostIDs = append(s.LostIDs, id)
			}
		case got > 1 || tr.echoes[id] > 1:
			s.Duplicated++
			if len(s.DuplicatedIDs) < 10 {
				s.DuplicatedIDs = append(s.DuplicatedIDs, id)
			}
		}
	}
	l := slices.Clone(tr.latencies)
	slices.Sort(l)
	pct := func(p float64) float64 {
		if len(l) == 0 {
			return 0
		}
		return float64(l[int(p*float64(len(l)-1)+0.5)].Microseconds()) / 1000
	}
	s.P50ms, s.P90ms, s.P99ms, s.MaxMs = pct(0.5), pct(0.9), pct(0.99), pct(1)
	s.Rate = rate(int64(s.MessagesIn), elapsed)
	return s, nil
}

func (a *app) printDemoSummary(s *demoSummary) error {
	if a.output == "json" {
		return a.jsonDoc(s)
	}
	w := a.stdout
	fmt.Fprintf(w, "kfctl demo: %d customers, %d accounts, %d messages in %.1fs (%.0f msg/s)\n\n",
		s.Customers, s.Accounts, s.MessagesIn, s.Seconds, s.Rate)
	t := newTable()
	t.row("messages in", fmt.Sprint(s.MessagesIn), "customer messages sent")
	t.row("archived", fmt.Sprint(s.Archived), fmt.Sprintf("customer messages in the SQLite archive (and %d events)", s.Events))
	t.row("messages out", fmt.Sprint(s.MessagesOut), fmt.Sprintf("%d echoes, %d welcome menus", s.Echoes, s.Welcomes))
	if s.NotSent > 0 {
		t.row("not sent", fmt.Sprint(s.NotSent), "refused by the emulator (see the errors above)")
	}
	t.row("lost", fmt.Sprint(s.Lost), "not archived or never answered")
	t.row("duplicated", fmt.Sprint(s.Duplicated), "answered more than once")
	t.row("reply latency", fmt.Sprintf("p50 %.1fms", s.P50ms), fmt.Sprintf("p90 %.1fms · p99 %.1fms · max %.1fms", s.P90ms, s.P99ms, s.MaxMs))
	t.row("sync_msg pages", fmt.Sprint(s.Pages), "pulled by kfsync, woken by the callbacks")
	t.write(w)
	if len(s.LostIDs) > 0 {
		fmt.Fprintf(w, "\nlost: %s\n", strings.Join(s.LostIDs, " "))
	}
	if len(s.DuplicatedIDs) > 0 {
		fmt.Fprintf(w, "\nduplicated: %s\n", strings.Join(s.DuplicatedIDs, " "))
	}
	if s.Lost == 0 && s.Duplicated == 0 && s.NotSent == 0 {
		fmt.Fprintln(w, "\nOK: every message was archived and answered exactly once.")
	}
	return nil
}

// demoChatURL is the chat page of a customer with an account.
func demoChatURL(base, customer, account string) string {
	return base + "/?" + url.Values{"customer": {customer}, "account": {account}}.Encode()
}

// lockedWriter serialises the writes of several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
