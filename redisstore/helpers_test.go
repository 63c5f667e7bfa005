package redisstore_test

import (
	"context"
	"fmt"
	"github.com/wxkf/kf/internal/testenv"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// requireRedisServer returns the path of redis-server. Without it the test
// is skipped, unless the environment variable CI is set: CI installs
// redis-server, so its absence there is a failure.
func requireRedisServer(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not on PATH, and CI is set: CI must install it (apt-get install -y redis-server)")
		}
		t.Skip("redis-server is not on PATH: install it (apt-get install -y redis-server) to run the tests against a real Redis")
	}
	return path
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// syncBuffer is a buffer safe for concurrent use.
type syncBuffer = testenv.SyncBuffer

// startRedis starts a real redis-server on a free loopback port, without
// persistence, and kills it when the test ends. It returns the address.
// redis-server cannot pick a port itself, so the port is found by listening
// on :0; if another process takes it in between, startRedis tries again.
func startRedis(t testing.TB) string {
	t.Helper()
	path := requireRedisServer(t)
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := freePort(t)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		var out syncBuffer
		cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", t.TempDir())
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		if err := waitPing(addr, exited); err != nil {
			stop()
			lastErr = fmt.Errorf("%w; output:\n%s", err, out.String())
			continue
		}
		t.Cleanup(stop)
		return addr
	}
	t.Fatalf("redis-server did not start: %v", lastErr)
	return ""
}

// waitPing waits until the server at addr answers PING, for up to 10 s.
func waitPing(addr string, exited <-chan error) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("redis-server exited: %v", err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PING answer from %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// realRedis starts a redis-server and returns a client to it.
func realRedis(t testing.TB) *redis.Client {
	t.Helper()
	return newClient(t, startRedis(t))
}

func newClient(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 32})
	t.Cleanup(func() { c.Close() })
	return c
}

// backend is a Redis to run contract tests against.
type backend struct {
	rdb *redis.Client
	// elapse lets d pass for the server's TTLs: miniredis fast-forwards,
	// a real server is waited for.
	elapse func(d time.Duration)
}

// miniBackend starts a miniredis.
func miniBackend(t testing.TB) backend {
	m := miniredis.RunT(t)
	return backend{rdb: newClient(t, m.Addr()), elapse: m.FastForward}
}

// forBackends runs f against miniredis (always) and against a real
// redis-server (skipped when it is not installed, outside CI).
func forBackends(t *testing.T, f func(t *testing.T, b backend)) {
	t.Run("miniredis", func(t *testing.T) {
		t.Parallel()
		f(t, miniBackend(t))
	})
	t.Run("redis-server", func(t *testing.T) {
		t.Parallel()
		f(t, backend{rdb: realRedis(t), elapse: time.Sleep})
	})
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
