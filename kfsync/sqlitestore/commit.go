package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/wxkf/kf/kfsync"
)

// errClosed is returned by writes after Close.
var errClosed = errors.New("sqlitestore: store closed")

// Load implements kfsync.CursorStore.
func (s *Store) Load(ctx context.Context, openKfID string) (string, error) {
	var cursor string
	err := s.stLoad.QueryRowContext(ctx, openKfID).Scan(&cursor)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sqlitestore: load cursor of %s: %w", openKfID, err)
	}
	return cursor, nil
}

// Save implements kfsync.CursorStore. It leaves the fence unchanged.
func (s *Store) Save(ctx context.Context, openKfID, cursor string) error {
	now := s.cfg.now()
	return s.write(ctx, now, func(tx *sql.Tx) error {
		_, err := tx.StmtContext(ctx, s.stSave).ExecContext(ctx, openKfID, cursor, now.UnixMilli())
		if err != nil {
			return fmt.Errorf("sqlitestore: save cursor of %s: %w", openKfID, err)
		}
		return nil
	})
}

// Seen implements kfsync.Deduper: one query for the whole slice.
func (s *Store) Seen(ctx context.Context, openKfID string, msgIDs []string) ([]bool, error) {
	out := make([]bool, len(msgIDs))
	if len(msgIDs) == 0 {
		return out, nil
	}
	now := s.cfg.now().UnixMilli()
	for _, id := range msgIDs {
		if !utf8.ValidString(id) {
			// JSON cannot carry it unchanged: one lookup per msgid.
			return s.seenEach(ctx, openKfID, msgIDs, now, out)
		}
	}
	ids, err := json.Marshal(msgIDs)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: dedup lookup: %w", err)
	}
	rows, err := s.stSeen.QueryContext(ctx, string(ids), openKfID, now)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: dedup lookup of %s: %w", openKfID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		if err := rows.Scan(&i); err != nil {
			return nil, fmt.Errorf("sqlitestore: dedup lookup of %s: %w", openKfID, err)
		}
		if i >= 0 && i < len(out) {
			out[i] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: dedup lookup of %s: %w", openKfID, err)
	}
	return out, nil
}

// seenEach is Seen with one query per msgid.
func (s *Store) seenEach(ctx context.Context, openKfID string, msgIDs []string, now int64, out []bool) ([]bool, error) {
	for i, id := range msgIDs {
		var one int
		err := s.stSeenOne.QueryRowContext(ctx, openKfID, id, now).Scan(&one)
		switch {
		case err == nil:
			out[i] = true
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("sqlitestore: dedup lookup of %s: %w", openKfID, err)
		}
	}
	return out, nil
}

// Mark implements kfsync.Deduper. An existing mark is only ever extended.
func (s *Store) Mark(ctx context.Context, openKfID, msgID string, ttl time.Duration) error {
	now := s.cfg.now()
	return s.write(ctx, now, func(tx *sql.Tx) error {
		_, err := tx.StmtContext(ctx, s.stMark).ExecContext(ctx, openKfID, msgID, now.Add(ttl).UnixMilli())
		if err != nil {
			return fmt.Errorf("sqlitestore: mark %s of %s: %w", msgID, openKfID, err)
		}
		return nil
	})
}

