package remote_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/testutil"
	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/remote"
)

func TestMain(m *testing.M) {
	goray.MaybeRunWorker()
	os.Exit(m.Run())
}

var (
	nodeOf = goray.Register[string]("remote_test.nodeOf", func(ctx context.Context) string { return goray.NodeID(ctx) })
	sumOf  = goray.Register[string]("remote_test.sumOf", func(ctx context.Context, b []byte) string {
		s := sha256.Sum256(b)
		return goray.NodeID(ctx) + ":" + hex.EncodeToString(s[:])
	})
	lenOf  = goray.Register[int]("remote_test.lenOf", func(b []byte) int { return len(b) })
	nop    = goray.Register[int]("remote_test.nop", func() int { return 1 })
	blob   = goray.Register[[]byte]("remote_test.blob", func(n int) []byte { return bytes.Repeat([]byte{7}, n) })
	failer = goray.Register[int]("remote_test.fail", func() (int, error) { return 0, os.ErrNotExist })
)

// staticMembers is a fixed membership: both nodes alive with their totals.
type staticMembers struct {
	self  string
	nodes []cluster.Member
}

func (s *staticMembers) LocalID() string           { return s.self }
func (s *staticMembers) Members() []cluster.Member { return s.nodes }
func (s *staticMembers) Subscribe() (<-chan cluster.Event, func()) {
	ch := make(chan cluster.Event)
	var once sync.Once
	return ch, func() { once.Do(func() { close(ch) }) }
}

// pair is a driver with an embedded node A (this test binary's runtime)
// and a second node B in this process, connected by real cluster.RPC
// endpoints on loopback. B runs its workers through /bin/sh, so its
// default program is not this binary's hash: it must fetch the program
// from A over the transport the first time a task arrives.
type pair struct {
	ctx   context.Context
	a, b  *grt.Node
	bDir  string
	idA   string
	idB   string
	close func()
}

