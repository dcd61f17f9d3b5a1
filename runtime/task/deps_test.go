package task

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestDepTracker(t *testing.T) {
	d := NewDepTracker()
	type step struct {
		op    string // add, ready, fail, remove, forget
		arg   string
		deps  []string
		want  string // ready flag for add, task list for ready/fail, bool for remove
		isErr error
	}
	steps := []step{
		{op: "add", arg: "t0", deps: nil, want: "true"},
		{op: "add", arg: "t1", deps: []string{"o1", "o2", "o1"}, want: "false"},
		{op: "add", arg: "t2", deps: []string{"o2"}, want: "false"},
		{op: "add", arg: "t3", deps: []string{"o3"}, want: "false"},
		{op: "add", arg: "t4", deps: []string{"o2", "o3"}, want: "false"},
		{op: "add", arg: "t1", deps: []string{"o9"}, isErr: ErrDuplicateTask},
		{op: "missing", arg: "t1", want: "2"},
		{op: "ready", arg: "o1", want: "[]"},
		{op: "missing", arg: "t1", want: "1"},
		{op: "ready", arg: "o2", want: "[t1 t2]"}, // Add order, t4 still needs o3
		{op: "add", arg: "t5", deps: []string{"o1", "o2"}, want: "true"},
		{op: "fail", arg: "o3", want: "[t3 t4]"},
		{op: "add", arg: "t6", deps: []string{"o1", "o3"}, isErr: ErrDependencyFailed},
		{op: "forget", arg: "o3"},
		{op: "add", arg: "t6", deps: []string{"o3"}, want: "false"},
		{op: "add", arg: "t7", deps: []string{"o3", "o4"}, want: "false"},
		{op: "remove", arg: "t6", want: "true"},
		{op: "remove", arg: "t6", want: "false"},
		{op: "ready", arg: "o3", want: "[]"},
		{op: "ready", arg: "o4", want: "[t7]"},
		{op: "ready", arg: "o4", want: "[]"},
		{op: "waiting", want: "0"},
	}
	for i, s := range steps {
		var got string
		var err error
		switch s.op {
		case "add":
			var r bool
			r, err = d.Add(s.arg, s.deps)
			got = fmt.Sprint(r)
		case "ready":
			got = fmt.Sprint(d.ObjectReady(s.arg))
		case "fail":
			got = fmt.Sprint(d.ObjectFailed(s.arg, errObjLost))
		case "remove":
			got = fmt.Sprint(d.Remove(s.arg))
		case "forget":
			d.Forget(s.arg)
		case "missing":
			got = fmt.Sprint(d.Missing(s.arg))
		case "waiting":
			got = fmt.Sprint(d.Waiting())
		}
		if s.isErr != nil {
			if !errors.Is(err, s.isErr) {
				t.Fatalf("step %d %s(%s): err = %v, want %v", i, s.op, s.arg, err, s.isErr)
			}
			continue
		}
		if err != nil || got != s.want {
			t.Fatalf("step %d %s(%s) = %s, %v; want %s", i, s.op, s.arg, got, err, s.want)
		}
	}
}

func TestDepTrackerFailureCause(t *testing.T) {
	d := NewDepTracker()
	d.ObjectFailed("o", errObjLost)
	_, err := d.Add("t", []string{"o"})
	var de *DependencyError
	if !errors.As(err, &de) || de.Object != "o" || !errors.Is(err, errObjLost) || !errors.Is(err, ErrDependencyFailed) {
		t.Fatalf("err = %v", err)
	}
	if (&DependencyError{Object: "x"}).Error() != "dependency x failed" {
		t.Error("DependencyError without cause")
	}
	// A failed object that later becomes ready (reconstructed) is ready again.
	d.ObjectReady("o")
	if ok, err := d.Add("t", []string{"o"}); !ok || err != nil {
		t.Fatalf("after reconstruction: %v %v", ok, err)
	}
	// Removing a task unlinks it, so a later failure does not report it.
	d.Add("a", []string{"p", "q"})
	d.Remove("a")
	if got := d.ObjectFailed("q", errObjLost); len(got) != 0 {
		t.Fatalf("removed task reported: %v", got)
	}
	// A task failed through one object is not reported again by another.
	d.Add("b", []string{"r", "s"})
	if got := fmt.Sprint(d.ObjectFailed("r", errObjLost)); got != "[b]" {
		t.Fatal(got)
	}
	if got := d.ObjectReady("s"); len(got) != 0 {
		t.Fatalf("failed task became ready: %v", got)
	}
}

