package runtime

import (
	"context"
	"fmt"
	"slices"

	"github.com/goray/goray/runtime/objectstore"
)

// Lineage: where the large results of forwarded tasks live, and how they
// are rebuilt when that place dies (Ray's object directory and lineage
// reconstruction).
//
// A normal task forwarded to a peer leaves each result larger than the
// inline threshold in that peer's store; the owner (this node) learns only
// its size and location (ForwardResult). The peer holds the copy for the
// owner (a holder per owner node, heldFor) until the owner frees the object
// (LocatedForwarder.FreeObjects) or dies (PeerGone). On the owner such an
// object is "located": it has a table entry that is not ready, with no
// producing task, marked fetching so that peers asking for it are told to
// look elsewhere. A Wait answers at once; a Get or a task argument pulls
// it here first (needObjectLocked), from the node known to keep it
// (LocationFetcher) or else from whichever peer has it.
//
// The owner keeps the spec of each task that has located results (its
// lineage) while any of those results is referenced, and keeps the task's
// arguments meanwhile: an argument that is itself the result of a task
// with kept lineage by that lineage (its value may be freed, and is
// rebuilt if needed), any other by pinning its value. When the node
// holding a located object dies before it was pulled here (or a pull
// finds no copy), the task runs again (MaxRetries counts these runs, as
// in Ray); its freed arguments are rebuilt first, recursively, and its
// lost ones are pulled or rebuilt as they are resolved. Without lineage or
// retries the object fails with ErrKindObjectLost. A peer whose fetch
// finds no copy asks the owner (AwaitObject), which may not have heard of
// the death yet: the owner then gets the object back as its own Get would.
//
// Memory: lineage is bounded by lineageBudget bytes of retained specs
// (their inline arguments and a fixed cost per spec); past it the oldest
// task's lineage is dropped, its arguments unpinned, and its results (and
// those of tasks that took them as arguments) can no longer be rebuilt.

// lineageBudget bounds the bytes of task specs kept as lineage.
const lineageBudget = 64 << 20

// specOverhead is what a retained spec costs besides its inline arguments.
const specOverhead = 256

// ForwardResult is one return value of a forwarded task on its way back to
// the owner: inline bytes, or the node that keeps it in its store.
type ForwardResult struct {
	// Data is the value when it travels inline (Node is "").
	Data []byte
	// Node keeps the value for the owner; "" when it travels inline.
	Node string
	// Size is the value's length when it stays on Node.
	Size int64
}

// LocatedForwarder is implemented by cluster hooks whose peers may keep
// large results of forwarded normal tasks (ClusterHooks.Forward brings
// every result back).
type LocatedForwarder interface {
	// ForwardLocated is Forward whose results may stay on the executing
	// node (ForwardResult.Node).
	ForwardLocated(ctx context.Context, node string, f *ForwardMessage, done func(results []ForwardResult, err *ErrorInfo))
	// FreeObjects tells node that this node (their owner) freed ids, so
	// that it drops the copies it keeps for it. It must not block.
	FreeObjects(node string, ids []ObjectID)
}

// LocationFetcher is implemented by cluster hooks that can fetch an object
// from the node known to have it, asking the others only if it does not.
type LocationFetcher interface {
	// FetchObjectFrom is ClusterHooks.FetchObject that asks node first.
	FetchObjectFrom(ctx context.Context, node string, id ObjectID, done func(*Fetched, *ErrorInfo))
}

// OwnerChecker is implemented by cluster hooks that can tell whether the
// node owning an object (ids.go: OwnerPrefix) has died.
type OwnerChecker interface {
	// DeadOwner reports the dead node that owned id, if it is one.
	DeadOwner(id ObjectID) (node string, dead bool)
}

// heldFor is the holder of the copies this node keeps for owner node.
func heldFor(owner string) objectstore.HolderID { return objectstore.HolderID("peer:" + owner) }

// lineageHolder pins the arguments of a task whose lineage is kept.
func lineageHolder(id TaskID) objectstore.HolderID {
	return objectstore.HolderID("lineage:" + string(id[:]))
}

// linTask is the retained lineage of one task.
type linTask struct {
	spec    *TaskSpec
	owner   *session
	retries int        // runs left to rebuild its results (-1 forever)
	objs    []ObjectID // its results that are located (or being rebuilt)
	bytes   int64
	// parents are the kept lineages of its arguments; uses counts the
	// kept lineages whose arguments it made. A task's lineage is needed
	// while it has results or uses.
	parents []*linTask
	uses    int
	dropped bool
}

