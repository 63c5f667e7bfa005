package kftest

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxkf/kf/mp"
)

// Customer-service accounts (§8.2): kfaccount add, update, del,
// uploadheadimg, inviteworker; getkflist, getonlinekflist; and the worker
// drivers AcceptInvite, RejectInvite, SetWorkerOnline, SetWorkerAutoAccept.

// checkAccountName checks kf_account = prefix@wechatid: a prefix of 1 to 10
// of [A-Za-z0-9_] (else 65404), and the Official Account's own WeChat ID
// after "@" (else 65401).
func (s *OAServer) checkAccountName(name string) error {
	prefix, suffix, ok := strings.Cut(name, "@")
	if !ok || prefix == "" || len(prefix) > 10 {
		return oaErr(mp.ErrCodeInvalidKfAccountName, "invalid kf_account %q", name)
	}
	for i := 0; i < len(prefix); i++ {
		if c := prefix[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_') {
			return oaErr(mp.ErrCodeInvalidKfAccountName, "invalid kf_account %q", name)
		}
	}
	if suffix != s.cfg.wechatID {
		return oaErr(mp.ErrCodeInvalidKfAccount, "invalid kf_account %q: not of this official account's WeChat ID", name)
	}
	return nil
}

// account returns an existing account: 65404 for a malformed name, 65401
// for an unknown one.
func (s *OAServer) account(st *oaState, name string) (*oaAccount, error) {
	if err := s.checkAccountName(name); err != nil {
		return nil, err
	}
	a := st.accounts[name]
	if a == nil {
		return nil, oaErr(mp.ErrCodeInvalidKfAccount, "invalid kf_account %q: no such account", name)
	}
	return a, nil
}

func checkOANickname(nick string) error {
	if nick == "" || !utf8.ValidString(nick) || utf8.RuneCountInString(nick) > 16 {
		return oaErr(mp.ErrCodeInvalidKfNickname, "invalid nickname")
	}
	return nil
}

// oaAccountAdd serves POST /customservice/kfaccount/add.
func (s *OAServer) oaAccountAdd(c *oaCall, st *oaState, now time.Time) (any, error) {
	var req mp.AddAccountRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := s.checkAccountName(req.KfAccount); err != nil {
		return nil, err
	}
	if err := checkOANickname(req.Nickname); err != nil {
		return nil, err
	}
	if st.accounts[req.KfAccount] != nil {
		return nil, oaErr(mp.ErrCodeKfAccountExists, "kf_account %q already exists", req.KfAccount)
	}
	if len(st.accounts) >= s.cfg.accountLimit {
		return nil, oaErr(mp.ErrCodeKfAccountLimit, "kf account count reached limit (%d)", s.cfg.accountLimit)
	}
	s.addAccount(st, req.KfAccount, req.Nickname)
	return nil, nil
}

// oaAccountUpdate serves POST /customservice/kfaccount/update.
func (s *OAServer) oaAccountUpdate(c *oaCall, st *oaState, now time.Time) (any, error) {
	var req mp.UpdateAccountRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	a, err := s.account(st, req.KfAccount)
	if err != nil {
		return nil, err
	}
	if err := checkOANickname(req.Nickname); err != nil {
		return nil, err
	}
	a.nick = req.Nickname
	return nil, nil
}

// oaAccountDel serves /customservice/kfaccount/del: a JSON POST (current
// docs) or GET ?kf_account= (legacy). The account's sessions end
// (kf_close_session is pushed for each).
func (s *OAServer) oaAccountDel(c *oaCall, st *oaState, now time.Time) (any, error) {
	name := c.r.URL.Query().Get("kf_account")
	if c.r.Method == http.MethodPost && (name == "" || len(strings.TrimSpace(string(c.body))) > 0) {
		var req mp.DeleteAccountRequest
		if err := c.decode(&req); err != nil {
			return nil, err
		}
		name = req.KfAccount
	}
	a, err := s.account(st, name)
	if err != nil {
		return nil, err
	}
	for _, openid := range oaSortedKeys(st.sessions) {
		if st.sessions[openid].kfAccount == a.kfAccount {
			s.closeSession(st, now, now, openid)
		}
	}
	delete(st.accounts, name)
	for i, n := range st.order {
		if n == name {
			st.order = append(st.order[:i:i], st.order[i+1:]...)
			break
		}
	}
	return nil, nil
}

