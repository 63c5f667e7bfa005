package kf

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wantInvalidField checks that err is a *ValidationError for field (and
// matches ErrInvalidRequest).
func wantInvalidField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	if ve.Field != field {
		t.Errorf("ValidationError.Field = %q, want %q (err: %v)", ve.Field, field, err)
	}
	if !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("errors.Is(%v, ErrInvalidRequest) = false", err)
	}
}

func TestAccounts_Add(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/account/add", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"name":"新建的客服账号","media_id":"294DpAog3YA5b9rTK4PjjfRfYLO0L5qpDHAJIzhhQ2jAEWjb9i661Q4lk8oFnPtmj"}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","open_kfid":"wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw"}`)
	})
	got, err := c.Accounts.Add(t.Context(), &AddAccountRequest{
		Name:    "新建的客服账号",
		MediaID: "294DpAog3YA5b9rTK4PjjfRfYLO0L5qpDHAJIzhhQ2jAEWjb9i661Q4lk8oFnPtmj",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &AddAccountResponse{OpenKfID: "wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Add mismatch (-want +got):\n%s", diff)
	}
}

// TestAccounts_AddNotRetried proves that Add is not marked idempotent: a 5xx
// reply (outcome unknown) is reported, not replayed.
func TestAccounts_AddNotRetried(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("/cgi-bin/kf/account/add", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "boom", http.StatusBadGateway)
	})
	_, err := c.Accounts.Add(t.Context(), &AddAccountRequest{Name: "n", MediaID: "m"})
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v, want ErrOutcomeUnknown", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("account/add called %d times, want 1", n)
	}
}

func TestAccounts_Delete(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/account/del", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"open_kfid":"OPEN_KFID"}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
	})
	if err := c.Accounts.Delete(t.Context(), &DeleteAccountRequest{OpenKfID: "OPEN_KFID"}); err != nil {
		t.Fatal(err)
	}
}

func TestAccounts_Update(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  UpdateAccountRequest
		body string
	}{
		{"both", UpdateAccountRequest{OpenKfID: "OPEN_KFID", Name: "修改客服名", MediaID: "MEDIA"}, `{"open_kfid":"OPEN_KFID","name":"修改客服名","media_id":"MEDIA"}`},
		{"name only", UpdateAccountRequest{OpenKfID: "OPEN_KFID", Name: "修改客服名"}, `{"open_kfid":"OPEN_KFID","name":"修改客服名"}`},
		{"avatar only", UpdateAccountRequest{OpenKfID: "OPEN_KFID", MediaID: "MEDIA"}, `{"open_kfid":"OPEN_KFID","media_id":"MEDIA"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			mux.HandleFunc("/cgi-bin/kf/account/update", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, "POST")
				testJSONBody(t, r, tt.body)
				writeJSON(w, `{"errcode":0,"errmsg":"ok"}`)
			})
			if err := c.Accounts.Update(t.Context(), &tt.req); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAccounts_List(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/account/list", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"offset":10,"limit":2}`)
		writeJSON(w, `{
			"errcode": 0,
			"errmsg": "ok",
			"account_list": [
				{"open_kfid": "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q", "name": "咨询客服", "avatar": "https://wework.qpic.cn/wwhead/duc2TvpEgS/0", "manage_privilege": false},
				{"open_kfid": "wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw", "name": "售后客服", "avatar": "https://wework.qpic.cn/wwhead/abc/0", "manage_privilege": true}
			]
		}`)
	})
	got, err := c.Accounts.List(t.Context(), &ListAccountsRequest{Offset: 10, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := &ListAccountsResponse{Accounts: []Account{
		{OpenKfID: "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q", Name: "咨询客服", Avatar: "https://wework.qpic.cn/wwhead/duc2TvpEgS/0"},
		{OpenKfID: "wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw", Name: "售后客服", Avatar: "https://wework.qpic.cn/wwhead/abc/0", ManagePrivilege: true},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List mismatch (-want +got):\n%s", diff)
	}
}

func TestAccounts_ListNilRequest(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/account/list", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testJSONBody(t, r, `{}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","account_list":[]}`)
	})
	got, err := c.Accounts.List(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&ListAccountsResponse{Accounts: []Account{}}, got); diff != "" {
		t.Errorf("List mismatch (-want +got):\n%s", diff)
	}
}

// accountPages serves account/list from a fixed list of page sizes: page i
// holds sizes[i] accounts named "acc<offset+j>". It records every request
// (offset, limit) and answers failAt (a page index) with errcode 95017.
type accountPages struct {
	t      *testing.T
	sizes  []int
	failAt int // -1: never

	mu   sync.Mutex
	seen [][2]int
}

func (p *accountPages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	testMethod(p.t, r, "POST")
	var req ListAccountsRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		p.t.Errorf("decode account/list body: %v", err)
	}
	p.mu.Lock()
	page := len(p.seen)
	p.seen = append(p.seen, [2]int{req.Offset, req.Limit})
	p.mu.Unlock()
	if page == p.failAt {
		writeJSON(w, `{"errcode":95017,"errmsg":"api is forbidden, hint: [x]"}`)
		return
	}
	if page >= len(p.sizes) {
		p.t.Errorf("account/list page %d requested, only %d exist", page, len(p.sizes))
		writeJSON(w, `{"errcode":0,"errmsg":"ok","account_list":[]}`)
		return
	}
	var list []Account
	for j := range p.sizes[page] {
		n := strconv.Itoa(req.Offset + j)
		list = append(list, Account{OpenKfID: "wk" + n, Name: "acc" + n})
	}
	b, _ := json.Marshal(map[string]any{"errcode": 0, "errmsg": "ok", "account_list": list})
	writeJSON(w, string(b))
}

func (p *accountPages) requests() [][2]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][2]int(nil), p.seen...)
}

func TestAccounts_All(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	pages := &accountPages{t: t, sizes: []int{100, 100, 37}, failAt: -1}
	mux.Handle("/cgi-bin/kf/account/list", pages)

	var got []string
	for a, err := range c.Accounts.All(t.Context(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.OpenKfID)
	}
	if len(got) != 237 {
		t.Fatalf("got %d accounts, want 237", len(got))
	}
	for i, id := range got {
		if want := "wk" + strconv.Itoa(i); id != want {
			t.Fatalf("account %d = %q, want %q", i, id, want)
		}
	}
	if diff := cmp.Diff([][2]int{{0, 100}, {100, 100}, {200, 100}}, pages.requests()); diff != "" {
		t.Errorf("requests (offset, limit) mismatch (-want +got):\n%s", diff)
	}
}

func TestAccounts_AllExactMultiple(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	// A full last page needs one more (empty) page to know the end.
	pages := &accountPages{t: t, sizes: []int{2, 2, 0}, failAt: -1}
	mux.Handle("/cgi-bin/kf/account/list", pages)
	n := 0
	for _, err := range c.Accounts.All(t.Context(), 2) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 4 {
		t.Errorf("got %d accounts, want 4", n)
	}
	if diff := cmp.Diff([][2]int{{0, 2}, {2, 2}, {4, 2}}, pages.requests()); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
}

func TestAccounts_AllErrorMidway(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	pages := &accountPages{t: t, sizes: []int{100, 100, 37}, failAt: 1}
	mux.Handle("/cgi-bin/kf/account/list", pages)

	var n, errs int
	var last error
	for _, err := range c.Accounts.All(t.Context(), 100) {
		if err != nil {
			errs++
			last = err
			continue // the iterator must stop by itself
		}
		if errs > 0 {
			t.Fatal("account yielded after the error")
		}
		n++
	}
	if n != 100 || errs != 1 {
		t.Errorf("got %d accounts and %d errors, want 100 and 1", n, errs)
	}
	if !errors.Is(last, ErrCodeAPISwitchOff) {
		t.Errorf("err = %v, want ErrCodeAPISwitchOff", last)
	}
	if got := len(pages.requests()); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
}

func TestAccounts_AllBreak(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	pages := &accountPages{t: t, sizes: []int{100, 100, 37}, failAt: -1}
	mux.Handle("/cgi-bin/kf/account/list", pages)
	n := 0
	for _, err := range c.Accounts.All(t.Context(), 100) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 5 {
			break
		}
	}
	if got := len(pages.requests()); got != 1 {
		t.Errorf("%d requests after breaking in page 1, want 1", got)
	}
}

func TestAccounts_AllInvalidPageSize(t *testing.T) {
	t.Parallel()
	for _, size := range []int{-1, 101} {
		mux, c := setup(t)
		testNoRequest(t, mux, "/cgi-bin/kf/account/list")
		var errs []error
		for _, err := range c.Accounts.All(t.Context(), size) {
			errs = append(errs, err)
		}
		if len(errs) != 1 {
			t.Fatalf("pageSize %d: %d values yielded, want 1 error", size, len(errs))
		}
		wantInvalidField(t, errs[0], "limit")
	}
}

func TestAccounts_ContactWay(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/add_contact_way", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"open_kfid":"OPEN_KFID","scene":"12345"}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","url":"https://work.weixin.qq.com/kf/kfcbf8f8d07ac7215f?enc_scene=ENCGFSDF567DF"}`)
	})
	got, err := c.Accounts.ContactWay(t.Context(), &ContactWayRequest{OpenKfID: "OPEN_KFID", Scene: "12345"})
	if err != nil {
		t.Fatal(err)
	}
	want := &ContactWayResponse{URL: "https://work.weixin.qq.com/kf/kfcbf8f8d07ac7215f?enc_scene=ENCGFSDF567DF"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ContactWay mismatch (-want +got):\n%s", diff)
	}
}

