package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/callback"
	"github.com/wxkf/kf/kftest"
)

// callbackServer serves a real callback.Handler for the corp, or, with
// answer, a server that verifies the request and answers answer(plaintext).
func callbackServer(t *testing.T, corpID string, answer func(plain string) string) string {
	t.Helper()
	h, err := callback.New(callback.Config{Token: serveToken, EncodingAESKey: serveAESKey, ReceiverID: corpID,
		OnEvent: func(context.Context, callback.Event) {}})
	if err != nil {
		t.Fatal(err)
	}
	var hh http.Handler = h
	if answer != nil {
		hh = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			plain, err := h.VerifyURL(r)
			if err != nil {
				http.Error(w, "no", http.StatusForbidden)
				return
			}
			fmt.Fprint(w, answer(string(plain)))
		})
	}
	srv := httptest.NewServer(hh)
	t.Cleanup(srv.Close)
	return srv.URL + "/kf/callback"
}

func doctorEnv(s *kftest.Server) map[string]string {
	return with(emuEnv(s), "KF_TOKEN", serveToken, "KF_AES_KEY", serveAESKey)
}

func TestDoctorGood(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	cb := callbackServer(t, s.CorpID(), nil)
	r := kfctl(t, doctorEnv(s), "doctor", "--callback-url", cb).ok(t)
	contains(t, "doctor", r.stdout,
		"✓ access token: corp "+s.CorpID(),
		"✓ 微信客服 API access",
		"✓ KF accounts: 2 accounts, all managed by this app",
		"wkSupport  Support  ✓ managed by this app",
		"✓ reception quota: no 视频号 bound: KF may serve 100 customers in total if the corp is not verified, 10 000 if it is",
		"✓ callback URL: "+cb+" answered the verification")
	if strings.Contains(r.stdout, "✗") {
		t.Errorf("a check failed:\n%s", r.stdout)
	}

	// JSON, and without a callback URL the check is skipped.
	r = kfctl(t, with(doctorEnv(s), "KF_OUTPUT", "json"), "doctor").ok(t)
	var got struct {
		OK     bool
		Checks []doctorCheck
	}
	r.json(t, &got)
	if !got.OK || len(got.Checks) != 5 || got.Checks[4].Status != checkSkip {
		t.Errorf("doctor JSON: %+v", got)
	}
}

func TestDoctorCredentials(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"wrong secret", with(emuEnv(s), "KF_SECRET", "not-the-secret"), []string{
			"✗ access token", "errcode 40001 (InvalidCredential)", "meaning: invalid secret",
			"应用管理 → your self-built app → Secret"}},
		{"wrong corp id", with(emuEnv(s), "KF_CORP_ID", "wwWrongCorp"), []string{
			"✗ access token", "errcode 40013 (InvalidCorpID)", "我的企业 → 企业信息"}},
		{"no secret", with(emuEnv(s), "KF_SECRET", ""), []string{
			"✗ access token", "error:   no secret", "meaning: corpsecret missing", "set --secret or $KF_SECRET"}},
		{"no corp id", with(emuEnv(s), "KF_CORP_ID", ""), []string{"✗ access token", "error:   no corp id", "set --corp-id"}},
	} {
		r := kfctl(t, tc.env, "doctor").exit(t, exitError)
		contains(t, tc.name, r.stdout, tc.want...)
		contains(t, tc.name, r.stdout, "- 微信客服 API access: needs an access token", "- reception quota: needs an access token")
		contains(t, tc.name+" stderr", r.stderr, "doctor: 1 of 5 checks failed")
	}
}

