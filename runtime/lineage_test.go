package runtime

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/goray/goray/runtime/codec"
)

func oid(task byte, ret int) ObjectID { return TaskID{task}.ReturnID(ret) }

func refArg(id ObjectID) Arg { return Arg{IsRef: true, Ref: id} }

// The lineage table's bookkeeping: which arguments are pinned and which
// are kept by their producer's lineage, when a lineage may go, and what a
// dead node leaves without a copy.
func TestLineageTable(t *testing.T) {
	put := ObjectID{7, 7} // a put: no task made it
	tests := []struct {
		name string
		run  func(t *testing.T, l *lineageTable)
	}{
		{"a task's lineage lives while a located result does", func(t *testing.T, l *lineageTable) {
			lt, pin, rel := l.task(&TaskSpec{ID: TaskID{1}, NumReturns: 2, Args: []Arg{refArg(put)}}, nil, 3)
			if len(rel) != 0 || !slices.Equal(pin, []ObjectID{put}) {
				t.Fatalf("pin %v, released %v; want the put pinned", pin, rel)
			}
			l.located(oid(1, 0), lt, "B")
			l.located(oid(1, 1), lt, "B")
			if locs, rel := l.freed(oid(1, 0)); !slices.Equal(locs, []string{"B"}) || len(rel) != 0 {
				t.Fatalf("first free: locs %v released %v", locs, rel)
			}
			if _, rel := l.freed(oid(1, 1)); len(rel) != 1 || rel[0] != lt {
				t.Fatalf("last free released %v, want the task", rel)
			}
			if len(l.tasks) != 0 || l.bytes != 0 || len(l.order) != 0 {
				t.Fatalf("table not empty: %d tasks, %d bytes, order %v", len(l.tasks), l.bytes, l.order)
			}
		}},
		{"an argument with lineage is kept by it, not pinned", func(t *testing.T, l *lineageTable) {
			y, _, _ := l.task(&TaskSpec{ID: TaskID{1}, NumReturns: 1}, nil, 1)
			l.located(oid(1, 0), y, "B")
			z, pin, _ := l.task(&TaskSpec{ID: TaskID{2}, NumReturns: 1, Args: []Arg{refArg(oid(1, 0))}}, nil, 1)
			l.located(oid(2, 0), z, "B")
			if len(pin) != 0 || y.uses != 1 || l.producer(oid(1, 0)) != y {
				t.Fatalf("pin %v, uses %d", pin, y.uses)
			}
			// y's value goes; its lineage stays for z.
			if _, rel := l.freed(oid(1, 0)); len(rel) != 0 || l.tasks[y.spec.ID] != y {
				t.Fatalf("freeing y released %v", rel)
			}
			// z's value goes: both lineages go, child first.
			_, rel := l.freed(oid(2, 0))
			if len(rel) != 2 || rel[0] != z || rel[1] != y {
				t.Fatalf("freeing z released %v, want z then y", rel)
			}
		}},
		{"the budget drops the oldest lineage", func(t *testing.T, l *lineageTable) {
			l.budget = 3 * specOverhead
			var lts []*linTask
			for i := range 4 {
				lt, _, rel := l.task(&TaskSpec{ID: TaskID{byte(i + 1)}, NumReturns: 1}, nil, 1)
				l.located(oid(byte(i+1), 0), lt, "B")
				lts = append(lts, lt)
				if i == 3 && (len(rel) != 1 || rel[0] != lts[0]) {
					t.Fatalf("fourth task released %v, want the first", rel)
				}
			}
			if lo := l.objs[oid(1, 0)]; lo == nil || lo.task != nil {
				t.Fatalf("the dropped task's object: %+v, want located without lineage", lo)
			}
			if l.bytes > l.budget {
				t.Fatalf("%d bytes kept over a budget of %d", l.bytes, l.budget)
			}
		}},
		{"a dead node leaves the objects only it had", func(t *testing.T, l *lineageTable) {
			lt, _, _ := l.task(&TaskSpec{ID: TaskID{1}, NumReturns: 3}, nil, 1)
			l.located(oid(1, 2), lt, "B")
			l.located(oid(1, 0), lt, "B")
			l.located(oid(1, 1), lt, "B")
			l.located(oid(1, 1), lt, "C")
			if lost := l.nodeGone("B"); !slices.Equal(lost, []ObjectID{oid(1, 0), oid(1, 2)}) {
				t.Fatalf("lost %v", lost)
			}
			if lost := l.nodeGone("B"); len(lost) != 0 {
				t.Fatalf("second report of the same death lost %v", lost)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newLineageTable(lineageBudget)) })
	}
}

