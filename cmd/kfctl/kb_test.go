package main

import (
	"strings"
	"testing"

	"github.com/wxkf/kf"
)

func TestKnowledgeBase(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := emuEnv(s)
	jenv := with(env, "KF_OUTPUT", "json")

	var added kf.AddGroupResponse
	kfctl(t, jenv, "kb", "groups", "add", "Shipping").ok(t).json(t, &added)
	if added.GroupID == "" {
		t.Fatal("no group_id")
	}
	kfctl(t, env, "kb", "groups", "rename", added.GroupID, "Delivery").ok(t)
	r := kfctl(t, env, "kb", "groups", "list").ok(t)
	contains(t, "groups", r.stdout, "GROUP_ID", "NAME", "DEFAULT", added.GroupID, "Delivery")
	var groups []kf.Group
	kfctl(t, jenv, "kb", "groups", "list").ok(t).json(t, &groups)
	found := false
	for _, g := range groups {
		found = found || (g.GroupID == added.GroupID && g.Name == "Delivery" && !g.IsDefault)
	}
	if !found {
		t.Errorf("groups = %+v", groups)
	}

	var intent kf.AddIntentResponse
	kfctl(t, jenv, "kb", "intents", "add", "--group", added.GroupID, "--question", "Where is my parcel?",
		"--similar", "Where is my order?", "--similar", "Tracking", "--answer", "See the tracking page.").ok(t).json(t, &intent)
	if intent.IntentID == "" {
		t.Fatal("no intent_id")
	}
	r = kfctl(t, env, "kb", "intents", "list", "--group", added.GroupID).ok(t)
	contains(t, "intents", r.stdout, intent.IntentID, "Where is my parcel?", "Where is my order? | Tracking", "See the tracking page.")
	var intents []kf.Intent
	kfctl(t, jenv, "kb", "intents", "list").ok(t).json(t, &intents)
	if len(intents) != 1 || len(intents[0].SimilarQuestions.Items) != 2 || intents[0].Answers[0].Text.Content != "See the tracking page." {
		t.Errorf("intents = %+v", intents)
	}

	kfctl(t, env, "kb", "intents", "delete", intent.IntentID).ok(t)
	kfctl(t, env, "kb", "groups", "delete", added.GroupID).ok(t)
	r = kfctl(t, env, "kb", "groups", "list").ok(t)
	if strings.Contains(r.stdout, added.GroupID) {
		t.Errorf("deleted group still listed:\n%s", r.stdout)
	}
	// deleting it again: an API error
	kfctl(t, env, "kb", "groups", "delete", added.GroupID).exit(t, exitAPI)
}

func TestKnowledgeBaseUsageErrors(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := emuEnv(s)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"kb", "groups", "add", "a group name that is too long"}, "name"},
		{[]string{"kb", "groups", "rename", "g1"}, "missing arguments"},
		{[]string{"kb", "intents", "add", "--question", "q", "--answer", "a"}, "group_id"},
		{[]string{"kb", "intents", "add", "--group", "g1", "--answer", "a"}, "question"},
		{[]string{"kb", "intents", "delete"}, "missing arguments"},
		{[]string{"kb", "faq"}, "unknown command"},
	} {
		r := kfctl(t, env, tc.args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %s)", tc.args, r.code, r.stderr)
		}
		contains(t, strings.Join(tc.args, " "), r.stderr, tc.want)
	}
	noCalls(t, s)
}