func TestDoctorPermissions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path string
		code kf.ErrCode
		want []string
	}{
		{"/cgi-bin/kf/account/list", kf.ErrCodeAPIForbidden, []string{"✗ 微信客服 API access", "errcode 48002", "可调用接口的应用", "- KF accounts: needs API access"}},
		{"/cgi-bin/kf/account/list", kf.ErrCodeAPISwitchOff, []string{"errcode 95017", "turn on API access"}},
		{"/cgi-bin/kf/account/list", kf.ErrCodeUnionEditionSecret, []string{"errcode 95011", "企业内部接入"}},
		{"/cgi-bin/kf/account/list", kf.ErrCodeStandaloneEditionSecret, []string{"errcode 95012", "独立版"}},
		{"/cgi-bin/gettoken", kf.ErrCodeUntrustedIP, []string{"✗ access token", "errcode 60020", "企业可信IP"}},
	} {
		s := newEmulator(t)
		if err := s.FailNext(tc.path, 1, kftest.Fault{Code: tc.code}); err != nil {
			t.Fatal(err)
		}
		r := kfctl(t, emuEnv(s), "doctor").exit(t, exitError)
		contains(t, fmt.Sprint(tc.code), r.stdout, tc.want...)
	}
}

func TestDoctorUnmanagedAccounts(t *testing.T) {
	t.Parallel()
	seed := testSeed()
	seed.Accounts[1].Unmanaged = true
	seed.WeChatChannelsBinding = true
	s := kftest.NewServer(t, kftest.WithSeed(seed))
	r := kfctl(t, emuEnv(s), "doctor").ok(t)
	contains(t, "doctor", r.stdout, "! KF accounts: 2 accounts, 1 managed by this app",
		"wkSales    Sales    ✗ not managed by this app (manage_privilege false)", "通过API管理微信客服账号",
		"✓ reception quota: a 视频号 is bound")

	seed.Accounts[0].Unmanaged = true
	s = kftest.NewServer(t, kftest.WithSeed(seed))
	r = kfctl(t, emuEnv(s), "doctor").exit(t, exitError)
	contains(t, "doctor", r.stdout, "✗ KF accounts: 2 accounts, none managed by this app")
}

func TestDoctorCallback(t *testing.T) {
	t.Parallel()
	s := newEmulator(t)
	env := doctorEnv(s)
	for _, tc := range []struct {
		name   string
		answer func(string) string
		env    map[string]string
		want   []string
	}{
		{"wrong plaintext", func(string) string { return "success" }, env,
			[]string{`✗ callback URL`, `error:   wrong answer: "success"`, "answered with the decrypted echostr"}},
		{"newline", func(p string) string { return p + "\n" }, env, []string{"✗ callback URL", "a newline"}},
		{"quoted", func(p string) string { return `"` + p + `"` }, env, []string{"✗ callback URL", "quoted"}},
		{"other token", nil, with(env, "KF_TOKEN", "someOtherToken"), []string{"✗ callback URL", "HTTP 403", "Token, EncodingAESKey or corp id"}},
		{"no key", nil, with(env, "KF_AES_KEY", ""), []string{"✗ callback URL", "no --token or --aes-key"}},
		{"bad key", nil, with(env, "KF_AES_KEY", "short"), []string{"✗ callback URL", "EncodingAESKey 43 characters"}},
	} {
		url := callbackServer(t, s.CorpID(), tc.answer)
		r := kfctl(t, tc.env, "doctor", "--callback-url", url).exit(t, exitError)
		contains(t, tc.name, r.stdout, tc.want...)
		contains(t, tc.name, r.stdout, "✓ access token") // the other checks still run
	}
	r := kfctl(t, env, "doctor", "--callback-url", "http://127.0.0.1:1/callback").exit(t, exitError)
	contains(t, "unreachable", r.stdout, "✗ callback URL", "cannot be reached")
	r = kfctl(t, env, "doctor", "--callback-url", "example.com/cb").exit(t, exitError)
	contains(t, "not a URL", r.stdout, "is not an http(s) URL")
	// The secrets are never printed.
	for _, sec := range []string{serveAESKey, serveToken, s.Secret()} {
		if strings.Contains(r.stdout+r.stderr, sec) {
			t.Errorf("doctor printed a secret")
		}
	}
}
