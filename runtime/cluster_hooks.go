package runtime

import (
	"context"
	"fmt"
	"maps"

	"github.com/goray/goray/runtime/objectstore"
	"github.com/goray/goray/runtime/task"
)

// ClusterHooks connect a Node to its peers. runtime/cluster implements
// them; a Node without hooks is a single-node cluster. They are the two
// seams of the engine that look beyond this machine: where a ready task is
// placed, and where a task forwarded to a peer reports back.
type ClusterHooks interface {
	// Peers returns views of the other live nodes (resources as last
	// broadcast) for the scheduling policy.
	Peers() []task.NodeView
	// Forward runs f.Spec, whose arguments are all inline, on node in
	// workers of program f.Binary, and calls done exactly once with its
	// encoded results or its failure. It must not block; done may be
	// called from any goroutine (never from within Forward). Forward must call f.Release (if not nil)
	// once it no longer reads f.Spec's argument bytes, which may be mapped
	// store files. A failure of kind ErrKindWorkerCrashed
	// (the node died) is placed again while the task has retries left.
	Forward(ctx context.Context, node string, f *ForwardMessage, done func(results [][]byte, err *ErrorInfo))
	// LocateActor finds the peer where actor id lives (for a handle that
	// reached this node from elsewhere) and calls done once, from another
	// goroutine, with its node ID or an error.
	LocateActor(ctx context.Context, id ActorID, done func(node string, err error))
	// LocateNamedActor finds the peer holding the live actor named name
	// and calls done once, from another goroutine, with its node, ID and
	// class, or an error.
	LocateNamedActor(ctx context.Context, name string, done func(node string, id ActorID, class string, err error))
	// ReserveName reserves rec.Name for rec.Actor at the node that owns
	// the name and calls done once, from another goroutine: with a nil
	// error, or with an error wrapping ErrNameTaken and the record that
	// holds the name, or with why the owner could not be asked before
	// ctx ended.
	ReserveName(ctx context.Context, rec NameRecord, done func(holder NameRecord, err error))
	// AnnounceName tells the name's owner where the actor of rec lives
	// now. It must not block.
	AnnounceName(ctx context.Context, rec NameRecord)
	// ReleaseName frees rec.Name at its owner if rec.Actor holds it (the
	// actor died for good). It must not block.
	ReleaseName(ctx context.Context, rec NameRecord)
	// KillActor asks node to kill actor id (Kill, or its owner exited).
	// It must not block.
	KillActor(ctx context.Context, node string, id ActorID, noRestart bool)
	// ReservePG asks node to reserve bundles for placement group id (see
	// Node.ReservePG) and calls done once, from another goroutine.
	ReservePG(ctx context.Context, node, id string, bundles []map[string]float64, done func(error))
	// ReleasePG asks node to give back its bundles of group id. It must
	// not block.
	ReleasePG(ctx context.Context, node, id string)
	// FetchObject gets object id from whichever peer has it (Node.ServeObject)
	// into a destination from Node.FetchBuffer, and calls done once, from
	// another goroutine, with it filled, or with an ErrKindObjectLost error
	// if no peer has it.
	FetchObject(ctx context.Context, id ObjectID, done func(f *Fetched, e *ErrorInfo))
	// CancelForwarded asks node to cancel task id, which this node
	// forwarded there (Node.CancelForwarded). It must not block.
	CancelForwarded(node string, id TaskID, force bool)
}

// SetClusterHooks installs h (before Start). Tasks with the DEFAULT, SPREAD
// and NODE_AFFINITY strategies are then placed by the task package's policy
// over this node and h.Peers(); those placed elsewhere go through h.Forward.
func (n *Node) SetClusterHooks(h ClusterHooks) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hooks = h
	if n.policy == nil {
		n.policy = task.DefaultPolicy(1)
	}
}