func TestAccounts_ContactWayNoScene(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/add_contact_way", func(w http.ResponseWriter, r *http.Request) {
		testJSONBody(t, r, `{"open_kfid":"OPEN_KFID"}`)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","url":"https://work.weixin.qq.com/kf/kfcbf8f8d07ac7215f"}`)
	})
	if _, err := c.Accounts.ContactWay(t.Context(), &ContactWayRequest{OpenKfID: "OPEN_KFID"}); err != nil {
		t.Fatal(err)
	}
}

func TestAppendSceneParam(t *testing.T) {
	t.Parallel()
	const link = "https://work.weixin.qq.com/kf/kfcbf8f8d07ac7215f?enc_scene=ENCGFSDF567DF"
	ok := []struct {
		param, want string
	}{
		{"a=1", link + "&scene_param=a%3D1"},
		{"订单 42", link + "&scene_param=%E8%AE%A2%E5%8D%95+42"},
		{strings.Repeat("x", 128), link + "&scene_param=" + strings.Repeat("x", 128)},
	}
	for _, tt := range ok {
		got, err := AppendSceneParam(link, tt.param)
		if err != nil {
			t.Errorf("AppendSceneParam(%q): %v", tt.param, err)
			continue
		}
		if got != tt.want {
			t.Errorf("AppendSceneParam(%q) = %q, want %q", tt.param, got, tt.want)
		}
	}
	bad := []struct {
		name, url, param, field string
	}{
		{"empty param", link, "", "scene_param"},
		{"too long", link, strings.Repeat("x", 129), "scene_param"},
		{"too long once encoded", link, strings.Repeat("=", 43), "scene_param"}, // 43*3 = 129 bytes
		{"no scene", "https://work.weixin.qq.com/kf/kfcbf8f8d07ac7215f", "a", "url"},
		{"historic encScene", "https://work.weixin.qq.com/kf/kfc?encScene=ENC", "a", "url"},
		{"already has one", link + "&scene_param=b", "a", "scene_param"},
		{"relative", "/kf/kfc?enc_scene=E", "a", "url"},
		{"not a URL", "::", "a", "url"},
		{"fragment", link + "#top", "a", "url"},
	}
	for _, tt := range bad {
		_, err := AppendSceneParam(tt.url, tt.param)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		wantInvalidField(t, err, tt.field)
	}
}

