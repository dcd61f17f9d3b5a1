package remote_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	ctx  context.Context
	a, b *grt.Node
	// ea and eb are the nodes' remote engines.
	ea, eb *remote.Engine
	bDir   string
	idA    string
	idB    string
	close  func()
}

func newPair(tb testing.TB) *pair {
	tb.Helper()
	return newPairSeeing(tb, 2, 5*time.Minute)
}

// newPairSeeing builds newPair's layout, except that A believes B has
// bCPUs CPUs (a lagging broadcast can make it believe more than B has),
// and the pair's context ends after limit. Each of opts may change A's and
// B's configs before they start.
func newPairSeeing(tb testing.TB, bCPUs float64, limit time.Duration, opts ...func(a *goray.Config, b *grt.NodeConfig)) *pair {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	aCfg := goray.Config{NumCPUs: 1}
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	bDir := tb.TempDir()
	bCfg := grt.NodeConfig{NumCPUs: 2, PrestartWorkers: -1, BinaryCacheDir: filepath.Join(bDir, "bin"),
		WorkerCommand: []string{"/bin/sh", "-c", `exec "$0"`, exe}}
	for _, o := range opts {
		o(&aCfg, &bCfg)
	}
	rt, err := goray.Init(ctx, aCfg)
	if err != nil {
		tb.Fatal(err)
	}
	a := rt.Node()
	b, err := grt.NewNode(bCfg, nil)
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
		{NodeMeta: cluster.NodeMeta{ID: b.ID(), Resources: map[string]float64{"CPU": bCPUs}}, Status: cluster.StatusAlive},
	}
	ea := remote.New(a, ra, &staticMembers{self: a.ID(), nodes: members}, nil)
	eb := remote.New(b, rb, &staticMembers{self: b.ID(), nodes: members}, nil)
	ea.Start()
	eb.Start()
	p := &pair{ctx: goray.WithRuntime(ctx, rt), a: a, b: b, bDir: bDir, idA: a.ID(), idB: b.ID(), ea: ea, eb: eb}
	p.close = func() {
		ea.Close()
		ea.Close() // idempotent
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
	// The driver sees the whole cluster: A's CPU and B's two.
	testutil.WaitFor(t, 10*time.Second, func() bool {
		total, _, err := goray.ClusterResources(ctx)
		return err == nil && total["CPU"] == 3
	}, "ClusterResources counts both nodes")
	// Every forwarded task has finished, so B has all its CPUs back.
	freeOnB := func() float64 {
		_, avail, err := p.b.LocalClient().NodeResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return avail["CPU"]
	}
	testutil.WaitFor(t, 10*time.Second, func() bool { return freeOnB() == 2 }, "B's CPUs free after its forwarded tasks")
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
	// A named actor created by B's own client is found from A by name,
	// called, and killed from A.
	if _, err := p.b.LocalClient().CreateActor(ctx, &grt.TaskSpec{Kind: grt.KindActorCreate, Func: "remote_test.tally",
		Name: "b-tally", MaxConcurrency: 1, Resources: map[string]float64{"CPU": 1}}); err != nil {
		t.Fatal(err)
	}
	hb, err := goray.GetActor[tally](ctx, "b-tally")
	if err != nil {
		t.Fatalf("GetActor of B's named actor from A: %v", err)
	}
	if r, err := goray.Call[string](ctx, hb, "Add", 5).Get(ctx); err != nil || r != "5@"+p.idB {
		t.Fatalf("call of B's named actor from A: %q, %v", r, err)
	}
	if err := goray.Kill(ctx, hb, true); err != nil {
		t.Fatalf("Kill from A: %v", err)
	}
	testutil.WaitFor(t, 10*time.Second, func() bool { _, _, ok := p.b.NamedActor("b-tally"); return !ok }, "B's named actor killed")
	if _, err := goray.GetActor[tally](ctx, "nobody"); !errors.Is(err, goray.ErrActorNotFound) {
		t.Fatalf("GetActor of an unknown name: %v, want ErrActorNotFound", err)
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
		_, avail, err := p.b.LocalClient().NodeResources(ctx)
		return err == nil && avail["CPU"] == 2
	}, "B's CPUs back after the group is removed")
}