func TestPendingDemand(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := NewFakeClock(start)
	p := NewPendingDemand(clk, 10*time.Second)
	p.Wait("t1", cpu(4), "busy")
	clk.Advance(3 * time.Second)
	p.Wait("t2", cpu(4), "busy")
	p.Wait("t3", Resources{GPU: 1}, "no GPU free")
	clk.Advance(5 * time.Second)
	p.Wait("t1", cpu(4), "still busy") // refresh keeps the start time
	if got := p.Overdue(); len(got) != 0 {
		t.Fatalf("overdue after 8s: %+v", got)
	}
	clk.Advance(2 * time.Second) // t1 has waited 10s
	got := p.Overdue()
	if len(got) != 1 || got[0].ID != "t1" || got[0].Waited != 10*time.Second || got[0].Reason != "still busy" || !got[0].Since.Equal(start) {
		t.Fatalf("Overdue = %+v", got)
	}
	if again := p.Overdue(); len(again) != 0 {
		t.Fatalf("warned twice: %+v", again)
	}
	clk.Advance(5 * time.Second)
	if got := p.Overdue(); len(got) != 2 || got[0].ID != "t2" || got[1].ID != "t3" {
		t.Fatalf("Overdue = %+v, want t2 then t3", got)
	}
	snap := p.Snapshot()
	if len(snap) != 3 || snap[0].ID != "t1" || snap[0].Waited != 15*time.Second {
		t.Fatalf("Snapshot = %+v", snap)
	}
	sum := p.Summary()
	if len(sum) != 2 || !sum[0].Demand.Equal(cpu(4)) || sum[0].Count != 2 || sum[0].Oldest != 15*time.Second ||
		sum[1].Count != 1 || !sum[1].Demand.Equal(Resources{GPU: 1}) {
		t.Fatalf("Summary = %+v", sum)
	}
	if w, ok := p.Done("t1"); !ok || w != 15*time.Second {
		t.Fatalf("Done = %v %v", w, ok)
	}
	if _, ok := p.Done("t1"); ok {
		t.Fatal("Done twice")
	}
	if p.Len() != 2 {
		t.Fatalf("Len = %d", p.Len())
	}
	// Snapshots are copies.
	snap[1].Demand[CPU] = 99
	if p.Snapshot()[0].Demand[CPU] != 4 {
		t.Fatal("Snapshot shares demand maps")
	}
	if NewPendingDemand(clk, 0).warnAt != DefaultPendingWarning {
		t.Fatal("default warning timeout")
	}
}

func TestClocksAndRand(t *testing.T) {
	t0 := time.Unix(100, 0)
	c := NewFakeClock(t0)
	c.Advance(time.Minute)
	if !c.Now().Equal(t0.Add(time.Minute)) {
		t.Fatal("Advance")
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Fatal("Set")
	}
	if d := time.Since(SystemClock{}.Now()); d < 0 || d > time.Hour {
		t.Fatalf("SystemClock off by %v", d)
	}
	a, b := NewRand(5), NewRand(5)
	other := NewRand(6)
	same, diff := true, false
	for range 100 {
		x, y, z := a.Intn(1000), b.Intn(1000), other.Intn(1000)
		if x < 0 || x >= 1000 {
			t.Fatalf("Intn out of range: %d", x)
		}
		same = same && x == y
		diff = diff || x != z
	}
	if !same || !diff {
		t.Fatalf("NewRand not deterministic per seed (same=%v) or ignores the seed (diff=%v)", same, diff)
	}
}
