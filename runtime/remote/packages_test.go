package remote_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray"
	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/remote"
)

// readWD reads data.txt from the worker's current directory.
var readWD = goray.Register[string]("remote_test.readWD", func(ctx context.Context) (string, error) {
	b, err := os.ReadFile("data.txt")
	if err != nil {
		return "", err
	}
	return goray.NodeID(ctx) + ": " + string(b), nil
})

// Environment of the helper driver process (TestPackageDriverHelper).
const (
	envHelper = "GORAY_REMOTE_TEST_DRIVER"
	envNodes  = "GORAY_REMOTE_TEST_NODES"
)

// TestPackageDriverHelper is not a test: it is the driver process of the
// package tests, started by them with envHelper set. It runs three tasks
// pinned to each node in envNodes at once and prints one line per task.
func TestPackageDriverHelper(t *testing.T) {
	if os.Getenv(envHelper) == "" {
		t.Skip("the package tests' driver process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{})
	if err != nil {
		fmt.Println("ERROR init:", err)
		return
	}
	defer rt.Shutdown(context.WithoutCancel(ctx))
	for _, node := range strings.Split(os.Getenv(envNodes), ",") {
		f := readWD.Options(goray.Strategy(goray.NodeAffinity(node, false)), goray.MaxRetries(0))
		// Submitted together: on a node without the package, all wait
		// for one fetch.
		refs := []goray.ObjectRef[string]{f.Remote(ctx), f.Remote(ctx), f.Remote(ctx)}
		for _, r := range refs {
			if got, err := r.Get(ctx); err != nil {
				fmt.Printf("ERROR %s: %v\n", node, err)
			} else {
				fmt.Printf("RESULT %s\n", got)
			}
		}
	}
}

// pkgPair is two nodes in this process with their own binary and package
// caches, joined by real cluster.RPC endpoints. B runs workers through
// /bin/sh, so it must fetch the driver's program as well as its package.
type pkgPair struct {
	a, b       *grt.Node
	aDir, bDir string
}

func newPkgPair(t *testing.T) *pkgPair {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &pkgPair{aDir: t.TempDir(), bDir: t.TempDir()}
	mk := func(dir string, cpus float64, cmd []string) *grt.Node {
		n, err := grt.NewNode(grt.NodeConfig{NumCPUs: cpus, PrestartWorkers: -1, WorkerCommand: cmd,
			BinaryCacheDir: filepath.Join(dir, "bin"), PackageCacheDir: filepath.Join(dir, "pkg")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return n
	}
	p.a = mk(p.aDir, 1, nil)
	p.b = mk(p.bDir, 2, []string{"/bin/sh", "-c", `exec "$0"`, exe})
	addrs := map[string]string{}
	var amu sync.Mutex
	resolve := func(id string) (string, bool) { amu.Lock(); defer amu.Unlock(); x, ok := addrs[id]; return x, ok }
	var rpcs []*cluster.RPC
	for _, n := range []*grt.Node{p.a, p.b} {
		r, err := cluster.NewRPC(cluster.RPCConfig{NodeID: n.ID(), Resolve: resolve})
		if err != nil {
			t.Fatal(err)
		}
		addr, err := r.Listen(ctx, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		amu.Lock()
		addrs[n.ID()] = addr.String()
		amu.Unlock()
		rpcs = append(rpcs, r)
	}
	members := []cluster.Member{
		{NodeMeta: cluster.NodeMeta{ID: p.a.ID(), Resources: map[string]float64{"CPU": 1}}, Status: cluster.StatusAlive},
		{NodeMeta: cluster.NodeMeta{ID: p.b.ID(), Resources: map[string]float64{"CPU": 2}}, Status: cluster.StatusAlive},
	}
	ea := remote.New(p.a, rpcs[0], &staticMembers{self: p.a.ID(), nodes: members}, nil)
	eb := remote.New(p.b, rpcs[1], &staticMembers{self: p.b.ID(), nodes: members}, nil)
	ea.Start()
	eb.Start()
	t.Cleanup(func() {
		ea.Close()
		eb.Close()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = p.a.Stop(sctx)
		_ = p.b.Stop(sctx)
		rctx, rcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer rcancel()
		for _, r := range rpcs {
			_ = r.Close(rctx)
		}
	})
	return p
}

// pkgArchive is a package holding data.txt.
func pkgArchive(t *testing.T, content string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "data.txt", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write([]byte(content))
	_ = tw.Close()
	_ = zw.Close()
	h := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(h[:])
}

// runDriver runs the helper driver on node A with working-dir package sum
// and returns its output lines.
func (p *pkgPair) runDriver(t *testing.T, sum string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestPackageDriverHelper$")
	cmd.Env = append(os.Environ(), envHelper+"=1", envNodes+"="+p.a.ID()+","+p.b.ID(),
		"GORAY_ADDRESS=unix://"+p.a.SocketPath(),
		grt.EnvWorkingDirPackage+"="+sum, grt.EnvWorkingDir+"=/nonexistent/elsewhere")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("driver: %v\n%s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "RESULT ") || strings.HasPrefix(l, "ERROR ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestForwardedTasksRunInTheWorkingDirPackage: a driver whose working dir is
// a package stored on its node A runs tasks on A and on B; B fetches the
// package from A once, verifies it, and starts its workers in its copy.
func TestForwardedTasksRunInTheWorkingDirPackage(t *testing.T) {
	p := newPkgPair(t)
	data, sum := pkgArchive(t, "package content")
	if err := p.a.AddPackage(sum, data); err != nil {
		t.Fatal(err)
	}
	lines := p.runDriver(t, sum)
	want := []string{}
	for _, id := range []string{p.a.ID(), p.b.ID()} {
		for range 3 {
			want = append(want, "RESULT "+id+": package content")
		}
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("driver printed\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if !p.b.HasPackage(sum) {
		t.Fatal("B does not keep the package it fetched")
	}
	if b, err := os.ReadFile(filepath.Join(p.bDir, "pkg", sum+".tgz")); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("B's archive differs from A's (%v)", err)
	}
}

// TestCorruptPackageFailsItsHashCheck: when the bytes a peer sends for a
// package do not hash to its name, the fetching node stores nothing and
// the task fails with an error that says so.
func TestCorruptPackageFailsItsHashCheck(t *testing.T) {
	p := newPkgPair(t)
	data, sum := pkgArchive(t, "will be corrupted")
	if err := p.a.AddPackage(sum, data); err != nil {
		t.Fatal(err)
	}
	// A's archive rots on disk after it was verified.
	bad, badSum := pkgArchive(t, "something else")
	if err := os.WriteFile(p.a.PackageArchive(sum), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	lines := p.runDriver(t, sum)
	if len(lines) != 6 {
		t.Fatalf("driver printed %q, want 6 lines", lines)
	}
	for _, l := range lines[:3] {
		if l != "RESULT "+p.a.ID()+": will be corrupted" {
			t.Fatalf("task on A: %q", l)
		}
	}
	for _, l := range lines[3:] {
		if !strings.HasPrefix(l, "ERROR "+p.b.ID()+": ") || !strings.Contains(l, "invalid working_dir package") ||
			!strings.Contains(l, "content hashes to "+badSum+", not "+sum) {
			t.Fatalf("task on B: %q, want the hash check's error", l)
		}
	}
	if p.b.HasPackage(sum) {
		t.Fatal("B stored a package that failed its hash check")
	}
	if ents, _ := os.ReadDir(filepath.Join(p.bDir, "pkg")); len(ents) != 0 {
		t.Fatalf("B's package cache holds %v after a failed fetch", ents)
	}
}
