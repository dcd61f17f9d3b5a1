package runtime

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goray/goray/runtime/codec"
	"github.com/goray/goray/runtime/task"
)

// peerHooks forwards every task to a second in-process node through the
// wire encoding, as runtime/remote does over the cluster transport.
type peerHooks struct {
	peer *Node
	self *Node          // the node these hooks are installed in
	fail *ErrorInfo     // if set, the first forward fails with it (a dead node)
	gone atomic.Bool    // the peer is no longer a live member
	res  task.Resources // the peer's resources besides 4 CPUs
}

func (h *peerHooks) Peers() []task.NodeView {
	if h.gone.Load() {
		return nil
	}
	res := task.Resources{"CPU": 4}
	for k, v := range h.res {
		res[k] = v
	}
	return []task.NodeView{{ID: h.peer.ID(), Total: res, Available: res.Clone(), Alive: true}}
}

func (h *peerHooks) Forward(_ context.Context, node string, fm *ForwardMessage, done func([][]byte, *ErrorInfo)) {
	if h.fail != nil {
		if fm.Release != nil {
			fm.Release()
		}
		e := h.fail
		h.fail = nil
		go done(nil, e)
		return
	}
	b := EncodeForward(fm)
	if fm.Release != nil {
		fm.Release()
	}
	got, err := DecodeForward(b)
	if err != nil {
		go done(nil, &ErrorInfo{Kind: ErrKindSystem, Message: err.Error()})
		return
	}
	if !h.peer.HasBinary(got.Binary) {
		go done(nil, &ErrorInfo{Kind: ErrKindSystem, Message: "peer lacks binary " + got.Binary})
		return
	}
	h.peer.RunForwarded(got.Spec, got.Binary, func(res [][]byte, e *ErrorInfo) {
		res2, e2, err := DecodeResults(EncodeResults(res, e))
		if err != nil {
			e2 = &ErrorInfo{Kind: ErrKindSystem, Message: err.Error()}
		}
		done(res2, e2)
	})
}

func (h *peerHooks) LocateActor(_ context.Context, id ActorID, done func(string, error)) {
	if h.peer.HasActor(id) {
		go done(h.peer.ID(), nil)
		return
	}
	go done("", errors.New("not found"))
}

func (h *peerHooks) LocateNamedActor(_ context.Context, name string, done func(string, ActorID, string, error)) {
	if id, class, ok := h.peer.NamedActor(name); ok {
		go done(h.peer.ID(), id, class, nil)
		return
	}
	go done("", ActorID{}, "", errors.New("not found"))
}

func (h *peerHooks) KillActor(_ context.Context, node string, id ActorID, noRestart bool) {
	go func() { _ = h.peer.KillActor(id, noRestart, "killed by its owner") }()
}

func (h *peerHooks) ReservePG(_ context.Context, _, id string, bundles []map[string]float64, done func(error)) {
	go done(h.peer.ReservePG("owner", id, bundles))
}

func (h *peerHooks) ReleasePG(_ context.Context, _, id string) { go h.peer.ReleasePG(id) }

func (h *peerHooks) FetchObject(_ context.Context, id ObjectID, done func(*Fetched, *ErrorInfo)) {
	// The hooked node is the one that registered these hooks; the test
	// gives it back through fetchInto.
	served := h.peer.ServeObject("hooked", id, func(data []byte, release func(), e *ErrorInfo) {
		if e != nil {
			done(nil, e)
			return
		}
		f, err := h.self.FetchBuffer(id, int64(len(data)))
		if err != nil {
			done(nil, &ErrorInfo{Kind: ErrKindSystem, Message: err.Error()})
			return
		}
		copy(f.Buf, data)
		if release != nil {
			release()
		}
		done(f, nil)
	})
	if !served {
		go done(nil, lostInfo(id, "no peer has it"))
	}
}

// startHooked starts a node whose only peer is peer.
func startHooked(t *testing.T, peer *Node) (*Node, *peerHooks) {
	t.Helper()
	n, err := NewNode(NodeConfig{NumCPUs: 1, PrestartWorkers: -1, InlineThreshold: 1024}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &peerHooks{peer: peer, self: n}
	n.SetClusterHooks(h)
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop(context.Background()) })
	return n, h
}

