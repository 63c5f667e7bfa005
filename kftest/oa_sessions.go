package kftest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wxkf/kf/mp"
)

// Sessions (会话控制, §8.3): kfsession create, close, getsession,
// getsessionlist, getwaitcase; and the worker drivers WorkerAccept,
// WorkerTransfer, WorkerClose.

// knownUser returns the user, or 40003 for an openid the Official Account
// does not know.
func knownUser(st *oaState, openid string) (*oaUser, error) {
	u := st.users[openid]
	if u == nil {
		return nil, oaErr(mp.ErrCodeInvalidUserID, "invalid openid")
	}
	return u, nil
}

// oaSessionCreate serves POST /customservice/kfsession/create: the worker
// must be bound (65402) and online (65415); a session with the same worker
// already open answers 0; a session with another worker answers 65414.
func (s *OAServer) oaSessionCreate(c *oaCall, st *oaState, now time.Time) (any, error) {
	var req mp.CreateSessionRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	a, err := s.account(st, req.KfAccount)
	if err != nil {
		return nil, err
	}
	if _, err := knownUser(st, req.OpenID); err != nil {
		return nil, err
	}
	if a.wx == "" {
		return nil, oaErr(mp.ErrCodeKfAccountNotBound, "kf_account not bound to a WeChat ID")
	}
	if !a.online {
		return nil, oaErr(mp.ErrCodeWorkerOffline, "kf_account is not online")
	}
	if se := st.sessions[req.OpenID]; se != nil {
		if se.kfAccount == a.kfAccount {
			return nil, nil
		}
		return nil, oaErr(mp.ErrCodeServedByAnotherWorker, "the user is served by another kf_account")
	}
	s.openSession(st, now, req.OpenID, a.kfAccount)
	return nil, nil
}

// oaSessionClose serves POST /customservice/kfsession/close: 65413 when the
// user has no session, 65414 when another worker serves the user.
func (s *OAServer) oaSessionClose(c *oaCall, st *oaState, now time.Time) (any, error) {
	var req mp.CloseSessionRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	a, err := s.account(st, req.KfAccount)
	if err != nil {
		return nil, err
	}
	if _, err := knownUser(st, req.OpenID); err != nil {
		return nil, err
	}
	se := st.sessions[req.OpenID]
	switch {
	case se == nil:
		return nil, oaErr(mp.ErrCodeNoSession, "the user has no session")
	case se.kfAccount != a.kfAccount:
		return nil, oaErr(mp.ErrCodeServedByAnotherWorker, "the user is served by another kf_account")
	}
	s.closeSession(st, now, now, req.OpenID)
	return nil, nil
}

// oaSessionGet serves GET /customservice/kfsession/getsession?openid=.
func (s *OAServer) oaSessionGet(c *oaCall, st *oaState, now time.Time) (any, error) {
	openid := c.r.URL.Query().Get("openid")
	if _, err := knownUser(st, openid); err != nil {
		return nil, err
	}
	out := mp.GetSessionResponse{}
	if se := st.sessions[openid]; se != nil {
		out.CreateTime, out.KfAccount = se.created.Unix(), se.kfAccount
	}
	return out, nil
}

// oaSessionList serves GET /customservice/kfsession/getsessionlist?kf_account=
// (65402 for an account without a worker).
func (s *OAServer) oaSessionList(c *oaCall, st *oaState, now time.Time) (any, error) {
	a, err := s.account(st, c.r.URL.Query().Get("kf_account"))
	if err != nil {
		return nil, err
	}
	if a.wx == "" {
		return nil, oaErr(mp.ErrCodeKfAccountNotBound, "kf_account not bound to a WeChat ID")
	}
	out := mp.ListSessionsResponse{Sessions: []mp.SessionItem{}}
	for openid, se := range st.sessions {
		if se.kfAccount == a.kfAccount {
			out.Sessions = append(out.Sessions, mp.SessionItem{CreateTime: se.created.Unix(), OpenID: openid})
		}
	}
	slices.SortFunc(out.Sessions, func(x, y mp.SessionItem) int {
		return cmp.Or(cmp.Compare(x.CreateTime, y.CreateTime), strings.Compare(x.OpenID, y.OpenID))
	})
	return out, nil
}

