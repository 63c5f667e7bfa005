package mp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/wxkf/kf/internal/wxapi"
)

// Customer-service accounts (shared/api-surface.md §8.2; official pages
// customer/servicermanage/api_*).

// Operations and paths of the account endpoints.
const (
	opAccountAdd       = "mp/kfaccount/add"
	opAccountUpdate    = "mp/kfaccount/update"
	opAccountDel       = "mp/kfaccount/del"
	opAccountHeadImg   = "mp/kfaccount/uploadheadimg"
	opAccountInvite    = "mp/kfaccount/inviteworker"
	opAccountList      = "mp/getkflist"
	opAccountOnline    = "mp/getonlinekflist"
	pathAccountAdd     = "/customservice/kfaccount/add"
	pathAccountUpdate  = "/customservice/kfaccount/update"
	pathAccountDel     = "/customservice/kfaccount/del"
	pathAccountHeadImg = "/customservice/kfaccount/uploadheadimg"
	pathAccountInvite  = "/customservice/kfaccount/inviteworker"
	pathAccountList    = "/cgi-bin/customservice/getkflist"
	pathAccountOnline  = "/cgi-bin/customservice/getonlinekflist"
)

// Documented limits of account fields.
const (
	kfAccountPrefixMax = 10 // prefix of kf_account: at most 10 chars of [A-Za-z0-9_]
	kfNicknameMaxRunes = 16 // nickname: 1..16 characters
)

// checkKfAccount checks the documented kf_account form prefix@wechatid: a
// prefix of 1 to 10 characters of [A-Za-z0-9_], "@", and a non-empty WeChat
// ID of the Official Account.
func checkKfAccount(op, field, v string) error {
	if v == "" {
		return invalid(op, field, "required")
	}
	prefix, suffix, ok := strings.Cut(v, "@")
	if !ok {
		return invalid(op, field, "%q is not of the form prefix@wechatid", v)
	}
	if prefix == "" {
		return invalid(op, field, "%q has an empty prefix before @", v)
	}
	if len(prefix) > kfAccountPrefixMax {
		return invalid(op, field, "prefix %q is longer than %d characters", prefix, kfAccountPrefixMax)
	}
	for i := 0; i < len(prefix); i++ {
		if b := prefix[i]; !('0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '_') {
			return invalid(op, field, "prefix %q may only hold [A-Za-z0-9_]", prefix)
		}
	}
	if suffix == "" {
		return invalid(op, field, "%q has no WeChat ID after @", v)
	}
	if strings.ContainsAny(suffix, "@ \t\r\n") {
		return invalid(op, field, "WeChat ID %q contains @ or white space", suffix)
	}
	return nil
}

// checkNickname checks a nickname of 1 to 16 characters (runes).
func checkNickname(op, v string) error {
	if v == "" {
		return invalid(op, "nickname", "required")
	}
	if !utf8.ValidString(v) {
		return invalid(op, "nickname", "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(v); n > kfNicknameMaxRunes {
		return invalid(op, "nickname", "%d characters, longer than %d", n, kfNicknameMaxRunes)
	}
	return nil
}

// AddAccountRequest is the request of AccountService.Add.
type AddAccountRequest struct {
	// KfAccount is the full account name prefix@wechatid: a prefix of at
	// most 10 characters of [A-Za-z0-9_], then the Official Account's WeChat
	// ID (required).
	KfAccount string `json:"kf_account"`
	// Nickname is the name shown to users, 1 to 16 characters (required;
	// older docs allowed only 6 Chinese or 12 Latin characters).
	Nickname string `json:"nickname"`
}

// Validate checks r and returns a *ValidationError naming the first
// offending field. Add calls it before sending.
func (r *AddAccountRequest) Validate() error {
	if r == nil {
		return invalid(opAccountAdd, "request", "nil")
	}
	return firstErr(checkKfAccount(opAccountAdd, "kf_account", r.KfAccount), checkNickname(opAccountAdd, r.Nickname))
}

// Add creates a customer-service account (POST /customservice/kfaccount/add,
// customer/servicermanage/api_addkfaccount). The Official Account needs a
// WeChat ID and may have at most 100 accounts (ErrCodeKfAccountLimit). A
// failed call is not retried once it may have reached the platform: a replay
// of an applied add fails with ErrCodeKfAccountExists, so the error wraps
// ErrOutcomeUnknown instead.
func (s *AccountService) Add(ctx context.Context, req *AddAccountRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, opAccountAdd, pathAccountAdd, req, nil, false)
}

// UpdateAccountRequest is the request of AccountService.Update.
type UpdateAccountRequest struct {
	// KfAccount is the account to change, prefix@wechatid (required).
	KfAccount string `json:"kf_account"`
	// Nickname is the new nickname, 1 to 16 characters (required).
	Nickname string `json:"nickname"`
}

