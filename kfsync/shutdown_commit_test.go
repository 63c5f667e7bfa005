package kfsync

import (
	"context"
	"testing"
	"time"

	"github.com/wxkf/kf"
)

// slowCommitStore blocks each Commit until released and records whether
// the commit's context was cancelled while it waited.
type slowCommitStore struct {
	*MemoryStore
	entered  chan struct{}
	release  chan struct{}
	canceled chan bool
}

func (s *slowCommitStore) Commit(ctx context.Context, c Commit) error {
	s.entered <- struct{}{}
	<-s.release
	s.canceled <- ctx.Err() != nil
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.MemoryStore.Commit(ctx, c)
}

// A shutdown that begins while a commit is in flight lets the commit finish
// instead of cancelling it (which would make the page be pulled and handled
// again at the next start).
func TestShutdownDoesNotAbortCommit(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	src.add("wkA", 10)
	store := &slowCommitStore{MemoryStore: NewMemoryStore(), entered: make(chan struct{}, 1),
		release: make(chan struct{}), canceled: make(chan bool, 1)}
	s, err := New(src, func(context.Context, kf.Message) error { return nil },
		WithStore(store), WithAccounts("wkA"), WithShutdownTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, s)
	select {
	case <-store.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no commit started")
	}
	go func() {
		time.Sleep(50 * time.Millisecond) // let the cancellation reach the worker
		close(store.release)
	}()
	stop() // cancels Run while the commit waits
	if <-store.canceled {
		t.Fatal("the in-flight commit's context was cancelled by the shutdown")
	}
	cur, err := store.Load(t.Context(), "wkA")
	if err != nil || cur == "" {
		t.Fatalf("cursor after shutdown = %q, %v; want the committed page", cur, err)
	}
}
