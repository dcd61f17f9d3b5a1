package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/runtime/codec"
	"github.com/goray/goray/runtime/pkgstore"
)

// uploadSession is a TCP-like session (not sameHost) whose replies are
// collected, expecting upload u.
func uploadSession(n *Node, u *binUpload) (*session, *[]*msg) {
	replies := &[]*msg{}
	n.mu.Lock()
	s := n.newSessionLocked()
	s.sink = func(m *msg) { *replies = append(*replies, m) }
	s.upload = u
	n.mu.Unlock()
	return s, replies
}

// dirEntries lists dir's entries as name → size.
func dirEntries(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = info.Size()
	}
	return out
}

// TestUploadWritesEachChunkToAFile: an upload's chunks go to a temporary
// file in the destination directory as they arrive (its size grows by each
// chunk, and nothing under the content's name exists yet), so the node
// never holds more than one chunk; the last chunk renames the verified file
// into place and moves the session to its pool.
func TestUploadWritesEachChunkToAFile(t *testing.T) {
	binDir, pkgDir := t.TempDir(), t.TempDir()
	n, _ := startNode(t, NodeConfig{PrestartWorkers: -1, BinaryCacheDir: binDir, PackageCacheDir: pkgDir})
	program := make([]byte, 3000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range program {
		program[i] = byte(rng.Uint32())
	}
	ps := sha256.Sum256(program)
	progSum := hex.EncodeToString(ps[:])
	archive, pkgSum := testPackage(t, strings.Repeat("working dir data\n", 200))
	for _, tc := range []struct {
		name    string
		kind    int64
		sum     string
		content []byte
		dir     string
		upload  *binUpload
		pool    string
	}{
		{"program", uploadProgram, progSum, program, binDir, &binUpload{sum: progSum}, progSum},
		{"working dir", uploadPackage, pkgSum, archive, pkgDir, &binUpload{pkg: pkgSum}, poolKey("", pkgSum)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, replies := uploadSession(n, tc.upload)
			third := len(tc.content) / 3
			pieces := [][]byte{tc.content[:third], tc.content[third : 2*third], tc.content[2*third:]}
			var sent int64
			for i, p := range pieces {
				last := i == len(pieces)-1
				n.handle(s, &msg{t: mBinary, n: tc.kind, str: tc.sum, data: p, flag: last, req: uint64(i + 1)})
				sent += int64(len(p))
				if len(*replies) != i+1 || (*replies)[i].err != nil || (*replies)[i].req != uint64(i+1) {
					t.Fatalf("after chunk %d: replies %+v, want an acknowledgement of each", i, *replies)
				}
				ents := dirEntries(t, tc.dir)
				if last {
					break
				}
				if len(ents) != 1 {
					t.Fatalf("after chunk %d the directory holds %v, want one temporary file", i, ents)
				}
				for name, size := range ents {
					if !strings.HasPrefix(name, ".upload-") || size != sent {
						t.Fatalf("after chunk %d: %s of %d bytes, want a temporary file of the %d bytes sent", i, name, size, sent)
					}
				}
			}
			ents := dirEntries(t, tc.dir)
			for name := range ents {
				if strings.HasPrefix(name, ".") {
					t.Fatalf("a temporary file is left after the upload: %v", ents)
				}
			}
			stored := filepath.Join(tc.dir, tc.sum)
			if tc.kind == uploadPackage {
				stored += ".tgz"
			}
			if got, err := os.ReadFile(stored); err != nil || !bytes.Equal(got, tc.content) {
				t.Fatalf("stored %s: %d bytes, %v; want the uploaded content", stored, len(got), err)
			}
			n.mu.Lock()
			left, pool := s.upload, s.bin
			n.mu.Unlock()
			if left != nil || pool != tc.pool {
				t.Fatalf("after the upload: upload %+v, pool %q; want none and %q", left, pool, tc.pool)
			}
		})
	}
	if got, err := os.ReadFile(filepath.Join(pkgDir, pkgSum, "data.txt")); err != nil || !strings.HasPrefix(string(got), "working dir data") {
		t.Fatalf("unpacked data.txt: %q, %v", got, err)
	}
	if !n.HasBinary(progSum) {
		t.Fatal("the uploaded program is not registered")
	}
}

