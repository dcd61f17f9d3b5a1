package runtime

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/runtime/cluster"
)

// fakeDirs gives each test fake (fakeCluster, peerHooks) its own name
// directory, since their structs are shared with other tests' files.
var fakeDirs sync.Map // fake pointer → *NameDirectory

func fakeDir(key any) *NameDirectory {
	d, _ := fakeDirs.LoadOrStore(key, NewNameDirectory())
	return d.(*NameDirectory)
}

func (f *fakeCluster) ReserveName(_ context.Context, rec NameRecord, done func(NameRecord, error)) {
	holder, err := fakeDir(f).Reserve(rec)
	go done(holder, err)
}
func (f *fakeCluster) AnnounceName(_ context.Context, rec NameRecord) { fakeDir(f).Announce(rec) }
func (f *fakeCluster) ReleaseName(_ context.Context, rec NameRecord) {
	fakeDir(f).Release(rec.Name, rec.Actor)
}

func (h *peerHooks) ReserveName(_ context.Context, rec NameRecord, done func(NameRecord, error)) {
	holder, err := fakeDir(h).Reserve(rec)
	go done(holder, err)
}
func (h *peerHooks) AnnounceName(_ context.Context, rec NameRecord) { fakeDir(h).Announce(rec) }
func (h *peerHooks) ReleaseName(_ context.Context, rec NameRecord) {
	fakeDir(h).Release(rec.Name, rec.Actor)
}

func actorN(i byte) ActorID { return ActorID{i} }

func isKind(err error, k ErrKind) bool {
	var ei *ErrorInfo
	return errors.As(err, &ei) && ei.Kind == k
}

func TestNameRecordWins(t *testing.T) {
	base := NameRecord{Name: "x", Actor: actorN(5), Owner: "m", Created: 100}
	cases := []struct {
		name  string
		other NameRecord
		want  bool // base wins
	}{
		{"older wins", NameRecord{Name: "x", Actor: actorN(1), Owner: "a", Created: 200}, true},
		{"newer loses", NameRecord{Name: "x", Actor: actorN(9), Owner: "z", Created: 50}, false},
		{"tie: lower owner wins", NameRecord{Name: "x", Actor: actorN(1), Owner: "n", Created: 100}, true},
		{"tie: higher owner loses", NameRecord{Name: "x", Actor: actorN(9), Owner: "a", Created: 100}, false},
		{"tie on owner: lower actor wins", NameRecord{Name: "x", Actor: actorN(6), Owner: "m", Created: 100}, true},
		{"tie on owner: higher actor loses", NameRecord{Name: "x", Actor: actorN(4), Owner: "m", Created: 100}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := base.Wins(c.other); got != c.want {
				t.Errorf("Wins = %v, want %v", got, c.want)
			}
			// Exactly one of two distinct records wins: every directory
			// resolves a duplicate the same way.
			if base.Wins(c.other) == c.other.Wins(base) {
				t.Errorf("both or neither win: %v vs %v", base, c.other)
			}
		})
	}
}

