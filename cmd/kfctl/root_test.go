package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
	"github.com/wxkf/kf/mp"
)

func TestExitCode(t *testing.T) {
	t.Parallel()
	apiErr := &kf.APIError{Op: "kf/send_msg", Code: kf.ErrCodeSessionStatusInvalid}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitOK},
		{"usage", usagef("bad flag"), exitUsage},
		{"kf validation", &kf.ValidationError{Op: "kf/send_msg", Field: "touser", Reason: "required"}, exitUsage},
		{"mp validation", fmt.Errorf("x: %w", &mp.ValidationError{Op: "mp/x", Field: "openid", Reason: "required"}), exitUsage},
		{"api", apiErr, exitAPI},
		{"wrapped api", fmt.Errorf("2 of 3 items failed: %w", apiErr), exitAPI},
		{"rate limit", &kf.RateLimitError{Err: &kf.APIError{Op: "kf/sync_msg", Code: kf.ErrCodeFrequencyLimit}}, exitAPI},
		{"other", errors.New("connection refused"), exitError},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	for flag, want := range map[string]string{
		"corp-id": "KF_CORP_ID", "secret": "KF_SECRET", "base-url": "KF_BASE_URL", "token": "KF_TOKEN",
		"aes-key": "KF_AES_KEY", "output": "KF_OUTPUT", "timeout": "KF_TIMEOUT", "app-id": "KF_APP_ID",
		"app-secret": "KF_APP_SECRET", "open-kfid": "KF_OPEN_KFID",
	} {
		if got := envName(flag); got != want {
			t.Errorf("envName(%q) = %q, want %q", flag, got, want)
		}
	}
}

func TestEnvFallback(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := emuEnv(s)

	// Corp id, secret and base URL from the environment alone (the
	// harness passes nothing else).
	kfctl(t, env, "account", "list").ok(t)

	// KF_OUTPUT selects JSON; a per-command flag (KF_OPEN_KFID) works too.
	r := kfctl(t, with(env, "KF_OUTPUT", "json", "KF_OPEN_KFID", "wkSupport"), "servicer", "list").ok(t)
	var servicers []kf.Servicer
	r.json(t, &servicers)
	if len(servicers) != 2 || servicers[0].UserID != "alice" {
		t.Errorf("servicers = %+v", servicers)
	}

	// A flag on the command line wins over the environment.
	r = kfctl(t, with(env, "KF_OUTPUT", "json"), "--output", "table", "account", "list").ok(t)
	contains(t, "stdout", r.stdout, "OPEN_KFID")
	r = kfctl(t, with(env, "KF_OPEN_KFID", "wkNope"), "servicer", "list", "--open-kfid", "wkSales").ok(t)
	contains(t, "stdout", r.stdout, "bob")

	// The environment's corp id is replaced by the flag's: a wrong one
	// fails at gettoken with an API error.
	r = kfctl(t, env, "--corp-id", "wwWrongCorp", "account", "list").exit(t, exitAPI)
	contains(t, "stderr", r.stderr, "kf/gettoken", "remedy:")
}

func TestEnvInvalidValue(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	r := kfctl(t, with(emuEnv(s), "KF_TIMEOUT", "soon"), "account", "list").exit(t, exitUsage)
	contains(t, "stderr", r.stderr, "$KF_TIMEOUT", "--timeout")
	if strings.Contains(r.stderr, "soon") {
		t.Errorf("stderr echoes the environment value: %s", r.stderr)
	}
	noCalls(t, s)
}

func TestGlobalFlagErrors(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := emuEnv(s)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad output", env, []string{"--output", "xml", "account", "list"}, "--output"},
		{"bad retry", env, []string{"--retry", "0", "account", "list"}, "--retry"},
		{"unknown flag", env, []string{"account", "list", "--bogus"}, "unknown flag: --bogus"},
		{"unknown command", env, []string{"acount"}, "did you mean account"},
		{"unknown subcommand", env, []string{"account", "lst"}, "did you mean list"},
		{"too many args", env, []string{"account", "list", "extra"}, "too many arguments"},
		{"missing corp id", map[string]string{"KF_BASE_URL": s.URL(), "KF_SECRET": "x"}, []string{"account", "list"}, "missing --corp-id (or $KF_CORP_ID)"},
		{"missing secret", map[string]string{"KF_BASE_URL": s.URL(), "KF_CORP_ID": "x"}, []string{"account", "list"}, "missing --secret (or $KF_SECRET)"},
		{"bad base url", with(env, "KF_BASE_URL", "ftp://x"), []string{"account", "list"}, "WithBaseURL"},
	} {
		r := kfctl(t, tc.env, tc.args...)
		if r.code != exitUsage {
			t.Errorf("%s: exit %d, want %d (stderr %s)", tc.name, r.code, exitUsage, r.stderr)
		}
		contains(t, tc.name+" stderr", r.stderr, tc.want)
	}
	noCalls(t, s)
}

