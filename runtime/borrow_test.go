package runtime

import (
	"context"
	"slices"
	"testing"

	"github.com/goray/goray/runtime/codec"
)

func TestScanRefs(t *testing.T) {
	a, b := ObjectID{1, 2, 3}, ObjectID{4, 5, 6}
	gob := func(ids ...ObjectID) []byte {
		v := []byte{byte(codec.KindGob), 'x'}
		for _, id := range ids {
			v = codec.AppendRef(v, id)
			v = append(v, "pad"...)
		}
		return v
	}
	fastWithMarker := append([]byte{byte(codec.KindBytes)}, codec.AppendRef(nil, a)...)
	for _, tc := range []struct {
		name   string
		values [][]byte
		want   []ObjectID
	}{
		{"none", nil, nil},
		{"empty value", [][]byte{{}}, nil},
		{"one gob value", [][]byte{gob(a, b)}, []ObjectID{a, b}},
		{"duplicates across values", [][]byte{gob(a), gob(b, a)}, []ObjectID{a, b}},
		{"raw bytes are not scanned", [][]byte{fastWithMarker}, nil},
		{"truncated ref", [][]byte{gob(a)[:12]}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := scanRefs(tc.values...); !slices.Equal(got, tc.want) {
				t.Fatalf("scanRefs = %v, want %v", got, tc.want)
			}
		})
	}
	spec := &TaskSpec{Args: []Arg{{Data: gob(b)}, {IsRef: true, Ref: a}}}
	if got := argRefs(spec); !slices.Equal(got, []ObjectID{b}) {
		t.Fatalf("argRefs = %v, want only the nested %v", got, b)
	}
}

// The owner's side: a borrower's hold keeps an object after its creator
// dropped it, registering twice holds once, and the object goes when the
// borrower releases it or is gone.
func TestOwnerHoldsForBorrowers(t *testing.T) {
	n, c := startNode(t, NodeConfig{})
	ctx := context.Background()
	put := func() ObjectID {
		e, err := codec.Encode("value")
		if err != nil {
			t.Fatal(err)
		}
		id, err := c.Put(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	x, y := put(), put()
	n.AddBorrower("peerA", []ObjectID{x})
	n.AddBorrower("peerA", []ObjectID{x}) // idempotent
	n.AddBorrower("peerB", []ObjectID{y})
	if got := n.Borrowers(x); !slices.Equal(got, []string{"peerA"}) {
		t.Fatalf("borrowers of x: %v", got)
	}
	if got := n.ObjectRefCount(x); got != 2 {
		t.Fatalf("x counted %d times, want the put's ref and one borrow", got)
	}
	c.RemoveLocalRef(x)
	c.RemoveLocalRef(y)
	if n.ObjectRefCount(x) != 1 || n.ObjectRefCount(y) != 1 {
		t.Fatalf("after the creator dropped them: x %d, y %d refs; want the borrows", n.ObjectRefCount(x), n.ObjectRefCount(y))
	}
	before := n.NumObjects()
	n.Unborrowed("peerA", []ObjectID{x}, true)  // no in-flight hold: no-op
	n.Unborrowed("peerB", []ObjectID{x}, false) // not its borrow: no-op
	if n.ObjectRefCount(x) != 1 || n.NumObjects() != before {
		t.Fatal("a release of holds that do not exist freed x")
	}
	n.Unborrowed("peerA", []ObjectID{x}, false)
	if n.ObjectRefCount(x) != 0 || n.NumObjects() != before-1 {
		t.Fatalf("x not freed after its borrower released it (%d refs)", n.ObjectRefCount(x))
	}
	n.mu.Lock()
	n.borrowPeerGoneLocked("peerB")
	n.mu.Unlock()
	if n.ObjectRefCount(y) != 0 || n.NumObjects() != before-2 || len(n.Borrowers(y)) != 0 {
		t.Fatal("y not freed after its borrower died")
	}
	n.AddBorrower("peerA", []ObjectID{x}) // freed: nothing to hold
	if n.ObjectRefCount(x) != 0 {
		t.Fatal("a late registration revived a freed object")
	}
}
