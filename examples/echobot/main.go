// Command echobot is an echo bot for WeChat Customer Service (WeCom 微信客服),
// built from the three parts of package kf that receive without loss:
//
//   - callback: the HTTP handler of the platform's callbacks. A
//     kf_msg_or_event callback carries no content, only "account X has news"
//     and a token; the handler verifies it, answers at once and passes the
//     account and token on.
//   - kfsync: the sync engine. It pulls the account's messages with
//     sync_msg (with the callback's token), skips those already handled and
//     calls the bot's handler for each new one, committing the cursor only
//     after the handler succeeded.
//   - kfsync/sqlitestore: the cursor, the dedup set and an archive of every
//     message in one SQLite file, committed atomically, so that a restart
//     (or a crash) neither loses nor repeats a message.
//
// The handler answers each customer text with "echo: <text>" through the
// quota-aware kfsync.Replier (48 h window, 5 messages per customer message,
// session state), and greets customers who open the chat with the welcome
// message of enter_session.
//
// Run it against the platform:
//
//	echobot -corp-id ww... -secret ... -token ... -aes-key ... -listen :8080
//
// and set the callback URL of the KF app to http(s)://<host>:8080/kf/callback.
// Or try it against the emulator (kfctl emulate, or kftest in a test) with
// -base-url pointing at it and the emulator's callback set to the bot. Every
// flag can also be given by an environment variable (KF_CORP_ID, KF_SECRET,
// KF_CALLBACK_TOKEN, KF_ENCODING_AES_KEY, KF_LISTEN, KF_BASE_URL, KF_DB,
// KF_ACCOUNTS).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/callback"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kfsync/sqlitestore"
)

// Config is the bot's configuration.
type Config struct {
	CorpID   string   // the corp id (also the callback's receive id)
	Secret   string   // the secret of the KF app
	Token    string   // the callback Token
	AESKey   string   // the callback EncodingAESKey (43 characters)
	Listen   string   // the HTTP listen address, e.g. ":8080"
	BaseURL  string   // the API base URL ("" for the platform)
	DB       string   // the SQLite file
	Accounts []string // KF accounts (open_kfid) to catch up at start and poll

	// Listener, when set, is used instead of listening on Listen (tests).
	Listener net.Listener
	// Logger is the bot's logger (default: text on stderr).
	Logger *slog.Logger
}

// CallbackPath is where the callback handler is served.
const CallbackPath = "/kf/callback"

func main() {
	cfg := Config{}
	env := func(name, def string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return def
	}
	flag.StringVar(&cfg.CorpID, "corp-id", env("KF_CORP_ID", ""), "corp id (KF_CORP_ID)")
	flag.StringVar(&cfg.Secret, "secret", env("KF_SECRET", ""), "secret of the KF app (KF_SECRET)")
	flag.StringVar(&cfg.Token, "token", env("KF_CALLBACK_TOKEN", ""), "callback Token (KF_CALLBACK_TOKEN)")
	flag.StringVar(&cfg.AESKey, "aes-key", env("KF_ENCODING_AES_KEY", ""), "callback EncodingAESKey (KF_ENCODING_AES_KEY)")
	flag.StringVar(&cfg.Listen, "listen", env("KF_LISTEN", ":8080"), "HTTP listen address (KF_LISTEN)")
	flag.StringVar(&cfg.BaseURL, "base-url", env("KF_BASE_URL", ""), "API base URL, e.g. a kftest emulator (KF_BASE_URL; default: the platform)")
	flag.StringVar(&cfg.DB, "db", env("KF_DB", "echobot.db"), "SQLite file (KF_DB)")
	accounts := flag.String("accounts", env("KF_ACCOUNTS", ""), "comma-separated open_kfids to catch up at start (KF_ACCOUNTS)")
	flag.Parse()
	for a := range strings.SplitSeq(*accounts, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.Accounts = append(cfg.Accounts, a)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "echobot:", err)
		os.Exit(1)
	}
}

// run runs the bot until ctx ends.
func run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.CorpID == "" || cfg.Secret == "" || cfg.Token == "" || cfg.AESKey == "" {
		return errors.New("corp id, secret, callback token and EncodingAESKey are required")
	}

	store, err := sqlitestore.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer store.Close()

	var opts []kf.Option
	if cfg.BaseURL != "" {
		opts = append(opts, kf.WithBaseURL(cfg.BaseURL))
	}
	client, err := kf.NewClient(cfg.CorpID, cfg.Secret, opts...)
	if err != nil {
		return err
	}

	// The Replier learns each customer's window and budget from the synced
	// stream (WithTap) and moves new sessions to the bot (state 1).
	replier := kfsync.NewReplier(client.Messages, client.Sessions, kfsync.TakeOver(true))
	handle := func(ctx context.Context, m kf.Message) error {
		var err error
		switch {
		case m.Origin == kf.OriginCustomer && m.Text() != nil:
			_, err = replier.ReplyText(ctx, m.Account(), m.Customer(), "echo: "+m.Text().Content)
		case m.Event() != nil && m.Event().EventType == kf.EventEnterSession:
			if e, ok := m.Event().Payload.(*kf.EnterSession); ok && e.WelcomeCode != "" {
				_, err = replier.Welcome(ctx, m, kf.TextMsg("Hello! I repeat what you write."))
			}
		}
		var qe *kfsync.QuotaError
		if errors.As(err, &qe) {
			// The platform's rules forbid this reply (window closed, budget
			// spent, a servicer owns the session, welcome too late):
			// retrying cannot help.
			log.Info("echobot: reply refused", "open_kfid", m.Account(), "msgid", m.MsgID, "reason", string(qe.Reason))
			return nil
		}
		return err // a transient failure: the Syncer retries the message
	}
	syncer, err := kfsync.New(client.Messages, handle,
		kfsync.WithStore(store),
		kfsync.WithTap(replier.Observe),
		kfsync.WithAccounts(cfg.Accounts...),
		// A reply is a side effect outside the store: commit after every
		// message, so that a crash re-delivers at most the message whose
		// reply was in flight.
		kfsync.WithCommitEvery(1),
		kfsync.WithLogger(log))
	if err != nil {
		return err
	}

	cb, err := callback.New(callback.Config{
		Token:          cfg.Token,
		EncodingAESKey: cfg.AESKey,
		ReceiverID:     cfg.CorpID,
		Logger:         log,
		OnEvent: func(ctx context.Context, ev callback.Event) {
			if e, ok := ev.KfMsgOrEvent(); ok {
				syncer.Notify(e.OpenKfID, e.Token)
			}
			if e, ok := ev.KfAccountAuthChange(); ok {
				for _, id := range e.AuthAddOpenKfIDs {
					syncer.Notify(id, "")
				}
				for _, id := range e.AuthDelOpenKfIDs {
					syncer.Forget(id)
				}
			}
		},
	})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle(CallbackPath, cb)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		n, err := store.Count(r.Context(), "")
		if err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ok: %d messages archived\n", n)
	})
	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return err
		}
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("echobot: listening", "addr", ln.Addr().String(), "callback", CallbackPath, "db", cfg.DB)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { syncer.Run(ctx) })
	wg.Go(func() { cb.Run(ctx) })
	serveErr := make(chan error, 1)
	wg.Go(func() { serveErr <- hs.Serve(ln) })

	select {
	case <-ctx.Done():
	case err = <-serveErr: // the server failed
	}
	cancel()
	sctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	hs.Shutdown(sctx)
	wg.Wait() // the Syncer's final commit, the callbacks still queued
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
