package kftest

import (
	"errors"
	"fmt"
	"time"
)

// Seed is the initial content of the emulated corp. It can be written as
// JSON (kfctl emulate --seed FILE).
type Seed struct {
	Accounts  []SeedAccount  `json:"accounts"`
	Members   []SeedMember   `json:"members"`
	Customers []SeedCustomer `json:"customers"`
	// UpgradeMembers, UpgradeDepartments and UpgradeGroupChats are the
	// upgrade-service (升级服务) configuration.
	UpgradeMembers     []string `json:"upgrade_members,omitempty"`
	UpgradeDepartments []int    `json:"upgrade_departments,omitempty"`
	UpgradeGroupChats  []string `json:"upgrade_group_chats,omitempty"`
	// WeChatChannelsBinding is the corp qualification flag.
	WeChatChannelsBinding bool `json:"wechat_channels_binding,omitempty"`
}

// SeedAccount is a KF account; Servicers are userids of members.
type SeedAccount struct {
	OpenKfID  string   `json:"open_kfid"` // generated when empty
	Name      string   `json:"name"`
	Servicers []string `json:"servicers,omitempty"`
	// Unmanaged marks an account the calling app may not manage.
	Unmanaged bool `json:"unmanaged,omitempty"`
}

// SeedMember is a WeCom member who can be a servicer.
type SeedMember struct {
	UserID string `json:"userid"`
	// NotActivated marks a member who has not activated WeCom (95014).
	NotActivated bool `json:"not_activated,omitempty"`
	// Stopped and Suspended set the member's receiving status.
	Stopped   bool `json:"stopped,omitempty"`
	Suspended bool `json:"suspended,omitempty"`
}

// SeedCustomer is a WeChat user.
type SeedCustomer struct {
	ExternalUserID string `json:"external_userid"` // generated when empty
	Nickname       string `json:"nickname"`
	Avatar         string `json:"avatar,omitempty"`
	Gender         int    `json:"gender,omitempty"`
	UnionID        string `json:"unionid,omitempty"`
}

func (s *Server) applySeed(st *State, seed Seed) error {
	for _, m := range seed.Members {
		if m.UserID == "" {
			return errors.New("member without userid")
		}
		mb := &member{userID: m.UserID, activated: !m.NotActivated}
		if m.Stopped || m.Suspended {
			mb.status = 1
			if m.Suspended {
				mb.stopType = 1
			}
		}
		st.users[m.UserID] = mb
	}
	for _, a := range seed.Accounts {
		acc, err := s.addAccount(st, a.OpenKfID, a.Name, "", !a.Unmanaged)
		if err != nil {
			return err
		}
		for _, u := range a.Servicers {
			if _, ok := st.users[u]; !ok {
				st.users[u] = &member{userID: u, activated: true}
			}
			acc.addServicerUser(u)
		}
	}
	for _, c := range seed.Customers {
		if _, err := s.addCustomer(st, c); err != nil {
			return err
		}
	}
	st.upgradeMembers = append([]string(nil), seed.UpgradeMembers...)
	st.upgradeDepts = append([]int(nil), seed.UpgradeDepartments...)
	st.upgradeGroupChats = append([]string(nil), seed.UpgradeGroupChats...)
	st.qualification = seed.WeChatChannelsBinding
	return nil
}

// addAccount creates an account in st (used by the seed, account/add and
// the control API).
func (s *Server) addAccount(st *State, openKfID, name, mediaID string, managed bool) (*account, error) {
	if len(st.accounts) >= s.cfg.quotas.Accounts {
		return nil, apiErr(95005, "kf account count exceed limit %d", s.cfg.quotas.Accounts)
	}
	if openKfID == "" {
		openKfID = "wk" + s.randID(30)
	}
	if _, dup := st.accounts[openKfID]; dup {
		return nil, fmt.Errorf("account %s already exists", openKfID)
	}
	acc := &account{
		openKfID: openKfID, name: name, mediaID: mediaID, managed: managed,
		avatar:    "https://wework.qpic.cn/kftest/" + openKfID + "/0",
		servicers: map[string]*servicer{}, links: map[string]contactLink{},
		sent: map[string]*sentMsg{}, stats: map[int64]*dayStats{},
	}
	st.accounts[openKfID] = acc
	st.accountOrder = append(st.accountOrder, openKfID)
	return acc, nil
}

// addServicerUser adds a user servicer; it reports false if already present.
func (a *account) addServicerUser(userID string) bool {
	if _, ok := a.servicers[userID]; ok {
		return false
	}
	a.servicers[userID] = &servicer{userID: userID}
	a.servicerOrder = append(a.servicerOrder, userID)
	return true
}

// addCustomer adds a WeChat user to st.
func (s *Server) addCustomer(st *State, c SeedCustomer) (*customer, error) {
	if c.ExternalUserID == "" {
		c.ExternalUserID = "wm" + s.randID(30)
	}
	if old, ok := st.customers[c.ExternalUserID]; ok {
		return old, nil
	}
	if c.Nickname == "" {
		id := c.ExternalUserID
		c.Nickname = "Customer " + id[max(0, len(id)-4):]
	}
	cu := &customer{externalUserID: c.ExternalUserID, nickname: c.Nickname, avatar: c.Avatar,
		gender: c.Gender, unionID: c.UnionID, lastActive: map[string]time.Time{}}
	st.customers[c.ExternalUserID] = cu
	return cu, nil
}
