// Package wxapi is the one HTTP core shared by the kf (WeCom 微信客服) and mp
// (Official Account) clients: it builds requests, injects the access_token
// into the query string, decodes errcode/errmsg, retries, refreshes tokens
// and classifies errors. It keeps no package-level state.
package wxapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// DefaultMaxResponseBytes bounds how much of a JSON reply is read.
const DefaultMaxResponseBytes = 32 << 20

// Config configures a Client.
type Config struct {
	BaseURL    *url.URL
	HTTPClient *http.Client
	Tokens     TokenSource
	Retryer    Retryer
	Logger     *slog.Logger
	// TokenCodes are the errcodes that make the client invalidate the
	// token and replay the call once.
	TokenCodes []ErrCode
	// MaxResponseBytes bounds a JSON reply (default DefaultMaxResponseBytes).
	MaxResponseBytes int64
	// UserAgent is sent with every request.
	UserAgent string
}

// Client performs API calls. It is safe for concurrent use.
type Client struct {
	base       *url.URL
	hc         *http.Client
	tokens     TokenSource
	retryer    Retryer
	log        *slog.Logger
	tokenCodes []ErrCode
	maxBody    int64
	ua         string
}

// New returns a Client for cfg. BaseURL is required.
func New(cfg Config) *Client {
	c := &Client{base: cfg.BaseURL, hc: cfg.HTTPClient, tokens: cfg.Tokens, retryer: cfg.Retryer,
		log: cfg.Logger, tokenCodes: cfg.TokenCodes, maxBody: cfg.MaxResponseBytes, ua: cfg.UserAgent}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 60 * time.Second}
	}
	if c.retryer == nil {
		c.retryer = NewStandardRetryer(StandardRetryerConfig{})
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	return c
}

// SetTokens sets the token source; it is meant for construction time only,
// when the token fetch itself needs the client.
func (c *Client) SetTokens(ts TokenSource) { c.tokens = ts }

// Tokens returns the client's token source.
func (c *Client) Tokens() TokenSource { return c.tokens }

// Logger returns the client's logger (never nil).
func (c *Client) Logger() *slog.Logger { return c.log }

// BaseURL returns a copy of the base URL.
func (c *Client) BaseURL() *url.URL { u := *c.base; return &u }

// Request describes one API call.
type Request struct {
	// Op names the operation in errors and logs, e.g. "kf/send_msg".
	Op     string
	Method string // GET or POST
	Path   string // e.g. "/cgi-bin/kf/send_msg"
	Query  url.Values
	// JSON is marshalled as the request body when non-nil.
	JSON any
	// Body, when non-nil, builds a fresh body for each attempt (multipart
	// uploads). It returns errNotReplayable-style errors (ErrNotReplayable)
	// when the body cannot be produced again; the call then stops.
	Body func() (body io.Reader, contentType string, err error)
	// NoToken skips access_token injection (gettoken itself).
	NoToken bool
	// Idempotent allows retries after errors that leave the outcome unknown
	// (the request may have reached the server): reads, and writes whose
	// replay cannot apply twice (send_msg with a fixed msgid, deletes).
	Idempotent bool
	// Download, when non-nil, receives a non-JSON reply body (media/get).
	// A JSON reply is decoded as an error or into out as usual.
	Download io.Writer
	// OnHeader is called with the reply headers of a successful download.
	OnHeader func(http.Header)
}

// ErrNotReplayable is returned by Request.Body when a body cannot be built
// again for a retry.
var ErrNotReplayable = errors.New("request body cannot be replayed")

