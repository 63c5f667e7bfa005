package kftest

import (
	"sync"
	"time"

	"github.com/wxkf/kf"
)

// Store holds the emulated platform's state. Every read goes through View
// and every change through Update, each of which runs its function while no
// other Update runs, so that each API call and driver action is atomic.
// NewMemoryStore is the built-in implementation.
type Store interface {
	// View runs fn with read access to the state.
	View(fn func(*State) error) error
	// Update runs fn with exclusive access to the state.
	Update(fn func(*State) error) error
}

// MemoryStore is the in-memory Store.
type MemoryStore struct {
	mu sync.RWMutex
	st *State
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{st: newState()} }

// View implements Store.
func (m *MemoryStore) View(fn func(*State) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return fn(m.st)
}

// Update implements Store.
func (m *MemoryStore) Update(fn func(*State) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fn(m.st)
}

// State is the emulated platform: one corp with its apps' secrets, tokens,
// KF accounts, servicers, customers, sessions, message logs, media and
// knowledge base. Its fields are private to the emulator; use the Server's
// methods to seed and inspect it.
type State struct {
	corpID  string
	secrets map[string]bool // app secrets allowed to fetch tokens

	tokens map[string]time.Time // access_token → expiry

	accounts     map[string]*account // by open_kfid
	accountOrder []string            // creation order (account/list)

	users     map[string]*member // WeCom members (possible servicers) by userid
	customers map[string]*customer
	sessions  map[sessionKey]*session
	codes     map[string]*eventCode // send_msg_on_event codes
	cbTokens  map[string]cbToken    // sync_msg tokens from callbacks

	media map[string]*media

	kb kbState

	upgradeMembers    []string
	upgradeDepts      []int
	upgradeGroupChats []string

	qualification bool // wechat_channels_binding

	seq uint64 // id generator
}

func newState() *State {
	return &State{
		secrets:   map[string]bool{},
		tokens:    map[string]time.Time{},
		accounts:  map[string]*account{},
		users:     map[string]*member{},
		customers: map[string]*customer{},
		sessions:  map[sessionKey]*session{},
		codes:     map[string]*eventCode{},
		cbTokens:  map[string]cbToken{},
		media:     map[string]*media{},
		kb:        newKBState(),
	}
}

// account is one KF account with its servicers, links and sync log.
type account struct {
	openKfID string
	name     string
	mediaID  string
	avatar   string
	managed  bool // manage_privilege of the calling app

	servicers     map[string]*servicer // userid → servicer
	servicerOrder []string
	departments   []int

	links map[string]contactLink // link id → scene

	// log is the account's sync_msg log, oldest first. seq numbers are
	// dense: log[i].seq == logBase+i.
	log     []logEntry
	logBase uint64

	sent map[string]*sentMsg // msgid → message sent through the API

	tokenless rateWindow // tokenless sync_msg calls

	stats map[int64]*dayStats // day (unix of 00:00 local) → counters
}

// servicer is a member assigned to an account. Receiving status lives on the
// member (a servicer's status is the same in every account).
type servicer struct {
	userID       string
	departmentID int // set for department entries
}

// member is a WeCom member that can act as a servicer.
type member struct {
	userID    string
	activated bool
	status    int // 0 receiving, 1 stopped
	stopType  int // 0 stopped, 1 suspended (when status == 1)
}

// customer is a WeChat user.
type customer struct {
	externalUserID string
	nickname       string
	avatar         string
	gender         int
	unionID        string
	lastActive     map[string]time.Time // open_kfid → last message or enter_session
	lastEnter      *enterContext
}

type enterContext struct {
	openKfID   string
	scene      string
	sceneParam string
	at         time.Time
	channels   *WeChatChannelsInfo // entered from 视频号 (nil otherwise)
}

type sessionKey struct{ openKfID, externalUserID string }

