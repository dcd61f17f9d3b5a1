package runtime

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/runtime/codec"
)

// TestTCPDriverUploadsItsProgram: a driver that connects over TCP to a
// node without its program sends it in chunks during its hello; the node
// verifies and caches it and runs the driver's tasks in workers of it.
func TestTCPDriverUploadsItsProgram(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self, err := selfBinary()
	if err != nil {
		t.Fatal(err)
	}
	binDir := t.TempDir()
	// Workers through /bin/sh: the node's default program has no hash, so
	// the driver's program is not the default one and must be uploaded.
	n, _ := startNode(t, NodeConfig{PrestartWorkers: -1, BinaryCacheDir: binDir, DriverTCPAddr: "127.0.0.1:0",
		WorkerCommand: []string{"/bin/sh", "-c", `exec "$0"`, exe}})
	if n.DriverTCPAddr() == "" {
		t.Fatal("no TCP address")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, "tcp://"+n.DriverTCPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cached := filepath.Join(binDir, self.SHA256)
	if sum, err := fileSHA256(cached); err != nil || sum != self.SHA256 {
		t.Fatalf("cached program %s: %s, %v", cached, sum, err)
	}
	arg, _ := codec.Encode(5)
	ids := c.Submit(&TaskSpec{Func: "echo", NumReturns: 1, Resources: map[string]float64{"CPU": 1}, Args: []Arg{{Data: arg.Bytes()}}})
	vs, err := c.Get(ctx, ids)
	if err != nil || vs[0].Err != nil {
		t.Fatalf("task: %v %v", err, vs[0].Err)
	}
	if x, _ := codec.DecodeInto[int](vs[0].Data); x != 5 {
		t.Fatalf("echo = %d", x)
	}
	n.mu.Lock()
	var ran bool
	for _, w := range n.workers {
		ran = ran || (w.bin == self.SHA256 && w.cmd.Path == cached)
	}
	n.mu.Unlock()
	if !ran {
		t.Fatal("no worker runs the uploaded program")
	}
	// A second driver finds the program in the cache and connects too.
	c2, err := Dial(ctx, "tcp://"+n.DriverTCPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
}

// TestBadUploadIsRefused: chunks that do not hash to the announced sha256,
// or that arrive unasked, are refused with an error naming the problem,
// and nothing is cached.
func TestBadUploadIsRefused(t *testing.T) {
	binDir := t.TempDir()
	n, _ := startNode(t, NodeConfig{PrestartWorkers: -1, BinaryCacheDir: binDir})
	sum := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name   string
		upload *binUpload
		chunks []*msg
		want   string
	}{
		{"wrong content", &binUpload{sum: sum}, []*msg{
			{t: mBinary, str: sum, data: []byte("part one ")},
			{t: mBinary, str: sum, data: []byte("part two"), flag: true, req: 1},
		}, "does not have sha256 " + sum[:12]},
		{"chunk of another program", &binUpload{sum: sum}, []*msg{
			{t: mBinary, str: strings.Repeat("cd", 32), data: []byte("x")},
			{t: mBinary, str: sum, flag: true, req: 1},
		}, "chunk of cdcdcdcdcdcd, want abababababab"},
		{"not asked for", nil, []*msg{{t: mBinary, str: sum, flag: true, req: 1}}, "did not ask"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var replies []*msg
			n.mu.Lock()
			s := n.newSessionLocked()
			s.sink = func(m *msg) { replies = append(replies, m) }
			s.upload = tc.upload
			n.mu.Unlock()
			for _, m := range tc.chunks {
				n.handle(s, m)
			}
			if len(replies) != 1 || replies[0].t != mReply || replies[0].err == nil || !strings.Contains(replies[0].err.Message, tc.want) {
				t.Fatalf("replies %+v, want one error mentioning %q", replies, tc.want)
			}
			n.mu.Lock()
			left, bin := s.upload, s.bin
			n.mu.Unlock()
			if left != nil || bin != "" {
				t.Fatalf("after a refused upload: upload %v, pool %q", left, bin)
			}
			if ents, _ := os.ReadDir(binDir); len(ents) != 0 {
				t.Fatalf("cache holds %v after a refused upload", ents)
			}
		})
	}
}
