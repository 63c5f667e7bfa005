package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts. Each runs atomically in Redis; every one of them does all
// its checks before its first write, so that a script that refuses has
// written nothing (Redis does not roll back the writes of a script that
// fails half-way). go-redis runs them with EVALSHA and falls back to EVAL
// when the server does not have them cached yet.
//
// Every key a script touches is passed in KEYS, and the keys of one account
// share the hash tag {open_kfid}, so that the scripts also run on a Redis
// Cluster.

// acquireScript takes a lease if it is free.
//
//	KEYS[1] lease key, KEYS[2] fence counter key
//	ARGV[1] owner, ARGV[2] TTL in ms
//	→ {1, fence} granted, or {0, current value, PTTL} held
var acquireScript = redis.NewScript(`
local held = redis.call('GET', KEYS[1])
if held then
  return {0, held, redis.call('PTTL', KEYS[1])}
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. fence, 'PX', ARGV[2])
return {1, fence}
`)

// renewScript extends a lease still held with the given value.
//
//	KEYS[1] lease key
//	ARGV[1] "owner:fence", ARGV[2] TTL in ms
//	→ 1 renewed, 0 lost
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// compareAndDeleteScript deletes a string key only if it holds the given
// value: lease release and token-lock unlock.
//
//	KEYS[1] key
//	ARGV[1] expected value
//	→ 1 deleted, 0 left alone
var compareAndDeleteScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// markScript sets dedup marks, never shortening a longer-lived one.
//
//	KEYS    mark keys
//	ARGV[1] TTL in ms
//	→ 1
var markScript = redis.NewScript(`
local ttl = tonumber(ARGV[1])
for i = 1, #KEYS do
  local left = redis.call('PTTL', KEYS[i])
  if left ~= -1 and left < ttl then
    redis.call('SET', KEYS[i], '1', 'PX', ttl)
  end
end
return 1
`)

// commitScript is kfsync.Committer.Commit: the fence and lease checks, then
// the dedup marks and the cursor advance, in one atomic step.
//
//	KEYS[1] lease key, KEYS[2] cursor key, KEYS[3] committed-fence key,
//	KEYS[4..] mark keys
//	ARGV[1] owner ("" without a Locker), ARGV[2] fence, ARGV[3] new cursor
//	("" keeps it), ARGV[4] mark TTL in ms
//	→ {1} applied, {0, 'fence', greatest accepted fence} or
//	  {0, 'lease', current lease value or ''} rejected, nothing written
var commitScript = redis.NewScript(`
local fence = tonumber(ARGV[2])
local accepted = tonumber(redis.call('GET', KEYS[3]) or '0')
if fence < accepted then
  return {0, 'fence', tostring(accepted)}
end
if ARGV[1] ~= '' then
  local held = redis.call('GET', KEYS[1])
  if held ~= ARGV[1] .. ':' .. ARGV[2] then
    return {0, 'lease', held or ''}
  end
end
if fence > accepted then
  redis.call('SET', KEYS[3], ARGV[2])
end
local ttl = tonumber(ARGV[4])
for i = 4, #KEYS do
  local left = redis.call('PTTL', KEYS[i])
  if left ~= -1 and left < ttl then
    redis.call('SET', KEYS[i], '1', 'PX', ttl)
  end
end
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[2], ARGV[3])
end
return {1}
`)

// tokenSetScript stores a token hash with its expiry.
//
//	KEYS[1] token key
//	ARGV[1] token value, ARGV[2] expiry (Unix ms), ARGV[3] TTL in ms
var tokenSetScript = redis.NewScript(`
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'exp', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// tokenDeleteScript deletes a token hash only if it holds the given token.
//
//	KEYS[1] token key
//	ARGV[1] token value
//	→ 1 deleted, 0 left alone
var tokenDeleteScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'v') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)