// placeRemoteLocked asks the policy where t should run. It reports true if
// t was forwarded to a peer (or failed), false to run it here.
func (n *Node) placeRemoteLocked(t *taskEntry) bool {
	if n.hooks == nil || t.spec.Kind != KindNormal {
		return false
	}
	if t.spec.Strategy.Kind == StrategyPlacementGroup {
		return n.routePGTaskLocked(t)
	}
	nodes, peers := n.clusterViewLocked()
	if len(peers) == 0 {
		return false
	}
	st := task.Strategy{Kind: task.StrategyKind(t.spec.Strategy.Kind), Node: t.spec.Strategy.Node, Soft: t.spec.Strategy.Soft, Bundle: -1}
	d := n.policy.Place(task.Request{ID: t.spec.ID.String(), Demand: task.Resources(t.spec.Resources), Strategy: st}, nodes, n.id)
	switch {
	case d.Outcome == task.Infeasible:
		n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindInfeasible, Task: t.spec.Func, Message: d.Reason})
		return true
	case d.Outcome == task.Schedule && d.Node != n.id:
		n.forwardLocked(t, d.Node)
		return true
	case d.Outcome == task.Wait && !fits(t.spec.Resources, n.total):
		// Only a bigger peer can ever run it: it waits in that peer's
		// queue (feasibility is the cluster's, not this node's).
		if node, ok := task.FeasibleElsewhere(task.Resources(t.spec.Resources), peers); ok {
			n.forwardLocked(t, node)
			return true
		}
	case st.Kind == task.StrategyNodeAffinity && !st.Soft && st.Node != n.id:
		// Pinned to a live peer that is busy now (as far as its last
		// broadcast says): it waits in that node's queue, not here.
		for _, p := range peers {
			if p.ID == st.Node && p.Alive {
				n.forwardLocked(t, st.Node)
				return true
			}
		}
	}
	return false // run here (now or when resources free up)
}

// clusterViewLocked is what the policy places on: this node and its live
// peers, each with what it has free as far as this node can tell. Work
// queued here and not yet leased counts against this node, and work this
// node forwarded and that has not finished counts against its peer (whose
// own broadcast lags by up to a second), so that a burst of submissions
// spills over instead of piling onto one node.
func (n *Node) clusterViewLocked() (nodes, peers []task.NodeView) {
	peers = n.hooks.Peers()
	avail := task.Resources(maps.Clone(n.avail))
	for _, sq := range n.queues {
		if sq.pg == "" && sq.len() > 0 {
			for k, v := range sq.res {
				avail[k] -= v * float64(sq.len())
			}
		}
	}
	nodes = append(nodes, task.NodeView{ID: n.id, Total: n.total, Available: avail, Alive: true})
	for _, p := range peers {
		if d := n.fwdDemand[p.ID]; len(d) > 0 {
			a := task.Resources(maps.Clone(map[string]float64(p.Available)))
			for k, v := range d {
				a[k] -= v
			}
			p.Available = a
		}
		nodes = append(nodes, p)
	}
	return nodes, peers
}

// forwardMessageLocked builds the message that forwards t, with every
// argument inlined (store objects pinned, not copied; the hook releases
// them). It reports false if t failed instead (an argument is gone).
func (n *Node) forwardMessageLocked(t *taskEntry) (*ForwardMessage, bool) {
	spec := *t.spec
	spec.Args = make([]Arg, len(t.spec.Args))
	var pins []*objectstore.Object
	release := func() {
		for _, p := range pins {
			p.Release()
		}
	}
	for i, a := range t.spec.Args {
		if !a.IsRef {
			spec.Args[i] = a
			continue
		}
		o := n.objects[a.Ref]
		if o == nil {
			release()
			n.failArgLocked(t, argFailed(t.spec, i, lostInfo(a.Ref, "object freed")))
			return nil, false
		}
		data := o.data
		if o.inStore {
			obj, err := n.store.Get(context.Background(), a.Ref)
			if err != nil {
				release()
				n.failArgLocked(t, argFailed(t.spec, i, lostInfo(a.Ref, err.Error())))
				return nil, false
			}
			pins = append(pins, obj)
			data = obj.Bytes()
		}
		spec.Args[i] = Arg{Data: data}
	}
	key := ""
	if t.owner != nil {
		key = t.owner.bin
	}
	if t.actor != nil {
		key = t.actor.bin
	}
	bin, pkg := n.forwardParts(key) // workdir.go
	spec.Contained = nil            // refs nested in arguments are not shipped (yet)
	spec.Job = t.job                // the peer's task history names the job (taskhistory.go)
	return &ForwardMessage{Spec: &spec, Binary: bin, Package: pkg, Release: release}, true
}

