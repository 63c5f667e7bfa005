package kf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
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

type options struct {
	httpClient  *http.Client
	baseURL     *url.URL
	tokens      TokenSource
	cache       TokenCache
	retryer     Retryer
	maxAttempts int
	logger      *slog.Logger
	clock       Clock
}

// Option configures a Client.
type Option func(*options) error

// WithHTTPClient sets the HTTP client (default: one with a 60 s timeout).
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return errors.New("WithHTTPClient: nil client")
		}
		o.httpClient = hc
		return nil
	}
}

// WithBaseURL points the client at another host, such as the kftest
// emulator or a proxy. It must be an absolute http or https URL.
func WithBaseURL(raw string) Option {
	return func(o *options) error {
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("WithBaseURL: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("WithBaseURL: %q is not an absolute http(s) URL", raw)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("WithBaseURL: %q must not carry a query or fragment", raw)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		o.baseURL = u
		return nil
	}
}

// WithTokenSource replaces the built-in token source (for example with one
// that asks a central token service).
func WithTokenSource(ts TokenSource) Option {
	return func(o *options) error {
		if ts == nil {
			return errors.New("WithTokenSource: nil source")
		}
		o.tokens = ts
		return nil
	}
}

// WithTokenCache shares access tokens through cache (for example the Redis
// cache in package redisstore) so that several instances use one token.
func WithTokenCache(cache TokenCache) Option {
	return func(o *options) error {
		if cache == nil {
			return errors.New("WithTokenCache: nil cache")
		}
		o.cache = cache
		return nil
	}
}

// WithRetryer replaces the retry policy.
func WithRetryer(r Retryer) Option {
	return func(o *options) error {
		if r == nil {
			return errors.New("WithRetryer: nil retryer")
		}
		if r.MaxAttempts() < 1 {
			return errors.New("WithRetryer: MaxAttempts must be at least 1")
		}
		o.retryer = r
		return nil
	}
}

// WithRetry sets the number of attempts of the standard retryer (1 disables
// retries). It is ignored when WithRetryer is also given.
func WithRetry(maxAttempts int) Option {
	return func(o *options) error {
		if maxAttempts < 1 || maxAttempts > 20 {
			return fmt.Errorf("WithRetry: maxAttempts %d out of range 1..20", maxAttempts)
		}
		o.maxAttempts = maxAttempts
		return nil
	}
}

// WithLogger sets the logger (default: silent). Tokens and secrets are never
// logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithClock sets the clock used for token expiry (default: the system clock).
func WithClock(c Clock) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("WithClock: nil clock")
		}
		o.clock = c
		return nil
	}
}

// NewClient returns a client for the corp's app identified by corpID and the
// app's secret. Nothing is sent until the first call.
func NewClient(corpID, secret string, opts ...Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("kf: %w", err)
		}
	}
	if corpID == "" {
		return nil, errors.New("kf: NewClient: empty corp id")
	}
	if secret == "" && o.tokens == nil {
		return nil, errors.New("kf: NewClient: empty secret (give a secret or WithTokenSource)")
	}
	if o.baseURL == nil {
		o.baseURL, _ = url.Parse(DefaultBaseURL)
	}
	if o.retryer == nil {
		o.retryer = wxapi.NewStandardRetryer(wxapi.StandardRetryerConfig{MaxAttempts: o.maxAttempts})
	}
	now := time.Now
	if o.clock != nil {
		now = o.clock.Now
	}
	c := &Client{corpID: corpID}
	c.api = wxapi.New(wxapi.Config{
		BaseURL:    o.baseURL,
		HTTPClient: o.httpClient,
		Retryer:    o.retryer,
		Logger:     o.logger,
		TokenCodes: []wxapi.ErrCode{ErrCodeInvalidAccessToken, ErrCodeAccessTokenExpired, ErrCodeAccessTokenMissing},
		UserAgent:  "wxkf-kf-go",
	})
	c.tokens = o.tokens
	if c.tokens == nil {
		c.tokens = wxapi.NewCachedSource(wxapi.CachedSourceConfig{
			Key:   wxapi.CacheKey("wecom", corpID, secret),
			Fetch: func(ctx context.Context) (Token, error) { return c.fetchToken(ctx, secret, now) },
			Cache: o.cache,
			Now:   now,
		})
	}
	c.api.SetTokens(c.tokens)
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

type tokenReply struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

func (c *Client) fetchToken(ctx context.Context, secret string, now func() time.Time) (Token, error) {
	var r tokenReply
	err := c.api.Do(ctx, &wxapi.Request{
		Op: "kf/gettoken", Method: http.MethodGet, Path: "/cgi-bin/gettoken",
		Query:   url.Values{"corpid": {c.corpID}, "corpsecret": {secret}},
		NoToken: true, Idempotent: true,
	}, &r)
	if err != nil {
		return Token{}, err
	}
	if r.ExpiresIn <= 0 {
		r.ExpiresIn = 7200
	}
	return Token{Value: r.AccessToken, ExpiresAt: now().Add(time.Duration(r.ExpiresIn) * time.Second)}, nil
}

// do runs one call through the shared transport.
func (s *service) do(ctx context.Context, req *wxapi.Request, out any) error {
	return s.c.api.Do(ctx, req, out)
}

// post is do for a JSON POST.
func (s *service) post(ctx context.Context, op, path string, in, out any, idempotent bool) error {
	return s.c.api.Do(ctx, &wxapi.Request{Op: op, Method: http.MethodPost, Path: path, JSON: in, Idempotent: idempotent}, out)
}

// get is do for a GET with query parameters.
func (s *service) get(ctx context.Context, op, path string, q url.Values, out any) error {
	return s.c.api.Do(ctx, &wxapi.Request{Op: op, Method: http.MethodGet, Path: path, Query: q, Idempotent: true}, out)
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
