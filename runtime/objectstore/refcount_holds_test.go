package objectstore

import "testing"

func TestHolds(t *testing.T) {
	c := NewRefCounter()
	c.AddLocal(oid(1), "peer:a")
	c.AddLocal(oid(1), "peer:a")
	c.AddLocal(oid(1), "w")
	c.AddTaskArg(oid(2), "peer:a") // a task argument is not a local ref
	for _, tc := range []struct {
		id     ObjectID
		holder HolderID
		want   bool
	}{
		{oid(1), "peer:a", true},
		{oid(1), "w", true},
		{oid(1), "peer:b", false},
		{oid(2), "peer:a", false},
		{oid(3), "w", false},
	} {
		if got := c.Holds(tc.id, tc.holder); got != tc.want {
			t.Errorf("Holds(%v, %s) = %v, want %v", tc.id[0], tc.holder, got, tc.want)
		}
	}
	c.RemoveLocal(oid(1), "peer:a")
	if !c.Holds(oid(1), "peer:a") {
		t.Error("one of two refs removed: still held")
	}
	c.RemoveLocal(oid(1), "peer:a")
	if c.Holds(oid(1), "peer:a") || !c.Holds(oid(1), "w") {
		t.Error("after removing both: peer:a must not hold, w still must")
	}
}
