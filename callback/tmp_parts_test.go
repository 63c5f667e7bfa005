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
	b.Run("outer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			wxcrypto.ParseEncryptedPostBody(reqs[0].body)
		}
	})
	b.Run("query", func(b *testing.B) {
		for b.Loop() {
			parseQuery(reqs[0].rawQuery)
		}
	})
	b.Run("inner", func(b *testing.B) {
		for b.Loop() {
			parseEvent(msg)
		}
	})
	h, _ := New(Config{Token: testToken, EncodingAESKey: testKey, ReceiverID: testCorpID, DedupSize: 256,
		Now: func() time.Time { return testNow }, OnEvent: func(context.Context, Event) {}})
	ev, _ := parseEvent(msg)
	b.Run("enqueue", func(b *testing.B) {
		i := 0
		for b.Loop() {
			ev.Raw[len(ev.Raw)-1-i%4] ^= byte(i)
			i++
			h.enqueue(ev)
			<-h.queue
		}
	})
}
