package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/wxkf/kf"
)

// Archived is one archived message.
type Archived struct {
	// Seq is the row's position in the archive (increasing in commit order).
	Seq int64
	// OpenKfID is the account the message belongs to (Message.Account()).
	OpenKfID string
	// ExternalUserID is the customer the message concerns
	// (Message.Customer(); "" for events that concern none).
	ExternalUserID string
	// ArchivedAt is when the message was committed, on the store's clock
	// (millisecond precision).
	ArchivedAt time.Time
	// Message is the message decoded from its raw JSON; Message.Raw is the
	// JSON exactly as sync_msg returned it.
	Message kf.Message
}

const archivedColumns = `seq, open_kfid, external_userid, archived_at, raw`

// bounds turns [since, until) into send_time bounds in unix seconds (a zero
// time is no bound) and limit into an SQL LIMIT (≤ 0: none).
func bounds(since, until time.Time, limit int) (lo, hi, lim int64) {
	lo, hi, lim = math.MinInt64, math.MaxInt64, -1
	if !since.IsZero() {
		lo = since.Unix()
		if since.Nanosecond() > 0 { // send_time has whole seconds
			lo++
		}
	}
	if !until.IsZero() {
		hi = until.Unix()
		if until.Nanosecond() > 0 {
			hi++
		}
	}
	if limit > 0 {
		lim = int64(limit)
	}
	return lo, hi, lim
}

// ByCustomer returns the archived messages of one customer of an account
// (events included, by Message.Customer()) whose send_time is in [since,
// until), oldest first (by send_time, then commit order), at most limit of
// them (limit ≤ 0: all). A zero since or until is no bound.
func (s *Store) ByCustomer(ctx context.Context, openKfID, externalUserID string, since, until time.Time, limit int) ([]Archived, error) {
	lo, hi, lim := bounds(since, until, limit)
	rows, err := s.stByCustomer.QueryContext(ctx, openKfID, externalUserID, lo, hi, lim)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: archive of %s/%s: %w", openKfID, externalUserID, err)
	}
	return scanArchived(rows, limit)
}

// ByTime returns the archived messages of an account whose send_time is in
// [since, until), oldest first (by send_time, then commit order), at most
// limit of them (limit ≤ 0: all). A zero since or until is no bound.
func (s *Store) ByTime(ctx context.Context, openKfID string, since, until time.Time, limit int) ([]Archived, error) {
	lo, hi, lim := bounds(since, until, limit)
	rows, err := s.stByTime.QueryContext(ctx, openKfID, lo, hi, lim)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: archive of %s: %w", openKfID, err)
	}
	return scanArchived(rows, limit)
}

// Count returns the number of archived messages of an account, or of all
// accounts when openKfID is "".
func (s *Store) Count(ctx context.Context, openKfID string) (int64, error) {
	var n int64
	var err error
	if openKfID == "" {
		err = s.stCountAll.QueryRowContext(ctx).Scan(&n)
	} else {
		err = s.stCount.QueryRowContext(ctx, openKfID).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: count: %w", err)
	}
	return n, nil
}

func scanArchived(rows *sql.Rows, limit int) ([]Archived, error) {
	defer rows.Close()
	var out []Archived
	if limit > 0 && limit <= 1000 {
		out = make([]Archived, 0, limit)
	}
	for rows.Next() {
		var a Archived
		var at int64
		var raw sql.RawBytes
		if err := rows.Scan(&a.Seq, &a.OpenKfID, &a.ExternalUserID, &at, &raw); err != nil {
			return nil, fmt.Errorf("sqlitestore: read archive: %w", err)
		}
		a.ArchivedAt = time.UnixMilli(at)
		if err := a.Message.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("sqlitestore: archive row %d: %w", a.Seq, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: read archive: %w", err)
	}
	return out, nil
}
