package main

import (
	"strings"
	"testing"
	"time"

	"github.com/wxkf/kf/kftest"
	"github.com/wxkf/kf/mp"
)

// newOAEmulator starts the Official Account emulator with two accounts:
// alice (worker online) and bob (no worker).
func newOAEmulator(t *testing.T) (*kftest.OAServer, map[string]string) {
	t.Helper()
	s := kftest.NewOAServer(t,
		kftest.WithOAClock(kftest.NewFrozenClock(testNow)),
		kftest.WithOARandSeed(1),
		kftest.WithOASeed(kftest.OASeed{Accounts: []kftest.OASeedAccount{
			{KfAccount: "alice", Nickname: "Alice", Worker: "alicewx01", Online: true},
			{KfAccount: "bob", Nickname: "Bob"},
		}}))
	return s, map[string]string{"KF_MP_BASE_URL": s.URL(), "KF_APP_ID": s.AppID(), "KF_APP_SECRET": s.Secret()}
}

func TestMPAccounts(t *testing.T) {
	t.Parallel()
	s, env := newOAEmulator(t)
	r := kfctl(t, env, "mp", "accounts", "list").ok(t)
	contains(t, "list", r.stdout, "KF_ACCOUNT", "NICKNAME", s.KfAccount("alice"), "Alice", "alicewx01", s.KfAccount("bob"))

	carol := s.KfAccount("carol")
	kfctl(t, env, "mp", "accounts", "add", "--account", carol, "--nickname", "Carol").ok(t)
	var accounts []mp.Account
	kfctl(t, with(env, "KF_OUTPUT", "json"), "mp", "accounts", "list").ok(t).json(t, &accounts)
	if len(accounts) != 3 || accounts[2].KfAccount != carol || accounts[2].KfNick != "Carol" {
		t.Errorf("accounts = %+v", accounts)
	}
	kfctl(t, env, "mp", "accounts", "delete", carol).ok(t)
	r = kfctl(t, env, "mp", "accounts", "list").ok(t)
	if strings.Contains(r.stdout, carol) {
		t.Errorf("deleted account still listed:\n%s", r.stdout)
	}
}

func TestMPSessionsSendRecords(t *testing.T) {
	t.Parallel()
	s, env := newOAEmulator(t)
	alice := s.KfAccount("alice")
	const user = "oUserCarl"
	if _, err := s.UserSend(user, "where is my parcel?"); err != nil {
		t.Fatal(err)
	}

	kfctl(t, env, "mp", "sessions", "create", "--account", alice, "--openid", user).ok(t)
	r := kfctl(t, env, "mp", "sessions", "get", user).ok(t)
	contains(t, "get", r.stdout, "kf_account", alice)
	var sessions []mp.SessionItem
	kfctl(t, with(env, "KF_OUTPUT", "json"), "mp", "sessions", "list", alice).ok(t).json(t, &sessions)
	if len(sessions) != 1 || sessions[0].OpenID != user {
		t.Errorf("sessions = %+v", sessions)
	}
	var waiting mp.ListWaitingResponse
	kfctl(t, with(env, "KF_OUTPUT", "json"), "mp", "sessions", "waiting").ok(t).json(t, &waiting)
	if waiting.Count != 0 {
		t.Errorf("waiting = %+v", waiting)
	}

	kfctl(t, env, "mp", "send", "text", "--openid", user, "--account", alice, "It ships today.").ok(t)
	got := s.Received(user)
	if len(got) == 0 || got[len(got)-1].Text != "It ships today." || got[len(got)-1].KfAccount != alice {
		t.Errorf("received = %+v", got)
	}

	kfctl(t, env, "mp", "sessions", "close", "--account", alice, "--openid", user).ok(t)
	if acc, ok := s.Session(user); ok {
		t.Errorf("session still with %s", acc)
	}

	from, to := testNow.Add(-time.Hour).Format(time.RFC3339), testNow.Add(time.Hour).Format(time.RFC3339)
	var records []mp.Record
	kfctl(t, with(env, "KF_OUTPUT", "json"), "mp", "records", "--from", from, "--to", to).ok(t).json(t, &records)
	var texts []string
	for _, rec := range records {
		texts = append(texts, rec.Text)
	}
	if !strings.Contains(strings.Join(texts, "|"), "It ships today.") {
		t.Errorf("records = %+v", records)
	}
	r = kfctl(t, env, "mp", "records", "--from", from, "--to", to).ok(t)
	contains(t, "records table", r.stdout, "TIME", "OPENID", "WORKER", user, "It ships today.")

	// a user who never wrote cannot be sent to: an API error
	r = kfctl(t, env, "mp", "send", "text", "--openid", "oNobody", "hello").exit(t, exitAPI)
	contains(t, "stderr", r.stderr, "errcode")
}

func TestMPUsageErrors(t *testing.T) {
	t.Parallel()
	s, env := newOAEmulator(t)
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{with(env, "KF_APP_ID", ""), []string{"mp", "accounts", "list"}, "missing --app-id (or $KF_APP_ID)"},
		{with(env, "KF_APP_SECRET", ""), []string{"mp", "accounts", "list"}, "missing --app-secret (or $KF_APP_SECRET)"},
		{env, []string{"mp", "accounts", "add", "--account", "no-at-sign", "--nickname", "x"}, "kf_account"},
		{env, []string{"mp", "send", "text", "hello"}, "touser"},
		{env, []string{"mp", "sessions", "create", "--openid", "o1"}, "kf_account"},
		{env, []string{"mp", "records", "--from", "yesterday", "--to", "2024-05-01"}, "is not a time"},
		{env, []string{"mp", "records", "--from", "2024-05-01"}, "missing --to"},
		{env, []string{"mp", "sesions"}, "did you mean sessions"},
	} {
		r := kfctl(t, tc.env, tc.args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %s)", tc.args, r.code, r.stderr)
		}
		contains(t, strings.Join(tc.args, " "), r.stderr, tc.want)
	}
	for path, n := range s.Calls() {
		if n > 0 {
			t.Errorf("%s called %d times, want no request", path, n)
		}
	}
}

// TestMPRecordsToDateIsIncluded: --to is "included", so a date alone covers
// that whole day; it used to mean its first second (00:00:00).
func TestMPRecordsToDateIsIncluded(t *testing.T) {
	t.Parallel()
	from, err := parseTime("from", "2024-05-01")
	if err != nil {
		t.Fatal(err)
	}
	to, err := parseTime("to", "2024-05-01")
	if err != nil {
		t.Fatal(err)
	}
	wantFrom := time.Date(2024, 5, 1, 0, 0, 0, 0, time.Local)
	wantTo := time.Date(2024, 5, 1, 23, 59, 59, 0, time.Local)
	if !from.Equal(wantFrom) || !to.Equal(wantTo) {
		t.Errorf("--from/--to 2024-05-01 = %s .. %s, want %s .. %s", from, to, wantFrom, wantTo)
	}
	// A time of day is taken as given.
	if to, _ := parseTime("to", "2024-05-01 10:30"); !to.Equal(time.Date(2024, 5, 1, 10, 30, 0, 0, time.Local)) {
		t.Errorf("--to 2024-05-01 10:30 = %s", to)
	}
}
