package kf

import (
	"context"
	"encoding/json"
	"strconv"
)

// kfCustomerBatchMax is the documented maximum of external_userid_list in
// customer/batchget (doc 95159).
const kfCustomerBatchMax = 100

// Gender is a customer's gender as reported by customer/batchget. The values
// follow the WeChat convention (the KF documentation does not spell them
// out); apps of service providers always get GenderUnknown.
type Gender int

// Genders.
const (
	GenderUnknown Gender = 0
	GenderMale    Gender = 1
	GenderFemale  Gender = 2
)

// String returns the gender's English name.
func (g Gender) String() string {
	switch g {
	case GenderUnknown:
		return "unknown"
	case GenderMale:
		return "male"
	case GenderFemale:
		return "female"
	}
	return "Gender(" + strconv.Itoa(int(g)) + ")"
}

// Customer is a WeChat customer's profile (doc 95159).
type Customer struct {
	ExternalUserID string `json:"external_userid"`
	Nickname       string `json:"nickname"`
	// Avatar is the URL of the customer's avatar (not given to service
	// provider apps).
	Avatar string `json:"avatar,omitempty"`
	// Gender is not given to service provider apps (it reads unknown).
	Gender Gender `json:"gender"`
	// UnionID needs a WeChat developer account bound to the corp.
	UnionID string `json:"unionid,omitempty"`
	// EnterSessionContext is the context in which the customer last
	// entered a session within 48 hours; it is present only when asked
	// for (NeedEnterSessionContext) and known.
	EnterSessionContext *EnterSessionContext `json:"enter_session_context,omitempty"`
}

// EnterSessionContext tells where a customer entered a session from.
type EnterSessionContext struct {
	// Scene is the scene of the contact link (see ContactWayRequest).
	Scene string `json:"scene"`
	// SceneParam is the scene_param appended to the link (see
	// AppendSceneParam).
	SceneParam string `json:"scene_param"`
	// WeChatChannels is set when the customer came from a 视频号 (the same
	// object as in the enter_session event).
	WeChatChannels *WeChatChannels `json:"wechat_channels,omitempty"`
}

// BatchGetCustomersRequest is the request of CustomerService.BatchGet (doc
// 95159).
type BatchGetCustomersRequest struct {
	// ExternalUserIDs are the customers: 1..100 non-empty ids.
	ExternalUserIDs []string `json:"external_userid_list"`
	// NeedEnterSessionContext asks for each customer's last enter-session
	// context (within 48 h). It travels as need_enter_session_context 0/1.
	NeedEnterSessionContext bool `json:"-"`
}

// batchGetCustomersWire is the wire form of BatchGetCustomersRequest.
type batchGetCustomersWire struct {
	ExternalUserIDs         []string `json:"external_userid_list"`
	NeedEnterSessionContext int      `json:"need_enter_session_context,omitempty"`
}