func TestAccounts_ConvertOpenKfIDs(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/idconvert/open_kfid", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		testQuery(t, r, url.Values{})
		testJSONBody(t, r, `{"open_kfid_list":["wkAJ2GCAAASSm4","wkAJ2GCAAAZSfh","bad"]}`)
		writeJSON(w, `{
			"errcode": 0, "errmsg": "ok",
			"items": [
				{"open_kfid": "wkAJ2GCAAASSm4", "new_open_kfid": "wkNEW1"},
				{"open_kfid": "wkAJ2GCAAAZSfh", "new_open_kfid": "wkAJ2GCAAAZSfh"}
			],
			"invalid_open_kfid_list": ["bad"]
		}`)
	})
	got, err := c.Accounts.ConvertOpenKfIDs(t.Context(), []string{"wkAJ2GCAAASSm4", "wkAJ2GCAAAZSfh", "bad"})
	if err != nil {
		t.Fatal(err)
	}
	want := &ConvertOpenKfIDsResponse{
		Items: []ConvertedOpenKfID{
			{OpenKfID: "wkAJ2GCAAASSm4", NewOpenKfID: "wkNEW1"},
			{OpenKfID: "wkAJ2GCAAAZSfh", NewOpenKfID: "wkAJ2GCAAAZSfh"},
		},
		InvalidOpenKfIDs: []string{"bad"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ConvertOpenKfIDs mismatch (-want +got):\n%s", diff)
	}
}

