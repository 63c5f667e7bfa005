package sqlitestore_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kftest"
)

// memFigures is what the helper process reports after a sync.
type memFigures struct {
	Handled  int64 `json:"handled"`
	HeapLive int64 `json:"heap_live"` // HeapAlloc after a GC, all committed
	HeapPeak int64 `json:"heap_peak"` // highest HeapAlloc sampled during the sync
	VmHWM    int64 `json:"vm_hwm"`    // peak resident set (Linux), Go heap and SQLite's C memory alike
}

// memoryReport returns the hooks of a helper that stops once n messages were
// committed, and the function printing its figures.
func memoryReport(ctx context.Context, stop context.CancelFunc, n int64) (kfsync.Hooks, func()) {
	var handled, peak atomic.Int64
	go func() {
		var ms runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&ms)
			if h := int64(ms.HeapAlloc); h > peak.Load() {
				peak.Store(h)
			}
		}
	}()
	hooks := kfsync.Hooks{Page: func(e kfsync.PageEvent) {
		if handled.Add(int64(e.Handled)) >= n {
			stop()
		}
	}}
	return hooks, func() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		f := memFigures{Handled: handled.Load(), HeapLive: int64(ms.HeapAlloc), HeapPeak: peak.Load(), VmHWM: vmHWM()}
		b, _ := json.Marshal(f)
		fmt.Printf("mem %s\n", b)
	}
}

// vmHWM returns the process's peak resident set in bytes (0 when unknown).
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, _ := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// syncInChild fills a standalone emulator with a backlog of n messages, then
// runs the helper process until it committed them all into a fresh SQLite
// store, and returns its memory figures.
func syncInChild(t *testing.T, n int) memFigures {
	t.Helper()
	srv, err := kftest.New(kftest.WithSeed(kftest.Seed{
		Accounts:  []kftest.SeedAccount{{OpenKfID: benchAccount, Name: "bench"}},
		Customers: []kftest.SeedCustomer{{ExternalUserID: "wmBench0"}, {ExternalUserID: "wmBench1"}, {ExternalUserID: "wmBench2"}, {ExternalUserID: "wmBench3"}, {ExternalUserID: "wmBench4"}},
	}), kftest.WithTokenlessSyncLimit(1_000_000, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	feed(t, srv, n)

	cmd := helperCommand(t, []string{envHelper + "=1", envURL + "=http://" + l.Addr().String(), envCorp + "=" + srv.CorpID(),
		envSecret + "=" + srv.Secret(), envDB + "=" + t.TempDir() + "/mem.db", envAccount + "=" + benchAccount,
		envPage + "=1000", envMemory + "=" + strconv.Itoa(n)})
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, _ := cmd.StdinPipe()
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var f memFigures
	found := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("mem ")); ok {
			if err := json.Unmarshal(rest, &f); err != nil {
				t.Fatal(err)
			}
			found = true
		}
	}
	if err := cmd.Wait(); err != nil || !found {
		t.Fatalf("helper: %v (report found: %v)", err, found)
	}
	if f.Handled != int64(n) {
		t.Fatalf("helper handled %d messages, want %d", f.Handled, n)
	}
	return f
}

// TestMemoryFlat: "memory stays flat however large the backlog". A process
// syncing a backlog ten times larger into SQLite must not use (nearly) ten
// times the memory: the Syncer holds one page at a time, and the dedup set
// and the archive live in the SQLite file (its page cache, outside the Go
// heap, is bounded by cache_size: 2 MB per connection by default). The
// syncing process is a child, so that the emulator holding the backlog is
// not counted. A proportional growth would be 10x; the margins absorb GC
// pacing and sampling noise. (Under the race detector the sizes are
// smaller and the RSS is not checked: its shadow memory grows with time.)
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("syncs 110 000 messages")
	}
	small, large := 10_000, 100_000
	if raceEnabled {
		small, large = 2_000, 20_000 // the same ratio, in less time
	}
	fs := syncInChild(t, small)
	fl := syncInChild(t, large)
	const mb = 1 << 20
	for _, r := range []struct {
		n int
		f memFigures
	}{{small, fs}, {large, fl}} {
		t.Logf("backlog %6d: live heap %6.2f MB, peak heap %6.2f MB, peak RSS %6.2f MB",
			r.n, float64(r.f.HeapLive)/mb, float64(r.f.HeapPeak)/mb, float64(r.f.VmHWM)/mb)
	}
	if fl.HeapLive > fs.HeapLive+4*mb {
		t.Errorf("live heap grew from %d to %d bytes for a 10x larger backlog", fs.HeapLive, fl.HeapLive)
	}
	if fl.HeapPeak > 2*fs.HeapPeak+8*mb {
		t.Errorf("peak heap grew from %d to %d bytes for a 10x larger backlog", fs.HeapPeak, fl.HeapPeak)
	}
	if !raceEnabled && fs.VmHWM > 0 && fl.VmHWM > 2*fs.VmHWM+32*mb {
		t.Errorf("peak RSS grew from %d to %d bytes for a 10x larger backlog", fs.VmHWM, fl.VmHWM)
	}
}