// forwardLocked sends t (a normal task, or a call of an actor that lives
// on node) to a peer with its arguments inlined.
func (n *Node) forwardLocked(t *taskEntry, node string) {
	fm, ok := n.forwardMessageLocked(t)
	if !ok {
		return
	}
	n.holdInFlightLocked(node, argRefs(fm.Spec)) // borrow.go: until node counted them
	t.state = tPushed
	t.fwdNode = node
	t.started, t.pid = nowNano(), 0 // taskhistory.go
	n.log.Debug("forwarding a task", "task", t.spec.ID, "func", t.spec.Func, "node", node)
	demand := t.spec.Resources
	n.addFwdDemandLocked(node, demand, 1)
	// A normal task's large results may stay on node (lineage.go).
	n.forwardVia(node, fm, t.spec.Kind == KindNormal, func(results [][]byte, located []ForwardResult, e *ErrorInfo) {
		stored := make([]bool, len(results))
		for i, r := range results {
			if n.isLarge(len(r)) && n.storeLarge(t.spec.ID.ReturnID(i), r) == nil {
				stored[i] = true
			}
		}
		resRefs := make([][]ObjectID, len(results))
		var allRefs []ObjectID
		for i, r := range results {
			resRefs[i] = scanRefs(r)
			allRefs = append(allRefs, resRefs[i]...)
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		// borrow.go: node holds the refs in the results until they are
		// counted here (below, as contained in their result) or dropped.
		defer n.receivedRefsLocked(node, allRefs)
		defer n.containResultRefsLocked(t, e == nil && t.state == tPushed, resRefs)
		n.addFwdDemandLocked(node, demand, -1)
		if t.state != tPushed {
			n.discardStoredLocked(&msg{tid: t.spec.ID}, stored)
			n.dropLocatedLocked(located, t.spec.ID, nil)
			return
		}
		m := &msg{tid: t.spec.ID, err: e}
		for _, r := range results {
			m.results = append(m.results, wireResult{data: r})
		}
		nodeDied := e != nil && e.Kind == ErrKindWorkerCrashed
		switch {
		case t.cancelled:
			n.discardStoredLocked(m, stored)
			n.dropLocatedLocked(located, t.spec.ID, nil)
			n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindCancelled, Task: t.spec.Func, Message: "task cancelled"})
		case located != nil && e == nil:
			n.completeLocatedLocked(t, stored, located) // lineage.go
		case e != nil && e.Kind == ErrKindHandedBack && t.spec.Kind == KindNormal:
			n.discardStoredLocked(m, stored)
			n.replaceHandedBackLocked(t, node, e) // drain.go
		case nodeDied && t.spec.Kind == KindNormal && t.retries != 0:
			// The node died with the task: place it again (enqueueLocked
			// asks the policy, which no longer sees the dead node).
			n.discardStoredLocked(m, stored)
			if t.retries > 0 {
				t.retries--
			}
			t.state = tWaiting
			n.enqueueLocked(t)
		case nodeDied && t.actor != nil:
			n.discardStoredLocked(m, stored)
			a := t.actor
			cause := &ErrorInfo{Kind: ErrKindActorDied, Task: t.spec.Func, Message: "the actor's node died", Cause: e}
			n.actorNodeDiedLocked(a, node, cause)
			if t.retries != 0 && a.state != aDead {
				// MaxTaskRetries: the call runs again on the restarted actor.
				if t.retries > 0 {
					t.retries--
				}
				t.state = tWaiting
				a.queue = append([]*taskEntry{t}, a.queue...)
				n.pumpActorLocked(a)
			} else {
				n.failTaskLocked(t, cause)
			}
		case e != nil:
			n.discardStoredLocked(m, stored)
			n.failTaskLocked(t, e)
		default:
			n.completeLocked(t, m, stored)
		}
		n.scheduleLocked()
	})
}