// Do performs req and decodes a successful JSON reply into out (which may be
// nil). If out implements json.Unmarshaler its UnmarshalJSON is called on the
// whole reply body directly.
func (c *Client) Do(ctx context.Context, req *Request, out any) error {
	var body []byte
	if req.JSON != nil {
		b, err := json.Marshal(req.JSON)
		if err != nil {
			return fmt.Errorf("%s: encode request: %w", req.Op, err)
		}
		body = b
	}
	maxAttempts := c.retryer.MaxAttempts()
	if maxAttempts < 1 {
		maxAttempts = 1
	}
	replayedToken := false
	var last, prev error
	attempt := 0
	for attempt < maxAttempts {
		attempt++
		token := ""
		if !req.NoToken {
			if c.tokens == nil {
				return fmt.Errorf("%s: no token source", req.Op)
			}
			t, err := c.tokens.Token(ctx)
			if err != nil {
				return fmt.Errorf("%s: access token: %w", req.Op, err)
			}
			token = t
		}
		// live: the attempt started before ctx ended, so it may have
		// reached the server.
		live := ctx.Err() == nil
		err := c.once(ctx, req, body, token, out)
		if err == nil {
			return nil
		}
		if prev != nil && errors.Is(err, ErrNotReplayable) {
			// Keep the failure that made the body necessary again.
			err = fmt.Errorf("%w (after %w)", err, prev)
		}
		prev = err
		var ae *APIError
		if !req.NoToken && !replayedToken && errors.As(err, &ae) && c.isTokenCode(ae.Code) {
			// Token problem: invalidate this token and replay once; this
			// does not count as an attempt.
			replayedToken = true
			c.log.LogAttrs(ctx, slog.LevelInfo, "access token rejected; refreshing",
				slog.String("op", req.Op), slog.Int("errcode", int(ae.Code)))
			if ierr := c.tokens.Invalidate(ctx, token); ierr != nil {
				return fmt.Errorf("%s: invalidate token: %w (after %w)", req.Op, ierr, err)
			}
			attempt--
			continue
		}
		last = err
		retry, safe := c.shouldRetry(req, err)
		if retry && !safe && live {
			// The write may have been applied (this includes a ctx that
			// ended while the request was in flight), and retrying could
			// apply it twice: report it as unknown.
			last = fmt.Errorf("%w (%w)", err, ErrOutcomeUnknown)
			break
		}
		if ctx.Err() != nil || !retry || attempt >= maxAttempts {
			break
		}
		d := c.retryer.Delay(attempt, err)
		c.log.LogAttrs(ctx, slog.LevelDebug, "retrying",
			slog.String("op", req.Op), slog.Int("attempt", attempt), slog.Duration("delay", d), slog.String("error", err.Error()))
		if serr := Sleep(ctx, d); serr != nil {
			last = fmt.Errorf("%w (retry abandoned: %w)", err, serr)
			break
		}
	}
	if attempt > 1 {
		return fmt.Errorf("%s: giving up after %d attempts: %w", req.Op, attempt, last)
	}
	return last
}

// PostJSON is Do for a POST of in as JSON. idempotent allows retries after
// failures that leave the outcome unknown (see Request.Idempotent).
func (c *Client) PostJSON(ctx context.Context, op, path string, in, out any, idempotent bool) error {
	return c.Do(ctx, &Request{Op: op, Method: http.MethodPost, Path: path, JSON: in, Idempotent: idempotent}, out)
}

// Get is Do for a GET with query parameters; a read is always retried.
func (c *Client) Get(ctx context.Context, op, path string, q url.Values, out any) error {
	return c.Do(ctx, &Request{Op: op, Method: http.MethodGet, Path: path, Query: q, Idempotent: true}, out)
}

func (c *Client) isTokenCode(code ErrCode) bool {
	for _, t := range c.tokenCodes {
		if t == code {
			return true
		}
	}
	return false
}

// shouldRetry reports whether err is worth retrying and whether retrying is
// safe for req (cannot apply twice).
func (c *Client) shouldRetry(req *Request, err error) (retry, safe bool) {
	var te *TransportError
	if errors.Is(err, ErrNotReplayable) || (errors.As(err, &te) && te.partial) {
		return false, true
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return false, true
	}
	if !c.retryer.IsRetryable(err) {
		return false, true
	}
	if req.Idempotent || notSent(err) {
		return true, true
	}
	return true, false
}

