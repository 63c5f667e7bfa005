package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
)

// syncFlags are the flags of kfctl sync.
type syncFlags struct {
	openKfIDs []string
	cursor    string
	token     string
	limit     uint32
	follow    bool
	interval  time.Duration
	store     string
	quiet     bool
}

func newSyncCmd(a *app) *cobra.Command {
	var f syncFlags
	cmd := &cobra.Command{
		Use:   "sync [--open-kfid ID]... [--follow] [--store sqlite:PATH]",
		Short: "Pull messages and events (sync_msg) and print them",
		Long: `Pull the messages and events of KF accounts (sync_msg) and print them: a table, or
with --output json one JSON object per line, exactly as the platform sent it.

Without --open-kfid every account of the corp is read. Without --store the pull
starts at --cursor (default: the oldest message of the platform's 3 days of
history) and the cursor to resume from is printed on stderr at the end.

--store sqlite:PATH pulls through kfsync into an SQLite file that keeps the
cursors, skips the messages already stored and archives every message: run it
again and it prints only what is new.

--follow keeps pulling every --interval until interrupted. Without a callback
token (--sync-token) the platform limits sync_msg strictly: keep the interval
long. Progress of long pulls goes to stderr (--quiet turns it off).`,
		GroupID: groupAPI,
		Args:    args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runSync(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.openKfIDs, "open-kfid", nil, "KF accounts to read (default: every account)")
	fl.StringVar(&f.cursor, "cursor", "", "cursor to start from (one account, not with --store)")
	fl.StringVar(&f.token, "sync-token", "", "token of a kf_msg_or_event callback (valid 10 minutes; lifts the strict frequency limit)")
	fl.Uint32Var(&f.limit, "limit", 0, "page size, 1..1000 (default 1000)")
	fl.BoolVarP(&f.follow, "follow", "f", false, "keep pulling until interrupted")
	fl.DurationVar(&f.interval, "interval", 10*time.Second, "pause between pulls with --follow")
	fl.StringVar(&f.store, "store", "", "pull into a durable store: sqlite:PATH")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress on stderr")
	return cmd
}

func (a *app) runSync(cmd *cobra.Command, f *syncFlags) error {
	switch {
	case f.cursor != "" && len(f.openKfIDs) != 1:
		return usagef("%s: --cursor needs exactly one --open-kfid", cmd.CommandPath())
	case f.cursor != "" && f.store != "":
		return usagef("%s: --cursor cannot be used with --store (the store keeps the cursors)", cmd.CommandPath())
	case f.token != "" && len(f.openKfIDs) != 1:
		return usagef("%s: --sync-token needs exactly one --open-kfid (a token belongs to one account)", cmd.CommandPath())
	case f.follow && f.interval <= 0:
		return usagef("%s: --interval must be positive", cmd.CommandPath())
	}
	for _, id := range f.openKfIDs {
		req := &kf.SyncMsgRequest{OpenKfID: id, Cursor: f.cursor, Token: f.token, Limit: f.limit}
		if err := req.Validate(); err != nil {
			return err
		}
	}
	var store kfsync.Store
	if f.store != "" {
		st, closeStore, err := openStore(cmd.Context(), f.store)
		if err != nil {
			return err
		}
		defer closeStore()
		store = st
	}
	c, err := a.kfClient()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	accounts := f.openKfIDs
	if len(accounts) == 0 {
		for acc, err := range c.Accounts.All(ctx, 0) {
			if err != nil {
				return err
			}
			accounts = append(accounts, acc.OpenKfID)
		}
		if len(accounts) == 0 {
			return errors.New("sync: the corp has no KF account")
		}
	}
	p := newMsgPrinter(a, f.follow)
	prog := newProgress(a.stderr, f.quiet)
	if store != nil {
		err = a.syncStore(ctx, c, store, accounts, f, p, prog)
	} else {
		err = a.syncDirect(ctx, c, accounts, f, p, prog)
	}
	if ferr := p.flush(); err == nil {
		err = ferr
	}
	prog.done(len(accounts))
	if f.follow && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil // interrupted: the normal end of --follow
	}
	return err
}