func TestNameDirectoryReserveAndRelease(t *testing.T) {
	d := NewNameDirectory()
	a := NameRecord{Name: "counter", Actor: actorN(1), Class: "C", Owner: "n1", Node: "n1", Created: 10}
	b := NameRecord{Name: "counter", Actor: actorN(2), Class: "C", Owner: "n2", Node: "n2", Created: 5}
	steps := []struct {
		what    string
		do      func() error
		wantErr error
		holder  ActorID // after the step; zero: free
	}{
		{"reserve a free name", func() error { _, err := d.Reserve(a); return err }, nil, a.Actor},
		{"another actor is refused even if older", func() error { _, err := d.Reserve(b); return err }, ErrNameTaken, a.Actor},
		{"the same actor again refreshes", func() error {
			moved := a
			moved.Node, moved.Created = "n3", 99
			_, err := d.Reserve(moved)
			return err
		}, nil, a.Actor},
		{"release by another actor is ignored", func() error {
			if _, ok := d.Release("counter", b.Actor); ok {
				return errors.New("released for the wrong actor")
			}
			return nil
		}, nil, a.Actor},
		{"release by the holder frees it", func() error {
			if r, ok := d.Release("counter", a.Actor); !ok || r.Owner != "n1" {
				return errors.New("holder's release refused")
			}
			return nil
		}, nil, ActorID{}},
		{"then another actor gets it", func() error { _, err := d.Reserve(b); return err }, nil, b.Actor},
	}
	for _, s := range steps {
		err := s.do()
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
			t.Fatalf("%s: err = %v, want %v", s.what, err, s.wantErr)
		}
		r, ok := d.Lookup("counter")
		if s.holder == (ActorID{}) {
			if ok {
				t.Fatalf("%s: name held by %s, want free", s.what, r.Actor)
			}
			continue
		}
		if !ok || r.Actor != s.holder {
			t.Fatalf("%s: holder %v (found %v), want %s", s.what, r.Actor, ok, s.holder)
		}
	}
	// A refreshed record keeps its first creation time, which decides
	// conflicts later.
	d2 := NewNameDirectory()
	_, _ = d2.Reserve(a)
	again := a
	again.Node, again.Created = "n3", 99
	got, _ := d2.Reserve(again)
	if got.Created != a.Created || got.Node != "n3" {
		t.Fatalf("refreshed record = %+v, want created %d on n3", got, a.Created)
	}
}

func TestNameDirectoryAnnounceConflictRule(t *testing.T) {
	old := NameRecord{Name: "n", Actor: actorN(1), Owner: "left", Node: "left", Created: 100}
	young := NameRecord{Name: "n", Actor: actorN(2), Owner: "right", Node: "right", Created: 200}
	cases := []struct {
		name          string
		first, second NameRecord
		wantKept      bool
		wantHolder    ActorID
		wantDisplaced *ActorID
	}{
		{"older arrives second and displaces the younger", young, old, true, old.Actor, &young.Actor},
		{"younger arrives second and loses", old, young, false, old.Actor, nil},
		{"same actor refreshes", old, NameRecord{Name: "n", Actor: actorN(1), Owner: "left", Created: 100}, true, old.Actor, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewNameDirectory()
			if res := d.Announce(c.first); !res.Kept || res.Displaced != nil {
				t.Fatalf("first announce of a free name: %+v", res)
			}
			res := d.Announce(c.second)
			if res.Kept != c.wantKept {
				t.Fatalf("Kept = %v, want %v", res.Kept, c.wantKept)
			}
			if !res.Kept && res.Winner.Actor != c.wantHolder {
				t.Fatalf("Winner = %s, want %s", res.Winner.Actor, c.wantHolder)
			}
			if (res.Displaced == nil) != (c.wantDisplaced == nil) || (res.Displaced != nil && res.Displaced.Actor != *c.wantDisplaced) {
				t.Fatalf("Displaced = %+v, want %v", res.Displaced, c.wantDisplaced)
			}
			if r, _ := d.Lookup("n"); r.Actor != c.wantHolder {
				t.Fatalf("holder = %s, want %s", r.Actor, c.wantHolder)
			}
		})
	}
	// An announcement without a node (the actor is being placed again)
	// keeps the last known node.
	d := NewNameDirectory()
	d.Announce(old)
	d.Announce(NameRecord{Name: "n", Actor: old.Actor, Owner: "left", Created: 100})
	if r, _ := d.Lookup("n"); r.Node != "left" {
		t.Fatalf("node after a node-less refresh = %q, want left", r.Node)
	}
}

// fakeView is a membership view for the handover simulation: the nodes
// each directory believes alive.
type fakeView []string

// simCluster simulates the directory protocol without a network: each
// node has a directory and its own named actors (records it created);
// owners are cluster.Owner over each node's own view, as the engine
// computes them.
type simCluster struct {
	dirs  map[string]*NameDirectory
	owned map[string][]NameRecord // per node: the live named actors it created
	lost  map[ActorID]NameRecord  // actors told they lost their name, with the winner
}