func TestAccounts_Validation(t *testing.T) {
	t.Parallel()
	long64 := strings.Repeat("k", 65)
	tests := []struct {
		name  string
		path  string
		call  func(*Client) error
		field string
	}{
		{"add nil", "/cgi-bin/kf/account/add", func(c *Client) error { _, err := c.Accounts.Add(t.Context(), nil); return err }, "request"},
		{"add no name", "/cgi-bin/kf/account/add", func(c *Client) error {
			_, err := c.Accounts.Add(t.Context(), &AddAccountRequest{MediaID: "m"})
			return err
		}, "name"},
		{"add name 17 chars", "/cgi-bin/kf/account/add", func(c *Client) error {
			_, err := c.Accounts.Add(t.Context(), &AddAccountRequest{Name: strings.Repeat("客", 17), MediaID: "m"})
			return err
		}, "name"},
		{"add name invalid UTF-8", "/cgi-bin/kf/account/add", func(c *Client) error {
			_, err := c.Accounts.Add(t.Context(), &AddAccountRequest{Name: "\xff", MediaID: "m"})
			return err
		}, "name"},
		{"add no media", "/cgi-bin/kf/account/add", func(c *Client) error {
			_, err := c.Accounts.Add(t.Context(), &AddAccountRequest{Name: "n"})
			return err
		}, "media_id"},
		{"add media 129 bytes", "/cgi-bin/kf/account/add", func(c *Client) error {
			_, err := c.Accounts.Add(t.Context(), &AddAccountRequest{Name: "n", MediaID: strings.Repeat("m", 129)})
			return err
		}, "media_id"},
		{"del nil", "/cgi-bin/kf/account/del", func(c *Client) error { return c.Accounts.Delete(t.Context(), nil) }, "request"},
		{"del no id", "/cgi-bin/kf/account/del", func(c *Client) error { return c.Accounts.Delete(t.Context(), &DeleteAccountRequest{}) }, "open_kfid"},
		{"del id 65 bytes", "/cgi-bin/kf/account/del", func(c *Client) error {
			return c.Accounts.Delete(t.Context(), &DeleteAccountRequest{OpenKfID: long64})
		}, "open_kfid"},
		{"update nil", "/cgi-bin/kf/account/update", func(c *Client) error { return c.Accounts.Update(t.Context(), nil) }, "request"},
		{"update no id", "/cgi-bin/kf/account/update", func(c *Client) error {
			return c.Accounts.Update(t.Context(), &UpdateAccountRequest{Name: "n"})
		}, "open_kfid"},
		{"update id 65 bytes", "/cgi-bin/kf/account/update", func(c *Client) error {
			return c.Accounts.Update(t.Context(), &UpdateAccountRequest{OpenKfID: long64, Name: "n"})
		}, "open_kfid"},
		{"update nothing", "/cgi-bin/kf/account/update", func(c *Client) error {
			return c.Accounts.Update(t.Context(), &UpdateAccountRequest{OpenKfID: "k"})
		}, "name"},
		{"update name 17 chars", "/cgi-bin/kf/account/update", func(c *Client) error {
			return c.Accounts.Update(t.Context(), &UpdateAccountRequest{OpenKfID: "k", Name: strings.Repeat("a", 17)})
		}, "name"},
		{"update media 129 bytes", "/cgi-bin/kf/account/update", func(c *Client) error {
			return c.Accounts.Update(t.Context(), &UpdateAccountRequest{OpenKfID: "k", MediaID: strings.Repeat("m", 129)})
		}, "media_id"},
		{"list limit 101", "/cgi-bin/kf/account/list", func(c *Client) error {
			_, err := c.Accounts.List(t.Context(), &ListAccountsRequest{Limit: 101})
			return err
		}, "limit"},
		{"list limit -1", "/cgi-bin/kf/account/list", func(c *Client) error {
			_, err := c.Accounts.List(t.Context(), &ListAccountsRequest{Limit: -1})
			return err
		}, "limit"},
		{"list offset -1", "/cgi-bin/kf/account/list", func(c *Client) error {
			_, err := c.Accounts.List(t.Context(), &ListAccountsRequest{Offset: -1})
			return err
		}, "offset"},
		{"contact nil", "/cgi-bin/kf/add_contact_way", func(c *Client) error {
			_, err := c.Accounts.ContactWay(t.Context(), nil)
			return err
		}, "request"},
		{"contact no id", "/cgi-bin/kf/add_contact_way", func(c *Client) error {
			_, err := c.Accounts.ContactWay(t.Context(), &ContactWayRequest{Scene: "s"})
			return err
		}, "open_kfid"},
		{"contact scene 33 bytes", "/cgi-bin/kf/add_contact_way", func(c *Client) error {
			_, err := c.Accounts.ContactWay(t.Context(), &ContactWayRequest{OpenKfID: "k", Scene: strings.Repeat("s", 33)})
			return err
		}, "scene"},
		{"contact scene bad chars", "/cgi-bin/kf/add_contact_way", func(c *Client) error {
			_, err := c.Accounts.ContactWay(t.Context(), &ContactWayRequest{OpenKfID: "k", Scene: "a b"})
			return err
		}, "scene"},
		{"convert empty", "/cgi-bin/idconvert/open_kfid", func(c *Client) error {
			_, err := c.Accounts.ConvertOpenKfIDs(t.Context(), nil)
			return err
		}, "open_kfid_list"},
		{"convert empty id", "/cgi-bin/idconvert/open_kfid", func(c *Client) error {
			_, err := c.Accounts.ConvertOpenKfIDs(t.Context(), []string{"a", ""})
			return err
		}, "open_kfid_list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c := setup(t)
			testNoRequest(t, mux, tt.path)
			wantInvalidField(t, tt.call(c), tt.field)
		})
	}
}

