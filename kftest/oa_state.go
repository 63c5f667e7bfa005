package kftest

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wxkf/kf/mp"
)

// oaState is the emulated Official Account. Every access holds
// OAServer.mu (see OAServer.update).
type oaState struct {
	// access_token: the current one, and the ones later fetches replaced
	// (token → when it was replaced).
	token    string
	tokenExp time.Time
	retired  map[string]time.Time
	tstats   OATokenStats

	accounts map[string]*oaAccount // by kf_account
	order    []string              // creation order
	nextKfID int
	external map[string]int // WeChat ID → kf accounts of other Official Accounts it works

	users    map[string]*oaUser
	sessions map[string]*oaSession // by openid
	queue    map[string]*oaWait    // by openid
	records  []oaRecord
	recordID int64
	msgID    int64
}

func newOAState() *oaState {
	return &oaState{
		retired: map[string]time.Time{}, accounts: map[string]*oaAccount{}, nextKfID: 1001,
		external: map[string]int{}, users: map[string]*oaUser{}, sessions: map[string]*oaSession{},
		queue: map[string]*oaWait{}, recordID: 10000000, msgID: 24000000000000000,
	}
}

type oaAccount struct {
	kfAccount  string
	nick       string
	kfID       int
	headImg    []byte
	headImgURL string
	wx         string // WeChat ID of the bound worker ("" = none)
	invite     *oaInvite
	online     bool
	autoAccept int
}

type oaInvite struct {
	wx       string
	expires  time.Time
	rejected bool
}

// status returns the invitation's getkflist status at now.
func (i *oaInvite) status(now time.Time) mp.InviteStatus {
	switch {
	case i.rejected:
		return mp.InviteStatusRejected
	case !now.Before(i.expires):
		return mp.InviteStatusExpired
	}
	return mp.InviteStatusWaiting
}

type oaUser struct {
	openid      string
	lastMsg     time.Time // last message the user sent (zero: never)
	quota       int       // messages left in the window
	received    []OAMessage
	typingUntil time.Time
}

// windowOpen reports whether the customer-message window is open at now.
func (u *oaUser) windowOpen(now time.Time) bool {
	return !u.lastMsg.IsZero() && now.Before(u.lastMsg.Add(oaWindow))
}

// takeWindow consumes one message of the window, or returns 45015/45047.
func (u *oaUser) takeWindow(now time.Time) error {
	if err := u.checkWindow(now); err != nil {
		return err
	}
	u.quota--
	u.typingUntil = time.Time{} // sending a message cancels typing
	return nil
}

func (u *oaUser) checkWindow(now time.Time) error {
	if !u.windowOpen(now) {
		return oaErr(mp.ErrCodeReplyTimeLimit, "response out of time limit or subscription is canceled")
	}
	if u.quota <= 0 {
		return oaErr(mp.ErrCodeOutOfMessageCount, "out of response count limit")
	}
	return nil
}

type oaSession struct {
	kfAccount string
	created   time.Time
	last      time.Time // last message either way (idle timeout)
}

type oaWait struct {
	openid  string
	latest  time.Time // the user's latest message
	pending []oaPending
}

// oaPending is a user message transferred to customer service while the
// user waits; the accepting worker receives it.
type oaPending struct {
	text string
	at   time.Time
}

type oaRecord struct {
	id int64
	mp.Record
}

// user returns the user, creating it (a follower) if needed.
func (st *oaState) user(openid string) *oaUser {
	u := st.users[openid]
	if u == nil {
		u = &oaUser{openid: openid}
		st.users[openid] = u
	}
	return u
}

// record appends a chat record.
func (st *oaState) record(openid string, op mp.OperCode, text string, at time.Time, worker string) {
	st.recordID++
	st.records = append(st.records, oaRecord{id: st.recordID, Record: mp.Record{
		OpenID: openid, OperCode: op, Text: text, Time: at.Unix(), Worker: worker}})
}

// sessionCount returns how many sessions the worker serves.
func (st *oaState) sessionCount(kfAccount string) int {
	n := 0
	for _, se := range st.sessions {
		if se.kfAccount == kfAccount {
			n++
		}
	}
	return n
}

// ---------------------------------------------------------------------------
// Sessions and the queue (shared by the API and the drivers)

// openSession starts a session of the worker with the user: the user leaves
// the queue, the worker receives the transferred messages, and
// kf_create_session is pushed.
func (s *OAServer) openSession(st *oaState, now time.Time, openid, kfAccount string) {
	st.sessions[openid] = &oaSession{kfAccount: kfAccount, created: now, last: now}
	if w := st.queue[openid]; w != nil {
		for _, p := range w.pending {
			st.record(openid, mp.OperCodeWorkerReceived, p.text, p.at, kfAccount)
		}
		delete(st.queue, openid)
	}
	s.pushEvent(openid, now, "kf_create_session", "KfAccount", kfAccount)
}

