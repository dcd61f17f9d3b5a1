package runtime

import (
	"fmt"
	"slices"
)

// Removing a placement group kills what runs in it.
//
// Ray's rule: "all actors and tasks that use the reserved resources are
// killed when the placement group is removed". A group's bundles may live
// on several nodes, so each node clears what it runs in its own share:
// the owner when RemovePlacementGroup reaches it (removePGLocked), each
// peer when the owner gives back the bundles it held (ReleasePG, under the
// ID the peer holds them by). The owner also fails at once, as cancelled,
// the tasks it forwarded into a peer's bundle and kills (for good) the
// actors it placed there, so a caller's Get never waits on a peer that is
// slow to hear of the removal; the peer's own clearing frees its CPUs.
//
// Actors die for good whatever their MaxRestarts (their bundle is gone);
// their calls fail with ActorDied. Tasks fail as cancelled; a task running
// in a worker has that worker killed (the task may ignore its context, and
// the resources it uses are given back now). Resources come back with the
// group's reservation (PGTable.Remove returns the bundles' totals), so the
// releases of the killed work, which find the group gone, add nothing.

// killPGWorkLocked kills the actors and cancels the normal tasks that use
// group id (as this node's PGTable names it) on this node, and forgets the
// group's task queues. Call it before the group leaves the PGTable.
func (n *Node) killPGWorkLocked(id string) {
	reason := "placement group " + id + " removed"
	var actors []*actorEntry
	for _, a := range n.actors {
		if a.state == aDead {
			continue
		}
		if a.holdsPG == id || (a.spec.Strategy.Kind == StrategyPlacementGroup && a.spec.Strategy.PG == id) {
			actors = append(actors, a)
		}
	}
	for _, a := range actors {
		n.log.Debug("killing an actor of a removed placement group", "actor", a.id, "pg", id)
		n.killActorLocked(a, true, reason)
	}
	var tasks []*taskEntry
	for _, t := range n.tasks {
		if t.state != tDone && t.spec.Kind == KindNormal &&
			t.spec.Strategy.Kind == StrategyPlacementGroup && t.spec.Strategy.PG == id {
			tasks = append(tasks, t)
		}
	}
	var workers []*workerProc
	for _, t := range tasks {
		t.cancelled = true
		if w := t.worker; t.state == tPushed && w != nil && w.sess != nil && !slices.Contains(workers, w) {
			workers = append(workers, w)
		}
		if t.state == tPushed && t.worker == nil && t.fwdNode != "" && n.hooks != nil {
			n.hooks.CancelForwarded(t.fwdNode, t.spec.ID, true)
		}
		n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindCancelled, Task: t.spec.Func, Message: "task cancelled: " + reason})
	}
	// Every task these workers hold was leased out of the group's queues,
	// so all of them were just cancelled: killing the process ends the
	// ones that ignore their context, and its death (workerDiedLocked)
	// drops them as cancelled.
	for _, w := range workers {
		w.kill()
	}
	n.dropPGQueuesLocked(id)
}

// dropPGQueuesLocked forgets the shape queues of group id: every task in
// them is done, and none can be queued there again once the group is gone
// (failNoPGLocked), so keeping them would only leak.
func (n *Node) dropPGQueuesLocked(id string) {
	keep := n.shapeOrder[:0]
	for _, key := range n.shapeOrder {
		if sq := n.queues[key]; sq != nil && sq.pg == id {
			delete(n.queues, key)
			continue
		}
		keep = append(keep, key)
	}
	clear(n.shapeOrder[len(keep):])
	n.shapeOrder = keep
}

// failNoPGLocked fails t, a normal task scheduled into a placement group,
// if that group does not exist here (never created, or removed) or has no
// such bundle: it could only wait forever. It reports whether it did.
func (n *Node) failNoPGLocked(t *taskEntry) bool {
	st := t.spec.Strategy
	if st.Kind != StrategyPlacementGroup {
		return false
	}
	if _, ok := n.pgs.State(st.PG); !ok {
		n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindInfeasible, Task: t.spec.Func,
			Message: "no placement group " + st.PG + " (never created, or removed)"})
		return true
	}
	if st.Bundle >= n.pgs.NumBundles(st.PG) {
		n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindInfeasible, Task: t.spec.Func,
			Message: fmt.Sprintf("placement group %s has no bundle %d", st.PG, st.Bundle)})
		return true
	}
	return false
}
