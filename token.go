package kf

import "github.com/wxkf/kf/internal/wxapi"

// Token is an access_token with its expiry time.
type Token = wxapi.Token

// TokenSource hands out access tokens. Token returns a valid token (fetching
// one when needed); Invalidate drops a token the platform rejected, and only
// that one, so that many callers meeting the same expired token cause one
// refresh. The default source caches in memory, refreshes five minutes
// before expiry (halfway through a lifetime shorter than ten minutes) and
// runs at most one refresh at a time.
type TokenSource = wxapi.TokenSource

// TokenCache stores access tokens so that several clients or processes
// share one. Keys are built from the corp id and a hash of the secret, never
// from the secret itself. Package redisstore provides a Redis TokenCache.
type TokenCache = wxapi.TokenCache

// TokenLocker is an optional TokenCache extension that elects one refresher
// among several processes.
type TokenLocker = wxapi.TokenLocker

// MemoryTokenCache is an in-process TokenCache; the zero value is ready.
type MemoryTokenCache = wxapi.MemoryTokenCache

// StaticTokenSource always returns the same token; for tests and for callers
// that manage tokens elsewhere.
type StaticTokenSource = wxapi.StaticSource
