package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"github.com/wxkf/kf/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxkf/kf/kftest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testNow is the emulator's frozen time in the tests: 2024-05-01 10:00 CST.
var testNow = time.Date(2024, 5, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// testSeed is the emulated corp of the tests, with fixed ids.
func testSeed() kftest.Seed {
	return kftest.Seed{
		Members: []kftest.SeedMember{{UserID: "alice"}, {UserID: "bob"}, {UserID: "carol"}},
		Accounts: []kftest.SeedAccount{
			{OpenKfID: "wkSupport", Name: "Support", Servicers: []string{"alice", "bob"}},
			{OpenKfID: "wkSales", Name: "Sales", Servicers: []string{"bob"}},
		},
		Customers: []kftest.SeedCustomer{
			{ExternalUserID: "wmCarl", Nickname: "Carl", UnionID: "oUnionCarl"},
			{ExternalUserID: "wmDana", Nickname: "Dana"},
		},
	}
}

// newEmulator starts a seeded emulator with a frozen clock and repeatable
// random ids.
func newEmulator(t *testing.T, opts ...kftest.Option) *kftest.Server {
	t.Helper()
	return kftest.NewServer(t, append([]kftest.Option{
		kftest.WithSeed(testSeed()),
		kftest.WithRandSeed(1),
		kftest.WithClock(kftest.NewFrozenClock(testNow)),
	}, opts...)...)
}

// emuEnv is the environment that points kfctl at s.
func emuEnv(s *kftest.Server) map[string]string {
	return map[string]string{"KF_BASE_URL": s.URL(), "KF_CORP_ID": s.CorpID(), "KF_SECRET": s.Secret()}
}

// result is the outcome of one kfctl run.
type result struct {
	code           int
	stdout, stderr string
}

// kfctl runs the command in-process with env as its whole environment.
func kfctl(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return kfctlCtx(t, t.Context(), env, args...)
}

func kfctlCtx(t *testing.T, ctx context.Context, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb, func(k string) string { return env[k] })
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// ok fails the test unless r succeeded.
func (r result) ok(t *testing.T) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return r
}

// exit fails the test unless r ended with code.
func (r result) exit(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// json decodes r's stdout into v.
func (r result) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.stdout)
	}
}

// with returns env plus the pairs k, v, k, v...
func with(env map[string]string, kv ...string) map[string]string {
	m := make(map[string]string, len(env)+len(kv)/2)
	for k, v := range env {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// noCalls fails the test if the emulator served any request: the proof that
// a usage error sent nothing.
func noCalls(t *testing.T, s *kftest.Server) {
	t.Helper()
	for path, n := range s.Calls() {
		if n > 0 {
			t.Errorf("%s called %d times, want no request at all", path, n)
		}
	}
}

// contains fails the test unless s contains every one of subs.
func contains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

// writeFile writes a file in a test directory and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// syncBuffer is a buffer safe for concurrent use.
type syncBuffer = testenv.SyncBuffer
