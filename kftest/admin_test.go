package kftest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kftest"
)

// Scenario tests of the administrative endpoints, through the real client
// (and raw HTTP where the client would refuse the request before sending).

// adminCST is China Standard Time, the zone of statistics days.
var adminCST = time.FixedZone("CST", 8*60*60)

// adminT0 is the frozen start time of every admin scenario.
var adminT0 = time.Date(2025, 3, 10, 12, 0, 0, 0, adminCST)

// adminPNG is the smallest content the emulator accepts as an image.
var adminPNG = []byte("\x89PNG\r\n\x1a\n-kftest-image")

// adminServer starts an emulator on a frozen clock at adminT0 and returns
// it with a client that shares its clock and retries without sleeping.
func adminServer(t *testing.T, opts ...kftest.Option) (*kftest.Server, *kf.Client) {
	t.Helper()
	clk := kftest.NewFrozenClock(adminT0)
	s := kftest.NewServer(t, append([]kftest.Option{kftest.WithClock(clk), kftest.WithRandSeed(7)}, opts...)...)
	c := s.Client(kf.WithClock(clk), kf.WithRetryer(kf.NewStandardRetryer(kf.StandardRetryerConfig{BaseDelay: 1, MaxDelay: 1})))
	return s, c
}

// wantCode fails the test unless err carries the errcode.
func wantCode(t *testing.T, err error, code kf.ErrCode) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want errcode %d", int(code))
	}
	if !errors.Is(err, code) {
		t.Fatalf("err = %v, want errcode %d", err, int(code))
	}
}

// adminToken fetches an access_token with raw HTTP.
func adminToken(t *testing.T, s *kftest.Server) string {
	t.Helper()
	q := url.Values{"corpid": {s.CorpID()}, "corpsecret": {s.Secret()}}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	adminDo(t, http.MethodGet, s.URL()+"/cgi-bin/gettoken?"+q.Encode(), "", nil, &out)
	return out.AccessToken
}

// adminDo sends a request and decodes the JSON reply into out.
func adminDo(t *testing.T, method, u, ctype string, body io.Reader, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: reply %q: %v", method, u, b, err)
	}
}

// adminRaw calls an endpoint with raw HTTP (a JSON body for POST, query
// parameters for GET) and returns the errcode and the whole reply.
func adminRaw(t *testing.T, s *kftest.Server, method, path, query, body string) (kf.ErrCode, map[string]any) {
	t.Helper()
	u := s.URL() + path + "?access_token=" + adminToken(t, s)
	if query != "" {
		u += "&" + query
	}
	var rd io.Reader
	ctype := ""
	if body != "" {
		rd, ctype = strings.NewReader(body), "application/json"
	}
	var out map[string]any
	adminDo(t, method, u, ctype, rd, &out)
	code, _ := out["errcode"].(float64)
	return kf.ErrCode(int(code)), out
}

// adminAvatar uploads an image and returns its media_id.
func adminAvatar(t *testing.T, c *kf.Client) string {
	t.Helper()
	up, err := c.Media.Upload(t.Context(), &kf.UploadMediaRequest{Type: kf.MediaTypeImage, Filename: "avatar.png", Body: bytes.NewReader(adminPNG)})
	if err != nil {
		t.Fatal(err)
	}
	return up.MediaID
}

// adminAccount creates an account through the API.
func adminAccount(t *testing.T, c *kf.Client, name string) string {
	t.Helper()
	out, err := c.Accounts.Add(t.Context(), &kf.AddAccountRequest{Name: name, MediaID: adminAvatar(t, c)})
	if err != nil {
		t.Fatal(err)
	}
	return out.OpenKfID
}

