package mp

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAccountsAdd(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc(pathAccountAdd, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		testQuery(t, r, nil)
		testJSONBody(t, r, `{"kf_account":"test1@gh_test","nickname":"客服一号"}`)
		writeJSON(w, ok)
	})
	if err := c.Accounts.Add(t.Context(), &AddAccountRequest{KfAccount: "test1@gh_test", Nickname: "客服一号"}); err != nil {
		t.Fatal(err)
	}
}

func TestAccountsUpdate(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc(pathAccountUpdate, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		testJSONBody(t, r, `{"kf_account":"test1@gh_test","nickname":"new"}`)
		writeJSON(w, ok)
	})
	if err := c.Accounts.Update(t.Context(), &UpdateAccountRequest{KfAccount: "test1@gh_test", Nickname: "new"}); err != nil {
		t.Fatal(err)
	}
}

func TestAccountsDelete(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	var posts, gets atomic.Int32
	mux.HandleFunc(pathAccountDel, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			posts.Add(1)
			testMethod(t, r, http.MethodPost)
			testQuery(t, r, nil)
			testJSONBody(t, r, `{"kf_account":"test1@gh_test"}`)
		default:
			gets.Add(1)
			testMethod(t, r, http.MethodGet)
			testQuery(t, r, url.Values{"kf_account": {"test1@gh_test"}})
		}
		writeJSON(w, ok)
	})
	if err := c.Accounts.Delete(t.Context(), &DeleteAccountRequest{KfAccount: "test1@gh_test"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Accounts.DeleteLegacy(t.Context(), "test1@gh_test"); err != nil {
		t.Fatal(err)
	}
	if posts.Load() != 1 || gets.Load() != 1 {
		t.Errorf("POST, GET = %d, %d; want 1, 1", posts.Load(), gets.Load())
	}
}

func TestAccountsInviteWorker(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc(pathAccountInvite, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		testJSONBody(t, r, `{"kf_account":"test1@gh_test","invite_wx":"worker_wx"}`)
		writeJSON(w, ok)
	})
	if err := c.Accounts.InviteWorker(t.Context(), &InviteWorkerRequest{KfAccount: "test1@gh_test", InviteWx: "worker_wx"}); err != nil {
		t.Fatal(err)
	}
}