// sumNested gets objects whose refs it received inside a value: they live
// on the driver's node, so a task on B fetches them.
var sumNested = goray.Register[string]("remote_test.sumNested", func(ctx context.Context, refs []goray.ObjectRef[[]byte]) (string, error) {
	h := sha256.New()
	for _, r := range refs {
		b, err := r.Get(ctx)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return goray.NodeID(ctx) + ":" + hex.EncodeToString(h.Sum(nil)), nil
})

// Refs nested in an argument reach a task on B, which pulls their objects
// from A in chunks; the 20 MiB one arrives byte-identical.
func TestNestedRefsArePulledFromTheOwner(t *testing.T) {
	p := newPair(t)
	ctx := p.ctx
	big := make([]byte, 20<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>13)
	}
	small := []byte("small object")
	rb, err := goray.Put(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := goray.Put(ctx, small)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write(big)
	h.Write(small)
	want := p.idB + ":" + hex.EncodeToString(h.Sum(nil))
	got, err := sumNested.Options(goray.Strategy(goray.NodeAffinity(p.idB, false))).Remote(ctx, []goray.ObjectRef[[]byte]{rb, rs}).Get(ctx)
	if err != nil || got != want {
		t.Fatalf("nested refs on B: %q, %v; want %q", got, err, want)
	}
	if c := p.a.ObjectCopies(rb.ID()); len(c) != 1 || c[0] != p.idB {
		t.Errorf("A's record of the big object's copies: %v, want [%s]", c, p.idB)
	}
	// The engines count the transfer on both sides (the transfer metrics).
	sent, recv := p.ea.Transfers(), p.eb.Transfers()
	if sent.Sent < 1 || sent.SentBytes < int64(len(big)) || recv.Received < 1 || recv.ReceivedBytes < int64(len(big)) {
		t.Errorf("transfer counts: A sent %+v, B received %+v; want the 20 MiB object on both", sent, recv)
	}
}

// lenNested gets the object behind a nested ref and returns its length.
var lenNested = goray.Register[int]("remote_test.lenNested", func(ctx context.Context, refs []goray.ObjectRef[[]byte]) (int, error) {
	b, err := refs[0].Get(ctx)
	return len(b), err
})

// BenchmarkRemoteObjectPull: a task on B gets a fresh 64 MiB object that
// lives on A (pulled in 5 MiB chunks over the bulk lane into B's store,
// then mapped by B's worker); the Put on A is not timed. Compare its MB/s
// with BenchmarkRawTCPLoopback in runtime/cluster.
func BenchmarkRemoteObjectPull(b *testing.B) {
	p := newPair(b)
	f := lenNested.Options(goray.Strategy(goray.NodeAffinity(p.idB, false)))
	const size = 64 << 20
	payload := make([]byte, size)
	if _, err := f.Remote(p.ctx, []goray.ObjectRef[[]byte]{mustPut(b, p.ctx, payload[:1])}).Get(p.ctx); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ref := mustPut(b, p.ctx, payload)
		b.StartTimer()
		if n, err := f.Remote(p.ctx, []goray.ObjectRef[[]byte]{ref}).Get(p.ctx); err != nil || n != size {
			b.Fatal(n, err)
		}
		ref.Release()
	}
}

func mustPut(tb testing.TB, ctx context.Context, v []byte) goray.ObjectRef[[]byte] {
	tb.Helper()
	r, err := goray.Put(ctx, v)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// BenchmarkRemoteGet is the object transfer alone: B's client gets a fresh
// 64 MiB object that lives on A (pulled into B's store and mapped, not
// decoded). The Put on A is not timed.
func BenchmarkRemoteGet(b *testing.B) {
	p := newPair(b)
	cb := p.b.LocalClient()
	const size = 64 << 20
	payload := make([]byte, size)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ref := mustPut(b, p.ctx, payload)
		b.StartTimer()
		vs, err := cb.Get(p.ctx, []grt.ObjectID{ref.ID()})
		if err != nil || vs[0].Err != nil || len(vs[0].Data) < size {
			b.Fatal(err, vs[0].Err, len(vs[0].Data))
		}
		vs[0].Release()
		ref.Release()
	}
}

var napWhere = goray.Register[string]("remote_test.napWhere", func(ctx context.Context, ms int) string {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return goray.NodeID(ctx)
})

// With the default (hybrid) strategy a burst larger than the driver's node
// spills over to the peer: A has one CPU, B two.
func TestDefaultStrategySpillsOver(t *testing.T) {
	p := newPair(t)
	ctx := p.ctx
	refs := make([]goray.ObjectRef[string], 6)
	for i := range refs {
		refs[i] = napWhere.Remote(ctx, 200)
	}
	nodes, err := goray.Get(ctx, refs...)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, n := range nodes {
		count[n]++
	}
	if count[p.idA] == 0 || count[p.idB] == 0 {
		t.Fatalf("tasks per node: %v; want some on each of A %s and B %s", count, p.idA, p.idB)
	}
}

// spinOn ignores its context: only a forced cancel (a killed worker) ends it.
var spinOn = goray.Register[int]("remote_test.spinOn", func() int {
	for {
		time.Sleep(time.Millisecond)
	}
})

// TestCancelReachesTheForwardedTask: cancelling a task that runs on a peer
// cancels it there, so the peer's CPU comes back (a stopped job frees its
// resources on every node).
func TestCancelReachesTheForwardedTask(t *testing.T) {
	p := newPair(t)
	ctx := p.ctx
	freeOnB := func() float64 {
		_, avail, err := p.b.LocalClient().NodeResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return avail["CPU"]
	}
	ref := spinOn.Options(goray.Strategy(goray.NodeAffinity(p.idB, false)), goray.MaxRetries(0)).Remote(ctx)
	testutil.WaitFor(t, 20*time.Second, func() bool { return freeOnB() == 1 }, "the task running on B")
	if err := goray.Cancel(ctx, ref, true); err != nil {
		t.Fatal(err)
	}
	// Bounded, so that a cancel that never lands fails in seconds rather
	// than at the pair's 5-minute deadline.
	gctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := ref.Get(gctx); !errors.Is(err, goray.ErrTaskCancelled) {
		t.Fatalf("Get of the cancelled task: %v", err)
	}
	testutil.WaitFor(t, 20*time.Second, func() bool { return freeOnB() == 2 }, "B's CPU free after the cancel")
}
