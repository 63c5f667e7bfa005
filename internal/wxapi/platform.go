package wxapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Clock tells the time. The kf and mp packages declare their own Clock
// interfaces with the same method, so their values convert to this one.
type Clock interface {
	Now() time.Time
}

// ClientOptions holds the options the kf and mp clients share. Their
// exported WithX options call the matching setter, which checks its
// argument and returns an error naming the WithX option; NewPlatformClient
// adds the package prefix. The zero value means all defaults.
type ClientOptions struct {
	HTTPClient  *http.Client
	BaseURL     *url.URL
	Tokens      TokenSource
	Cache       TokenCache
	Retryer     Retryer
	MaxAttempts int
	Logger      *slog.Logger
	Clock       Clock
}

// SetHTTPClient implements WithHTTPClient.
func (o *ClientOptions) SetHTTPClient(hc *http.Client) error {
	if hc == nil {
		return errors.New("WithHTTPClient: nil client")
	}
	o.HTTPClient = hc
	return nil
}

// SetBaseURL implements WithBaseURL: raw must be an absolute http or https
// URL without query or fragment; a trailing slash is dropped.
func (o *ClientOptions) SetBaseURL(raw string) error {
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
	o.BaseURL = u
	return nil
}

// SetTokenSource implements WithTokenSource.
func (o *ClientOptions) SetTokenSource(ts TokenSource) error {
	if ts == nil {
		return errors.New("WithTokenSource: nil source")
	}
	o.Tokens = ts
	return nil
}

// SetTokenCache implements WithTokenCache.
func (o *ClientOptions) SetTokenCache(cache TokenCache) error {
	if cache == nil {
		return errors.New("WithTokenCache: nil cache")
	}
	o.Cache = cache
	return nil
}

// SetRetryer implements WithRetryer.
func (o *ClientOptions) SetRetryer(r Retryer) error {
	if r == nil {
		return errors.New("WithRetryer: nil retryer")
	}
	if r.MaxAttempts() < 1 {
		return errors.New("WithRetryer: MaxAttempts must be at least 1")
	}
	o.Retryer = r
	return nil
}

// SetRetry implements WithRetry: the attempts of the standard retryer,
// 1 to 20.
func (o *ClientOptions) SetRetry(maxAttempts int) error {
	if maxAttempts < 1 || maxAttempts > 20 {
		return fmt.Errorf("WithRetry: maxAttempts %d out of range 1..20", maxAttempts)
	}
	o.MaxAttempts = maxAttempts
	return nil
}

// SetLogger implements WithLogger.
func (o *ClientOptions) SetLogger(l *slog.Logger) error {
	if l == nil {
		return errors.New("WithLogger: nil logger")
	}
	o.Logger = l
	return nil
}

// SetClock implements WithClock.
func (o *ClientOptions) SetClock(c Clock) error {
	if c == nil {
		return errors.New("WithClock: nil clock")
	}
	o.Clock = c
	return nil
}

// applyOptions applies opts in order to a zero ClientOptions; the first
// error is returned prefixed with "prefix: " (the package name).
func applyOptions[O ~func(*ClientOptions) error](prefix string, opts []O) (ClientOptions, error) {
	var o ClientOptions
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return ClientOptions{}, fmt.Errorf("%s: %w", prefix, err)
		}
	}
	return o, nil
}

// Platform describes what differs between the kf and mp clients for
// NewPlatformClient.
type Platform struct {
	// Prefix starts every error of NewPlatformClient ("kf", "mp").
	Prefix string
	// IDName names the id argument in errors ("corp id", "app id").
	IDName string
	// DefaultBaseURL is used when ClientOptions.BaseURL is nil.
	DefaultBaseURL string
	// UserAgent is sent with every request.
	UserAgent string
	// TokenCodes are the errcodes after which the token is refreshed and
	// the call replayed once.
	TokenCodes []ErrCode
	// CacheKeyPrefix is the platform part of the token cache key (see
	// CacheKey).
	CacheKeyPrefix string
	// TokenOp and TokenPath name the token endpoint (a GET).
	TokenOp, TokenPath string
	// TokenQuery returns the token request's query for id and secret.
	TokenQuery func(id, secret string) url.Values
	// IndependentTokens says that a new token does not invalidate earlier
	// ones (WeCom). The refresh lock of a shared cache is then only an
	// optimisation: when the lock cannot be taken because the cache fails,
	// the token is fetched directly. Where a new token retires the previous
	// one (Official Accounts) a lock failure fails the call instead.
	IndependentTokens bool
}

