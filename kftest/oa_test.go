package kftest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wxkf/kf/kftest"
	"github.com/wxkf/kf/mp"
)

// Tests of the Official Account mode, through the real mp.Client.

var oaT0 = time.Date(2024, 6, 3, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

// oaSetup starts an Official Account emulator on a frozen clock and
// returns it with a client sharing that clock.
func oaSetup(t *testing.T, opts ...kftest.OAOption) (*kftest.OAServer, *mp.Client) {
	t.Helper()
	all := append([]kftest.OAOption{kftest.WithOAClock(kftest.NewFrozenClock(oaT0)), kftest.WithOARandSeed(7)}, opts...)
	s := kftest.NewOAServer(t, all...)
	return s, s.Client(mp.WithClock(s.Clock()))
}

// oaWantCode fails unless err is an *mp.APIError with code.
func oaWantCode(t *testing.T, err error, code mp.ErrCode) {
	t.Helper()
	var ae *mp.APIError
	if !errors.As(err, &ae) || ae.Code != code || !errors.Is(err, code) {
		t.Fatalf("err = %v, want errcode %d (%v)", err, int(code), code)
	}
	if !strings.Contains(ae.Msg, " rid: ") {
		t.Errorf("errmsg %q has no rid", ae.Msg)
	}
}

// oaRaw calls the emulator without the client's validation, with the
// client's current token (so that the client's token stays valid). It
// returns the errcode and the decoded reply.
func oaRaw(t *testing.T, s *kftest.OAServer, c *mp.Client, method, path, query, body string) (int, map[string]any) {
	t.Helper()
	tok, err := c.Tokens().Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	u := s.URL() + path + "?access_token=" + url.QueryEscape(tok)
	if query != "" {
		u += "&" + query
	}
	return oaDo(t, method, u, body)
}

func oaDo(t *testing.T, method, u, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	code, _ := m["errcode"].(float64)
	return int(code), m
}

func oaJPEG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// oaSeed has two bound workers (alice online, bob offline), one account
// without a worker, and two users.
func oaSeed() kftest.OASeed {
	return kftest.OASeed{
		Accounts: []kftest.OASeedAccount{
			{KfAccount: "alice", Nickname: "Alice", Worker: "alicewx01", Online: true},
			{KfAccount: "bob", Nickname: "Bob", Worker: "bobwx0001"},
			{KfAccount: "carol", Nickname: "Carol"},
		},
		Users: []string{"oUser1", "oUser2"},
	}
}

// ---------------------------------------------------------------------------
// Tokens

func TestOATokenEndpoint(t *testing.T) {
	t.Parallel()
	s, _ := oaSetup(t)
	tok := func(q string) (int, map[string]any) {
		return oaDo(t, http.MethodGet, s.URL()+"/cgi-bin/token?"+q, "")
	}
	good := "grant_type=client_credential&appid=" + s.AppID() + "&secret=" + s.Secret()
	for _, tc := range []struct {
		q    string
		code int
	}{
		{"grant_type=password&appid=" + s.AppID() + "&secret=" + s.Secret(), 40002},
		{"grant_type=client_credential&secret=" + s.Secret(), 41002},
		{"grant_type=client_credential&appid=wxother&secret=" + s.Secret(), 40013},
		{"grant_type=client_credential&appid=" + s.AppID(), 41004},
		{"grant_type=client_credential&appid=" + s.AppID() + "&secret=wrong", 40125},
	} {
		if code, _ := tok(tc.q); code != tc.code {
			t.Errorf("token?%s: errcode %d, want %d", tc.q, code, tc.code)
		}
	}
	code, r1 := tok(good)
	if code != 0 || r1["expires_in"] != float64(7200) || r1["access_token"] == "" {
		t.Fatalf("token reply %v", r1)
	}
	if _, ok := r1["errcode"]; ok {
		t.Errorf("token reply carries errcode: %v", r1)
	}
	call := func(tok string) int {
		code, _ := oaDo(t, http.MethodGet, s.URL()+"/cgi-bin/customservice/getkflist?access_token="+url.QueryEscape(tok), "")
		return code
	}
	t1 := r1["access_token"].(string)
	if c := call(t1); c != 0 {
		t.Fatalf("fresh token: errcode %d", c)
	}
	_, r2 := tok(good) // a new fetch invalidates t1
	t2 := r2["access_token"].(string)
	if c := call(t1); c != 40001 {
		t.Errorf("superseded token: errcode %d, want 40001", c)
	}
	if c := call(t2); c != 0 {
		t.Errorf("new token: errcode %d", c)
	}
	if c := call(""); c != 41001 {
		t.Errorf("no token: errcode %d, want 41001", c)
	}
	if c := call("garbage"); c != 40014 {
		t.Errorf("malformed token: errcode %d, want 40014", c)
	}
	s.Advance(7200 * time.Second)
	if c := call(t2); c != 42001 {
		t.Errorf("expired token: errcode %d, want 42001", c)
	}
	// POST is refused with 43001.
	if code, _ := oaDo(t, http.MethodPost, s.URL()+"/cgi-bin/token?"+good, "{}"); code != 43001 {
		t.Errorf("POST token: errcode %d, want 43001", code)
	}
	want := kftest.OATokenStats{Fetches: 2, Stale: 1, Malformed: 1, Expired: 1, Missing: 1, BadSecrets: 2}
	if diff := cmp.Diff(want, s.TokenStats()); diff != "" {
		t.Errorf("TokenStats (-want +got):\n%s", diff)
	}
}

func TestOATokenRotationAndGrace(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, c := oaSetup(t)
	if _, err := c.Accounts.List(ctx); err != nil {
		t.Fatal(err)
	}
	// Someone else fetches a token: the client meets 40001 once, refreshes
	// and replays.
	s.RotateToken()
	if _, err := c.Accounts.List(ctx); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if st := s.TokenStats(); st.Fetches != 3 || st.Stale != 1 {
		t.Errorf("after rotation: %+v, want 3 fetches (client, rotation, client) and 1 stale use", st)
	}
	// Near expiry the client refreshes by itself: no 42001.
	s.Advance(7200*time.Second - time.Minute)
	if _, err := c.Accounts.List(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.TokenStats(); st.Expired != 0 || st.Fetches != 4 {
		t.Errorf("near expiry: %+v", st)
	}

	// With a grace period the superseded token still works for a while.
	g, gc := oaSetup(t, kftest.WithOATokenGrace(5*time.Minute))
	if _, err := gc.Accounts.List(ctx); err != nil {
		t.Fatal(err)
	}
	g.RotateToken()
	if _, err := gc.Accounts.List(ctx); err != nil {
		t.Fatal(err)
	}
	if st := g.TokenStats(); st.GraceUses != 1 || st.Stale != 0 {
		t.Errorf("grace: %+v", st)
	}
	g.Advance(5 * time.Minute)
	if _, err := gc.Accounts.List(ctx); err != nil {
		t.Fatal(err)
	}
	if st := g.TokenStats(); st.Stale != 1 || st.Fetches != 3 {
		t.Errorf("after grace: %+v", st)
	}
}

// oaLockingCache is an in-memory TokenCache that also elects one refresher
// (mp.TokenLocker), standing for a shared Redis.
type oaLockingCache struct {
	mu     sync.Mutex
	m      map[string]mp.Token
	held   map[string]bool
	locks  atomic.Int64
	denied atomic.Int64
}

func (c *oaLockingCache) Get(_ context.Context, key string) (mp.Token, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tok, ok := c.m[key]
	return tok, ok, nil
}

func (c *oaLockingCache) Set(_ context.Context, key string, tok mp.Token) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]mp.Token{}
	}
	c.m[key] = tok
	return nil
}