// syncDirect pulls page by page with Messages.Sync, following next_cursor
// while has_more is 1 as Messages.SyncAll does, and keeps the cursor of each
// account to resume from (SyncAll does not return it).
func (a *app) syncDirect(ctx context.Context, c *kf.Client, accounts []string, f *syncFlags, p *msgPrinter, prog *progress) error {
	cursors := map[string]string{}
	if f.cursor != "" {
		cursors[accounts[0]] = f.cursor
	}
	defer func() {
		if f.quiet {
			return
		}
		for _, acc := range accounts {
			if cur := cursors[acc]; cur != "" {
				fmt.Fprintf(a.stderr, "sync: %s: resume with --open-kfid %s --cursor %s\n", acc, acc, cur)
			}
		}
	}()
	for {
		wait := f.interval
		for _, acc := range accounts {
			err := a.pull(ctx, c, &kf.SyncMsgRequest{OpenKfID: acc, Cursor: cursors[acc], Token: f.token, Limit: f.limit}, cursors, p, prog)
			if err == nil {
				continue
			}
			if !f.follow || ctx.Err() != nil {
				return err
			}
			// Following: report and carry on after the pause (longer
			// when the platform asks for it).
			fmt.Fprintf(a.stderr, "sync: %s: %s\n", acc, a.redact(err.Error()))
			var rl *kf.RateLimitError
			if errors.As(err, &rl) && rl.RetryAfter > wait {
				wait = rl.RetryAfter
			}
		}
		if !f.follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// pull reads one account from req.Cursor until has_more is 0, printing every
// message and recording the cursor after each page.
func (a *app) pull(ctx context.Context, c *kf.Client, req *kf.SyncMsgRequest, cursors map[string]string, p *msgPrinter, prog *progress) error {
	seen := map[string]bool{}
	for {
		page, err := c.Messages.Sync(ctx, req)
		if err != nil {
			return err
		}
		for i := range page.MsgList {
			if err := p.add(&page.MsgList[i]); err != nil {
				return err
			}
		}
		prog.add(len(page.MsgList))
		if p.stream {
			if err := p.flush(); err != nil {
				return err
			}
		}
		if page.NextCursor != "" {
			cursors[req.OpenKfID] = page.NextCursor
		}
		if !page.HasMore {
			return nil
		}
		if page.NextCursor == "" || seen[page.NextCursor] {
			return fmt.Errorf("kf/sync_msg: %s: %w", req.OpenKfID, kf.ErrRepeatedCursor)
		}
		seen[page.NextCursor] = true
		req.Cursor = page.NextCursor
	}
}

// syncStore pulls through a kfsync.Syncer into store. Without --follow it
// stops once every account has reached has_more 0.
func (a *app) syncStore(ctx context.Context, c *kf.Client, store kfsync.Store, accounts []string, f *syncFlags, p *msgPrinter, prog *progress) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var mu sync.Mutex
	pending := map[string]bool{}
	for _, acc := range accounts {
		pending[acc] = true
	}
	hooks := kfsync.Hooks{
		Page: func(ev kfsync.PageEvent) {
			prog.add(ev.Handled)
			if p.stream {
				if err := p.flush(); err != nil {
					cancel(err)
				}
			}
			if f.follow || ev.HasMore {
				return
			}
			mu.Lock()
			delete(pending, ev.OpenKfID)
			caughtUp := len(pending) == 0
			mu.Unlock()
			if caughtUp {
				cancel(errCaughtUp)
			}
		},
		Error: func(ev kfsync.ErrorEvent) {
			if f.follow {
				fmt.Fprintf(a.stderr, "sync: %s: %s (retry in %s)\n", ev.OpenKfID, a.redact(ev.Err.Error()), ev.Retry)
				return
			}
			if ev.Retry > 0 { // a failure the Syncer would back off from
				cancel(ev.Err)
			}
		},
	}
	poll := time.Duration(0)
	if f.follow {
		poll = f.interval
	}
	opts := []kfsync.Option{kfsync.WithStore(store), kfsync.WithAccounts(accounts...),
		kfsync.WithPollInterval(poll), kfsync.WithHooks(hooks)}
	if f.limit > 0 {
		opts = append(opts, kfsync.WithPageLimit(int(f.limit)))
	}
	s, err := kfsync.New(c.Messages, func(_ context.Context, m kf.Message) error {
		return p.add(&m)
	}, opts...)
	if err != nil {
		return err
	}
	if f.token != "" {
		s.Notify(accounts[0], f.token)
	}
	if err := s.Run(ctx); err != nil {
		return err
	}
	switch err := context.Cause(ctx); {
	case errors.Is(err, errCaughtUp):
		return nil
	case err != nil:
		return err
	}
	return nil
}

var errCaughtUp = errors.New("caught up")

// msgPrinter prints synced messages: JSON lines as they come, or table rows
// (all at the end, or page by page when streaming). It is safe for
// concurrent use.
type msgPrinter struct {
	a      *app
	stream bool

	mu     sync.Mutex
	t      *table
	header bool
}

func newMsgPrinter(a *app, stream bool) *msgPrinter {
	return &msgPrinter{a: a, stream: stream, t: newTable()}
}

func (p *msgPrinter) add(m *kf.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.a.output == "json" {
		raw := m.Raw
		if raw == nil {
			var err error
			if raw, err = json.Marshal(m); err != nil {
				return err
			}
		}
		return p.a.jsonLine(raw)
	}
	p.t.row(m.Time().Local(), m.Account(), m.Customer(), m.Origin, m.MsgType, truncate(summarize(m), 80))
	return nil
}

// flush prints the rows collected so far, with the header the first time.
func (p *msgPrinter) flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.a.output == "json" || (len(p.t.rows) == 0 && (p.header || p.stream)) {
		return nil
	}
	if !p.header {
		p.t.header = []string{"TIME", "OPEN_KFID", "EXTERNAL_USERID", "ORIGIN", "MSGTYPE", "CONTENT"}
		p.header = true
	} else {
		p.t.header = nil
	}
	err := p.t.write(p.a.stdout)
	p.t.rows = p.t.rows[:0]
	return err
}