// oaAccountHeadImg serves POST multipart
// /customservice/kfaccount/uploadheadimg?kf_account=, file part "media":
// a JPEG of at most 2 MB (40005 for another type, 40009 when larger, 41005
// without the part).
func (s *OAServer) oaAccountHeadImg(c *oaCall, st *oaState, now time.Time) (any, error) {
	a, err := s.account(st, c.r.URL.Query().Get("kf_account"))
	if err != nil {
		return nil, err
	}
	if c.mediaErr != nil {
		return nil, c.mediaErr
	}
	a.headImg = c.media
	a.headImgURL = "http://mmbiz.qpic.cn/mmbiz_jpg/kftest" + s.randString(24, alnum) + "/300?wx_fmt=jpeg"
	return nil, nil
}

// oaUploadOverhead is the multipart framing (and other parts) allowed on
// top of the head image's size limit in uploadheadimg.
const oaUploadOverhead = 1 << 20

// readOAMedia reads the "media" part of an uploadheadimg body. The whole
// body is bounded at the head image's limit plus oaUploadOverhead (47001
// beyond), so that other parts cannot make it read without end.
func readOAMedia(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		return nil, oaErr(41005, "media data missing")
	}
	r.Body = http.MaxBytesReader(w, r.Body, oaHeadImgMaxBytes+oaUploadOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, oaErr(41005, "media data missing")
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, oaErr(41005, "media data missing")
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, oaErr(47001, "data format error: body too large")
		}
		if err != nil {
			return nil, oaErr(47001, "data format error: multipart")
		}
		if p.FormName() != "media" {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p, oaHeadImgMaxBytes+1))
		if err != nil {
			return nil, oaErr(47001, "data format error: multipart")
		}
		switch {
		case len(b) == 0:
			return nil, oaErr(41005, "media data missing")
		case len(b) > oaHeadImgMaxBytes:
			return nil, oaErr(40009, "invalid image size")
		case http.DetectContentType(b) != "image/jpeg":
			return nil, oaErr(40005, "invalid file type: the head image must be a JPG")
		}
		return b, nil
	}
}

// oaAccountInvite serves POST /customservice/kfaccount/inviteworker. Checks,
// in order: 65401/65404 account; 65409 invite_wx not a WeChat ID; 65412 the
// account already has a worker; 65407 the person already works an account of
// this Official Account; 65411 the account has a waiting invitation; 65408
// this Official Account already invited the person (another account);
// 65410 the person works 5 kf accounts of other Official Accounts.
func (s *OAServer) oaAccountInvite(c *oaCall, st *oaState, now time.Time) (any, error) {
	var req mp.InviteWorkerRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	a, err := s.account(st, req.KfAccount)
	if err != nil {
		return nil, err
	}
	wx := req.InviteWx
	if !oaValidWeChatID(wx) {
		return nil, oaErr(mp.ErrCodeInvalidWeChatID, "invalid invite_wx")
	}
	if a.wx != "" {
		return nil, oaErr(mp.ErrCodeAccountAlreadyBound, "kf_account already bound to a WeChat ID")
	}
	for _, o := range st.accounts {
		if o.wx == wx {
			return nil, oaErr(mp.ErrCodeAlreadyWorker, "invitee is already a worker of this official account")
		}
	}
	if a.invite != nil && a.invite.status(now) == mp.InviteStatusWaiting {
		return nil, oaErr(mp.ErrCodeInvitationPending, "kf_account has a pending invitation")
	}
	for _, o := range st.accounts {
		if o.invite != nil && o.invite.wx == wx && o.invite.status(now) == mp.InviteStatusWaiting {
			return nil, oaErr(mp.ErrCodeAlreadyInvited, "invitee already invited by this official account")
		}
	}
	if st.external[wx] >= oaExternalBindMax {
		return nil, oaErr(mp.ErrCodeWorkerBoundTooMany, "invitee is bound to too many kf accounts")
	}
	a.invite = &oaInvite{wx: wx, expires: now.Add(oaInviteLasts)}
	return nil, nil
}

// oaAccountList serves GET /cgi-bin/customservice/getkflist.
func (s *OAServer) oaAccountList(c *oaCall, st *oaState, now time.Time) (any, error) {
	out := mp.ListAccountsResponse{Accounts: []mp.Account{}}
	for _, name := range st.order {
		a := st.accounts[name]
		e := mp.Account{KfAccount: a.kfAccount, KfNick: a.nick, KfID: itoaOA(a.kfID), KfHeadImgURL: a.headImgURL, KfWx: a.wx}
		if a.wx == "" && a.invite != nil {
			e.InviteWx, e.InviteExpireTime, e.InviteStatus = a.invite.wx, a.invite.expires.Unix(), a.invite.status(now)
		}
		out.Accounts = append(out.Accounts, e)
	}
	return out, nil
}

