package kftest

import (
	"sync"
	"time"
)

// Clock is the emulator's clock. By default it follows the system clock;
// Advance and Set move it (so that 20 s, 10 min, 48 h and 3 day rules can be
// tested without sleeping), and a frozen clock only moves when told to.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen bool
	at     time.Time
}

// NewClock returns a clock that follows the system clock.
func NewClock() *Clock { return &Clock{} }

// NewFrozenClock returns a clock stopped at t.
func NewFrozenClock(t time.Time) *Clock { return &Clock{frozen: true, at: t} }

// Now returns the emulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.at
	}
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		c.at = c.at.Add(d)
		return
	}
	c.offset += d
}

// Set moves the clock to t (also backwards).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		c.at = t
		return
	}
	c.offset = time.Until(t)
}
