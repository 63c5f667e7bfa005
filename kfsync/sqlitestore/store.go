package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxkf/kf/kfsync"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Defaults of a Store.
const (
	// DefaultBusyTimeout is how long a statement waits for a lock held by
	// another connection or process before it fails with SQLITE_BUSY.
	DefaultBusyTimeout = 5 * time.Second
	// DefaultPruneInterval is how often, at most, expired dedup marks are
	// pruned after a commit.
	DefaultPruneInterval = 10 * time.Minute
	// DefaultPruneBatch is how many expired marks one prune deletes at most
	// (in its own short transaction); when it deletes that many, the next
	// commit prunes again.
	DefaultPruneBatch = 5000
	// DefaultReaders is the size of the pool of read connections.
	DefaultReaders = 4
)

// Synchronous is the SQLite synchronous setting of the write connection
// (see the package doc, Durability).
type Synchronous int

const (
	// Full fsyncs the write-ahead log at every commit: a commit survives a
	// power loss once Commit returned. The default.
	Full Synchronous = iota
	// Normal fsyncs only at checkpoints: a commit survives a process crash
	// once Commit returned, and the last commits may be rolled back (never
	// torn) by a power loss.
	Normal
)

func (s Synchronous) pragma() string {
	if s == Normal {
		return "NORMAL"
	}
	return "FULL"
}

// Errors of Open.
var (
	// ErrNewerSchema is returned by Open for a file whose schema version is
	// newer than this package knows.
	ErrNewerSchema = errors.New("sqlitestore: the database was written by a newer version of this package")
)

type config struct {
	now           func() time.Time
	sync          Synchronous
	busy          time.Duration
	pruneInterval time.Duration
	pruneBatch    int
	readers       int
}

// Option configures a Store.
type Option func(*config) error

// WithClock sets the clock of dedup expiry, pruning and archived_at (default
// time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("WithClock: nil function")
		}
		c.now = now
		return nil
	}
}

// WithSynchronous sets the durability of commits against a power loss
// (default Full; see the package doc).
func WithSynchronous(s Synchronous) Option {
	return func(c *config) error {
		if s != Full && s != Normal {
			return fmt.Errorf("WithSynchronous: unknown setting %d", s)
		}
		c.sync = s
		return nil
	}
}

// WithBusyTimeout sets SQLite's busy_timeout (default DefaultBusyTimeout),
// which matters when several processes open the same file.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("WithBusyTimeout: %v is negative", d)
		}
		c.busy = d
		return nil
	}
}

// WithPruneInterval sets how often, at most, a commit is followed by the
// pruning of expired dedup marks (default DefaultPruneInterval; 0 disables
// automatic pruning: call Prune yourself). batch bounds the marks deleted
// per prune (0 keeps DefaultPruneBatch).
func WithPruneInterval(d time.Duration, batch int) Option {
	return func(c *config) error {
		if d < 0 || batch < 0 {
			return fmt.Errorf("WithPruneInterval: negative interval %v or batch %d", d, batch)
		}
		c.pruneInterval = d
		if batch > 0 {
			c.pruneBatch = batch
		}
		return nil
	}
}

// WithReaders sets the number of read connections (default
// DefaultReaders). Writes always go through one connection.
func WithReaders(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("WithReaders: %d < 1", n)
		}
		c.readers = n
		return nil
	}
}

// Store is a kfsync store in an SQLite file: cursors, dedup marks with
// expiry, fences and an archive of every committed message. It implements
// kfsync.CursorStore, kfsync.Deduper and kfsync.Committer and is safe for
// concurrent use. Several processes may open the same file (writes are
// serialised by SQLite's lock, waiting up to the busy timeout).
type Store struct {
	cfg  config
	path string
	w    *sql.DB // one connection: every write
	r    *sql.DB // the read pool (query_only)

	// Write statements (prepared on w's single connection).
	stFence, stArchive, stMark, stCommitCursor, stSave, stPrune *sql.Stmt
	// Read statements.
	stLoad, stSeen, stSeenOne, stByCustomer, stByTime, stCount, stCountAll, stFenceR *sql.Stmt

	mu        sync.Mutex // serialises the write transactions of this process
	lastPrune time.Time
	pruneMore bool
	closed    bool

	// afterInserts, when set (tests), runs inside Commit's transaction after
	// the archive rows and marks were written; an error aborts the commit.
	afterInserts func(c *kfsync.Commit) error
}