func newPair(tb testing.TB) *pair {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	rt, err := goray.Init(ctx, goray.Config{NumCPUs: 1})
	if err != nil {
		tb.Fatal(err)
	}
	a := rt.Node()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	bDir := tb.TempDir()
	b, err := grt.NewNode(grt.NodeConfig{NumCPUs: 2, PrestartWorkers: -1, BinaryCacheDir: filepath.Join(bDir, "bin"),
		WorkerCommand: []string{"/bin/sh", "-c", `exec "$0"`, exe}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	addrs := map[string]string{}
	var amu sync.Mutex
	resolve := func(id string) (string, bool) { amu.Lock(); defer amu.Unlock(); x, ok := addrs[id]; return x, ok }
	mkRPC := func(id string) *cluster.RPC {
		r, err := cluster.NewRPC(cluster.RPCConfig{NodeID: id, Resolve: resolve})
		if err != nil {
			tb.Fatal(err)
		}
		addr, err := r.Listen(ctx, "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		amu.Lock()
		addrs[id] = addr.String()
		amu.Unlock()
		return r
	}
	ra, rb := mkRPC(a.ID()), mkRPC(b.ID())
	members := []cluster.Member{
		{NodeMeta: cluster.NodeMeta{ID: a.ID(), Resources: map[string]float64{"CPU": 1}}, Status: cluster.StatusAlive},
		{NodeMeta: cluster.NodeMeta{ID: b.ID(), Resources: map[string]float64{"CPU": 2}}, Status: cluster.StatusAlive},
	}
	ea := remote.New(a, ra, &staticMembers{self: a.ID(), nodes: members}, nil)
	eb := remote.New(b, rb, &staticMembers{self: b.ID(), nodes: members}, nil)
	ea.Start()
	eb.Start()
	p := &pair{ctx: goray.WithRuntime(ctx, rt), a: a, b: b, bDir: bDir, idA: a.ID(), idB: b.ID()}
	p.close = func() {
		ea.Close()
		eb.Close()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = rt.Shutdown(sctx)
		_ = b.Stop(sctx)
		// Streams between the endpoints stay open: a short grace, then hard.
		rctx, rcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer rcancel()
		_ = ra.Close(rctx)
		_ = rb.Close(rctx)
		cancel()
	}
	tb.Cleanup(p.close)
	return p
}

func TestTasksCrossARealTransport(t *testing.T) {
	p := newPair(t)
	ctx := p.ctx
	onB := goray.Strategy(goray.NodeAffinity(p.idB, false))
	t0 := time.Now()
	got, err := nodeOf.Options(onB).Remote(ctx).Get(ctx)
	t.Logf("first task on B (program fetch): %v", time.Since(t0))
	if err != nil || got != p.idB {
		t.Fatalf("NodeAffinity(B) task ran on %q (%v), want %q", got, err, p.idB)
	}
	// B fetched this program from A and keeps it content-addressed.
	entries, _ := os.ReadDir(filepath.Join(p.bDir, "bin"))
	if len(entries) != 1 || len(entries[0].Name()) != 64 {
		t.Fatalf("B's binary cache holds %v, want one sha256-named program", entries)
	}
	// A 24 MiB argument travels to B in chunks and arrives intact; a
	// 6 MiB result comes back to A, the owner.
	big := make([]byte, 24<<20)
	for i := range big {
		big[i] = byte(i*31 + i>>16)
	}
	want := sha256.Sum256(big)
	res, err := sumOf.Options(onB).Remote(ctx, big).Get(ctx)
	if err != nil || res != p.idB+":"+hex.EncodeToString(want[:]) {
		t.Fatalf("24 MiB argument on B: %q, %v", res, err)
	}
	back, err := blob.Options(onB).Remote(ctx, 6<<20).Get(ctx)
	if err != nil || len(back) != 6<<20 || back[12345] != 7 {
		t.Fatalf("6 MiB result from B: %d bytes, %v", len(back), err)
	}
	t.Logf("big args done: %v", time.Since(t0))
	// The default strategy spills to B when A's only CPU is busy.
	refs := make([]goray.ObjectRef[string], 6)
	for i := range refs {
		refs[i] = sumOf.Remote(ctx, []byte{byte(i)})
	}
	if _, err := goray.Get(ctx, refs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("spill done: %v", time.Since(t0))
	// An application error on B comes back as the task's error.
	if _, err := failer.Options(onB, goray.MaxRetries(0)).Remote(ctx).Get(ctx); err == nil {
		t.Fatal("failing task on B succeeded")
	}
}

// BenchmarkRemoteTaskLatency: one no-op task at a time on the other node,
// submit to result (compare BenchmarkLocalTaskLatency).
//
//	go test -run '^$' -bench . -benchtime 2s ./runtime/remote/
func BenchmarkRemoteTaskLatency(b *testing.B) {
	p := newPair(b)
	f := nop.Options(goray.Strategy(goray.NodeAffinity(p.idB, false)))
	if _, err := f.Remote(p.ctx).Get(p.ctx); err != nil { // warm: fetch the program, start a worker
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := f.Remote(p.ctx).Get(p.ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLocalTaskLatency is the same round trip on the driver's node.
func BenchmarkLocalTaskLatency(b *testing.B) {
	p := newPair(b)
	f := nop.Options(goray.Strategy(goray.NodeAffinity(p.idA, false)))
	if _, err := f.Remote(p.ctx).Get(p.ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := f.Remote(p.ctx).Get(p.ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRemoteTaskThroughput: batches of 500 no-op tasks in flight on
// the other node; reports tasks/s.
func BenchmarkRemoteTaskThroughput(b *testing.B) {
	p := newPair(b)
	f := nop.Options(goray.Strategy(goray.NodeAffinity(p.idB, false)))
	if _, err := f.Remote(p.ctx).Get(p.ctx); err != nil {
		b.Fatal(err)
	}
	const batch = 500
	refs := make([]goray.ObjectRef[int], batch)
	start := time.Now()
	for b.Loop() {
		for i := range refs {
			refs[i] = f.Remote(p.ctx)
		}
		if _, err := goray.Get(p.ctx, refs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "tasks/s")
}

// BenchmarkRemoteObjectTransfer sends a 64 MiB argument to a task on the
// other node (chunked over the bulk lane) per op; compare its MB/s with
// BenchmarkRawTCPLoopback in runtime/cluster, run alongside.
func BenchmarkRemoteObjectTransfer(b *testing.B) {
	p := newPair(b)
	f := lenOf.Options(goray.Strategy(goray.NodeAffinity(p.idB, false)))
	const size = 64 << 20
	ref, err := goray.Put(p.ctx, make([]byte, size))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.Remote(p.ctx, ref).Get(p.ctx); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		if n, err := f.Remote(p.ctx, ref).Get(p.ctx); err != nil || n != size {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkLocalObjectArg is BenchmarkRemoteObjectTransfer's task on the
// driver's own node: the store-mapped baseline.
func BenchmarkLocalObjectArg(b *testing.B) {
	p := newPair(b)
	f := lenOf.Options(goray.Strategy(goray.NodeAffinity(p.idA, false)))
	const size = 64 << 20
	ref, err := goray.Put(p.ctx, make([]byte, size))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		if n, err := f.Remote(p.ctx, ref).Get(p.ctx); err != nil || n != size {
			b.Fatal(n, err)
		}
	}
}

type tally struct{ n int }

func (t *tally) Add(ctx context.Context, d int) string {
	t.n += d
	return strconv.Itoa(t.n) + "@" + goray.NodeID(ctx)
}

var tallyClass = goray.RegisterActor[tally]("remote_test.tally", func() *tally { return &tally{} })

// An actor placed on B by affinity is called from the driver on A in
// order, and a task on A that gets its handle calls it too.
func TestActorOnThePeer(t *testing.T) {
	p := newPair(t)
	ctx := p.ctx
	h, err := tallyClass.Options(goray.Strategy(goray.NodeAffinity(p.idB, false))).Remote(ctx)
	if err != nil {
		t.Fatal(err)
	}
	refs := make([]goray.ObjectRef[string], 30)
	for i := range refs {
		refs[i] = goray.Call[string](ctx, h, "Add", 1)
	}
	got, err := goray.Get(ctx, refs...)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		if want := strconv.Itoa(i+1) + "@" + p.idB; g != want {
			t.Fatalf("call %d returned %q, want %q (all: %v)", i, g, want, got)
		}
	}
}

// A STRICT_SPREAD group of two bundles takes one bundle on each node of
// the pair; tasks in each bundle run where it lives; three bundles cannot
// be spread over two nodes, so that group waits.
func TestPlacementGroupAcrossNodes(t *testing.T) {
	p := newPair(t)
	ctx := p.ctx
	pg, err := goray.CreatePlacementGroup(ctx, []map[string]float64{{"CPU": 1}, {"CPU": 1}}, goray.StrictSpread, "")
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := pg.Ready(rctx); err != nil {
		t.Fatalf("2-bundle STRICT_SPREAD group: %v", err)
	}
	seen := map[string]bool{}
	for b := range 2 {
		n, err := nodeOf.Options(goray.Strategy(goray.InPlacementGroup(pg, b))).Remote(ctx).Get(ctx)
		if err != nil {
			t.Fatalf("task in bundle %d: %v", b, err)
		}
		seen[n] = true
	}
	if !seen[p.idA] || !seen[p.idB] {
		t.Fatalf("bundles' tasks ran on %v, want both nodes", seen)
	}
	wait, err := goray.CreatePlacementGroup(ctx, []map[string]float64{{"CPU": 0.5}, {"CPU": 0.5}, {"CPU": 0.5}}, goray.StrictSpread, "")
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 700*time.Millisecond)
	defer wcancel()
	if err := wait.Ready(wctx); err == nil {
		t.Fatal("3-bundle STRICT_SPREAD group over 2 nodes became ready")
	}
	if err := goray.RemovePlacementGroup(ctx, wait); err != nil {
		t.Fatal(err)
	}
	// Removing the group gives B its CPU back.
	if err := goray.RemovePlacementGroup(ctx, pg); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() bool {
		_, avail, err := p.b.LocalClient().ClusterResources(ctx)
		return err == nil && avail["CPU"] == 2
	}, "B's CPUs back after the group is removed")
}