// needed reports whether lt's lineage must still be kept.
func (lt *linTask) needed() bool { return len(lt.objs) > 0 || lt.uses > 0 }

// linObject is a located object: where its copies are, and its lineage.
type linObject struct {
	task    *linTask // nil: the lineage was dropped (budget)
	locs    []string // nodes keeping a copy for this owner
	pulling bool
}

// lineageTable is the pure bookkeeping of located objects and lineage,
// without I/O: its methods return what the node must release.
//
// An argument of a kept task is kept in one of two ways, as in Ray: if the
// task that made it has kept lineage, by that lineage (its value may be
// freed; it is rebuilt if needed again), otherwise by pinning its value
// (the node holds a reference under lineageHolder).
type lineageTable struct {
	objs   map[ObjectID]*linObject
	tasks  map[TaskID]*linTask
	order  []TaskID // oldest first, for the budget
	bytes  int64
	budget int64
}

func newLineageTable(budget int64) *lineageTable {
	return &lineageTable{objs: map[ObjectID]*linObject{}, tasks: map[TaskID]*linTask{}, budget: budget}
}

// specBytes is what spec costs as lineage.
func specBytes(spec *TaskSpec) int64 {
	b := int64(specOverhead + len(spec.Func))
	for _, a := range spec.Args {
		b += int64(len(a.Data)) + 32
	}
	return b + int64(len(spec.Contained))*32
}

// taskOf is the task whose return id is (meaningful only for returns).
func taskOf(id ObjectID) TaskID { return TaskID(id[:16]) }

// producer returns the kept lineage of the task that made object id.
func (l *lineageTable) producer(id ObjectID) *linTask { return l.tasks[taskOf(id)] }

// task returns the lineage of spec, recording it if it is not kept yet:
// pin lists the arguments whose values the node must pin (those without
// kept lineage), and released the lineages dropped to stay within the
// budget, whose pins the node must release.
func (l *lineageTable) task(spec *TaskSpec, owner *session, retries int) (lt *linTask, pin []ObjectID, released []*linTask) {
	if lt = l.tasks[spec.ID]; lt != nil {
		lt.retries = retries
		return lt, nil, nil
	}
	lt = &linTask{spec: spec, owner: owner, retries: retries, bytes: specBytes(spec)}
	for _, a := range spec.Args {
		if !a.IsRef {
			continue
		}
		if p := l.producer(a.Ref); p != nil && p != lt {
			p.uses++
			lt.parents = append(lt.parents, p)
			continue
		}
		pin = append(pin, a.Ref)
	}
	pin = append(pin, spec.Contained...)
	l.tasks[spec.ID] = lt
	l.order = append(l.order, spec.ID)
	l.bytes += lt.bytes
	for i := 0; l.bytes > l.budget && i < len(l.order); {
		switch old := l.tasks[l.order[i]]; {
		case old == nil:
			l.order = slices.Delete(l.order, i, i+1)
		case old == lt:
			i++
		default:
			released = append(released, l.drop(old)...)
		}
	}
	return lt, pin, released
}

// drop forgets lt (its objects stay located but cannot be rebuilt) and
// the parents only it needed; it returns every lineage it forgot.
func (l *lineageTable) drop(lt *linTask) []*linTask {
	var out []*linTask
	work := []*linTask{lt}
	for len(work) > 0 {
		x := work[len(work)-1]
		work = work[:len(work)-1]
		if x.dropped {
			continue
		}
		x.dropped = true
		delete(l.tasks, x.spec.ID)
		l.bytes -= x.bytes
		if i := slices.Index(l.order, x.spec.ID); i >= 0 {
			l.order = slices.Delete(l.order, i, i+1)
		}
		for _, id := range x.objs {
			if lo := l.objs[id]; lo != nil && lo.task == x {
				lo.task = nil
			}
		}
		x.objs = nil
		for _, p := range x.parents {
			if p.uses--; !p.dropped && !p.needed() {
				work = append(work, p)
			}
		}
		x.parents = nil
		out = append(out, x)
	}
	return out
}

// located records that object id of task lt (nil: no lineage) has a copy
// on node ("" none yet: it is being rebuilt).
func (l *lineageTable) located(id ObjectID, lt *linTask, node string) *linObject {
	lo := l.objs[id]
	if lo == nil {
		lo = &linObject{}
		l.objs[id] = lo
	}
	if lt != nil && lo.task != lt {
		lo.task = lt
		lt.objs = append(lt.objs, id)
	}
	if node != "" && !slices.Contains(lo.locs, node) {
		lo.locs = append(lo.locs, node)
	}
	return lo
}