func newSim(nodes ...string) *simCluster {
	s := &simCluster{dirs: map[string]*NameDirectory{}, owned: map[string][]NameRecord{}, lost: map[ActorID]NameRecord{}}
	for _, n := range nodes {
		s.dirs[n] = NewNameDirectory()
	}
	return s
}

func key(name string) string { return "actor/" + name }

// create reserves name for a new actor of node at time at, as seen by
// view; it reports the error of the reservation.
func (s *simCluster) create(node string, view fakeView, name string, actor ActorID, at int64) error {
	rec := NameRecord{Name: name, Actor: actor, Owner: node, Node: node, Created: at}
	owner := cluster.Owner(key(name), view)
	if _, err := s.dirs[owner].Reserve(rec); err != nil {
		return err
	}
	s.owned[node] = append(s.owned[node], rec)
	return nil
}

// announce runs one handover round on node with view: prune what it no
// longer owns, then announce its actors to their owners.
func (s *simCluster) announce(node string, view fakeView) {
	s.dirs[node].Prune(func(name string) bool { return cluster.Owner(key(name), view) == node })
	for _, rec := range s.owned[node] {
		owner := cluster.Owner(key(rec.Name), view)
		res := s.dirs[owner].Announce(rec)
		if !res.Kept {
			s.lose(rec, res.Winner)
		}
		if res.Displaced != nil {
			s.lose(*res.Displaced, rec)
		}
	}
}

// lose is NameLost: the loser's node kills it, which drops it from the
// node's actors.
func (s *simCluster) lose(rec, winner NameRecord) {
	s.lost[rec.Actor] = winner
	kept := s.owned[rec.Owner][:0]
	for _, r := range s.owned[rec.Owner] {
		if r.Actor != rec.Actor {
			kept = append(kept, r)
		}
	}
	s.owned[rec.Owner] = kept
}

func (s *simCluster) lookup(view fakeView, name string) (NameRecord, bool) {
	return s.dirs[cluster.Owner(key(name), view)].Lookup(name)
}

// nameOwnedBy finds a name whose owner over view is want.
func nameOwnedBy(t *testing.T, view fakeView, want string, avoid ...string) string {
	t.Helper()
	for i := range 10000 {
		n := fmt.Sprintf("name-%d", i)
		if cluster.Owner(key(n), view) != want {
			continue
		}
		ok := true
		for _, a := range avoid {
			ok = ok && a != n
		}
		if ok {
			return n
		}
	}
	t.Fatalf("no name owned by %s", want)
	return ""
}

func TestNameHandoverWhenTheOwnerFails(t *testing.T) {
	all := fakeView{"n1", "n2", "n3"}
	s := newSim("n1", "n2", "n3")
	// A name owned by n3 for an actor that n1 created.
	name := nameOwnedBy(t, all, "n3")
	if err := s.create("n1", all, name, actorN(1), 100); err != nil {
		t.Fatal(err)
	}
	if err := s.create("n2", all, name, actorN(2), 101); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("second creation: %v, want ErrNameTaken", err)
	}
	// n3 dies: the survivors' view drops it and the name moves to its
	// runner-up, which knows nothing until n1 re-announces.
	survivors := fakeView{"n1", "n2"}
	newOwner := cluster.Owner(key(name), survivors)
	if newOwner == "n3" {
		t.Fatal("owner did not move")
	}
	if _, ok := s.lookup(survivors, name); ok {
		t.Fatal("the new owner has the record before any re-announcement")
	}
	for _, n := range survivors {
		s.dirs[n].DropOwner("n3")
		s.announce(n, survivors)
	}
	r, ok := s.lookup(survivors, name)
	if !ok || r.Actor != actorN(1) || r.Created != 100 {
		t.Fatalf("after handover: %+v %v, want actor 1 created at 100", r, ok)
	}
	if err := s.create("n2", survivors, name, actorN(3), 300); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("creation after handover: %v, want ErrNameTaken", err)
	}
}