// TestBadPackageUploadIsRefused: a working dir whose chunks do not hash to
// the package's name, a chunk of the wrong content or kind, or a session
// that ends mid-upload leave nothing in the package store; a refusal is
// answered with an error naming the problem and ends the upload.
func TestBadPackageUploadIsRefused(t *testing.T) {
	good, goodSum := testPackage(t, "good")
	_, otherSum := testPackage(t, "other")
	for _, tc := range []struct {
		name   string
		chunks []*msg
		want   string // "" when the session closes instead
	}{
		{"hash mismatch", []*msg{
			{t: mBinary, n: uploadPackage, str: otherSum, data: good[:10], req: 1},
			{t: mBinary, n: uploadPackage, str: otherSum, data: good[10:], flag: true, req: 2},
		}, "content hashes to " + goodSum + ", not " + otherSum},
		{"hash mismatch without acks", []*msg{
			{t: mBinary, n: uploadPackage, str: otherSum, data: good[:10]},
			{t: mBinary, n: uploadPackage, str: otherSum, data: good[10:], flag: true, req: 2},
		}, "invalid working_dir package: content hashes to " + goodSum},
		{"chunk of another package", []*msg{
			{t: mBinary, n: uploadPackage, str: goodSum, data: good, flag: true, req: 1},
		}, "chunk of " + goodSum[:12] + ", want " + otherSum[:12]},
		{"program not asked for", []*msg{
			{t: mBinary, str: otherSum, data: good, flag: true, req: 1},
		}, "program upload: the node did not ask for one"},
		{"session ends mid-upload", []*msg{
			{t: mBinary, n: uploadPackage, str: otherSum, data: good[:10], req: 1},
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkgDir := t.TempDir()
			n, _ := startNode(t, NodeConfig{PrestartWorkers: -1, PackageCacheDir: pkgDir})
			s, replies := uploadSession(n, &binUpload{pkg: otherSum})
			for _, m := range tc.chunks {
				n.handle(s, m)
			}
			if tc.want == "" {
				if len(dirEntries(t, pkgDir)) != 1 {
					t.Fatalf("mid-upload the store holds %v, want the temporary file", dirEntries(t, pkgDir))
				}
				n.sessionClosed(s)
			} else {
				last := (*replies)[len(*replies)-1]
				if last.err == nil || !strings.Contains(last.err.Message, tc.want) {
					t.Fatalf("replies %+v; want the last an error mentioning %q", *replies, tc.want)
				}
				for _, r := range (*replies)[:len(*replies)-1] {
					if r.err != nil {
						t.Fatalf("an error before the last reply: %v", r.err.Message)
					}
				}
			}
			n.mu.Lock()
			left, pool := s.upload, s.bin
			n.mu.Unlock()
			if left != nil || pool != "" {
				t.Fatalf("after a refused upload: upload %+v, pool %q", left, pool)
			}
			if ents := dirEntries(t, pkgDir); len(ents) != 0 {
				t.Fatalf("the package store holds %v after a refused upload", ents)
			}
		})
	}
}

// TestHelloAsksOnlyForWhatIsMissing: a TCP driver's hello that offers its
// working dir's package gets asked for it only when the node lacks it; a
// unix-socket driver (same machine) is never asked.
func TestHelloAsksOnlyForWhatIsMissing(t *testing.T) {
	pkgDir := t.TempDir()
	n, _ := startNode(t, NodeConfig{PrestartWorkers: -1, PackageCacheDir: pkgDir})
	data, have := testPackage(t, "stored")
	if err := n.AddPackage(have, data); err != nil {
		t.Fatal(err)
	}
	_, lack := testPackage(t, "not stored")
	self, err := selfBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		sameHost bool
		hello    driverHello
		ask      uploadAsk
		pool     string
	}{
		{"stored package", false, driverHello{Dir: "/elsewhere", Pkg: have, UploadPkg: true}, 0, poolKey("", have)},
		{"missing package", false, driverHello{Dir: "/elsewhere", Pkg: lack, UploadPkg: true}, askPackage | askAcks, ""},
		{"missing package, not offered", false, driverHello{Dir: "/elsewhere", Pkg: lack}, 0, ""},
		{"same machine", true, driverHello{Dir: dir, Pkg: lack, UploadPkg: true}, 0, poolKey("", dir)},
		{"program known, package missing", false, driverHello{BinPath: "/x", BinSHA: self.SHA256, Upload: true, Pkg: lack, UploadPkg: true}, askPackage | askAcks, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := uploadSession(n, nil)
			s.sameHost = tc.sameHost
			str2, data := tc.hello.encode()
			key, ask := n.resolveDriverHello(s, &msg{t: mHello, str2: str2, data: data})
			if ask != tc.ask || key != tc.pool {
				t.Fatalf("resolveDriverHello = %q, %b; want %q, %b", key, ask, tc.pool, tc.ask)
			}
			n.mu.Lock()
			pending := s.upload
			n.mu.Unlock()
			if (pending != nil) != (tc.ask != 0) {
				t.Fatalf("pending upload %+v with ask %b", pending, tc.ask)
			}
		})
	}
}

