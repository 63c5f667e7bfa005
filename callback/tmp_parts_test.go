package callback

import (
	"context"
	"testing"
	"time"

	"github.com/wxkf/kf/internal/wxcrypto"
)

func BenchmarkParts(b *testing.B) {
	reqs := benchRequests(b, 1)
	key, _ := wxcrypto.ParseKey(testKey)
	_, enc, _, _ := wxcrypto.ParseEncryptedPostBody(reqs[0].body)
	msg, _ := key.DecryptFor(enc, testCorpID)
	run := func(name string, f func(i int)) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := startCPU(b)
			i := 0
			for b.Loop() {
				f(i)
				i++
			}
			cpu.report(b)
		})
	}
	run("outer", func(int) { wxcrypto.ParseEncryptedPostBody(reqs[0].body) })
	run("envelope", func(int) { parseEnvelope(reqs[0].body) })
	run("envelope+string", func(int) { e, _ := parseEnvelope(reqs[0].body); sink = string(e) })
	run("query", func(int) { parseQuery(reqs[0].rawQuery) })
	run("inner", func(int) { parseEvent(msg, testCorpID) })
	h, _ := New(Config{Token: testToken, EncodingAESKey: testKey, ReceiverID: testCorpID, DedupSize: 256,
		Now: func() time.Time { return testNow }, OnEvent: func(context.Context, Event) {}})
	ev, _ := parseEvent(msg, testCorpID)
	run("enqueue", func(i int) {
		ev.Raw[len(ev.Raw)-1] = byte(i)
		ev.Raw[len(ev.Raw)-2] = byte(i >> 8)
		if dup, _ := h.enqueue(&ev, testNow); !dup {
			<-h.queue
		}
	})
	run("verify", func(int) { h.verify(reqs[0].rawQuery[14:54], "1740830400", "x", enc, testNow) })
}

func BenchmarkOuterMine(b *testing.B) {
	reqs := benchRequests(b, 1)
	b.ReportAllocs()
	cpu := startCPU(b)
	for b.Loop() {
		parseEnvelope(reqs[0].body)
	}
	cpu.report(b)
}

var sink string

func BenchmarkAllocOnly(b *testing.B) {
	reqs := benchRequests(b, 1)
	b.ReportAllocs()
	cpu := startCPU(b)
	for b.Loop() {
		sink = string(reqs[0].body)
	}
	cpu.report(b)
}
