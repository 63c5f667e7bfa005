package callback

import (
	"hash/maphash"
	"testing"
)

func BenchmarkEnqParts(b *testing.B) {
	raw := make([]byte, 300)
	seed := maphash.MakeSeed()
	b.Run("maphash", func(b *testing.B) {
		for b.Loop() {
			_ = maphash.Bytes(seed, raw)
		}
	})
	b.Run("dedup", func(b *testing.B) {
		c := newDedupCache(16, 1e12)
		i := uint64(0)
		for b.Loop() {
			i++
			k := i * 0x9E3779B97F4A7C15
			if !c.seen(k, 1) {
				c.add(k, 1)
			}
		}
	})
	b.Run("chan", func(b *testing.B) {
		q := make(chan Event, 1024)
		var ev Event
		for b.Loop() {
			q <- ev
			<-q
		}
	})
}
