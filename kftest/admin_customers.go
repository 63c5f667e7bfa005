package kftest

import (
	"slices"
	"time"

	"github.com/wxkf/kf"
)

// Customer profiles (customer/batchget), the upgrade service (升级服务) and
// the corp qualification; shared/api-surface.md §1.7–§1.9.

// customerWindow is how long after entering a session or writing a
// customer stays visible to customer/batchget (and may be recommended an
// upgrade service).
const customerWindow = 48 * time.Hour

// activeWith reports whether the customer entered a session with or wrote
// to the account within the last 48 hours.
func (cu *customer) activeWith(openKfID string, now time.Time) bool {
	if t, ok := cu.lastActive[openKfID]; ok && now.Sub(t) <= customerWindow {
		return true
	}
	e := cu.lastEnter
	return e != nil && e.openKfID == openKfID && now.Sub(e.at) <= customerWindow
}

type batchGetReply struct {
	Customers []kf.Customer `json:"customer_list"`
	Invalid   []string      `json:"invalid_external_userid"`
}

// customerBatchGet serves POST kf/customer/batchget. A customer is returned
// when it entered a session with, or wrote to, any existing account of the
// corp within the last 48 hours; every other id (unknown ones included) is
// listed in invalid_external_userid. Repeated ids are answered once.
func (s *Server) customerBatchGet(c *call, st *State) (any, error) {
	var req kf.BatchGetCustomersRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	out := batchGetReply{Customers: []kf.Customer{}, Invalid: []string{}}
	seen := make(map[string]bool, len(req.ExternalUserIDs))
	for _, id := range req.ExternalUserIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		cu := st.customers[id]
		active := false
		if cu != nil {
			for open := range st.accounts {
				if cu.activeWith(open, c.now) {
					active = true
					break
				}
			}
		}
		if !active {
			out.Invalid = append(out.Invalid, id)
			continue
		}
		p := kf.Customer{ExternalUserID: cu.externalUserID, Nickname: cu.nickname, Avatar: cu.avatar,
			Gender: kf.Gender(cu.gender), UnionID: cu.unionID}
		if e := cu.lastEnter; req.NeedEnterSessionContext && e != nil && st.accounts[e.openKfID] != nil && c.now.Sub(e.at) <= customerWindow {
			p.EnterSessionContext = &kf.EnterSessionContext{Scene: e.scene, SceneParam: e.sceneParam}
			if ch := e.channels; ch != nil {
				p.EnterSessionContext.WeChatChannels = &kf.WeChatChannels{Nickname: ch.Nickname,
					ShopNickname: ch.ShopNickname, Scene: kf.WeChatChannelsScene(ch.Scene)}
			}
		}
		out.Customers = append(out.Customers, p)
	}
	return out, nil
}

// upgradeConfig serves GET kf/customer/get_upgrade_service_config.
func (s *Server) upgradeConfig(c *call, st *State) (any, error) {
	return kf.UpgradeServiceConfigResponse{
		MemberRange: kf.MemberRange{
			UserIDs:       nonNil(slices.Clone(st.upgradeMembers)),
			DepartmentIDs: nonNil(slices.Clone(st.upgradeDepts)),
		},
		GroupChatRange: kf.GroupChatRange{ChatIDs: nonNil(slices.Clone(st.upgradeGroupChats))},
	}, nil
}

// upgradeDay counts upgrade-service recommendations of one day.
type upgradeDay struct {
	customers       map[string]bool // customers recommended anything
	memberInvites   int
	memberCustomers map[string]bool
	groupInvites    int
	groupCustomers  map[string]bool
}