func (c *oaLockingCache) Delete(_ context.Context, key, value string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tok, ok := c.m[key]; ok && tok.Value == value {
		delete(c.m, key)
	}
	return nil
}

func (c *oaLockingCache) TryLock(_ context.Context, key string, _ time.Duration) (func(context.Context) error, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held == nil {
		c.held = map[string]bool{}
	}
	if c.held[key] {
		c.denied.Add(1)
		return nil, false, nil
	}
	c.held[key] = true
	c.locks.Add(1)
	return func(context.Context) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.held, key)
		return nil
	}, true, nil
}

var _ mp.TokenLocker = (*oaLockingCache)(nil)

// Two instances (two clients) sharing one locking cache fetch one token
// between them and never use an invalidated one, also across a refresh.
func TestOASharedToken(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := oaSetup(t, kftest.WithOASeed(oaSeed()))
	cache := &oaLockingCache{}
	c1 := s.Client(mp.WithClock(s.Clock()), mp.WithTokenCache(cache))
	c2 := s.Client(mp.WithClock(s.Clock()), mp.WithTokenCache(cache))
	burst := func() {
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			c := c1
			if i%2 == 1 {
				c = c2
			}
			wg.Go(func() {
				if _, err := c.Sessions.Get(ctx, "oUser1"); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	burst()
	if st := s.TokenStats(); st.Fetches != 1 || st.Stale != 0 {
		t.Fatalf("first burst: %+v, want exactly 1 fetch and no 40001", st)
	}
	// Close to expiry both instances want a new token; the lock lets one
	// fetch it and the other picks it up from the cache.
	s.Advance(7200*time.Second - 2*time.Minute)
	burst()
	if st := s.TokenStats(); st.Fetches != 2 || st.Stale != 0 || st.Expired != 0 {
		t.Fatalf("after refresh: %+v, want 2 fetches and no 40001/42001", st)
	}
	if n := s.Calls()["/cgi-bin/token"]; n != 2 {
		t.Errorf("token endpoint called %d times, want 2", n)
	}
	if cache.locks.Load() < 1 {
		t.Errorf("the lock was never taken")
	}

	// The control: two instances with their own caches invalidate each
	// other's tokens, which the emulator answers with 40001.
	s2, _ := oaSetup(t, kftest.WithOASeed(oaSeed()))
	a := s2.Client(mp.WithClock(s2.Clock()))
	b := s2.Client(mp.WithClock(s2.Clock()))
	for _, c := range []*mp.Client{a, b, a} {
		if _, err := c.Sessions.Get(ctx, "oUser1"); err != nil {
			t.Fatal(err) // each recovers by refreshing, at the other's expense
		}
	}
	if st := s2.TokenStats(); st.Stale != 1 || st.Fetches != 3 {
		t.Errorf("unshared caches: %+v, want 1 stale use and 3 fetches", st)
	}
}

// ---------------------------------------------------------------------------
// Accounts

func TestOAAccountAddUpdateDelete(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, c := oaSetup(t)
	name := s.KfAccount("sam_1")
	if err := c.Accounts.Add(ctx, &mp.AddAccountRequest{KfAccount: name, Nickname: "客服小山"}); err != nil {
		t.Fatal(err)
	}
	oaWantCode(t, c.Accounts.Add(ctx, &mp.AddAccountRequest{KfAccount: name, Nickname: "again"}), mp.ErrCodeKfAccountExists)
	// Another WeChat ID after @ is not this account's.
	oaWantCode(t, c.Accounts.Add(ctx, &mp.AddAccountRequest{KfAccount: "sam@someoneelse", Nickname: "x"}), mp.ErrCodeInvalidKfAccount)

	// Rules the client checks too, sent raw.
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"kf_account":"toolongprefix@` + s.WeChatID() + `","nickname":"n"}`, 65404},
		{`{"kf_account":"bad-char@` + s.WeChatID() + `","nickname":"n"}`, 65404},
		{`{"kf_account":"noat","nickname":"n"}`, 65404},
		{`{"kf_account":"@` + s.WeChatID() + `","nickname":"n"}`, 65404},
		{`{"kf_account":"ok1@` + s.WeChatID() + `","nickname":""}`, 65403},
		{`{"kf_account":"ok2@` + s.WeChatID() + `","nickname":"12345678901234567"}`, 65403},
		{`{"kf_account":`, 47001},
		{``, 44002},
	} {
		if code, _ := oaRaw(t, s, c, http.MethodPost, "/customservice/kfaccount/add", "", tc.body); code != tc.code {
			t.Errorf("add %s: errcode %d, want %d", tc.body, code, tc.code)
		}
	}
	if code, _ := oaRaw(t, s, c, http.MethodGet, "/customservice/kfaccount/add", "", ""); code != 43002 {
		t.Errorf("GET add: errcode %d, want 43002", code)
	}
	// 16 characters are fine.
	if err := c.Accounts.Add(ctx, &mp.AddAccountRequest{KfAccount: s.KfAccount("ok3"), Nickname: "一二三四五六七八九十一二三四五六"}); err != nil {
		t.Fatal(err)
	}

	if err := c.Accounts.Update(ctx, &mp.UpdateAccountRequest{KfAccount: name, Nickname: "Sam"}); err != nil {
		t.Fatal(err)
	}
	oaWantCode(t, c.Accounts.Update(ctx, &mp.UpdateAccountRequest{KfAccount: s.KfAccount("ghost"), Nickname: "x"}), mp.ErrCodeInvalidKfAccount)
	if code, _ := oaRaw(t, s, c, http.MethodPost, "/customservice/kfaccount/update", "", `{"kf_account":"`+name+`","nickname":""}`); code != 65403 {
		t.Errorf("update empty nickname: %d", code)
	}
	list, err := c.Accounts.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []mp.Account{
		{KfAccount: name, KfNick: "Sam", KfID: "1001"},
		{KfAccount: s.KfAccount("ok3"), KfNick: "一二三四五六七八九十一二三四五六", KfID: "1002"},
	}
	if diff := cmp.Diff(want, list.Accounts); diff != "" {
		t.Errorf("getkflist (-want +got):\n%s", diff)
	}

	if err := c.Accounts.Delete(ctx, &mp.DeleteAccountRequest{KfAccount: name}); err != nil {
		t.Fatal(err)
	}
	oaWantCode(t, c.Accounts.Delete(ctx, &mp.DeleteAccountRequest{KfAccount: name}), mp.ErrCodeInvalidKfAccount)
	if err := c.Accounts.DeleteLegacy(ctx, s.KfAccount("ok3")); err != nil { // GET ?kf_account=
		t.Fatal(err)
	}
	oaWantCode(t, c.Accounts.DeleteLegacy(ctx, s.KfAccount("ok3")), mp.ErrCodeInvalidKfAccount)
	if list, _ := c.Accounts.List(ctx); len(list.Accounts) != 0 {
		t.Errorf("after deletes: %+v", list.Accounts)
	}
}

func TestOAAccountLimit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	seed := kftest.OASeed{}
	for i := range 99 {
		seed.Accounts = append(seed.Accounts, kftest.OASeedAccount{KfAccount: fmt.Sprintf("w%d", i)})
	}
	s, c := oaSetup(t, kftest.WithOASeed(seed))
	if err := c.Accounts.Add(ctx, &mp.AddAccountRequest{KfAccount: s.KfAccount("last"), Nickname: "100th"}); err != nil {
		t.Fatal(err)
	}
	oaWantCode(t, c.Accounts.Add(ctx, &mp.AddAccountRequest{KfAccount: s.KfAccount("more"), Nickname: "101st"}), mp.ErrCodeKfAccountLimit)
	if err := c.Accounts.Delete(ctx, &mp.DeleteAccountRequest{KfAccount: s.KfAccount("w0")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Accounts.Add(ctx, &mp.AddAccountRequest{KfAccount: s.KfAccount("more"), Nickname: "room again"}); err != nil {
		t.Fatal(err)
	}

	s2, c2 := oaSetup(t, kftest.WithOAAccountLimit(1))
	if err := c2.Accounts.Add(ctx, &mp.AddAccountRequest{KfAccount: s2.KfAccount("one"), Nickname: "1"}); err != nil {
		t.Fatal(err)
	}
	oaWantCode(t, c2.Accounts.Add(ctx, &mp.AddAccountRequest{KfAccount: s2.KfAccount("two"), Nickname: "2"}), mp.ErrCodeKfAccountLimit)
}

func TestOACustomerServiceDisabled(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, c := oaSetup(t, kftest.WithOACustomerServiceDisabled())
	oaWantCode(t, c.Accounts.Add(ctx, &mp.AddAccountRequest{KfAccount: s.KfAccount("a"), Nickname: "a"}), mp.ErrCodeKfNotEnabled)
	_, err := c.Sessions.ListWaiting(ctx)
	oaWantCode(t, err, mp.ErrCodeKfNotEnabled)
	_, err = c.Accounts.List(ctx)
	oaWantCode(t, err, mp.ErrCodeKfNotEnabled)
}

func TestOAUploadHeadImage(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, c := oaSetup(t, kftest.WithOASeed(oaSeed()))
	alice := s.KfAccount("alice")
	img := oaJPEG(t)
	if err := c.Accounts.UploadHeadImage(ctx, &mp.UploadHeadImageRequest{KfAccount: alice, Body: bytes.NewReader(img)}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.HeadImage(alice), img) {
		t.Errorf("stored head image differs")
	}
	list, err := c.Accounts.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u := list.Accounts[0].KfHeadImgURL; !strings.HasPrefix(u, "http://mmbiz.qpic.cn/") {
		t.Errorf("kf_headimgurl = %q", u)
	}
	png := []byte("\x89PNG\r\n\x1a\n0000000000000000")
	oaWantCode(t, c.Accounts.UploadHeadImage(ctx, &mp.UploadHeadImageRequest{KfAccount: alice, Body: bytes.NewReader(png)}), 40005)
	big := append(append([]byte(nil), img...), make([]byte, 2<<20)...)
	oaWantCode(t, c.Accounts.UploadHeadImage(ctx, &mp.UploadHeadImageRequest{KfAccount: alice, Body: bytes.NewReader(big)}), 40009)
	oaWantCode(t, c.Accounts.UploadHeadImage(ctx, &mp.UploadHeadImageRequest{KfAccount: s.KfAccount("ghost"), Body: bytes.NewReader(img)}), mp.ErrCodeInvalidKfAccount)
}

func TestOAInviteWorker(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	seed := oaSeed()
	seed.Accounts = append(seed.Accounts, kftest.OASeedAccount{KfAccount: "dave"}, kftest.OASeedAccount{KfAccount: "erin"})
	seed.ExternalBindings = map[string]int{"busywx001": 5, "fourwx001": 4}
	s, c := oaSetup(t, kftest.WithOASeed(seed))
	carol, dave, erin := s.KfAccount("carol"), s.KfAccount("dave"), s.KfAccount("erin")
	invite := func(acc, wx string) error {
		return c.Accounts.InviteWorker(ctx, &mp.InviteWorkerRequest{KfAccount: acc, InviteWx: wx})
	}
	oaWantCode(t, invite(carol, "1abcdefg"), mp.ErrCodeInvalidWeChatID)
	oaWantCode(t, invite(carol, "abc"), mp.ErrCodeInvalidWeChatID)
	oaWantCode(t, invite(s.KfAccount("ghost"), "carolwx01"), mp.ErrCodeInvalidKfAccount)
	oaWantCode(t, invite(s.KfAccount("alice"), "carolwx01"), mp.ErrCodeAccountAlreadyBound)
	oaWantCode(t, invite(carol, "alicewx01"), mp.ErrCodeAlreadyWorker)
	oaWantCode(t, invite(carol, "busywx001"), mp.ErrCodeWorkerBoundTooMany)

	if err := invite(carol, "carolwx01"); err != nil {
		t.Fatal(err)
	}
	oaWantCode(t, invite(carol, "otherwx01"), mp.ErrCodeInvitationPending)
	oaWantCode(t, invite(dave, "carolwx01"), mp.ErrCodeAlreadyInvited)
	if err := invite(dave, "fourwx001"); err != nil { // 4 elsewhere: still allowed
		t.Fatal(err)
	}

	accountOf := func(name string) mp.Account {
		t.Helper()
		list, err := c.Accounts.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range list.Accounts {
			if a.KfAccount == name {
				return a
			}
		}
		t.Fatalf("%s not listed", name)
		return mp.Account{}
	}
	got := accountOf(carol)
	if got.InviteWx != "carolwx01" || got.InviteStatus != mp.InviteStatusWaiting ||
		got.InviteExpireTime != oaT0.Add(7*24*time.Hour).Unix() || got.KfWx != "" {
		t.Errorf("invited account: %+v", got)
	}

	// The invitee accepts: the account is bound and can go online.
	if err := s.AcceptInvite(carol); err != nil {
		t.Fatal(err)
	}
	if got := accountOf(carol); got.KfWx != "carolwx01" || got.InviteWx != "" || got.InviteStatus != "" {
		t.Errorf("bound account: %+v", got)
	}
	if err := s.AcceptInvite(carol); err == nil {
		t.Error("second AcceptInvite succeeded")
	}
	oaWantCode(t, invite(erin, "carolwx01"), mp.ErrCodeAlreadyWorker)
	if err := s.SetWorkerOnline(carol, true); err != nil {
		t.Fatal(err)
	}

	// A rejected invitation can be replaced.
	if err := s.RejectInvite(dave); err != nil {
		t.Fatal(err)
	}
	if got := accountOf(dave); got.InviteStatus != mp.InviteStatusRejected {
		t.Errorf("rejected: %+v", got)
	}
	if err := invite(dave, "davewx001"); err != nil {
		t.Fatal(err)
	}
	// An invitation expires after 7 days and can then be replaced too.
	s.Advance(7 * 24 * time.Hour)
	if got := accountOf(dave); got.InviteStatus != mp.InviteStatusExpired {
		t.Errorf("expired: %+v", got)
	}
	if err := s.AcceptInvite(dave); err == nil {
		t.Error("AcceptInvite of an expired invitation succeeded")
	}
	if err := invite(dave, "davewx001"); err != nil {
		t.Fatal(err)
	}
	// Going online needs a worker.
	if err := s.SetWorkerOnline(erin, true); err == nil {
		t.Error("SetWorkerOnline without a worker succeeded")
	}
}

func TestOAOnlineList(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	seed := oaSeed()
	seed.Accounts[0].AutoAccept = 3
	s, c := oaSetup(t, kftest.WithOASeed(seed))
	alice, bob := s.KfAccount("alice"), s.KfAccount("bob")
	online := func() []mp.OnlineAccount {
		t.Helper()
		r, err := c.Accounts.ListOnline(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r.Accounts
	}
	want := []mp.OnlineAccount{{KfAccount: alice, Status: mp.OnlineStatusWeb, KfID: "1001", AutoAccept: 3}}
	if diff := cmp.Diff(want, online()); diff != "" {
		t.Errorf("online (-want +got):\n%s", diff)
	}
	if err := s.SetWorkerOnline(bob, true); err != nil {
		t.Fatal(err)
	}
	if err := c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: bob, OpenID: "oUser1"}); err != nil {
		t.Fatal(err)
	}
	want = append(want, mp.OnlineAccount{KfAccount: bob, Status: mp.OnlineStatusWeb, KfID: "1002", AcceptedCase: 1})
	if diff := cmp.Diff(want, online()); diff != "" {
		t.Errorf("online (-want +got):\n%s", diff)
	}
	if err := s.SetWorkerOnline(alice, false); err != nil {
		t.Fatal(err)
	}
	if got := online(); len(got) != 1 || got[0].KfAccount != bob {
		t.Errorf("after alice went offline: %+v", got)
	}
}

func TestOAFaultInjection(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, c := oaSetup(t, kftest.WithOASeed(oaSeed()))
	if err := s.FailNext("/customservice/kfsession/getsession", 1, kftest.Fault{Code: mp.ErrCodeSystemBusy}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sessions.Get(ctx, "oUser1"); err != nil {
		t.Fatalf("a read is retried after -1: %v", err)
	}
	if n := s.Calls()["/customservice/kfsession/getsession"]; n != 2 {
		t.Errorf("getsession called %d times, want 2", n)
	}
	if err := s.FailNext("/customservice/kfsession/create", 1, kftest.Fault{Code: mp.ErrCodeWorkerOffline}); err != nil {
		t.Fatal(err)
	}
	oaWantCode(t, c.Sessions.Create(ctx, &mp.CreateSessionRequest{KfAccount: s.KfAccount("alice"), OpenID: "oUser1"}), mp.ErrCodeWorkerOffline)
}
