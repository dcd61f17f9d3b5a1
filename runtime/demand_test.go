package runtime

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/runtime/codec"
	"github.com/goray/goray/runtime/task"
)

// captureHandler keeps the messages logged at warning level and above.
type captureHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.mu.Lock()
		h.msgs = append(h.msgs, r.Message)
		h.mu.Unlock()
	}
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func (h *captureHandler) warnings() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, m := range h.msgs {
		if strings.Contains(m, "cannot be scheduled right now") {
			out = append(out, m)
		}
	}
	return out
}

// Work that waits for resources is the node's pending demand, by shape:
// queued tasks, an actor waiting to be placed and a placement group's
// bundle, not a task waiting for its argument. The driver that submitted it is warned through its
// logger once per shape after the timeout; when resources free up it all
// runs and the demand is gone.
func TestPendingDemandAndWarning(t *testing.T) {
	n, _ := startNode(t, NodeConfig{NumCPUs: 2, PrestartWorkers: -1, PendingWarning: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := &captureHandler{}
	c, err := Dial(ctx, n.SocketPath(), slog.New(h))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// An actor holds both CPUs.
	holder, err := c.CreateActor(ctx, &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1,
		Resources: map[string]float64{"CPU": 2}, ResourcesSet: true})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, func() bool {
		_, avail, err := c.NodeResources(ctx)
		return err == nil && avail["CPU"] == 0
	}, "the holder placed")
	cpu1 := map[string]float64{"CPU": 1}
	var ids []ObjectID
	for range 3 {
		ids = append(ids, c.Submit(&TaskSpec{Func: "f", NumReturns: 1, Resources: cpu1})...)
	}
	ids = append(ids, c.Submit(&TaskSpec{Func: "g", NumReturns: 1, Resources: map[string]float64{"CPU": 0.5}})...)
	// Waiting for an argument (a task that cannot run yet) is not demand.
	blocked := c.Submit(&TaskSpec{Func: "h", NumReturns: 1, Resources: cpu1, Args: []Arg{{IsRef: true, Ref: ids[0]}}})
	if _, err := c.CreateActor(ctx, &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1, Resources: cpu1, ResourcesSet: true}); err != nil {
		t.Fatal(err)
	}
	// A placement group waiting for room is demand too, bundle by bundle.
	pg, err := c.CreatePlacementGroup(ctx, []map[string]float64{cpu1}, PGPack, "waits")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"{CPU: 1}": 5, "{CPU: 0.5}": 1}
	waitUntil(t, 20*time.Second, func() bool {
		got := map[string]int{}
		for _, d := range n.PendingDemand() {
			got[task.Resources(d.Shape).String()] = d.Count
		}
		return len(got) == len(want) && got["{CPU: 1}"] == 5 && got["{CPU: 0.5}"] == 1
	}, "the pending demand")
	if d := n.PendingDemand(); task.Resources(d[0].Shape).String() != "{CPU: 1}" {
		t.Fatalf("demand not ordered by count: %+v", d)
	}
	waitUntil(t, 20*time.Second, func() bool { return len(h.warnings()) == 2 }, "a warning per shape")
	// More rounds of the check do not repeat them.
	for range 3 {
		n.mu.Lock()
		n.checkPendingLocked()
		n.mu.Unlock()
	}
	ws := h.warnings()
	if len(ws) != 2 {
		t.Fatalf("warnings repeated: %q", ws)
	}
	joined := strings.Join(ws, "\n")
	for _, s := range []string{"{CPU: 1}", "{CPU: 0.5}", "It has not been dropped"} {
		if !strings.Contains(joined, s) {
			t.Errorf("warnings lack %q: %q", s, ws)
		}
	}
	// Resources free up: everything runs, nothing was dropped.
	if err := c.RemovePlacementGroup(ctx, pg); err != nil {
		t.Fatal(err)
	}
	if err := c.KillActor(ctx, holder, true); err != nil {
		t.Fatal(err)
	}
	vs, err := c.Get(ctx, append(ids, blocked...))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if v.Err != nil {
			t.Fatalf("task %d: %v", i, v.Err)
		}
	}
	if s, _ := codec.DecodeInto[string](vs[0].Data); s != "f" {
		t.Fatalf("task 0 returned %q", s)
	}
	waitUntil(t, 20*time.Second, func() bool { return len(n.PendingDemand()) == 0 }, "no demand left")
}

// busyPeer is a cluster with one bigger peer that is busy right now.
type busyPeer struct{ *fakeCluster }

func (busyPeer) Peers() []task.NodeView {
	return []task.NodeView{{ID: "peer", Total: task.Resources{"CPU": 8}, Available: task.Resources{"CPU": 0}, Alive: true}}
}

// Feasibility is decided against the cluster, not the node a request
// arrives at: a task too big for this node but not for a (busy) peer
// waits for that peer instead of failing; one too big for every node
// fails at once.
func TestFeasibleOnABiggerPeerIsNotInfeasible(t *testing.T) {
	n, err := NewNode(NodeConfig{NumCPUs: 2, PrestartWorkers: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeCluster{}
	n.SetClusterHooks(busyPeer{fc})
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Stop(context.Background())
	c := n.LocalClient()
	ids := c.Submit(&TaskSpec{Func: "f", NumReturns: 1, Resources: map[string]float64{"CPU": 4}})
	v := getOne(t, c, ids[0])
	if s, _ := codec.DecodeInto[string](v.Data); v.Err != nil || s != "ran on peer" {
		t.Fatalf("4-CPU task on a 2-CPU node with a busy 8-CPU peer: %q, %v", s, v.Err)
	}
	big := c.Submit(&TaskSpec{Func: "f", NumReturns: 1, Resources: map[string]float64{"CPU": 16}})
	if e := getOne(t, c, big[0]).Err; e == nil || e.Kind != ErrKindInfeasible || !strings.Contains(e.Error(), "CPU") {
		t.Fatalf("16-CPU task: %v, want infeasible", e)
	}
	// Actors likewise: a 4-CPU actor is created on the peer, a 16-CPU
	// one dies infeasible.
	ctx := context.Background()
	aid, err := c.CreateActor(ctx, &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1,
		Resources: map[string]float64{"CPU": 4}, ResourcesSet: true})
	if err != nil {
		t.Fatal(err)
	}
	huge, err := c.CreateActor(ctx, &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1,
		Resources: map[string]float64{"CPU": 16}, ResourcesSet: true})
	if err != nil {
		t.Fatal(err)
	}
	actors := map[string]ActorSnapshot{}
	for _, a := range n.Snapshot().Actors {
		actors[a.ID] = a
	}
	if a := actors[aid.String()]; a.State != "ALIVE" || a.Remote != "peer" {
		t.Fatalf("4-CPU actor: %+v, want alive on the peer", a)
	}
	if a := actors[huge.String()]; a.State != "DEAD" || !strings.Contains(a.DeathCause, "CPU") {
		t.Fatalf("16-CPU actor: %+v, want dead as infeasible", a)
	}
}
