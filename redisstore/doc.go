// Package redisstore keeps the state of package kfsync in Redis, so that
// several instances of a service share it: cursors, de-duplication marks,
// per-account leases with fencing, and an access-token cache for the kf and
// mp clients. It uses go-redis v9 (any redis.UniversalClient: a single
// server, Sentinel or Cluster).
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	st := redisstore.New(rdb)
//	client, _ := kf.NewClient(corpID, secret, kf.WithTokenCache(st.TokenCache()))
//	s, _ := kfsync.New(client.Messages, handle,
//		kfsync.WithStore(st),  // cursors, dedup marks, atomic fenced commits
//		kfsync.WithLocker(st), // one puller per account across instances
//	)
//
// Pass the Store as both the store and the locker: its commits check, in the
// same atomic step, the lease it granted.
//
// # Key layout
//
// Every key starts with the prefix (DefaultPrefix "wxkf:", WithPrefix). The
// keys of one account carry the account in a hash tag, so that they live in
// one Redis Cluster slot and one Lua script can touch them all:
//
//	wxkf:{<open_kfid>}:cursor        string: the committed sync_msg cursor (no TTL)
//	wxkf:{<open_kfid>}:seen:<msgid>  "1" with a TTL of at least the dedup TTL: a handled message
//	wxkf:{<open_kfid>}:lease         "<owner>:<fence>" with PX = lease TTL: the current lease
//	wxkf:{<open_kfid>}:fence         integer, no TTL: the last fence granted (INCR only)
//	wxkf:{<open_kfid>}:committed     integer, no TTL: the greatest fence Commit accepted
//	wxkf:token:{<cache key>}         hash {v: access_token, exp: expiry in Unix ms}, PX until expiry
//	wxkf:token:{<cache key>}:lock    random owner token, PX: the token refresh lock
//
// The cache keys are built by the clients from the platform, the app or
// corp id and a hash of the secret (never the secret itself).
//
// De-duplication uses one key per msgid with its own TTL rather than one
// sorted set per account: Redis expires the marks by itself (nothing to
// prune), a mark costs about as much memory as a sorted-set member, and
// Seen is one MGET for a whole page. A mark is never shortened: a later
// mark with a shorter TTL keeps the longer one.
//
// # Lua scripts
//
// Every multi-step operation is one Lua script, so it is atomic, and each
// script does all its checks before its first write, so a refused call
// writes nothing:
//
//   - acquire: if the lease key exists, refuse (kfsync.ErrLeaseHeld);
//     otherwise INCR the fence counter and SET the lease key to
//     "owner:fence" with PX ttl. The counter never expires, so fences only
//     grow, even after a lease expired or was released.
//   - renew: PEXPIRE the lease key if it still holds "owner:fence"
//     (kfsync.ErrLeaseLost otherwise). An expired lease is gone: it cannot
//     be renewed.
//   - release, and the token lock's unlock: DEL the key if it still holds
//     the caller's value (compare-and-delete); otherwise do nothing.
//   - mark: for each msgid, SET its mark with PX ttl unless it already
//     lives longer.
//   - commit (kfsync.Committer): refuse with kfsync.ErrStaleFence when the
//     commit's fence is lower than the account's committed fence, or, when
//     the commit names an owner, when the lease key does not hold exactly
//     "owner:fence" (expired, released or taken over); otherwise raise the
//     committed fence, set the marks of the handled messages and, unless the
//     cursor is "", the cursor. A worker paused after its own lease check
//     therefore cannot commit once its lease expired, and a retried commit
//     (lost reply) is harmless.
//   - token set and compare-and-delete: HSET + PEXPIRE; DEL if the hash
//     holds the given token.
//
// The token lock is a plain SET NX PX with a random owner token.
//
// # Durability
//
// Fencing relies on the fence counter never going back. A Redis that loses
// acknowledged writes (no persistence and a restart, or an asynchronous
// replica promoted after a failover) can grant a fence twice; run Redis with
// AOF persistence, or accept that such an event may let a stale worker
// commit once. The dedup marks and the cursor have the same durability as
// Redis.
package redisstore
