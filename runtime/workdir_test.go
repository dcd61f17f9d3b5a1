package runtime

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/runtime/codec"
)

func TestPoolKeys(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		bin, wd, key string
	}{
		{"", "", ""},
		{sum, "", sum},
		{"", sum, "@" + sum},
		{sum, sum, sum + "@" + sum},
		{sum, "/tmp/a@b", sum + "@/tmp/a@b"}, // a path may contain the separator
	} {
		if got := poolKey(tc.bin, tc.wd); got != tc.key {
			t.Errorf("poolKey(%q, %q) = %q, want %q", tc.bin, tc.wd, got, tc.key)
		}
		if b, w := splitPool(tc.key); b != tc.bin || w != tc.wd {
			t.Errorf("splitPool(%q) = %q, %q; want %q, %q", tc.key, b, w, tc.bin, tc.wd)
		}
	}
}

func TestDriverHelloRoundTrip(t *testing.T) {
	sum := strings.Repeat("0f", 32)
	for _, h := range []driverHello{
		{},
		{BinPath: "/bin/driver", BinSHA: sum},
		{BinPath: "/bin/driver", BinSHA: sum, Dir: "/work/dir", Pkg: sum, Upload: true},
		{BinSHA: sum, Dir: "/a=b/c"}, // "=" in a value
	} {
		str2, data := h.encode()
		if got := parseDriverHello(str2, data); got != h {
			t.Errorf("round trip of %+v gave %+v", h, got)
		}
	}
	// A hello of protocol v1 carried only the hash.
	if got := parseDriverHello("/x", []byte(sum)); got != (driverHello{BinPath: "/x", BinSHA: sum}) {
		t.Errorf("hash-only hello parsed as %+v", got)
	}
}

func TestForwardCarriesThePackage(t *testing.T) {
	sum := strings.Repeat("12", 32)
	fm := &ForwardMessage{Binary: strings.Repeat("34", 32), Package: sum,
		Spec: &TaskSpec{Func: "f", NumReturns: 1, Resources: map[string]float64{"CPU": 1}}}
	got, err := DecodeForward(EncodeForward(fm))
	if err != nil {
		t.Fatal(err)
	}
	if got.Binary != fm.Binary || got.Package != sum || got.Spec.Func != "f" {
		t.Fatalf("decoded %+v", got)
	}
	// A forward of the previous protocol is refused, not misread.
	old := EncodeForward(fm)
	old[0] = ProtocolVersion - 1
	if _, err := DecodeForward(old); err == nil || !strings.Contains(err.Error(), "protocol") {
		t.Fatalf("forward of v%d: %v", ProtocolVersion-1, err)
	}
}

// testPackage returns a package archive holding data.txt.
func testPackage(t *testing.T, content string) ([]byte, string) {
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

// workerCwds returns the current directories of the live workers of pool
// key, read from /proc.
func workerCwds(t *testing.T, n *Node, key string) []string {
	t.Helper()
	n.mu.Lock()
	var pids []int
	for _, w := range n.workers {
		if w.bin == key {
			pids = append(pids, w.pid)
		}
	}
	n.mu.Unlock()
	var out []string
	for _, pid := range pids {
		d, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd"))
		if err != nil {
			t.Fatalf("cwd of worker %d: %v", pid, err)
		}
		out = append(out, d)
	}
	return out
}

// TestDriverWorkersStartInItsWorkingDir: a socket driver that announces a
// working dir gets workers whose current directory is that dir: the
// package's unpacked copy when the node stores it, else the local path.
func TestDriverWorkersStartInItsWorkingDir(t *testing.T) {
	if _, err := os.Stat("/proc/self/cwd"); err != nil {
		t.Skip("needs /proc")
	}
	pkgDir := t.TempDir()
	n, _ := startNode(t, NodeConfig{PrestartWorkers: -1, PackageCacheDir: pkgDir})
	data, sum := testPackage(t, "from the package")
	if err := n.AddPackage(sum, data); err != nil {
		t.Fatal(err)
	}
	if !n.HasPackage(sum) || n.PackageArchive(sum) == "" {
		t.Fatal("stored package not found")
	}
	local := t.TempDir()
	local, _ = filepath.EvalSymlinks(local)
	wantPkg, _ := filepath.EvalSymlinks(filepath.Join(pkgDir, sum))
	for _, tc := range []struct {
		name, dir, pkg, want string
	}{
		{"local dir", local, "", local},
		{"package", "/nonexistent/elsewhere", sum, wantPkg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvWorkingDir, tc.dir)
			t.Setenv(EnvWorkingDirPackage, tc.pkg)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := Dial(ctx, "unix://"+n.SocketPath(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			arg, _ := codec.Encode(7)
			ids := c.Submit(&TaskSpec{Func: "echo", NumReturns: 1, Resources: map[string]float64{"CPU": 1}, Args: []Arg{{Data: arg.Bytes()}}})
			vs, err := c.Get(ctx, ids)
			if err != nil || vs[0].Err != nil {
				t.Fatalf("task: %v %v", err, vs[0].Err)
			}
			wd := tc.dir
			if tc.pkg != "" {
				wd = tc.pkg
			}
			key := poolKey("", wd) // the test binary is the node's default program
			cwds := workerCwds(t, n, key)
			if len(cwds) == 0 {
				t.Fatalf("no worker of pool %q", key)
			}
			for _, d := range cwds {
				if d != tc.want {
					t.Fatalf("worker cwd %s, want %s", d, tc.want)
				}
			}
		})
	}
}
