// Package sqlitestore is the embedded, durable store of package kfsync: the
// sync cursors, the de-duplication set and an archive of every message, in
// one SQLite file (modernc.org/sqlite: pure Go, no cgo).
//
//	store, err := sqlitestore.Open(ctx, "kf.db")
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	s, err := kfsync.New(client.Messages, handle, kfsync.WithStore(store))
//
// A *Store implements kfsync.CursorStore, kfsync.Deduper and
// kfsync.Committer. Each Commit is ONE SQLite transaction that checks the
// account's fence, inserts the archive rows (INSERT OR IGNORE on the unique
// (open_kfid, msgid)), records the dedup marks and advances the cursor. The
// archive, the dedup set and the cursor therefore move together: whatever
// instant the process dies at, either the whole commit is in the file or
// none of it is, and the messages of a commit that did not happen are pulled
// again from the old cursor and archived then. The archive holds every
// message exactly once, which the crash test of this package proves by
// killing a syncing process with SIGKILL twenty times.
//
// # Durability
//
// The database runs in WAL mode (journal_mode=WAL) with synchronous=FULL by
// default, busy_timeout 5 s, and write transactions that take the write lock
// when they begin (BEGIN IMMEDIATE), so that a writer in another process
// waits instead of failing halfway:
//
//   - Atomicity, hence exactly-once, holds with either synchronous=FULL or
//     NORMAL, against a process crash and against a power loss: SQLite's WAL
//     commits are atomic in both modes.
//   - Against a process crash (SIGKILL, panic, OOM kill) a commit is durable
//     as soon as Commit returns in both modes: the WAL frames are in the
//     operating system's cache, which survives the process.
//   - Against a power loss or an OS crash, FULL also keeps the last commits
//     (the WAL is fsynced at every commit), while NORMAL may roll the last
//     ones back. The archive stays exactly-once even then (the rolled back
//     messages are pulled again, within the platform's 3 days of history),
//     but the handler would see those messages a second time. FULL is the
//     default for that reason; its cost is one fsync per commit, that is
//     per page of up to 1000 messages, which is small next to the inserts.
//     WithSynchronous(Normal) trades it for throughput on slow disks.
//
// # Schema
//
// Tables: cursors (open_kfid primary key, cursor, fence), dedup (open_kfid,
// msgid, expires_at; primary key (open_kfid, msgid)) and archive (seq, raw
// JSON, and the indexed columns open_kfid, msgid, external_userid,
// send_time, msgtype, origin, servicer_userid, archived_at; unique
// (open_kfid, msgid)). The archive's open_kfid and external_userid are the
// message's Account() and Customer(), so events (whose envelope has neither)
// are filed under their account and customer. The schema is versioned with
// PRAGMA user_version and migrated by Open; a file written by a newer
// version of this package is refused.
//
// Expired dedup marks are pruned incrementally: at most every
// WithPruneInterval (default 10 minutes, on the store's clock) a commit is
// followed by the deletion of one bounded batch of expired marks, through an
// index on expires_at. Seen ignores expired marks, so pruning is only about
// space.
//
// Queries: ByCustomer, ByTime and Count read the archive; the messages come
// back decoded (kf.Message with its Raw JSON). DB gives the read-only pool
// for other queries.
package sqlitestore