var (
	_ kfsync.Store     = (*Store)(nil)
	_ kfsync.Committer = (*Store)(nil)
)

// dsn builds the data source name of a connection: the pragmas are applied
// by the driver to every new connection of the pool.
func dsn(path string, pragmas ...string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// Open opens (creating it if needed) the store in the SQLite file at path,
// in WAL mode, and migrates its schema. Close it when done.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := config{
		now: time.Now, sync: Full, busy: DefaultBusyTimeout,
		pruneInterval: DefaultPruneInterval, pruneBatch: DefaultPruneBatch, readers: DefaultReaders,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
	}
	switch {
	case path == "" || path == ":memory:" || strings.HasPrefix(path, "file:"):
		return nil, fmt.Errorf("sqlitestore: %q: need the path of a file", path)
	case strings.ContainsRune(path, '?'):
		return nil, fmt.Errorf("sqlitestore: %q: the path may not contain '?'", path)
	}
	busy := "busy_timeout(" + strconv.FormatInt(cfg.busy.Milliseconds(), 10) + ")"

	s := &Store{cfg: cfg, path: path}
	w, err := sql.Open("sqlite", dsn(path, busy, "journal_mode(WAL)",
		"synchronous("+cfg.sync.pragma()+")", "journal_size_limit(67108864)", "foreign_keys(0)"))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s.w = w
	if err := s.checkWAL(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, busy, "query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(cfg.readers)
	r.SetMaxIdleConns(cfg.readers)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	s.r = r
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// checkWAL makes sure the file is in WAL mode (a file on a filesystem that
// cannot share memory, for example, would stay in another mode).
func (s *Store) checkWAL(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlitestore: open %s: %w", s.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlitestore: open %s: journal_mode is %q, not WAL", s.path, mode)
	}
	return nil
}

// prepare prepares the statements.
func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		db  *sql.DB
		st  **sql.Stmt
		sql string
	}{
		{s.w, &s.stFence, `SELECT fence FROM cursors WHERE open_kfid = ?1`},
		{s.w, &s.stArchive, `INSERT OR IGNORE INTO archive
			(open_kfid, msgid, external_userid, send_time, msgtype, origin, servicer_userid, archived_at, raw)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`},
		{s.w, &s.stMark, `INSERT INTO dedup (open_kfid, msgid, expires_at) VALUES (?1, ?2, ?3)
			ON CONFLICT (open_kfid, msgid) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`},
		{s.w, &s.stCommitCursor, `INSERT INTO cursors (open_kfid, cursor, fence, updated_at) VALUES (?1, ?2, ?3, ?4)
			ON CONFLICT (open_kfid) DO UPDATE SET
				cursor = CASE WHEN excluded.cursor <> '' THEN excluded.cursor ELSE cursors.cursor END,
				fence = max(cursors.fence, excluded.fence),
				updated_at = excluded.updated_at`},
		{s.w, &s.stSave, `INSERT INTO cursors (open_kfid, cursor, fence, updated_at) VALUES (?1, ?2, 0, ?3)
			ON CONFLICT (open_kfid) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`},
		{s.w, &s.stPrune, sqlPrune},

		{s.r, &s.stLoad, `SELECT cursor FROM cursors WHERE open_kfid = ?1`},
		{s.r, &s.stFenceR, `SELECT fence FROM cursors WHERE open_kfid = ?1`},
		{s.r, &s.stSeen, sqlSeen},
		{s.r, &s.stSeenOne, `SELECT 1 FROM dedup WHERE open_kfid = ?1 AND msgid = ?2 AND expires_at > ?3`},
		{s.r, &s.stByCustomer, sqlByCustomer},
		{s.r, &s.stByTime, sqlByTime},
		{s.r, &s.stCount, `SELECT count(*) FROM archive WHERE open_kfid = ?1`},
		{s.r, &s.stCountAll, `SELECT count(*) FROM archive`},
	} {
		st, err := p.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("sqlitestore: prepare %q: %w", strings.Join(strings.Fields(p.sql), " "), err)
		}
		*p.st = st
	}
	return nil
}