func TestAccountsList(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc(pathAccountList, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		testQuery(t, r, nil)
		// kf_id as a string (doc samples) and as a number (some SDKs).
		writeJSON(w, `{"kf_list":[
			{"kf_account":"test1@gh_test","kf_nick":"ntest1","kf_id":"1001","kf_headimgurl":"http://mmbiz.qpic.cn/a/0","kf_wx":"kfwx1"},
			{"kf_account":"test2@gh_test","kf_nick":"ntest2","kf_id":1002,"kf_headimgurl":"http://mmbiz.qpic.cn/b/0",
			 "invite_wx":"kfwx2","invite_expire_time":123456789,"invite_status":"waiting"}]}`)
	})
	got, err := c.Accounts.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := &ListAccountsResponse{Accounts: []Account{
		{KfAccount: "test1@gh_test", KfNick: "ntest1", KfID: "1001", KfHeadImgURL: "http://mmbiz.qpic.cn/a/0", KfWx: "kfwx1"},
		{KfAccount: "test2@gh_test", KfNick: "ntest2", KfID: "1002", KfHeadImgURL: "http://mmbiz.qpic.cn/b/0",
			InviteWx: "kfwx2", InviteExpireTime: 123456789, InviteStatus: InviteStatusWaiting},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func TestAccountsListOnline(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	mux.HandleFunc(pathAccountOnline, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		testQuery(t, r, nil)
		writeJSON(w, `{"kf_online_list":[
			{"kf_account":"test1@gh_test","status":1,"kf_id":"1001","accepted_case":1},
			{"kf_account":"test2@gh_test","status":3,"kf_id":1002,"auto_accept":5,"accepted_case":2}]}`)
	})
	got, err := c.Accounts.ListOnline(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := &ListOnlineAccountsResponse{Accounts: []OnlineAccount{
		{KfAccount: "test1@gh_test", Status: OnlineStatusWeb, KfID: "1001", AcceptedCase: 1},
		{KfAccount: "test2@gh_test", Status: OnlineStatusBoth, KfID: "1002", AcceptedCase: 2, AutoAccept: 5},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListOnline (-want +got):\n%s", diff)
	}
}

func TestAccountDecodeBadKfID(t *testing.T) {
	t.Parallel()
	var a Account
	if err := a.UnmarshalJSON([]byte(`{"kf_id":true}`)); err == nil {
		t.Error("kf_id true decoded without error")
	}
}

// readHeadImg parses an uploadheadimg request and returns the "media"
// part's file name, content type and content.
func readHeadImg(t *testing.T, r *http.Request) (filename, ctype string, content []byte) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("Content-Type = %q, want multipart/form-data", r.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	part, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if part.FormName() != "media" {
		t.Errorf("part name = %q, want media", part.FormName())
	}
	content, err = io.ReadAll(part)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("more than one part (%v)", err)
	}
	return part.FileName(), part.Header.Get("Content-Type"), content
}

func TestAccountsUploadHeadImage(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	img := bytes.Repeat([]byte("JPEGDATA"), 64<<10) // 512 KiB
	mux.HandleFunc(pathAccountHeadImg, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		testQuery(t, r, url.Values{"kf_account": {"test1@gh_test"}})
		if r.ContentLength != -1 {
			t.Errorf("ContentLength = %d, want -1 (streamed)", r.ContentLength)
		}
		name, ctype, content := readHeadImg(t, r)
		if name != "headimg.jpg" || ctype != "image/jpeg" {
			t.Errorf("filename, type = %q, %q", name, ctype)
		}
		if !bytes.Equal(content, img) {
			t.Errorf("content: %d bytes, want %d", len(content), len(img))
		}
		writeJSON(w, ok)
	})
	// A non-seekable reader: streamed once.
	body := io.MultiReader(bytes.NewReader(img))
	if err := c.Accounts.UploadHeadImage(t.Context(), &UploadHeadImageRequest{KfAccount: "test1@gh_test", Body: body}); err != nil {
		t.Fatal(err)
	}
}

func TestAccountsUploadHeadImageRetry(t *testing.T) {
	t.Parallel()
	const content = "0123456789abcdef"
	t.Run("seekable is rewound and sent again", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		var calls atomic.Int32
		mux.HandleFunc(pathAccountHeadImg, func(w http.ResponseWriter, r *http.Request) {
			name, ctype, got := readHeadImg(t, r)
			if name != "me.png" || ctype != "image/png" {
				t.Errorf("filename, type = %q, %q", name, ctype)
			}
			if string(got) != content[4:] {
				t.Errorf("attempt %d content = %q, want %q", calls.Load()+1, got, content[4:])
			}
			if calls.Add(1) == 1 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			writeJSON(w, ok)
		})
		br := strings.NewReader(content)
		_, _ = br.Seek(4, io.SeekStart) // upload from the current offset
		err := c.Accounts.UploadHeadImage(t.Context(), &UploadHeadImageRequest{
			KfAccount: "test1@gh_test", Body: br, Filename: "me.png", ContentType: "image/png"})
		if err != nil {
			t.Fatal(err)
		}
		if calls.Load() != 2 {
			t.Errorf("attempts = %d, want 2", calls.Load())
		}
	})
	t.Run("non-seekable is sent once", func(t *testing.T) {
		t.Parallel()
		mux, c := setup(t)
		var calls atomic.Int32
		mux.HandleFunc(pathAccountHeadImg, func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			_, _, _ = readHeadImg(t, r)
			http.Error(w, "busy", http.StatusServiceUnavailable)
		})
		err := c.Accounts.UploadHeadImage(t.Context(), &UploadHeadImageRequest{
			KfAccount: "test1@gh_test", Body: io.MultiReader(strings.NewReader(content))})
		if !errors.Is(err, ErrOutcomeUnknown) {
			t.Errorf("err = %v, want ErrOutcomeUnknown", err)
		}
		if calls.Load() != 1 {
			t.Errorf("attempts = %d, want 1", calls.Load())
		}
	})
}