// Validate checks r and returns a *ValidationError naming the first
// offending field. Update calls it before sending.
func (r *UpdateAccountRequest) Validate() error {
	if r == nil {
		return invalid(opAccountUpdate, "request", "nil")
	}
	return firstErr(checkKfAccount(opAccountUpdate, "kf_account", r.KfAccount), checkNickname(opAccountUpdate, r.Nickname))
}

// Update changes an account's nickname (POST
// /customservice/kfaccount/update). Replaying the same update is harmless,
// so it is retried when its outcome is unknown.
func (s *AccountService) Update(ctx context.Context, req *UpdateAccountRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, opAccountUpdate, pathAccountUpdate, req, nil, true)
}

// DeleteAccountRequest is the request of AccountService.Delete.
type DeleteAccountRequest struct {
	// KfAccount is the account to delete, prefix@wechatid (required).
	KfAccount string `json:"kf_account"`
}

// Validate checks r. Delete calls it before sending.
func (r *DeleteAccountRequest) Validate() error {
	if r == nil {
		return invalid(opAccountDel, "request", "nil")
	}
	return checkKfAccount(opAccountDel, "kf_account", r.KfAccount)
}

// Delete deletes an account with the current documented form, a JSON POST
// to /customservice/kfaccount/del (customer/servicermanage/api_delkfaccount).
// A delete cannot apply twice, so it is retried when its outcome is unknown;
// a replay of an applied delete fails, likely with ErrCodeInvalidKfAccount.
func (s *AccountService) Delete(ctx context.Context, req *DeleteAccountRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, opAccountDel, pathAccountDel, req, nil, true)
}

// DeleteLegacy deletes an account with the legacy form of the same
// endpoint, GET /customservice/kfaccount/del?kf_account=, which older
// documentation describes and some SDKs still use. Prefer Delete; use
// DeleteLegacy only against a gateway or emulator that accepts nothing else.
func (s *AccountService) DeleteLegacy(ctx context.Context, kfAccount string) error {
	if err := checkKfAccount(opAccountDel, "kf_account", kfAccount); err != nil {
		return err
	}
	return (*service)(s).get(ctx, opAccountDel, pathAccountDel, url.Values{"kf_account": {kfAccount}}, nil)
}

// InviteWorkerRequest is the request of AccountService.InviteWorker.
type InviteWorkerRequest struct {
	// KfAccount is the account to bind, prefix@wechatid (required).
	KfAccount string `json:"kf_account"`
	// InviteWx is the WeChat ID (微信号) of the person invited to work the
	// account (required).
	InviteWx string `json:"invite_wx"`
}

// Validate checks r. InviteWorker calls it before sending.
func (r *InviteWorkerRequest) Validate() error {
	if r == nil {
		return invalid(opAccountInvite, "request", "nil")
	}
	return firstErr(checkKfAccount(opAccountInvite, "kf_account", r.KfAccount), required(opAccountInvite, "invite_wx", r.InviteWx))
}

// InviteWorker invites a WeChat user to bind an account (POST
// /customservice/kfaccount/inviteworker,
// customer/servicermanage/api_invitekfworker). The account works once the
// user accepts; Accounts.List shows the invitation's state. Errors include
// ErrCodeAlreadyWorker, ErrCodeAlreadyInvited, ErrCodeInvalidWeChatID,
// ErrCodeWorkerBoundTooMany, ErrCodeInvitationPending and
// ErrCodeAccountAlreadyBound. It is not retried when its outcome is
// unknown: a replay would report ErrCodeAlreadyInvited.
func (s *AccountService) InviteWorker(ctx context.Context, req *InviteWorkerRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, opAccountInvite, pathAccountInvite, req, nil, false)
}

// InviteStatus is the state of a worker invitation.
type InviteStatus string

// Invitation states reported by getkflist.
const (
	InviteStatusWaiting  InviteStatus = "waiting"
	InviteStatusRejected InviteStatus = "rejected"
	InviteStatusExpired  InviteStatus = "expired"
)

// Account is a customer-service account as listed by getkflist.
type Account struct {
	// KfAccount is the full account name, prefix@wechatid.
	KfAccount string `json:"kf_account"`
	// KfNick is the nickname.
	KfNick string `json:"kf_nick"`
	// KfID is the account's numeric id. The docs send it as a string,
	// some SDKs read a number; both decode.
	KfID string `json:"kf_id"`
	// KfHeadImgURL is the URL of the avatar.
	KfHeadImgURL string `json:"kf_headimgurl"`
	// KfWx is the WeChat ID of the bound worker, if any.
	KfWx string `json:"kf_wx,omitempty"`
	// InviteWx is the WeChat ID of a pending invitee, if any.
	InviteWx string `json:"invite_wx,omitempty"`
	// InviteExpireTime is when the invitation expires, in unix seconds.
	InviteExpireTime int64 `json:"invite_expire_time,omitempty"`
	// InviteStatus is the invitation's state, if there is one.
	InviteStatus InviteStatus `json:"invite_status,omitempty"`
	// KfOpenID is the bound worker's openid, when the platform sends it.
	KfOpenID string `json:"kf_openid,omitempty"`
}

