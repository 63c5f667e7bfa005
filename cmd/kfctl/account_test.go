package main

import (
	"strings"
	"testing"

	"github.com/wxkf/kf"
)

// pngBytes is a tiny PNG header: the emulator does not check image content.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01")

func TestAccountList(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := emuEnv(s)
	r := kfctl(t, env, "account", "list").ok(t)
	golden(t, "account_list", r.stdout)

	r = kfctl(t, env, "account", "list", "--output", "json").ok(t)
	var got []kf.Account
	r.json(t, &got)
	if len(got) != 2 || got[0].OpenKfID != "wkSupport" || got[1].Name != "Sales" || !got[0].ManagePrivilege {
		t.Errorf("accounts = %+v", got)
	}
}

func TestAccountLifecycle(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := emuEnv(s)
	avatar := writeFile(t, "avatar.png", pngBytes)

	// add, uploading the avatar first
	r := kfctl(t, with(env, "KF_OUTPUT", "json"), "account", "add", "--name", "Refunds", "--avatar", avatar).ok(t)
	var added kf.AddAccountResponse
	r.json(t, &added)
	if !strings.HasPrefix(added.OpenKfID, "wk") {
		t.Fatalf("open_kfid = %q", added.OpenKfID)
	}
	if n := s.Calls()["/cgi-bin/media/upload"]; n != 1 {
		t.Errorf("media/upload called %d times, want 1", n)
	}
	id := added.OpenKfID

	// update the name (table output)
	r = kfctl(t, env, "account", "update", id, "--name", "Returns").ok(t)
	contains(t, "update", r.stdout, id, "updated")
	r = kfctl(t, env, "account", "list").ok(t)
	contains(t, "list", r.stdout, "Returns")

	// link with a scene and a scene_param, resolved by the emulator
	r = kfctl(t, with(env, "KF_OUTPUT", "json"), "account", "link", id, "--scene", "spring_sale", "--scene-param", "order 42/x").ok(t)
	var link kf.ContactWayResponse
	r.json(t, &link)
	gotID, scene, param, err := s.ResolveContactURL(link.URL)
	if err != nil || gotID != id || scene != "spring_sale" || param != "order 42/x" {
		t.Errorf("ResolveContactURL(%s) = %q %q %q %v", link.URL, gotID, scene, param, err)
	}

	// delete
	kfctl(t, env, "account", "delete", id).ok(t)
	r = kfctl(t, env, "account", "list").ok(t)
	if strings.Contains(r.stdout, id) {
		t.Errorf("deleted account still listed:\n%s", r.stdout)
	}
	// deleting it again is an API error
	r = kfctl(t, env, "account", "delete", id).exit(t, exitAPI)
	contains(t, "stderr", r.stderr, "kf/account/del", "errcode")
}

func TestAccountUsageErrors(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := emuEnv(s)
	avatar := writeFile(t, "avatar.png", pngBytes)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"account", "add", "--media-id", "m"}, "missing --name"},
		{[]string{"account", "add", "--name", "X"}, "give --media-id or --avatar"},
		{[]string{"account", "add", "--name", "X", "--media-id", "m", "--avatar", avatar}, "cannot be used together"},
		// the name is checked before the avatar is uploaded
		{[]string{"account", "add", "--name", "a name much longer than sixteen characters", "--avatar", avatar}, "invalid name"},
		{[]string{"account", "update", "wkSupport"}, "nothing to update"},
		{[]string{"account", "delete"}, "missing arguments"},
		{[]string{"account", "link", "wkSupport", "--scene-param", "x"}, "--scene-param needs --scene"},
		{[]string{"account", "link", "wkSupport", "--scene", "bad scene!"}, "invalid scene"},
	} {
		r := kfctl(t, env, tc.args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %s)", tc.args, r.code, r.stderr)
		}
		contains(t, strings.Join(tc.args, " "), r.stderr, tc.want)
	}
	noCalls(t, s)
}

func TestAccountLinkPlain(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	r := kfctl(t, emuEnv(s), "account", "link", "wkSupport").ok(t)
	f := strings.Fields(r.stdout)
	if len(f) != 2 || f[0] != "url" {
		t.Fatalf("stdout = %q, want \"url  URL\"", r.stdout)
	}
	if id, scene, _, err := s.ResolveContactURL(f[1]); err != nil || id != "wkSupport" || scene != "" {
		t.Errorf("ResolveContactURL(%s) = %q %q %v", f[1], id, scene, err)
	}
}
