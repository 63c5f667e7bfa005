package callback

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// OnReject sees every rejection with an error that Reason names.
func TestOnRejectReasons(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	hs := newHarness(t, func(c *Config) {
		c.OnReject = func(_ *http.Request, err error) {
			mu.Lock()
			got = append(got, Reason(err))
			mu.Unlock()
		}
	})
	hs.run(t)
	b := mustBuilder(t, testToken, testKey, testCorpID, 1)
	good := kfEvent(t, b, "wkA", "TOKEN", testNow)
	if w := serve(hs.h, good); w.Code != http.StatusOK {
		t.Fatalf("good request: %d", w.Code)
	}
	bad := mustBuilder(t, "OtherToken1", testKey, testCorpID, 2)
	serve(hs.h, kfEvent(t, bad, "wkA", "TOKEN", testNow))               // bad signature
	serve(hs.h, kfEvent(t, b, "wkA", "TOKEN", testNow.Add(-time.Hour))) // stale
	serve(hs.h, post(nil, []byte("<xml></xml>")))                       // missing params
	other := mustBuilder(t, testToken, testKey, "ww-other-corp", 3)     // receiver mismatch
	serve(hs.h, kfEvent(t, other, "wkA", "TOKEN", testNow))
	r, _ := http.NewRequest(http.MethodPut, "/", nil)
	serve(hs.h, r)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"bad_signature", "stale_timestamp", "missing_params", "receiver_mismatch", "method"}
	if len(got) != len(want) {
		t.Fatalf("reasons %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("reason %d = %q, want %q", i, got[i], want[i])
		}
	}
	if Reason(nil) != "other" {
		t.Errorf("Reason(nil) = %q", Reason(nil))
	}
}
