package daemon_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/testutil"
)

// Chatter prints what it is told, from one worker process for its life.
type Chatter struct{}

// Say prints word and n bytes of padding and returns the worker's PID.
func (*Chatter) Say(word string, n int) int {
	fmt.Printf("%s %s\n", word, strings.Repeat(".", n))
	return os.Getpid()
}

var chatterClass = goray.RegisterActor[Chatter]("daemontest.Chatter", func() *Chatter { return &Chatter{} })

// TestWorkerLogRotationInDaemon: a worker writing past worker.log_max_size
// gets its log file rotated (worker-<pid>.log.1, .2, no more than
// worker.log_backups), the file it writes to stays under the cap, and
// /api/v0/logs?worker=PID (what `goray logs --worker` reads) still has
// everything it wrote, first line to last.
func TestWorkerLogRotationInDaemon(t *testing.T) {
	dir := t.TempDir()
	cfg := config(t, dir)
	cfg.Worker.LogMaxSize = 4 << 10
	cfg.Worker.LogBackups = 2
	d := start(t, cfg)
	addr := d.Agent().HTTPAddr()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{Address: d.DriverAddress()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Shutdown(context.WithoutCancel(ctx))
	ctx = goray.WithRuntime(ctx, rt)
	h, err := chatterClass.Options(goray.NumCPUs(0)).Remote(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logs := filepath.Join(dir, "logs", "workers")
	var pid int
	const calls = 12 // 12 × ~3 KiB: several rotations of a 4 KiB cap
	for i := range calls {
		if pid, err = goray.Call[int](ctx, h, "Say", fmt.Sprintf("line-%02d", i), 3000).Get(ctx); err != nil {
			t.Fatal(err)
		}
		// Let the observer see each call's output before the next one, so
		// that the file crosses the cap several times, not once.
		want := fmt.Sprintf("line-%02d", i)
		testutil.WaitFor(t, 10*time.Second, func() bool {
			code, body := get(t, ctx, addr, fmt.Sprintf("/api/v0/logs?worker=%d", pid), "tok")
			return code == 200 && strings.Contains(body, want)
		}, want+" in the worker's log")
	}
	name := fmt.Sprintf("worker-%d.log", pid)
	testutil.WaitFor(t, 10*time.Second, func() bool {
		_, err1 := os.Stat(filepath.Join(logs, name+".1"))
		_, err2 := os.Stat(filepath.Join(logs, name+".2"))
		return err1 == nil && err2 == nil
	}, "two rotated copies of "+name)
	if _, err := os.Stat(filepath.Join(logs, name+".3")); err == nil {
		t.Fatalf("%s.3 kept with log_backups = 2", name)
	}
	info, err := os.Stat(filepath.Join(logs, name))
	if err != nil || info.Size() >= 4<<10 {
		t.Fatalf("current log file: %v, %v; want under the 4 KiB cap", info, err)
	}
	_, body := get(t, ctx, addr, fmt.Sprintf("/api/v0/logs?worker=%d", pid), "tok")
	for i := range calls {
		if w := fmt.Sprintf("line-%02d ", i); strings.Count(body, w) != 1 {
			t.Fatalf("the log API has %q %d times, want once (body %d bytes)", w, strings.Count(body, w), len(body))
		}
	}
}
