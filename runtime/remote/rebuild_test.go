package remote_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/goray/goray"
	grt "github.com/goray/goray/runtime"
)

// A third node fetches a located object whose only copy is on a node that
// was cut off, before the owner learned of it (nobody is told: the
// membership is static): every peer says no or cannot be reached, so C
// asks the owner A, which finds the copy gone, rebuilds the object from
// its lineage, and answers; C then gets A's copy instead of
// ErrKindObjectLost.
func TestFetchWaitsForTheOwnersRebuild(t *testing.T) {
	tr := newTrio(t)
	ctx := tr.ctx
	const size = 1 << 20
	ref := blob.Options(goray.Strategy(goray.NodeAffinity(tr.idB, true)), goray.MaxRetries(3)).Remote(ctx, size)
	oid := grt.ObjectID(ref.ID())
	if grt.OwnerPrefix(oid) != grt.NodePrefix(tr.idA) {
		t.Fatalf("the result's ID %s is not owned by A", oid)
	}
	// A Wait does not pull a located result: its only copy stays on B.
	if _, _, err := goray.Wait(ctx, []goray.ObjectRef[[]byte]{ref}, 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if !tr.b.Store().Contains(oid) {
		t.Fatal("the result is not on B")
	}
	if tr.a.Store().Contains(oid) {
		t.Fatal("A has the result already")
	}
	// Cut B off: its copy is gone for everyone, who still list it alive.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_ = tr.rpcs[1].Close(cctx)
	cancel()
	gctx, gcancel := context.WithTimeout(ctx, 90*time.Second)
	defer gcancel()
	vals, err := tr.c.LocalClient().Get(gctx, []grt.ObjectID{oid})
	if err != nil {
		t.Fatalf("get on C: %v", err)
	}
	defer vals[0].Release()
	if vals[0].Err != nil {
		t.Fatalf("get on C: %v (%s)", vals[0].Err.Kind, vals[0].Err.Message)
	}
	// The value's encoding wraps the bytes; they are all 7 and at least
	// size of them.
	if n := bytes.Count(vals[0].Data, []byte{7}); n < size {
		t.Fatalf("C got %d bytes with %d of them 7, want the rebuilt %d", len(vals[0].Data), n, size)
	}
	if !tr.a.Store().Contains(oid) && len(tr.a.ObjectCopies(oid)) == 0 {
		t.Error("A did not get the object back before C fetched it")
	}
}

// An object its live owner does not know (never made, or freed) still
// fails with ErrKindObjectLost once the owner says so, without waiting for
// the inactivity limit.
func TestFetchOfAnObjectTheOwnerDoesNotKnowFails(t *testing.T) {
	p := newPair(t)
	var id grt.ObjectID
	p4 := grt.NodePrefix(p.idA)
	copy(id[:], p4[:])
	for i := 4; i < len(id); i++ {
		id[i] = byte(i)
	}
	start := time.Now()
	gctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	vals, err := p.b.LocalClient().Get(gctx, []grt.ObjectID{id})
	if err != nil {
		t.Fatalf("get on B: %v", err)
	}
	defer vals[0].Release()
	if vals[0].Err == nil || vals[0].Err.Kind != grt.ErrKindObjectLost {
		t.Fatalf("get on B: %+v, want ErrKindObjectLost", vals[0].Err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the fetch took %v to fail", d)
	}
}
