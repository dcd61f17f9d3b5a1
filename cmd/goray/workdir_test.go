package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSubmitEmbeddedRunsWorkersInWorkingDir: without an address the job
// runs on an embedded node, and the driver's tasks and actors still start
// in the job's working_dir, like on a cluster. The working dir is not the
// job file's directory, so a worker that inherited the driver's or the
// CLI's directory by accident would not find data.txt.
func TestSubmitEmbeddedRunsWorkersInWorkingDir(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	drv, err := filepath.Abs("../gorayd/testdata/workdir")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	wd := filepath.Join(root, "wd")
	if err := os.MkdirAll(wd, 0o755); err != nil {
		t.Fatal(err)
	}
	const content = "embedded working dir"
	if err := os.WriteFile(filepath.Join(wd, "data.txt"), []byte(content+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	job := filepath.Join(root, "job.toml")
	if err := os.WriteFile(job, []byte("name = \"wd\"\nworking_dir = \"wd\"\n[entrypoint]\npackage = \""+drv+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runGoray(t, ctx, "submit", job)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, w := range []string{"driver: " + content, "task ", "actor "} {
		if !strings.Contains(out, w) {
			t.Fatalf("stdout lacks %q:\n%s", w, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if (strings.HasPrefix(l, "task ") || strings.HasPrefix(l, "actor ")) && !strings.HasSuffix(l, ": "+content) {
			t.Fatalf("line %q: a worker did not read the working dir's data.txt", l)
		}
	}
}