func (u *upgradeDay) record(typ kf.UpgradeType, externalUserID string) {
	if u.customers == nil {
		u.customers, u.memberCustomers, u.groupCustomers = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	u.customers[externalUserID] = true
	if typ == kf.UpgradeTypeMember {
		u.memberInvites++
		u.memberCustomers[externalUserID] = true
	} else {
		u.groupInvites++
		u.groupCustomers[externalUserID] = true
	}
}

// upgradeService serves POST kf/customer/upgrade_service. The customer
// must be known (40096) and active with the account in the last 48 hours
// (95031); a member must exist (60111) and be in the configured member range
// (60011); a group chat must be in the configured range (40058). The
// recommendation replaces any earlier one of the session and is counted in
// the day's statistics (also for the servicer holding the session).
func (s *Server) upgradeService(c *call, st *State) (any, error) {
	var req kf.UpgradeServiceRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	acc, err := st.managedAccount(req.OpenKfID)
	if err != nil {
		return nil, err
	}
	cu := st.customers[req.ExternalUserID]
	if cu == nil {
		return nil, apiErr(kf.ErrCodeInvalidExternalUserID, "invalid external_userid")
	}
	if !cu.activeWith(acc.openKfID, c.now) {
		return nil, apiErr(kf.ErrCodeCustomerNotConsulted, "customer has not consulted in the last 48 hours")
	}
	rec := &upgradeRec{typ: int(req.Type)}
	switch req.Type {
	case kf.UpgradeTypeMember:
		u := req.Member.UserID
		if st.users[u] == nil {
			return nil, apiErr(kf.ErrCodeUserIDNotFound, "userid not exist")
		}
		if !slices.Contains(st.upgradeMembers, u) {
			return nil, apiErr(kf.ErrCodeNoPrivilege, "userid %s is not in the upgrade service member range", u)
		}
		rec.userID, rec.wording = u, req.Member.Wording
	case kf.UpgradeTypeGroupChat:
		if !slices.Contains(st.upgradeGroupChats, req.GroupChat.ChatID) {
			return nil, apiErr(kf.ErrCodeInvalidParameter, "invalid chat_id: not in the upgrade service group chat range")
		}
		rec.chatID, rec.wording = req.GroupChat.ChatID, req.GroupChat.Wording
	}
	ses := st.ensureSession(acc.openKfID, cu.externalUserID)
	ses.upgrade = rec
	ds := acc.statsAt(c.now)
	ds.upgrade.record(req.Type, cu.externalUserID)
	if ses.state == kf.StateServicer && ses.servicer != "" {
		ds.servicerAt(ses.servicer).upgrade.record(req.Type, cu.externalUserID)
	}
	c.later(s.hub.publish)
	return nil, nil
}

// cancelUpgradeService serves POST kf/customer/cancel_upgrade_service.
// Cancelling when nothing is recommended succeeds.
func (s *Server) cancelUpgradeService(c *call, st *State) (any, error) {
	var req kf.CancelUpgradeServiceRequest
	if err := decodeValid(c, &req, nil); err != nil {
		return nil, err
	}
	acc, err := st.managedAccount(req.OpenKfID)
	if err != nil {
		return nil, err
	}
	if st.customers[req.ExternalUserID] == nil {
		return nil, apiErr(kf.ErrCodeInvalidExternalUserID, "invalid external_userid")
	}
	if ses := st.sessionOf(acc.openKfID, req.ExternalUserID); ses != nil {
		ses.upgrade = nil
	}
	c.later(s.hub.publish)
	return nil, nil
}

// Upgrade is the upgrade-service recommendation (升级服务) made to a
// customer in a session.
type Upgrade struct {
	Type    kf.UpgradeType `json:"type"`
	UserID  string         `json:"userid,omitempty"`  // the member (type 1)
	ChatID  string         `json:"chat_id,omitempty"` // the group chat (type 2)
	Wording string         `json:"wording,omitempty"`
}

// UpgradeRecommendation returns the recommendation currently made to the
// customer in its session with the account (set by upgrade_service, removed
// by cancel_upgrade_service), and false when there is none.
func (s *Server) UpgradeRecommendation(openKfID, externalUserID string) (Upgrade, bool) {
	var u Upgrade
	var ok bool
	_ = s.store.View(func(st *State) error {
		if ses := st.sessionOf(openKfID, externalUserID); ses != nil && ses.upgrade != nil {
			r := ses.upgrade
			u, ok = Upgrade{Type: kf.UpgradeType(r.typ), UserID: r.userID, ChatID: r.chatID, Wording: r.wording}, true
		}
		return nil
	})
	return u, ok
}

// corpQualification serves GET kf/get_corp_qualification.
func (s *Server) corpQualification(c *call, st *State) (any, error) {
	return kf.CorpQualification{WeChatChannelsBinding: st.qualification}, nil
}