// MarshalJSON encodes NeedEnterSessionContext as the integer 0/1 the
// platform expects (0 is omitted).
func (r BatchGetCustomersRequest) MarshalJSON() ([]byte, error) {
	w := batchGetCustomersWire{ExternalUserIDs: r.ExternalUserIDs}
	if r.NeedEnterSessionContext {
		w.NeedEnterSessionContext = 1
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the wire form (need_enter_session_context: any
// non-zero integer means true), for servers such as kftest.
func (r *BatchGetCustomersRequest) UnmarshalJSON(b []byte) error {
	var w batchGetCustomersWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = BatchGetCustomersRequest{ExternalUserIDs: w.ExternalUserIDs, NeedEnterSessionContext: w.NeedEnterSessionContext != 0}
	return nil
}

// Validate checks that there are 1..100 ids and none is empty. BatchGet
// calls it before sending.
func (r *BatchGetCustomersRequest) Validate() error {
	const op = "kf/customer/batchget"
	if r == nil {
		return invalid(op, "request", "nil")
	}
	if n := len(r.ExternalUserIDs); n == 0 || n > kfCustomerBatchMax {
		return invalid(op, "external_userid_list", "%d ids, want 1..%d", n, kfCustomerBatchMax)
	}
	for i, id := range r.ExternalUserIDs {
		if id == "" {
			return invalid(op, "external_userid_list", "item %d is empty", i)
		}
	}
	return nil
}

// BatchGetCustomersResponse is the reply of CustomerService.BatchGet.
type BatchGetCustomersResponse struct {
	Customers []Customer `json:"customer_list"`
	// InvalidExternalUserIDs lists the ids that are unknown or whose
	// customers have neither entered a session nor written to the account
	// in the last 48 hours.
	InvalidExternalUserIDs []string `json:"invalid_external_userid"`
}

// BatchGet returns the profiles of up to 100 customers (customer/batchget,
// doc 95159). Only customers active in the last 48 hours are returned; the
// others are listed in InvalidExternalUserIDs.
func (s *CustomerService) BatchGet(ctx context.Context, req *BatchGetCustomersRequest) (*BatchGetCustomersResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out BatchGetCustomersResponse
	if err := (*service)(s).post(ctx, "kf/customer/batchget", "/cgi-bin/kf/customer/batchget", req, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// MemberRange is the set of members configured for the 专员服务 upgrade.
type MemberRange struct {
	UserIDs       []string `json:"userid_list"`
	DepartmentIDs []int    `json:"department_id_list"`
}

// UnmarshalJSON decodes a member range, also accepting department_list (the
// field name of the doc's field table) when department_id_list (the name of
// its example and of every SDK) is absent.
func (m *MemberRange) UnmarshalJSON(b []byte) error {
	var w struct {
		UserIDs       []string `json:"userid_list"`
		DepartmentIDs []int    `json:"department_id_list"`
		Departments   []int    `json:"department_list"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.DepartmentIDs == nil {
		w.DepartmentIDs = w.Departments
	}
	*m = MemberRange{UserIDs: w.UserIDs, DepartmentIDs: w.DepartmentIDs}
	return nil
}

// GroupChatRange is the set of customer group chats configured for the
// 客户群服务 upgrade.
type GroupChatRange struct {
	ChatIDs []string `json:"chat_id_list"`
}

// UpgradeServiceConfigResponse is the reply of
// CustomerService.UpgradeServiceConfig.
type UpgradeServiceConfigResponse struct {
	MemberRange    MemberRange    `json:"member_range"`
	GroupChatRange GroupChatRange `json:"groupchat_range"`
}

// UpgradeServiceConfig returns the members and group chats configured in the
// admin console for the upgrade service (升级服务)
// (GET customer/get_upgrade_service_config, doc 94674).
func (s *CustomerService) UpgradeServiceConfig(ctx context.Context) (*UpgradeServiceConfigResponse, error) {
	const op = "kf/customer/get_upgrade_service_config"
	var out UpgradeServiceConfigResponse
	if err := (*service)(s).get(ctx, op, "/cgi-bin/kf/customer/get_upgrade_service_config", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpgradeType is the kind of upgrade service recommended to a customer.
type UpgradeType int

// Upgrade types.
const (
	UpgradeTypeMember    UpgradeType = 1 // 专员服务: a dedicated member (UpgradeServiceRequest.Member)
	UpgradeTypeGroupChat UpgradeType = 2 // 客户群服务: a customer group chat (UpgradeServiceRequest.GroupChat)
)

// String returns the upgrade type's English name.
func (t UpgradeType) String() string {
	switch t {
	case UpgradeTypeMember:
		return "member"
	case UpgradeTypeGroupChat:
		return "groupchat"
	}
	return "UpgradeType(" + strconv.Itoa(int(t)) + ")"
}

// UpgradeMember is the member recommended by a UpgradeTypeMember upgrade.
type UpgradeMember struct {
	// UserID is the member: required, in the app's visible range.
	UserID string `json:"userid"`
	// Wording is the recommendation text (optional; its length limit is not
	// documented, so none is enforced).
	Wording string `json:"wording,omitempty"`
}

// UpgradeGroupChat is the group chat recommended by a UpgradeTypeGroupChat
// upgrade.
type UpgradeGroupChat struct {
	// ChatID is the group chat: required; its owner must be in the app's
	// visible range.
	ChatID string `json:"chat_id"`
	// Wording is the recommendation text (optional; no documented limit).
	Wording string `json:"wording,omitempty"`
}

// UpgradeServiceRequest is the request of CustomerService.UpgradeService
// (doc 94674). Type selects which of Member and GroupChat is used; the other
// must be nil. MemberUpgrade and GroupChatUpgrade build valid requests.
type UpgradeServiceRequest struct {
	// OpenKfID is the account: required.
	OpenKfID string `json:"open_kfid"`
	// ExternalUserID is the customer: required.
	ExternalUserID string            `json:"external_userid"`
	Type           UpgradeType       `json:"type"`
	Member         *UpgradeMember    `json:"member,omitempty"`
	GroupChat      *UpgradeGroupChat `json:"groupchat,omitempty"`
}

// MemberUpgrade returns a request recommending member userID to the
// customer (type 1, 专员服务).
func MemberUpgrade(openKfID, externalUserID, userID, wording string) *UpgradeServiceRequest {
	return &UpgradeServiceRequest{
		OpenKfID: openKfID, ExternalUserID: externalUserID, Type: UpgradeTypeMember,
		Member: &UpgradeMember{UserID: userID, Wording: wording},
	}
}

// GroupChatUpgrade returns a request recommending group chat chatID to the
// customer (type 2, 客户群服务).
func GroupChatUpgrade(openKfID, externalUserID, chatID, wording string) *UpgradeServiceRequest {
	return &UpgradeServiceRequest{
		OpenKfID: openKfID, ExternalUserID: externalUserID, Type: UpgradeTypeGroupChat,
		GroupChat: &UpgradeGroupChat{ChatID: chatID, Wording: wording},
	}
}

// Validate checks that the account and customer are set and that the
// payload matches Type. UpgradeService calls it before sending.
func (r *UpgradeServiceRequest) Validate() error {
	const op = "kf/customer/upgrade_service"
	if r == nil {
		return invalid(op, "request", "nil")
	}
	if err := kfCheckOpenKfID(op, r.OpenKfID); err != nil {
		return err
	}
	if err := kfCheckRequired(op, "external_userid", r.ExternalUserID); err != nil {
		return err
	}
	switch r.Type {
	case UpgradeTypeMember:
		if r.GroupChat != nil {
			return invalid(op, "groupchat", "set for type 1 (member)")
		}
		if r.Member == nil || r.Member.UserID == "" {
			return invalid(op, "member.userid", "required for type 1 (member)")
		}
	case UpgradeTypeGroupChat:
		if r.Member != nil {
			return invalid(op, "member", "set for type 2 (groupchat)")
		}
		if r.GroupChat == nil || r.GroupChat.ChatID == "" {
			return invalid(op, "groupchat.chat_id", "required for type 2 (groupchat)")
		}
	default:
		return invalid(op, "type", "%d, want 1 (member) or 2 (groupchat)", int(r.Type))
	}
	return nil
}

// UpgradeService recommends a dedicated member or a customer group chat to a
// customer (customer/upgrade_service, doc 94674). The call is not retried
// once it may have reached the platform.
func (s *CustomerService) UpgradeService(ctx context.Context, req *UpgradeServiceRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, "kf/customer/upgrade_service", "/cgi-bin/kf/customer/upgrade_service", req, nil, false)
}

// CancelUpgradeServiceRequest is the request of
// CustomerService.CancelUpgradeService (doc 94674).
type CancelUpgradeServiceRequest struct {
	// OpenKfID is the account: required.
	OpenKfID string `json:"open_kfid"`
	// ExternalUserID is the customer: required.
	ExternalUserID string `json:"external_userid"`
}

// Validate checks that both fields are set. CancelUpgradeService calls it
// before sending.
func (r *CancelUpgradeServiceRequest) Validate() error {
	const op = "kf/customer/cancel_upgrade_service"
	if r == nil {
		return invalid(op, "request", "nil")
	}
	if err := kfCheckOpenKfID(op, r.OpenKfID); err != nil {
		return err
	}
	return kfCheckRequired(op, "external_userid", r.ExternalUserID)
}

// CancelUpgradeService withdraws the upgrade-service recommendation made to
// a customer (customer/cancel_upgrade_service, doc 94674). A cancel cannot
// apply twice, so it is retried when its outcome is unknown.
func (s *CustomerService) CancelUpgradeService(ctx context.Context, req *CancelUpgradeServiceRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	return (*service)(s).post(ctx, "kf/customer/cancel_upgrade_service", "/cgi-bin/kf/customer/cancel_upgrade_service", req, nil, true)
}
