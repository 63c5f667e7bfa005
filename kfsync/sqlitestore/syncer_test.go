package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kftest"
)

// TestSyncerWithSQLite runs a Syncer over the store against kftest: every
// message (events included) is handled and archived once, and after the
// cursor is lost, the platform's re-delivered history is skipped by the
// dedup marks of the store.
func TestSyncerWithSQLite(t *testing.T) {
	t.Parallel()
	srv := benchEmulator(t)
	path := filepath.Join(t.TempDir(), "kf.db")
	store := open(t, path)

	var mu sync.Mutex
	handled := map[string]int{}
	h := func(_ context.Context, m kf.Message) error {
		mu.Lock()
		handled[m.MsgID]++
		mu.Unlock()
		return nil
	}
	start := func() (*kfsync.Syncer, func()) {
		s, err := kfsync.New(srv.Client().Messages, h, kfsync.WithStore(store), kfsync.WithPollInterval(0),
			kfsync.WithPageLimit(50))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		return s, func() { cancel(); <-done }
	}
	waitArchive := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for count(t, store, benchAccount) < int64(n) {
			if time.Now().After(deadline) {
				t.Fatalf("archive holds %d messages, want %d", count(t, store, benchAccount), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	feed(t, srv, 300)
	for i := range 5 {
		if _, err := srv.EnterSession(benchAccount, fmt.Sprint("wmBench", i), kftest.EnterOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	s1, stop1 := start()
	notify(t, srv, s1)
	waitArchive(305)
	stop1()
	events, err := store.ByCustomer(ctx, benchAccount, "wmBench3", time.Time{}, time.Time{}, 0)
	if err != nil || len(events) != 61 || events[60].Message.MsgType != kf.MsgTypeEvent {
		t.Fatalf("ByCustomer wmBench3: %d rows, %v", len(events), err)
	}

	// The cursor is lost (say, restored from an old backup): the platform
	// serves its 3 days of history again.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM cursors`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	feed(t, srv, 20)
	s2, stop2 := start()
	notify(t, srv, s2)
	waitArchive(325)
	time.Sleep(50 * time.Millisecond)
	stop2()
	if st := s2.Stats(); st.Handled != 20 || st.Duplicates != 305 {
		t.Errorf("second run: handled %d, duplicates %d; want 20, 305", st.Handled, st.Duplicates)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 325 {
		t.Errorf("%d distinct messages handled, want 325", len(handled))
	}
	for id, n := range handled {
		if n != 1 {
			t.Errorf("msgid %s handled %d times", id, n)
		}
	}
	if n := int64(len(srv.SyncLog(benchAccount))); count(t, store, "") != n {
		t.Errorf("archive %d, sync log %d", count(t, store, ""), n)
	}
}
