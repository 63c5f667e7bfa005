// Package kfsync receives the messages of WeCom 微信客服 accounts without
// loss and without duplicates: a sync engine over sync_msg (doc 94670), with
// durable cursors, de-duplication, per-account leases and quota-aware
// replies.
//
// The platform's callback carries no content: it says "account X has news,
// here is a token valid 10 minutes". The application must pull with
// sync_msg, keep the cursor, and never handle a message twice. A Syncer does
// that:
//
//	c, _ := kf.NewClient(corpID, secret)
//	s, _ := kfsync.New(c.Messages, func(ctx context.Context, m kf.Message) error {
//		return handle(ctx, m) // an error retries this message later
//	}, kfsync.WithStore(store), kfsync.WithAccounts(openKfID))
//	go s.Run(ctx)
//	// in the callback handler (package callback):
//	s.Notify(ev.OpenKfID, ev.Token)
//
// # How a pull works
//
// One worker per account (open_kfid) pulls; pulls of one account never
// overlap in one process, and with a Locker (WithLocker) not across
// processes either. A pull takes the lease, loads the committed cursor, and
// reads pages while has_more is 1, empty pages included. For each message
// it skips the msgids already handled (Deduper), calls the Handler, and
// marks the message handled once the handler succeeded: at once with a
// plain Store (Mark), or with a Committer in the page's commit, which
// also carries the messages handled before a failure (a progress commit),
// so that a failure in the middle of a page never re-handles the earlier
// messages. The cursor is committed at the end of the page, after the
// handler succeeded for every message before it. A handler error stops the
// account's pull: it
// backs off (jittered exponential, reset after a healthy period) and
// retries from the last committed cursor, skipping the messages already
// handled. Callback tokens are queued per account and used while valid, so
// that pulls rarely take the strictly rate-limited tokenless path; a token
// the platform rejects (95007) is dropped and the pull retried with the next
// one or without. A safety poll (WithPollInterval) pulls accounts whose
// callbacks went missing.
//
// # The exactly-once contract
//
// Delivery is at-least-once, made exactly-once by de-duplication and atomic
// commits:
//
//   - The cursor never moves past a message whose handler has not
//     succeeded, so nothing is lost: a crash, a failure or a restart
//     re-reads from the committed cursor.
//   - A message is marked handled (by msgid, kept for DefaultDedupTTL: the
//     platform's 3 days of history plus a day) once its handler succeeded,
//     and marked messages are skipped, so re-reads, repeated pages,
//     repeated callbacks and lost cursors do not reach the handler twice.
//   - With a Committer store (MemoryStore, kfsync/sqlitestore, redisstore)
//     the marks, the store's archive rows and the cursor advance of a page
//     are ONE atomic commit. The store's content is then exactly-once
//     whatever instant the process dies at. The handler itself sees a
//     message twice only when the commit that follows its handler does not
//     happen: the process dies, the store fails or the lease is lost after
//     the handler returned and before the commit (at most one page, or
//     WithCommitEvery messages);
//     a handler with external side effects should be idempotent by msgid
//     for that window, for example by writing in the same transaction as the
//     store, or by sending with a msgid derived from the message's.
//   - With a Locker, each pull runs under a lease with an owner token and a
//     fencing number. A worker that loses its lease (expired, taken over,
//     or past its local deadline while a renewal hangs) stops before its
//     next message and its next commit; every commit carries the fence and the
//     store rejects a stale one (ErrStaleFence), so a paused process cannot
//     overwrite a newer owner's progress.
//
// # Stores
//
// Store (CursorStore + Deduper) and the optional Committer and Locker are
// narrow interfaces; their contracts are on the types. MemoryStore and
// MemoryLocker are in-process implementations for tests and single-process
// programs; kfsync/sqlitestore (the embedded default, with an archive of
// every message) and redisstore (shared by several instances, with leases)
// are the durable ones.
//
// # Replies
//
// Replier sends within the platform's rules: 5 API messages per customer
// message within 48 h, only in session states 0 and 1, texts of at most 2048
// bytes, and the welcome message within 20 s of enter_session. It learns
// the windows from the synced stream (WithTap(r.Observe)) and refuses early
// with a *QuotaError instead of burning calls that must fail.
//
// # Observability
//
// Hooks receives per-page events (messages handled, duplicates skipped, lag,
// token or tokenless), errors by stage and errcode, token events and lease
// losses; Syncer.Stats returns counters and the state of every account. A
// *slog.Logger (WithLogger) gets the same in text; the default is silent.
// Time and randomness are injected (WithClock, WithRand), so tests never
// sleep for real.
package kfsync
