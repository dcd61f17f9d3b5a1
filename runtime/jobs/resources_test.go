package jobs

import (
	"context"
	"errors"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/internal/tomlutil"
	"github.com/goray/goray/runtime/task"
)

// twoNodes is a cluster of two nodes of 2 CPUs: a has memory and a custom
// "tpu", b a GPU. The manager under test runs on a.
func twoNodes() []NodeResources {
	return []NodeResources{
		{ID: "aaaa", Name: "node-a", Addr: "127.0.0.1:8265", Self: true, Total: map[string]float64{"CPU": 2, "memory": 4e9, "tpu": 1}},
		{ID: "bbbb", Name: "node-b", Addr: "127.0.0.2:8265", Total: map[string]float64{"CPU": 2, "GPU": 1}},
	}
}

func TestCheckResources(t *testing.T) {
	const head = "name = \"x\"\n[entrypoint]\ncommand = \"true\"\n[resources]\n"
	cases := []struct {
		name, res string
		nodes     []NodeResources
		want      string // the whole message; "" means accepted
		key       string
		is        error
	}{
		{"cpus", "num_cpus = 1000\n", twoNodes(),
			"job.toml:5:1: resources.num_cpus: impossible resources: 1000 CPUs requested, the largest live node has 2",
			"resources.num_cpus", ErrImpossibleResources},
		{"fractional cpus", "num_cpus = 2.5\n", twoNodes(),
			"job.toml:5:1: resources.num_cpus: impossible resources: 2.5 CPUs requested, the largest live node has 2",
			"resources.num_cpus", ErrImpossibleResources},
		{"gpus", "num_gpus = 2\n", twoNodes(),
			"job.toml:5:1: resources.num_gpus: impossible resources: 2 GPUs requested, the largest live node has 1",
			"resources.num_gpus", ErrImpossibleResources},
		{"memory", "memory = 8000000000\n", twoNodes(),
			"job.toml:5:1: resources.memory: impossible resources: 8000000000 bytes of memory requested, the largest live node has 4000000000",
			"resources.memory", ErrImpossibleResources},
		{"custom", "num_cpus = 1\n[resources.custom]\ntpu = 2\n", twoNodes(),
			"job.toml:7:1: resources.custom.tpu: impossible resources: 2 \"tpu\" requested, the largest live node has 1",
			"resources.custom.tpu", ErrImpossibleResources},
		{"unknown custom", "[resources.custom]\nfpga = 1\n", twoNodes(),
			"job.toml:6:1: resources.custom.fpga: impossible resources: 1 \"fpga\" requested, the largest live node has 0",
			"resources.custom.fpga", ErrImpossibleResources},
		{"first field in file order", "num_gpus = 5\nnum_cpus = 9\n", twoNodes(),
			"job.toml:6:1: resources.num_cpus: impossible resources: 9 CPUs requested, the largest live node has 2",
			"resources.num_cpus", ErrImpossibleResources},
		{"no node has all", "num_gpus = 1\n[resources.custom]\ntpu = 1\n", twoNodes(),
			"job.toml:4:1: resources: impossible resources: GPU=1 tpu=1 requested together, and no live node has all of it (node-a (127.0.0.1:8265): GPU=0 tpu=1; node-b (127.0.0.2:8265): GPU=1 tpu=0)",
			"resources", ErrImpossibleResources},
		{"only a peer can", "num_gpus = 1\n", twoNodes(),
			"job.toml:4:1: resources: this node cannot hold the driver's resources: GPU=1 requested, this node node-a (127.0.0.1:8265) has GPU=0 in total; submit the job to a node that can run its driver: node-b (127.0.0.2:8265)",
			"resources", ErrResourcesElsewhere},
		{"fits exactly", "num_cpus = 2\nmemory = 4000000000\n", twoNodes(), "", "", nil},
		{"zero holds nothing", "num_cpus = 0\n", twoNodes(), "", "", nil},
		{"nothing known to check", "num_cpus = 1000\n", nil, "", "", nil},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec, err := Parse("job.toml", filepath.Join(dir, "job.toml"), []byte(head+c.res))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			err = CheckResources(spec, c.nodes)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || err.Error() != c.want {
				t.Fatalf("error\n got %v\nwant %s", err, c.want)
			}
			if !errors.Is(err, c.is) {
				t.Fatalf("error %v is not %v", err, c.is)
			}
			var fe *tomlutil.FieldError
			if !errors.As(err, &fe) || fe.Key != c.key {
				t.Fatalf("error %v: want a FieldError for %s", err, c.key)
			}
		})
	}
}

