package kftest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxkf/kf"
)

// Account management (account/add, del, update, list), contact links
// (add_contact_way) and idconvert/open_kfid; shared/api-surface.md §1.4,
// §1.12.

const (
	accountListDefault = 100 // account/list limit: 1..100, default 100
	contactLinkHost    = "work.weixin.qq.com"
	contactLinkPrefix  = "https://" + contactLinkHost + "/kf/"
	sceneParamMaxBytes = 128 // scene_param, URL-encoded
)

// ErrInvalidContactURL is wrapped by the errors of ResolveContactURL: the
// link was not made by add_contact_way on this emulator, was edited, or
// leads to a deleted account. The platform then drops the enter_session
// event.
var ErrInvalidContactURL = errors.New("kftest: invalid contact link")

// accountValidationErr maps the Validate failure of an account request: a
// bad name answers 95006, a missing media_id 40063, an over-long one 40007.
func accountValidationErr(err error) error {
	var ve *kf.ValidationError
	if errors.As(err, &ve) {
		switch {
		case ve.Field == "name" && !strings.Contains(ve.Reason, "both empty"):
			return apiErr(kf.ErrCodeInvalidAccountName, "invalid kf account name: %s", ve.Reason)
		case ve.Field == "media_id" && !isMissing(ve.Reason):
			return apiErr(kf.ErrCodeInvalidMediaID, "invalid media_id: %s", ve.Reason)
		}
	}
	return validationErr(err, nil)
}

// avatarMedia checks that id is a live uploaded image (40007 otherwise).
func (st *State) avatarMedia(id string, now time.Time) error {
	if st.liveMedia(id, "image", now) == nil {
		return apiErr(kf.ErrCodeInvalidMediaID, "invalid media_id: not an image uploaded in the last 3 days")
	}
	return nil
}

// accountAdd serves POST kf/account/add.
func (s *Server) accountAdd(c *call, st *State) (any, error) {
	var req kf.AddAccountRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, accountValidationErr(err)
	}
	if err := st.avatarMedia(req.MediaID, c.now); err != nil {
		return nil, err
	}
	acc, err := s.addAccount(st, "", req.Name, req.MediaID, true)
	if err != nil {
		return nil, err
	}
	c.later(s.hub.publish)
	return kf.AddAccountResponse{OpenKfID: acc.openKfID}, nil
}

// accountDel serves POST kf/account/del. The account's sessions, codes,
// sync log, links and the customers' activity with it go with it; no event
// is emitted.
func (s *Server) accountDel(c *call, st *State) (any, error) {
	var req kf.DeleteAccountRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	if _, err := st.managedAccount(req.OpenKfID); err != nil {
		return nil, err
	}
	st.deleteAccount(req.OpenKfID)
	c.later(s.hub.publish)
	return nil, nil
}

// deleteAccount removes an account and everything attached to it.
func (st *State) deleteAccount(openKfID string) {
	delete(st.accounts, openKfID)
	for i, id := range st.accountOrder {
		if id == openKfID {
			st.accountOrder = append(st.accountOrder[:i:i], st.accountOrder[i+1:]...)
			break
		}
	}
	for k := range st.sessions {
		if k.openKfID == openKfID {
			delete(st.sessions, k)
		}
	}
	for code, ec := range st.codes {
		if ec.key.openKfID == openKfID {
			delete(st.codes, code)
		}
	}
	for tok, t := range st.cbTokens {
		if t.openKfID == openKfID {
			delete(st.cbTokens, tok)
		}
	}
	for _, cu := range st.customers {
		delete(cu.lastActive, openKfID)
		if cu.lastEnter != nil && cu.lastEnter.openKfID == openKfID {
			cu.lastEnter = nil
		}
	}
}

// accountUpdate serves POST kf/account/update.
func (s *Server) accountUpdate(c *call, st *State) (any, error) {
	var req kf.UpdateAccountRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, accountValidationErr(err)
	}
	acc, err := st.managedAccount(req.OpenKfID)
	if err != nil {
		return nil, err
	}
	if req.MediaID != "" {
		if err := st.avatarMedia(req.MediaID, c.now); err != nil {
			return nil, err
		}
		acc.mediaID = req.MediaID
		acc.avatar = "https://wework.qpic.cn/kftest/" + acc.openKfID + "/" + st.nextID("")
	}
	if req.Name != "" {
		acc.name = req.Name
	}
	c.later(s.hub.publish)
	return nil, nil
}

type accountListReply struct {
	Accounts []kf.Account `json:"account_list"`
}

// accountList serves kf/account/list: POST with a JSON body (current form),
// GET without parameters (legacy: every account) and GET with offset and
// limit in the query.
func (s *Server) accountList(c *call, st *State) (any, error) {
	offset, limit := 0, accountListDefault
	if c.r.Method == "GET" {
		q := c.r.URL.Query()
		if !q.Has("offset") && !q.Has("limit") {
			limit = len(st.accountOrder)
		}
		for name, dst := range map[string]*int{"offset": &offset, "limit": &limit} {
			if v := q.Get(name); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid %s %q", name, v)
				}
				*dst = n
			}
		}
		if q.Has("limit") && (limit < 1 || limit > accountListDefault) {
			return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid limit %d: want 1..%d", limit, accountListDefault)
		}
		if offset < 0 {
			return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid offset %d", offset)
		}
	} else if len(bytes.TrimSpace(c.body)) > 0 {
		var req kf.ListAccountsRequest
		if err := decodeValid(c, &req, nil); err != nil {
			return nil, err
		}
		offset = req.Offset
		if req.Limit != 0 {
			limit = req.Limit
		}
	}
	out := accountListReply{Accounts: []kf.Account{}}
	for i := offset; i < len(st.accountOrder) && len(out.Accounts) < limit; i++ {
		acc := st.accounts[st.accountOrder[i]]
		out.Accounts = append(out.Accounts, kf.Account{
			OpenKfID: acc.openKfID, Name: acc.name, Avatar: acc.avatar, ManagePrivilege: acc.managed,
		})
	}
	return out, nil
}