func TestForwardResultsRoundTrip(t *testing.T) {
	in := []ForwardResult{{Data: []byte("small")}, {Node: "node-b", Size: 8 << 20}, {Data: []byte{}}}
	out, e, err := DecodeForwardResults(EncodeForwardResults(in, nil))
	if err != nil || e != nil || len(out) != 3 || string(out[0].Data) != "small" || out[1].Node != "node-b" || out[1].Size != 8<<20 || out[2].Node != "" {
		t.Fatalf("round trip: %+v, %v, %v", out, e, err)
	}
	fail := &ErrorInfo{Kind: ErrKindApp, Message: "boom"}
	if _, e, err := DecodeForwardResults(EncodeForwardResults(nil, fail)); err != nil || e == nil || e.Message != "boom" {
		t.Fatalf("failure round trip: %v, %v", e, err)
	}
	b := EncodeForwardResults(in, nil)
	if _, _, err := DecodeForwardResults(b[:len(b)-2]); !errors.Is(err, ErrProtocol) {
		t.Fatalf("truncated results: %v, want ErrProtocol", err)
	}
}

// Object IDs carry their owner node: a node's clients mint IDs starting
// with its NodePrefix.
func TestObjectIDsNameTheirOwnerNode(t *testing.T) {
	n, c := startNode(t, NodeConfig{NumCPUs: 1, PrestartWorkers: -1})
	id, err := c.Put(context.Background(), mustEncode(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	if OwnerPrefix(id) != NodePrefix(n.ID()) {
		t.Fatalf("put %s does not start with its node's prefix %x", id, NodePrefix(n.ID()))
	}
	if a, b := NodePrefix("node-a"), NodePrefix("node-b"); a == b {
		t.Fatalf("two node IDs share the prefix %x", a)
	}
}

// lineageHooks are peerHooks whose peer keeps large results
// (LocatedForwarder) and that can play the peer's death.
type lineageHooks struct {
	*peerHooks
	owner *Node
}

func (h *lineageHooks) ForwardLocated(_ context.Context, node string, fm *ForwardMessage, done func([]ForwardResult, *ErrorInfo)) {
	b := EncodeForward(fm)
	if fm.Release != nil {
		fm.Release()
	}
	got, err := DecodeForward(b)
	if err != nil {
		go done(nil, &ErrorInfo{Kind: ErrKindSystem, Message: err.Error()})
		return
	}
	h.peer.RunForwardedFor(h.owner.ID(), got.Spec, got.Binary, func(rs []ForwardResult, e *ErrorInfo) {
		rs2, e2, err := DecodeForwardResults(EncodeForwardResults(rs, e))
		if err != nil {
			e2 = &ErrorInfo{Kind: ErrKindSystem, Message: err.Error()}
		}
		done(rs2, e2)
	})
}

func (h *lineageHooks) FreeObjects(_ string, ids []ObjectID) {
	go h.peer.ReleaseHeld(h.owner.ID(), ids)
}

func (h *lineageHooks) FetchObject(ctx context.Context, id ObjectID, done func(*Fetched, *ErrorInfo)) {
	if h.gone.Load() {
		go done(nil, lostInfo(id, "no peer has it"))
		return
	}
	h.peerHooks.FetchObject(ctx, id, done)
}

// startLineagePair starts an owner node whose one peer keeps the large
// results of the tasks forwarded to it.
func startLineagePair(t *testing.T) (owner, peer *Node, h *lineageHooks) {
	t.Helper()
	peer, _ = startNode(t, NodeConfig{NumCPUs: 2, PrestartWorkers: -1, InlineThreshold: 1024})
	owner, err := NewNode(NodeConfig{NumCPUs: 1, PrestartWorkers: -1, InlineThreshold: 1024}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h = &lineageHooks{peerHooks: &peerHooks{peer: peer, self: owner}, owner: owner}
	owner.SetClusterHooks(h)
	if err := owner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = owner.Stop(context.Background()) })
	return owner, peer, h
}

func waitUntilTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitReady waits (without fetching) until ids are ready.
func waitReady(t *testing.T, c *Client, ids ...ObjectID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ready, err := c.Wait(ctx, ids, len(ids), -1)
	if err != nil || slices.Contains(ready, false) {
		t.Fatalf("wait: ready %v, %v", ready, err)
	}
}

// A large result of a task forwarded to the peer stays there: Wait says
// ready without moving it, Get pulls it, and releasing it frees the
// peer's copy. When the peer dies, results whose only copy it had are
// rebuilt by running their tasks again (here: the owner is the only node
// left), a chain of two recursively, and a task without retries leaves
// ObjectLost.
func TestLocatedResultsAreRebuiltWhenTheirNodeDies(t *testing.T) {
	owner, peer, h := startLineagePair(t)
	c := owner.LocalClient()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	big := bytes.Repeat([]byte("lineage!"), 16<<10) // 128 KiB
	enc := mustEncode(t, big)
	aff := Strategy{Kind: StrategyNodeAffinity, Node: peer.ID(), Soft: true}
	echo := func(arg Arg, retries int) ObjectID {
		return c.Submit(&TaskSpec{Func: "echo", NumReturns: 1, Resources: map[string]float64{"CPU": 1},
			Strategy: aff, MaxRetries: retries, Args: []Arg{arg}})[0]
	}
	getBig := func(id ObjectID) *ErrorInfo {
		t.Helper()
		vs, err := c.Get(ctx, []ObjectID{id})
		if err != nil {
			t.Fatal(err)
		}
		defer vs[0].Release()
		if vs[0].Err != nil {
			return vs[0].Err
		}
		if got, err := codec.DecodeInto[[]byte](vs[0].Data); err != nil || !bytes.Equal(got, big) {
			t.Fatalf("got %d bytes (%v), want the %d sent", len(got), err, len(big))
		}
		return nil
	}

	// Located, pulled on Get, freed on the peer with the owner's last ref.
	x := echo(Arg{Data: enc.Bytes()}, 1)
	waitReady(t, c, x)
	if owner.Store().Contains(x) || !peer.Store().Contains(x) {
		t.Fatalf("after Wait: on the owner %v, on the peer %v; want only on the peer", owner.Store().Contains(x), peer.Store().Contains(x))
	}
	listed := false
	for _, o := range owner.Snapshot().Objects {
		if o.ID == x.String() {
			listed = o.Ready && slices.Equal(o.Copies, []string{peer.ID()})
		}
	}
	if !listed {
		t.Error("the owner's state does not list the located object as ready, with its copy on the peer")
	}
	if e := getBig(x); e != nil {
		t.Fatal(e)
	}
	if !owner.Store().Contains(x) {
		t.Fatal("Get did not pull the object into the owner's store")
	}
	c.RemoveLocalRef(x)
	waitUntilTrue(t, "the peer drops its copy", func() bool { return !peer.Store().Contains(x) && peer.NumObjects() == 0 })

	// Results whose only copy is on the peer when it dies.
	one := echo(Arg{Data: enc.Bytes()}, 2)
	y := echo(Arg{Data: enc.Bytes()}, 1)
	z := echo(refArg(y), 1)
	noRetry := echo(Arg{Data: enc.Bytes()}, 0)
	waitReady(t, c, one, z, noRetry)
	c.RemoveLocalRef(y) // only z's lineage keeps y now
	waitUntilTrue(t, "y is freed everywhere", func() bool { return !peer.Store().Contains(y) && !owner.Store().Contains(y) })
	for _, id := range []ObjectID{one, z, noRetry} {
		if owner.Store().Contains(id) || !peer.Store().Contains(id) {
			t.Fatalf("%s: on the owner %v, on the peer %v", id, owner.Store().Contains(id), peer.Store().Contains(id))
		}
	}
	h.gone.Store(true)
	owner.PeerGone(peer.ID())
	if e := getBig(one); e != nil {
		t.Fatalf("rebuilt object: %v", e)
	}
	if e := getBig(z); e != nil {
		t.Fatalf("rebuilt chain: %v", e)
	}
	if !owner.Store().Contains(one) || !owner.Store().Contains(z) {
		t.Fatal("the rebuilt objects are not in the owner's store")
	}
	e := getBig(noRetry)
	if e == nil || e.Kind != ErrKindObjectLost {
		t.Fatalf("lost object without retries: %v, want ErrKindObjectLost", e)
	}
}

// A located object whose node stops answering before the membership says
// it died is rebuilt when the pull fails; a result whose ref was dropped
// before the task finished is not kept on the peer.
func TestFailedPullRebuildsAndDroppedResultsAreNotKept(t *testing.T) {
	owner, peer, h := startLineagePair(t)
	c := owner.LocalClient()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	big := bytes.Repeat([]byte("pull"), 64<<10)
	aff := Strategy{Kind: StrategyNodeAffinity, Node: peer.ID(), Soft: true}
	enc := mustEncode(t, big)
	submit := func() ObjectID {
		return c.Submit(&TaskSpec{Func: "echo", NumReturns: 1, Resources: map[string]float64{"CPU": 1},
			Strategy: aff, MaxRetries: 1, Args: []Arg{{Data: enc.Bytes()}}})[0]
	}
	dropped := submit()
	c.RemoveLocalRef(dropped)
	x := submit()
	waitReady(t, c, x)
	waitUntilTrue(t, "the peer keeps only the referenced result", func() bool {
		return !peer.Store().Contains(dropped) && peer.Store().Contains(x)
	})
	h.gone.Store(true) // unreachable; PeerGone not called
	vs, err := c.Get(ctx, []ObjectID{x})
	if err != nil || vs[0].Err != nil {
		t.Fatalf("get after the peer stopped answering: %v, %v", err, vs[0].Err)
	}
	defer vs[0].Release()
	if got, err := codec.DecodeInto[[]byte](vs[0].Data); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("rebuilt object: %d bytes, %v", len(got), err)
	}
}
