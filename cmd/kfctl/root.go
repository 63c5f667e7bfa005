package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/mp"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // anything else: network, file, decode, interrupted
	exitUsage = 2 // bad flags or arguments, or a request refused before sending
	exitAPI   = 3 // the platform answered with an errcode (*kf.APIError)
)

// Command groups shown by help.
const (
	groupAPI   = "api"
	groupTools = "tools"
)

// commands lists the constructors of kfctl's top-level commands. To add a
// command, write newXCmd(a *app) *cobra.Command in its own file (x.go) and
// add it here; set its GroupID to groupAPI or groupTools. There is no init
// registration and no package state: each run builds a fresh tree.
//
// What a command can use: a.kfClient / a.mpClient (clients from the global
// flags), a.show / a.showKV / a.jsonLine and newTable (output), usagef,
// args, need and exclusive (usage errors, exit 2), openStore (--store
// specs), defaultSeed (the emulator's corp). cmd.Context() ends on SIGINT or
// SIGTERM (main uses signal.NotifyContext): long-running commands return nil
// then. Commands must not set PersistentPreRunE (see setup).
var commands = []func(*app) *cobra.Command{
	newAccountCmd,
	newServicerCmd,
	newSessionCmd,
	newSendCmd,
	newSyncCmd,
	newCustomerCmd,
	newStatsCmd,
	newKBCmd,
	newMediaCmd,
	newMPCmd,
	newEmulateCmd,
	newServeCmd,
	newDemoCmd,
	newDoctorCmd,
}

// app is one run of kfctl: its I/O, its environment and the global flags.
// Every command constructor receives it; commands read the flags from it
// once cobra has parsed them (in RunE), never at construction.
type app struct {
	stdout io.Writer
	stderr io.Writer
	env    func(string) string

	// Global flags (root persistent flags), filled from the environment
	// when not given (see applyEnv).
	corpID    string
	secret    string
	baseURL   string
	token     string // the callback Token (callback settings)
	aesKey    string // the callback EncodingAESKey
	appID     string // Official Account app id (mp)
	appSecret string // Official Account AppSecret (mp)
	mpBaseURL string
	output    string
	timeout   time.Duration
	retry     int
	debug     bool

	// fromEnv names the flags that applyEnv set from the environment.
	fromEnv map[string]bool
}

// envName is the environment variable that backs a flag: KF_ and the flag's
// name in capitals, dashes turned into underscores (--corp-id: KF_CORP_ID).
func envName(flag string) string {
	return "KF_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// noEnv are the flags without an environment fallback: help and version,
// and --msgid, which names one message (a msgid left in the environment
// would make every later send a silent duplicate).
//
// Every other flag falls back to KF_<FLAG>, so one flag name must mean one
// thing in every command: --open-kfid is always the KF account, --customer
// the external_userid, --openid an Official Account user, --from and --to
// the ends of a time range.
var noEnv = map[string]bool{"help": true, "version": true, "msgid": true}

// newRootCmd builds the command tree of one run.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "kfctl",
		Short: "Command-line tool for WeChat Customer Service (WeCom 微信客服)",
		Long: `kfctl calls the WeCom 微信客服 API (and the Official Account customer service API
with "kfctl mp"), and runs the kftest emulator ("kfctl emulate").

Every flag can also be set in the environment: KF_ and the flag's name in capitals,
with dashes as underscores (--corp-id: KF_CORP_ID, --open-kfid: KF_OPEN_KFID).
A flag on the command line wins over the environment.

Exit codes: 0 success, 1 failure, 2 usage error (nothing was sent),
3 API error (the platform answered with an errcode).`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          groupArgs,
		RunE:          groupRun,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup(cmd)
		},
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddGroup(
		&cobra.Group{ID: groupAPI, Title: "API commands:"},
		&cobra.Group{ID: groupTools, Title: "Tools:"},
	)

	f := root.PersistentFlags()
	f.StringVar(&a.corpID, "corp-id", "", "corp id (企业ID)")
	f.StringVar(&a.secret, "secret", "", "secret of the app that calls the 微信客服 API")
	f.StringVar(&a.baseURL, "base-url", "", "API host (default "+kf.DefaultBaseURL+"); point it at kfctl emulate")
	f.StringVar(&a.token, "token", "", "callback Token (callback settings)")
	f.StringVar(&a.aesKey, "aes-key", "", "callback EncodingAESKey (43 characters)")
	f.StringVar(&a.appID, "app-id", "", "Official Account app id (kfctl mp)")
	f.StringVar(&a.appSecret, "app-secret", "", "Official Account AppSecret (kfctl mp)")
	f.StringVar(&a.mpBaseURL, "mp-base-url", "", "Official Account API host (default "+mp.DefaultBaseURL+")")
	f.StringVar(&a.output, "output", "table", "output format: table or json")
	f.DurationVar(&a.timeout, "timeout", 30*time.Second, "timeout of each HTTP request")
	f.IntVar(&a.retry, "retry", 3, "attempts per call for transient failures (1 disables retries)")
	f.BoolVar(&a.debug, "debug", false, "log the HTTP calls to stderr (tokens and secrets are never logged)")

	for _, newCmd := range commands {
		root.AddCommand(newCmd(a))
	}
	annotateEnv(root)
	return root
}

// setup runs before every command: it fills unset flags from the environment
// and checks the global flags. Commands must not set their own
// PersistentPreRunE (cobra would run it instead of this one).
func (a *app) setup(cmd *cobra.Command) error {
	if err := a.applyEnv(cmd); err != nil {
		return err
	}
	switch a.output {
	case "table", "json":
	default:
		return usagef("--output: %q is not table or json", a.output)
	}
	if a.timeout < 0 {
		return usagef("--timeout: negative")
	}
	if a.retry < 1 || a.retry > 20 {
		return usagef("--retry: %d out of range 1..20", a.retry)
	}
	return nil
}

