package wxapi

import (
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// Retryer decides whether and when a failed attempt is tried again.
type Retryer interface {
	// IsRetryable reports whether err is transient.
	IsRetryable(err error) bool
	// MaxAttempts is the total number of attempts, at least 1.
	MaxAttempts() int
	// Delay is the pause after the given failed attempt (1-based).
	Delay(attempt int, err error) time.Duration
}

// StandardRetryerConfig configures NewStandardRetryer. Zero fields take the
// defaults.
type StandardRetryerConfig struct {
	MaxAttempts int           // default 3
	BaseDelay   time.Duration // default 100 ms
	MaxDelay    time.Duration // default 5 s
	// Rand returns a float in [0,1) used for jitter; default math/rand/v2.
	Rand func() float64
}

// StandardRetryer retries network errors, HTTP 5xx and errcode -1 with
// "full jitter" exponential backoff capped at MaxDelay.
type StandardRetryer struct {
	cfg StandardRetryerConfig
	mu  sync.Mutex
}

// NewStandardRetryer returns a StandardRetryer.
func NewStandardRetryer(cfg StandardRetryerConfig) *StandardRetryer {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = 100 * time.Millisecond
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 5 * time.Second
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	return &StandardRetryer{cfg: cfg}
}

// MaxAttempts implements Retryer.
func (r *StandardRetryer) MaxAttempts() int { return r.cfg.MaxAttempts }

// IsRetryable implements Retryer.
func (r *StandardRetryer) IsRetryable(err error) bool { return IsTransient(err) }

// Delay implements Retryer: a random duration in [d/2, d] where d doubles
// each attempt from BaseDelay up to MaxDelay.
func (r *StandardRetryer) Delay(attempt int, _ error) time.Duration {
	d := r.cfg.BaseDelay
	for i := 1; i < attempt && d < r.cfg.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, r.cfg.MaxDelay)
	r.mu.Lock()
	f := r.cfg.Rand()
	r.mu.Unlock()
	return d/2 + time.Duration(f*float64(d/2))
}

// IsTransient reports whether err is a network error, an HTTP 5xx reply or
// errcode -1 (system busy). Rate limits are not transient in this sense:
// they need a longer wait than a retry loop gives.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Retryable()
	}
	var te *TransportError
	return errors.As(err, &te)
}