// session is the conversation of one customer with one account.
type session struct {
	state    kf.ServiceState
	servicer string // userid when state == 3

	consulted       bool      // the customer ever sent a message
	lastCustomerMsg time.Time // opens the 48 h window
	budget          int       // API messages left for the last customer message
	lastWelcome     time.Time
	visitedPool     bool   // has been in state 2 this session (queue msg_code once)
	visitedServicer bool   // has been in state 3 this session (accept msg_code once)
	rejecting       bool   // a servicer rejects the customer's messages
	lastServicer    string // the servicer who last had the session (change_type 4)
	gen             int    // session generation: bumped when a new session starts

	upgrade *upgradeRec

	// received is the whole ordered exchange of the session (messaging.go):
	// what the customer saw (From "api", "event", "servicer"), the
	// customer's own messages (From "customer") and the system events of
	// the sync log (From "system"). Server.Received filters it.
	received []Delivered
}

// Delivered is one message as the customer sees it in WeChat.
type Delivered struct {
	MsgID    string    `json:"msgid"`
	From     string    `json:"from"` // "api", "event", "servicer", "customer", "system"
	Servicer string    `json:"servicer_userid,omitempty"`
	MsgType  string    `json:"msgtype"`
	Payload  jsonRaw   `json:"payload"`
	SentAt   time.Time `json:"sent_at"`
	Recalled bool      `json:"recalled,omitempty"`
	Origin   kf.Origin `json:"origin,omitempty"`
	// Failed marks an API message reported as failed by Server.SendFailed,
	// with its fail_type.
	Failed   bool `json:"failed,omitempty"`
	FailType int  `json:"fail_type,omitempty"`
}

type upgradeRec struct {
	typ     int
	userID  string
	chatID  string
	wording string
}

// eventCode is a send_msg_on_event code.
type eventCode struct {
	kind     codeKind
	key      sessionKey
	expires  time.Time
	used     bool
	forState kf.ServiceState // state the session must still be in (not for welcome)
	gen      int             // session generation the code belongs to
}

type codeKind int

const (
	codeWelcome codeKind = iota + 1
	codeQueue
	codeAccept
	codeEnd
)

type cbToken struct {
	openKfID string
	expires  time.Time
}

type logEntry struct {
	seq   uint64
	at    time.Time
	msgID string
	raw   []byte
}

type sentMsg struct {
	msgID   string
	key     sessionKey
	sentAt  time.Time
	msgType string
	recall  bool
}

type contactLink struct {
	scene string
	enc   string // the link's enc_scene value ("" when made without a scene)
}

type media struct {
	id       string
	typ      string
	filename string
	ctype    string
	data     []byte
	created  time.Time
}

type dayStats struct {
	sessions     int
	customers    map[string]bool
	customerMsgs int
	servicer     map[string]*servicerDay
	rejected     map[string]bool // customers whose messages a servicer rejected
	upgrade      upgradeDay      // upgrade-service recommendations (admin_customers.go)
}

// statsZone is the time zone of the platform's statistics days (China
// Standard Time): a day starts at 00:00 UTC+8.
var statsZone = time.FixedZone("CST", 8*60*60)

// statsDayStart returns the unix time of 00:00 (statsZone) of t's day, the
// key of account.stats.
func statsDayStart(t time.Time) int64 {
	y, m, d := t.In(statsZone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, statsZone).Unix()
}

// statsAt returns the account's counters of t's day, creating them.
func (a *account) statsAt(t time.Time) *dayStats {
	day := statsDayStart(t)
	ds := a.stats[day]
	if ds == nil {
		ds = &dayStats{customers: map[string]bool{}, servicer: map[string]*servicerDay{}, rejected: map[string]bool{}}
		a.stats[day] = ds
	}
	return ds
}

// servicerAt returns the servicer's counters of the day, creating them.
func (ds *dayStats) servicerAt(userID string) *servicerDay {
	sd := ds.servicer[userID]
	if sd == nil {
		sd = &servicerDay{customers: map[string]bool{}}
		ds.servicer[userID] = sd
	}
	return sd
}

type servicerDay struct {
	sessions  int
	customers map[string]bool
	msgs      int        // customer messages in sessions the servicer handled
	replies   int        // messages the servicer sent
	upgrade   upgradeDay // recommendations made while the servicer held the session
}

type rateWindow struct {
	start time.Time
	n     int
}