// freed forgets object id: it returns the nodes to tell, and the lineages
// nothing needs any more.
func (l *lineageTable) freed(id ObjectID) (locs []string, released []*linTask) {
	lo := l.objs[id]
	if lo == nil {
		return nil, nil
	}
	delete(l.objs, id)
	lt := lo.task
	if lt == nil {
		return lo.locs, nil
	}
	lt.objs = slices.DeleteFunc(lt.objs, func(x ObjectID) bool { return x == id })
	if lt.needed() {
		return lo.locs, nil
	}
	return lo.locs, l.drop(lt)
}

// nodeGone removes node from every object's locations and returns the
// objects left without any, sorted.
func (l *lineageTable) nodeGone(node string) []ObjectID {
	var lost []ObjectID
	for id, lo := range l.objs {
		i := slices.Index(lo.locs, node)
		if i < 0 {
			continue
		}
		lo.locs = slices.Delete(lo.locs, i, i+1)
		if len(lo.locs) == 0 {
			lost = append(lost, id)
		}
	}
	slices.SortFunc(lost, func(a, b ObjectID) int { return slices.Compare(a[:], b[:]) })
	return lost
}

func (n *Node) lineageLocked() *lineageTable {
	if n.lin == nil {
		n.lin = newLineageTable(lineageBudget)
	}
	return n.lin
}

// RunForwardedFor is RunForwarded for a task whose owner is node owner:
// each result of a normal task that is too large to travel inline stays
// in this node's store, kept for owner until it frees it
// (ReleaseHeld) or dies (PeerGone), and done gets only its size and this
// node's ID. Small results, and every result of an actor task, travel
// inline.
func (n *Node) RunForwardedFor(owner string, spec *TaskSpec, bin string, done func([]ForwardResult, *ErrorInfo)) {
	n.runForwarded(owner, spec, bin, done)
}

// inlineResults wraps plain results.
func inlineResults(res [][]byte) []ForwardResult {
	if res == nil {
		return nil
	}
	out := make([]ForwardResult, len(res))
	for i, r := range res {
		out[i].Data = r
	}
	return out
}

// ReleaseHeld drops the copies of ids this node keeps for owner, which
// freed them.
func (n *Node) ReleaseHeld(owner string, ids []ObjectID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := heldFor(owner)
	for _, id := range ids {
		n.freeLocked(n.refs.RemoveLocal(id, h))
	}
}

// forwardVia forwards fm to node through the hooks; a normal task's
// large results may stay there (located is then not nil, its entries with
// a Node where they did).
func (n *Node) forwardVia(node string, fm *ForwardMessage, normal bool, done func(results [][]byte, located []ForwardResult, e *ErrorInfo)) {
	if lf, ok := n.hooks.(LocatedForwarder); ok && normal {
		lf.ForwardLocated(context.Background(), node, fm, func(rs []ForwardResult, e *ErrorInfo) {
			data := make([][]byte, len(rs))
			kept := false
			for i, r := range rs {
				data[i] = r.Data
				kept = kept || r.Node != ""
			}
			if !kept {
				rs = nil
			}
			done(data, rs, e)
		})
		return
	}
	n.hooks.Forward(context.Background(), node, fm, func(rs [][]byte, e *ErrorInfo) { done(rs, nil, e) })
}

// dropLocatedLocked tells the nodes keeping results of a forwarded task
// that this node will not use them (it was cancelled or already done).
func (n *Node) dropLocatedLocked(located []ForwardResult, tid TaskID, keep func(i int) bool) {
	lf, ok := n.hooks.(LocatedForwarder)
	if !ok {
		return
	}
	byNode := map[string][]ObjectID{}
	for i, r := range located {
		if r.Node != "" && (keep == nil || !keep(i)) {
			byNode[r.Node] = append(byNode[r.Node], tid.ReturnID(i))
		}
	}
	for node, ids := range byNode {
		lf.FreeObjects(node, ids)
	}
}

