package mp

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/wxkf/kf/internal/wxapi"
)

// DefaultBaseURL is the Official Account API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// Clock tells the time. It is injected so that tests can control token
// expiry.
type Clock interface {
	Now() time.Time
}

// Retryer decides whether and when a failed call is tried again. See
// NewStandardRetryer for the default.
type Retryer = wxapi.Retryer

// StandardRetryerConfig configures NewStandardRetryer.
type StandardRetryerConfig = wxapi.StandardRetryerConfig

// NewStandardRetryer returns the default Retryer: network errors, HTTP 5xx
// and errcode -1 are retried with jittered exponential backoff (3 attempts,
// 100 ms base, 5 s cap unless configured).
func NewStandardRetryer(cfg StandardRetryerConfig) Retryer { return wxapi.NewStandardRetryer(cfg) }

// Client is an Official Account (公众号) customer-service API client. Its
// services are fields; all of them share one transport and one token
// source. A Client is safe for concurrent use.
type Client struct {
	appID  string
	api    *wxapi.Client
	tokens TokenSource

	// Accounts manages customer-service accounts (kfaccount/*, getkflist,
	// getonlinekflist).
	Accounts *AccountService
	// Sessions creates, closes and lists sessions and reads the wait queue
	// (kfsession/*).
	Sessions *SessionService
	// Records reads chat records (msgrecord/getmsglist).
	Records *RecordService
	// Messages sends customer messages and typing indicators
	// (message/custom/send, message/custom/typing).
	Messages *MessageService
}

// service is the common base of every service.
type service struct{ c *Client }

// options are the settings the Option values fill in; they are shared with
// package kf through internal/wxapi.
type options = wxapi.ClientOptions

// Option configures a Client.
type Option func(*options) error

// WithHTTPClient sets the HTTP client (default: one with a 60 s timeout).
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error { return o.SetHTTPClient(hc) }
}

// WithBaseURL points the client at another host, such as an emulator or a
// proxy (default DefaultBaseURL). It must be an absolute http or https URL
// without query or fragment.
func WithBaseURL(raw string) Option {
	return func(o *options) error { return o.SetBaseURL(raw) }
}

// WithTokenSource replaces the built-in token source, for example with one
// that asks a central token service (中控服务器). The client then never
// calls /cgi-bin/token itself, the secret passed to NewClient may be empty
// and WithTokenCache is ignored.
func WithTokenSource(ts TokenSource) Option {
	return func(o *options) error { return o.SetTokenSource(ts) }
}

// WithTokenCache shares access tokens through cache, so that several
// instances of the service use one token. On an Official Account this is
// needed, not just thrifty: every fetch invalidates the previous token. When
// cache also implements TokenLocker, only the instance holding the lock
// fetches and the others wait for the token it stores. The cache is the same
// interface as package kf's, so one store (the Redis cache in package
// redisstore) serves both clients; the keys differ by platform.
func WithTokenCache(cache TokenCache) Option {
	return func(o *options) error { return o.SetTokenCache(cache) }
}

// WithRetryer replaces the retry policy.
func WithRetryer(r Retryer) Option {
	return func(o *options) error { return o.SetRetryer(r) }
}

// WithRetry sets the number of attempts of the standard retryer (1 disables
// retries). It is ignored when WithRetryer is also given.
func WithRetry(maxAttempts int) Option {
	return func(o *options) error { return o.SetRetry(maxAttempts) }
}

// WithLogger sets the logger (default: silent). Tokens and secrets are never
// logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { return o.SetLogger(l) }
}

// WithClock sets the clock used for token expiry (default: the system
// clock).
func WithClock(c Clock) Option {
	return func(o *options) error { return o.SetClock(c) }
}

// tokenCodes are the errcodes after which the client drops the token,
// fetches a new one and replays the call once (shared/api-surface.md §8.8).
var tokenCodes = []ErrCode{ErrCodeInvalidCredential, ErrCodeInvalidAccessToken, ErrCodeAccessTokenExpired}

// platform is what sets the Official Account client apart from package
// kf's. The token comes from GET /cgi-bin/token
// (grant_type=client_credential); the secret travels in the query string and
// the transport redacts it from every error and log line.
func platform() wxapi.Platform {
	return wxapi.Platform{
		Prefix:         "mp",
		IDName:         "app id",
		DefaultBaseURL: DefaultBaseURL,
		UserAgent:      "wxkf-mp-go",
		TokenCodes:     tokenCodes,
		CacheKeyPrefix: "mp",
		TokenOp:        "mp/token",
		TokenPath:      "/cgi-bin/token",
		TokenQuery: func(appID, secret string) url.Values {
			return url.Values{"grant_type": {"client_credential"}, "appid": {appID}, "secret": {secret}}
		},
	}
}

// NewClient returns a client for the Official Account identified by appID
// and its AppSecret. Nothing is sent until the first call. See the package
// documentation (Authentication) before running more than one instance.
func NewClient(appID, secret string, opts ...Option) (*Client, error) {
	api, tokens, err := wxapi.NewPlatformClient(platform(), appID, secret, opts)
	if err != nil {
		return nil, err
	}
	c := &Client{appID: appID, api: api, tokens: tokens}
	s := &service{c: c}
	c.Accounts = (*AccountService)(s)
	c.Sessions = (*SessionService)(s)
	c.Records = (*RecordService)(s)
	c.Messages = (*MessageService)(s)
	return c, nil
}

// AppID returns the app id the client was created with.
func (c *Client) AppID() string { return c.appID }

// Tokens returns the client's token source, for callers that need a raw
// access_token (the client never logs it). Remember that on an Official
// Account every token fetched elsewhere invalidates this one.
func (c *Client) Tokens() TokenSource { return c.tokens }

// BaseURL returns the API host the client talks to.
func (c *Client) BaseURL() string { return c.api.BaseURL().String() }

// post runs a JSON POST through the shared transport. idempotent allows
// retries after failures that leave the outcome unknown.
func (s *service) post(ctx context.Context, op, path string, in, out any, idempotent bool) error {
	return s.c.api.PostJSON(ctx, op, path, in, out, idempotent)
}

// get runs a GET with query parameters (a read, always retried) through the
// shared transport.
func (s *service) get(ctx context.Context, op, path string, q url.Values, out any) error {
	return s.c.api.Get(ctx, op, path, q, out)
}

// AccountService manages customer-service accounts: kfaccount/add, update,
// del, uploadheadimg and inviteworker, and the getkflist and getonlinekflist
// listings.
type AccountService service

// SessionService controls sessions (会话控制): kfsession/create, close,
// getsession, getsessionlist and getwaitcase.
type SessionService service

// RecordService reads chat records (msgrecord/getmsglist).
type RecordService service

// MessageService sends customer messages (message/custom/send) and typing
// indicators (message/custom/typing).
type MessageService service