// oaSessionWaiting serves GET /customservice/kfsession/getwaitcase: the
// number of waiting users and the 100 earliest by latest_time.
func (s *OAServer) oaSessionWaiting(c *oaCall, st *oaState, now time.Time) (any, error) {
	all := st.waitCases()
	return mp.ListWaitingResponse{Count: len(all), WaitCases: all[:min(len(all), oaWaitCaseMax)]}, nil
}

// ---------------------------------------------------------------------------
// Drivers

// WorkerAccept plays the worker taking a waiting user from the queue in the
// customer-service client: the worker must be bound and online, and the
// user waiting. The worker receives the transferred messages and
// kf_create_session is pushed.
func (s *OAServer) WorkerAccept(kfAccount, openid string) error {
	return s.update(func(st *oaState, now time.Time) error {
		a, err := s.driverAccount(st, kfAccount)
		if err != nil {
			return fmt.Errorf("kftest: WorkerAccept: %w", err)
		}
		switch {
		case a.wx == "":
			return fmt.Errorf("kftest: WorkerAccept: %q has no worker", kfAccount)
		case !a.online:
			return fmt.Errorf("kftest: WorkerAccept: %q is offline", kfAccount)
		case st.queue[openid] == nil:
			return fmt.Errorf("kftest: WorkerAccept: %q is not waiting", openid)
		}
		s.openSession(st, now, openid, kfAccount)
		return nil
	})
}

// WorkerTransfer plays the serving worker handing the user to another
// worker (转接), which must be bound and online; kf_switch_session is
// pushed.
func (s *OAServer) WorkerTransfer(fromKfAccount, toKfAccount, openid string) error {
	return s.update(func(st *oaState, now time.Time) error {
		se := st.sessions[openid]
		if se == nil || se.kfAccount != fromKfAccount {
			return fmt.Errorf("kftest: WorkerTransfer: %q does not serve %q", fromKfAccount, openid)
		}
		to, err := s.driverAccount(st, toKfAccount)
		if err != nil {
			return fmt.Errorf("kftest: WorkerTransfer: %w", err)
		}
		switch {
		case toKfAccount == fromKfAccount:
			return fmt.Errorf("kftest: WorkerTransfer: %q already serves %q", toKfAccount, openid)
		case to.wx == "" || !to.online:
			return fmt.Errorf("kftest: WorkerTransfer: %q has no online worker", toKfAccount)
		}
		s.switchSession(st, now, openid, toKfAccount)
		return nil
	})
}

// WorkerClose plays the serving worker closing the session;
// kf_close_session is pushed.
func (s *OAServer) WorkerClose(kfAccount, openid string) error {
	return s.update(func(st *oaState, now time.Time) error {
		se := st.sessions[openid]
		if se == nil || se.kfAccount != kfAccount {
			return fmt.Errorf("kftest: WorkerClose: %q does not serve %q", kfAccount, openid)
		}
		s.closeSession(st, now, now, openid)
		return nil
	})
}

// Session returns the account serving the user, if any.
func (s *OAServer) Session(openid string) (kfAccount string, ok bool) {
	_ = s.update(func(st *oaState, now time.Time) error {
		if se := st.sessions[openid]; se != nil {
			kfAccount, ok = se.kfAccount, true
		}
		return nil
	})
	return kfAccount, ok
}

// Waiting returns the whole wait queue, earliest latest_time first.
func (s *OAServer) Waiting() []mp.WaitCase {
	var out []mp.WaitCase
	_ = s.update(func(st *oaState, now time.Time) error {
		out = st.waitCases()
		return nil
	})
	return out
}