// summarize is the one-line content of a message for the table.
func summarize(m *kf.Message) string {
	switch p := m.Payload.(type) {
	case *kf.Text:
		if p.MenuID != "" {
			return fmt.Sprintf("%s [menu_id %s]", p.Content, p.MenuID)
		}
		return p.Content
	case *kf.Image:
		return "media_id " + p.MediaID
	case *kf.Voice:
		return "media_id " + p.MediaID
	case *kf.Video:
		return "media_id " + p.MediaID
	case *kf.File:
		return "media_id " + p.MediaID
	case *kf.Location:
		return fmt.Sprintf("%s %s (%g, %g)", p.Name, p.Address, p.Latitude, p.Longitude)
	case *kf.Link:
		return p.Title + " " + p.URL
	case *kf.BusinessCard:
		return "userid " + p.UserID
	case *kf.MiniProgram:
		return p.Title + " " + p.AppID + " " + p.PagePath
	case *kf.Event:
		return summarizeEvent(p)
	}
	var payload json.RawMessage
	if m.Raw != nil {
		var obj map[string]json.RawMessage
		if json.Unmarshal(m.Raw, &obj) == nil {
			payload = obj[string(m.MsgType)]
		}
	}
	return string(payload)
}

func summarizeEvent(e *kf.Event) string {
	s := string(e.EventType)
	switch p := e.Payload.(type) {
	case *kf.EnterSession:
		s += kvText("scene", p.Scene, "scene_param", p.SceneParam, "welcome_code", p.WelcomeCode)
	case *kf.SessionStatusChange:
		s += kvText("change_type", p.ChangeType.String(), "old_servicer", p.OldServicerUserID,
			"new_servicer", p.NewServicerUserID, "msg_code", p.MsgCode)
	case *kf.MsgSendFail:
		s += kvText("fail_msgid", p.FailMsgID, "fail_type", p.FailType.String())
	case *kf.ServicerStatusChange:
		s += kvText("servicer", p.ServicerUserID, "status", p.Status.String())
	case *kf.UserRecallMsg:
		s += kvText("recall_msgid", p.RecallMsgID)
	case *kf.ServicerRecallMsg:
		s += kvText("recall_msgid", p.RecallMsgID, "servicer", p.ServicerUserID)
	}
	return s
}

// kvText formats the non-empty pairs as " k=v k=v".
func kvText(pairs ...string) string {
	var s string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			s += " " + pairs[i] + "=" + pairs[i+1]
		}
	}
	return s
}

// progress reports the progress of a long pull on stderr, at most once a
// second, and a summary at the end.
type progress struct {
	w     io.Writer
	quiet bool

	mu    sync.Mutex
	start time.Time
	last  time.Time
	n     int64
}

func newProgress(w io.Writer, quiet bool) *progress {
	now := time.Now()
	return &progress{w: w, quiet: quiet, start: now, last: now}
}

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(n)
	now := time.Now()
	if p.quiet || now.Sub(p.last) < time.Second {
		return
	}
	p.last = now
	fmt.Fprintf(p.w, "sync: %d messages (%.0f/s)\n", p.n, rate(p.n, now.Sub(p.start)))
}

func (p *progress) done(accounts int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet {
		return
	}
	d := time.Since(p.start)
	fmt.Fprintf(p.w, "sync: %d messages from %d accounts in %s (%.0f/s)\n", p.n, accounts, d.Round(time.Millisecond), rate(p.n, d))
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
