package remote_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/testutil"
	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/remote"
)

// keeperOf is an actor that holds object refs in its state: the refs it
// puts itself (Make) and those passed to it (Keep), until Drop.
type refKeeper struct{ refs []goray.ObjectRef[[]byte] }

// Make puts n bytes of 9 on the actor's node and returns the ref nested
// in its result, keeping a ref of its own.
func (k *refKeeper) Make(ctx context.Context, n int) ([]goray.ObjectRef[[]byte], error) {
	ref, err := goray.Put(ctx, bytes.Repeat([]byte{9}, n))
	if err != nil {
		return nil, err
	}
	k.refs = append(k.refs, ref)
	return []goray.ObjectRef[[]byte]{ref}, nil
}

// Keep stores refs passed by the caller.
func (k *refKeeper) Keep(refs []goray.ObjectRef[[]byte]) int {
	k.refs = append(k.refs, refs...)
	return len(k.refs)
}

// Sizes gets every kept ref and reports their lengths and first bytes.
func (k *refKeeper) Sizes(ctx context.Context) (string, error) {
	out := ""
	for _, r := range k.refs {
		b, err := r.Get(ctx)
		if err != nil {
			return "", err
		}
		out += fmt.Sprintf("%d:%d ", len(b), b[0])
	}
	return out, nil
}

// Drop releases every kept ref at once (not when the GC gets to it).
func (k *refKeeper) Drop() int {
	n := len(k.refs)
	for _, r := range k.refs {
		r.Release()
	}
	k.refs = nil
	return n
}

var refKeeperClass = goray.RegisterActor[refKeeper]("remote_test.refKeeper", func() *refKeeper { return &refKeeper{} })

