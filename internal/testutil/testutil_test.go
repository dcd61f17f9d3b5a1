package testutil_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
)

func TestWaitForReturnsElapsedTime(t *testing.T) {
	var calls atomic.Int32
	took := testutil.WaitFor(t, 5*time.Second, func() bool { return calls.Add(1) >= 3 }, "third call")
	if calls.Load() != 3 || took <= 0 || took > 5*time.Second {
		t.Fatalf("calls %d, took %v", calls.Load(), took)
	}
	ok, _ := testutil.Eventually(30*time.Millisecond, func() bool { return false })
	if ok {
		t.Fatal("Eventually reported success for a condition that never holds")
	}
}

// fatalRecorder stands in for the test handed to WaitFor so that its
// failure path can be observed without failing this test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWaitForFailsWithMessageOnTimeout(t *testing.T) {
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		testutil.WaitFor(rec, 20*time.Millisecond, func() bool { return false }, "the impossible")
		rec.msg = "returned"
	}()
	<-done
	if !strings.Contains(rec.msg, "timed out") || !strings.Contains(rec.msg, "the impossible") {
		t.Fatalf("WaitFor on timeout: %q, want a fatal naming the condition", rec.msg)
	}
}

func TestBuildBinaryIsCachedByContent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gorayd")
	}
	a := testutil.BuildBinary(t, testutil.GoraydPkg)
	st, err := os.Stat(a)
	if err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("binary %s: %v %v", a, st, err)
	}
	b := testutil.BuildBinary(t, testutil.GoraydPkg)
	if a != b {
		t.Fatalf("second build gave %s, want cached %s", b, a)
	}
	if !strings.Contains(a, "gorayd-") {
		t.Fatalf("binary name %s lacks the content hash", a)
	}
}

func TestNodeIP(t *testing.T) {
	a, b := net.ParseIP(testutil.NodeIP(0)).To4(), net.ParseIP(testutil.NodeIP(5)).To4()
	if a == nil || b == nil || !a.IsLoopback() || a[3] != 10 || b[3] != 15 || !a[:3].Equal(b[:3]) {
		t.Fatalf("NodeIP(0) = %s, NodeIP(5) = %s; want 127.0.X.10 and 127.0.X.15", testutil.NodeIP(0), testutil.NodeIP(5))
	}
}

func TestProcessTable(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if !testutil.Alive(pid) || !testutil.GroupAlive(pid) || !slices.Contains(testutil.Descendants(os.Getpid()), pid) {
		t.Fatalf("child %d not seen: alive=%v group=%v", pid, testutil.Alive(pid), testutil.GroupAlive(pid))
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if testutil.Alive(pid) || testutil.GroupAlive(pid) || slices.Contains(testutil.Descendants(os.Getpid()), pid) {
		t.Fatalf("killed child %d still seen", pid)
	}
}