func TestAccountsValidation(t *testing.T) {
	t.Parallel()
	mux, c := setup(t)
	for _, p := range []string{pathAccountAdd, pathAccountUpdate, pathAccountDel, pathAccountHeadImg, pathAccountInvite} {
		testNoRequest(t, mux, p)
	}
	ctx := t.Context()
	long := strings.Repeat("字", 17)
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"add nil", func() error { return c.Accounts.Add(ctx, nil) }, "request"},
		{"add no account", func() error { return c.Accounts.Add(ctx, &AddAccountRequest{Nickname: "n"}) }, "kf_account"},
		{"add no @", func() error { return c.Accounts.Add(ctx, &AddAccountRequest{KfAccount: "test1", Nickname: "n"}) }, "kf_account"},
		{"add empty prefix", func() error { return c.Accounts.Add(ctx, &AddAccountRequest{KfAccount: "@gh", Nickname: "n"}) }, "kf_account"},
		{"add prefix 11", func() error {
			return c.Accounts.Add(ctx, &AddAccountRequest{KfAccount: "abcdefghijk@gh", Nickname: "n"})
		}, "kf_account"},
		{"add prefix dash", func() error { return c.Accounts.Add(ctx, &AddAccountRequest{KfAccount: "a-b@gh", Nickname: "n"}) }, "kf_account"},
		{"add prefix non-ASCII", func() error { return c.Accounts.Add(ctx, &AddAccountRequest{KfAccount: "客服@gh", Nickname: "n"}) }, "kf_account"},
		{"add empty suffix", func() error { return c.Accounts.Add(ctx, &AddAccountRequest{KfAccount: "a@", Nickname: "n"}) }, "kf_account"},
		{"add two @", func() error { return c.Accounts.Add(ctx, &AddAccountRequest{KfAccount: "a@b@c", Nickname: "n"}) }, "kf_account"},
		{"add no nickname", func() error { return c.Accounts.Add(ctx, &AddAccountRequest{KfAccount: "a@gh"}) }, "nickname"},
		{"add nickname 17", func() error { return c.Accounts.Add(ctx, &AddAccountRequest{KfAccount: "a@gh", Nickname: long}) }, "nickname"},
		{"add nickname bad UTF-8", func() error {
			return c.Accounts.Add(ctx, &AddAccountRequest{KfAccount: "a@gh", Nickname: "\xff"})
		}, "nickname"},
		{"update nil", func() error { return c.Accounts.Update(ctx, nil) }, "request"},
		{"update nickname 17", func() error {
			return c.Accounts.Update(ctx, &UpdateAccountRequest{KfAccount: "a@gh", Nickname: long})
		}, "nickname"},
		{"update bad account", func() error {
			return c.Accounts.Update(ctx, &UpdateAccountRequest{KfAccount: "a", Nickname: "n"})
		}, "kf_account"},
		{"delete nil", func() error { return c.Accounts.Delete(ctx, nil) }, "request"},
		{"delete bad account", func() error { return c.Accounts.Delete(ctx, &DeleteAccountRequest{KfAccount: "a"}) }, "kf_account"},
		{"delete legacy bad account", func() error { return c.Accounts.DeleteLegacy(ctx, "") }, "kf_account"},
		{"invite nil", func() error { return c.Accounts.InviteWorker(ctx, nil) }, "request"},
		{"invite no wx", func() error {
			return c.Accounts.InviteWorker(ctx, &InviteWorkerRequest{KfAccount: "a@gh"})
		}, "invite_wx"},
		{"headimg nil", func() error { return c.Accounts.UploadHeadImage(ctx, nil) }, "request"},
		{"headimg bad account", func() error {
			return c.Accounts.UploadHeadImage(ctx, &UploadHeadImageRequest{KfAccount: "a", Body: strings.NewReader("x")})
		}, "kf_account"},
		{"headimg no body", func() error {
			return c.Accounts.UploadHeadImage(ctx, &UploadHeadImageRequest{KfAccount: "a@gh"})
		}, "media"},
		{"headimg bad filename", func() error {
			return c.Accounts.UploadHeadImage(ctx, &UploadHeadImageRequest{KfAccount: "a@gh", Body: strings.NewReader("x"), Filename: "a\"b"})
		}, "media.filename"},
		{"headimg bad content type", func() error {
			return c.Accounts.UploadHeadImage(ctx, &UploadHeadImageRequest{KfAccount: "a@gh", Body: strings.NewReader("x"), ContentType: "a\nb"})
		}, "media.content-type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantInvalid(t, tc.call(), tc.field) })
	}
}

