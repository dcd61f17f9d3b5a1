package runtime

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/runtime/codec"
	"github.com/goray/goray/runtime/task"
)

// echoExecutor returns its first argument (or the function name).
type echoExecutor struct{}

func (echoExecutor) Execute(ctx Ctx, spec *TaskSpec, args [][]byte) ([]Result, *ErrorInfo) {
	if spec.Func == "fail" {
		return nil, &ErrorInfo{Kind: ErrKindApp, Task: spec.Func, Message: "failed"}
	}
	if len(args) > 0 {
		return []Result{{Head: args[0]}}, nil
	}
	e, _ := codec.Encode(spec.Func)
	return []Result{e}, nil
}
func (echoExecutor) NewActor(ctx Ctx, spec *TaskSpec, args [][]byte) (any, *ErrorInfo) {
	return new(int), nil
}
func (echoExecutor) CallActor(ctx Ctx, inst any, spec *TaskSpec, args [][]byte) ([]Result, *ErrorInfo) {
	p := inst.(*int)
	*p++
	e, _ := codec.Encode(*p)
	return []Result{e}, nil
}

func TestMain(m *testing.M) {
	if IsWorkerProcess() {
		os.Exit(RunWorker(echoExecutor{}, nil))
	}
	os.Exit(m.Run())
}

