package callback

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/wxkf/kf/internal/wxcrypto"
)

// benchWriter is a minimal ResponseWriter, so that the recorder does not
// dominate the measurement.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }

// benchBody is a resettable request body.
type benchBody struct{ bytes.Reader }

func (*benchBody) Close() error { return nil }

// cpuMeter reports the process CPU time per operation as "cpu-ns/op".
type cpuMeter struct{ start time.Duration }

func startCPU(b *testing.B) *cpuMeter {
	b.Helper()
	t, _ := processCPU()
	return &cpuMeter{start: t}
}

func (m *cpuMeter) report(b *testing.B) {
	if t, ok := processCPU(); ok && b.N > 0 {
		b.ReportMetric(float64(t-m.start)/float64(b.N), "cpu-ns/op")
	}
}

type benchReq struct {
	rawQuery string
	body     []byte
}

// benchRequests returns n distinct signed, encrypted kf_msg_or_event
// callbacks (distinct sync tokens, so no two are duplicates).
func benchRequests(b *testing.B, n int) []benchReq {
	bl := mustBuilder(b, testToken, testKey, testCorpID, 42)
	reqs := make([]benchReq, n)
	for i := range reqs {
		q, body, err := bl.KfMsgOrEvent(testOpenKfID, testSyncTok+strconv.Itoa(100000+i), testNow)
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = benchReq{rawQuery: q.Encode(), body: body}
	}
	return reqs
}

func BenchmarkCallback(b *testing.B) {
	b.Run("handler", func(b *testing.B) {
		// The full ServeHTTP path: size cap, query, envelope, signature,
		// window, decryption, receiver check, parse, deduplication and the
		// non-blocking hand-off to the queue.
		//
		// The requests cycle through a set four times larger than the
		// dedup cache, so that every request is new (inserted, and an old
		// one evicted); the set is small enough to stay in the CPU cache,
		// like the single request of floor_crypto. The loop drains the
		// queue itself: a Run worker is not scheduled reliably between
		// iterations of a tight loop on a busy 2-core machine (in a server
		// the request goroutine ends and the worker runs).
		const distinct = 64
		reqs := benchRequests(b, distinct)
		h, err := New(Config{
			Token: testToken, EncodingAESKey: testKey, ReceiverID: testCorpID,
			Now:       func() time.Time { return testNow },
			DedupSize: distinct / 4,
			OnEvent:   func(context.Context, Event) {},
		})
		if err != nil {
			b.Fatal(err)
		}
		body := &benchBody{}
		r, err := http.NewRequest(http.MethodPost, "http://example.com/cb", body)
		if err != nil {
			b.Fatal(err)
		}
		r.Body = body
		w := &benchWriter{h: http.Header{}}
		b.SetBytes(int64(len(reqs[0].body)))
		b.ReportAllocs()
		cpu := startCPU(b)
		i := 0
		for b.Loop() {
			req := &reqs[i%distinct]
			i++
			r.URL.RawQuery = req.rawQuery
			body.Reset(req.body)
			r.ContentLength = int64(len(req.body))
			w.code = 0
			h.ServeHTTP(w, r)
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
			<-h.queue
		}
		cpu.report(b)
	})
	b.Run("floor_crypto", func(b *testing.B) {
		// SHA-1 signature check, base64 decoding and AES-CBC decryption of
		// the same callbacks, without any XML, HTTP or queueing.
		reqs := benchRequests(b, 1)
		q, err := url.ParseQuery(reqs[0].rawQuery)
		if err != nil {
			b.Fatal(err)
		}
		_, enc, _, err := wxcrypto.ParseEncryptedPostBody(reqs[0].body)
		if err != nil {
			b.Fatal(err)
		}
		key, err := wxcrypto.ParseKey(testKey)
		if err != nil {
			b.Fatal(err)
		}
		sig, ts, nonce := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce")
		b.SetBytes(int64(len(reqs[0].body)))
		b.ReportAllocs()
		cpu := startCPU(b)
		for b.Loop() {
			if !wxcrypto.VerifySignature(testToken, ts, nonce, enc, sig) {
				b.Fatal("bad signature")
			}
			if _, err := key.DecryptFor(enc, testCorpID); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b)
	})
}

// BenchmarkParseEvent measures the hand-written XML parser alone.
func BenchmarkParseEvent(b *testing.B) {
	in := []byte("<xml><ToUserName><![CDATA[ww6a112864f8022910]]></ToUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token><OpenKfId><![CDATA[wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw]]></OpenKfId></xml>")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	cpu := startCPU(b)
	for b.Loop() {
		if _, err := parseEvent(in, ""); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}
