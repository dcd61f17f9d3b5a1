package task

import (
	"strconv"
	"testing"
)

// BenchmarkTaskLifecycle is the per-task state-machine cost on the
// submission path: create, args ready, scheduled, started, succeeded.
func BenchmarkTaskLifecycle(b *testing.B) {
	spec := DefaultTaskSpec("t", "f")
	b.ReportAllocs()
	for b.Loop() {
		m := NewTaskMachine(spec)
		for _, ev := range [...]Event{ArgsReady(), Scheduled("n"), Started("w"), Succeeded()} {
			if _, err := m.Apply(ev); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDepTracker adds a task with two missing arguments and makes
// them ready, the path of a task that consumes two earlier results.
func BenchmarkDepTracker(b *testing.B) {
	d := NewDepTracker()
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = "o" + strconv.Itoa(i)
	}
	deps := make([]string, 2)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		deps[0], deps[1] = ids[i%1024], ids[(i+1)%1024]
		if _, err := d.Add("t", deps); err != nil {
			b.Fatal(err)
		}
		d.ObjectReady(deps[0])
		if got := d.ObjectReady(deps[1]); len(got) != 1 {
			b.Fatalf("ready = %v", got)
		}
		d.Forget(deps[0])
		d.Forget(deps[1])
		i += 2
	}
}

// BenchmarkCallSequencer delivers and completes in-order calls from one caller.
func BenchmarkCallSequencer(b *testing.B) {
	s := NewCallSequencer(0)
	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		got, err := s.Arrive(Call{Caller: "c", Seq: seq})
		if err != nil || len(got) != 1 {
			b.Fatal(err)
		}
		if err := s.Complete("c", seq); err != nil {
			b.Fatal(err)
		}
		seq++
	}
}