// closeSession ends the user's session and pushes kf_close_session at at.
func (s *OAServer) closeSession(st *oaState, now, at time.Time, openid string) {
	se := st.sessions[openid]
	delete(st.sessions, openid)
	s.pushEvent(openid, at, "kf_close_session", "KfAccount", se.kfAccount)
	s.autoAssign(st, now)
}

// switchSession hands the user's session to another worker and pushes
// kf_switch_session.
func (s *OAServer) switchSession(st *oaState, now time.Time, openid, to string) {
	se := st.sessions[openid]
	from := se.kfAccount
	se.kfAccount, se.last = to, now
	s.pushEvent(openid, now, "kf_switch_session", "FromKfAccount", from, "ToKfAccount", to)
	s.autoAssign(st, now)
}

// waitCases returns the queue ordered by latest_time (then openid).
func (st *oaState) waitCases() []mp.WaitCase {
	out := make([]mp.WaitCase, 0, len(st.queue))
	for _, w := range st.queue {
		out = append(out, mp.WaitCase{LatestTime: w.latest.Unix(), OpenID: w.openid})
	}
	slices.SortFunc(out, func(a, b mp.WaitCase) int {
		return cmp.Or(cmp.Compare(a.LatestTime, b.LatestTime), strings.Compare(a.OpenID, b.OpenID))
	})
	return out
}

// autoAssign hands waiting users to online workers with an automatic
// accept limit (auto_accept > 0) and room under it, earliest user first,
// least busy worker first. Workers with auto_accept 0 accept by hand only
// (WorkerAccept).
func (s *OAServer) autoAssign(st *oaState, now time.Time) {
	for _, wc := range st.waitCases() {
		best, bestN := "", 0
		for _, name := range st.order {
			a := st.accounts[name]
			if a.wx == "" || !a.online || a.autoAccept <= 0 {
				continue
			}
			n := st.sessionCount(name)
			if n < a.autoAccept && (best == "" || n < bestN) {
				best, bestN = name, n
			}
		}
		if best == "" {
			return
		}
		s.openSession(st, now, wc.OpenID, best)
	}
}

// expire ends what the clock has ended: sessions idle for longer than the
// idle timeout, and typing indicators.
func (s *OAServer) expire(now time.Time) {
	st := s.st
	if d := s.cfg.idleTimeout; d > 0 {
		var ended []string
		for openid, se := range st.sessions {
			if !now.Before(se.last.Add(d)) {
				ended = append(ended, openid)
			}
		}
		slices.SortFunc(ended, func(a, b string) int {
			return st.sessions[a].last.Compare(st.sessions[b].last)
		})
		for _, openid := range ended {
			s.closeSession(st, now, st.sessions[openid].last.Add(d), openid)
		}
	}
	for _, u := range st.users {
		if !u.typingUntil.IsZero() && !now.Before(u.typingUntil) {
			u.typingUntil = time.Time{}
		}
	}
}

// ---------------------------------------------------------------------------
// access_token (§8.1): every fetch invalidates the previous token

// oaTokenPrefix and oaTokenLen give issued tokens a recognisable form, so
// that a string that is not a token at all answers 40014 while a real but
// superseded token answers 40001.
const (
	oaTokenPrefix = "kfoa_"
	oaTokenLen    = len(oaTokenPrefix) + 80
)

// OATokenStats counts token fetches and the token errors the emulator
// answered.
type OATokenStats struct {
	Fetches    int // tokens issued by /cgi-bin/token
	Stale      int // 40001: a token replaced by a later fetch (or never issued)
	Malformed  int // 40014: a string that is not an access_token
	Expired    int // 42001: the current token after its 7200 s
	Missing    int // 41001: no access_token
	GraceUses  int // calls accepted with a replaced token during WithOATokenGrace
	BadSecrets int // fetches refused for a wrong appid or secret
}

// oaToken serves GET /cgi-bin/token?grant_type=client_credential&appid=&secret=.
func (s *OAServer) oaToken(c *oaCall, st *oaState, now time.Time) (any, error) {
	q := c.r.URL.Query()
	appid, secret := q.Get("appid"), q.Get("secret")
	switch {
	case q.Get("grant_type") != "client_credential":
		return nil, oaErr(40002, "invalid grant_type")
	case appid == "":
		return nil, oaErr(41002, "appid missing")
	case appid != s.cfg.appID:
		st.tstats.BadSecrets++
		return nil, oaErr(40013, "invalid appid")
	case secret == "":
		return nil, oaErr(41004, "appsecret missing")
	case secret != s.cfg.secret:
		st.tstats.BadSecrets++
		return nil, oaErr(40125, "invalid appsecret")
	}
	s.issueToken(st, now)
	return struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}{st.token, int(tokenTTL / time.Second)}, nil
}

// issueToken makes a new current token; the previous one is retired.
func (s *OAServer) issueToken(st *oaState, now time.Time) {
	if st.token != "" {
		st.retired[st.token] = now
	}
	for t, at := range st.retired { // keep the map small
		if now.Sub(at) > tokenTTL {
			delete(st.retired, t)
		}
	}
	st.token = oaTokenPrefix + s.randString(oaTokenLen-len(oaTokenPrefix), alnum)
	st.tokenExp = now.Add(tokenTTL)
	st.tstats.Fetches++
}