// completeLocatedLocked records the outcome of forwarded task t whose
// results (some of them) stayed on their node: those become located
// objects here, with t's lineage; the inline ones are stored as usual.
func (n *Node) completeLocatedLocked(t *taskEntry, stored []bool, located []ForwardResult) {
	l := n.lineageLocked()
	lt, pin, released := l.task(t.spec, t.owner, t.retries)
	n.releaseLineageLocked(released)
	h := lineageHolder(t.spec.ID)
	for _, id := range pin {
		n.refs.AddTaskArg(id, h)
	}
	var unused []int
	for i := 0; i < t.spec.NumReturns; i++ {
		id := t.spec.ID.ReturnID(i)
		o := n.objects[id]
		if o == nil || o.ready {
			if i < len(stored) && stored[i] {
				_ = n.store.Delete(id)
			}
			unused = append(unused, i)
			continue
		}
		switch {
		case i >= len(located):
			o.err = &ErrorInfo{Kind: ErrKindSystem, Task: t.spec.Func, Message: fmt.Sprintf("worker returned %d results, want %d", len(located), t.spec.NumReturns)}
			n.readyLocked(id, o)
		case located[i].Node != "":
			l.located(id, lt, located[i].Node)
			o.task, o.fetching, o.size = nil, true, located[i].Size
			n.locatedReadyLocked(id, o)
		default:
			if i < len(stored) && stored[i] {
				o.inStore, o.size = true, int64(len(located[i].Data))
			} else {
				o.data, o.size = located[i].Data, int64(len(located[i].Data))
			}
			n.readyLocked(id, o)
		}
	}
	if len(unused) > 0 {
		n.dropLocatedLocked(located, t.spec.ID, func(i int) bool { return !slices.Contains(unused, i) })
	}
	if !lt.needed() {
		// No result of it is located after all: no lineage to keep.
		n.releaseLineageLocked(l.drop(lt))
	}
	n.finishLocked(t)
}

// releaseLineageLocked unpins the arguments of lineages that were dropped.
func (n *Node) releaseLineageLocked(lts []*linTask) {
	for _, lt := range lts {
		n.freeLocked(n.refs.TaskDone(lineageHolder(lt.spec.ID)))
	}
}

// locatedReadyLocked tells the waiters of located object id what they
// can know without its bytes: a Wait is answered at once, and a Get or a
// dependent task makes the node pull it.
func (n *Node) locatedReadyLocked(id ObjectID, o *object) {
	keep := o.waiters[:0]
	for _, w := range o.waiters {
		if w.s.closed {
			continue
		}
		if w.wantData {
			keep = append(keep, w)
			continue
		}
		w.s.send(&msg{t: mObject, req: w.req, n: int64(w.idx), oid: id, flag: true})
		if sub := w.s.subs[w.req]; sub != nil {
			if sub.remaining--; sub.remaining == 0 {
				delete(w.s.subs, w.req)
			}
		}
	}
	o.waiters = keep
	if len(keep) > 0 || len(o.deps) > 0 {
		n.needObjectLocked(id)
	}
}

// locatedLocked reports whether id is a located object (its bytes on a
// peer, not pulled here).
func (n *Node) locatedLocked(id ObjectID, o *object) bool {
	if n.lin == nil || o == nil || o.ready || !o.fetching || o.task != nil {
		return false
	}
	_, ok := n.lin.objs[id]
	return ok
}

// needObjectLocked makes located object id available here: it is pulled
// from a node that keeps it or, if none is left, rebuilt from its
// lineage. It acts from another goroutine, so that callers in the middle
// of registering waiters never see the object complete under them. Other
// objects are left alone.
func (n *Node) needObjectLocked(id ObjectID) {
	if n.lin == nil {
		return
	}
	if _, ok := n.lin.objs[id]; !ok {
		return
	}
	go func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.stopped {
			return
		}
		o := n.objects[id]
		lo := n.lin.objs[id]
		if lo == nil || !n.locatedLocked(id, o) || lo.pulling {
			return
		}
		if len(lo.locs) == 0 {
			n.rebuildLocked(id, "no node keeps a copy")
			return
		}
		n.pullLocked(id, o, lo)
	}()
}

