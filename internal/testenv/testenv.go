// Package testenv holds test helpers shared by several packages' tests: a
// headless Chromium for browser tests, a concurrency-safe buffer and a
// runner for background loops. It is
// imported by tests only.
package testenv

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium, which .ci/run installs.
const ChromiumPath = "/usr/bin/chromium"

// Browser starts a headless Chromium for the test and returns a chromedp
// context for it, cancelled after timeout or when the test ends. Without
// Chromium the test is skipped, unless the environment variable CI is set:
// CI installs Chromium, so its absence there fails the test (a browser test
// must not pass silently in CI).
func Browser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is missing (%v): install Debian's chromium (apt-get install chromium)", ChromiumPath, err)
		}
		t.Skipf("%s not found: install Debian's chromium (apt-get install chromium) to run the browser test", ChromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Without these Chromium keeps trying to reach Google's hosts,
		// which this closed network refuses.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 860),
		chromedp.UserDataDir(t.TempDir()),
	}
	// t.Context is cancelled before the cleanups run, so the browser stops
	// before servers registered earlier close.
	ctx, cancelTimeout := context.WithTimeout(t.Context(), timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", ChromiumPath, err)
	}
	return bctx
}

// SyncBuffer is a bytes.Buffer safe for concurrent use: a running command or
// child process writes while the test reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Background runs run(ctx) in a goroutine and returns a stop function that
// cancels ctx and waits for run to return, failing the test (with every
// goroutine's stack) if run returns an error or does not return within
// 30 s. stop is also registered with t.Cleanup; calling it twice is fine.
func Background(t testing.TB, run func(context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				buf := make([]byte, 1<<20)
				t.Errorf("Run did not return 30 s after its context ended\n%s", buf[:runtime.Stack(buf, true)])
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
