package kftest

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// The parts of an emulator that Server (WeCom) and OAServer (Official
// Account) share, embedded in both: httpLife, emuClock and lockedRand here,
// faults in faults.go, and beginAPI for their APIs in api.go.

// httpLife is the HTTP side of an emulator, shared by Server and OAServer
// (embedded, so that its exported methods are theirs): the routes, serving
// on a listener or a test server, the base URL, and Close.
type httpLife struct {
	mux     *http.ServeMux
	errLog  *slog.Logger // where Start logs serving errors
	onClose func()       // stops the emulator's own work; run once, by Close

	mu      sync.Mutex
	url     string
	httpSrv *http.Server
	closed  bool
}

// initHTTP prepares the routes; onClose stops what the emulator runs
// besides serving HTTP.
func (s *httpLife) initHTTP(errLog *slog.Logger, onClose func()) {
	s.mux, s.errLog, s.onClose = http.NewServeMux(), errLog, onClose
}

// serveTest serves on a loopback port until the test ends.
func (s *httpLife) serveTest(t testing.TB) {
	hs := httptest.NewServer(s)
	s.setURL(hs.URL)
	t.Cleanup(func() {
		s.Close()
		hs.CloseClientConnections()
		hs.Close()
	})
}

func (s *httpLife) setURL(u string) {
	s.mu.Lock()
	s.url = u
	s.mu.Unlock()
}

// ServeHTTP implements http.Handler.
func (s *httpLife) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// ListenAndServe listens on addr (for example "127.0.0.1:8080") and serves
// until Close. It returns http.ErrServerClosed after Close.
func (s *httpLife) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve serves on l until Close. URL is valid once it serves; use Start to
// have it valid at once.
func (s *httpLife) Serve(l net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return http.ErrServerClosed
	}
	s.httpSrv = hs
	s.url = "http://" + l.Addr().String()
	s.mu.Unlock()
	return hs.Serve(l)
}

// Start serves on l in the background and returns at once; URL is valid
// when it returns. Serving errors other than http.ErrServerClosed are
// logged (to the logger of WithLogger for a Server, to slog.Default for an
// OAServer).
func (s *httpLife) Start(l net.Listener) {
	s.setURL("http://" + l.Addr().String())
	go func() {
		if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errLog.Error("kftest: serve", "error", err)
		}
	}()
}

// Close stops serving and stops the emulator's background work: a
// Server's callback delivery and chat page updates, an OAServer's pushes.
// Calling it again does nothing.
func (s *httpLife) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	hs := s.httpSrv
	s.mu.Unlock()
	if s.onClose != nil {
		s.onClose()
	}
	if hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			return hs.Close()
		}
	}
	return nil
}

// URL returns the base URL the emulator listens on ("" before it listens).
func (s *httpLife) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// emuClock gives an emulator its clock methods.
type emuClock struct{ clock *Clock }

// Clock returns the emulator's clock.
func (s *emuClock) Clock() *Clock { return s.clock }

// Now returns the emulated time.
func (s *emuClock) Now() time.Time { return s.clock.Now() }

// Advance moves the emulated time forward.
func (s *emuClock) Advance(d time.Duration) { s.clock.Advance(d) }

// SetTime moves the emulated time to t.
func (s *emuClock) SetTime(t time.Time) { s.clock.Set(t) }

// lockedRand is an emulator's random source, safe for concurrent use.
type lockedRand struct {
	mu   sync.Mutex
	rand *rand.Rand
}

// newLockedRand returns a source repeating its choices for a given seed
// (0: seeded from the time); salt tells emulators' sources apart.
func newLockedRand(seed, salt uint64) *lockedRand {
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return &lockedRand{rand: rand.New(rand.NewPCG(seed, seed^salt))}
}

// Alphabets of randString.
const (
	alnum     = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	hexDigits = "0123456789abcdef"
)

// randFloat returns a random float in [0,1).
func (l *lockedRand) randFloat() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rand.Float64()
}

// randString returns n random characters of alphabet.
func (l *lockedRand) randString(n int, alphabet string) string {
	b := make([]byte, n)
	l.mu.Lock()
	for i := range b {
		b[i] = alphabet[l.rand.IntN(len(alphabet))]
	}
	l.mu.Unlock()
	return string(b)
}

// randReader is an io.Reader over an emulator's random source (nonces and
// ciphertext prefixes), so that a seed makes them repeatable too.
type randReader struct{ l *lockedRand }

func (r randReader) Read(p []byte) (int, error) {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	for i := range p {
		p[i] = byte(r.l.rand.Uint32())
	}
	return len(p), nil
}
