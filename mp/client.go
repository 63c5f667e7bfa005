package mp

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

// DefaultBaseURL is the Official Account API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// tokenExpiresIn is the documented lifetime of an Official Account
// access_token, used when the reply omits expires_in.
const tokenExpiresIn = 7200 * time.Second

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

// WithBaseURL points the client at another host, such as an emulator or a
// proxy (default DefaultBaseURL). It must be an absolute http or https URL
// without query or fragment.
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

// WithTokenSource replaces the built-in token source, for example with one
// that asks a central token service (中控服务器). The client then never
// calls /cgi-bin/token itself, the secret passed to NewClient may be empty
// and WithTokenCache is ignored.
func WithTokenSource(ts TokenSource) Option {
	return func(o *options) error {
		if ts == nil {
			return errors.New("WithTokenSource: nil source")
		}
		o.tokens = ts
		return nil
	}
}

// WithTokenCache shares access tokens through cache, so that several
// instances of the service use one token. On an Official Account this is
// needed, not just thrifty: every fetch invalidates the previous token. When
// cache also implements TokenLocker, only the instance holding the lock
// fetches and the others wait for the token it stores. The cache is the same
// interface as package kf's, so one store (the Redis cache in package
// redisstore) serves both clients; the keys differ by platform.
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

// WithClock sets the clock used for token expiry (default: the system
// clock).
func WithClock(c Clock) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("WithClock: nil clock")
		}
		o.clock = c
		return nil
	}
}

// tokenCodes are the errcodes after which the client drops the token,
// fetches a new one and replays the call once (shared/api-surface.md §8.8).
var tokenCodes = []ErrCode{ErrCodeInvalidCredential, ErrCodeInvalidAccessToken, ErrCodeAccessTokenExpired}

// NewClient returns a client for the Official Account identified by appID
// and its AppSecret. Nothing is sent until the first call. See the package
// documentation (Authentication) before running more than one instance.
func NewClient(appID, secret string, opts ...Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("mp: %w", err)
		}
	}
	if appID == "" {
		return nil, errors.New("mp: NewClient: empty app id")
	}
	if secret == "" && o.tokens == nil {
		return nil, errors.New("mp: NewClient: empty secret (give a secret or WithTokenSource)")
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
	c := &Client{appID: appID}
	c.api = wxapi.New(wxapi.Config{
		BaseURL:    o.baseURL,
		HTTPClient: o.httpClient,
		Retryer:    o.retryer,
		Logger:     o.logger,
		TokenCodes: tokenCodes,
		UserAgent:  "wxkf-mp-go",
	})
	c.tokens = o.tokens
	if c.tokens == nil {
		c.tokens = wxapi.NewCachedSource(wxapi.CachedSourceConfig{
			Key:   wxapi.CacheKey("mp", appID, secret),
			Fetch: func(ctx context.Context) (Token, error) { return c.fetchToken(ctx, secret, now) },
			Cache: o.cache,
			Now:   now,
		})
	}
	c.api.SetTokens(c.tokens)
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

type tokenReply struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// fetchToken asks GET /cgi-bin/token (grant_type=client_credential) for a
// new token. The secret travels in the query string; the transport redacts
// it from every error and log line.
func (c *Client) fetchToken(ctx context.Context, secret string, now func() time.Time) (Token, error) {
	var r tokenReply
	err := c.api.Do(ctx, &wxapi.Request{
		Op: "mp/token", Method: http.MethodGet, Path: "/cgi-bin/token",
		Query:   url.Values{"grant_type": {"client_credential"}, "appid": {c.appID}, "secret": {secret}},
		NoToken: true,
		// A fetch invalidates the previous token: replaying one whose reply
		// was lost only invalidates a token nobody received.
		Idempotent: true,
	}, &r)
	if err != nil {
		return Token{}, err
	}
	d := time.Duration(r.ExpiresIn) * time.Second
	if d <= 0 {
		d = tokenExpiresIn
	}
	return Token{Value: r.AccessToken, ExpiresAt: now().Add(d)}, nil
}

// post runs a JSON POST through the shared transport. idempotent allows
// retries after failures that leave the outcome unknown.
func (s *service) post(ctx context.Context, op, path string, in, out any, idempotent bool) error {
	return s.c.api.Do(ctx, &wxapi.Request{Op: op, Method: http.MethodPost, Path: path, JSON: in, Idempotent: idempotent}, out)
}

// get runs a GET with query parameters (a read, always retried) through the
// shared transport.
func (s *service) get(ctx context.Context, op, path string, q url.Values, out any) error {
	return s.c.api.Do(ctx, &wxapi.Request{Op: op, Method: http.MethodGet, Path: path, Query: q, Idempotent: true}, out)
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