// TestTCPDriverShipsItsWorkingDir: a driver that connects over TCP with
// GORAY_WORKING_DIR set packs the dir and, because the node has neither,
// uploads its program and then the package (several chunks) before Dial
// returns; its workers start in the node's unpacked copy. A second driver
// with the same dir is not asked for it again.
func TestTCPDriverShipsItsWorkingDir(t *testing.T) {
	if _, err := os.Stat("/proc/self/cwd"); err != nil {
		t.Skip("needs /proc")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binDir, pkgDir := t.TempDir(), t.TempDir()
	n, _ := startNode(t, NodeConfig{PrestartWorkers: -1, BinaryCacheDir: binDir, PackageCacheDir: pkgDir,
		DriverTCPAddr: "127.0.0.1:0", WorkerCommand: []string{"/bin/sh", "-c", `exec "$0"`, exe}})
	wd := t.TempDir()
	if err := os.WriteFile(filepath.Join(wd, "data.txt"), []byte("shipped"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Incompressible, so the archive takes more than two chunks.
	big := make([]byte, 2*uploadChunk+1000)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(filepath.Join(wd, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvWorkingDir, wd)
	t.Setenv(EnvWorkingDirPackage, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Dial(ctx, "tcp://"+n.DriverTCPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var sum string
	for name := range dirEntries(t, pkgDir) {
		if s, ok := strings.CutSuffix(name, ".tgz"); ok {
			sum = s
		}
	}
	if !pkgstore.ValidSum(sum) || len(dirEntries(t, pkgDir)) != 2 {
		t.Fatalf("the package store holds %v, want the driver's package and its tree", dirEntries(t, pkgDir))
	}
	if got, err := os.ReadFile(filepath.Join(pkgDir, sum, "data.txt")); err != nil || string(got) != "shipped" {
		t.Fatalf("unpacked data.txt: %q, %v", got, err)
	}
	arg, _ := codec.Encode(1)
	ids := c.Submit(&TaskSpec{Func: "echo", NumReturns: 1, Resources: map[string]float64{"CPU": 1}, Args: []Arg{{Data: arg.Bytes()}}})
	if vs, err := c.Get(ctx, ids); err != nil || vs[0].Err != nil {
		t.Fatalf("task: %v %v", err, vs)
	}
	self, _ := selfBinary()
	want, _ := filepath.EvalSymlinks(filepath.Join(pkgDir, sum))
	cwds := workerCwds(t, n, poolKey(self.SHA256, sum))
	if len(cwds) == 0 {
		t.Fatal("no worker runs the uploaded program in the uploaded dir")
	}
	for _, d := range cwds {
		if d != want {
			t.Fatalf("worker cwd %s, want %s", d, want)
		}
	}

	// The same dir again: the node has it, so the hello asks for nothing;
	// a driver that cannot pack its dir is refused before it connects.
	p, err := packWorkDir(context.Background(), wd)
	if err != nil {
		t.Fatal(err)
	}
	defer p.remove()
	if p.sum != sum {
		t.Fatalf("packing the same dir again gives %.12s, want %.12s", p.sum, sum)
	}
	s, _ := uploadSession(n, nil)
	str2, data := driverHello{BinSHA: self.SHA256, Upload: true, Dir: wd, Pkg: p.sum, UploadPkg: true}.encode()
	if _, ask := n.resolveDriverHello(s, &msg{t: mHello, str2: str2, data: data}); ask != 0 {
		t.Fatalf("a second driver with the same dir is asked for %b", ask)
	}
	t.Setenv(EnvWorkingDir, filepath.Join(wd, "missing"))
	if c2, err := Dial(ctx, "tcp://"+n.DriverTCPAddr(), nil); err == nil {
		c2.Close()
		t.Fatal("a driver whose working dir does not exist connected")
	} else if !strings.Contains(err.Error(), "working dir") {
		t.Fatalf("dial with a missing working dir: %v; want an error naming it", err)
	}
}