// applyEnv sets every flag of cmd (its own and the inherited ones) that was
// not given on the command line from its environment variable, if set.
func (a *app) applyEnv(cmd *cobra.Command) error {
	var err error
	fs := cmd.Flags()
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || noEnv[f.Name] {
			return
		}
		name := envName(f.Name)
		v := a.env(name)
		if v == "" {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			// The value is not echoed: it might be a secret.
			err = usagef("$%s: invalid value for --%s (%s)", name, f.Name, f.Value.Type())
			return
		}
		if a.fromEnv == nil {
			a.fromEnv = map[string]bool{}
		}
		a.fromEnv[f.Name] = true
	})
	return err
}

// annotateEnv appends the environment variable to the usage of every flag of
// the tree, so that help shows it.
func annotateEnv(c *cobra.Command) {
	seen := map[*pflag.Flag]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.PersistentFlags(), c.LocalNonPersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if seen[f] || noEnv[f.Name] {
					return
				}
				seen[f] = true
				f.Usage += " [$" + envName(f.Name) + "]"
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(c)
}

// run executes kfctl with args and returns the exit code. It is main without
// the process: no os.Exit, no global state, so that tests run it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	if env == nil {
		env = func(string) string { return "" }
	}
	a := &app{stdout: stdout, stderr: stderr, env: env}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	a.printError(cmd, err)
	return exitCode(err)
}

// exitCode maps an error to kfctl's exit code.
func exitCode(err error) int {
	var ue usageError
	var apiErr *kf.APIError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue), errors.Is(err, kf.ErrInvalidRequest), errors.Is(err, mp.ErrInvalidRequest):
		return exitUsage
	case errors.As(err, &apiErr):
		return exitAPI
	}
	return exitError
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// groupArgs accepts no arguments on a command that only groups
// subcommands, so that "kfctl account lst" is a usage error with
// suggestions rather than help.
func groupArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{errors.New(msg)}
}

// groupRun shows the help of a command that only groups subcommands.
func groupRun(cmd *cobra.Command, _ []string) error { return cmd.Help() }

// group returns a command that only groups subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: groupArgs, RunE: groupRun}
	c.AddCommand(subs...)
	return c
}

// args checks the number of positional arguments: at least min, at most max
// (max < 0: no limit).
func args(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < min:
			return usagef("%s: missing arguments (usage: %s)", cmd.CommandPath(), cmd.UseLine())
		case max >= 0 && len(args) > max:
			return usagef("%s: too many arguments (usage: %s)", cmd.CommandPath(), cmd.UseLine())
		}
		return nil
	}
}

// need checks that the named flags have values (from the command line or
// the environment).
func need(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		f := cmd.Flags().Lookup(n)
		if f == nil {
			panic("kfctl: need: no flag " + n)
		}
		if !f.Changed && (f.Value.String() == "" || f.Value.String() == "[]") {
			return usagef("%s: missing --%s (or $%s)", cmd.CommandPath(), n, envName(n))
		}
	}
	return nil
}

// explicit reports whether the flag was given on the command line (not
// taken from the environment).
func (a *app) explicit(cmd *cobra.Command, name string) bool {
	return cmd.Flags().Changed(name) && !a.fromEnv[name]
}

// exclusive checks that at most one of the named flags is set.
func exclusive(cmd *cobra.Command, names ...string) error {
	var set []string
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			set = append(set, "--"+n)
		}
	}
	if len(set) > 1 {
		return usagef("%s: %s cannot be used together", cmd.CommandPath(), strings.Join(set, " and "))
	}
	return nil
}

func (a *app) httpClient() *http.Client {
	return &http.Client{Timeout: a.timeout}
}

func (a *app) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// kfClient returns a WeCom 微信客服 client built from the global flags.
func (a *app) kfClient() (*kf.Client, error) {
	if a.corpID == "" {
		return nil, usagef("missing --corp-id (or $KF_CORP_ID)")
	}
	if a.secret == "" {
		return nil, usagef("missing --secret (or $KF_SECRET)")
	}
	opts := []kf.Option{kf.WithHTTPClient(a.httpClient()), kf.WithRetry(a.retry)}
	if a.baseURL != "" {
		opts = append(opts, kf.WithBaseURL(a.baseURL))
	}
	if a.debug {
		opts = append(opts, kf.WithLogger(a.logger()))
	}
	c, err := kf.NewClient(a.corpID, a.secret, opts...)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// mpClient returns an Official Account client built from the global flags.
func (a *app) mpClient() (*mp.Client, error) {
	if a.appID == "" {
		return nil, usagef("missing --app-id (or $KF_APP_ID)")
	}
	if a.appSecret == "" {
		return nil, usagef("missing --app-secret (or $KF_APP_SECRET)")
	}
	opts := []mp.Option{mp.WithHTTPClient(a.httpClient()), mp.WithRetry(a.retry)}
	if a.mpBaseURL != "" {
		opts = append(opts, mp.WithBaseURL(a.mpBaseURL))
	}
	if a.debug {
		opts = append(opts, mp.WithLogger(a.logger()))
	}
	c, err := mp.NewClient(a.appID, a.appSecret, opts...)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// secrets returns the secret values of this run, which must never appear in
// the output.
func (a *app) secrets() []string {
	var s []string
	for _, v := range []string{a.secret, a.appSecret, a.aesKey, a.token} {
		if len(v) >= 4 {
			s = append(s, v)
		}
	}
	return s
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
