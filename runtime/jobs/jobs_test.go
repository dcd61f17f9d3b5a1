package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/goray/goray/internal/tomlutil"
)

func writeJob(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "job.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseBadInput(t *testing.T) {
	cases := []struct {
		name, text, want string
		is               error
	}{
		{"malformed", "name = \"x\"\n[entrypoint\ncommand = \"true\"\n", "job.toml:2:", tomlutil.ErrSyntax},
		{"unknown key", "name = \"x\"\nentrypiont = 1\n", "job.toml:2:1: entrypiont: unknown key", tomlutil.ErrUnknownKey},
		{"unknown nested key", "name = \"x\"\n[entrypoint]\ncommand = \"true\"\nargz = []\n", "job.toml:4:1: entrypoint.argz: unknown key", tomlutil.ErrUnknownKey},
		{"wrong type", "name = \"x\"\n[resources]\nnum_cpus = \"four\"\n[entrypoint]\ncommand = \"true\"\n", "job.toml:3:1: resources.num_cpus", tomlutil.ErrSyntax},
		{"missing entrypoint", "name = \"x\"\n", "no entrypoint", ErrNoEntrypoint},
		{"empty entrypoint", "name = \"x\"\n[entrypoint]\nargs = [\"a\"]\n", "entrypoint: no entrypoint", ErrNoEntrypoint},
		{"two entrypoints", "name = \"x\"\n[entrypoint]\ncommand = \"true\"\nbinary = \"/bin/true\"\n", "set only one", ErrManyEntrypoints},
		{"missing binary", "name = \"x\"\n[entrypoint]\nbinary = \"./nope\"\n", "job.toml:3:1: entrypoint.binary: entrypoint not found", ErrEntrypointAbsent},
		{"negative cpus", "name = \"x\"\n[resources]\nnum_cpus = -1\n[entrypoint]\ncommand = \"true\"\n", "job.toml:3:1: resources.num_cpus: invalid resources", ErrBadResources},
		{"unknown library", "name = \"x\"\n[rllib]\nenv = \"CartPole-v1\"\n", "job.toml:2:1: rllib: unknown library", ErrUnknownLibrary},
		{"missing name", "[entrypoint]\ncommand = \"true\"\n", "missing job name", ErrMissingName},
		{"bad version", "version = 7\nname = \"x\"\n[entrypoint]\ncommand = \"true\"\n", "job.toml:1:1: version: unsupported job file version 7", ErrBadVersion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := LoadFile(writeJob(t, dir, tc.text))
			if err == nil {
				t.Fatalf("want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("error %v is not %v", err, tc.is)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	dir := t.TempDir()
	spec, err := LoadFile(writeJob(t, dir, "name = \"my job\"\n[entrypoint]\ncommand = \"echo hi\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Version != 1 || spec.WorkingDir != dir || spec.OutputDir != filepath.Join(dir, "goray-results", "my_job") {
		t.Fatalf("defaults: %+v", spec)
	}
}

func newManager(t *testing.T, dataDir string) *Manager {
	t.Helper()
	m, err := NewManager(ManagerConfig{DataDir: dataDir, Address: "test-address"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

func TestManagerLifecycle(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := newManager(t, filepath.Join(dir, "data"))

	ok, err := LoadFile(writeJob(t, dir, "name = \"ok\"\nenv = { GREETING = \"hello\" }\n[entrypoint]\ncommand = 'echo \"$GREETING $1 from $GORAY_JOB_ID at $GORAY_ADDRESS\"'\nargs = [\"world\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := m.Submit(ctx, ok)
	if err != nil {
		t.Fatal(err)
	}
	final, err := m.Wait(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if final.State != Succeeded || final.StartTime == nil || final.EndTime == nil || *final.ExitCode != 0 {
		t.Fatalf("final = %+v", final)
	}
	var logs bytes.Buffer
	if _, err := m.Logs(ctx, info.ID, 0, false, &logs); err != nil {
		t.Fatal(err)
	}
	if want := "hello world from " + info.ID + " at test-address"; !strings.Contains(logs.String(), want) {
		t.Fatalf("logs %q lack %q", logs.String(), want)
	}

	// A second submit of the same name gets a new ID and keeps the first.
	info2, err := m.Submit(ctx, ok)
	if err != nil {
		t.Fatal(err)
	}
	if info2.ID == info.ID {
		t.Fatal("same job ID twice")
	}
	if _, err := m.Wait(ctx, info2.ID); err != nil {
		t.Fatal(err)
	}
	if len(m.List()) != 2 {
		t.Fatalf("want 2 jobs, got %d", len(m.List()))
	}

	failing, _ := LoadFile(writeJob(t, dir, "name = \"bad\"\n[entrypoint]\ncommand = \"echo oops >&2; exit 3\"\n"))
	info3, _ := m.Submit(ctx, failing)
	final3, _ := m.Wait(ctx, info3.ID)
	if final3.State != Failed || *final3.ExitCode != 3 {
		t.Fatalf("failing job: %+v", final3)
	}
	if err := m.Delete(info3.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(info3.ID); !errors.Is(err, ErrJobNotFound) {
		t.Fatalf("deleted job still there: %v", err)
	}
}

func TestManagerStopKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := newManager(t, filepath.Join(dir, "data"))
	// The driver starts a child; Stop must end both.
	spec, _ := LoadFile(writeJob(t, dir, "name = \"long\"\n[entrypoint]\ncommand = \"sleep 300 & echo child=$!; wait\"\n"))
	info, err := m.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	waitFor(t, 10*time.Second, func() bool {
		var b bytes.Buffer
		_, _ = m.Logs(ctx, info.ID, 0, false, &b)
		s := b.String()
		if i := strings.Index(s, "child="); i >= 0 {
			_, err := fmtSscan(strings.TrimSpace(s[i+6:]), &child)
			return err == nil
		}
		return false
	})
	if err := m.Delete(info.ID); !errors.Is(err, ErrNotTerminal) {
		t.Fatalf("delete of a running job: %v", err)
	}
	final, err := m.Stop(ctx, info.ID, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if final.State != Stopped {
		t.Fatalf("state after stop: %s", final.State)
	}
	waitFor(t, 5*time.Second, func() bool { return syscall.Kill(child, 0) != nil })
}

// TestManagerStopDuringBuild stops a package job while `go build` runs: the
// build (and the tools it started) must end at once and the job be STOPPED.
// A -toolexec wrapper that reports its PID and sleeps makes the build last
// as long as the test needs.
func TestManagerStopDuringBuild(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tool := filepath.Join(dir, "slowtool.sh")
	pids := filepath.Join(dir, "tool.pids")
	// go captures the tool's output, so the PID goes to a file.
	if err := os.WriteFile(tool, []byte("#!/bin/sh\necho $$ >> "+pids+"\nsleep 300\nexec \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOFLAGS", "-toolexec="+tool)
	t.Cleanup(func() {
		// Should the group kill regress, leave no sleeping tools behind.
		b, _ := os.ReadFile(pids)
		for _, f := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			// Only a process still running our script: a PID may be reused.
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if pgid, err := syscall.Getpgid(pid); err == nil && strings.Contains(string(cmdline), tool) {
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
			}
		}
	})
	drv := filepath.Join(dir, "drv")
	if err := os.MkdirAll(drv, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"go.mod":  "module drv\n\ngo 1.26\n",
		"main.go": "package main\n\nfunc main() {}\n",
	} {
		if err := os.WriteFile(filepath.Join(drv, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := newManager(t, filepath.Join(dir, "data"))
	spec, err := LoadFile(writeJob(t, dir, "name = \"slow build\"\n[entrypoint]\npackage = \"./drv\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := m.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	var tool1 int
	waitFor(t, 20*time.Second, func() bool {
		b, _ := os.ReadFile(pids)
		_, err := fmtSscan(string(b), &tool1)
		return err == nil
	})
	start := time.Now()
	final, err := m.Stop(ctx, info.ID, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if final.State != Stopped || final.DriverPID != 0 {
		t.Fatalf("after stop during build: %+v", final)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("stop waited %v for the build", took)
	}
	waitFor(t, 5*time.Second, func() bool { return syscall.Kill(tool1, 0) != nil })
}

func TestManagerCloseStopsJobsAndRefusesNew(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := NewManager(ManagerConfig{DataDir: filepath.Join(dir, "data")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := LoadFile(writeJob(t, dir, "name = \"long\"\n[entrypoint]\ncommand = \"sleep 300\"\n"))
	info, err := m.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Get(info.ID); got.State != Stopped {
		t.Fatalf("running job after Close: %s", got.State)
	}
	if _, err := m.Submit(ctx, spec); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after Close: %v, want ErrClosed", err)
	}
	if n := len(m.List()); n != 1 {
		t.Fatalf("%d jobs after a refused submit, want 1", n)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestManagerRestartKeepsRecords(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m1, err := NewManager(ManagerConfig{DataDir: data}, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := LoadFile(writeJob(t, dir, "name = \"keep\"\n[entrypoint]\ncommand = \"echo kept\"\n"))
	info, _ := m1.Submit(ctx, spec)
	if _, err := m1.Wait(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	_ = m1.Close(ctx)
	m2 := newManager(t, data)
	got, err := m2.Get(info.ID)
	if err != nil || got.State != Succeeded || got.Name != "keep" {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
	var b bytes.Buffer
	_, _ = m2.Logs(ctx, info.ID, 0, false, &b)
	if !strings.Contains(b.String(), "kept") {
		t.Fatalf("logs lost: %q", b.String())
	}
}

func TestHTTPAPI(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := newManager(t, filepath.Join(dir, "data"))
	srv := httptest.NewServer(Handler(m, "s3cret"))
	defer srv.Close()

	spec, _ := LoadFile(writeJob(t, dir, "name = \"api\"\n[entrypoint]\ncommand = \"echo line1; echo line2\"\n"))

	bad, _ := NewClient(srv.URL, "wrong")
	if _, err := bad.Submit(ctx, spec); !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}
	none, _ := NewClient(srv.URL, "")
	if _, err := none.List(ctx); !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "requires a token") {
		t.Fatalf("no token: %v", err)
	}

	c, _ := NewClient(srv.URL, "s3cret")
	info, err := c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if _, err := c.Logs(ctx, info.ID, 0, true, &logs); err != nil {
		t.Fatal(err)
	}
	if logs.String() != "line1\nline2\n" {
		t.Fatalf("followed logs = %q", logs.String())
	}
	got, err := c.Get(ctx, info.ID, false)
	if err != nil || got.State != Succeeded {
		t.Fatalf("get: %+v %v", got, err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if err := c.Delete(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, info.ID, false); !errors.Is(err, ErrJobNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	// A running job cannot be deleted, only stopped, and the client says
	// why with the sentinel.
	long, _ := LoadFile(writeJob(t, dir, "name = \"long\"\n[entrypoint]\ncommand = \"sleep 300\"\n"))
	running, err := c.Submit(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, running.ID); !errors.Is(err, ErrNotTerminal) || strings.Count(err.Error(), ErrNotTerminal.Error()) != 1 {
		t.Fatalf("delete of a running job: %v, want ErrNotTerminal once", err)
	}
	if stopped, err := c.Stop(ctx, running.ID); err != nil || stopped.State != Stopped {
		t.Fatalf("stop: %+v %v", stopped, err)
	}
	if err := c.Delete(ctx, running.ID); err != nil {
		t.Fatalf("delete after stop: %v", err)
	}
	// A bad job file is refused with its position.
	badSpec := &Spec{Source: []byte("name = \"x\"\nbogus = 1\n"), Path: filepath.Join(dir, "bad.toml")}
	if _, err := c.Submit(ctx, badSpec); err == nil || !strings.Contains(err.Error(), "bad.toml:2:1: bogus: unknown key") {
		t.Fatalf("bad spec: %v", err)
	}
}

func TestUnreachableAddress(t *testing.T) {
	c, err := NewClient("127.0.0.1:1", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err = c.List(ctx)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("want ErrUnreachable, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %v to report an unreachable address", time.Since(start))
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fmtSscan(s string, v *int) (int, error) {
	line, _, _ := strings.Cut(s, "\n")
	return fmt.Sscan(line, v)
}

// TestWorkingDirUpload submits over HTTP: the working dir travels as a
// content-addressed package, the driver runs in the unpacked copy, its
// outputs land in the job's directory, and an unchanged tree is not sent
// twice.
func TestWorkingDirUpload(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := newManager(t, filepath.Join(dir, "data"))
	var puts atomic.Int32
	h := Handler(m, "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			puts.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	wd := filepath.Join(dir, "wd")
	os.MkdirAll(filepath.Join(wd, "sub"), 0o755)
	os.WriteFile(filepath.Join(wd, "sub", "data.txt"), []byte("payload-42"), 0o644)
	os.MkdirAll(filepath.Join(wd, "goray-results"), 0o755)
	os.WriteFile(filepath.Join(wd, "goray-results", "old.txt"), []byte("never uploaded"), 0o644)
	spec, err := LoadFile(writeJob(t, wd, "name = \"wd\"\n[entrypoint]\ncommand = 'echo \"$(cat sub/data.txt)\"; pwd; ls goray-results 2>/dev/null | wc -l; mkdir -p \"$GORAY_JOB_OUTPUT_DIR\" && echo out > \"$GORAY_JOB_OUTPUT_DIR/o.txt\"'\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewClient(srv.URL, "")
	for round := 0; round < 2; round++ {
		info, err := c.Submit(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		if _, err := c.Logs(ctx, info.ID, 0, true, &logs); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		if len(lines) != 3 || lines[0] != "payload-42" || !strings.HasPrefix(lines[1], filepath.Join(dir, "data", "packages")) || strings.TrimSpace(lines[2]) != "0" {
			t.Fatalf("driver output %q: want the file, a cwd in the package store and no goray-results", lines)
		}
		final, _ := c.Get(ctx, info.ID, false)
		if final.State != Succeeded || !strings.HasPrefix(final.OutputDir, filepath.Join(dir, "data", "jobs", info.ID)) {
			t.Fatalf("job %+v", final)
		}
		if _, err := os.Stat(filepath.Join(final.OutputDir, "o.txt")); err != nil {
			t.Fatalf("output not in the job dir: %v", err)
		}
	}
	if n := puts.Load(); n != 1 {
		t.Fatalf("package uploaded %d times, want once", n)
	}
	// A corrupt upload is refused.
	resp, err := c.send(ctx, http.MethodPut, "/api/packages/"+strings.Repeat("ab", 32), strings.NewReader("not gzip"))
	if err == nil {
		resp.Body.Close()
		t.Fatal("corrupt package accepted")
	}
	if !strings.Contains(err.Error(), "hashes to") {
		t.Fatalf("corrupt package error: %v", err)
	}
}
