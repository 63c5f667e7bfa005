package sqlitestore_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxkf/kf"
	"github.com/wxkf/kf/kfsync"
	"github.com/wxkf/kf/kfsync/sqlitestore"
	"github.com/wxkf/kf/kftest"
)

// Environment of the helper process of TestCrashArchiveExactlyOnce.
const (
	envHelper  = "KF_SQLITESTORE_CRASH_HELPER"
	envURL     = "KF_CRASH_URL"
	envCorp    = "KF_CRASH_CORP"
	envSecret  = "KF_CRASH_SECRET"
	envDB      = "KF_CRASH_DB"
	envAccount = "KF_CRASH_ACCOUNT"
	envPage    = "KF_CRASH_PAGE"
	envEvery   = "KF_CRASH_COMMIT_EVERY"
	// envMemory makes the helper sync until this many messages were
	// committed, print a "mem" line with its memory figures and exit.
	envMemory = "KF_MEMORY_REPORT"
)

// TestHelperProcess is the child of TestCrashArchiveExactlyOnce: a Syncer
// with the SQLite store and a no-op handler (the archive written by Commit
// is the whole effect), pulling one account from the parent's emulator
// until it is killed. It prints "ready" once the Syncer runs. It exits by
// itself when its stdin closes (the parent died) or after two minutes.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(envHelper) != "1" {
		t.Skip("helper process of TestCrashArchiveExactlyOnce")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	store, err := sqlitestore.Open(ctx, os.Getenv(envDB))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(3)
	}
	defer store.Close()
	client, err := kf.NewClient(os.Getenv(envCorp), os.Getenv(envSecret), kf.WithBaseURL(os.Getenv(envURL)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(3)
	}
	page, _ := strconv.Atoi(os.Getenv(envPage))
	every, _ := strconv.Atoi(os.Getenv(envEvery))
	var hooks kfsync.Hooks
	var report func()
	if n, _ := strconv.ParseInt(os.Getenv(envMemory), 10, 64); n > 0 {
		hooks, report = memoryReport(ctx, cancel, n)
	}
	s, err := kfsync.New(client.Messages, func(context.Context, kf.Message) error { return nil },
		kfsync.WithStore(store), kfsync.WithAccounts(os.Getenv(envAccount)), kfsync.WithHooks(hooks),
		kfsync.WithPollInterval(20*time.Millisecond), kfsync.WithPageLimit(page), kfsync.WithCommitEvery(every),
		kfsync.WithBackoff(kfsync.Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond}))
	if err != nil {
		fmt.Fprintln(os.Stderr, "syncer:", err)
		os.Exit(3)
	}
	fmt.Println("ready")
	s.Run(ctx)
	if report != nil {
		report()
	}
}

// crashChild is a running helper process.
type crashChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ready chan struct{}
	done  chan error
}

// helperCommand is the command running TestHelperProcess with env added.
func helperCommand(t *testing.T, env []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	return cmd
}

func startChild(t *testing.T, env []string) *crashChild {
	t.Helper()
	cmd := helperCommand(t, env)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &crashChild{cmd: cmd, stdin: stdin, ready: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		closed := false
		for sc.Scan() {
			if sc.Text() == "ready" && !closed {
				close(c.ready)
				closed = true
			}
		}
		c.done <- cmd.Wait()
	}()
	return c
}

// kill sends SIGKILL and reaps the child.
func (c *crashChild) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Logf("kill: %v", err)
	}
	c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the killed child was not reaped")
	}
}

