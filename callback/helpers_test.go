package callback

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Official vector set (WeCom doc 90968, api-surface §5.5).
const (
	vecToken    = "QDG6eK"
	vecKey      = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	vecReceiver = "wx5823bf96d3bd56c7"

	vecGetTimestamp = "1409659589"
	vecGetNonce     = "263014780"
	vecGetEchostr   = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	vecGetSignature = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
	vecGetMsg       = "1616140317555161061"

	vecPostTimestamp = "1409659813"
	vecPostNonce     = "1372623149"
	vecPostSignature = "477715d11cdb4164915debcba66cb864d751f3e6"
	vecPostEncrypt   = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
	vecPostBody      = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" + vecPostEncrypt + "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
)

// Test credentials for Builder-made requests.
const (
	testToken    = "kjr2TKI8umCBfVF3wAHk8JiPwma5VBme"
	testKey      = "4Ma3YBrSBbX2aez8MJpXGBne5LSDwgGqHbhM9WPYIws"
	testCorpID   = "ww6a112864f8022910"
	testOpenKfID = "wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw"
	testSyncTok  = "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR"
	otherToken   = "kz7Yx62CH8SaLN"
	otherKey     = "cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP"
)

// testNow is the default fake time of the tests.
var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newRand returns a deterministic randomness source.
func newRand(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

// syncBuffer is a concurrency-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is a Handler wired to a channel of delivered events, a fake
// clock and a captured log.
type harness struct {
	h      *Handler
	clock  *fakeClock
	events chan Event
	log    *syncBuffer
}

// newHarness builds a Handler for testToken/testKey/testCorpID with the
// clock at testNow; edit tweaks the Config first. Run is started and
// stopped with the test unless noRun is set.
func newHarness(t *testing.T, edit func(*Config)) *harness {
	t.Helper()
	hs := &harness{clock: newClock(testNow), events: make(chan Event, 64), log: &syncBuffer{}}
	cfg := Config{
		Token:          testToken,
		EncodingAESKey: testKey,
		ReceiverID:     testCorpID,
		Now:            hs.clock.Now,
		Rand:           newRand(99),
		Logger:         slog.New(slog.NewTextHandler(hs.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnEvent: func(_ context.Context, ev Event) {
			hs.events <- ev
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs.h = h
	return hs
}

// run starts the handler's workers for the duration of the test.
func (hs *harness) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.h.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// next returns the next delivered event, failing after a generous delay.
func (hs *harness) next(t *testing.T) Event {
	t.Helper()
	select {
	case ev := <-hs.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event delivered")
		return Event{}
	}
}

// none checks that no event is waiting. Delivery is asynchronous, so
// callers first deliver a later "marker" event and wait for it.
func (hs *harness) none(t *testing.T) {
	t.Helper()
	select {
	case ev := <-hs.events:
		t.Fatalf("unexpected event delivered: %s %s", ev.MsgType, ev.Event)
	default:
	}
}

func mustBuilder(t testing.TB, token, key, receiver string, seed byte) *Builder {
	t.Helper()
	b, err := NewBuilder(token, key, receiver)
	if err != nil {
		t.Fatalf("NewBuilder: %v", err)
	}
	b.Rand = newRand(seed)
	return b
}

// post builds a POST request with query q and body.
func post(q url.Values, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/cb?"+q.Encode(), bytes.NewReader(body))
	r.Header.Set("Content-Type", "text/xml")
	return r
}

// postRaw builds a POST request with a raw query string.
func postRaw(rawQuery string, body []byte) *http.Request {
	return httptest.NewRequest(http.MethodPost, "/cb?"+rawQuery, bytes.NewReader(body))
}

// serve runs r through h and returns the recorded response.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// kfEvent builds a signed kf_msg_or_event POST for the test corp.
func kfEvent(t testing.TB, b *Builder, openKfID, token string, ts time.Time) *http.Request {
	t.Helper()
	q, body, err := b.KfMsgOrEvent(openKfID, token, ts)
	if err != nil {
		t.Fatalf("KfMsgOrEvent: %v", err)
	}
	return post(q, body)
}

// rawQuery builds a query string without escaping values.
func rawQuery(kv ...string) string {
	var sb strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if sb.Len() > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(kv[i] + "=" + kv[i+1])
	}
	return sb.String()
}