func TestHelp(t *testing.T) {
	t.Parallel()
	r := kfctl(t, nil, "--help").ok(t)
	for _, c := range []string{"account", "servicer", "session", "send", "sync", "customer", "stats", "kb", "media", "mp", "emulate"} {
		contains(t, "help", r.stdout, "\n  "+c+" ")
	}
	contains(t, "help", r.stdout, "[$KF_CORP_ID]", "[$KF_SECRET]", "[$KF_BASE_URL]", "[$KF_TOKEN]", "[$KF_AES_KEY]", "[$KF_OUTPUT]", "[$KF_TIMEOUT]")
	// A group without a subcommand shows its help.
	r = kfctl(t, nil, "account").ok(t)
	contains(t, "account help", r.stdout, "list", "add", "update", "delete", "link")
	// Subcommand flags show their variables.
	r = kfctl(t, nil, "servicer", "list", "--help").ok(t)
	contains(t, "servicer list help", r.stdout, "[$KF_OPEN_KFID]")
}

// TestCommandTree checks that every command the issue lists exists.
func TestCommandTree(t *testing.T) {
	t.Parallel()
	root := newRootCmd(&app{env: func(string) string { return "" }})
	for _, path := range []string{
		"account list", "account add", "account update", "account delete", "account link",
		"servicer list", "servicer add", "servicer delete",
		"session get", "session transfer",
		"send text", "send image", "send voice", "send video", "send file", "send link", "send miniprogram",
		"send menu", "send location", "send ca_link",
		"sync", "customer get", "stats corp", "stats servicer",
		"kb groups list", "kb groups add", "kb groups delete", "kb groups rename",
		"kb intents list", "kb intents add", "kb intents delete",
		"media upload", "media download",
		"mp accounts list", "mp accounts add", "mp accounts delete",
		"mp sessions get", "mp sessions list", "mp sessions waiting", "mp sessions create", "mp sessions close",
		"mp records", "mp send text", "emulate",
	} {
		c, rest, err := root.Find(strings.Fields(path))
		if err != nil || len(rest) > 0 || c.CommandPath() != "kfctl "+path {
			t.Errorf("command %q not found (got %q, rest %q, err %v)", path, c.CommandPath(), rest, err)
		}
		if c.RunE == nil {
			t.Errorf("command %q does nothing", path)
		}
	}
}

// TestFlagNamesAreConsistent checks that a flag name has one type in the
// whole tree: its environment variable (KF_<FLAG>) is shared by every
// command that has the flag. A list of strings is compatible with a string
// (sync --open-kfid takes several accounts; one value reads in both).
func TestFlagNamesAreConsistent(t *testing.T) {
	t.Parallel()
	root := newRootCmd(&app{env: func(string) string { return "" }})
	types := map[string]string{}
	where := map[string]string{}
	typeOf := func(f *pflag.Flag) string { return strings.TrimSuffix(f.Value.Type(), "Slice") }
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.PersistentFlags(), c.LocalNonPersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if old, ok := types[f.Name]; ok && old != typeOf(f) {
					t.Errorf("--%s is a %s in %q but a %s in %q", f.Name, old, where[f.Name], f.Value.Type(), c.CommandPath())
				}
				types[f.Name], where[f.Name] = typeOf(f), c.CommandPath()
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// TestSecretsNeverPrinted runs commands that succeed and fail, with debug
// logging on, and looks for the secrets in everything printed.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value-never-printed"
	const aesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	const token = "tok3n-never-printed"
	s := newEmulator(t, kftest.WithSecrets(secret))
	env := with(emuEnv(s), "KF_SECRET", secret, "KF_AES_KEY", aesKey, "KF_TOKEN", token, "KF_DEBUG", "true")
	wrong := with(env, "KF_SECRET", secret+"-wrong")
	runs := []result{
		kfctl(t, env, "account", "list"),
		kfctl(t, with(env, "KF_OUTPUT", "json"), "account", "list"),
		kfctl(t, env, "send", "text", "--open-kfid", "wkSupport", "--customer", "wmCarl", "hi"), // 95031
		kfctl(t, wrong, "account", "list"),                                                      // bad secret: 40001
		kfctl(t, with(wrong, "KF_OUTPUT", "json"), "account", "list"),
		kfctl(t, env, "--timeout", "bogus", "account", "list"),
		kfctl(t, env, "emulate", "--addr", "256.0.0.1:1"),
		kfctl(t, env, "--help"),
	}
	if runs[0].code != 0 || runs[2].code != exitAPI || runs[3].code != exitAPI {
		t.Fatalf("unexpected exit codes: %d %d %d (stderr %s)", runs[0].code, runs[2].code, runs[3].code, runs[3].stderr)
	}
	for i, r := range runs {
		for _, sec := range []string{secret, aesKey, token} {
			if strings.Contains(r.stdout+r.stderr, sec) {
				t.Errorf("run %d printed a secret:\nstdout:\n%s\nstderr:\n%s", i, r.stdout, r.stderr)
			}
		}
	}
	contains(t, "debug log", runs[0].stderr, "gettoken")
}

func TestAPIErrorJSON(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	r := kfctl(t, with(emuEnv(s), "KF_OUTPUT", "json"), "send", "text", "--open-kfid", "wkSupport", "--customer", "wmCarl", "hi").exit(t, exitAPI)
	var got struct {
		Error jsonError `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.stderr), &got); err != nil {
		t.Fatalf("stderr is not JSON: %v\n%s", err, r.stderr)
	}
	e := got.Error
	if e.Op != "kf/send_msg" || e.ErrCode != 95031 || e.Name != "CustomerNotConsulted" || e.Remedy == "" || e.Meaning == "" || e.ExitCode != exitAPI {
		t.Errorf("error = %+v", e)
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
}