// TestAccounts_Limits checks the values at the limits are accepted.
func TestAccounts_Limits(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc("/cgi-bin/kf/account/add", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		writeJSON(w, `{"errcode":0,"errmsg":"ok","open_kfid":"wk"}`)
	})
	mux.HandleFunc("/cgi-bin/kf/add_contact_way", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, `{"errcode":0,"errmsg":"ok","url":"u"}`)
	})
	if _, err := c.Accounts.Add(t.Context(), &AddAccountRequest{Name: strings.Repeat("客", 16), MediaID: strings.Repeat("m", 128)}); err != nil {
		t.Errorf("Add at the limits: %v", err)
	}
	if _, err := c.Accounts.ContactWay(t.Context(), &ContactWayRequest{OpenKfID: strings.Repeat("k", 64), Scene: strings.Repeat("aZ9_-", 6) + "ab"}); err != nil {
		t.Errorf("ContactWay at the limits: %v", err)
	}
}

func TestAccounts_APIError(t *testing.T) {
	t.Parallel()
	t.Run("add", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/account/add", "kf/account/add", ErrCodeInvalidAccountName, func() error {
			_, err := c.Accounts.Add(t.Context(), &AddAccountRequest{Name: "n", MediaID: "m"})
			if !errors.Is(err, ErrCodeInvalidAccountName) {
				t.Errorf("errors.Is(%v, ErrCodeInvalidAccountName) = false", err)
			}
			return err
		})
	})
	t.Run("del", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/account/del", "kf/account/del", ErrCodeOpenKfIDNotFound, func() error {
			return c.Accounts.Delete(t.Context(), &DeleteAccountRequest{OpenKfID: "k"})
		})
	})
	t.Run("update", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/account/update", "kf/account/update", ErrCodeInvalidMediaID, func() error {
			return c.Accounts.Update(t.Context(), &UpdateAccountRequest{OpenKfID: "k", MediaID: "m"})
		})
	})
	t.Run("list", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/account/list", "kf/account/list", ErrCodeAPIForbidden, func() error {
			_, err := c.Accounts.List(t.Context(), nil)
			return err
		})
	})
	t.Run("contact way", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/kf/add_contact_way", "kf/add_contact_way", ErrCodeInvalidOpenKfID, func() error {
			_, err := c.Accounts.ContactWay(t.Context(), &ContactWayRequest{OpenKfID: "k"})
			return err
		})
	})
	t.Run("convert", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		testAPIError(t, mux, "/cgi-bin/idconvert/open_kfid", "kf/idconvert/open_kfid", ErrCodeParameterEmpty, func() error {
			_, err := c.Accounts.ConvertOpenKfIDs(t.Context(), []string{"k"})
			return err
		})
	})
}

// A server that ignores offset makes All fail instead of looping forever.
func TestAccountsAllStopsWhenOffsetIgnored(t *testing.T) {
	t.Parallel()
	mux, client := setup(t)
	calls := 0
	mux.HandleFunc("/cgi-bin/kf/account/list", func(w http.ResponseWriter, r *http.Request) {
		calls++
		writeJSON(w, `{"errcode":0,"errmsg":"ok","account_list":[{"open_kfid":"wkA","name":"A"},{"open_kfid":"wkB","name":"B"}]}`)
	})
	var got []string
	var err error
	for a, e := range client.Accounts.All(t.Context(), 2) {
		if e != nil {
			err = e
			break
		}
		got = append(got, a.OpenKfID)
	}
	if !errors.Is(err, ErrRepeatedCursor) {
		t.Fatalf("err = %v, want ErrRepeatedCursor", err)
	}
	if calls != 2 || len(got) != 2 {
		t.Errorf("calls = %d, accounts %v; want 2 calls and one page of accounts", calls, got)
	}
}
