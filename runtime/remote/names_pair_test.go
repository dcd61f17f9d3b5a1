package remote_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/testutil"
	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/remote"
)

// pairName picks a name whose directory owner on the pair is owner.
func pairName(tb testing.TB, p *pair, prefix, owner string) string {
	tb.Helper()
	ids := []string{p.idA, p.idB}
	for i := range 10000 {
		n := fmt.Sprintf("%s-%d", prefix, i)
		if cluster.Owner(remote.NameKey(n), ids) == owner {
			return n
		}
	}
	tb.Fatalf("no name owned by %s", owner)
	return ""
}

// hasRecord reports whether e keeps a record of name for actor id.
func hasRecord(e *remote.Engine, name string, id grt.ActorID) (grt.NameRecord, bool) {
	for _, r := range e.NameRecords() {
		if r.Name == name && r.Actor == id {
			return r, true
		}
	}
	return grt.NameRecord{}, false
}

// On a pair of nodes over a real transport, a name's record lives on its
// owner node whichever node created the actor; the other node's creation
// of the same name fails with ErrActorExists; a lookup from the node that
// neither owns nor hosts the name is answered by the owner; and a kill
// releases the record.
func TestNameRecordsLiveOnTheOwner(t *testing.T) {
	p := newPair(t)
	ctx := p.ctx
	// Created by B's client, owned by A.
	name := pairName(t, p, "on-a", p.idA)
	onB := grt.Strategy{Kind: grt.StrategyNodeAffinity, Node: p.idB}
	id, err := p.b.LocalClient().CreateActor(ctx, &grt.TaskSpec{Kind: grt.KindActorCreate, Func: "remote_test.tally",
		Name: name, MaxConcurrency: 1, Strategy: onB})
	if err != nil {
		t.Fatal(err)
	}
	r, ok := hasRecord(p.ea, name, id)
	if !ok || r.Owner != p.idB || r.Node != p.idB || r.Class != "remote_test.tally" {
		t.Fatalf("A's records %+v: want %s held by B's actor %s", p.ea.NameRecords(), name, id)
	}
	if len(p.eb.NameRecords()) != 0 {
		t.Fatalf("B keeps records of names it does not own: %+v", p.eb.NameRecords())
	}
	if _, err := tallyClass.Options(goray.Name(name)).Remote(ctx); !errors.Is(err, goray.ErrActorExists) {
		t.Fatalf("A's creation of B's name: %v, want ErrActorExists", err)
	}
	h, err := goray.GetActor[tally](ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := goray.Call[string](ctx, h, "Add", 2).Get(ctx); err != nil || got != "2@"+p.idB {
		t.Fatalf("call through A: %q, %v", got, err)
	}
	// Created by A's driver on A, owned by A: B (which neither owns nor
	// hosts it) asks A.
	name2 := pairName(t, p, "also-a", p.idA)
	h2, err := tallyClass.Options(goray.Name(name2), goray.Strategy(goray.NodeAffinity(p.idA, false))).Remote(ctx)
	if err != nil {
		t.Fatal(err)
	}
	info, err := p.b.LocalClient().GetNamedActor(ctx, name2)
	if err != nil || info.Class != "remote_test.tally" {
		t.Fatalf("B's lookup of A's actor: %+v, %v", info, err)
	}
	if err := goray.Kill(ctx, h2, true); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() bool { _, ok := hasRecord(p.ea, name2, info.ID); return !ok }, "the killed actor's record released")
	if _, err := p.b.LocalClient().GetNamedActor(ctx, name2); err == nil {
		t.Fatal("B still finds the killed actor's name")
	}
	if err := goray.Kill(ctx, h, true); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() bool { _, ok := hasRecord(p.ea, name, id); return !ok }, "B's killed actor's record released at A")
}

// BenchmarkGetActorThroughTheOwner: GetActor on a node that neither owns
// nor hosts the name, answered by the owner over the transport (one
// round trip).
//
//	go test -run '^$' -bench GetActorThroughTheOwner ./runtime/remote/
func BenchmarkGetActorThroughTheOwner(b *testing.B) {
	p := newPair(b)
	ctx := p.ctx
	name := pairName(b, p, "bench", p.idA)
	if _, err := tallyClass.Options(goray.Name(name), goray.Strategy(goray.NodeAffinity(p.idA, false))).Remote(ctx); err != nil {
		b.Fatal(err)
	}
	c := p.b.LocalClient()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.GetNamedActor(ctx, name); err != nil {
			b.Fatal(err)
		}
	}
}

// An actor that dies for good on the node hosting it (not through its
// creator) frees its name: the host releases it, and the name's owner
// tells the creator, whose proxy dies too instead of announcing the name
// again; the creator can then take the name anew.
func TestNamedActorDeadOnItsHostFreesTheName(t *testing.T) {
	p := newPair(t)
	ctx := p.ctx
	for _, owner := range []string{p.idA, p.idB} {
		name := pairName(t, p, "hosted", owner)
		onA := grt.Strategy{Kind: grt.StrategyNodeAffinity, Node: p.idA}
		spec := func() *grt.TaskSpec {
			return &grt.TaskSpec{Kind: grt.KindActorCreate, Func: "remote_test.tally", Name: name, MaxConcurrency: 1, Strategy: onA}
		}
		bc := p.b.LocalClient()
		id, err := bc.CreateActor(ctx, spec())
		if err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, 10*time.Second, func() bool { return p.a.HasActor(id) }, "the actor running on A")
		if _, ok := hasRecord(p.ea, name, id); ok != (owner == p.idA) {
			t.Fatalf("owner %s: A's records %+v", owner, p.ea.NameRecords())
		}
		if err := p.a.KillActor(id, true, "test: died on its host"); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, 10*time.Second, func() bool {
			for _, r := range p.b.NameRecords() {
				if r.Actor == id {
					return false
				}
			}
			return true
		}, "the creator B stops announcing the dead actor's name")
		testutil.WaitFor(t, 10*time.Second, func() bool {
			_, errA := p.a.LocalClient().GetNamedActor(ctx, name)
			_, errB := bc.GetNamedActor(ctx, name)
			return errA != nil && errB != nil
		}, "the name not found anywhere")
		if _, err := bc.CreateActor(ctx, spec()); err != nil {
			t.Fatalf("owner %s: creating the freed name again: %v", owner, err)
		}
	}
}