// UnmarshalJSON decodes kf_id from a string or a number.
func (a *Account) UnmarshalJSON(b []byte) error {
	type plain Account
	w := struct {
		*plain
		KfID flexID `json:"kf_id"`
	}{plain: (*plain)(a)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	a.KfID = string(w.KfID)
	return nil
}

// flexID decodes a JSON string or number into its decimal string form.
type flexID string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("id %s is neither a string nor a number", b)
	}
	*f = flexID(n.String())
	return nil
}

// ListAccountsResponse is the reply of AccountService.List.
type ListAccountsResponse struct {
	// Accounts are the Official Account's customer-service accounts.
	Accounts []Account `json:"kf_list"`
}

// List returns every customer-service account of the Official Account
// (GET /cgi-bin/customservice/getkflist, customer/servicermanage/api_getkflist).
func (s *AccountService) List(ctx context.Context) (*ListAccountsResponse, error) {
	var out ListAccountsResponse
	if err := (*service)(s).get(ctx, opAccountList, pathAccountList, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// OnlineStatus is the client a worker is online with. The current docs
// know only 1 (web); older docs read it as a bit set (1 PC, 2 mobile, 3
// both), which is unconfirmed today.
type OnlineStatus int

// Online states reported by getonlinekflist.
const (
	OnlineStatusWeb    OnlineStatus = 1 // online on the web / PC client
	OnlineStatusMobile OnlineStatus = 2 // legacy: online on mobile (unconfirmed)
	OnlineStatusBoth   OnlineStatus = 3 // legacy: online on PC and mobile (unconfirmed)
)

// OnlineAccount is an online account as listed by getonlinekflist.
type OnlineAccount struct {
	// KfAccount is the full account name, prefix@wechatid.
	KfAccount string `json:"kf_account"`
	// Status is the client the worker is online with.
	Status OnlineStatus `json:"status"`
	// KfID is the account's numeric id (string or number on the wire).
	KfID string `json:"kf_id"`
	// AcceptedCase is how many sessions the worker is serving now.
	AcceptedCase int `json:"accepted_case"`
	// AutoAccept is the worker's automatic-accept limit, when the platform
	// sends it (legacy field).
	AutoAccept int `json:"auto_accept,omitempty"`
}

// UnmarshalJSON decodes kf_id from a string or a number.
func (a *OnlineAccount) UnmarshalJSON(b []byte) error {
	type plain OnlineAccount
	w := struct {
		*plain
		KfID flexID `json:"kf_id"`
	}{plain: (*plain)(a)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	a.KfID = string(w.KfID)
	return nil
}

// ListOnlineAccountsResponse is the reply of AccountService.ListOnline.
type ListOnlineAccountsResponse struct {
	// Accounts are the accounts whose worker is online.
	Accounts []OnlineAccount `json:"kf_online_list"`
}

// ListOnline returns the accounts whose worker is online now, with the
// number of sessions each serves (GET
// /cgi-bin/customservice/getonlinekflist). Check it before creating a
// session or transferring a user to a given worker: Sessions.Create fails
// with ErrCodeWorkerOffline for an offline worker.
func (s *AccountService) ListOnline(ctx context.Context) (*ListOnlineAccountsResponse, error) {
	var out ListOnlineAccountsResponse
	if err := (*service)(s).get(ctx, opAccountOnline, pathAccountOnline, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UploadHeadImageRequest is the request of AccountService.UploadHeadImage.
type UploadHeadImageRequest struct {
	// KfAccount is the account whose avatar is set, prefix@wechatid
	// (required).
	KfAccount string
	// Body is the image, JPG, 640×640 recommended (required). It is
	// streamed, never buffered whole. If it is an io.Seeker the upload is
	// retried after a transient failure (each attempt seeks back to the
	// position Body had when UploadHeadImage was called); otherwise it is
	// sent once.
	Body io.Reader
	// Filename is the file name of the multipart part (default
	// "headimg.jpg"; no line breaks or quotes).
	Filename string
	// ContentType is the part's Content-Type (default image/jpeg).
	ContentType string
}

// Validate checks r. UploadHeadImage calls it before sending.
func (r *UploadHeadImageRequest) Validate() error {
	if r == nil {
		return invalid(opAccountHeadImg, "request", "nil")
	}
	if err := checkKfAccount(opAccountHeadImg, "kf_account", r.KfAccount); err != nil {
		return err
	}
	if r.Body == nil {
		return invalid(opAccountHeadImg, "media", "nil Body")
	}
	if strings.ContainsAny(r.Filename, "\"\r\n\x00") {
		return invalid(opAccountHeadImg, "media.filename", "contains a quote, a line break or NUL")
	}
	if strings.ContainsAny(r.ContentType, "\r\n\x00") {
		return invalid(opAccountHeadImg, "media.content-type", "contains a line break or NUL")
	}
	return nil
}

// UploadHeadImage sets an account's avatar (POST multipart/form-data to
// /customservice/kfaccount/uploadheadimg?kf_account=, one file part named
// "media"). The image is streamed from req.Body with chunked transfer
// encoding. Setting the same avatar twice is harmless, so a seekable Body
// is rewound and sent again after a transient failure; a non-seekable Body
// is sent at most once (the error then wraps ErrOutcomeUnknown when the
// outcome is unknown, or ErrNotReplayable when the body was consumed). The
// method returns only after it has stopped reading Body.
func (s *AccountService) UploadHeadImage(ctx context.Context, req *UploadHeadImageRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	up := &headImgUpload{req: req}
	if sk, ok := req.Body.(io.Seeker); ok {
		if pos, err := sk.Seek(0, io.SeekCurrent); err == nil {
			up.seeker, up.start = sk, pos
		}
	}
	defer up.stop()
	return (*service)(s).c.api.Do(ctx, &wxapi.Request{
		Op:         opAccountHeadImg,
		Method:     http.MethodPost,
		Path:       pathAccountHeadImg,
		Query:      url.Values{"kf_account": {req.KfAccount}},
		Body:       up.build,
		Idempotent: up.seeker != nil,
	}, nil)
}

// headImgUpload builds the multipart body of each upload attempt.
type headImgUpload struct {
	req    *UploadHeadImageRequest
	seeker io.Seeker // nil when Body cannot be rewound
	start  int64
	cur    *streamBody
}

// build is the wxapi.Request.Body builder: a fresh streamed body per
// attempt, rewinding a seekable source that an earlier attempt read.
func (u *headImgUpload) build() (io.Reader, string, error) {
	if prev := u.cur; prev != nil {
		prev.stop()
		if prev.started() {
			if u.seeker == nil {
				return nil, "", ErrNotReplayable
			}
			if _, err := u.seeker.Seek(u.start, io.SeekStart); err != nil {
				return nil, "", fmt.Errorf("%w: seek: %w", ErrNotReplayable, err)
			}
		}
	}
	filename := u.req.Filename
	if filename == "" {
		filename = "headimg.jpg"
	}
	ctype := u.req.ContentType
	if ctype == "" {
		ctype = "image/jpeg"
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	body := u.req.Body
	u.cur = newStreamBody(pr, func() {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="media"; filename="`+filename+`"`)
		h.Set("Content-Type", ctype)
		part, err := mw.CreatePart(h)
		if err == nil {
			_, err = io.Copy(part, body)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	})
	return u.cur, mw.FormDataContentType(), nil
}

// stop ends the current attempt's writer, if any.
func (u *headImgUpload) stop() {
	if u.cur != nil {
		u.cur.stop()
	}
}

// errUploadStopped ends a writer whose reader is gone.
var errUploadStopped = errors.New("upload stopped")

// streamBody is a request body fed by a writer goroutine that starts on the
// first Read, so that an attempt the transport never sent (a dial failure)
// leaves the source untouched.
type streamBody struct {
	pr    *io.PipeReader
	run   func()
	once  sync.Once
	begun bool          // set inside once: the writer was started
	done  chan struct{} // closed when the writer has returned (or never ran)
}

func newStreamBody(pr *io.PipeReader, run func()) *streamBody {
	return &streamBody{pr: pr, run: run, done: make(chan struct{})}
}

// Read implements io.Reader, starting the writer on the first call.
func (b *streamBody) Read(p []byte) (int, error) {
	b.once.Do(func() {
		b.begun = true
		go func() {
			defer close(b.done)
			b.run()
		}()
	})
	return b.pr.Read(p)
}

// Close implements io.Closer (the transport closes the body when done).
func (b *streamBody) Close() error { return b.pr.Close() }

// stop unblocks the writer and waits until it no longer reads the source.
func (b *streamBody) stop() {
	b.pr.CloseWithError(errUploadStopped)
	b.once.Do(func() { close(b.done) })
	<-b.done
}

// started reports whether the writer ever ran (call after stop).
func (b *streamBody) started() bool { return b.begun }