// addContactWay serves POST kf/add_contact_way. The same account and scene
// always give the same link (a retried call is harmless).
func (s *Server) addContactWay(c *call, st *State) (any, error) {
	var req kf.ContactWayRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	acc, err := st.lookupAccount(req.OpenKfID)
	if err != nil {
		return nil, err
	}
	for id, l := range acc.links {
		if l.scene == req.Scene {
			return kf.ContactWayResponse{URL: contactURL(id, l)}, nil
		}
	}
	id := "kfc" + s.randHex(15)
	l := contactLink{scene: req.Scene}
	if req.Scene != "" {
		l.enc = "ENC" + s.randID(26)
	}
	acc.links[id] = l
	return kf.ContactWayResponse{URL: contactURL(id, l)}, nil
}

// contactURL is the link's URL as add_contact_way returns it.
func contactURL(id string, l contactLink) string {
	u := contactLinkPrefix + id
	if l.enc != "" {
		u += "?enc_scene=" + l.enc
	}
	return u
}

// randHex returns n random lowercase hex digits.
func (s *Server) randHex(n int) string { return s.randString(n, hexDigits) }

// ResolveContactURL tells which account a contact link (as returned by
// add_contact_way, optionally with "&scene_param=..." appended, see
// kf.AppendSceneParam) leads to, with the link's scene and the decoded
// scene_param: what the enter_session event of a customer entering through
// it reports. An unknown or edited link, a scene_param on a link made
// without a scene, or a scene_param over 128 bytes (URL-encoded) is an
// error wrapping ErrInvalidContactURL.
func (s *Server) ResolveContactURL(rawURL string) (openKfID, scene, sceneParam string, err error) {
	err = s.store.View(func(st *State) error {
		var e error
		openKfID, scene, sceneParam, e = st.resolveContactURL(rawURL)
		return e
	})
	return openKfID, scene, sceneParam, err
}

// resolveContactURL is ResolveContactURL for callers holding the store.
func (st *State) resolveContactURL(rawURL string) (openKfID, scene, sceneParam string, err error) {
	bad := func(format string, args ...any) (string, string, string, error) {
		return "", "", "", fmt.Errorf("%w: %s", ErrInvalidContactURL, fmt.Sprintf(format, args...))
	}
	u, perr := url.Parse(rawURL)
	if perr != nil || u.Scheme != "https" || u.Host != contactLinkHost || !strings.HasPrefix(u.Path, "/kf/") || u.Fragment != "" {
		return bad("%q is not a contact link", rawURL)
	}
	id := strings.TrimPrefix(u.Path, "/kf/")
	q, perr := url.ParseQuery(u.RawQuery)
	if perr != nil {
		return bad("malformed query")
	}
	for k, v := range q {
		if (k != "enc_scene" && k != "scene_param") || len(v) != 1 {
			return bad("unexpected query parameter %q", k)
		}
	}
	for _, acc := range st.accounts {
		l, ok := acc.links[id]
		if !ok {
			continue
		}
		if q.Get("enc_scene") != l.enc {
			return bad("enc_scene does not match the link")
		}
		if q.Has("scene_param") {
			if l.enc == "" {
				return bad("scene_param on a link made without a scene")
			}
			for _, kv := range strings.Split(u.RawQuery, "&") {
				if enc, ok := strings.CutPrefix(kv, "scene_param="); ok && len(enc) > sceneParamMaxBytes {
					return bad("scene_param longer than %d bytes once URL-encoded", sceneParamMaxBytes)
				}
			}
		}
		return acc.openKfID, l.scene, q.Get("scene_param"), nil
	}
	return bad("unknown link %q (never made, or its account was deleted)", id)
}

// providerOpenKfID is the service provider's id of a corp open_kfid: "wp"
// and a stable digest of the corp and the id.
func providerOpenKfID(corpID, openKfID string) string {
	sum := sha256.Sum256([]byte(corpID + "\x00" + openKfID))
	return "wp" + hex.EncodeToString(sum[:15])
}

// idconvertOpenKfID serves POST idconvert/open_kfid. Known corp ids convert
// to "wp…" ids; ids that already are provider ids of existing accounts stay
// as they are; anything else is listed as invalid.
func (s *Server) idconvertOpenKfID(c *call, st *State) (any, error) {
	var req kf.ConvertOpenKfIDsRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	provider := make(map[string]bool, len(st.accounts))
	for id := range st.accounts {
		provider[providerOpenKfID(st.corpID, id)] = true
	}
	out := kf.ConvertOpenKfIDsResponse{Items: []kf.ConvertedOpenKfID{}, InvalidOpenKfIDs: []string{}}
	for _, id := range req.OpenKfIDs {
		switch {
		case st.accounts[id] != nil:
			out.Items = append(out.Items, kf.ConvertedOpenKfID{OpenKfID: id, NewOpenKfID: providerOpenKfID(st.corpID, id)})
		case provider[id]:
			out.Items = append(out.Items, kf.ConvertedOpenKfID{OpenKfID: id, NewOpenKfID: id})
		default:
			out.InvalidOpenKfIDs = append(out.InvalidOpenKfIDs, id)
		}
	}
	return out, nil
}