func TestNameHandoverWhenANodeJoinsAndTheOwnerDiesWithItsRecords(t *testing.T) {
	two := fakeView{"n1", "n2"}
	three := fakeView{"n1", "n2", "n3"}
	s := newSim("n1", "n2", "n3")
	// A name that the joiner n3 will own, held by an actor of n2, and a
	// name owned by n1 for an actor of n1 itself.
	moving := nameOwnedBy(t, three, "n3")
	staying := nameOwnedBy(t, two, "n1")
	if cluster.Owner(key(staying), three) != "n1" {
		staying = nameOwnedBy(t, three, "n1")
	}
	if err := s.create("n2", two, moving, actorN(1), 10); err != nil {
		t.Fatal(err)
	}
	if err := s.create("n1", two, staying, actorN(2), 11); err != nil {
		t.Fatal(err)
	}
	for _, n := range three {
		s.announce(n, three)
	}
	if r, ok := s.dirs["n3"].Lookup(moving); !ok || r.Actor != actorN(1) {
		t.Fatalf("joiner n3 lacks %s: %+v", moving, r)
	}
	// The previous owner pruned its stale copy: if ownership came back to
	// it later, a record released meanwhile must not come back to life.
	prev := cluster.Owner(key(moving), two)
	if _, ok := s.dirs[prev].Lookup(moving); ok {
		t.Fatalf("old owner %s kept a stale copy of %s", prev, moving)
	}
	// n1 (the owner and creator of the other name) dies: its actor died
	// with it, so its record is dropped everywhere and the name is free.
	survivors := fakeView{"n2", "n3"}
	delete(s.owned, "n1")
	for _, n := range survivors {
		s.dirs[n].DropOwner("n1")
		s.announce(n, survivors)
	}
	if r, ok := s.lookup(survivors, staying); ok {
		t.Fatalf("a dead node's name survived: %+v", r)
	}
	if err := s.create("n3", survivors, staying, actorN(3), 50); err != nil {
		t.Fatalf("the dead node's name is not free: %v", err)
	}
}

func TestNamePartitionThenHealKeepsTheOlderActor(t *testing.T) {
	all := fakeView{"a1", "a2", "b1"}
	s := newSim("a1", "a2", "b1")
	left, right := fakeView{"a1", "a2"}, fakeView{"b1"}
	// During the partition each side takes the name once.
	name := "shared"
	if err := s.create("a2", left, name, actorN(1), 1000); err != nil {
		t.Fatal(err)
	}
	if err := s.create("b1", right, name, actorN(2), 2000); err != nil {
		t.Fatalf("the other side of a partition could not take the name: %v", err)
	}
	// Within a side the name stays unique.
	if err := s.create("a1", left, name, actorN(3), 3000); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("second creation on the same side: %v", err)
	}
	// Heal: every node re-announces over the merged view, in any order.
	for _, order := range [][]string{{"a1", "a2", "b1"}, {"b1", "a2", "a1"}} {
		s2 := newSim("a1", "a2", "b1")
		for n, recs := range s.owned {
			s2.owned[n] = append([]NameRecord(nil), recs...)
		}
		for _, n := range []string{"a1", "a2", "b1"} {
			for _, r := range s.dirs[n].Records() {
				s2.dirs[n].Announce(r)
			}
		}
		for _, n := range order {
			s2.announce(n, all)
		}
		r, ok := s2.lookup(all, name)
		if !ok || r.Actor != actorN(1) {
			t.Fatalf("order %v: holder after heal %+v, want the older actor 1", order, r)
		}
		if w, ok := s2.lost[actorN(2)]; !ok || w.Actor != actorN(1) {
			t.Fatalf("order %v: the younger duplicate was not told it lost: %v", order, s2.lost)
		}
		if _, ok := s2.lost[actorN(1)]; ok {
			t.Fatalf("order %v: the older actor was told it lost", order)
		}
		// Only one record per name remains anywhere.
		count := 0
		for _, d := range s2.dirs {
			if _, ok := d.Lookup(name); ok {
				count++
			}
		}
		if count != 1 {
			t.Fatalf("order %v: %d directories hold %q", order, count, name)
		}
	}
}