// Commit implements kfsync.Committer in one SQLite transaction: it checks
// the fence (a commit whose fence is lower than the greatest accepted for
// the account fails with an error wrapping kfsync.ErrStaleFence, and
// changes nothing), inserts an archive row for each handled message unless
// the account already has one with its msgid, marks each handled for
// c.TTL, and sets the cursor (unless c.Cursor is "") and the fence. When
// Commit returns an error, nothing was applied.
func (s *Store) Commit(ctx context.Context, c kfsync.Commit) error {
	if c.OpenKfID == "" {
		return errors.New("sqlitestore: commit without open_kfid")
	}
	now := s.cfg.now()
	return s.write(ctx, now, func(tx *sql.Tx) error {
		var fence int64
		known := true
		err := tx.StmtContext(ctx, s.stFence).QueryRowContext(ctx, c.OpenKfID).Scan(&fence)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			known = false
		case err != nil:
			return fmt.Errorf("sqlitestore: commit of %s: read fence: %w", c.OpenKfID, err)
		case c.Fence < fence:
			return fmt.Errorf("sqlitestore: commit of %s with fence %d, %d already accepted: %w",
				c.OpenKfID, c.Fence, fence, kfsync.ErrStaleFence)
		}
		if len(c.Handled) > 0 {
			ins := tx.StmtContext(ctx, s.stArchive)
			mark := tx.StmtContext(ctx, s.stMark)
			at, exp := now.UnixMilli(), now.Add(c.TTL).UnixMilli()
			var raw []byte
			for i := range c.Handled {
				m := &c.Handled[i]
				raw = m.Raw
				if len(raw) == 0 {
					if raw, err = m.MarshalJSON(); err != nil {
						return fmt.Errorf("sqlitestore: commit of %s: encode msgid %s: %w", c.OpenKfID, m.MsgID, err)
					}
				}
				acct := m.Account()
				if acct == "" {
					acct = c.OpenKfID
				}
				if _, err := ins.ExecContext(ctx, acct, m.MsgID, m.Customer(), int64(m.SendTime),
					string(m.MsgType), int64(m.Origin), m.ServicerUserID, at, string(raw)); err != nil {
					return fmt.Errorf("sqlitestore: commit of %s: archive msgid %s: %w", c.OpenKfID, m.MsgID, err)
				}
				if _, err := mark.ExecContext(ctx, c.OpenKfID, m.MsgID, exp); err != nil {
					return fmt.Errorf("sqlitestore: commit of %s: mark msgid %s: %w", c.OpenKfID, m.MsgID, err)
				}
			}
		}
		if s.afterInserts != nil {
			if err := s.afterInserts(&c); err != nil {
				return err
			}
		}
		if c.Cursor != "" || !known || c.Fence > fence {
			if _, err := tx.StmtContext(ctx, s.stCommitCursor).ExecContext(ctx,
				c.OpenKfID, c.Cursor, c.Fence, now.UnixMilli()); err != nil {
				return fmt.Errorf("sqlitestore: commit of %s: cursor: %w", c.OpenKfID, err)
			}
		}
		return nil
	})
}

// write runs fn in a write transaction (BEGIN IMMEDIATE) and commits it,
// then prunes expired marks when due.
func (s *Store) write(ctx context.Context, now time.Time, fn func(tx *sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: commit: %w", err)
	}
	if iv := s.cfg.pruneInterval; iv > 0 && (s.pruneMore || now.Sub(s.lastPrune) >= iv) {
		// Best effort: a failure only delays the reclaiming of space.
		n, err := s.pruneLocked(ctx, now)
		s.lastPrune = now
		s.pruneMore = err == nil && n >= int64(s.cfg.pruneBatch)
	}
	return nil
}

// Prune deletes the dedup marks that expired (on the store's clock), in
// batches, and returns how many it deleted. Commits prune by themselves
// (WithPruneInterval); Prune is for programs that disabled that.
func (s *Store) Prune(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errClosed
	}
	var total int64
	for {
		n, err := s.pruneLocked(ctx, s.cfg.now())
		total += n
		if err != nil || n < int64(s.cfg.pruneBatch) {
			return total, err
		}
	}
}

// pruneLocked deletes one batch of expired marks. s.mu must be held.
func (s *Store) pruneLocked(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.stPrune.ExecContext(ctx, now.UnixMilli(), s.cfg.pruneBatch)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: prune: %w", err)
	}
	return res.RowsAffected()
}

// Fence returns the greatest fence accepted for openKfID (0 when none).
func (s *Store) Fence(ctx context.Context, openKfID string) (int64, error) {
	var fence int64
	err := s.stFenceR.QueryRowContext(ctx, openKfID).Scan(&fence)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("sqlitestore: fence of %s: %w", openKfID, err)
	}
	return fence, nil
}
