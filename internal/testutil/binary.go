package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildMu    sync.Mutex
	buildCache = map[string]string{} // package → binary path, per test process
)

// BuildBinary compiles the main package pkg (an import path such as
// "github.com/goray/goray/cmd/gorayd") and returns the binary's path. The
// binary is cached under $TMPDIR/goray-testbin by a hash of every non-standard
// Go source file it depends on, so test binaries of several packages (and
// reruns) share one build; a source change gives a new hash.
func BuildBinary(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildCache[pkg]; ok {
		return p
	}
	key, err := sourceHash(pkg)
	if err != nil {
		t.Fatalf("BuildBinary %s: %v", pkg, err)
	}
	dir := filepath.Join(os.TempDir(), "goray-testbin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, path.Base(pkg)+"-"+key[:16])
	if _, err := os.Stat(out); err != nil {
		tmp, err := os.CreateTemp(dir, path.Base(pkg)+".tmp*")
		if err != nil {
			t.Fatal(err)
		}
		_ = tmp.Close()
		cmd := exec.Command("go", "build", "-o", tmp.Name(), pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			_ = os.Remove(tmp.Name())
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
		// Rename is atomic, so concurrent test binaries never run a
		// half-written file.
		if err := os.Rename(tmp.Name(), out); err != nil {
			t.Fatal(err)
		}
		pruneOld(dir, path.Base(pkg)+"-", out)
	}
	buildCache[pkg] = out
	return out
}

// sourceHash hashes the Go version and every non-standard source file pkg
// depends on (names and contents), plus go.mod and go.sum.
func sourceHash(pkg string) (string, error) {
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{if not .Standard}}{{.Dir}}|{{join .GoFiles ","}}|{{join .CgoFiles ","}}|{{join .EmbedFiles ","}}{{end}}`, pkg)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("go list %s: %v\n%s", pkg, err, ee.Stderr)
		}
		return "", fmt.Errorf("go list %s: %w", pkg, err)
	}
	h := sha256.New()
	ver, _ := exec.Command("go", "env", "GOVERSION").Output()
	h.Write(ver)
	var files []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(line, "|")
		if len(parts) < 2 {
			continue
		}
		for _, group := range parts[1:] {
			for f := range strings.SplitSeq(group, ",") {
				if f != "" {
					files = append(files, filepath.Join(parts[0], f))
				}
			}
		}
	}
	if root, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		mod := strings.TrimSpace(string(root))
		if mod != "" && mod != os.DevNull {
			files = append(files, mod, strings.TrimSuffix(mod, ".mod")+".sum")
		}
	}
	sort.Strings(files)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue // go.sum may not exist
		}
		fmt.Fprintf(h, "%s\x00", f)
		_, _ = io.Copy(h, fh)
		_ = fh.Close()
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// pruneOld removes builds of the same command older than a day, so the cache
// does not grow with every edit. Young ones may still be in use by a test
// binary of another package that hashed an older tree.
func pruneOld(dir, prefix, keep string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if p == keep || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
			_ = os.Remove(p)
		}
	}
}
