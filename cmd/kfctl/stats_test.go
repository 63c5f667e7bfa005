package main

import (
	"testing"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
)

func TestStats(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := with(emuEnv(s), "KF_OPEN_KFID", "wkSupport")
	// Activity on 2024-05-01 (the emulator's frozen day): two customers
	// write, one is served by alice.
	for _, cu := range []string{"wmCarl", "wmDana"} {
		if _, err := s.CustomerSend("wkSupport", cu, kftest.CustomerText("hello")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ServicerAccept("wkSupport", "wmCarl", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ServicerSend("wkSupport", "wmCarl", "alice", kftest.CustomerText("how can I help?")); err != nil {
		t.Fatal(err)
	}
	// The day's statistics are ready the next day.
	s.Advance(24 * 60 * 60 * 1e9)

	r := kfctl(t, env, "stats", "corp", "--from", "2024-04-30", "--to", "2024-05-01").ok(t)
	golden(t, "stats_corp", r.stdout)
	r = kfctl(t, env, "stats", "servicer", "--servicer", "alice", "--from", "2024-05-01").ok(t)
	golden(t, "stats_servicer", r.stdout)

	r = kfctl(t, with(env, "KF_OUTPUT", "json"), "stats", "corp", "--from", "2024-05-01").ok(t)
	var items []kf.CorpStatisticItem
	r.json(t, &items)
	if len(items) != 1 || !items[0].StatTime.Equal(kf.StatDay(2024, 5, 1)) {
		t.Fatalf("items = %+v", items)
	}

	r = kfctl(t, env, "stats", "qualification").ok(t)
	contains(t, "qualification", r.stdout, "wechat_channels_binding", "no")
}

func TestStatsUsageErrors(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := with(emuEnv(s), "KF_OPEN_KFID", "wkSupport")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"stats", "corp"}, "missing --from"},
		{[]string{"stats", "corp", "--from", "1 May"}, "is not a date YYYY-MM-DD"},
		{[]string{"stats", "corp", "--from", "2024-05-02", "--to", "2024-05-01"}, "before --from"},
		{[]string{"stats", "servicer", "--from", "2024-01-01", "--to", "2024-05-01"}, "31"},
		{[]string{"stats", "corp", "--from", "2024-05-01", "--open-kfid", ""}, "open_kfid"},
	} {
		r := kfctl(t, env, tc.args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %s)", tc.args, r.code, r.stderr)
		}
		contains(t, "stderr", r.stderr, tc.want)
	}
	noCalls(t, s)
}