// pullLocked fetches located object id into this node's table.
func (n *Node) pullLocked(id ObjectID, o *object, lo *linObject) {
	lo.pulling = true
	from := slices.Clone(lo.locs)
	fetch := n.hooks.FetchObject
	if lf, ok := n.hooks.(LocationFetcher); ok {
		fetch = func(ctx context.Context, id ObjectID, done func(*Fetched, *ErrorInfo)) {
			lf.FetchObjectFrom(ctx, from[0], id, done)
		}
	}
	fetch(context.Background(), id, func(f *Fetched, e *ErrorInfo) {
		stored := false
		if e == nil && f.inStore() {
			if err := f.seal(); err != nil {
				e = &ErrorInfo{Kind: ErrKindSystem, ObjectID: id, Message: err.Error()}
			} else {
				stored = true
			}
		}
		var nested []ObjectID
		if e == nil {
			nested = n.fetchedRefs(id, f, stored) // borrow.go
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		lo.pulling = false
		if n.objects[id] != o || !n.locatedLocked(id, o) {
			if stored {
				_ = n.store.Delete(id)
			}
			if e == nil {
				n.pulledRefsLocked(f.From, id, nested, false)
			}
			return
		}
		if e != nil {
			// Every node said it does not have it (or could not be
			// reached): the copies are gone even if the membership has not
			// declared their nodes dead yet.
			n.log.Info("a located object could not be pulled; rebuilding it", "object", id, "from", from, "err", e)
			lo.locs = slices.DeleteFunc(lo.locs, func(x string) bool { return slices.Contains(from, x) })
			n.rebuildLocked(id, "its copies on "+fmt.Sprint(from)+" are gone: "+e.Message)
			return
		}
		o.fetching = false
		if stored {
			o.inStore, o.size = true, f.Size()
		} else {
			o.data, o.size = f.Buf, f.Size()
		}
		n.pulledRefsLocked(f.From, id, nested, true)
		n.readyLocked(id, o)
	})
}

// rebuildLocked runs again the task that made located object id, whose
// copies are gone, or fails the object with ErrKindObjectLost when its
// lineage is unknown or its retries are spent. The task's other located
// results are rebuilt by the same run.
func (n *Node) rebuildLocked(id ObjectID, why string) {
	o := n.objects[id]
	lo := n.lin.objs[id]
	if o == nil || lo == nil || !n.locatedLocked(id, o) {
		return
	}
	lt := lo.task
	switch {
	case lt == nil:
		n.loseLocked(id, o, why+"; its lineage is not kept")
		return
	case lt.retries == 0:
		n.loseLocked(id, o, why+"; the task that made it has no retries left")
		return
	case n.tasks[lt.spec.ID] != nil:
		return // already running again
	}
	if lt.retries > 0 {
		lt.retries--
	}
	spec := lt.spec
	n.log.Info("rebuilding a lost object from its lineage", "object", id, "task", spec.ID, "func", spec.Func, "retries_left", lt.retries)
	t := &taskEntry{spec: spec, owner: lt.owner, retries: lt.retries, state: tWaiting, submitted: n.stampLocked()}
	if lt.owner != nil {
		t.job = n.taskJobLocked(lt.owner, spec) // taskhistory.go: the rerun is the same job's work
	}
	if spec.RetryExceptions {
		t.appTries = lt.retries
	}
	n.tasks[spec.ID] = t
	for i := 0; i < spec.NumReturns; i++ {
		rid := spec.ID.ReturnID(i)
		if ro := n.objects[rid]; ro != nil && n.locatedLocked(rid, ro) {
			ro.fetching, ro.task = false, t
		}
	}
	// Arguments freed since, whose lineage is kept, are rebuilt first
	// (recursively); resolving the others pulls or rebuilds them.
	for _, a := range spec.Args {
		if !a.IsRef || n.objects[a.Ref] != nil {
			continue
		}
		if p := n.lin.producer(a.Ref); p != nil {
			n.objects[a.Ref] = &object{fetching: true}
			n.lin.located(a.Ref, p, "")
			n.rebuildLocked(a.Ref, "an argument of a rebuilt task")
		}
	}
	if !n.resolveArgsLocked(t) {
		return
	}
	if t.missing == 0 {
		n.enqueueLocked(t)
		n.scheduleLocked()
	}
}

// loseLocked fails located object id for good.
func (n *Node) loseLocked(id ObjectID, o *object, why string) {
	n.log.Info("object lost", "object", id, "why", why)
	o.fetching = false
	o.err = lostInfo(id, why)
	n.readyLocked(id, o)
}

// lineageFreedLocked forgets freed object id: the nodes keeping copies of
// it drop them, and its task's lineage goes with its last result.
func (n *Node) lineageFreedLocked(id ObjectID) {
	if n.lin == nil {
		return
	}
	locs, released := n.lin.freed(id)
	if lf, ok := n.hooks.(LocatedForwarder); ok {
		for _, node := range locs {
			lf.FreeObjects(node, []ObjectID{id})
		}
	}
	n.releaseLineageLocked(released)
}

// lineagePeerGoneLocked handles the death of node for objects: the copies
// this node kept for it go, and the located objects whose only copies
// were there are rebuilt (or lost).
func (n *Node) lineagePeerGoneLocked(node string) {
	n.freeLocked(n.refs.HolderDied(heldFor(node)))
	if n.lin == nil {
		return
	}
	for _, id := range n.lin.nodeGone(node) {
		o := n.objects[id]
		lo := n.lin.objs[id]
		if lo == nil || !n.locatedLocked(id, o) || lo.pulling {
			continue // here already, being rebuilt, or its pull fails and rebuilds
		}
		n.rebuildLocked(id, "its only copy was on node "+node+", which died")
	}
}

// fetchObjectLocked asks the peers for object id as ClusterHooks.FetchObject
// does, but fails at once with ErrKindOwnerDied when the node that owns it
// is dead (nothing can then vouch for it), and turns a failed fetch into
// ErrKindOwnerDied when the owner died meanwhile.
func (n *Node) fetchObjectLocked(id ObjectID, done func(*Fetched, *ErrorInfo)) {
	oc, ok := n.hooks.(OwnerChecker)
	if !ok {
		n.hooks.FetchObject(context.Background(), id, done)
		return
	}
	if owner, dead := oc.DeadOwner(id); dead {
		go done(nil, ownerDiedInfo(id, owner))
		return
	}
	n.hooks.FetchObject(context.Background(), id, func(f *Fetched, e *ErrorInfo) {
		if e != nil && e.Kind == ErrKindObjectLost {
			if owner, dead := oc.DeadOwner(id); dead {
				e = ownerDiedInfo(id, owner)
			}
		}
		done(f, e)
	})
}

func ownerDiedInfo(id ObjectID, owner string) *ErrorInfo {
	return &ErrorInfo{Kind: ErrKindOwnerDied, ObjectID: id, Message: "its owner, node " + owner + ", died"}
}

// EncodeForwardResults serialises a forwarded task's outcome whose
// results may have stayed on the executing node (DecodeForwardResults).
func EncodeForwardResults(results []ForwardResult, e *ErrorInfo) []byte {
	var x enc
	x.boolean(e != nil)
	if e != nil {
		x.errinfo(e)
		return x.b
	}
	x.uv(uint64(len(results)))
	for _, r := range results {
		x.str(r.Node)
		if r.Node != "" {
			x.uv(uint64(r.Size))
			continue
		}
		x.bytes(r.Data)
	}
	return x.b
}

// DecodeForwardResults parses EncodeForwardResults's output; errors wrap
// ErrProtocol.
func DecodeForwardResults(b []byte) ([]ForwardResult, *ErrorInfo, error) {
	d := &dec{b: b}
	if d.boolean() {
		e := d.errinfo()
		return nil, e, d.err
	}
	n := d.count(1)
	out := make([]ForwardResult, 0, n)
	for range n {
		r := ForwardResult{Node: d.str()}
		if r.Node != "" {
			r.Size = int64(d.uv())
		} else {
			r.Data = d.bytes()
		}
		out = append(out, r)
	}
	if d.err != nil {
		return nil, nil, d.err
	}
	return out, nil, nil
}

// AwaitObject makes object id, which this node owns and a peer found no
// copy of, available here, as a Get would: a located object is pulled from
// a node that keeps it or rebuilt from its lineage (the peer may have
// asked before this node learned that the node keeping it died), and an
// object still being computed is waited for. It returns once the object is
// here, or with why it could not be (e), or when ctx ends. known is false
// when this node has no entry for id it could make available (not its
// own, freed, or itself being fetched from peers), so that nodes never
// wait on each other in a circle.
func (n *Node) AwaitObject(ctx context.Context, id ObjectID) (known bool, e *ErrorInfo) {
	n.mu.Lock()
	o := n.objects[id]
	known = !n.stopped && o != nil && OwnerPrefix(id) == n.prefix &&
		(o.ready || o.task != nil || n.locatedLocked(id, o))
	n.mu.Unlock()
	if !known {
		return false, nil
	}
	vals, err := n.local.Get(ctx, []ObjectID{id})
	if err != nil {
		return true, lostInfo(id, "its owner could not get it again: "+err.Error())
	}
	defer vals[0].Release()
	return true, vals[0].Err
}