func TestKfAccountValid(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"a@b", "abcdefghij@gh_123", "Test_01@wx-id.1", "_@x"} {
		if err := checkKfAccount("op", "kf_account", v); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	if err := checkNickname("op", strings.Repeat("字", 16)); err != nil {
		t.Errorf("16-character nickname: %v", err)
	}
}

// TestAddNotRetried: an add whose outcome is unknown is not replayed (a
// replay would report 65406 for an account that the first call created).
func TestAddNotRetried(t *testing.T) {
	t.Parallel()
	mux, c := setup(t, WithRetry(3))
	var calls atomic.Int32
	mux.HandleFunc(pathAccountAdd, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "gateway timeout", http.StatusGatewayTimeout)
	})
	err := c.Accounts.Add(t.Context(), &AddAccountRequest{KfAccount: "a@gh", Nickname: "n"})
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v, want ErrOutcomeUnknown", err)
	}
	if calls.Load() != 1 {
		t.Errorf("calls = %d, want 1", calls.Load())
	}
}

// countingReader counts Read calls; it is not an io.Seeker.
type countingReader struct {
	r     io.Reader
	reads atomic.Int32
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.r.Read(p)
}

// TestUploadHeadImageUnsentAttemptsLeaveBodyUntouched: attempts that never
// reach the server (connection refused) are retried even with a
// non-seekable body, because the body is read only once the transport
// sends it.
func TestUploadHeadImageUnsentAttemptsLeaveBodyUntouched(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	var attempts atomic.Int32
	c, err := NewClient("app", "", WithBaseURL(base), WithTokenSource(StaticTokenSource("tok")),
		WithRetryer(countingRetryer{Retryer: NewStandardRetryer(StandardRetryerConfig{MaxAttempts: 3, BaseDelay: 1, MaxDelay: 1}), n: &attempts}))
	if err != nil {
		t.Fatal(err)
	}
	body := &countingReader{r: strings.NewReader("img")}
	err = c.Accounts.UploadHeadImage(t.Context(), &UploadHeadImageRequest{KfAccount: "a@gh", Body: body})
	var te *TransportError
	if !errors.As(err, &te) || errors.Is(err, ErrNotReplayable) || errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v, want a plain transport error", err)
	}
	if got := attempts.Load(); got != 2 {
		t.Errorf("retry decisions = %d, want 2 (3 attempts)", got)
	}
	if n := body.reads.Load(); n != 0 {
		t.Errorf("body read %d times, want 0", n)
	}
}

// countingRetryer counts the delays asked for, i.e. the retries.
type countingRetryer struct {
	Retryer
	n *atomic.Int32
}

func (r countingRetryer) Delay(attempt int, err error) time.Duration {
	r.n.Add(1)
	return r.Retryer.Delay(attempt, err)
}
