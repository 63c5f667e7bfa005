package kftest

import (
	"errors"
	"sync"
	"time"

	"github.com/wxkf/kf"
)

// Fault is a failure the emulator injects into an endpoint instead of (or
// around) serving it. Exactly one of Code, HTTPStatus, Drop may be set;
// Delay and DropAfter combine with a normal answer.
type Fault struct {
	Code       kf.ErrCode    // answer this errcode (HTTP 200)
	HTTPStatus int           // answer this HTTP status (for example 502)
	Drop       bool          // close the connection without answering
	DropAfter  bool          // serve the call (state changes!), then close without answering
	Delay      time.Duration // wait before answering
}

func (f Fault) validate() error {
	n := 0
	if f.Code != 0 {
		n++
	}
	if f.HTTPStatus != 0 {
		n++
	}
	if f.Drop {
		n++
	}
	if f.DropAfter {
		n++
	}
	if n > 1 {
		return errors.New("kftest: a Fault takes one of Code, HTTPStatus, Drop, DropAfter")
	}
	if n == 0 && f.Delay == 0 {
		return errors.New("kftest: empty Fault")
	}
	return nil
}

type faults struct {
	mu      sync.Mutex
	queued  map[string][]Fault // path → next faults, in order
	rate    float64
	kinds   []Fault
	next    int
	exclude map[string]bool
}

func newFaults() *faults { return &faults{queued: map[string][]Fault{}} }

// FailNext makes the next n calls of the endpoint at path (for example
// "/cgi-bin/kf/send_msg") fail with f.
func (s *Server) FailNext(path string, n int, f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for range n {
		s.faults.queued[path] = append(s.faults.queued[path], f)
	}
	return nil
}

// SetErrorRate makes a fraction p (0..1) of all API calls (gettoken
// included, the control API and chat page excluded) fail with one of kinds,
// taken in turn. p = 0 turns it off.
func (s *Server) SetErrorRate(p float64, kinds ...Fault) error {
	if p < 0 || p > 1 {
		return errors.New("kftest: error rate outside [0,1]")
	}
	if p > 0 && len(kinds) == 0 {
		return errors.New("kftest: SetErrorRate needs at least one Fault")
	}
	for _, k := range kinds {
		if err := k.validate(); err != nil {
			return err
		}
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.rate, s.faults.kinds, s.faults.next = p, append([]Fault(nil), kinds...), 0
	return nil
}

// ClearFaults removes every queued fault and the error rate.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.queued = map[string][]Fault{}
	s.faults.rate, s.faults.kinds = 0, nil
}

func (f *faults) take(path string, rnd func() float64) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if q := f.queued[path]; len(q) > 0 {
		f.queued[path] = q[1:]
		return q[0], true
	}
	if f.rate > 0 && rnd() < f.rate {
		k := f.kinds[f.next%len(f.kinds)]
		f.next++
		return k, true
	}
	return Fault{}, false
}
