package jobs

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	grt "github.com/goray/goray/runtime"
)

// The driver's client reads the engine's names; this package keeps its own
// copies so that it need not import the engine.
func TestWorkingDirEnvNamesMatchTheEngine(t *testing.T) {
	if EnvWorkingDir != grt.EnvWorkingDir || EnvWorkingDirPackage != grt.EnvWorkingDirPackage {
		t.Fatalf("jobs %q/%q, runtime %q/%q", EnvWorkingDir, EnvWorkingDirPackage, grt.EnvWorkingDir, grt.EnvWorkingDirPackage)
	}
	if EnvJobID != grt.EnvJobID {
		t.Fatalf("jobs %q, runtime %q: the engine would not learn its drivers' job", EnvJobID, grt.EnvJobID)
	}
}

// TestDriverLearnsItsWorkingDir: a local job's driver gets its working dir
// and no package; an uploaded job's driver gets the unpacked copy and the
// package's sha256, even when the daemon's own environment names another.
func TestDriverLearnsItsWorkingDir(t *testing.T) {
	t.Setenv(EnvWorkingDirPackage, strings.Repeat("ee", 32)) // the daemon's, not the job's
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := newManager(t, filepath.Join(dir, "data"))
	wd := filepath.Join(dir, "wd")
	if err := os.MkdirAll(wd, 0o755); err != nil {
		t.Fatal(err)
	}
	spec, err := LoadFile(writeJob(t, wd, "name = \"env\"\n[entrypoint]\ncommand = 'echo \"$GORAY_WORKING_DIR|$GORAY_WORKING_DIR_PACKAGE\"'\n"))
	if err != nil {
		t.Fatal(err)
	}
	driverLine := func(id string, logs func(context.Context, string, int64, bool, *bytes.Buffer) error) string {
		var b bytes.Buffer
		if err := logs(ctx, id, 0, true, &b); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(b.String())
	}

	info, err := m.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	got := driverLine(info.ID, func(ctx context.Context, id string, off int64, f bool, b *bytes.Buffer) error {
		_, err := m.Logs(ctx, id, off, f, b)
		return err
	})
	if got != wd+"|" {
		t.Fatalf("local job's driver saw %q, want %q", got, wd+"|")
	}

	srv := httptest.NewServer(Handler(m, ""))
	defer srv.Close()
	c, _ := NewClient(srv.URL, "")
	info, err = c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	got = driverLine(info.ID, func(ctx context.Context, id string, off int64, f bool, b *bytes.Buffer) error {
		_, err := c.Logs(ctx, id, off, f, b)
		return err
	})
	path, sum, _ := strings.Cut(got, "|")
	if len(sum) != 64 || path != filepath.Join(dir, "data", "packages", sum) || !m.HasPackage(sum) {
		t.Fatalf("uploaded job's driver saw %q, want <package store>/<sha256>|<sha256>", got)
	}
}
