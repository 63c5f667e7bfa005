package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/redisstore"
)

// The Store is a kfsync store and locker: a commit made under a lease that
// was taken over is refused, and nothing of it is applied.
func Example() {
	m, _ := miniredis.Run() // or a real Redis
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	st := redisstore.New(rdb, redisstore.WithPrefix("myapp:"))
	ctx := context.Background()

	old, _ := st.Acquire(ctx, "wkSupport", "instance-1", 30*time.Second)
	_ = st.Commit(ctx, kfsync.Commit{OpenKfID: "wkSupport", Cursor: "c1",
		Handled: []kf.Message{{MsgID: "m1"}}, TTL: kfsync.DefaultDedupTTL, Owner: old.Owner, Fence: old.Fence})

	m.FastForward(time.Minute) // instance-1 stalls; its lease expires
	cur, _ := st.Acquire(ctx, "wkSupport", "instance-2", 30*time.Second)
	err := st.Commit(ctx, kfsync.Commit{OpenKfID: "wkSupport", Cursor: "stale",
		Handled: []kf.Message{{MsgID: "m2"}}, TTL: kfsync.DefaultDedupTTL, Owner: old.Owner, Fence: old.Fence})
	fmt.Println("fences:", old.Fence, cur.Fence)
	fmt.Println("stale commit refused:", errors.Is(err, kfsync.ErrStaleFence))

	cursor, _ := st.Load(ctx, "wkSupport")
	seen, _ := st.Seen(ctx, "wkSupport", []string{"m1", "m2"})
	fmt.Println("cursor:", cursor, "seen:", seen)
	// Output:
	// fences: 1 2
	// stale commit refused: true
	// cursor: c1 seen: [true false]
}

// Several instances of a service share one access token; only one of them
// refreshes it.
func ExampleTokenCache() {
	m, _ := miniredis.Run()
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()

	cache := redisstore.NewTokenCache(rdb)
	client, err := kf.NewClient("ww0123456789abcdef", "secret", kf.WithTokenCache(cache))
	fmt.Println(client != nil, err)
	// The same cache serves mp clients: mp.NewClient(appID, secret, mp.WithTokenCache(cache)).
	// Output: true <nil>
}
