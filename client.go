package kf

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/wxkf/kf/internal/wxapi"
)

// DefaultBaseURL is the WeCom API host.
const DefaultBaseURL = "https://qyapi.weixin.qq.com"

// Clock tells the time. It is injected so that tests and the emulator can
// control token expiry and time windows.
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

// Client is a WeCom 微信客服 API client. Its services are fields; all of them
// share one transport. A Client is safe for concurrent use.
type Client struct {
	corpID string
	api    *wxapi.Client
	tokens TokenSource

	// Accounts manages KF accounts and contact links.
	Accounts *AccountService
	// Servicers manages the servicers (接待人员) of an account.
	Servicers *ServicerService
	// Sessions reads and changes session states (service_state).
	Sessions *SessionService
	// Messages receives (sync_msg) and sends (send_msg, send_msg_on_event,
	// recall_msg) messages.
	Messages *MessageService
	// Customers reads customer profiles and manages the upgrade service.
	Customers *CustomerService
	// Stats reads corp and servicer statistics and the corp qualification.
	Stats *StatsService
	// Knowledge manages the knowledge base (groups and intents).
	Knowledge *KnowledgeService
	// Media uploads and downloads temporary media.
	Media *MediaService
}

// service is the common base of every service.
type service struct{ c *Client }

// options are the settings the Option values fill in; they are shared with
// package mp through internal/wxapi.
type options = wxapi.ClientOptions

// Option configures a Client.
type Option func(*options) error

// WithHTTPClient sets the HTTP client (default: one with a 60 s timeout).
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error { return o.SetHTTPClient(hc) }
}

// WithBaseURL points the client at another host, such as the kftest
// emulator or a proxy. It must be an absolute http or https URL.
func WithBaseURL(raw string) Option {
	return func(o *options) error { return o.SetBaseURL(raw) }
}

// WithTokenSource replaces the built-in token source (for example with one
// that asks a central token service).
func WithTokenSource(ts TokenSource) Option {
	return func(o *options) error { return o.SetTokenSource(ts) }
}

// WithTokenCache shares access tokens through cache (for example the Redis
// cache in package redisstore) so that several instances use one token.
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

// WithClock sets the clock used for token expiry (default: the system clock).
func WithClock(c Clock) Option {
	return func(o *options) error { return o.SetClock(c) }
}

// platform is what sets the WeCom client apart from package mp's.
func platform() wxapi.Platform {
	return wxapi.Platform{
		Prefix:         "kf",
		IDName:         "corp id",
		DefaultBaseURL: DefaultBaseURL,
		UserAgent:      "wxkf-kf-go",
		TokenCodes:     []wxapi.ErrCode{ErrCodeInvalidAccessToken, ErrCodeAccessTokenExpired, ErrCodeAccessTokenMissing},
		CacheKeyPrefix: "wecom",
		TokenOp:        "kf/gettoken",
		TokenPath:      "/cgi-bin/gettoken",
		TokenQuery: func(corpID, secret string) url.Values {
			return url.Values{"corpid": {corpID}, "corpsecret": {secret}}
		},
		IndependentTokens: true,
	}
}

// NewClient returns a client for the corp's app identified by corpID and the
// app's secret. Nothing is sent until the first call.
func NewClient(corpID, secret string, opts ...Option) (*Client, error) {
	api, tokens, err := wxapi.NewPlatformClient(platform(), corpID, secret, opts)
	if err != nil {
		return nil, err
	}
	c := &Client{corpID: corpID, api: api, tokens: tokens}
	s := service{c: c}
	c.Accounts = (*AccountService)(&s)
	c.Servicers = (*ServicerService)(&s)
	c.Sessions = (*SessionService)(&s)
	c.Messages = (*MessageService)(&s)
	c.Customers = (*CustomerService)(&s)
	c.Stats = (*StatsService)(&s)
	c.Knowledge = (*KnowledgeService)(&s)
	c.Media = (*MediaService)(&s)
	return c, nil
}

// CorpID returns the corp id the client was created with.
func (c *Client) CorpID() string { return c.corpID }

// Tokens returns the client's token source, for callers that need a raw
// access_token (it is never logged by the client).
func (c *Client) Tokens() TokenSource { return c.tokens }

// BaseURL returns the API host the client talks to.
func (c *Client) BaseURL() string { return c.api.BaseURL().String() }

// do runs one call through the shared transport.
func (s *service) do(ctx context.Context, req *wxapi.Request, out any) error {
	return s.c.api.Do(ctx, req, out)
}

// post is do for a JSON POST.
func (s *service) post(ctx context.Context, op, path string, in, out any, idempotent bool) error {
	return s.c.api.PostJSON(ctx, op, path, in, out, idempotent)
}

// get is do for a GET with query parameters.
func (s *service) get(ctx context.Context, op, path string, q url.Values, out any) error {
	return s.c.api.Get(ctx, op, path, q, out)
}

// AccountService manages KF accounts (account/add, del, update, list),
// contact links (add_contact_way) and open_kfid conversion (idconvert).
type AccountService service

// ServicerService manages the servicers (接待人员) of KF accounts.
type ServicerService service

// SessionService reads and changes session states (service_state/get, trans).
type SessionService service

// MessageService receives (sync_msg), sends (send_msg, send_msg_on_event)
// and recalls (recall_msg) messages.
type MessageService service

// CustomerService reads customer profiles (customer/batchget) and manages
// the upgrade service (升级服务).
type CustomerService service

// StatsService reads corp and servicer statistics and the corp
// qualification.
type StatsService service

// KnowledgeService manages the knowledge base (机器人知识库) groups and
// intents.
type KnowledgeService service

// MediaService uploads and downloads temporary media (media/upload,
// media/get).
type MediaService service