// An actor created on node A with affinity to B lives on B; calls from A
// and from a third node C (which only has the actor's ID) reach it in
// order, and killing it from A kills it on B.
func TestRemoteActorCalledFromTwoNodes(t *testing.T) {
	peer, _ := startNode(t, NodeConfig{NumCPUs: 2, PrestartWorkers: -1})
	a, _ := startHooked(t, peer)
	c, _ := startHooked(t, peer)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ca, cc := a.LocalClient(), c.LocalClient()
	aid, err := ca.CreateActor(ctx, &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1, Name: "shared",
		Resources: map[string]float64{"CPU": 1}, Strategy: Strategy{Kind: StrategyNodeAffinity, Node: peer.ID()}})
	if err != nil {
		t.Fatal(err)
	}
	// C finds it by name, on the peer.
	if info, err := cc.GetNamedActor(ctx, "shared"); err != nil || info.ID != aid || info.Class != "A" {
		t.Fatalf("GetNamedActor on C: %+v, %v", info, err)
	}
	if _, err := cc.GetNamedActor(ctx, "nobody"); err == nil {
		t.Fatal("GetNamedActor of an unknown name succeeded on C")
	}
	var last []ObjectID
	for range 20 {
		last = ca.Submit(&TaskSpec{Kind: KindActorMethod, Func: "inc", Actor: aid, NumReturns: 1})
	}
	if x, _ := codec.DecodeInto[int](getOne(t, ca, last[0]).Data); x != 20 {
		t.Fatalf("20 calls from A: count %d", x)
	}
	if !peer.HasActor(aid) || a.HasActor(aid) {
		t.Fatalf("actor lives on peer: %v, on A: %v", peer.HasActor(aid), a.HasActor(aid))
	}
	for range 5 {
		last = cc.Submit(&TaskSpec{Kind: KindActorMethod, Func: "inc", Actor: aid, NumReturns: 1})
	}
	v := getOne(t, cc, last[0])
	if x, _ := codec.DecodeInto[int](v.Data); v.Err != nil || x != 25 {
		t.Fatalf("5 calls from C: count %d, %v", x, v.Err)
	}
	// An ID no node has fails, and does not hang.
	ghost := cc.Submit(&TaskSpec{Kind: KindActorMethod, Func: "inc", Actor: ActorID{9, 9, 9}, NumReturns: 1})
	if e := getOne(t, cc, ghost[0]).Err; e == nil {
		t.Fatal("call of an unknown actor succeeded")
	}
	if err := ca.KillActor(ctx, aid, true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for peer.HasActor(aid) {
		if time.Now().After(deadline) {
			t.Fatal("actor still alive on the peer after Kill from its owner")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestForwardedTasksRunOnThePeer(t *testing.T) {
	peer, _ := startNode(t, NodeConfig{NumCPUs: 2, PrestartWorkers: -1, InlineThreshold: 1024})
	n, err := NewNode(NodeConfig{NumCPUs: 1, PrestartWorkers: -1, InlineThreshold: 1024}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &peerHooks{peer: peer}
	n.SetClusterHooks(h)
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Stop(context.Background())
	c := n.LocalClient()
	// A large argument (in the store) and a large result cross nodes.
	big := bytes.Repeat([]byte("goray"), 100_000)
	ref, err := c.Put(context.Background(), mustEncode(t, big))
	if err != nil {
		t.Fatal(err)
	}
	aff := Strategy{Kind: StrategyNodeAffinity, Node: peer.ID()}
	ids := c.Submit(&TaskSpec{Func: "echo", NumReturns: 1, Resources: map[string]float64{"CPU": 1},
		Strategy: aff, Args: []Arg{{IsRef: true, Ref: ref}}, MaxRetries: 1})
	v := getOne(t, c, ids[0])
	if v.Err != nil {
		t.Fatalf("forwarded task: %v", v.Err)
	}
	got, err := codec.DecodeInto[[]byte](v.Data)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("forwarded echo returned %d bytes (%v), want %d identical", len(got), err, len(big))
	}
	// An application error comes back as it is.
	bad := c.Submit(&TaskSpec{Func: "fail", NumReturns: 1, Resources: map[string]float64{"CPU": 1}, Strategy: aff})
	if e := getOne(t, c, bad[0]).Err; e == nil || e.Kind != ErrKindApp || e.Message != "failed" {
		t.Fatalf("forwarded failure: %v", e)
	}
	// The peer died with the task: it is retried here.
	h.fail = &ErrorInfo{Kind: ErrKindWorkerCrashed, Message: "node died"}
	re := c.Submit(&TaskSpec{Func: "retried", NumReturns: 1, Resources: map[string]float64{"CPU": 1}, Strategy: aff, MaxRetries: 1})
	if s, err := codec.DecodeInto[string](getOne(t, c, re[0]).Data); err != nil || s != "retried" {
		t.Fatalf("retried task = %q, %v", s, err)
	}
	// Without retries the node's death is the task's error.
	h.fail = &ErrorInfo{Kind: ErrKindWorkerCrashed, Message: "node died"}
	lost := c.Submit(&TaskSpec{Func: "lost", NumReturns: 1, Resources: map[string]float64{"CPU": 1}, Strategy: aff})
	if e := getOne(t, c, lost[0]).Err; e == nil || e.Kind != ErrKindWorkerCrashed {
		t.Fatalf("task on a dead node without retries: %v", e)
	}
	if peer.NumObjects() != 0 {
		t.Errorf("peer keeps %d objects of forwarded tasks", peer.NumObjects())
	}
}

// A task whose node died is placed again by the policy: here it needs a
// resource only the peer has, so its retry must go back to a peer rather
// than fail as infeasible on its owner.
func TestRetryIsPlacedAgain(t *testing.T) {
	peer, _ := startNode(t, NodeConfig{NumCPUs: 2, PrestartWorkers: -1, Resources: map[string]float64{"special": 1}})
	n, h := startHooked(t, peer)
	h.res = task.Resources{"special": 1}
	c := n.LocalClient()
	h.fail = &ErrorInfo{Kind: ErrKindWorkerCrashed, Message: "node died"}
	re := c.Submit(&TaskSpec{Func: "needs-special", NumReturns: 1, Resources: map[string]float64{"CPU": 1, "special": 1}, MaxRetries: 1})
	v := getOne(t, c, re[0])
	if s, err := codec.DecodeInto[string](v.Data); v.Err != nil || err != nil || s != "needs-special" {
		t.Fatalf("retried task = %q, %v, %v; want it run again on the peer", s, v.Err, err)
	}
}

func TestDecodeForwardRejectsGarbage(t *testing.T) {
	b := EncodeForward(&ForwardMessage{Spec: &TaskSpec{Func: "f", NumReturns: 1}, Binary: "x"})
	for _, bad := range [][]byte{nil, {ProtocolVersion + 1}, b[:len(b)-3]} {
		if _, err := DecodeForward(bad); !errors.Is(err, ErrProtocol) {
			t.Errorf("DecodeForward(%x) = %v, want ErrProtocol", bad, err)
		}
	}
	if _, _, err := DecodeResults([]byte{0, 5}); !errors.Is(err, ErrProtocol) {
		t.Errorf("DecodeResults of a truncated body = %v", err)
	}
}

// A Get on node A of objects only the peer has fetches them (a small one
// inline, a large one into A's store); the peer records the copy; an ID
// no node has fails with ObjectLost instead of hanging.
func TestGetFetchesObjectsFromThePeer(t *testing.T) {
	peer, pc := startNode(t, NodeConfig{NumCPUs: 1, PrestartWorkers: -1, InlineThreshold: 1024})
	a, _ := startHooked(t, peer)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	small, err := pc.Put(ctx, mustEncode(t, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{1, 2, 3}, 1<<20)
	large, err := pc.Put(ctx, mustEncode(t, big))
	if err != nil {
		t.Fatal(err)
	}
	ca := a.LocalClient()
	vs, err := ca.Get(ctx, []ObjectID{small, large})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := codec.DecodeInto[string](vs[0].Data); err != nil || s != "hello" {
		t.Fatalf("small object from the peer: %q, %v", s, err)
	}
	if b, err := codec.DecodeInto[[]byte](vs[1].Data); err != nil || !bytes.Equal(b, big) {
		t.Fatalf("large object from the peer: %d bytes, %v", len(b), err)
	}
	for _, v := range vs {
		v.Release()
	}
	if !a.Store().Contains(large) {
		t.Error("the large copy is not in A's store")
	}
	if c := peer.ObjectCopies(large); len(c) != 1 || c[0] != "hooked" {
		t.Errorf("peer's copies of the large object: %v", c)
	}
	vs, err = ca.Get(ctx, []ObjectID{{1, 2, 3}})
	if err == nil && vs[0].Err == nil {
		t.Fatal("Get of an object no node has succeeded")
	}
	if err == nil && vs[0].Err.Kind != ErrKindObjectLost {
		t.Fatalf("Get of an object no node has: %v", vs[0].Err)
	}
}

func (h *peerHooks) CancelForwarded(string, TaskID, bool) {}
