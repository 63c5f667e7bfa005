package kfsync_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kftest"
)

// BenchmarkSyncThroughput measures the sync path end to end: kftest over
// loopback HTTP → kf.Client (sync_msg decode) → Syncer (dedup, commit) with
// the memory store → a no-op handler. Each iteration pulls a backlog of
// 50 000 messages, generated with the timer stopped. The figure is the
// msgs/s metric (target ≥ 50 000 msgs/s).
//
//	go test -run XXX -bench SyncThroughput -benchtime 5x ./kfsync
func BenchmarkSyncThroughput(b *testing.B) {
	const backlog = 50_000
	srv := emulator(b, kftest.WithTokenlessSyncLimit(1_000_000, time.Minute))
	var handled atomic.Int64
	target := atomic.Int64{}
	done := make(chan struct{}, 1)
	h := func(context.Context, kf.Message) error {
		if handled.Add(1) == target.Load() {
			done <- struct{}{}
		}
		return nil
	}
	s, err := kfsync.New(srv.Client().Messages, h, kfsync.WithPollInterval(0), kfsync.WithStore(kfsync.NewMemoryStore()))
	if err != nil {
		b.Fatal(err)
	}
	run(b, s)
	text := kftest.CustomerText("你好，我想查询一下订单的物流状态，谢谢")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := range backlog {
			if _, err := srv.CustomerSend(wkA, "wmCustomer"+string(rune('0'+j%5)), text); err != nil {
				b.Fatal(err)
			}
		}
		target.Store(int64((i + 1) * backlog))
		tok, _ := srv.SyncToken(wkA)
		b.StartTimer()
		s.Notify(wkA, tok)
		<-done
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*backlog)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*backlog), "ns/msg")
	if st := s.Stats(); st.Handled != int64(b.N*backlog) || st.Duplicates != 0 {
		b.Fatalf("stats = %+v", st)
	}
}