// A ref made on B (an actor's Put) and returned nested in a result to the
// driver on A stays valid after B's worker drops its own ref: A borrowed
// it, so B, its owner, keeps the object until A releases it.
func TestBorrowedResultOutlivesItsMaker(t *testing.T) {
	p := newPair(t)
	ctx := p.ctx
	h, err := refKeeperClass.Options(goray.Strategy(goray.NodeAffinity(p.idB, false))).Remote(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const size = 1 << 20
	outer := goray.Call[[]goray.ObjectRef[[]byte]](ctx, h, "Make", size)
	refs, err := outer.Get(ctx)
	if err != nil || len(refs) != 1 {
		t.Fatalf("make: %d refs, %v", len(refs), err)
	}
	id := grt.ObjectID(refs[0].ID())
	if grt.OwnerPrefix(id) != grt.NodePrefix(p.idB) {
		t.Fatalf("the put's ID %s is not owned by B", id)
	}
	if n, err := goray.Call[int](ctx, h, "Drop").Get(ctx); err != nil || n != 1 {
		t.Fatalf("drop: %d, %v", n, err)
	}
	// The worker's release reaches B before Drop's result; B's table then
	// holds the object for A alone (or, without borrowing, has freed it).
	testutil.WaitFor(t, 10*time.Second, func() bool { return p.b.ObjectRefCount(id) <= 1 }, "B's worker's ref dropped")
	if !p.b.Store().Contains(id) {
		t.Fatal("B freed the object while A still holds a ref to it")
	}
	b, err := refs[0].Get(ctx)
	if err != nil || !bytes.Equal(b, bytes.Repeat([]byte{9}, size)) {
		t.Fatalf("get the borrowed ref: %d bytes, %v", len(b), err)
	}
	// Once A drops every ref (the nested one and the result that contains
	// it), B frees the object.
	refs[0].Release()
	outer.Release()
	testutil.WaitFor(t, 20*time.Second, func() bool { return !p.b.Store().Contains(id) && p.b.ObjectRefCount(id) == 0 },
		"B freed the object after A released its refs")
}

// An actor on B keeps, in its state, a ref to an object A's driver put
// and passed to it; after the driver drops its own ref, A (the owner)
// keeps the object for B, and a later call that gets the ref on B works.
func TestActorKeepsABorrowedRef(t *testing.T) {
	p := newPair(t)
	ctx := p.ctx
	h, err := refKeeperClass.Options(goray.Strategy(goray.NodeAffinity(p.idB, false))).Remote(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const size = 1 << 20
	x, err := goray.Put(ctx, bytes.Repeat([]byte{5}, size))
	if err != nil {
		t.Fatal(err)
	}
	id := grt.ObjectID(x.ID())
	if n, err := goray.Call[int](ctx, h, "Keep", []goray.ObjectRef[[]byte]{x}).Get(ctx); err != nil || n != 1 {
		t.Fatalf("keep: %d, %v", n, err)
	}
	x.Release()
	// The driver's release and the call's argument hold are gone; what is
	// left on A is B's borrow (or nothing, without borrowing).
	testutil.WaitFor(t, 10*time.Second, func() bool { return p.a.ObjectRefCount(id) <= 1 }, "A's driver ref and the call's hold dropped")
	if !p.a.Store().Contains(id) {
		t.Fatal("A freed the object while the actor on B still holds a ref to it")
	}
	if s, err := goray.Call[string](ctx, h, "Sizes").Get(ctx); err != nil || s != fmt.Sprintf("%d:5 ", size) {
		t.Fatalf("sizes on B: %q, %v", s, err)
	}
	if n, err := goray.Call[int](ctx, h, "Drop").Get(ctx); err != nil || n != 1 {
		t.Fatalf("drop: %d, %v", n, err)
	}
	testutil.WaitFor(t, 20*time.Second, func() bool { return !p.a.Store().Contains(id) && p.a.ObjectRefCount(id) == 0 },
		"A freed the object after B's actor dropped it")
}

var (
	// putNested puts n bytes of 3 and returns the ref nested in its
	// result; the worker's own ref goes when its GC collects it.
	putNested = goray.Register[[]goray.ObjectRef[[]byte]]("remote_test.putNested", func(ctx context.Context, n int) ([]goray.ObjectRef[[]byte], error) {
		ref, err := goray.Put(ctx, bytes.Repeat([]byte{3}, n))
		return []goray.ObjectRef[[]byte]{ref}, err
	})
	// collect runs the worker's GC, whose cleanups drop the refs it no
	// longer reaches.
	collect = goray.Register[int]("remote_test.collect", func() int {
		runtime.GC()
		runtime.GC()
		return 1
	})
)

// The same through a normal task (a forwarded task's inline result, on
// the path whose large results stay on the executing node): the task on B
// puts 1 MiB and returns the ref nested in its result; once the worker's
// GC dropped its ref, B holds the object for A's borrow alone, and A's
// driver gets the bytes.
func TestBorrowedRefFromANormalTask(t *testing.T) {
	p := newPair(t)
	ctx := p.ctx
	onB := goray.Strategy(goray.NodeAffinity(p.idB, false))
	const size = 1 << 20
	outer := putNested.Options(onB).Remote(ctx, size)
	refs, err := outer.Get(ctx)
	if err != nil || len(refs) != 1 {
		t.Fatalf("putNested: %d refs, %v", len(refs), err)
	}
	id := grt.ObjectID(refs[0].ID())
	// B's tasks run one at a time, so the one worker that made the ref
	// runs each collect; its cleanups report the dropped ref to B. A's
	// registration as borrower may arrive after that: until then B's one
	// count is the hold it keeps while the ref is in flight to A.
	testutil.WaitFor(t, 30*time.Second, func() bool {
		if _, err := collect.Options(onB).Remote(ctx).Get(ctx); err != nil {
			t.Fatalf("collect: %v", err)
		}
		return p.b.ObjectRefCount(id) <= 1 && slices.Equal(p.b.Borrowers(id), []string{p.idA})
	}, "B's worker dropped its ref and A is B's one borrower")
	if n := p.b.ObjectRefCount(id); n != 1 {
		t.Errorf("B counts %d refs to the object, want A's borrow alone", n)
	}
	b, err := refs[0].Get(ctx)
	if err != nil || !bytes.Equal(b, bytes.Repeat([]byte{3}, size)) {
		t.Fatalf("get the borrowed ref: %d bytes, %v", len(b), err)
	}
	refs[0].Release()
	outer.Release()
	testutil.WaitFor(t, 20*time.Second, func() bool { return !p.b.Store().Contains(id) && p.b.ObjectRefCount(id) == 0 },
		"B freed the object after A released its refs")
}

// trio is newPair with a third node: the driver's embedded node A, and B
// and C in this process, over real cluster.RPC endpoints on loopback.
type trio struct {
	ctx      context.Context
	a, b, c  *grt.Node
	idA, idB string
	idC      string
	// rpcs are the nodes' transports, A's first: closing one cuts its
	// node off without anyone being told it died.
	rpcs []*cluster.RPC
}

func newTrio(t *testing.T) *trio {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	rt, err := goray.Init(ctx, goray.Config{NumCPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	peer := func() *grt.Node {
		n, err := grt.NewNode(grt.NodeConfig{NumCPUs: 1, PrestartWorkers: -1, BinaryCacheDir: filepath.Join(t.TempDir(), "bin"),
			WorkerCommand: []string{"/bin/sh", "-c", `exec "$0"`, exe}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return n
	}
	nodes := []*grt.Node{rt.Node(), peer(), peer()}
	addrs := map[string]string{}
	var amu sync.Mutex
	resolve := func(id string) (string, bool) { amu.Lock(); defer amu.Unlock(); x, ok := addrs[id]; return x, ok }
	var members []cluster.Member
	var rpcs []*cluster.RPC
	for _, n := range nodes {
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
		members = append(members, cluster.Member{NodeMeta: cluster.NodeMeta{ID: n.ID(), Resources: map[string]float64{"CPU": 1}}, Status: cluster.StatusAlive})
	}
	var engines []*remote.Engine
	for i, n := range nodes {
		e := remote.New(n, rpcs[i], &staticMembers{self: n.ID(), nodes: members}, nil)
		e.Start()
		engines = append(engines, e)
	}
	t.Cleanup(func() {
		for _, e := range engines {
			e.Close()
		}
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = rt.Shutdown(sctx)
		_ = nodes[1].Stop(sctx)
		_ = nodes[2].Stop(sctx)
		rctx, rcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer rcancel()
		for _, r := range rpcs {
			_ = r.Close(rctx)
		}
		cancel()
	})
	return &trio{ctx: goray.WithRuntime(ctx, rt), a: nodes[0], b: nodes[1], c: nodes[2],
		idA: nodes[0].ID(), idB: nodes[1].ID(), idC: nodes[2].ID(), rpcs: rpcs}
}

// A third node borrows: an object B owns reaches A's driver nested in a
// result, the driver passes it on to an actor on C, and then the driver
// and B's actor drop every ref they had. B keeps the object for C alone,
// the actor on C gets it, and B frees it once C's actor drops it.
func TestThirdNodeBorrowsThroughTheDriver(t *testing.T) {
	if testing.Short() {
		t.Skip("three nodes")
	}
	p := newTrio(t)
	ctx := p.ctx
	maker, err := refKeeperClass.Options(goray.Strategy(goray.NodeAffinity(p.idB, false))).Remote(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keeper, err := refKeeperClass.Options(goray.Strategy(goray.NodeAffinity(p.idC, false))).Remote(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const size = 1 << 20
	outer := goray.Call[[]goray.ObjectRef[[]byte]](ctx, maker, "Make", size)
	refs, err := outer.Get(ctx)
	if err != nil || len(refs) != 1 {
		t.Fatalf("make: %d refs, %v", len(refs), err)
	}
	id := grt.ObjectID(refs[0].ID())
	if n, err := goray.Call[int](ctx, keeper, "Keep", refs).Get(ctx); err != nil || n != 1 {
		t.Fatalf("keep on C: %d, %v", n, err)
	}
	if n, err := goray.Call[int](ctx, maker, "Drop").Get(ctx); err != nil || n != 1 {
		t.Fatalf("drop on B: %d, %v", n, err)
	}
	refs[0].Release()
	outer.Release()
	testutil.WaitFor(t, 20*time.Second, func() bool {
		return p.b.ObjectRefCount(id) == 1 && slices.Equal(p.b.Borrowers(id), []string{p.idC})
	}, "B holds the object for C alone")
	if s, err := goray.Call[string](ctx, keeper, "Sizes").Get(ctx); err != nil || s != fmt.Sprintf("%d:9 ", size) {
		t.Fatalf("sizes on C: %q, %v", s, err)
	}
	if n, err := goray.Call[int](ctx, keeper, "Drop").Get(ctx); err != nil || n != 1 {
		t.Fatalf("drop on C: %d, %v", n, err)
	}
	testutil.WaitFor(t, 20*time.Second, func() bool { return !p.b.Store().Contains(id) && p.b.ObjectRefCount(id) == 0 },
		"B freed the object after C dropped it")
}

// BenchmarkBorrowedRefRoundTrip: an actor call on the other node that
// puts 1 KiB and returns the ref nested in its result (so A borrows it:
// one registration, one in-flight release), then A drops both refs.
//
//	go test -run '^$' -bench BorrowedRef -benchtime 2s ./runtime/remote/
func BenchmarkBorrowedRefRoundTrip(b *testing.B) {
	p := newPair(b)
	ctx := p.ctx
	h, err := refKeeperClass.Options(goray.Strategy(goray.NodeAffinity(p.idB, false))).Remote(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		outer := goray.Call[[]goray.ObjectRef[[]byte]](ctx, h, "Make", 1<<10)
		refs, err := outer.Get(ctx)
		if err != nil || len(refs) != 1 {
			b.Fatalf("make: %d refs, %v", len(refs), err)
		}
		if _, err := goray.Call[int](ctx, h, "Drop").Get(ctx); err != nil {
			b.Fatal(err)
		}
		refs[0].Release()
		outer.Release()
	}
}
