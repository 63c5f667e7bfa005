package kfsync

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/wxkf/kf"
)

// BenchmarkEngine measures the Syncer alone: pre-decoded pages of 1000
// messages from an in-memory Source, the memory store (Seen + Commit of
// every message) and a no-op handler. One op is one message.
func BenchmarkEngine(b *testing.B) {
	const pageSize = 1000
	page := make([]kf.Message, pageSize)
	var served atomic.Int64
	n := int64(b.N)
	src := SourceFunc(func(_ context.Context, req *kf.SyncMsgRequest) (*kf.SyncMsgResponse, error) {
		start := served.Load()
		k := min(int64(pageSize), n-start)
		for i := range k {
			page[i] = kf.Message{MsgID: "msg" + strconv.FormatInt(start+i, 10), OpenKfID: "wkA", MsgType: kf.MsgTypeText}
		}
		served.Add(k)
		return &kf.SyncMsgResponse{NextCursor: "c" + strconv.FormatInt(start+k, 10), HasMore: start+k < n, MsgList: page[:k]}, nil
	})
	var handled atomic.Int64
	done := make(chan struct{})
	s, err := New(src, func(context.Context, kf.Message) error {
		if handled.Add(1) == n {
			close(done)
		}
		return nil
	}, WithPollInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	stop := start(b, s)
	s.Notify("wkA", "")
	<-done
	b.StopTimer()
	stop()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