// fakeHolder is a node's free pool the test controls.
type fakeHolder struct {
	nodes []NodeResources
	mu    sync.Mutex
	free  map[string]float64
	held  int
}

func (f *fakeHolder) Nodes() []NodeResources { return f.nodes }

func (f *fakeHolder) TryHold(res map[string]float64) (func(), map[string]float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !task.Resources(res).Fits(task.Resources(f.free)) {
		return nil, maps.Clone(f.free), nil
	}
	for k, v := range res {
		f.free[k] -= v
	}
	f.held++
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			for k, v := range res {
				f.free[k] += v
			}
			f.held--
		})
	}, nil, nil
}

func (f *fakeHolder) state() (float64, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.free["CPU"], f.held
}

func newHoldingManager(t *testing.T, h ResourceHolder) (*Manager, string) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	m, err := NewManager(ManagerConfig{DataDir: data, Address: "test-address", Resources: h}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m, data
}

func TestManagerRefusesImpossibleBeforeRecording(t *testing.T) {
	h := &fakeHolder{nodes: twoNodes(), free: map[string]float64{"CPU": 2}}
	m, data := newHoldingManager(t, h)
	dir := t.TempDir()
	spec, err := LoadFile(writeJob(t, dir, "name = \"big\"\n[entrypoint]\ncommand = \"true\"\n[resources]\nnum_cpus = 1000\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Submit(context.Background(), spec)
	if !errors.Is(err, ErrImpossibleResources) || !strings.Contains(err.Error(), "resources.num_cpus: impossible resources: 1000 CPUs requested, the largest live node has 2") {
		t.Fatalf("submit: %v", err)
	}
	if n := len(m.List()); n != 0 {
		t.Fatalf("%d job records after a refused submit", n)
	}
	ents, err := os.ReadDir(filepath.Join(data, "jobs"))
	if err != nil || len(ents) != 0 {
		t.Fatalf("job directories after a refused submit: %v %v", ents, err)
	}

	// Through the HTTP API: 400, and the client's error is the sentinel
	// with the server's message.
	srv := httptest.NewServer(Handler(m, ""))
	defer srv.Close()
	c, err := NewClient(srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Submit(context.Background(), spec)
	if !errors.Is(err, ErrImpossibleResources) || !strings.Contains(err.Error(), "job.toml:5:1: resources.num_cpus: impossible resources: 1000 CPUs requested") {
		t.Fatalf("client submit: %v", err)
	}
	if n := len(m.List()); n != 0 {
		t.Fatalf("%d job records after a refused HTTP submit", n)
	}
}

func TestManagerHoldsDriverResources(t *testing.T) {
	h := &fakeHolder{nodes: twoNodes(), free: map[string]float64{"CPU": 2}}
	m, _ := newHoldingManager(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	// The driver runs until the test creates the gate file.
	holder, err := LoadFile(writeJob(t, dir, "name = \"holder\"\n[entrypoint]\ncommand = 'while [ ! -e \"$1\" ]; do sleep 0.02; done'\nargs = [\""+gate+"\"]\n[resources]\nnum_cpus = 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.Submit(ctx, holder)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { i, _ := m.Get(a.ID); return i.State == Running })
	if free, held := h.state(); free != 0 || held != 1 {
		t.Fatalf("while the driver runs: free CPU %v, holds %d; want 0, 1", free, held)
	}

	// A second job waits, PENDING, and says why.
	second, err := LoadFile(writeJob(t, dir, "name = \"second\"\n[entrypoint]\ncommand = \"true\"\n[resources]\nnum_cpus = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Submit(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	const why = "waiting for resources: the driver needs CPU=1, free on this node now: CPU=0"
	waitFor(t, 10*time.Second, func() bool { i, _ := m.Get(b.ID); return i.Message == why })
	if i, _ := m.Get(b.ID); i.State != Pending || i.StartTime != nil {
		t.Fatalf("waiting job: %+v", i)
	}

	// A job stopped while it waits never starts and holds nothing.
	c, err := m.Submit(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	stopped, err := m.Stop(ctx, c.ID, time.Second)
	if err != nil || stopped.State != Stopped || stopped.StartTime != nil || !strings.Contains(stopped.Message, "waiting for the driver's resources") {
		t.Fatalf("stopped while pending: %+v, %v", stopped, err)
	}

	// The holder ends: its CPUs come back and the waiting job runs.
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fa, err := m.Wait(ctx, a.ID)
	if err != nil || fa.State != Succeeded {
		t.Fatalf("holder: %+v, %v", fa, err)
	}
	fb, err := m.Wait(ctx, b.ID)
	if err != nil || fb.State != Succeeded || fb.StartTime == nil || fb.Message != "the driver exited with code 0" {
		t.Fatalf("waiting job: %+v, %v", fb, err)
	}
	if free, held := h.state(); free != 2 || held != 0 {
		t.Fatalf("after the drivers: free CPU %v, holds %d; want 2, 0", free, held)
	}

	// Zero resources hold nothing and never wait, even on a full node.
	h.mu.Lock()
	h.free["CPU"] = 0
	h.mu.Unlock()
	zero, err := LoadFile(writeJob(t, dir, "name = \"zero\"\n[entrypoint]\ncommand = \"true\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	z, err := m.Submit(ctx, zero)
	if err != nil {
		t.Fatal(err)
	}
	if fz, err := m.Wait(ctx, z.ID); err != nil || fz.State != Succeeded {
		t.Fatalf("zero-resource job: %+v, %v", fz, err)
	}
	if _, held := h.state(); held != 0 {
		t.Fatalf("a zero-resource driver holds %d", held)
	}
}

// A job the receiving node cannot hold but a peer can runs on the peer:
// the job API passes it on with its working dir, and the record is the
// peer's. When no peer takes it, the submit fails naming the peers.
func TestHTTPPassesJobToNodeThatCanHoldIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	peerHold := &fakeHolder{free: map[string]float64{"CPU": 2, "GPU": 1}}
	peer, _ := newHoldingManager(t, peerHold)
	peerSrv := httptest.NewServer(Handler(peer, "tok"))
	defer peerSrv.Close()
	peerAddr := strings.TrimPrefix(peerSrv.URL, "http://")
	peerHold.nodes = []NodeResources{
		{ID: "self", Name: "small", Total: map[string]float64{"CPU": 2}},
		{ID: "peer", Name: "big", Addr: peerAddr, Self: true, Total: map[string]float64{"CPU": 2, "GPU": 1}},
	}
	hold := &fakeHolder{free: map[string]float64{"CPU": 2}, nodes: []NodeResources{
		{ID: "self", Name: "small", Self: true, Total: map[string]float64{"CPU": 2}},
		{ID: "down", Name: "down", Addr: "127.0.0.1:1", Total: map[string]float64{"CPU": 2, "GPU": 1}},
		{ID: "peer", Name: "big", Addr: peerAddr, Total: map[string]float64{"CPU": 2, "GPU": 1}},
	}}
	m, _ := newHoldingManager(t, hold)
	srv := httptest.NewServer(Handler(m, "tok"))
	defer srv.Close()
	c, err := NewClient(srv.URL, "tok")
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte("from-the-working-dir\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := LoadFile(writeJob(t, dir, "name = \"gpu\"\n[entrypoint]\ncommand = \"cat data.txt\"\n[resources]\nnum_gpus = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Submit(ctx, spec)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	if info.NodeID != "peer" {
		t.Fatalf("the job's node is %q, want the peer", info.NodeID)
	}
	final, err := peer.Wait(ctx, info.ID)
	if err != nil || final.State != Succeeded {
		t.Fatalf("on the peer: %+v, %v", final, err)
	}
	var logs strings.Builder
	if _, err := peer.Logs(ctx, info.ID, 0, false, &logs); err != nil || !strings.Contains(logs.String(), "from-the-working-dir") {
		t.Fatalf("peer's log %q, %v", logs.String(), err)
	}
	if n := len(m.List()); n != 0 {
		t.Fatalf("the receiving node recorded %d jobs", n)
	}
	if _, held := peerHold.state(); held != 0 {
		t.Fatalf("the peer still holds %d", held)
	}

	// No peer takes it: the error names them and nothing is recorded.
	hold.nodes = hold.nodes[:2]
	_, err = c.Submit(ctx, spec)
	if !errors.Is(err, ErrResourcesElsewhere) || !strings.Contains(err.Error(), ErrForward.Error()) || !strings.Contains(err.Error(), "down (127.0.0.1:1)") {
		t.Fatalf("submit with no peer to take it: %v", err)
	}
	if n := len(m.List()); n != 0 {
		t.Fatalf("the receiving node recorded %d jobs", n)
	}
}
