package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wxkf/kf/kftest"
)

// emulateFlags are the flags of kfctl emulate (the corp id, secret, Token
// and EncodingAESKey are the global --corp-id, --secret, --token and
// --aes-key, so that one set of KF_ variables serves the emulator and the
// commands pointed at it).
type emulateFlags struct {
	addr        string
	callbackURL string
	seedFile    string
	randSeed    uint64
}

func newEmulateCmd(a *app) *cobra.Command {
	var f emulateFlags
	cmd := &cobra.Command{
		Use:   "emulate [--addr HOST:PORT] [--seed FILE] [--callback-url URL --token TOKEN --aes-key KEY]",
		Short: "Run the kftest emulator of the WeCom 微信客服 API, with its control API and chat page",
		Long: `Run the kftest emulator standalone: the WeCom 微信客服 API with the platform's rules,
the control API under /_kftest/ (play customers and servicers, inject faults,
move the clock) and a customer chat page, for testing bots written in any
language. Ctrl-C stops it.

The corp id and secret are --corp-id and --secret (default ` + kftest.DefaultCorpID + ` and
` + kftest.DefaultSecret + `). With --callback-url the emulator posts kf_msg_or_event callbacks,
signed with --token and encrypted with --aes-key, to your app.

--seed FILE loads accounts, members and customers (JSON, kftest.Seed:
{"accounts":[{"open_kfid":"wk…","name":"…","servicers":["alice"]}],
 "members":[{"userid":"alice"}], "customers":[{"external_userid":"wm…","nickname":"…"}]}).
Without it the corp has two accounts (wkSupport, wkSales), two servicers
(alice, bob) and a customer (wmCustomer).`,
		GroupID: groupTools,
		Args:    args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runEmulate(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8088", "address to listen on")
	fl.StringVar(&f.callbackURL, "callback-url", "", "your app's callback URL (needs --token and --aes-key)")
	fl.StringVar(&f.seedFile, "seed", "", "seed `FILE` (JSON kftest.Seed)")
	fl.Uint64Var(&f.randSeed, "rand-seed", 0, "seed of the emulator's random choices, for repeatable ids")
	return cmd
}

// defaultSeed is the corp of kfctl emulate without --seed.
func defaultSeed() kftest.Seed {
	return kftest.Seed{
		Members: []kftest.SeedMember{{UserID: "alice"}, {UserID: "bob"}},
		Accounts: []kftest.SeedAccount{
			{OpenKfID: "wkSupport", Name: "Support", Servicers: []string{"alice", "bob"}},
			{OpenKfID: "wkSales", Name: "Sales", Servicers: []string{"bob"}},
		},
		Customers: []kftest.SeedCustomer{{ExternalUserID: "wmCustomer", Nickname: "Carl"}},
	}
}

// readSeed reads a seed file, refusing unknown fields (typos).
func readSeed(name string) (kftest.Seed, error) {
	var seed kftest.Seed
	b, err := os.ReadFile(name)
	if err != nil {
		return seed, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&seed); err != nil {
		return seed, usagef("--seed %s: %v", name, err)
	}
	return seed, nil
}

// emulatorInfo is what kfctl emulate prints (as JSON with --output json).
type emulatorInfo struct {
	CorpID     string        `json:"corp_id"`
	BaseURL    string        `json:"base_url"`
	ControlAPI string        `json:"control_api"`
	ChatPage   string        `json:"chat_page"`
	Callback   string        `json:"callback_url,omitempty"`
	Accounts   []emuAccount  `json:"accounts"`
	Customers  []emuCustomer `json:"customers"`
}

type emuAccount struct {
	OpenKfID  string   `json:"open_kfid"`
	Name      string   `json:"name"`
	Servicers []string `json:"servicers"`
}

type emuCustomer struct {
	ExternalUserID string `json:"external_userid"`
	Nickname       string `json:"nickname"`
}

func (a *app) runEmulate(cmd *cobra.Command, f *emulateFlags) error {
	corpID, secret := a.corpID, a.secret
	if corpID == "" {
		corpID = kftest.DefaultCorpID
	}
	if secret == "" {
		secret = kftest.DefaultSecret
	}
	seed := defaultSeed()
	if f.seedFile != "" {
		var err error
		if seed, err = readSeed(f.seedFile); err != nil {
			return err
		}
	}
	opts := []kftest.Option{kftest.WithCorpID(corpID), kftest.WithSecrets(secret), kftest.WithSeed(seed)}
	if cmd.Flags().Changed("rand-seed") {
		opts = append(opts, kftest.WithRandSeed(f.randSeed))
	}
	if f.callbackURL != "" {
		if a.token == "" || a.aesKey == "" {
			return usagef("%s: --callback-url needs --token and --aes-key (or $KF_TOKEN, $KF_AES_KEY)", cmd.CommandPath())
		}
		opts = append(opts, kftest.WithCallback(kftest.Callback{URL: f.callbackURL, Token: a.token, EncodingAESKey: a.aesKey}))
	}
	if a.debug {
		opts = append(opts, kftest.WithLogger(slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	srv, err := kftest.New(opts...)
	if err != nil {
		return usageError{err}
	}
	defer srv.Close()

	var lc net.ListenConfig
	l, err := lc.Listen(cmd.Context(), "tcp", f.addr)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	base := "http://" + l.Addr().String()
	info := emulatorInfo{CorpID: corpID, BaseURL: base, ControlAPI: base + "/_kftest/", ChatPage: base + "/",
		Callback: f.callbackURL}
	if err := emulatorState(srv, &info); err != nil {
		return err
	}
	if a.output == "json" {
		if err := a.jsonDoc(info); err != nil {
			return err
		}
	} else {
		a.printEmulatorInfo(info, secret)
	}

	select {
	case <-cmd.Context().Done():
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("emulate: %w", err)
		}
	}
	if err := srv.Close(); err != nil {
		return fmt.Errorf("emulate: shutdown: %w", err)
	}
	if a.output != "json" {
		fmt.Fprintln(a.stdout, "emulator stopped")
	}
	return nil
}

// emulatorState reads the accounts and customers from the control API,
// in-process.
func emulatorState(srv *kftest.Server, info *emulatorInfo) error {
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/_kftest/state", nil))
	if rec.Code != http.StatusOK {
		return fmt.Errorf("emulate: state: HTTP %d: %s", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	var st struct {
		Accounts  []emuAccount  `json:"accounts"`
		Customers []emuCustomer `json:"customers"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		return fmt.Errorf("emulate: state: %w", err)
	}
	info.Accounts, info.Customers = st.Accounts, st.Customers
	if info.Accounts == nil {
		info.Accounts = []emuAccount{}
	}
	if info.Customers == nil {
		info.Customers = []emuCustomer{}
	}
	return nil
}

func (a *app) printEmulatorInfo(info emulatorInfo, secret string) {
	w := a.stdout
	fmt.Fprintf(w, "kftest: WeCom 微信客服 emulator for corp %s\n\n", info.CorpID)
	t := newTable()
	t.row("API base URL", info.BaseURL)
	t.row("control API", info.ControlAPI+"  (try: curl "+info.BaseURL+"/_kftest/state)")
	t.row("chat page", info.ChatPage)
	cb := info.Callback
	if cb == "" {
		cb = "none (--callback-url)"
	}
	t.row("callback", cb)
	t.write(w)

	fmt.Fprintln(w, "\nAccounts:")
	t = newTable("  OPEN_KFID", "NAME", "SERVICERS")
	for _, acc := range info.Accounts {
		t.row("  "+acc.OpenKfID, acc.Name, strings.Join(acc.Servicers, ","))
	}
	t.write(w)
	fmt.Fprintln(w, "\nCustomers:")
	t = newTable("  EXTERNAL_USERID", "NICKNAME")
	for _, cu := range info.Customers {
		t.row("  "+cu.ExternalUserID, cu.Nickname)
	}
	t.write(w)

	// The default secret is public; a secret of the user's is not printed.
	shownSecret := secret
	if secret != kftest.DefaultSecret {
		shownSecret = "<your --secret>"
	}
	fmt.Fprintf(w, "\nPoint kfctl (or your bot) at it:\n")
	fmt.Fprintf(w, "  export KF_BASE_URL=%s KF_CORP_ID=%s KF_SECRET=%s\n", info.BaseURL, info.CorpID, shownSecret)
	fmt.Fprintf(w, "  kfctl account list\n")
	if len(info.Accounts) > 0 && len(info.Customers) > 0 {
		acc, cu := info.Accounts[0].OpenKfID, info.Customers[0].ExternalUserID
		fmt.Fprintf(w, "  curl -d '{\"open_kfid\":\"%s\",\"external_userid\":\"%s\",\"msgtype\":\"text\",\"text\":{\"content\":\"hello\"}}' %s/_kftest/customer/send\n",
			acc, cu, info.BaseURL)
		fmt.Fprintf(w, "  kfctl sync --open-kfid %s\n", acc)
		fmt.Fprintf(w, "  kfctl send text --open-kfid %s --customer %s \"Hi, how can I help?\"\n", acc, cu)
	}
	fmt.Fprintf(w, "\nPress Ctrl-C to stop.\n")
}