// placeActorRemoteLocked asks the policy where actor a should live and
// creates it on a peer if that is not here. It reports true if it did.
func (n *Node) placeActorRemoteLocked(a *actorEntry) bool {
	if a.spec.Strategy.Kind == StrategyPlacementGroup {
		return false
	}
	nodes, peers := n.clusterViewLocked()
	if len(peers) == 0 {
		return false
	}
	st := task.Strategy{Kind: task.StrategyKind(a.spec.Strategy.Kind), Node: a.spec.Strategy.Node, Soft: a.spec.Strategy.Soft, Bundle: -1}
	d := n.policy.Place(task.Request{ID: a.id.String(), Demand: task.Resources(a.spec.Resources), Strategy: st}, nodes, n.id)
	target := ""
	switch {
	case d.Outcome == task.Schedule && d.Node != n.id:
		target = d.Node
	case d.Outcome == task.Wait && !fits(a.spec.Resources, n.total):
		// Only a bigger peer can ever hold it: it waits there.
		target, _ = task.FeasibleElsewhere(task.Resources(a.spec.Resources), peers)
	case d.Outcome != task.Infeasible && st.Kind == task.StrategyNodeAffinity && !st.Soft && st.Node != n.id:
		for _, p := range peers {
			if p.ID == st.Node && p.Alive {
				target = st.Node
			}
		}
	}
	if target == "" {
		return false
	}
	n.forwardActorLocked(a, target, a.spec)
	return true
}

// forwardActorLocked creates actor a on peer target from spec (a's own,
// or a copy naming the bundle as the peer holds it) and from then on
// forwards its calls there.
func (n *Node) forwardActorLocked(a *actorEntry, target string, spec *TaskSpec) {
	orig := a.create.spec
	a.create.spec = spec
	fm, ok := n.forwardMessageLocked(a.create)
	a.create.spec = orig
	if !ok {
		return // the actor died of a failed argument
	}
	n.holdInFlightLocked(target, argRefs(fm.Spec)) // borrow.go
	a.remote, a.placed, a.state, a.proxy = target, true, aAlive, true
	a.create.state = tDone
	n.nameMovedLocked(a)
	n.log.Debug("actor placed on a peer", "actor", a.id, "node", target)
	n.hooks.Forward(context.Background(), target, fm, func(_ [][]byte, e *ErrorInfo) {
		if e == nil {
			return
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		n.actorDiedLocked(a, &ErrorInfo{Kind: ErrKindActorDied, Task: a.spec.Func, Message: "creating the actor on node " + target + " failed", Cause: e})
	})
	n.pumpActorLocked(a)
}

// actorProxyLocked records an actor this node does not know (a handle
// passed from another node) and asks the peers where it lives; calls
// queue until the answer.
func (n *Node) actorProxyLocked(id ActorID, fn string) *actorEntry {
	spec := &TaskSpec{ID: id, Kind: KindActorCreate, Func: fn}
	a := &actorEntry{id: id, spec: spec, state: aPending, placed: true, proxy: true}
	a.create = &taskEntry{spec: spec, actor: a, state: tDone}
	n.actors[id] = a
	n.locateActorLocked(a)
	return a
}

// actorNodeDiedLocked handles the death of the node actor a lived on
// (reported once per call in flight there; the first report acts). The
// actor's owner restarts it on another node while MaxRestarts allows; a
// node that only held a handle looks for it again.
func (n *Node) actorNodeDiedLocked(a *actorEntry, node string, cause *ErrorInfo) {
	if a.state == aDead || !a.proxy || a.remote != node {
		return
	}
	if a.owner == nil {
		a.remote, a.state = "", aPending
		n.locateActorLocked(a)
		return
	}
	if a.noRestart || a.restarts == 0 {
		n.actorDiedLocked(a, cause)
		return
	}
	if a.restarts > 0 {
		a.restarts--
	}
	n.log.Info("restarting an actor whose node died", "actor", a.id, "node", node, "restarts_left", a.restarts)
	a.remote, a.proxy, a.placed, a.state = "", false, false, aPending
	a.create.state = tWaiting
	n.placeActorLocked(a)
	n.nameMovedLocked(a) // names.go: where it runs now, if it has a name
}

// PeerGone tells the node that a peer died or left: the actors that lived
// there restart elsewhere (their owner's MaxRestarts allowing) or are
// looked for again, before any call has to fail to notice. Tasks
// forwarded there are failed by the cluster hooks.
func (n *Node) PeerGone(node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	// Bundles first, so that actors restarting below find them re-placed
	// or wait for them.
	n.pgPeerGoneLocked(node)
	n.lineagePeerGoneLocked(node) // lineage.go: its objects are rebuilt or lost
	n.borrowPeerGoneLocked(node)  // borrow.go: its borrows and in-flight holds end
	for _, a := range n.actors {
		if a.proxy && a.remote == node {
			n.actorNodeDiedLocked(a, node, &ErrorInfo{Kind: ErrKindActorDied, Task: a.spec.Func, Message: "the actor's node " + node + " died"})
		}
	}
}

// PeersChanged tells the node that the set of peers work may be placed on
// changed (one became reachable again, or joined): actors and placement
// groups waiting for room try again.
func (n *Node) PeersChanged() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.scheduleLocked()
}

