package kf

import (
	"encoding/json"
	"runtime"
	"testing"
)

// BenchmarkDecodeSyncMsg decodes one sync_msg page of 1000 mixed messages
// (see genSyncPage) with the typed decoder (SyncMsgResponse.UnmarshalJSON)
// and, as the baseline, with encoding/json into map[string]any. Besides
// ns/op and allocs/op it reports ns/msg and allocs/msg.
func BenchmarkDecodeSyncMsg(b *testing.B) {
	page := genSyncPage(genPageMessages)
	b.Run("typed", func(b *testing.B) {
		benchDecodeSyncMsg(b, page, func() error {
			var r SyncMsgResponse
			if err := r.UnmarshalJSON(page); err != nil {
				return err
			}
			if len(r.MsgList) != genPageMessages {
				b.Fatalf("decoded %d messages", len(r.MsgList))
			}
			return nil
		})
	})
	b.Run("baseline_map", func(b *testing.B) {
		benchDecodeSyncMsg(b, page, func() error {
			var m map[string]any
			return json.Unmarshal(page, &m)
		})
	})
}

func benchDecodeSyncMsg(b *testing.B, page []byte, decode func() error) {
	b.ReportAllocs()
	b.SetBytes(int64(len(page)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		if err := decode(); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	msgs := float64(b.N) * genPageMessages
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/msgs, "allocs/msg")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgs, "ns/msg")
}
