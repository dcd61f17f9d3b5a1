package remote_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/testutil"
	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/codec"
)

// bigWithRef is a result too large to travel inline (so it stays on the
// node that made it) with a ref nested in it.
type bigWithRef struct {
	Pad []byte
	Ref goray.ObjectRef[[]byte]
}

// putBigNested puts n bytes of 7 and returns the ref nested in a value of
// pad bytes more; the worker's own ref goes when its GC collects it.
var putBigNested = goray.Register[bigWithRef]("remote_test.putBigNested", func(ctx context.Context, n, pad int) (bigWithRef, error) {
	ref, err := goray.Put(ctx, bytes.Repeat([]byte{7}, n))
	return bigWithRef{Pad: make([]byte, pad), Ref: ref}, err
})

// A large result that stays on B (located) and contains a ref B owns:
// when A pulls its bytes, A counts the nested ref inside the pulled
// object and registers as its borrower at B before B drops the in-flight
// hold it took when serving the bytes; so B keeps the nested object while
// A holds the result, even after A freed the result's copy on B, and
// frees it once A releases the result.
func TestNestedRefOfAPulledResultIsBorrowed(t *testing.T) {
	p := newPair(t)
	ctx := p.ctx
	onB := goray.Strategy(goray.NodeAffinity(p.idB, false))
	const size, pad = 1 << 20, 300 << 10
	outer := putBigNested.Options(onB).Remote(ctx, size, pad)
	oid := grt.ObjectID(outer.ID())
	// The raw Get pulls the bytes without decoding them, so no client
	// counts the nested ref: only the pull can.
	vals, err := p.a.LocalClient().Get(ctx, []grt.ObjectID{oid})
	if err != nil || vals[0].Err != nil {
		t.Fatalf("get the result: %v %v", err, vals[0].Err)
	}
	refs := codec.ScanRefs(vals[0].Data)
	vals[0].Release()
	if len(refs) != 1 {
		t.Fatalf("the result holds %d refs, want 1", len(refs))
	}
	id := grt.ObjectID(refs[0])
	if grt.OwnerPrefix(id) != grt.NodePrefix(p.idB) {
		t.Fatalf("the nested ID %s is not owned by B", id)
	}
	if !slices.Contains(p.b.ObjectCopies(oid), p.idA) {
		t.Fatal("A did not pull the result from B")
	}
	if n := p.a.ObjectRefCount(id); n != 1 {
		t.Errorf("A counts the nested ref %d times, want 1 (inside the pulled result)", n)
	}
	testutil.WaitFor(t, 10*time.Second, func() bool { return slices.Equal(p.b.Borrowers(id), []string{p.idA}) },
		"A registered as a borrower of the nested object at B")
	// B's worker's own ref goes with its GC; then B counts the nested ref
	// inside its kept result and for A's borrow, and no in-flight hold.
	testutil.WaitFor(t, 30*time.Second, func() bool {
		if _, err := collect.Options(onB).Remote(ctx).Get(ctx); err != nil {
			t.Fatalf("collect: %v", err)
		}
		return p.b.ObjectRefCount(id) == 2
	}, "B counts the nested object for its result and A's borrow only")
	// A frees the result: its copy on B and B's own count of the nested
	// ref inside it go, and A's borrow ends, so B frees the nested object.
	outer.Release()
	testutil.WaitFor(t, 20*time.Second, func() bool { return !p.b.Store().Contains(id) && p.b.ObjectRefCount(id) == 0 },
		"B freed the nested object after A released the result")
	if n := p.a.ObjectRefCount(id); n != 0 {
		t.Errorf("A still counts the nested ref %d times", n)
	}
}
