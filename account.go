package kf

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Documented limits of the account endpoints (shared/api-surface.md §1.4, §7).
const (
	kfAccountNameMaxRunes    = 16  // name: ≤ 16 chars (doc 94662)
	kfAccountMediaIDMaxBytes = 128 // media_id: ≤ 128 bytes (doc 94662)
	kfAccountOpenKfIDMaxLen  = 64  // open_kfid: ≤ 64 bytes (doc 94663, 94664)
	kfAccountListMaxLimit    = 100 // account/list limit: 1..100, default 100 (doc 94661)
	kfContactSceneMaxBytes   = 32  // add_contact_way scene: ≤ 32 bytes (doc 94665)
	kfSceneParamMaxBytes     = 128 // scene_param: ≤ 128 bytes once URL-encoded (doc 94665)
)

// kfContactScene is the documented alphabet of add_contact_way scene.
var kfContactScene = regexp.MustCompile(`^[0-9a-zA-Z_-]*$`)

// Account is a KF account (客服账号) as returned by account/list (doc 94661).
type Account struct {
	OpenKfID string `json:"open_kfid"`
	Name     string `json:"name"`
	// Avatar is the URL of the account's avatar.
	Avatar string `json:"avatar"`
	// ManagePrivilege reports whether the calling app may manage the account
	// (edit it, assign sessions, send and receive messages). 组件应用 do not
	// get the field, which then reads false.
	ManagePrivilege bool `json:"manage_privilege"`
}

// AddAccountRequest is the request of AccountService.Add (doc 94662).
type AddAccountRequest struct {
	// Name is the account name: required, at most 16 characters.
	Name string `json:"name"`
	// MediaID is the temporary media_id of the avatar image (see
	// MediaService): required, at most 128 bytes.
	MediaID string `json:"media_id"`
}

// Validate checks r against the documented limits and returns a
// *ValidationError naming the first offending JSON field. Add calls it
// before sending.
func (r *AddAccountRequest) Validate() error {
	const op = "kf/account/add"
	if r == nil {
		return invalid(op, "request", "nil")
	}
	if err := kfCheckAccountName(op, r.Name, true); err != nil {
		return err
	}
	return kfCheckMediaID(op, r.MediaID, true)
}

// AddAccountResponse is the reply of AccountService.Add.
type AddAccountResponse struct {
	// OpenKfID is the id of the new account.
	OpenKfID string `json:"open_kfid"`
}

// Add creates a KF account (account/add, doc 94662). Accounts created through
// the API are managed by the creating app. A failed call is not retried once
// it may have reached the platform, since a replay could create two accounts.
func (s *AccountService) Add(ctx context.Context, req *AddAccountRequest) (*AddAccountResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out AddAccountResponse
	if err := (*service)(s).post(ctx, "kf/account/add", "/cgi-bin/kf/account/add", req, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteAccountRequest is the request of AccountService.Delete (doc 94663).
type DeleteAccountRequest struct {
	// OpenKfID is the account to delete: required, at most 64 bytes.
	OpenKfID string `json:"open_kfid"`
}

// Validate checks r against the documented limits. Delete calls it before
// sending.
func (r *DeleteAccountRequest) Validate() error {
	const op = "kf/account/del"
	if r == nil {
		return invalid(op, "request", "nil")
	}
	return kfCheckOpenKfID(op, r.OpenKfID)
}

// Delete deletes a KF account (account/del, doc 94663). A delete cannot apply
// twice, so the call is retried when its outcome is unknown (a replay of a
// delete that was applied reports an error such as ErrCodeOpenKfIDNotFound).
func (s *AccountService) Delete(ctx context.Context, req *DeleteAccountRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, "kf/account/del", "/cgi-bin/kf/account/del", req, nil, true)
}

// UpdateAccountRequest is the request of AccountService.Update (doc 94664).
// Empty Name or MediaID leave that attribute unchanged; at least one of them
// must be set.
type UpdateAccountRequest struct {
	// OpenKfID is the account to change: required, at most 64 bytes.
	OpenKfID string `json:"open_kfid"`
	// Name is the new name, at most 16 characters.
	Name string `json:"name,omitempty"`
	// MediaID is the temporary media_id of the new avatar, at most 128 bytes.
	MediaID string `json:"media_id,omitempty"`
}

// Validate checks r against the documented limits. Update calls it before
// sending.
func (r *UpdateAccountRequest) Validate() error {
	const op = "kf/account/update"
	if r == nil {
		return invalid(op, "request", "nil")
	}
	if err := kfCheckOpenKfID(op, r.OpenKfID); err != nil {
		return err
	}
	if r.Name == "" && r.MediaID == "" {
		return invalid(op, "name", "name and media_id are both empty: nothing to update")
	}
	if err := kfCheckAccountName(op, r.Name, false); err != nil {
		return err
	}
	return kfCheckMediaID(op, r.MediaID, false)
}

// Update renames a KF account or changes its avatar (account/update, doc
// 94664). Replaying the same update is harmless, so it is retried when its
// outcome is unknown.
func (s *AccountService) Update(ctx context.Context, req *UpdateAccountRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, "kf/account/update", "/cgi-bin/kf/account/update", req, nil, true)
}