func startNode(t *testing.T, cfg NodeConfig) (*Node, *Client) {
	t.Helper()
	if cfg.NumCPUs == 0 {
		cfg.NumCPUs = 2
	}
	n, err := NewNode(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return n, n.LocalClient()
}

func getOne(t *testing.T, c *Client, id ObjectID) Value {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vs, err := c.Get(ctx, []ObjectID{id})
	if err != nil {
		t.Fatal(err)
	}
	return vs[0]
}

func TestNodeRunsTasksAndActors(t *testing.T) {
	_, c := startNode(t, NodeConfig{})
	arg, _ := codec.Encode(41)
	ids := c.Submit(&TaskSpec{Func: "echo", NumReturns: 1, Resources: map[string]float64{"CPU": 1}, Args: []Arg{{Data: arg.Bytes()}}})
	v := getOne(t, c, ids[0])
	if x, err := codec.DecodeInto[int](v.Data); err != nil || x != 41 {
		t.Fatalf("echo = %v, %v", x, err)
	}
	// A ref argument is resolved; a failed one fails the dependent task.
	ids2 := c.Submit(&TaskSpec{Func: "echo", NumReturns: 1, Resources: map[string]float64{"CPU": 1}, Args: []Arg{{IsRef: true, Ref: ids[0]}}})
	if x, _ := codec.DecodeInto[int](getOne(t, c, ids2[0]).Data); x != 41 {
		t.Fatalf("ref arg = %v", x)
	}
	bad := c.Submit(&TaskSpec{Func: "fail", NumReturns: 1, Resources: map[string]float64{"CPU": 1}})
	dep := c.Submit(&TaskSpec{Func: "echo", NumReturns: 1, Resources: map[string]float64{"CPU": 1}, Args: []Arg{{IsRef: true, Ref: bad[0]}}})
	if e := getOne(t, c, dep[0]).Err; e == nil || e.Cause == nil || e.Cause.Message != "failed" {
		t.Fatalf("dependent of failed task: %v", e)
	}
	ctx := context.Background()
	aid, err := c.CreateActor(ctx, &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1, Resources: map[string]float64{"CPU": 1}, Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	var last []ObjectID
	for i := 0; i < 50; i++ {
		last = c.Submit(&TaskSpec{Kind: KindActorMethod, Func: "inc", Actor: aid, NumReturns: 1})
	}
	if x, _ := codec.DecodeInto[int](getOne(t, c, last[0]).Data); x != 50 {
		t.Fatalf("actor count = %d", x)
	}
	if _, err := c.CreateActor(ctx, &TaskSpec{Kind: KindActorCreate, Func: "A", Name: "a", Resources: map[string]float64{"CPU": 1}}); err == nil {
		t.Fatal("duplicate actor name accepted")
	}
	info, err := c.GetNamedActor(ctx, "a")
	if err != nil || info.ID != aid {
		t.Fatalf("named actor: %v %v", info, err)
	}
}

// fakeCluster is one peer that runs every forwarded task itself.
type fakeCluster struct {
	mu    sync.Mutex
	specs []*TaskSpec
}

func (f *fakeCluster) Peers() []task.NodeView {
	return []task.NodeView{{ID: "peer", Total: task.Resources{"CPU": 64}, Available: task.Resources{"CPU": 64}, Alive: true}}
}

func (f *fakeCluster) Forward(ctx context.Context, node string, fm *ForwardMessage, done func([][]byte, *ErrorInfo)) {
	spec := fm.Spec
	if fm.Release != nil {
		fm.Release()
	}
	f.mu.Lock()
	f.specs = append(f.specs, spec)
	f.mu.Unlock()
	go func() {
		if node != "peer" {
			done(nil, &ErrorInfo{Kind: ErrKindSystem, Message: "unknown node " + node})
			return
		}
		e, _ := codec.Encode("ran on " + node)
		done([][]byte{e.Bytes()}, nil)
	}()
}

func (f *fakeCluster) LocateActor(_ context.Context, id ActorID, done func(string, error)) {
	go done("", errors.New("fake cluster has no actors"))
}

func (f *fakeCluster) LocateNamedActor(_ context.Context, _ string, done func(string, ActorID, string, error)) {
	go done("", ActorID{}, "", errors.New("fake cluster has no actors"))
}

func (f *fakeCluster) KillActor(context.Context, string, ActorID, bool) {}

func (f *fakeCluster) ReservePG(_ context.Context, _, _ string, _ []map[string]float64, done func(error)) {
	go done(errors.New("fake cluster reserves nothing"))
}

func (f *fakeCluster) ReleasePG(context.Context, string, string) {}

func (f *fakeCluster) FetchObject(_ context.Context, id ObjectID, done func(*Fetched, *ErrorInfo)) {
	go done(nil, lostInfo(id, "fake cluster has no objects"))
}

func TestClusterHooksForwardTasks(t *testing.T) {
	n, err := NewNode(NodeConfig{NumCPUs: 1, PrestartWorkers: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeCluster{}
	n.SetClusterHooks(fc)
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Stop(context.Background())
	c := n.LocalClient()
	put, err := c.Put(context.Background(), mustEncode(t, 5))
	if err != nil {
		t.Fatal(err)
	}
	ids := c.Submit(&TaskSpec{Func: "f", NumReturns: 1, Resources: map[string]float64{"CPU": 1},
		Strategy: Strategy{Kind: StrategyNodeAffinity, Node: "peer"}, Args: []Arg{{IsRef: true, Ref: put}}})
	if s, _ := codec.DecodeInto[string](getOne(t, c, ids[0]).Data); s != "ran on peer" {
		t.Fatalf("forwarded task returned %q", s)
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if len(fc.specs) != 1 || fc.specs[0].Args[0].IsRef {
		t.Fatalf("forwarded %d specs; args must be inlined", len(fc.specs))
	}
	// Too big for every node: infeasible, reported at once.
	big := c.Submit(&TaskSpec{Func: "f", NumReturns: 1, Resources: map[string]float64{"CPU": 1000}})
	if e := getOne(t, c, big[0]).Err; e == nil || e.Kind != ErrKindInfeasible {
		t.Fatalf("infeasible: %v", e)
	}
}

func mustEncode(t *testing.T, v any) Result {
	e, err := codec.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestGetTimeoutAndUnknownObject(t *testing.T) {
	n, err := NewNode(NodeConfig{NumCPUs: 1, PrestartWorkers: -1, MaxWorkers: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Stop(context.Background())
	c := n.LocalClient()
	vs, err := c.Get(context.Background(), []ObjectID{{9, 9}})
	if err != nil || vs[0].Err == nil || vs[0].Err.Kind != ErrKindObjectLost {
		t.Fatalf("unknown object: %v %v", vs, err)
	}
	ids := c.Submit(&TaskSpec{Func: "f", NumReturns: 1, Resources: map[string]float64{"GPU": 1}}) // infeasible
	if e := getOne(t, c, ids[0]).Err; e == nil || e.Kind != ErrKindInfeasible {
		t.Fatalf("infeasible: %v", e)
	}
	// An actor that holds the only CPU leaves a task pending forever: Get
	// must give up when its context ends, and Wait must report not ready.
	if _, err := c.CreateActor(context.Background(), &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1,
		Resources: map[string]float64{"CPU": 1}, ResourcesSet: true}); err != nil {
		t.Fatal(err)
	}
	pending := c.Submit(&TaskSpec{Func: "f", NumReturns: 1, Resources: map[string]float64{"CPU": 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Get(ctx, pending); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get of a pending object: %v", err)
	}
	w, err := c.Wait(context.Background(), []ObjectID{pending[0], ids[0]}, 1, time.Millisecond)
	if err != nil || w[0] || !w[1] {
		t.Fatalf("wait: %v %v", w, err)
	}
}

func TestSocketClientLargeObjects(t *testing.T) {
	n, local := startNode(t, NodeConfig{PrestartWorkers: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, "unix://"+n.SocketPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	id, err := local.Put(ctx, mustEncode(t, big))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := c.Get(ctx, []ObjectID{id})
	if err != nil {
		t.Fatal(err)
	}
	got, err := codec.DecodeInto[[]byte](vs[0].Data)
	vs[0].Release()
	if err != nil || len(got) != len(big) || got[12345] != big[12345] {
		t.Fatalf("mapped get: %d bytes, %v", len(got), err)
	}
	// The fallback when the file moved: the bytes come in the reply.
	v, err := c.getInline(ctx, id)
	if err != nil || v.Err != nil {
		t.Fatalf("inline get: %v %v", err, v.Err)
	}
	if got, _ := codec.DecodeInto[[]byte](v.Data); len(got) != len(big) || got[999] != big[999] {
		t.Fatal("inline get returned different bytes")
	}
	// A put over the socket lands in the store too.
	id2, err := c.Put(ctx, mustEncode(t, big))
	if err != nil {
		t.Fatal(err)
	}
	if !n.Store().Contains(id2) {
		t.Fatal("large socket put not in the store")
	}
	if n.NumObjects() != 2 {
		t.Fatalf("%d objects", n.NumObjects())
	}
	c.RemoveLocalRef(id2)
	deadline := time.Now().Add(10 * time.Second)
	for n.Store().Contains(id2) {
		if time.Now().After(deadline) {
			t.Fatal("released socket put not freed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWaitTimeoutZeroOverSocket(t *testing.T) {
	n, local := startNode(t, NodeConfig{PrestartWorkers: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, n.SocketPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ready, err := local.Put(ctx, mustEncode(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	// A placement group holding every CPU keeps a CPU task pending.
	if _, err := local.CreatePlacementGroup(ctx, []map[string]float64{{"CPU": 2}}, PGStrictPack, "all"); err != nil {
		t.Fatal(err)
	}
	pending := local.Submit(&TaskSpec{Func: "f", NumReturns: 1, Resources: map[string]float64{"CPU": 1}})
	got, err := c.Wait(ctx, []ObjectID{pending[0], ready}, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] || !got[1] {
		t.Fatalf("wait(timeout 0) = %v, want [false true]", got)
	}
}

func (f *fakeCluster) CancelForwarded(string, TaskID, bool) {}