func TestNameDirectoryPruneAndRecords(t *testing.T) {
	d := NewNameDirectory()
	for i, n := range []string{"c", "a", "b"} {
		d.Announce(NameRecord{Name: n, Actor: actorN(byte(i + 1)), Owner: "x"})
	}
	d.Announce(NameRecord{Name: "d", Actor: actorN(9), Owner: "y"})
	var names []string
	for _, r := range d.Records() {
		names = append(names, r.Name)
	}
	if !sort.StringsAreSorted(names) || len(names) != 4 {
		t.Fatalf("Records = %v", names)
	}
	if n := d.DropOwner("y"); n != 1 {
		t.Fatalf("DropOwner dropped %d, want 1", n)
	}
	if n := d.Prune(func(name string) bool { return name != "b" }); n != 1 {
		t.Fatalf("Prune dropped %d, want 1", n)
	}
	if got := len(d.Records()); got != 2 {
		t.Fatalf("%d records left, want 2", got)
	}
}

// startFakeClustered starts a 2-CPU node whose cluster is a fakeCluster,
// and returns a context for the test's calls (30 s).
func startFakeClustered(t *testing.T) (*Node, *fakeCluster, context.Context) {
	t.Helper()
	n, err := NewNode(NodeConfig{NumCPUs: 2, PrestartWorkers: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeCluster{}
	n.SetClusterHooks(fc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop(context.Background()) })
	return n, fc, ctx
}

// A named actor created through cluster hooks reserves its name first: a
// second creation under the same name fails with ErrKindActorExists, the
// name is free again once the actor is killed for good, and a reservation
// that the directory refuses never creates the actor.
func TestNodeReservesNamesThroughTheHooks(t *testing.T) {
	n, fc, ctx := startFakeClustered(t)
	c := n.LocalClient()
	// Pinned here: the fake peer would otherwise take the actor.
	here := Strategy{Kind: StrategyNodeAffinity, Node: n.ID()}
	spec := func() *TaskSpec {
		return &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1, Name: "dir", Strategy: here}
	}
	aid, err := c.CreateActor(ctx, spec())
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := fakeDir(fc).Lookup("dir"); !ok || r.Actor != aid || r.Owner != n.ID() || r.Created == 0 {
		t.Fatalf("directory record = %+v (%v), want actor %s owned by this node", r, ok, aid)
	}
	recs := n.NameRecords()
	if len(recs) != 1 || recs[0].Actor != aid {
		t.Fatalf("NameRecords = %+v", recs)
	}
	if _, err := c.CreateActor(ctx, spec()); !isKind(err, ErrKindActorExists) {
		t.Fatalf("duplicate: %v, want ErrKindActorExists", err)
	}
	// Another node holds a name in the directory: creating it here fails
	// without creating anything.
	other := NameRecord{Name: "elsewhere", Actor: actorN(200), Owner: "peer", Created: 1}
	if _, err := fakeDir(fc).Reserve(other); err != nil {
		t.Fatal(err)
	}
	s := spec()
	s.Name = "elsewhere"
	if _, err := c.CreateActor(ctx, s); !isKind(err, ErrKindActorExists) {
		t.Fatalf("name held elsewhere: %v, want ErrKindActorExists", err)
	}
	// Killed for good: the name is released.
	if err := c.KillActor(ctx, aid, true); err != nil {
		t.Fatal(err)
	}
	if _, ok := fakeDir(fc).Lookup("dir"); ok {
		t.Fatal("the killed actor still holds its name")
	}
	if len(n.NameRecords()) != 0 {
		t.Fatalf("NameRecords after the kill = %+v", n.NameRecords())
	}
	if _, err := c.CreateActor(ctx, spec()); err != nil {
		t.Fatalf("recreating the freed name: %v", err)
	}
	// An actor that dies while it is created (no node could hold it)
	// does not keep the name it reserved.
	huge := spec()
	huge.Name, huge.Strategy, huge.Resources = "huge", Strategy{}, map[string]float64{"CPU": 1e6}
	if _, err := c.CreateActor(ctx, huge); err != nil {
		t.Fatal(err)
	}
	if r, ok := fakeDir(fc).Lookup("huge"); ok {
		t.Fatalf("an infeasible actor kept its name: %+v", r)
	}
}