// ListAccountsRequest is the request of AccountService.List (doc 94661).
type ListAccountsRequest struct {
	// Offset is the index of the first account to return (default 0).
	Offset int `json:"offset,omitempty"`
	// Limit is the page size, 1..100; 0 means the platform default, 100.
	Limit int `json:"limit,omitempty"`
}

// Validate checks r against the documented limits (a nil r is valid: the
// first page of 100). List calls it before sending.
func (r *ListAccountsRequest) Validate() error {
	const op = "kf/account/list"
	if r == nil {
		return nil
	}
	if r.Offset < 0 {
		return invalid(op, "offset", "negative (%d)", r.Offset)
	}
	if r.Limit < 0 || r.Limit > kfAccountListMaxLimit {
		return invalid(op, "limit", "%d out of range 1..%d (0 = default %d)", r.Limit, kfAccountListMaxLimit, kfAccountListMaxLimit)
	}
	return nil
}

// ListAccountsResponse is the reply of AccountService.List.
type ListAccountsResponse struct {
	Accounts []Account `json:"account_list"`
}

// List returns one page of the corp's KF accounts (account/list, doc 94661;
// sent as a POST with a JSON body, the current documented form). A nil req
// asks for the first page of 100. There are no more pages when a page holds
// fewer accounts than the limit; All walks every page.
func (s *AccountService) List(ctx context.Context, req *ListAccountsRequest) (*ListAccountsResponse, error) {
	if req == nil {
		req = &ListAccountsRequest{}
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out ListAccountsResponse
	if err := (*service)(s).post(ctx, "kf/account/list", "/cgi-bin/kf/account/list", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// All iterates over every KF account, pageSize (1..100; 0 means 100) at a
// time, calling List with increasing offsets until a page holds fewer than
// pageSize accounts. It yields a non-nil error at most once, as its last
// value (an invalid pageSize is reported that way before anything is sent).
func (s *AccountService) All(ctx context.Context, pageSize int) iter.Seq2[Account, error] {
	return func(yield func(Account, error) bool) {
		size := pageSize
		if size == 0 {
			size = kfAccountListMaxLimit
		}
		if err := (&ListAccountsRequest{Limit: size}).Validate(); err != nil {
			yield(Account{}, err)
			return
		}
		prevFirst := ""
		for offset := 0; ; {
			page, err := s.List(ctx, &ListAccountsRequest{Offset: offset, Limit: size})
			if err != nil {
				yield(Account{}, err)
				return
			}
			// A server that ignores offset would return the same page
			// forever: stop with an error instead.
			if offset > 0 && len(page.Accounts) > 0 && page.Accounts[0].OpenKfID == prevFirst {
				yield(Account{}, fmt.Errorf("kf/account/list: offset %d returned the same page again: %w", offset, ErrRepeatedCursor))
				return
			}
			if len(page.Accounts) > 0 {
				prevFirst = page.Accounts[0].OpenKfID
			}
			for _, a := range page.Accounts {
				if !yield(a, nil) {
					return
				}
			}
			if len(page.Accounts) < size {
				return
			}
			offset += len(page.Accounts)
		}
	}
}

// ContactWayRequest is the request of AccountService.ContactWay (doc 94665).
type ContactWayRequest struct {
	// OpenKfID is the account the link leads to: required, at most 64 bytes.
	OpenKfID string `json:"open_kfid"`
	// Scene is an optional scene value (at most 32 bytes of [0-9a-zA-Z_-]).
	// The enter_session event reports it back. Only links made with a
	// scene accept a scene_param (see AppendSceneParam).
	Scene string `json:"scene,omitempty"`
}

// Validate checks r against the documented limits. ContactWay calls it
// before sending.
func (r *ContactWayRequest) Validate() error {
	const op = "kf/add_contact_way"
	if r == nil {
		return invalid(op, "request", "nil")
	}
	if err := kfCheckOpenKfID(op, r.OpenKfID); err != nil {
		return err
	}
	if len(r.Scene) > kfContactSceneMaxBytes {
		return invalid(op, "scene", "longer than %d bytes (%d)", kfContactSceneMaxBytes, len(r.Scene))
	}
	if !kfContactScene.MatchString(r.Scene) {
		return invalid(op, "scene", "%q has characters outside [0-9a-zA-Z_-]", r.Scene)
	}
	return nil
}

// ContactWayResponse is the reply of AccountService.ContactWay.
type ContactWayResponse struct {
	// URL is the contact link, for example
	// https://work.weixin.qq.com/kf/kfcbf8f8d07ac7215f?enc_scene=ENCGFSDF567DF.
	URL string `json:"url"`
}

// ContactWay returns the contact link (客服链接) of a KF account
// (add_contact_way, doc 94665). Asking for a link twice has no harmful side
// effect, so the call is retried when its outcome is unknown.
func (s *AccountService) ContactWay(ctx context.Context, req *ContactWayRequest) (*ContactWayResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out ContactWayResponse
	if err := (*service)(s).post(ctx, "kf/add_contact_way", "/cgi-bin/kf/add_contact_way", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// AppendSceneParam returns contactURL with "&scene_param=" and the
// URL-encoded sceneParam appended (doc 94665). The enter_session event then
// reports sceneParam verbatim.
//
// contactURL must be a link returned by ContactWay for a non-empty scene (it
// carries enc_scene=); the rest of the link is kept byte for byte, since an
// edited link fails the platform's check and produces no callback. Historic
// links with encScene= do not support scene_param and are refused, as are
// links that already carry one. The encoded parameter must be 1..128 bytes.
// Errors are *ValidationError values.
func AppendSceneParam(contactURL, sceneParam string) (string, error) {
	const op = "kf/add_contact_way"
	u, err := url.Parse(contactURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", invalid(op, "url", "%q is not an absolute http(s) URL", contactURL)
	}
	if u.Fragment != "" || strings.Contains(contactURL, "#") {
		return "", invalid(op, "url", "%q carries a fragment", contactURL)
	}
	q := u.Query()
	switch {
	case q.Has("encScene"):
		return "", invalid(op, "url", "historic links with encScene do not support scene_param")
	case !q.Has("enc_scene"):
		return "", invalid(op, "url", "link has no enc_scene: only links created with a scene accept scene_param")
	case q.Has("scene_param"):
		return "", invalid(op, "scene_param", "link already carries a scene_param")
	}
	if sceneParam == "" {
		return "", invalid(op, "scene_param", "empty")
	}
	enc := url.QueryEscape(sceneParam)
	if len(enc) > kfSceneParamMaxBytes {
		return "", invalid(op, "scene_param", "longer than %d bytes once URL-encoded (%d)", kfSceneParamMaxBytes, len(enc))
	}
	return contactURL + "&scene_param=" + enc, nil
}

// ConvertOpenKfIDsResponse is the reply of AccountService.ConvertOpenKfIDs.
type ConvertOpenKfIDsResponse struct {
	// Items maps each convertible id to the service provider's id.
	Items []ConvertedOpenKfID `json:"items"`
	// InvalidOpenKfIDs lists the ids that could not be converted.
	InvalidOpenKfIDs []string `json:"invalid_open_kfid_list"`
}

// ConvertedOpenKfID is one item of ConvertOpenKfIDsResponse.
type ConvertedOpenKfID struct {
	// OpenKfID is the id as given (the corp's id).
	OpenKfID string `json:"open_kfid"`
	// NewOpenKfID is the service provider's id; it equals OpenKfID when
	// that was already provider-scoped.
	NewOpenKfID string `json:"new_open_kfid"`
}

// ConvertOpenKfIDsRequest is the body of idconvert/open_kfid (doc 97064),
// built by AccountService.ConvertOpenKfIDs.
type ConvertOpenKfIDsRequest struct {
	OpenKfIDs []string `json:"open_kfid_list"`
}

// Validate checks that the list is non-empty and holds no empty id. The
// documentation states no list size limit, so none is enforced.
func (r *ConvertOpenKfIDsRequest) Validate() error {
	const op = "kf/idconvert/open_kfid"
	if r == nil || len(r.OpenKfIDs) == 0 {
		return invalid(op, "open_kfid_list", "empty")
	}
	for i, id := range r.OpenKfIDs {
		if id == "" {
			return invalid(op, "open_kfid_list", "item %d is empty", i)
		}
	}
	return nil
}

// ConvertOpenKfIDs converts a corp's open_kfids into the service provider's
// open_kfids (idconvert/open_kfid, doc 97064; service providers only). The
// documentation states no list size limit, so none is enforced here; the
// list must be non-empty and hold no empty id. It is a read, retried when
// its outcome is unknown.
func (s *AccountService) ConvertOpenKfIDs(ctx context.Context, ids []string) (*ConvertOpenKfIDsResponse, error) {
	req := &ConvertOpenKfIDsRequest{OpenKfIDs: ids}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out ConvertOpenKfIDsResponse
	if err := (*service)(s).post(ctx, "kf/idconvert/open_kfid", "/cgi-bin/idconvert/open_kfid", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// kfCheckOpenKfID checks a required open_kfid (≤ 64 bytes).
func kfCheckOpenKfID(op, id string) error {
	if id == "" {
		return invalid(op, "open_kfid", "required")
	}
	if len(id) > kfAccountOpenKfIDMaxLen {
		return invalid(op, "open_kfid", "longer than %d bytes (%d)", kfAccountOpenKfIDMaxLen, len(id))
	}
	return nil
}

// kfCheckAccountName checks an account name (≤ 16 characters).
func kfCheckAccountName(op, name string, required bool) error {
	if name == "" {
		if required {
			return invalid(op, "name", "required")
		}
		return nil
	}
	if !utf8.ValidString(name) {
		return invalid(op, "name", "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(name); n > kfAccountNameMaxRunes {
		return invalid(op, "name", "longer than %d characters (%d)", kfAccountNameMaxRunes, n)
	}
	return nil
}

// kfCheckMediaID checks an avatar media_id (≤ 128 bytes).
func kfCheckMediaID(op, id string, required bool) error {
	if id == "" {
		if required {
			return invalid(op, "media_id", "required")
		}
		return nil
	}
	if len(id) > kfAccountMediaIDMaxBytes {
		return invalid(op, "media_id", "longer than %d bytes (%d)", kfAccountMediaIDMaxBytes, len(id))
	}
	return nil
}

// kfCheckRequired checks that a required string field is not empty.
func kfCheckRequired(op, field, v string) error {
	if v == "" {
		return invalid(op, field, "required")
	}
	return nil
}