// oaAccountOnline serves GET /cgi-bin/customservice/getonlinekflist:
// workers online (status 1, web) with their number of sessions.
func (s *OAServer) oaAccountOnline(c *oaCall, st *oaState, now time.Time) (any, error) {
	out := mp.ListOnlineAccountsResponse{Accounts: []mp.OnlineAccount{}}
	for _, name := range st.order {
		a := st.accounts[name]
		if a.wx == "" || !a.online {
			continue
		}
		out.Accounts = append(out.Accounts, mp.OnlineAccount{KfAccount: name, Status: mp.OnlineStatusWeb,
			KfID: itoaOA(a.kfID), AcceptedCase: st.sessionCount(name), AutoAccept: a.autoAccept})
	}
	return out, nil
}

// ---------------------------------------------------------------------------
// Drivers

// driverAccount returns an existing account for a driver.
func (s *OAServer) driverAccount(st *oaState, name string) (*oaAccount, error) {
	a := st.accounts[name]
	if a == nil {
		return nil, fmt.Errorf("no kf account %q", name)
	}
	return a, nil
}

// AcceptInvite plays the invited person accepting the account's waiting
// invitation: the account becomes bound to their WeChat ID (kf_wx).
func (s *OAServer) AcceptInvite(kfAccount string) error {
	return s.update(func(st *oaState, now time.Time) error {
		a, err := s.driverAccount(st, kfAccount)
		if err != nil {
			return fmt.Errorf("kftest: AcceptInvite: %w", err)
		}
		if a.invite == nil || a.invite.status(now) != mp.InviteStatusWaiting {
			return fmt.Errorf("kftest: AcceptInvite: %q has no waiting invitation", kfAccount)
		}
		a.wx, a.invite = a.invite.wx, nil
		return nil
	})
}

// RejectInvite plays the invited person declining the invitation
// (invite_status "rejected").
func (s *OAServer) RejectInvite(kfAccount string) error {
	return s.update(func(st *oaState, now time.Time) error {
		a, err := s.driverAccount(st, kfAccount)
		if err != nil {
			return fmt.Errorf("kftest: RejectInvite: %w", err)
		}
		if a.invite == nil || a.invite.status(now) != mp.InviteStatusWaiting {
			return fmt.Errorf("kftest: RejectInvite: %q has no waiting invitation", kfAccount)
		}
		a.invite.rejected = true
		return nil
	})
}

// SetWorkerOnline puts the account's worker online or offline (in the
// web customer-service client). The account must have a worker. Going
// offline keeps the worker's sessions; going online may hand waiting users
// to a worker with an automatic accept limit.
func (s *OAServer) SetWorkerOnline(kfAccount string, online bool) error {
	return s.update(func(st *oaState, now time.Time) error {
		a, err := s.driverAccount(st, kfAccount)
		if err != nil {
			return fmt.Errorf("kftest: SetWorkerOnline: %w", err)
		}
		if a.wx == "" {
			return fmt.Errorf("kftest: SetWorkerOnline: %q has no worker (invite one and AcceptInvite)", kfAccount)
		}
		a.online = online
		s.autoAssign(st, now)
		return nil
	})
}

// SetWorkerAutoAccept sets the worker's automatic accept limit (0: accept
// by hand only).
func (s *OAServer) SetWorkerAutoAccept(kfAccount string, n int) error {
	if n < 0 {
		return errors.New("kftest: SetWorkerAutoAccept: negative limit")
	}
	return s.update(func(st *oaState, now time.Time) error {
		a, err := s.driverAccount(st, kfAccount)
		if err != nil {
			return fmt.Errorf("kftest: SetWorkerAutoAccept: %w", err)
		}
		a.autoAccept = n
		s.autoAssign(st, now)
		return nil
	})
}

// HeadImage returns the account's uploaded avatar (nil if none).
func (s *OAServer) HeadImage(kfAccount string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.st.accounts[kfAccount]; a != nil {
		return append([]byte(nil), a.headImg...)
	}
	return nil
}

// AddUser adds a follower, so that the API knows its openid before it
// writes.
func (s *OAServer) AddUser(openid string) {
	_ = s.update(func(st *oaState, now time.Time) error {
		st.user(openid)
		return nil
	})
}
