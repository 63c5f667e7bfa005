package callback

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func BenchmarkCheckOnly(b *testing.B) {
	const distinct = 64
	reqs := benchRequests(b, distinct)
	h, _ := New(Config{Token: testToken, EncodingAESKey: testKey, ReceiverID: testCorpID,
		Now: func() time.Time { return testNow }, DedupSize: distinct / 4, OnEvent: func(context.Context, Event) {}})
	body := &benchBody{}
	r, _ := http.NewRequest(http.MethodPost, "http://example.com/cb", body)
	r.Body = body
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := &reqs[i%distinct]
		i++
		r.URL.RawQuery = req.rawQuery
		body.Reset(req.body)
		r.ContentLength = int64(len(req.body))
		if _, err := h.Check(r); err != nil {
			b.Fatal(err)
		}
	}
}
