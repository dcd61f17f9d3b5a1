package main_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/agent"
)

// syncBuffer is a bytes.Buffer safe for a process writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Issue 3 on real daemons. Two nodes of two CPUs; a driver on node 0 runs
// eight 3-second SPREAD tasks with no retries allowed: two run on each
// node and four wait, which `goray status` shows as the cluster's pending
// demand and the driver is warned about (once, on stderr). A 64-CPU task
// fails at once as infeasible. Node 1 gets SIGTERM while its two tasks
// run: it drains (they finish and send their results), leaves, and exits
// 0; every task succeeds without a retry, and the actor that lived on
// node 1 is restarted on node 0 by its owner.
func TestSIGTERMDrainsWorkAndPendingDemandIsShown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two gorayd processes and a driver")
	}
	args := []string{"-resources.cpu", "2", "-worker.prestart", "-1",
		"-scheduler.pending_warning", "300ms", "-scheduler.drain_timeout", "10s"}
	c := testutil.NewCluster(t, 2, testutil.WithArgs(func(int) []string { return args }))
	testutil.WaitFor(t, 15*time.Second, func() bool { return c.CountState(0, "alive") == 2 }, "both nodes alive on node 0")
	driver := testutil.BuildBinary(t, "github.com/goray/goray/cmd/gorayd/testdata/drainer")
	testutil.BuildBinary(t, gorayPkg) // now, not while the tasks run
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, driver, "8", "3000", c.NodeID(1))
	cmd.Env = append(os.Environ(), "GORAY_ADDRESS="+c.HTTP(0), "GORAY_TOKEN=")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Both of node 1's CPUs busy with the driver's tasks.
	deadline := time.Now().Add(60 * time.Second)
	for selfCPU(c, 1) != 0 {
		if time.Now().After(deadline) || strings.Contains(stdout.String(), "ran ") {
			t.Fatalf("node 1 never ran two tasks at once; driver stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The four waiting tasks are the cluster's pending demand.
	var st agent.StatusResponse
	testutil.WaitFor(t, 10*time.Second, func() bool {
		sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
		defer scancel()
		st = agent.StatusResponse{}
		err := c.GetJSON(sctx, 0, "/v1/status", &st)
		if err != nil || len(st.Demands) == 0 {
			t.Logf("status: %v %+v %+v", err, st.PendingDemands, st.Demands)
		}
		return err == nil && len(st.Demands) > 0
	}, "pending demand in /v1/status")
	if d := st.Demands[0]; d.Shape["CPU"] != 1 || d.Count < 1 || d.Count > 4 {
		t.Errorf("demands %+v; want {CPU: 1} with 1..4 waiting", st.Demands)
	}
	out, code := goray(t, ctx, "status", "--address", addr(c, 0))
	if code != 0 || !strings.Contains(out, `{"CPU": 1}: `) || !strings.Contains(out, "pending tasks/actors") {
		t.Errorf("goray status (exit %d) does not show the demand:\n%s", code, out)
	}
	// The driver was warned that its work waits.
	testutil.WaitFor(t, 10*time.Second, func() bool {
		return strings.Contains(stderr.String(), "The following resource request cannot be scheduled right now: {CPU: 1}")
	}, "the pending warning on the driver's stderr")

	id1 := c.NodeID(1)
	start := time.Now()
	if err := c.Stop(1); err != nil {
		t.Fatalf("node 1 did not exit 0 after SIGTERM: %v", err)
	}
	t.Logf("SIGTERM to exit with two tasks running: %v", time.Since(start))
	testutil.WaitFor(t, 5*time.Second, func() bool { return c.StateOf(0, id1) == "left" }, "node 1 left, as node 0 sees it")

	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("driver: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
	case <-ctx.Done():
		t.Fatalf("driver did not finish; stdout:\n%s", stdout.String())
	}
	got := stdout.String()
	t.Logf("driver stdout:\n%s", got)
	if !strings.Contains(got, "infeasible ok") || !strings.Contains(got, "all ok") {
		t.Fatalf("driver output lacks its checks:\n%s", got)
	}
	// Work ran on both nodes, and all eight results came back.
	total := 0
	for _, f := range strings.Fields(strings.TrimPrefix(lineWith(got, "ran "), "ran ")) {
		k, v, _ := strings.Cut(f, "=")
		n, _ := strconv.Atoi(v)
		total += n
		if k == id1 && n < 1 {
			t.Errorf("no task ran on node 1: %s", got)
		}
	}
	if total != 8 || !strings.Contains(got, id1+"=") {
		t.Errorf("results %q; want 8, some from node 1", lineWith(got, "ran "))
	}
	// The actor lived on node 1; its owner restarted it on node 0 (a
	// fresh instance: its count starts again).
	if want := "actor before " + id1 + " 1"; lineWith(got, "actor before ") != want {
		t.Errorf("%q, want %q", lineWith(got, "actor before "), want)
	}
	if want := "actor after " + c.NodeID(0) + " 1"; lineWith(got, "actor after ") != want {
		t.Errorf("%q, want %q", lineWith(got, "actor after "), want)
	}
	if n := strings.Count(stderr.String(), "cannot be scheduled right now"); n != 1 {
		t.Errorf("driver warned %d times, want once per shape:\n%s", n, stderr.String())
	}
}

func lineWith(out, prefix string) string {
	for l := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
