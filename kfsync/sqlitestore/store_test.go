package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kfsync/sqlitestore"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var ctx = context.Background()

func open(t testing.TB, path string, opts ...sqlitestore.Option) *sqlitestore.Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "kf.db")
	}
	s, err := sqlitestore.Open(ctx, path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// decode builds a received message from its JSON, as sync_msg would.
func decode(t testing.TB, js string) kf.Message {
	t.Helper()
	var m kf.Message
	if err := m.UnmarshalJSON([]byte(js)); err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	return m
}

// text is a customer's text message.
func text(t testing.TB, openKfID, user, msgID string, sendTime int64, content string) kf.Message {
	return decode(t, fmt.Sprintf(`{"msgid":%q,"open_kfid":%q,"external_userid":%q,"send_time":%d,"origin":3,"msgtype":"text","text":{"content":%q}}`,
		msgID, openKfID, user, sendTime, content))
}

// enter is an enter_session event (no open_kfid or external_userid in the
// envelope).
func enter(t testing.TB, openKfID, user, msgID string, sendTime int64) kf.Message {
	return decode(t, fmt.Sprintf(`{"msgid":%q,"send_time":%d,"origin":4,"msgtype":"event","event":{"event_type":"enter_session","open_kfid":%q,"external_userid":%q,"scene":"s1","welcome_code":"wc"}}`,
		msgID, sendTime, openKfID, user))
}

func ids(msgs []sqlitestore.Archived) []string {
	out := make([]string, len(msgs))
	for i, a := range msgs {
		out[i] = a.Message.MsgID
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func count(t testing.TB, s *sqlitestore.Store, openKfID string) int64 {
	t.Helper()
	n, err := s.Count(ctx, openKfID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func seen(t testing.TB, s *sqlitestore.Store, openKfID string, msgIDs ...string) []bool {
	t.Helper()
	got, err := s.Seen(ctx, openKfID, msgIDs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(msgIDs) {
		t.Fatalf("Seen returned %d answers for %d msgids", len(got), len(msgIDs))
	}
	return got
}

func load(t testing.TB, s *sqlitestore.Store, openKfID string) string {
	t.Helper()
	c, err := s.Load(ctx, openKfID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fence(t testing.TB, s *sqlitestore.Store, openKfID string) int64 {
	t.Helper()
	f, err := s.Fence(ctx, openKfID)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func queryInt(t testing.TB, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestOpenSettingsAndSchema(t *testing.T) {
	t.Parallel()
	s := open(t, "")
	var mode string
	if err := s.DB().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if sqlitestore.SchemaVersion != sqlitestore.Migrations {
		t.Errorf("SchemaVersion %d, %d migrations", sqlitestore.SchemaVersion, sqlitestore.Migrations)
	}
	if v := queryInt(t, s.DB(), "PRAGMA user_version"); v != sqlitestore.SchemaVersion {
		t.Errorf("user_version = %d, want %d", v, sqlitestore.SchemaVersion)
	}
	// The read pool cannot write.
	if _, err := s.DB().ExecContext(ctx, "DELETE FROM archive"); err == nil {
		t.Error("a write through DB() succeeded")
	}
	// Unique archive key.
	if n := queryInt(t, s.DB(), `SELECT count(*) FROM pragma_index_list('archive') WHERE "unique" = 1`); n != 1 {
		t.Errorf("archive has %d unique indexes, want 1", n)
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", ":memory:", "file:x.db", filepath.Join(t.TempDir(), "a?b.db")} {
		if s, err := sqlitestore.Open(ctx, p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
	if _, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "x.db"), sqlitestore.WithReaders(0)); err == nil {
		t.Error("WithReaders(0) accepted")
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kf.db")
	s := open(t, path)
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", sqlitestore.SchemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := sqlitestore.Open(ctx, path); !errors.Is(err, sqlitestore.ErrNewerSchema) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open = %v, want ErrNewerSchema", err)
	}
}

func TestCursorLoadSave(t *testing.T) {
	t.Parallel()
	s := open(t, "")
	if c := load(t, s, "wkA"); c != "" {
		t.Fatalf("Load of a new account = %q", c)
	}
	for _, c := range []string{"c1", "c2"} {
		if err := s.Save(ctx, "wkA", c); err != nil {
			t.Fatal(err)
		}
		if got := load(t, s, "wkA"); got != c {
			t.Fatalf("Load = %q, want %q", got, c)
		}
	}
	if c := load(t, s, "wkB"); c != "" {
		t.Fatalf("cursor leaked to another account: %q", c)
	}
	// Save keeps the fence.
	if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: "c3", Fence: 4}); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "wkA", "c4"); err != nil {
		t.Fatal(err)
	}
	if f, c := fence(t, s, "wkA"), load(t, s, "wkA"); f != 4 || c != "c4" {
		t.Fatalf("after Save: fence %d cursor %q, want 4 c4", f, c)
	}
}

func TestSeenMarkTTL(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	s := open(t, "", sqlitestore.WithClock(clk.Now))
	if got := seen(t, s, "wkA", "m1", "m2"); got[0] || got[1] {
		t.Fatalf("Seen on an empty store = %v", got)
	}
	if got := seen(t, s, "wkA"); len(got) != 0 {
		t.Fatalf("Seen() = %v", got)
	}
	if err := s.Mark(ctx, "wkA", "m1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Mark(ctx, "wkA", `m"3\`, 2*time.Hour); err != nil { // JSON-special characters
		t.Fatal(err)
	}
	if got := seen(t, s, "wkA", "m0", "m1", "m2", `m"3\`, "m1"); !equal(fmtBools(got), fmtBools([]bool{false, true, false, true, true})) {
		t.Fatalf("Seen = %v", got)
	}
	// Invalid UTF-8 (not expressible in JSON) takes the slow path.
	if err := s.Mark(ctx, "wkA", "bad\xff", time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := seen(t, s, "wkA", "m1", "bad\xff", "bad\xfe", "m0"); !got[0] || !got[1] || got[2] || got[3] {
		t.Fatalf("Seen with invalid UTF-8 = %v", got)
	}
	if got := seen(t, s, "wkB", "m1"); got[0] {
		t.Fatal("a mark leaked to another account")
	}
	clk.Advance(time.Hour - time.Millisecond)
	if got := seen(t, s, "wkA", "m1"); !got[0] {
		t.Fatal("mark forgotten before its TTL")
	}
	clk.Advance(time.Millisecond)
	if got := seen(t, s, "wkA", "m1", `m"3\`); got[0] || !got[1] {
		t.Fatalf("after 1h: Seen = %v, want [false true]", got)
	}
	// A shorter TTL never shortens a mark.
	if err := s.Mark(ctx, "wkA", `m"3\`, time.Minute); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Minute)
	if got := seen(t, s, "wkA", `m"3\`); !got[0] {
		t.Fatal("a later, shorter Mark shortened the mark")
	}
	// Commit marks with its TTL too.
	if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Handled: []kf.Message{text(t, "wkA", "wmC", "m9", 1, "x")}, TTL: 4 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(4*24*time.Hour - time.Second)
	if got := seen(t, s, "wkA", "m9"); !got[0] {
		t.Fatal("committed mark forgotten before its TTL")
	}
	clk.Advance(time.Second)
	if got := seen(t, s, "wkA", "m9"); got[0] {
		t.Fatal("committed mark kept after its TTL")
	}
}

func fmtBools(b []bool) []string {
	out := make([]string, len(b))
	for i, v := range b {
		out[i] = fmt.Sprint(v)
	}
	return out
}

func TestCommitArchivesMarksAndAdvances(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	s := open(t, "", sqlitestore.WithClock(clk.Now))
	page := []kf.Message{
		text(t, "wkA", "wmC", "m1", 100, "hello"),
		enter(t, "wkA", "wmD", "e1", 101),
		text(t, "wkA", "wmC", "m2", 102, "again"),
	}
	if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: "c1", Handled: page, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "wkA"); n != 3 {
		t.Fatalf("Count = %d, want 3", n)
	}
	if got := seen(t, s, "wkA", "m1", "e1", "m2", "m3"); !got[0] || !got[1] || !got[2] || got[3] {
		t.Fatalf("Seen = %v", got)
	}
	if c := load(t, s, "wkA"); c != "c1" {
		t.Fatalf("cursor = %q", c)
	}
	// A progress commit (no cursor) keeps the cursor.
	if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Handled: []kf.Message{text(t, "wkA", "wmC", "m3", 103, "3")}, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if c, n := load(t, s, "wkA"), count(t, s, "wkA"); c != "c1" || n != 4 {
		t.Fatalf("after a progress commit: cursor %q count %d, want c1 4", c, n)
	}
	// Retrying a commit (an unknown outcome) is harmless: rows keyed by
	// msgid.
	if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: "c2", Handled: page, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if c, n := load(t, s, "wkA"), count(t, s, "wkA"); c != "c2" || n != 4 {
		t.Fatalf("after a repeated commit: cursor %q count %d, want c2 4", c, n)
	}
	if n := queryInt(t, s.DB(), "SELECT count(*) - count(DISTINCT open_kfid || ' ' || msgid) FROM archive"); n != 0 {
		t.Fatalf("%d duplicate archive rows", n)
	}
	// Message built in code (no Raw) is archived from MarshalJSON.
	built := kf.Message{MsgID: "b1", OpenKfID: "wkA", ExternalUserID: "wmC", SendTime: 104, Origin: kf.OriginCustomer,
		MsgType: kf.MsgTypeText, Payload: &kf.Text{Content: "built"}}
	if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Handled: []kf.Message{built}, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ByCustomer(ctx, "wkA", "wmC", time.Unix(104, 0), time.Time{}, 0)
	if err != nil || len(got) != 1 || got[0].Message.Text() == nil || got[0].Message.Text().Content != "built" {
		t.Fatalf("built message: %+v, %v", got, err)
	}
	if !got[0].ArchivedAt.Equal(clk.Now()) {
		t.Errorf("ArchivedAt = %v, want %v", got[0].ArchivedAt, clk.Now())
	}
	if err := s.Commit(ctx, kfsync.Commit{}); err == nil {
		t.Error("a commit without open_kfid succeeded")
	}
}

func TestCommitAtomicity(t *testing.T) {
	t.Parallel()
	s := open(t, "")
	first := []kf.Message{text(t, "wkA", "wmC", "m1", 100, "1")}
	if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: "c1", Handled: first, TTL: time.Hour, Fence: 2}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	calls := 0
	sqlitestore.SetAfterInserts(s, func(c *kfsync.Commit) error { calls++; return boom })
	page := []kf.Message{text(t, "wkA", "wmC", "m2", 101, "2"), enter(t, "wkA", "wmD", "e3", 102), text(t, "wkA", "wmC", "m4", 103, "4")}
	err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: "c2", Handled: page, TTL: time.Hour, Fence: 3})
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("Commit = %v (hook called %d times), want the injected failure", err, calls)
	}
	// Nothing of it was applied.
	if n := count(t, s, ""); n != 1 {
		t.Errorf("Count = %d after a failed commit, want 1", n)
	}
	if got := seen(t, s, "wkA", "m2", "e3", "m4"); got[0] || got[1] || got[2] {
		t.Errorf("marks of a failed commit were kept: %v", got)
	}
	if c, f := load(t, s, "wkA"), fence(t, s, "wkA"); c != "c1" || f != 2 {
		t.Errorf("cursor %q fence %d after a failed commit, want c1 2", c, f)
	}
	// The retry applies everything.
	sqlitestore.SetAfterInserts(s, nil)
	if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: "c2", Handled: page, TTL: time.Hour, Fence: 3}); err != nil {
		t.Fatal(err)
	}
	if n, c := count(t, s, "wkA"), load(t, s, "wkA"); n != 4 || c != "c2" {
		t.Errorf("after the retry: count %d cursor %q", n, c)
	}
}

func TestCommitCancelledContextAppliesNothing(t *testing.T) {
	t.Parallel()
	s := open(t, "")
	cctx, cancel := context.WithCancel(ctx)
	sqlitestore.SetAfterInserts(s, func(*kfsync.Commit) error { cancel(); return nil })
	err := s.Commit(cctx, kfsync.Commit{OpenKfID: "wkA", Cursor: "c1", Handled: []kf.Message{text(t, "wkA", "wmC", "m1", 1, "x")}, TTL: time.Hour})
	if err == nil {
		t.Fatal("Commit with a context cancelled mid-transaction succeeded")
	}
	if n, c := count(t, s, ""), load(t, s, "wkA"); n != 0 || c != "" {
		t.Errorf("count %d cursor %q after a cancelled commit", n, c)
	}
}

func TestFencing(t *testing.T) {
	t.Parallel()
	s := open(t, "")
	commit := func(f int64, cursor, msgID string) error {
		return s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: cursor, Fence: f, Owner: "o",
			Handled: []kf.Message{text(t, "wkA", "wmC", msgID, 1, msgID)}, TTL: time.Hour})
	}
	if err := commit(5, "c5", "m5"); err != nil {
		t.Fatal(err)
	}
	for _, stale := range []int64{4, 0} {
		err := commit(stale, fmt.Sprint("stale", stale), fmt.Sprint("s", stale))
		if !errors.Is(err, kfsync.ErrStaleFence) {
			t.Fatalf("commit with fence %d after 5 = %v, want ErrStaleFence", stale, err)
		}
		if got := seen(t, s, "wkA", fmt.Sprint("s", stale)); got[0] {
			t.Errorf("a stale commit marked its message")
		}
	}
	if n, c, f := count(t, s, "wkA"), load(t, s, "wkA"), fence(t, s, "wkA"); n != 1 || c != "c5" || f != 5 {
		t.Fatalf("after stale commits: count %d cursor %q fence %d, want 1 c5 5", n, c, f)
	}
	if err := commit(5, "c5b", "m5b"); err != nil { // the same lease again
		t.Fatal(err)
	}
	if err := commit(9, "", "m9"); err != nil { // a newer lease, progress only
		t.Fatal(err)
	}
	if c, f := load(t, s, "wkA"), fence(t, s, "wkA"); c != "c5b" || f != 9 {
		t.Fatalf("cursor %q fence %d, want c5b 9", c, f)
	}
	if err := commit(5, "c", "x"); !errors.Is(err, kfsync.ErrStaleFence) {
		t.Fatalf("fence 5 after 9 = %v", err)
	}
	// Fences are per account.
	if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkB", Cursor: "b1"}); err != nil {
		t.Fatal(err)
	}
}

func TestQueries(t *testing.T) {
	t.Parallel()
	s := open(t, "")
	var pageA []kf.Message
	for i := range 10 {
		user := []string{"wmC", "wmD"}[i%2]
		pageA = append(pageA, text(t, "wkA", user, fmt.Sprint("a", i), int64(1000+i*10), fmt.Sprint("text ", i)))
	}
	pageA = append(pageA, enter(t, "wkA", "wmC", "eC", 1005))
	// An out-of-order send_time: results are ordered by send_time.
	pageA = append(pageA, text(t, "wkA", "wmC", "late", 999, "late"))
	if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: "x", Handled: pageA, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkB", Cursor: "y", Handled: []kf.Message{text(t, "wkB", "wmC", "b0", 1000, "b")}, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if a, b, all := count(t, s, "wkA"), count(t, s, "wkB"), count(t, s, ""); a != 12 || b != 1 || all != 13 {
		t.Fatalf("counts %d %d %d", a, b, all)
	}
	got, err := s.ByCustomer(ctx, "wkA", "wmC", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"late", "a0", "eC", "a2", "a4", "a6", "a8"}; !equal(ids(got), want) {
		t.Fatalf("ByCustomer = %v, want %v", ids(got), want)
	}
	for _, a := range got {
		if a.OpenKfID != "wkA" || a.ExternalUserID != "wmC" || a.Seq == 0 || len(a.Message.Raw) == 0 {
			t.Errorf("row %+v", a)
		}
	}
	if ev := got[2].Message.Event(); ev == nil || ev.EventType != kf.EventEnterSession || got[2].Message.Account() != "wkA" {
		t.Errorf("event row decoded as %+v", got[2].Message)
	}
	if tx := got[1].Message.Text(); tx == nil || tx.Content != "text 0" {
		t.Errorf("text row decoded as %+v", got[1].Message)
	}
	// [since, until), whole seconds; sub-second bounds round inwards.
	got, _ = s.ByCustomer(ctx, "wkA", "wmC", time.Unix(1005, 0), time.Unix(1040, 0), 0)
	if want := []string{"eC", "a2"}; !equal(ids(got), want) {
		t.Errorf("ByCustomer [1005,1040) = %v, want %v", ids(got), want)
	}
	got, _ = s.ByCustomer(ctx, "wkA", "wmC", time.Unix(1004, 1), time.Unix(1040, 1), 0)
	if want := []string{"eC", "a2", "a4"}; !equal(ids(got), want) {
		t.Errorf("ByCustomer [1004.000000001,1040.000000001) = %v, want %v", ids(got), want)
	}
	got, _ = s.ByCustomer(ctx, "wkA", "wmC", time.Time{}, time.Time{}, 2)
	if want := []string{"late", "a0"}; !equal(ids(got), want) {
		t.Errorf("ByCustomer limit 2 = %v", ids(got))
	}
	got, _ = s.ByCustomer(ctx, "wkB", "wmD", time.Time{}, time.Time{}, 0)
	if len(got) != 0 {
		t.Errorf("ByCustomer of an unknown pair = %v", ids(got))
	}
	got, err = s.ByTime(ctx, "wkA", time.Unix(1000, 0), time.Unix(1030, 0), 0)
	if want := []string{"a0", "eC", "a1", "a2"}; err != nil || !equal(ids(got), want) {
		t.Errorf("ByTime = %v, %v; want %v", ids(got), err, want)
	}
	got, _ = s.ByTime(ctx, "wkA", time.Time{}, time.Time{}, 3)
	if want := []string{"late", "a0", "eC"}; !equal(ids(got), want) {
		t.Errorf("ByTime limit 3 = %v, want %v", ids(got), want)
	}
	got, _ = s.ByTime(ctx, "wkB", time.Time{}, time.Time{}, 0)
	if want := []string{"b0"}; !equal(ids(got), want) {
		t.Errorf("ByTime wkB = %v", ids(got))
	}
	// The indexed columns.
	if n := queryInt(t, s.DB(), `SELECT count(*) FROM archive WHERE msgtype = 'event' AND origin = 4 AND external_userid = 'wmC' AND open_kfid = 'wkA' AND send_time = 1005`); n != 1 {
		t.Errorf("event row columns: %d matches", n)
	}
}

func TestQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	s := open(t, "")
	for name, c := range map[string]struct {
		want string
		args []any
	}{
		"seen":       {"SEARCH d USING PRIMARY KEY (open_kfid=? AND msgid=?)", []any{`["x"]`, "a", 1}},
		"byCustomer": {"archive_customer (open_kfid=? AND external_userid=? AND send_time>? AND send_time<?)", []any{"a", "b", 1, 2, 3}},
		"byTime":     {"archive_time (open_kfid=? AND send_time>? AND send_time<?)", []any{"a", 1, 2, 3}},
		"prune":      {"dedup_expires (expires_at<?)", []any{1, 2}},
	} {
		want := c.want
		rows, err := s.DB().QueryContext(ctx, "EXPLAIN QUERY PLAN "+sqlitestore.Queries[name], c.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "; ")
		if !strings.Contains(all, want) || strings.Contains(all, "SCAN d") || strings.Contains(all, "SCAN archive") ||
			strings.Contains(all, "TEMP B-TREE") {
			t.Errorf("plan of %s: %s\nwant %s, no scan, no sort", name, all, want)
		}
	}
}

func TestTwoHandlesOnOneFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kf.db")
	a, b := open(t, path), open(t, path)
	var wg sync.WaitGroup
	for i, s := range []*sqlitestore.Store{a, b} {
		wg.Go(func() {
			for j := range 50 {
				id := fmt.Sprintf("h%d-%d", i, j)
				if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: id, TTL: time.Hour,
					Handled: []kf.Message{text(t, "wkA", "wmC", id, 1, id)}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := count(t, a, "wkA"); n != 100 {
		t.Fatalf("count = %d, want 100", n)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	s := open(t, "", sqlitestore.WithClock(clk.Now), sqlitestore.WithPruneInterval(time.Minute, 10))
	marks := func() int64 { return queryInt(t, s.DB(), "SELECT count(*) FROM dedup") }
	var page []kf.Message
	for i := range 25 {
		page = append(page, text(t, "wkA", "wmC", fmt.Sprint("m", i), 1, "x"))
	}
	if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Handled: page, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := s.Mark(ctx, "wkA", "long", 10*time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := marks(); n != 26 {
		t.Fatalf("marks = %d", n)
	}
	clk.Advance(2 * time.Hour)
	// Each commit prunes one batch of 10 while a full batch was deleted,
	// then waits for the interval.
	for i, want := range []int64{16, 6, 1, 1} {
		if err := s.Commit(ctx, kfsync.Commit{OpenKfID: "wkA", Cursor: fmt.Sprint("c", i)}); err != nil {
			t.Fatal(err)
		}
		if n := marks(); n != want {
			t.Fatalf("after commit %d: %d marks, want %d", i, n, want)
		}
	}
	if n := count(t, s, "wkA"); n != 25 {
		t.Fatalf("pruning touched the archive: count %d", n)
	}
	// Prune drains everything expired.
	for i := range 30 {
		if err := s.Mark(ctx, "wkB", fmt.Sprint("b", i), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(11 * time.Hour)
	if n, err := s.Prune(ctx); err != nil || n != 31 {
		t.Fatalf("Prune = %d, %v; want 31", n, err)
	}
	if n := marks(); n != 0 {
		t.Fatalf("%d marks left", n)
	}
}

func TestConcurrentCommits(t *testing.T) {
	t.Parallel()
	s := open(t, "")
	const accounts, commits, per = 6, 20, 25
	var wg sync.WaitGroup
	for a := range accounts {
		acct := fmt.Sprint("wk", a)
		wg.Go(func() {
			for c := range commits {
				page := make([]kf.Message, 0, per)
				for i := range per {
					page = append(page, text(t, acct, fmt.Sprint("wm", i%3), fmt.Sprintf("%s-%d-%d", acct, c, i), int64(c*per+i), "x"))
				}
				if err := s.Commit(ctx, kfsync.Commit{OpenKfID: acct, Cursor: fmt.Sprint("c", c), Handled: page, TTL: time.Hour, Fence: int64(c)}); err != nil {
					t.Error(err)
					return
				}
				// Reads run concurrently with the other accounts' commits.
				got, err := s.Seen(ctx, acct, []string{page[0].MsgID, page[per-1].MsgID, "nope"})
				if err != nil || !got[0] || !got[1] || got[2] {
					t.Errorf("Seen = %v, %v", got, err)
					return
				}
				if cur, err := s.Load(ctx, acct); err != nil || cur != fmt.Sprint("c", c) {
					t.Errorf("Load = %q, %v", cur, err)
					return
				}
				if _, err := s.ByTime(ctx, acct, time.Time{}, time.Time{}, 10); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for a := range accounts {
		if n := count(t, s, fmt.Sprint("wk", a)); n != commits*per {
			t.Errorf("account %d: %d rows, want %d", a, n, commits*per)
		}
	}
}