func TestAdminAccountLifecycle(t *testing.T) {
	t.Parallel()
	s, c := adminServer(t)
	ctx := t.Context()
	id := adminAccount(t, c, "售前咨询")
	list, err := c.Accounts.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Accounts) != 1 || list.Accounts[0].OpenKfID != id || list.Accounts[0].Name != "售前咨询" ||
		!list.Accounts[0].ManagePrivilege || !strings.HasPrefix(list.Accounts[0].Avatar, "https://") {
		t.Fatalf("list = %+v", list.Accounts)
	}
	before := list.Accounts[0].Avatar
	if err := c.Accounts.Update(ctx, &kf.UpdateAccountRequest{OpenKfID: id, Name: "售后服务"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Accounts.Update(ctx, &kf.UpdateAccountRequest{OpenKfID: id, MediaID: adminAvatar(t, c)}); err != nil {
		t.Fatal(err)
	}
	list, _ = c.Accounts.List(ctx, nil)
	if got := list.Accounts[0]; got.Name != "售后服务" || got.Avatar == before {
		t.Fatalf("after update: %+v (avatar before %s)", got, before)
	}
	if err := c.Accounts.Delete(ctx, &kf.DeleteAccountRequest{OpenKfID: id}); err != nil {
		t.Fatal(err)
	}
	list, _ = c.Accounts.List(ctx, nil)
	if len(list.Accounts) != 0 {
		t.Fatalf("after delete: %+v", list.Accounts)
	}
	wantCode(t, c.Accounts.Delete(ctx, &kf.DeleteAccountRequest{OpenKfID: id}), kf.ErrCodeOpenKfIDNotFound)
	wantCode(t, c.Accounts.Update(ctx, &kf.UpdateAccountRequest{OpenKfID: id, Name: "x"}), kf.ErrCodeOpenKfIDNotFound)
	if n := s.Calls()["/cgi-bin/kf/account/del"]; n != 2 {
		t.Errorf("account/del calls = %d, want 2 (a 95004 is not retried)", n)
	}
}

func TestAdminAccountAddRules(t *testing.T) {
	t.Parallel()
	s, c := adminServer(t)
	img := adminAvatar(t, c)
	voice, err := c.Media.Upload(t.Context(), &kf.UploadMediaRequest{Type: kf.MediaTypeVoice, Filename: "v.amr", Body: strings.NewReader("#!AMR\n-voice")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, body string
		want       kf.ErrCode
	}{
		{"name 17 characters", `{"name":"一二三四五六七八九十一二三四五六七","media_id":"` + img + `"}`, kf.ErrCodeInvalidAccountName},
		{"name empty", `{"name":"","media_id":"` + img + `"}`, kf.ErrCodeInvalidAccountName},
		{"media_id missing", `{"name":"ok"}`, kf.ErrCodeParameterEmpty},
		{"media_id unknown", `{"name":"ok","media_id":"nope"}`, kf.ErrCodeInvalidMediaID},
		{"media_id not an image", `{"name":"ok","media_id":"` + voice.MediaID + `"}`, kf.ErrCodeInvalidMediaID},
		{"media_id over 128 bytes", `{"name":"ok","media_id":"` + strings.Repeat("m", 129) + `"}`, kf.ErrCodeInvalidMediaID},
		{"bad json", `{"name":`, kf.ErrCodeInvalidParameter},
		{"name 16 characters", `{"name":"一二三四五六七八九十一二三四五六","media_id":"` + img + `"}`, 0},
	} {
		if got, reply := adminRaw(t, s, http.MethodPost, "/cgi-bin/kf/account/add", "", tc.body); got != tc.want {
			t.Errorf("%s: errcode %d, want %d (%v)", tc.name, int(got), int(tc.want), reply["errmsg"])
		}
	}
	// A wrong verb is refused.
	if got, _ := adminRaw(t, s, http.MethodGet, "/cgi-bin/kf/account/add", "", ""); got != kf.ErrCodeInvalidParameter {
		t.Errorf("GET account/add: errcode %d, want 40058", int(got))
	}
	// The avatar expires with the media after 3 days.
	s.Advance(72 * time.Hour)
	_, err = c.Accounts.Add(t.Context(), &kf.AddAccountRequest{Name: "late", MediaID: img})
	wantCode(t, err, kf.ErrCodeInvalidMediaID)
}

func TestAdminAccountQuota(t *testing.T) {
	t.Parallel()
	_, c := adminServer(t, kftest.WithQuotas(kftest.Quotas{Accounts: 2}))
	a := adminAccount(t, c, "one")
	adminAccount(t, c, "two")
	_, err := c.Accounts.Add(t.Context(), &kf.AddAccountRequest{Name: "three", MediaID: adminAvatar(t, c)})
	wantCode(t, err, kf.ErrCodeAccountCountLimit)
	if err := c.Accounts.Delete(t.Context(), &kf.DeleteAccountRequest{OpenKfID: a}); err != nil {
		t.Fatal(err)
	}
	adminAccount(t, c, "three")
}

func TestAdminAccountList(t *testing.T) {
	t.Parallel()
	s, c := adminServer(t, kftest.WithSeed(kftest.Seed{Accounts: []kftest.SeedAccount{
		{OpenKfID: "wkseed1", Name: "seeded"}, {OpenKfID: "wkforeign", Name: "foreign", Unmanaged: true},
	}}))
	var want []string
	want = append(want, "wkseed1", "wkforeign")
	for _, n := range []string{"a", "b", "c"} {
		want = append(want, adminAccount(t, c, n))
	}
	var got []string
	for a, err := range c.Accounts.All(t.Context(), 2) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.OpenKfID)
		if a.ManagePrivilege != (a.OpenKfID != "wkforeign") {
			t.Errorf("%s: manage_privilege = %v", a.OpenKfID, a.ManagePrivilege)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}
	if n := s.Calls()["/cgi-bin/kf/account/list"]; n != 3 {
		t.Errorf("account/list calls = %d, want 3 pages", n)
	}
	ids := func(reply map[string]any) []string {
		var out []string
		for _, a := range reply["account_list"].([]any) {
			out = append(out, a.(map[string]any)["open_kfid"].(string))
		}
		return out
	}
	// Legacy GET without parameters: every account.
	if code, reply := adminRaw(t, s, http.MethodGet, "/cgi-bin/kf/account/list", "", ""); code != 0 || len(ids(reply)) != 5 {
		t.Errorf("legacy GET: errcode %d, %v", int(code), reply)
	}
	// GET with offset and limit in the query.
	if code, reply := adminRaw(t, s, http.MethodGet, "/cgi-bin/kf/account/list", "offset=1&limit=2", ""); code != 0 || !cmp.Equal(ids(reply), want[1:3]) {
		t.Errorf("GET offset=1&limit=2: errcode %d, %v", int(code), reply)
	}
	// POST without a body: the first 100.
	if code, reply := adminRaw(t, s, http.MethodPost, "/cgi-bin/kf/account/list", "", ""); code != 0 || len(ids(reply)) != 5 {
		t.Errorf("POST without body: errcode %d, %v", int(code), reply)
	}
	for _, body := range []string{`{"limit":101}`, `{"offset":-1}`} {
		if code, _ := adminRaw(t, s, http.MethodPost, "/cgi-bin/kf/account/list", "", body); code != kf.ErrCodeInvalidParameter {
			t.Errorf("POST %s: errcode %d, want 40058", body, int(code))
		}
	}
	if code, _ := adminRaw(t, s, http.MethodGet, "/cgi-bin/kf/account/list", "limit=0", ""); code != kf.ErrCodeInvalidParameter {
		t.Errorf("GET limit=0: errcode %d, want 40058", int(code))
	}
	// The app cannot change an account it does not manage.
	wantCode(t, c.Accounts.Delete(t.Context(), &kf.DeleteAccountRequest{OpenKfID: "wkforeign"}), kf.ErrCodeAPIForbidden)
	wantCode(t, c.Accounts.Update(t.Context(), &kf.UpdateAccountRequest{OpenKfID: "wkforeign", Name: "mine"}), kf.ErrCodeAPIForbidden)
}

func TestAdminAccountDeleteDropsActivity(t *testing.T) {
	t.Parallel()
	s, c := adminServer(t, kftest.WithSeed(kftest.Seed{
		Accounts:  []kftest.SeedAccount{{OpenKfID: "wkdel", Name: "doomed"}},
		Customers: []kftest.SeedCustomer{{ExternalUserID: "wmalice", Nickname: "Alice"}},
	}))
	if _, err := s.CustomerSend("wkdel", "wmalice", kftest.CustomerText("hi")); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.SessionInfo("wkdel", "wmalice"); !ok {
		t.Fatal("no session after the customer wrote")
	}
	if err := c.Accounts.Delete(t.Context(), &kf.DeleteAccountRequest{OpenKfID: "wkdel"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.SessionInfo("wkdel", "wmalice"); ok {
		t.Error("the session survived its account")
	}
	if log := s.SyncLog("wkdel"); log != nil {
		t.Errorf("sync log survived: %d entries", len(log))
	}
	out, err := c.Customers.BatchGet(t.Context(), &kf.BatchGetCustomersRequest{ExternalUserIDs: []string{"wmalice"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Customers) != 0 || !cmp.Equal(out.InvalidExternalUserIDs, []string{"wmalice"}) {
		t.Errorf("batchget after delete = %+v", out)
	}
}

func TestAdminContactWay(t *testing.T) {
	t.Parallel()
	s, c := adminServer(t, kftest.WithSeed(kftest.Seed{
		Accounts:  []kftest.SeedAccount{{OpenKfID: "wklink", Name: "links"}},
		Customers: []kftest.SeedCustomer{{ExternalUserID: "wmbob"}},
	}))
	ctx := t.Context()
	withScene, err := c.Accounts.ContactWay(ctx, &kf.ContactWayRequest{OpenKfID: "wklink", Scene: "spring_sale-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^https://work\.weixin\.qq\.com/kf/kfc[0-9a-f]{15}\?enc_scene=ENC[0-9A-Za-z]+$`).MatchString(withScene.URL) {
		t.Fatalf("url = %q", withScene.URL)
	}
	again, err := c.Accounts.ContactWay(ctx, &kf.ContactWayRequest{OpenKfID: "wklink", Scene: "spring_sale-1"})
	if err != nil || again.URL != withScene.URL {
		t.Errorf("same scene again: %v, %v; want the same link", again, err)
	}
	plain, err := c.Accounts.ContactWay(ctx, &kf.ContactWayRequest{OpenKfID: "wklink"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.URL, "?") || plain.URL == withScene.URL {
		t.Errorf("link without scene = %q", plain.URL)
	}

	// The link resolves to its account, scene and scene_param.
	full, err := kf.AppendSceneParam(withScene.URL, "a=1 b&c")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url, scene, param string
	}{
		{withScene.URL, "spring_sale-1", ""},
		{full, "spring_sale-1", "a=1 b&c"},
		{plain.URL, "", ""},
	} {
		id, scene, param, err := s.ResolveContactURL(tc.url)
		if err != nil || id != "wklink" || scene != tc.scene || param != tc.param {
			t.Errorf("ResolveContactURL(%q) = %q, %q, %q, %v", tc.url, id, scene, param, err)
		}
	}
	for name, bad := range map[string]string{
		"edited enc_scene":       strings.Replace(withScene.URL, "enc_scene=ENC", "enc_scene=ENX", 1),
		"scene_param, no scene":  plain.URL + "?scene_param=x",
		"unknown link":           "https://work.weixin.qq.com/kf/kfc000000000000000",
		"other host":             strings.Replace(withScene.URL, "work.weixin.qq.com", "example.com", 1),
		"scene_param over 128 B": withScene.URL + "&scene_param=" + strings.Repeat("p", 129),
		"extra parameter":        withScene.URL + "&x=1",
	} {
		if _, _, _, err := s.ResolveContactURL(bad); !errors.Is(err, kftest.ErrInvalidContactURL) {
			t.Errorf("%s: err = %v, want ErrInvalidContactURL", name, err)
		}
	}

	// Entering through an edited link fails; through the link, batchget
	// then reports the context.
	if _, err := s.EnterSession("wklink", "wmbob", kftest.EnterOptions{Link: strings.Replace(full, "ENC", "ENX", 1)}); !errors.Is(err, kftest.ErrInvalidContactURL) {
		t.Errorf("EnterSession through an edited link: %v", err)
	}
	if _, err := s.EnterSession("wklink", "wmbob", kftest.EnterOptions{Link: full}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Customers.BatchGet(ctx, &kf.BatchGetCustomersRequest{ExternalUserIDs: []string{"wmbob"}, NeedEnterSessionContext: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Customers) != 1 || got.Customers[0].EnterSessionContext == nil ||
		*got.Customers[0].EnterSessionContext != (kf.EnterSessionContext{Scene: "spring_sale-1", SceneParam: "a=1 b&c"}) {
		t.Errorf("batchget = %+v", got.Customers)
	}

	// Platform-side checks.
	_, err = c.Accounts.ContactWay(ctx, &kf.ContactWayRequest{OpenKfID: "wknone"})
	wantCode(t, err, kf.ErrCodeOpenKfIDNotFound)
	for _, body := range []string{
		`{"open_kfid":"wklink","scene":"bad scene!"}`,
		`{"open_kfid":"wklink","scene":"` + strings.Repeat("s", 33) + `"}`,
	} {
		if code, _ := adminRaw(t, s, http.MethodPost, "/cgi-bin/kf/add_contact_way", "", body); code != kf.ErrCodeInvalidParameter {
			t.Errorf("%s: errcode %d, want 40058", body, int(code))
		}
	}
	if code, _ := adminRaw(t, s, http.MethodPost, "/cgi-bin/kf/add_contact_way", "", `{"scene":"x"}`); code != kf.ErrCodeInvalidOpenKfID {
		t.Errorf("no open_kfid: errcode %d, want 95000", int(code))
	}
}

func TestAdminIDConvert(t *testing.T) {
	t.Parallel()
	_, c := adminServer(t, kftest.WithSeed(kftest.Seed{Accounts: []kftest.SeedAccount{{OpenKfID: "wkconv", Name: "conv"}}}))
	out, err := c.Accounts.ConvertOpenKfIDs(t.Context(), []string{"wkconv", "wkghost"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 1 || out.Items[0].OpenKfID != "wkconv" || !strings.HasPrefix(out.Items[0].NewOpenKfID, "wp") ||
		!cmp.Equal(out.InvalidOpenKfIDs, []string{"wkghost"}) {
		t.Fatalf("convert = %+v", out)
	}
	provider := out.Items[0].NewOpenKfID
	again, err := c.Accounts.ConvertOpenKfIDs(t.Context(), []string{"wkconv", provider})
	if err != nil {
		t.Fatal(err)
	}
	want := []kf.ConvertedOpenKfID{{OpenKfID: "wkconv", NewOpenKfID: provider}, {OpenKfID: provider, NewOpenKfID: provider}}
	if diff := cmp.Diff(want, again.Items); diff != "" || len(again.InvalidOpenKfIDs) != 0 {
		t.Errorf("stable conversion (-want +got):\n%s%v", diff, again.InvalidOpenKfIDs)
	}
}

func TestAdminFaultRetry(t *testing.T) {
	t.Parallel()
	s, c := adminServer(t, kftest.WithSeed(kftest.Seed{Accounts: []kftest.SeedAccount{{OpenKfID: "wkf", Name: "f"}}}))
	const path = "/cgi-bin/kf/account/list"
	if err := s.FailNext(path, 1, kftest.Fault{Code: kf.ErrCodeSystemBusy}); err != nil {
		t.Fatal(err)
	}
	list, err := c.Accounts.List(t.Context(), nil)
	if err != nil || len(list.Accounts) != 1 {
		t.Fatalf("List after one -1: %v, %v", list, err)
	}
	if n := s.Calls()[path]; n != 2 {
		t.Errorf("calls = %d, want 2 (one fault, one retry)", n)
	}
	// Three faults exhaust the client's three attempts.
	if err := s.FailNext(path, 3, kftest.Fault{Code: kf.ErrCodeSystemBusy}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Accounts.List(t.Context(), nil)
	wantCode(t, err, kf.ErrCodeSystemBusy)
	// A GET endpoint and a 5xx fault.
	if err := s.FailNext("/cgi-bin/kf/servicer/list", 1, kftest.Fault{HTTPStatus: http.StatusBadGateway}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Servicers.List(t.Context(), &kf.ListServicersRequest{OpenKfID: "wkf"}); err != nil {
		t.Errorf("servicer/list after a 502: %v", err)
	}
}
