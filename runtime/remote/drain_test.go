package remote_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/testutil"
	grt "github.com/goray/goray/runtime"
)

// newDrainPair is newPair's layout (A embedded with one CPU, B in this
// process with two), except that A's view of B is stale: it believes B
// has four CPUs free, as a lagging broadcast can. So A forwards more
// than B can run, and some of it queues on B without starting: the work
// a draining node hands back.
func newDrainPair(t *testing.T) *pair {
	t.Helper()
	return newPairSeeing(t, 4, 2*time.Minute)
}

// runningOnB waits until B runs n tasks (n of its CPUs taken).
func runningOnB(t *testing.T, p *pair, n float64) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, func() bool {
		_, avail, err := p.b.LocalClient().NodeResources(p.ctx)
		return err == nil && avail["CPU"] == 2-n
	}, "tasks running on B")
}

// A draining node hands back the forwarded tasks that have not started
// (their owner runs them elsewhere, without spending a retry: they have
// MaxRetries(0)), lets the running ones finish and send their results,
// and from then on is no place for new work. A task pinned to it (hard
// NodeAffinity) can run nowhere else and fails as infeasible.
func TestDrainHandsBackQueuedAndFinishesRunning(t *testing.T) {
	p := newDrainPair(t)
	ctx := p.ctx
	onB := goray.Strategy(goray.NodeAffinity(p.idB, true))
	f := napWhere.Options(onB, goray.MaxRetries(0))
	refs := make([]goray.ObjectRef[string], 4)
	for i := range refs {
		refs[i] = f.Remote(ctx, 1000)
	}
	// One more, pinned to B (hard NodeAffinity): it can run nowhere else.
	pinned := napWhere.Options(goray.Strategy(goray.NodeAffinity(p.idB, false)), goray.MaxRetries(0)).Remote(ctx, 1000)
	runningOnB(t, p, 2)
	testutil.WaitFor(t, 10*time.Second, func() bool { return p.b.HostedWork() == 5 }, "B hosting 5 tasks (2 running, 3 queued)")
	start := time.Now()
	rep, err := p.eb.Drain(ctx, 20*time.Second)
	took := time.Since(start)
	t.Logf("drain: %+v in %v", rep, took)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Notified != 1 || rep.HandedBack != 3 || rep.TimedOut != 0 || rep.Unsent != 0 {
		t.Fatalf("drain report %+v; want the peer notified, 3 handed back, none timed out", rep)
	}
	if took > 10*time.Second {
		t.Fatalf("drain took %v for 1 s tasks", took)
	}
	// Every task succeeds: two on B, the two handed back on A.
	nodes, err := goray.Get(ctx, refs...)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, n := range nodes {
		count[n]++
	}
	if count[p.idB] != 2 || count[p.idA] != 2 {
		t.Fatalf("tasks per node %v; want 2 on B (ran through the drain) and 2 on A (handed back)", count)
	}
	// A hand-back is no failure in B's records.
	if fs := p.b.Snapshot().Failures; len(fs) != 0 {
		t.Errorf("B records failures for the tasks it handed back: %+v", fs)
	}
	// The pinned task cannot go elsewhere: it fails, saying why.
	if _, err := pinned.Get(ctx); !errors.Is(err, goray.ErrInfeasible) || !strings.Contains(err.Error(), "draining") {
		t.Fatalf("a task pinned to the draining node: %v, want ErrInfeasible naming the drain", err)
	}
	// B takes no new work: A does not list it, and a task forwarded
	// anyway is handed back at once.
	for _, v := range p.ea.Peers() {
		if v.ID == p.idB {
			t.Fatalf("A still places work on draining B: %+v", p.ea.Peers())
		}
	}
	done := make(chan *grt.ErrorInfo, 1)
	p.b.RunForwarded(&grt.TaskSpec{Func: "remote_test.nop", NumReturns: 1, Resources: map[string]float64{"CPU": 1}}, "",
		func(_ [][]byte, e *grt.ErrorInfo) { done <- e })
	if e := <-done; e == nil || e.Kind != grt.ErrKindHandedBack {
		t.Fatalf("a task forwarded to a draining node: %v, want handed back", e)
	}
}

// Tasks still running when the drain timeout ends are handed back too;
// their owner runs them again, still without spending a retry.
func TestDrainTimeoutHandsBackRunning(t *testing.T) {
	p := newDrainPair(t)
	ctx := p.ctx
	f := napWhere.Options(goray.Strategy(goray.NodeAffinity(p.idB, true)), goray.MaxRetries(0))
	refs := []goray.ObjectRef[string]{f.Remote(ctx, 1500), f.Remote(ctx, 1500)}
	runningOnB(t, p, 2)
	rep, err := p.eb.Drain(ctx, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if rep.HandedBack != 0 || rep.TimedOut != 2 {
		t.Fatalf("drain report %+v; want 2 running tasks handed back at the timeout", rep)
	}
	nodes, err := goray.Get(ctx, refs...)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n != p.idA {
			t.Fatalf("tasks ran on %v; want both run again on A", nodes)
		}
	}
}