// locateActorLocked asks the peers where proxy a's actor lives.
func (n *Node) locateActorLocked(a *actorEntry) {
	id := a.id
	n.hooks.LocateActor(context.Background(), id, func(node string, err error) {
		n.mu.Lock()
		defer n.mu.Unlock()
		if a.state != aPending {
			return
		}
		if err != nil {
			n.actorDiedLocked(a, &ErrorInfo{Kind: ErrKindActorNotFound, Message: fmt.Sprintf("no node has actor %s: %v", id, err)})
			delete(n.actors, id) // a later handle may find it after all
			return
		}
		a.remote, a.state = node, aAlive
		n.pumpActorLocked(a)
	})
}

// HasActor reports whether actor id lives on this node (not a proxy of
// an actor elsewhere) and is not dead.
func (n *Node) HasActor(id ActorID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	a := n.actors[id]
	return a != nil && !a.proxy && a.state != aDead
}

// KillActor kills actor id on this node, as Kill does; a peer asks for it
// when the actor's owner kills it or exits.
func (n *Node) KillActor(id ActorID, noRestart bool, reason string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	a := n.actors[id]
	if a == nil {
		return fmt.Errorf("runtime: no actor %s", id)
	}
	n.killActorLocked(a, noRestart, reason)
	return nil
}

// addFwdDemandLocked counts (sign 1) or uncounts (-1) work forwarded to
// node that has not finished.
func (n *Node) addFwdDemandLocked(node string, demand map[string]float64, sign float64) {
	if len(demand) == 0 {
		return
	}
	d := n.fwdDemand[node]
	if d == nil {
		d = map[string]float64{}
		n.fwdDemand[node] = d
	}
	addRes(d, demand, sign)
	for _, v := range d {
		if v > 1e-9 || v < -1e-9 {
			return
		}
	}
	delete(n.fwdDemand, node)
}

// NamedActor returns the ID and class of the live actor named name that
// lives on this node (not a proxy of one elsewhere).
func (n *Node) NamedActor(name string) (ActorID, string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	id, ok := n.named[name]
	a := n.actors[id]
	if !ok || a == nil || a.proxy || a.state == aDead {
		return ActorID{}, "", false
	}
	return id, a.spec.Func, true
}
