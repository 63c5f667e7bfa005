package main

import (
	"testing"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
)

func TestSession(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := with(emuEnv(s), "KF_OPEN_KFID", "wkSupport")
	if _, err := s.CustomerSend("wkSupport", "wmCarl", kftest.CustomerText("hello")); err != nil {
		t.Fatal(err)
	}

	r := kfctl(t, env, "session", "get", "wmCarl").ok(t)
	golden(t, "session_get", r.stdout)

	// by name, to a servicer
	r = kfctl(t, with(env, "KF_OUTPUT", "json"), "session", "transfer", "wmCarl", "--state", "servicer", "--servicer", "alice").ok(t)
	var tr map[string]any
	r.json(t, &tr)
	if tr["state_name"] != "servicer" || tr["msg_code"] == "" {
		t.Errorf("transfer = %v", tr)
	}
	if v, _ := s.SessionInfo("wkSupport", "wmCarl"); v.State != kf.StateServicer || v.ServicerUserID != "alice" {
		t.Errorf("session = %+v", v)
	}
	r = kfctl(t, with(env, "KF_OUTPUT", "json"), "session", "get", "wmCarl").ok(t)
	var st sessionState
	r.json(t, &st)
	if st.ServiceState != kf.StateServicer || st.StateName != "servicer" || st.ServicerUserID != "alice" {
		t.Errorf("state = %+v", st)
	}

	// A session with a servicer cannot go back to the bot: 95016 with
	// its meaning and remedy.
	r = kfctl(t, env, "session", "transfer", "wmCarl", "--state", "bot").exit(t, exitAPI)
	contains(t, "stderr", r.stderr, "error: kf/service_state/trans: errcode 95016 (StateTransitionForbidden)", "  meaning: ", "  remedy:  ")

	// by number, to the end
	kfctl(t, env, "session", "transfer", "wmCarl", "--state", "4").ok(t)
	if v, _ := s.SessionInfo("wkSupport", "wmCarl"); v.State != kf.StateEnded {
		t.Errorf("session = %+v, want ended", v)
	}
	// an ended session cannot be changed through the API
	r = kfctl(t, env, "session", "transfer", "wmCarl", "--state", "queued").exit(t, exitAPI)
	contains(t, "stderr", r.stderr, "errcode 95013", "remedy:")
}

func TestSessionUsageErrors(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := with(emuEnv(s), "KF_OPEN_KFID", "wkSupport")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"session", "get"}, "missing arguments"},
		{[]string{"session", "get", "wmCarl", "--open-kfid", ""}, "invalid open_kfid"},
		{[]string{"session", "transfer", "wmCarl"}, "missing --state"},
		{[]string{"session", "transfer", "wmCarl", "--state", "lunch"}, "is not a state"},
		{[]string{"session", "transfer", "wmCarl", "--state", "9"}, "9 is not a state"},
		{[]string{"session", "transfer", "wmCarl", "--state", "servicer"}, "servicer_userid"},
	} {
		r := kfctl(t, env, tc.args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %s)", tc.args, r.code, r.stderr)
		}
		contains(t, "stderr", r.stderr, tc.want)
	}
	noCalls(t, s)
}
