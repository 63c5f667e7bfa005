package mp

import "github.com/wxkf/kf/internal/wxapi"

// Token is an access_token with its expiry time.
type Token = wxapi.Token

// TokenSource hands out access tokens. Token returns a valid token (fetching
// one when needed); Invalidate drops a token the platform rejected, and only
// that one, so that many callers meeting the same stale token cause one
// refresh. It is the same interface as package kf's.
type TokenSource = wxapi.TokenSource

// TokenCache stores access tokens so that several clients or processes
// share one. It is the same interface as package kf's, so one store serves
// both; keys are built from the platform, the app id and a hash of the
// secret, never from the secret itself. Package redisstore provides a Redis
// TokenCache.
type TokenCache = wxapi.TokenCache

// TokenLocker is an optional TokenCache extension that elects one refresher
// among several processes. Official Accounts need it: a fetch invalidates
// the previous token, so two instances refreshing at once would invalidate
// each other's tokens.
type TokenLocker = wxapi.TokenLocker

// MemoryTokenCache is an in-process TokenCache; the zero value is ready. It
// does not implement TokenLocker (within one process the client already runs
// at most one refresh at a time).
type MemoryTokenCache = wxapi.MemoryTokenCache

// StaticTokenSource always returns the same token; for tests and for callers
// that manage tokens elsewhere.
type StaticTokenSource = wxapi.StaticSource
