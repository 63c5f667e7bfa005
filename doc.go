// Package kf is a client for the WeCom 微信客服 (WeChat Customer Service) API,
// the /cgi-bin/kf/ endpoints of qyapi.weixin.qq.com.
//
// Create one Client per corp app and use its services:
//
//	c, err := kf.NewClient(corpID, secret)
//	accounts, err := c.Accounts.List(ctx, &kf.ListAccountsRequest{})
//	resp, err := c.Messages.Send(ctx, &kf.SendMsgRequest{
//		ToUser: externalUserID, OpenKfID: openKfID, Msg: kf.TextMsg("hello"),
//	})
//
// The services follow the platform's documentation areas: Accounts (accounts
// and contact links), Servicers, Sessions (service_state), Messages (sync_msg,
// send_msg, send_msg_on_event, recall_msg), Customers (profiles and the
// upgrade service), Stats (statistics and corp qualification), Knowledge
// (knowledge base) and Media (temporary media).
//
// # Authentication
//
// The client fetches the access_token from /cgi-bin/gettoken with the corp id
// and the app's secret and keeps it in memory, keyed by the corp id and a
// hash of the secret. It refreshes the token five minutes before it expires
// (halfway through the lifetime of a token that lives less than ten minutes),
// and however many goroutines need a token at once, at most one refresh is in
// flight. When the platform rejects a token (40014, 42001, 41001) the client
// drops that token, fetches a new one and replays the call once. Pass
// WithTokenCache to share tokens between processes (package redisstore has a
// Redis cache), or WithTokenSource to take tokens from elsewhere. The token
// travels in the query string; every URL is redacted before it reaches an
// error or a log line.
//
// # Errors
//
// A reply with a non-zero errcode is an *APIError with the operation, the
// code and the platform's errmsg. ErrCode is a defined type with a named
// constant for every documented code; match codes with errors.Is:
//
//	if errors.Is(err, kf.ErrCodeSessionStatusInvalid) {
//		// a human servicer owns the session
//	}
//
// ErrCode methods classify the code (Retryable, RateLimited, TokenProblem,
// ConfigProblem) and explain it (Meaning, Remedy); APIError.Error includes the
// remedy. Frequency and concurrency limits (45009, 45033) come back as
// *RateLimitError. Requests that break a documented limit are refused before
// anything is sent with a *ValidationError naming the field
// (errors.Is(err, kf.ErrInvalidRequest)).
//
// # Retries
//
// Network errors, HTTP 5xx replies and errcode -1 (system busy) are retried
// with jittered exponential backoff, three attempts by default (WithRetry,
// WithRetryer); the backoff sleep ends as soon as the context does. Reads are
// always retried. A write is retried only when a retry cannot apply it twice:
// send_msg and send_msg_on_event carry a msgid (generated when the caller
// gives none) that every attempt reuses, so the platform de-duplicates them.
// Other writes that fail after the request may have reached the platform
// return an error wrapping ErrOutcomeUnknown instead of being retried.
//
// # Received messages
//
// Messages.Sync returns one page of sync_msg; Messages.SyncAll iterates over
// every page while has_more is 1, also across empty pages. Each Message has
// the envelope fields, a typed payload for every documented msgtype and event
// type, and its raw JSON, so that unknown types survive untouched. Package
// kfsync builds exactly-once processing with durable cursors on top of it.
//
// # Callbacks
//
// The platform's callback only says that an account has news. Package
// callback verifies and decrypts it; package kfsync pulls the news.
//
// # Testing with kftest
//
// Package kftest is an emulator of the platform. kftest.NewServer(t) starts it
// on loopback and its Client method returns a *kf.Client pointed at it, so
// that bots can be tested without a real enterprise.
package kf