// notSent reports whether the request provably never reached the server
// (dial failure, connection refused), so that retrying any call is safe.
func notSent(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

func (c *Client) once(ctx context.Context, req *Request, body []byte, token string, out any) error {
	u := c.base.JoinPath(req.Path)
	q := url.Values{}
	for k, v := range req.Query {
		q[k] = v
	}
	if token != "" {
		q.Set("access_token", token)
	}
	u.RawQuery = q.Encode()

	var rd io.Reader
	ctype := ""
	if req.Body != nil {
		b, ct, err := req.Body()
		if err != nil {
			return fmt.Errorf("%s: build body: %w", req.Op, err)
		}
		rd, ctype = b, ct
	} else if body != nil {
		rd, ctype = bytes.NewReader(body), "application/json"
	}
	method := req.Method
	if method == "" {
		method = http.MethodPost
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("%s: build request: %s", req.Op, RedactString(err.Error()))
	}
	if ctype != "" {
		hreq.Header.Set("Content-Type", ctype)
	}
	if c.ua != "" {
		hreq.Header.Set("User-Agent", c.ua)
	}
	start := time.Now()
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return &TransportError{Op: req.Op, Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	c.log.LogAttrs(ctx, slog.LevelDebug, "api call", slog.String("op", req.Op), slog.String("url", Redact(u)),
		slog.Int("status", resp.StatusCode), slog.Duration("elapsed", time.Since(start)))

	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return &APIError{Op: req.Op, HTTPStatus: resp.StatusCode, Msg: strings.TrimSpace(RedactString(string(snippet)))}
	}
	var reply io.Reader = resp.Body
	if req.Download != nil {
		br := bufio.NewReader(resp.Body)
		reply = br
		if !isJSONReply(resp.Header, br) {
			if req.OnHeader != nil {
				req.OnHeader(resp.Header)
			}
			if _, err := io.Copy(req.Download, br); err != nil {
				return &TransportError{Op: req.Op, Err: fmt.Errorf("download: %w", err), partial: true}
			}
			return nil
		}
	}
	data, err := io.ReadAll(io.LimitReader(reply, c.maxBody+1))
	if err != nil {
		return &TransportError{Op: req.Op, Err: fmt.Errorf("read reply: %w", redactURLError(err))}
	}
	if int64(len(data)) > c.maxBody {
		return fmt.Errorf("%s: reply larger than %d bytes", req.Op, c.maxBody)
	}
	code, msg, err := Status(data)
	if err != nil {
		return &DecodeError{Op: req.Op, Err: err}
	}
	if code != 0 {
		ae := &APIError{Op: req.Op, Code: code, Msg: msg}
		if code.RateLimited() {
			return &RateLimitError{Err: ae, RetryAfter: retryAfter(code)}
		}
		return ae
	}
	if out == nil {
		return nil
	}
	if u, ok := out.(json.Unmarshaler); ok {
		err = u.UnmarshalJSON(data)
	} else {
		err = json.Unmarshal(data, out)
	}
	if err != nil {
		return &DecodeError{Op: req.Op, Err: err}
	}
	return nil
}

func retryAfter(code ErrCode) time.Duration {
	if code == 45009 {
		// Frequency blocks last until the minute window resets (hour and
		// day blocks last longer; the errmsg does not say which).
		return time.Minute
	}
	return time.Second
}

// isJSONReply reports whether a download reply is a JSON (error) document
// rather than the file: application/json, or a text/* reply whose first
// non-space byte is '{' (a .txt file served as text/plain is a file).
func isJSONReply(h http.Header, br *bufio.Reader) bool {
	ct := h.Get("Content-Type")
	if strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "text/json") {
		return true
	}
	if !strings.HasPrefix(ct, "text/") {
		return false
	}
	for i := 1; i <= 64; i++ {
		b, _ := br.Peek(i)
		if len(b) < i {
			return false
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

// TransportError is a network-level failure of one attempt.
type TransportError struct {
	Op      string
	Err     error
	partial bool
}

// Error implements error.
func (e *TransportError) Error() string { return e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// DecodeError is a reply that could not be decoded.
type DecodeError struct {
	Op  string
	Err error
}

// Error implements error.
func (e *DecodeError) Error() string { return e.Op + ": decode reply: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// Sleep waits for d or until ctx ends, whichever comes first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
