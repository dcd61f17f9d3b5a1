package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The embedded `goray submit` checks a job's [resources] against its
// embedded node before it builds or starts anything, and a feasible driver
// holds its CPU and still runs.
func TestSubmitEmbeddedResources(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cpus := strconv.Itoa(runtime.NumCPU())
	cases := []struct{ name, res, want string }{
		{"cpus", "num_cpus = 100000\n", "job.toml:6:1: resources.num_cpus: impossible resources: 100000 CPUs requested, the largest live node has " + cpus},
		{"gpus", "num_gpus = 1\n", "job.toml:6:1: resources.num_gpus: impossible resources: 1 GPUs requested, the largest live node has 0"},
		{"custom", "[resources.custom]\ntpu = 1\n", "job.toml:7:1: resources.custom.tpu: impossible resources: 1 \"tpu\" requested, the largest live node has 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			marker := filepath.Join(dir, "started")
			job := filepath.Join(dir, "job.toml")
			text := "name = \"big\"\n[entrypoint]\ncommand = 'touch \"$1\"'\nargs = [\"" + marker + "\"]\n[resources]\n" + tc.res
			if err := os.WriteFile(job, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, errOut, code := runGoray(t, ctx, "submit", job)
			if code != 1 || !strings.Contains(errOut, job+":"+strings.TrimPrefix(tc.want, "job.toml:")) {
				t.Fatalf("exit %d, stderr %q, want %q", code, errOut, tc.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("the refusal took %v", d)
			}
			if _, err := os.Stat(marker); !os.IsNotExist(err) {
				t.Fatalf("the driver ran: %v", err)
			}
		})
	}
	t.Run("feasible", func(t *testing.T) {
		dir := t.TempDir()
		job := filepath.Join(dir, "job.toml")
		if err := os.WriteFile(job, []byte("name = \"one\"\n[entrypoint]\ncommand = 'echo held-one'\n[resources]\nnum_cpus = 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runGoray(t, ctx, "submit", job)
		if code != 0 || !strings.Contains(out, "held-one") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
}
