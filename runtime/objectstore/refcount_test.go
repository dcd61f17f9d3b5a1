package objectstore

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// oid makes a readable, ordered test ID: oid(1) < oid(2) < ...
func oid(n byte) ObjectID { return ObjectID{0: n} }

// step is one RefCounter call and the objects it must report freed (in order).
type step struct {
	op     string // addLocal, removeLocal, addArg, taskDone, contain, died, pin, unpin
	id     byte
	other  byte // inner object for contain
	holder HolderID
	freed  []byte
}

func (s step) run(c *RefCounter) []ObjectID {
	switch s.op {
	case "addLocal":
		c.AddLocal(oid(s.id), s.holder)
	case "removeLocal":
		return c.RemoveLocal(oid(s.id), s.holder)
	case "addArg":
		c.AddTaskArg(oid(s.id), s.holder)
	case "taskDone":
		return c.TaskDone(s.holder)
	case "contain":
		c.AddContained(oid(s.id), oid(s.other))
	case "died":
		return c.HolderDied(s.holder)
	case "pin":
		c.Pin(oid(s.id))
	case "unpin":
		return c.Unpin(oid(s.id))
	default:
		panic("unknown op " + s.op)
	}
	return nil
}

func TestRefCounter(t *testing.T) {
	tests := []struct {
		name   string
		steps  []step
		counts map[byte]int // Count after the last step
	}{
		{
			name: "local refs from two holders",
			steps: []step{
				{op: "addLocal", id: 1, holder: "driver"},
				{op: "addLocal", id: 1, holder: "worker"},
				{op: "removeLocal", id: 1, holder: "driver"},
				{op: "removeLocal", id: 1, holder: "worker", freed: []byte{1}},
			},
			counts: map[byte]int{1: 0},
		},
		{
			name: "double free is reported once",
			steps: []step{
				{op: "addLocal", id: 1, holder: "driver"},
				{op: "removeLocal", id: 1, holder: "driver", freed: []byte{1}},
				{op: "removeLocal", id: 1, holder: "driver"},
				{op: "unpin", id: 1},
				{op: "taskDone", holder: "t1"},
				{op: "died", holder: "driver"},
			},
		},
		{
			name: "one holder counts repeated refs",
			steps: []step{
				{op: "addLocal", id: 1, holder: "d"},
				{op: "addLocal", id: 1, holder: "d"},
				{op: "removeLocal", id: 1, holder: "d"},
			},
			counts: map[byte]int{1: 1},
		},
		{
			name: "removing someone else's ref is a no-op",
			steps: []step{
				{op: "addLocal", id: 1, holder: "a"},
				{op: "removeLocal", id: 1, holder: "b"},
			},
			counts: map[byte]int{1: 1},
		},
		{
			name: "pending task keeps its argument alive",
			steps: []step{
				{op: "addLocal", id: 1, holder: "driver"},
				{op: "addArg", id: 1, holder: "task1"},
				{op: "addArg", id: 1, holder: "task1"}, // passed twice
				{op: "addArg", id: 2, holder: "task1"},
				{op: "removeLocal", id: 1, holder: "driver"},
				{op: "taskDone", holder: "task1", freed: []byte{1, 2}},
				{op: "taskDone", holder: "task1"},
			},
			counts: map[byte]int{1: 0, 2: 0},
		},
		{
			name: "contained refs are released recursively",
			steps: []step{
				// 1 contains 2, 2 contains 3; 3 also contained in 4.
				{op: "addLocal", id: 1, holder: "d"},
				{op: "contain", id: 1, other: 2},
				{op: "contain", id: 2, other: 3},
				{op: "contain", id: 4, other: 3},
				{op: "addLocal", id: 4, holder: "d"},
				{op: "removeLocal", id: 1, holder: "d", freed: []byte{1, 2}},
				{op: "removeLocal", id: 4, holder: "d", freed: []byte{3, 4}},
			},
			counts: map[byte]int{1: 0, 2: 0, 3: 0, 4: 0},
		},
		{
			name: "inner with its own ref outlives outer",
			steps: []step{
				{op: "addLocal", id: 1, holder: "d"},
				{op: "addLocal", id: 2, holder: "w"},
				{op: "contain", id: 1, other: 2},
				{op: "removeLocal", id: 1, holder: "d", freed: []byte{1}},
				{op: "removeLocal", id: 2, holder: "w", freed: []byte{2}},
			},
		},
		{
			name: "holder death releases its local and task refs",
			steps: []step{
				{op: "addLocal", id: 3, holder: "w1"},
				{op: "addLocal", id: 1, holder: "w1"},
				{op: "addLocal", id: 1, holder: "w1"},
				{op: "addLocal", id: 2, holder: "w1"},
				{op: "addLocal", id: 2, holder: "w2"},
				{op: "addArg", id: 4, holder: "w1"},
				{op: "contain", id: 3, other: 5},
				{op: "died", holder: "w1", freed: []byte{1, 3, 4, 5}},
				{op: "died", holder: "w1"},
			},
			counts: map[byte]int{2: 1},
		},
		{
			name: "pin outlives every other ref",
			steps: []step{
				{op: "addLocal", id: 1, holder: "d"},
				{op: "pin", id: 1},
				{op: "died", holder: "d"},
				{op: "unpin", id: 1, freed: []byte{1}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewRefCounter()
			seen := map[ObjectID]bool{}
			for i, s := range tt.steps {
				got := s.run(c)
				var want []ObjectID
				for _, b := range s.freed {
					want = append(want, oid(b))
				}
				if !slices.Equal(got, want) {
					t.Fatalf("step %d %+v: freed %v; want %v", i, s, got, want)
				}
				for _, id := range got {
					if seen[id] {
						t.Fatalf("step %d: %v freed twice", i, id)
					}
					seen[id] = true
				}
			}
			for id, want := range tt.counts {
				if got := c.Count(oid(id)); got != want {
					t.Errorf("Count(%d) = %d; want %d", id, got, want)
				}
			}
		})
	}
}

func TestRefCounterOwners(t *testing.T) {
	c := NewRefCounter()
	c.SetOwner(oid(2), "w1")
	c.SetOwner(oid(1), "w1")
	c.SetOwner(oid(3), "w2")
	c.AddLocal(oid(1), "d")
	c.AddLocal(oid(2), "d")
	if got, want := c.OwnedBy("w1"), []ObjectID{oid(1), oid(2)}; !slices.Equal(got, want) {
		t.Fatalf("OwnedBy(w1) = %v; want %v", got, want)
	}
	if h, ok := c.Owner(oid(3)); !ok || h != "w2" {
		t.Fatalf("Owner(3) = %q, %v", h, ok)
	}
	if _, ok := c.Owner(oid(9)); ok {
		t.Fatal("Owner of an unknown object")
	}
	// The owner dying frees nothing by itself: borrowers still hold refs.
	if freed := c.HolderDied("w1"); len(freed) != 0 {
		t.Fatalf("owner death freed %v", freed)
	}
	c.SetOwner(oid(2), "w3") // ownership moves
	if got := c.OwnedBy("w1"); !slices.Equal(got, []ObjectID{oid(1)}) {
		t.Fatalf("OwnedBy(w1) after move = %v", got)
	}
	// Freeing forgets the owner too.
	if freed := c.RemoveLocal(oid(1), "d"); !slices.Equal(freed, []ObjectID{oid(1)}) {
		t.Fatalf("freed %v", freed)
	}
	if got := c.OwnedBy("w1"); len(got) != 0 {
		t.Fatalf("OwnedBy(w1) after free = %v", got)
	}
	if _, ok := c.Owner(oid(1)); ok {
		t.Fatal("a freed object still has an owner")
	}
}

// TestRefCounterDeepNesting: a long containment chain frees iteratively, all at once.
func TestRefCounterDeepNesting(t *testing.T) {
	c := NewRefCounter()
	const n = 100000
	id := func(i int) ObjectID { return ObjectID{byte(i >> 16), byte(i >> 8), byte(i)} }
	c.AddLocal(id(0), "d")
	for i := 0; i+1 < n; i++ {
		c.AddContained(id(i), id(i+1))
	}
	freed := c.RemoveLocal(id(0), "d")
	if len(freed) != n {
		t.Fatalf("freed %d objects; want %d", len(freed), n)
	}
	if !slices.IsSortedFunc(freed, compareIDs) {
		t.Fatal("freed IDs not sorted")
	}
}

// TestRefCounterConcurrent: many holders adding and dropping refs concurrently free every
// object exactly once (run with -race).
func TestRefCounterConcurrent(t *testing.T) {
	c := NewRefCounter()
	const objects, holders = 200, 8
	for i := range objects {
		for h := range holders {
			c.AddLocal(ObjectID{byte(i), byte(i >> 8)}, HolderID(fmt.Sprint(h)))
		}
	}
	var mu sync.Mutex
	counts := map[ObjectID]int{}
	var wg sync.WaitGroup
	for h := range holders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range objects {
				freed := c.RemoveLocal(ObjectID{byte(i), byte(i >> 8)}, HolderID(fmt.Sprint(h)))
				mu.Lock()
				for _, id := range freed {
					counts[id]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(counts) != objects {
		t.Fatalf("%d objects freed; want %d", len(counts), objects)
	}
	for id, n := range counts {
		if n != 1 {
			t.Fatalf("%v freed %d times", id, n)
		}
	}
}
