package main

import (
	"testing"

	"github.com/wxkf/kf"
)

func TestServicer(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := with(emuEnv(s), "KF_OPEN_KFID", "wkSupport")

	r := kfctl(t, env, "servicer", "list").ok(t)
	golden(t, "servicer_list", r.stdout)

	r = kfctl(t, env, "servicer", "add", "--user", "carol").ok(t)
	golden(t, "servicer_add", r.stdout)
	r = kfctl(t, with(env, "KF_OUTPUT", "json"), "servicer", "list").ok(t)
	var list []kf.Servicer
	r.json(t, &list)
	if len(list) != 3 || list[2].UserID != "carol" {
		t.Errorf("servicers after add = %+v", list)
	}

	// Adding carol again is ignored; an unknown member fails per item:
	// the results are printed and the exit code is the API error's.
	r = kfctl(t, env, "servicer", "add", "--user", "carol,zed").exit(t, exitAPI)
	contains(t, "stdout", r.stdout, "carol", "ignored", "zed", "errcode")
	contains(t, "stderr", r.stderr, "1 of 2 items failed", "meaning:")

	r = kfctl(t, with(env, "KF_OUTPUT", "json"), "servicer", "delete", "--user", "carol").ok(t)
	var res []kf.ServicerResult
	r.json(t, &res)
	if len(res) != 1 || res[0].UserID != "carol" || res[0].Err() != nil {
		t.Errorf("delete results = %+v", res)
	}
}

func TestServicerUsageErrors(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := emuEnv(s)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"servicer", "list"}, "invalid open_kfid: required"},
		{[]string{"servicer", "add", "--open-kfid", "wkSupport"}, "userid_list and department_id_list are both empty"},
		{[]string{"servicer", "delete", "--open-kfid", "wkSupport", "--department", "-3"}, "department"},
		{[]string{"servicer", "add", "--open-kfid", "wkSupport", "--department", "x"}, "invalid argument"},
	} {
		r := kfctl(t, env, tc.args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %s)", tc.args, r.code, r.stderr)
		}
		contains(t, "stderr", r.stderr, tc.want)
	}
	noCalls(t, s)
}
