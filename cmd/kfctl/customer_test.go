package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wxkf/kf/kftest"
)

func TestCustomerGet(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := emuEnv(s)
	if _, err := s.EnterSession("wkSupport", "wmCarl", kftest.EnterOptions{Scene: "ad1", SceneParam: "campaign 7"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CustomerSend("wkSales", "wmDana", kftest.CustomerText("hi")); err != nil {
		t.Fatal(err)
	}

	r := kfctl(t, env, "customer", "get", "wmCarl", "wmDana", "wmUnknown", "--context").ok(t)
	golden(t, "customer_get", r.stdout)
	contains(t, "stderr", r.stderr, "invalid", "wmUnknown")

	r = kfctl(t, with(env, "KF_OUTPUT", "json"), "customer", "get", "wmCarl", "wmUnknown").ok(t)
	var out customersOut
	r.json(t, &out)
	if len(out.Customers) != 1 || out.Customers[0].Nickname != "Carl" || out.Customers[0].UnionID != "oUnionCarl" {
		t.Errorf("customers = %+v", out.Customers)
	}
	if diff := cmp.Diff([]string{"wmUnknown"}, out.Invalid); diff != "" {
		t.Errorf("invalid (-want +got):\n%s", diff)
	}
}

func TestCustomerUsageErrors(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	r := kfctl(t, emuEnv(s), "customer", "get").exit(t, exitUsage)
	contains(t, "stderr", r.stderr, "missing arguments")
	r = kfctl(t, emuEnv(s), "customer", "get", "wmCarl", "").exit(t, exitUsage)
	contains(t, "stderr", r.stderr, "external_userid_list")
	noCalls(t, s)
}