// NameLost (a duplicate found when a partition healed) kills the losing
// actor for good; its release does not free the name the winner holds.
func TestNameLostKillsTheDuplicate(t *testing.T) {
	n, fc, ctx := startFakeClustered(t)
	c := n.LocalClient()
	here := Strategy{Kind: StrategyNodeAffinity, Node: n.ID()}
	aid, err := c.CreateActor(ctx, &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1, MaxRestarts: -1, Name: "dup", Strategy: here})
	if err != nil {
		t.Fatal(err)
	}
	mine := n.NameRecords()[0]
	winner := NameRecord{Name: "dup", Actor: actorN(77), Owner: "other-side", Created: mine.Created - 1}
	if !winner.Wins(mine) {
		t.Fatal("the test's winner is not older")
	}
	// The directory (after the heal) holds the winner.
	fakeDir(fc).Release("dup", aid)
	if _, err := fakeDir(fc).Reserve(winner); err != nil {
		t.Fatal(err)
	}
	n.NameLost(mine, winner)
	if len(n.NameRecords()) != 0 {
		t.Fatalf("the loser is still announced: %+v", n.NameRecords())
	}
	// Dead for good despite MaxRestarts -1: a call fails.
	ids := c.Submit(&TaskSpec{Kind: KindActorMethod, Func: "inc", Actor: aid, NumReturns: 1})
	if e := getOne(t, c, ids[0]).Err; e == nil || e.Kind != ErrKindActorDied {
		t.Fatalf("call on the losing actor: %v, want ErrKindActorDied", e)
	}
	if r, ok := fakeDir(fc).Lookup("dup"); !ok || r.Actor != winner.Actor {
		t.Fatalf("the winner's record = %+v (%v)", r, ok)
	}
	// NameLost for an actor the node does not have is ignored.
	n.NameLost(NameRecord{Name: "x", Actor: actorN(9)}, winner)
}

func TestNameDirectoryExpiresRecordsNobodyAnnounces(t *testing.T) {
	d := NewNameDirectory()
	now := time.Unix(1000, 0)
	d.now = func() time.Time { return now }
	_, _ = d.Reserve(NameRecord{Name: "kept", Actor: actorN(1), Owner: "a"})
	d.Announce(NameRecord{Name: "stale", Actor: actorN(2), Owner: "b"})
	now = now.Add(20 * time.Second)
	d.Announce(NameRecord{Name: "kept", Actor: actorN(1), Owner: "a"}) // refreshed by a round
	now = now.Add(15 * time.Second)
	if n := d.Expire(30 * time.Second); n != 1 {
		t.Fatalf("Expire dropped %d, want 1", n)
	}
	if _, ok := d.Lookup("stale"); ok {
		t.Fatal("a record nobody announced for 35s survived a 30s expiry")
	}
	if _, ok := d.Lookup("kept"); !ok {
		t.Fatal("a record announced 15s ago expired")
	}
}

// A named actor whose creator exits (its client's session ends) dies
// with it, and its name is released; a detached one keeps its name.
func TestNameReleasedWhenTheCreatorExits(t *testing.T) {
	n, fc, ctx := startFakeClustered(t)
	c, err := Dial(ctx, n.SocketPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	here := Strategy{Kind: StrategyNodeAffinity, Node: n.ID()}
	for _, name := range []string{"attached", "detached"} {
		if _, err := c.CreateActor(ctx, &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1, Name: name,
			Detached: name == "detached", Strategy: here}); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.Close()
	waitUntil(t, 10*time.Second, func() bool { _, ok := fakeDir(fc).Lookup("attached"); return !ok }, "the attached actor's name released")
	if _, ok := fakeDir(fc).Lookup("detached"); !ok {
		t.Fatal("the detached actor lost its name when its creator exited")
	}
}
