package kftest

import (
	"errors"
	"maps"
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

// faults is the fault injection and call counting of an emulator's API,
// shared by Server and OAServer (embedded, so that its exported methods are
// theirs). The zero value is ready to use.
type faults struct {
	mu     sync.Mutex
	queued map[string][]Fault // path → next faults, in order
	rate   float64
	kinds  []Fault
	next   int
	calls  map[string]int // path → requests
}

// FailNext makes the next n calls of the endpoint at path fail with f, for
// example "/cgi-bin/kf/send_msg" on a Server or
// "/customservice/kfsession/create" on an OAServer.
func (s *faults) FailNext(path string, n int, f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queued == nil {
		s.queued = map[string][]Fault{}
	}
	for range n {
		s.queued[path] = append(s.queued[path], f)
	}
	return nil
}

// SetErrorRate makes a fraction p (0..1) of all API calls (the token
// endpoint included; a Server's control API and chat page excluded) fail
// with one of kinds, taken in turn. p = 0 turns it off.
func (s *faults) SetErrorRate(p float64, kinds ...Fault) error {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate, s.kinds, s.next = p, append([]Fault(nil), kinds...), 0
	return nil
}

// ClearFaults removes every queued fault and the error rate.
func (s *faults) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queued = nil
	s.rate, s.kinds = 0, nil
}

// Calls returns how many requests reached each endpoint path (faults
// included), for example Calls()["/cgi-bin/kf/send_msg"] on a Server or
// Calls()["/cgi-bin/token"] on an OAServer.
func (s *faults) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.calls))
	maps.Copy(m, s.calls)
	return m
}

// take counts a call of path and returns the fault to inject into it, if
// any: the next queued one, else by the error rate (rnd draws the chance).
func (s *faults) take(path string, rnd interface{ randFloat() float64 }) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[path]++
	if q := s.queued[path]; len(q) > 0 {
		s.queued[path] = q[1:]
		return q[0], true
	}
	if s.rate > 0 && rnd.randFloat() < s.rate {
		k := s.kinds[s.next%len(s.kinds)]
		s.next++
		return k, true
	}
	return Fault{}, false
}
