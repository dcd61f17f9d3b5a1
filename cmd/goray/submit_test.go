package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
)

var (
	buildOnce sync.Once
	gorayBin  string
	buildErr  error
)

// gorayBinary builds this command once per test run.
func gorayBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "goray-cli-test-")
		if err != nil {
			buildErr = err
			return
		}
		gorayBin = filepath.Join(dir, "goray")
		out, err := exec.Command("go", "build", "-o", gorayBin, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build goray: %v", buildErr)
	}
	return gorayBin
}

func runGoray(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.CommandContext(ctx, gorayBinary(t), args...)
	cmd.Env = append(os.Environ(), "GORAY_ADDRESS=", "GORAY_TOKEN=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run goray: %v", err)
	}
	return o.String(), e.String(), code
}

func TestSubmitEmbeddedPi(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, errOut, code := runGoray(t, ctx, "submit", "../../examples/pi/job.toml")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(out, "π ≈ 3.14") {
		t.Fatalf("stdout lacks the estimate: %q", out)
	}
	last := lastLine(errOut)
	if !strings.Contains(last, "SUCCEEDED") {
		t.Fatalf("last line %q does not say SUCCEEDED", last)
	}
}

func TestSubmitFailingJobExitsOne(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	job := filepath.Join(dir, "job.toml")
	os.WriteFile(job, []byte("name = \"fails\"\n[entrypoint]\ncommand = \"echo about to fail; exit 7\"\n"), 0o644)
	out, errOut, code := runGoray(t, ctx, "submit", job)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(out, "about to fail") {
		t.Fatalf("log not streamed: %q", out)
	}
	if last := lastLine(errOut); !strings.Contains(last, "FAILED") || !strings.Contains(last, "exit status 7") {
		t.Fatalf("last line %q", last)
	}
}

func TestSubmitBadInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	cases := []struct{ name, text, want string }{
		{"malformed", "name = \"x\"\n[entrypoint\n", "job.toml:2:12: invalid TOML"},
		{"unknown key", "name = \"x\"\nworkdir = \".\"\n[entrypoint]\ncommand = \"true\"\n", "job.toml:2:1: workdir: unknown key"},
		{"wrong type", "name = 3\n[entrypoint]\ncommand = \"true\"\n", "job.toml:1:1: name:"},
		{"missing entrypoint", "name = \"x\"\n", "no entrypoint"},
		{"negative resources", "name = \"x\"\n[resources]\nnum_cpus = -2\n[entrypoint]\ncommand = \"true\"\n", "job.toml:3:1: resources.num_cpus: invalid resources"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := filepath.Join(dir, "job.toml")
			os.WriteFile(job, []byte(tc.text), 0o644)
			_, errOut, code := runGoray(t, ctx, "submit", job)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q, want %q", code, errOut, tc.want)
			}
		})
	}
	t.Run("unreachable address", func(t *testing.T) {
		job := filepath.Join(dir, "job.toml")
		os.WriteFile(job, []byte("name = \"x\"\n[entrypoint]\ncommand = \"true\"\n"), 0o644)
		start := time.Now()
		_, errOut, code := runGoray(t, ctx, "submit", "--address", "127.0.0.1:1", job)
		if code != 1 || !strings.Contains(errOut, "cluster unreachable") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		if d := time.Since(start); d > 8*time.Second {
			t.Fatalf("took %v", d)
		}
	})
}

// TestSubmitCtrlCLeavesNoProcess interrupts an embedded submit whose driver
// has a running task and a live actor, then checks the process table: the
// driver, its workers and everything else goray started must be gone.
func TestSubmitCtrlCLeavesNoProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	job := filepath.Join(dir, "job.toml")
	abs, _ := filepath.Abs("testdata/sleeper")
	os.WriteFile(job, []byte("name = \"sleeper\"\n[entrypoint]\npackage = \""+abs+"\"\n"), 0o644)
	cmd := exec.CommandContext(ctx, gorayBinary(t), "submit", job)
	cmd.Env = append(os.Environ(), "GORAY_ADDRESS=")
	var errOut bytes.Buffer
	pr, pw, _ := os.Pipe()
	cmd.Stdout, cmd.Stderr = pw, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	ready, eof := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(eof)
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := pr.Read(buf)
			acc += string(buf[:n])
			if strings.Contains(acc, "ready") {
				close(ready)
				return
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-ready:
	case <-eof:
		t.Fatalf("goray exited before the driver was ready; stderr: %s", errOut.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("driver never became ready; stderr: %s", errOut.String())
	}
	// The driver, the actor's worker and the task's worker.
	var desc []int
	for start := time.Now(); len(desc) < 3; desc = testutil.Descendants(cmd.Process.Pid) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("expected driver and workers under goray, found %v", desc)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit after Ctrl-C: %v; stderr: %s", err, errOut.String())
	}
	if last := lastLine(errOut.String()); !strings.Contains(last, "STOPPED") {
		t.Fatalf("last line %q does not say STOPPED", last)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var alive []int
		for _, pid := range desc {
			if testutil.Alive(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left after Ctrl-C: %v", alive)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
