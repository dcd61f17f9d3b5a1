package runtime

import (
	"testing"
	"time"
)

// runForwardedActor creates an actor here as if peer had forwarded its
// creation, and waits for the creation's outcome.
func runForwardedActor(t *testing.T, n *Node, peer string, spec *TaskSpec) {
	t.Helper()
	done := make(chan *ErrorInfo, 1)
	n.RunForwardedFor(peer, spec, "", func(_ []ForwardResult, e *ErrorInfo) { done <- e })
	select {
	case e := <-done:
		if e != nil {
			t.Fatalf("create %s forwarded by %s: %v", spec.Name, peer, e)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("create %s forwarded by %s: no outcome in 10s", spec.Name, peer)
	}
}

// When the node that created actors living here dies, the non-detached
// ones die with it (CreatorNodeGone), releasing their names, and the
// detached ones live on; this
// node adopts a detached actor's name (AdoptName): it announces it as
// its own, with the original creation time, and releases it when the
// actor dies for good.
func TestCreatorNodeGoneKillsAttachedAndAdoptsDetached(t *testing.T) {
	n, fc, ctx := startFakeClustered(t)
	c := n.LocalClient()
	mk := func(id byte, name string, detached bool) *TaskSpec {
		return &TaskSpec{ID: actorN(id), Kind: KindActorCreate, Func: "A", MaxConcurrency: 1, Name: name, Detached: detached}
	}
	runForwardedActor(t, n, "creator", mk(1, "keep", true))
	runForwardedActor(t, n, "creator", mk(2, "fate", false))
	runForwardedActor(t, n, "bystander", mk(3, "other", false))
	// The creator reserved "keep" in the directory before forwarding it.
	created := NameRecord{Name: "keep", Actor: actorN(1), Class: "A", Owner: "creator", Node: n.ID(), Created: 42, Detached: true}
	if _, err := fakeDir(fc).Reserve(created); err != nil {
		t.Fatal(err)
	}
	// And "fate", whose record the directories keep while this host
	// checks the creator: the kill must release it.
	if _, err := fakeDir(fc).Reserve(NameRecord{Name: "fate", Actor: actorN(2), Class: "A", Owner: "creator", Node: n.ID(), Created: 43}); err != nil {
		t.Fatal(err)
	}
	if len(n.NameRecords()) != 0 {
		t.Fatalf("a host announces names before adopting any: %+v", n.NameRecords())
	}

	if got := n.CreatorNodeGone("nobody"); len(got) != 0 {
		t.Fatalf("CreatorNodeGone of a node that created nothing here killed %+v", got)
	}
	killed := n.CreatorNodeGone("creator")
	wantKilled := NameRecord{Name: "fate", Actor: actorN(2), Class: "A", Owner: "creator", Node: n.ID()}
	if len(killed) != 1 || killed[0] != wantKilled {
		t.Fatalf("CreatorNodeGone killed %+v, want [%+v], the one non-detached actor", killed, wantKilled)
	}
	if again := n.CreatorNodeGone("creator"); len(again) != 0 {
		t.Fatalf("a second CreatorNodeGone killed %+v again", again)
	}
	if _, _, ok := n.NamedActor("fate"); ok {
		t.Fatal("the non-detached actor outlived its creator's node")
	}
	if r, ok := fakeDir(fc).Lookup("fate"); ok {
		t.Fatalf("the name of the actor killed with its creator's node is still taken: %+v", r)
	}
	for _, name := range []string{"keep", "other"} {
		if _, _, ok := n.NamedActor(name); !ok {
			t.Fatalf("actor %q died with another node's creator", name)
		}
	}

	for _, tc := range []struct {
		what string
		rec  NameRecord
	}{
		{"an unknown actor", NameRecord{Name: "keep", Actor: actorN(9), Owner: "creator", Created: 42, Detached: true}},
		{"another name", NameRecord{Name: "nope", Actor: actorN(1), Owner: "creator", Created: 42, Detached: true}},
		{"a dead actor", NameRecord{Name: "fate", Actor: actorN(2), Owner: "creator", Created: 42}},
		{"a non-detached actor", NameRecord{Name: "other", Actor: actorN(3), Owner: "bystander", Created: 42}},
		{"no creation time", NameRecord{Name: "keep", Actor: actorN(1), Owner: "creator", Detached: true}},
	} {
		if n.AdoptName(tc.rec) {
			t.Errorf("AdoptName adopted %s: %+v", tc.what, tc.rec)
		}
	}
	if !n.AdoptName(created) {
		t.Fatal("AdoptName refused the detached actor living here")
	}
	if n.AdoptName(created) {
		t.Fatal("AdoptName adopted the same name twice")
	}
	recs := n.NameRecords()
	want := NameRecord{Name: "keep", Actor: actorN(1), Class: "A", Owner: n.ID(), Node: n.ID(), Created: 42, Detached: true}
	if len(recs) != 1 || recs[0] != want {
		t.Fatalf("NameRecords after the adoption = %+v, want [%+v]", recs, want)
	}
	// Killed for good: this node, the registrant now, releases the name.
	if err := c.KillActor(ctx, actorN(1), true); err != nil {
		t.Fatal(err)
	}
	if r, ok := fakeDir(fc).Lookup("keep"); ok {
		t.Fatalf("the adopted actor's name outlived it: %+v", r)
	}
	if len(n.NameRecords()) != 0 {
		t.Fatalf("NameRecords after the kill = %+v", n.NameRecords())
	}
}

// DropGone keeps the record of an actor that lives on a live host,
// detached or not, so that the name resolves and stays taken until the
// host adopts it or, having checked that the creator is really gone,
// kills the actor and releases it; it drops everything else that died
// with the node.
func TestNameDirectoryDropGoneKeepsLiveHostsRecords(t *testing.T) {
	live := func(node string) bool { return node == "host" || node == "other" }
	for _, tc := range []struct {
		what string
		rec  NameRecord
		gone string
		keep bool
	}{
		{"a non-detached record whose actor lives on a live host", NameRecord{Owner: "gone", Node: "host"}, "gone", true},
		{"a detached record whose actor lives on a live host", NameRecord{Owner: "gone", Node: "host", Detached: true}, "gone", true},
		{"a detached record whose actor lived on the gone node", NameRecord{Owner: "gone", Node: "gone", Detached: true}, "gone", false},
		{"a non-detached record whose actor lived on the gone node", NameRecord{Owner: "gone", Node: "gone"}, "gone", false},
		{"a detached record whose host is not live", NameRecord{Owner: "gone", Node: "dead", Detached: true}, "gone", false},
		{"a non-detached record whose host is not live", NameRecord{Owner: "gone", Node: "dead"}, "gone", false},
		{"a detached record being placed again (no node)", NameRecord{Owner: "gone", Detached: true}, "gone", false},
		{"a non-detached record being placed again (no node)", NameRecord{Owner: "gone"}, "gone", false},
		{"a record of a live node", NameRecord{Owner: "other", Node: "host"}, "gone", true},
		{"a kept detached record whose host died too", NameRecord{Owner: "dead", Node: "gone", Detached: true}, "gone", false},
		{"a kept non-detached record whose host died too", NameRecord{Owner: "dead", Node: "gone"}, "gone", false},
		{"a detached record of a live creator whose host died", NameRecord{Owner: "other", Node: "gone", Detached: true}, "gone", true},
		{"a non-detached record of a live creator whose host died", NameRecord{Owner: "other", Node: "gone"}, "gone", true},
	} {
		t.Run(tc.what, func(t *testing.T) {
			d := NewNameDirectory()
			rec := tc.rec
			rec.Name, rec.Actor = "n", actorN(1)
			d.Announce(rec)
			want := 1
			if tc.keep {
				want = 0
			}
			if got := d.DropGone(tc.gone, live); got != want {
				t.Fatalf("DropGone dropped %d, want %d", got, want)
			}
			if _, ok := d.Lookup("n"); ok != tc.keep {
				t.Fatalf("record kept = %v, want %v", ok, tc.keep)
			}
		})
	}
}