// Statements whose query plans the tests check.
const (
	// sqlSeen looks the msgids of a JSON array up. CROSS JOIN keeps
	// json_each as the outer loop, so that each msgid is one primary key
	// search (a plain JOIN lets the planner scan the account's marks).
	sqlSeen = `SELECT j.key FROM json_each(?1) AS j
		CROSS JOIN dedup AS d ON d.open_kfid = ?2 AND d.msgid = j.value
		WHERE d.expires_at > ?3`
	sqlByCustomer = `SELECT ` + archivedColumns + ` FROM archive
		WHERE open_kfid = ?1 AND external_userid = ?2 AND send_time >= ?3 AND send_time < ?4
		ORDER BY send_time, seq LIMIT ?5`
	sqlByTime = `SELECT ` + archivedColumns + ` FROM archive
		WHERE open_kfid = ?1 AND send_time >= ?2 AND send_time < ?3
		ORDER BY send_time, seq LIMIT ?4`
	sqlPrune = `DELETE FROM dedup WHERE (open_kfid, msgid) IN
		(SELECT open_kfid, msgid FROM dedup WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)`
)

// Close closes the database. Commits in progress finish first.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// DB returns the pool of read-only connections, for queries of the archive
// that the helpers do not cover. Do not close it.
func (s *Store) DB() *sql.DB { return s.r }

// migrations are the schema versions: migrations[i] brings user_version i
// to i+1. Never edit a released entry; append.
var migrations = []string{
	// 1: cursors, dedup marks and the archive.
	`CREATE TABLE cursors (
		open_kfid  TEXT    NOT NULL PRIMARY KEY,
		cursor     TEXT    NOT NULL DEFAULT '',
		fence      INTEGER NOT NULL DEFAULT 0,
		updated_at INTEGER NOT NULL DEFAULT 0 -- unix ms, store clock
	) WITHOUT ROWID;
	CREATE TABLE dedup (
		open_kfid  TEXT    NOT NULL,
		msgid      TEXT    NOT NULL,
		expires_at INTEGER NOT NULL, -- unix ms, store clock
		PRIMARY KEY (open_kfid, msgid)
	) WITHOUT ROWID;
	CREATE INDEX dedup_expires ON dedup (expires_at);
	CREATE TABLE archive (
		seq             INTEGER PRIMARY KEY, -- insertion order
		open_kfid       TEXT    NOT NULL,    -- Message.Account()
		msgid           TEXT    NOT NULL,
		external_userid TEXT    NOT NULL DEFAULT '', -- Message.Customer()
		send_time       INTEGER NOT NULL,    -- unix seconds
		msgtype         TEXT    NOT NULL,
		origin          INTEGER NOT NULL,
		servicer_userid TEXT    NOT NULL DEFAULT '',
		archived_at     INTEGER NOT NULL,    -- unix ms, store clock
		raw             TEXT    NOT NULL,    -- the message's JSON as received
		UNIQUE (open_kfid, msgid)
	);
	CREATE INDEX archive_customer ON archive (open_kfid, external_userid, send_time);
	CREATE INDEX archive_time ON archive (open_kfid, send_time);`,
}

// SchemaVersion is the schema version this package writes (PRAGMA
// user_version).
const SchemaVersion = 1

// migrate brings the schema to SchemaVersion in one transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("%w (schema version %d, this package knows %d)", ErrNewerSchema, v, len(migrations))
	}
	if v == len(migrations) {
		return nil
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("sqlitestore: migrate to version %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(len(migrations))); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	return nil
}