// TestCrashArchiveExactlyOnce is guarantee 1 of the issue: a child process
// syncs a continuous stream of messages from kftest into the SQLite archive
// and is killed with SIGKILL at random moments, 20 times, restarting each
// time; at the end the archive holds every message of the account's sync
// log exactly once.
func TestCrashArchiveExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const account, kills = "wkCrash", 20
	seed := kftest.Seed{
		Accounts: []kftest.SeedAccount{{OpenKfID: account, Name: "crash", Servicers: []string{"alice"}}},
		Members:  []kftest.SeedMember{{UserID: "alice"}},
	}
	for i := range 8 {
		seed.Customers = append(seed.Customers, kftest.SeedCustomer{ExternalUserID: fmt.Sprint("wmCrash", i)})
	}
	// The child pulls without callback tokens, by its safety poll: lift the
	// tokenless rate limit.
	srv, err := kftest.New(kftest.WithSeed(seed), kftest.WithTokenlessSyncLimit(1_000_000, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	path := filepath.Join(t.TempDir(), "crash.db")
	env := []string{envHelper + "=1", envURL + "=http://" + l.Addr().String(), envCorp + "=" + srv.CorpID(),
		envSecret + "=" + srv.Secret(), envDB + "=" + path, envAccount + "=" + account}

	seedRand := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seedRand)
	rnd := rand.New(rand.NewPCG(seedRand, 7))

	// The feeder: a continuous stream of customer texts, with enter_session
	// events, servicer accepts and servicer messages mixed in.
	var fed atomic.Int64
	stop := make(chan struct{})
	var feeding sync.WaitGroup
	feeding.Go(func() {
		frnd := rand.New(rand.NewPCG(seedRand, 8))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			for range 1 + frnd.IntN(8) {
				user := fmt.Sprint("wmCrash", frnd.IntN(8))
				var err error
				switch k := frnd.IntN(40); {
				case k == 0:
					_, err = srv.EnterSession(account, user, kftest.EnterOptions{Scene: "crash"})
				case k == 1:
					_, err = srv.ServicerAccept(account, user, "alice")
				case k <= 3:
					_, err = srv.ServicerSend(account, user, "alice", kftest.CustomerText(fmt.Sprint("servicer ", i)))
				default:
					_, err = srv.CustomerSend(account, user, kftest.CustomerText(fmt.Sprint("customer ", i)))
				}
				if err == nil {
					fed.Add(1)
				}
			}
		}
	})
	stopFeeding := sync.OnceFunc(func() { close(stop); feeding.Wait() })
	t.Cleanup(stopFeeding)

	// The parent's read handle on the archive (it also creates the file).
	store := open(t, path)

	progressed := 0
	var last int64
	for i := range kills {
		// Page sizes, and progress commits (keeping the cursor) within pages
		// or not.
		env := append(env, fmt.Sprintf("%s=%d", envPage, []int{1000, 100, 37, 5}[rnd.IntN(4)]),
			fmt.Sprintf("%s=%d", envEvery, []int{0, 0, 7, 50}[rnd.IntN(4)]))
		c := startChild(t, env)
		var wait time.Duration
		if rnd.IntN(4) == 0 {
			// Any moment from the exec on: startup, Open, migration, the
			// first pull.
			wait = time.Duration(rnd.IntN(400)) * time.Millisecond
		} else {
			select {
			case <-c.ready:
			case err := <-c.done:
				t.Fatalf("child %d exited before it was ready: %v", i, err)
			case <-time.After(30 * time.Second):
				t.Fatalf("child %d not ready", i)
			}
			wait = time.Duration(rnd.IntN(250)) * time.Millisecond
		}
		time.Sleep(wait)
		c.kill(t)
		n := count(t, store, account)
		if n > last {
			progressed++
		}
		t.Logf("kill %2d after %3v: archive %6d messages (+%d), %d fed", i+1, wait, n, n-last, fed.Load())
		last = n
	}
	stopFeeding()

	// The last run drains the backlog.
	want := map[string]json.RawMessage{}
	for _, raw := range srv.SyncLog(account) {
		var head struct {
			MsgID string `json:"msgid"`
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.MsgID == "" {
			t.Fatalf("sync log entry %s: %v", raw, err)
		}
		if _, dup := want[head.MsgID]; dup {
			t.Fatalf("the sync log holds msgid %s twice", head.MsgID)
		}
		want[head.MsgID] = raw
	}
	c := startChild(t, append(env, envPage+"=1000"))
	deadline := time.Now().Add(40 * time.Second)
	for count(t, store, account) < int64(len(want)) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a duplicate, if any, would land now
	c.kill(t)
	t.Logf("%d messages fed, %d in the sync log; %d of %d runs advanced the archive before their kill",
		fed.Load(), len(want), progressed, kills)
	if progressed < kills/5 {
		t.Errorf("only %d of %d killed runs advanced the archive: the kills did not hit a working syncer", progressed, kills)
	}

	// Every message exactly once.
	db := store.DB()
	var total, distinct int64
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT msgid) FROM archive`).Scan(&total, &distinct); err != nil {
		t.Fatal(err)
	}
	if total != distinct {
		t.Errorf("archive: %d rows, %d distinct msgids", total, distinct)
	}
	if total != int64(len(want)) {
		t.Errorf("archive: %d rows, want %d", total, len(want))
	}
	rows, err := db.Query(`SELECT msgid, open_kfid, raw FROM archive`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	bad := 0
	for rows.Next() {
		var id, acct, raw string
		if err := rows.Scan(&id, &acct, &raw); err != nil {
			t.Fatal(err)
		}
		got[id] = true
		w, ok := want[id]
		switch {
		case !ok:
			t.Errorf("archived msgid %s is not in the sync log", id)
			bad++
		case acct != account:
			t.Errorf("msgid %s archived under %q", id, acct)
			bad++
		case !sameJSON(t, w, []byte(raw)):
			t.Errorf("msgid %s archived as %s, served as %s", id, raw, w)
			bad++
		}
		if bad > 10 {
			t.Fatal("too many errors")
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	missing := 0
	for id := range want {
		if !got[id] {
			if missing++; missing <= 10 {
				t.Errorf("msgid %s missing from the archive", id)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d messages missing", missing)
	}
	var marks int64
	if err := db.QueryRow(`SELECT count(*) FROM dedup WHERE open_kfid = ?`, account).Scan(&marks); err != nil || marks != int64(len(want)) {
		t.Errorf("dedup marks: %d, %v; want %d", marks, err, len(want))
	}
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("integrity_check: %q, %v", ok, err)
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