// DefaultTokenLifetime is used when a token reply omits expires_in (both
// platforms document 7200 s).
const DefaultTokenLifetime = 7200 * time.Second

// NewPlatformClient is the common part of the kf and mp NewClient: it
// applies opts (the package's Option values) in order, checks id and secret
// and assembles the transport and the token source: the standard retryer
// unless WithRetryer was given, and, unless WithTokenSource was given, a
// CachedSource over the WithTokenCache cache that fetches from p's token
// endpoint. The transport's token source is already set. Every error starts
// with p.Prefix.
func NewPlatformClient[O ~func(*ClientOptions) error](p Platform, id, secret string, opts []O) (*Client, TokenSource, error) {
	o, err := applyOptions(p.Prefix, opts)
	if err != nil {
		return nil, nil, err
	}
	return newPlatformClient(p, o, id, secret)
}

func newPlatformClient(p Platform, o ClientOptions, id, secret string) (*Client, TokenSource, error) {
	if id == "" {
		return nil, nil, fmt.Errorf("%s: NewClient: empty %s", p.Prefix, p.IDName)
	}
	if secret == "" && o.Tokens == nil {
		return nil, nil, fmt.Errorf("%s: NewClient: empty secret (give a secret or WithTokenSource)", p.Prefix)
	}
	base := o.BaseURL
	if base == nil {
		var err error
		if base, err = url.Parse(p.DefaultBaseURL); err != nil {
			return nil, nil, fmt.Errorf("%s: NewClient: default base URL: %w", p.Prefix, err)
		}
	}
	retryer := o.Retryer
	if retryer == nil {
		retryer = NewStandardRetryer(StandardRetryerConfig{MaxAttempts: o.MaxAttempts})
	}
	now := time.Now
	if o.Clock != nil {
		now = o.Clock.Now
	}
	api := New(Config{
		BaseURL:    base,
		HTTPClient: o.HTTPClient,
		Retryer:    retryer,
		Logger:     o.Logger,
		TokenCodes: p.TokenCodes,
		UserAgent:  p.UserAgent,
	})
	tokens := o.Tokens
	if tokens == nil {
		tokens = NewCachedSource(CachedSourceConfig{
			Key:    CacheKey(p.CacheKeyPrefix, id, secret),
			Fetch:  func(ctx context.Context) (Token, error) { return p.fetchToken(ctx, api, id, secret, now) },
			Cache:  o.Cache,
			Now:    now,
			Logger: api.Logger(),
			// A lock failure may fall back to a direct fetch only where
			// tokens do not retire each other.
			LockOptional: p.IndependentTokens,
		})
	}
	api.SetTokens(tokens)
	return api, tokens, nil
}

type tokenReply struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// fetchToken asks p's token endpoint for a new token. The secret travels in
// the query string; the transport redacts it from every error and log line.
func (p *Platform) fetchToken(ctx context.Context, api *Client, id, secret string, now func() time.Time) (Token, error) {
	var r tokenReply
	err := api.Do(ctx, &Request{
		Op: p.TokenOp, Method: http.MethodGet, Path: p.TokenPath,
		Query:   p.TokenQuery(id, secret),
		NoToken: true,
		// A replayed fetch at worst replaces (on Official Accounts:
		// invalidates) a token nobody received.
		Idempotent: true,
	}, &r)
	if err != nil {
		return Token{}, err
	}
	d := time.Duration(r.ExpiresIn) * time.Second
	if d <= 0 {
		d = DefaultTokenLifetime
	}
	return Token{Value: r.AccessToken, ExpiresAt: now().Add(d)}, nil
}

// MarshalPayload is the body of the kf and mp Outgoing.Payload methods:
// the JSON of p, or nil when there is no payload (p is nil).
func MarshalPayload(p any) (json.RawMessage, error) {
	if p == nil {
		return nil, nil
	}
	return json.Marshal(p)
}