// checkToken validates access_token: missing 41001, not a token 40014,
// replaced by a later fetch (or unknown) 40001, expired 42001.
func (s *OAServer) checkToken(st *oaState, q url.Values, now time.Time) error {
	tok := q.Get("access_token")
	switch {
	case tok == "":
		st.tstats.Missing++
		return oaErr(mp.ErrCodeAccessTokenMissing, "access_token missing")
	case len(tok) != oaTokenLen || !strings.HasPrefix(tok, oaTokenPrefix):
		st.tstats.Malformed++
		return oaErr(mp.ErrCodeInvalidAccessToken, "invalid access_token")
	case tok == st.token:
		if !now.Before(st.tokenExp) {
			st.tstats.Expired++
			return oaErr(mp.ErrCodeAccessTokenExpired, "access_token expired")
		}
		return nil
	}
	if at, ok := st.retired[tok]; ok && s.cfg.tokenGrace > 0 && now.Before(at.Add(s.cfg.tokenGrace)) {
		st.tstats.GraceUses++
		return nil
	}
	st.tstats.Stale++
	return oaErr(mp.ErrCodeInvalidCredential, "invalid credential, access_token is invalid or not latest")
}

// TokenStats returns the token counters.
func (s *OAServer) TokenStats() OATokenStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.tstats
}

// RotateToken issues a new access_token as if someone else (another SDK, a
// script, the console's debugger) had fetched one: the clients' token
// becomes stale (40001). It returns the new token.
func (s *OAServer) RotateToken() string {
	var tok string
	_ = s.update(func(st *oaState, now time.Time) error {
		s.issueToken(st, now)
		tok = st.token
		return nil
	})
	return tok
}

// ---------------------------------------------------------------------------
// Seed

// OASeed is the initial state of the emulated Official Account.
type OASeed struct {
	// Accounts are kf accounts, with their workers.
	Accounts []OASeedAccount
	// Users are openids of followers (users otherwise appear when they
	// first write, see UserSend, or with AddUser).
	Users []string
	// ExternalBindings gives, per WeChat ID, how many kf accounts of other
	// Official Accounts that person already works; at 5 an invitation
	// answers 65410.
	ExternalBindings map[string]int
}

// OASeedAccount is a seeded kf account.
type OASeedAccount struct {
	// KfAccount is prefix@wechatid, or just the prefix (the Official
	// Account's WeChat ID is appended).
	KfAccount string
	// Nickname defaults to the prefix.
	Nickname string
	// Worker is the WeChat ID of the bound worker; empty for an account
	// without a worker (invite one with inviteworker).
	Worker string
	// Online puts the worker online (needs Worker).
	Online bool
	// AutoAccept is the worker's automatic accept limit: while online with
	// fewer sessions than that, waiting users are handed to the worker
	// automatically. 0 (the default) means the worker accepts by hand
	// (WorkerAccept).
	AutoAccept int
}

func (s *OAServer) applySeed(seed OASeed) error {
	return s.update(func(st *oaState, now time.Time) error {
		for _, sa := range seed.Accounts {
			name := sa.KfAccount
			if !strings.Contains(name, "@") {
				name = s.KfAccount(name)
			}
			if err := s.checkAccountName(name); err != nil {
				return fmt.Errorf("account %q: %w", sa.KfAccount, err)
			}
			if st.accounts[name] != nil {
				return fmt.Errorf("account %q seeded twice", name)
			}
			nick := sa.Nickname
			if nick == "" {
				nick, _, _ = strings.Cut(name, "@")
			}
			a := s.addAccount(st, name, nick)
			if sa.Worker != "" {
				if !oaValidWeChatID(sa.Worker) {
					return fmt.Errorf("account %q: worker %q is not a WeChat ID", name, sa.Worker)
				}
				a.wx = sa.Worker
			}
			if sa.Online && a.wx == "" {
				return fmt.Errorf("account %q: online without a worker", name)
			}
			a.online, a.autoAccept = sa.Online, sa.AutoAccept
		}
		for _, u := range seed.Users {
			if u == "" {
				return fmt.Errorf("empty openid")
			}
			st.user(u)
		}
		for wx, n := range seed.ExternalBindings {
			st.external[wx] = n
		}
		return nil
	})
}

func (s *OAServer) addAccount(st *oaState, name, nick string) *oaAccount {
	a := &oaAccount{kfAccount: name, nick: nick, kfID: st.nextKfID}
	st.nextKfID++
	st.accounts[name] = a
	st.order = append(st.order, name)
	return a
}

// oaValidWeChatID reports whether id has the form of a WeChat ID: 6 to 20
// letters, digits, '_' or '-', starting with a letter.
func oaValidWeChatID(id string) bool {
	if len(id) < 6 || len(id) > 20 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if i == 0 && !letter {
			return false
		}
		if !letter && !('0' <= c && c <= '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func itoaOA(n int) string { return strconv.Itoa(n) }

// oaSortedKeys returns the keys of m in order.
func oaSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
