package runtime

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/goray/goray/runtime/task"
)

// Placement groups across nodes.
//
// The node whose client creates a group owns it: it places the bundles
// with the task package over itself and its peers (as broadcast), then
// asks each peer that got bundles to reserve them (ReservePG: the peer
// records a group of the same ID holding just its bundles, renumbered
// 0..k-1, and takes their resources from its own ledger). Only when every
// peer has said yes does the owner commit its own bundles; if any refuses
// (its resources moved since its last broadcast), the owner releases the
// ones that were reserved and tries again later. So a group is reserved
// atomically: all bundles or none, as Ray's two-phase commit does.
//
// A group that cannot be placed now, or cannot be placed on the live
// nodes at all (STRICT_SPREAD with more bundles than nodes), stays
// pending while the node is part of a cluster, since nodes may free
// resources or join; Ready waits and its caller's ctx bounds the wait.
//
// A task scheduled into bundle i runs where bundle i lives: the owner
// forwards it to that node naming the peer's own index for the bundle.
// A task for any bundle (-1) runs in one of the owner's own bundles if it
// has one, else in the first peer's. Actors go the same way
// (placeActorInBundleLocked) and hold their resources out of the bundle.
//
// When a peer dies, the bundles it held are unplaced (the group is
// RESCHEDULING) and placed again over the live nodes with the same
// two-phase reservation, under a new reservation ID, since a surviving
// peer may already hold other bundles of the group under its own ID.
// Actors in those bundles wait until then.

// pgRetryDelay spaces placement attempts of a pending group; peers'
// availability changes do not wake the owner otherwise.
const pgRetryDelay = 300 * time.Millisecond

// bundleRef names where one bundle of a group lives in its node's
// PGTable: the ID the node holds it under (the group's own ID, or a
// reservation ID for bundles re-placed after their node died, since a
// node may then hold two reservations of one group) and its index there.
type bundleRef struct {
	pg  string
	idx int
}

// pgPlacingLocked reports whether group id waits for placement: never
// placed yet, or some bundles lost with their node.
func (n *Node) pgPlacingLocked(id string) bool {
	st, ok := n.pgs.State(id)
	return ok && (st == task.PGPending || st == task.PGRescheduling)
}

// tryPlacePGClusterLocked places group id (all its bundles while pending,
// the lost ones while rescheduling) over the cluster. It reports false if
// the local path should handle it (no peers).
func (n *Node) tryPlacePGClusterLocked(id string) bool {
	if n.pgReserving[id] {
		return true
	}
	nodes, peers := n.clusterViewLocked()
	if len(peers) == 0 {
		return false
	}
	assign, outcome, _ := n.pgs.Place(id, nodes)
	if outcome != task.Schedule {
		n.retryPGLaterLocked(id)
		return true
	}
	fresh := make([]bool, len(assign))
	perPeer := map[string][]int{}
	for i, node := range assign {
		if b, err := n.pgs.Bundle(id, i); err == nil && b.Node == "" {
			fresh[i] = true
			if node != n.id {
				perPeer[node] = append(perPeer[node], i)
			}
		}
	}
	hosted := id
	if st, _ := n.pgs.State(id); st == task.PGRescheduling {
		// The peer may still hold this group's other bundles under id.
		n.pgGen++
		hosted = fmt.Sprintf("%s~%d", id, n.pgGen)
	}
	if len(perPeer) == 0 {
		n.finishPGReserveLocked(id, hosted, assign, fresh, perPeer, nil, false)
		return true
	}
	n.pgReserving[id] = true
	pending := len(perPeer)
	failed := false
	var reserved []string
	for node, idxs := range perPeer {
		bundles := make([]map[string]float64, len(idxs))
		for j, i := range idxs {
			b, _ := n.pgs.Bundle(id, i)
			bundles[j] = map[string]float64(b.Total)
		}
		n.hooks.ReservePG(context.Background(), node, hosted, bundles, func(err error) {
			n.mu.Lock()
			defer n.mu.Unlock()
			if err != nil {
				failed = true
				n.log.Debug("peer refused placement group bundles", "pg", hosted, "node", node, "err", err)
			} else {
				reserved = append(reserved, node)
			}
			if pending--; pending > 0 {
				return
			}
			delete(n.pgReserving, id)
			n.finishPGReserveLocked(id, hosted, assign, fresh, perPeer, reserved, failed)
		})
	}
	return true
}

// finishPGReserveLocked commits group id's fresh bundles once every peer
// has answered, or rolls the reservations (held under hosted) back.
func (n *Node) finishPGReserveLocked(id, hosted string, assign []string, fresh []bool, perPeer map[string][]int, reserved []string, failed bool) {
	placing := n.pgPlacingLocked(id)
	if n.stopped || !placing {
		failed = true // removed while reserving
	}
	if !failed {
		var mine task.Resources
		for i, node := range assign {
			if node == n.id && fresh[i] {
				b, _ := n.pgs.Bundle(id, i)
				mine = mine.Add(b.Total)
			}
		}
		failed = !fits(mine, n.avail)
	}
	if failed {
		for _, node := range reserved {
			n.hooks.ReleasePG(context.Background(), node, hosted)
		}
		if placing {
			n.retryPGLaterLocked(id)
		}
		return
	}
	reserve, err := n.pgs.Commit(id, assign)
	if err != nil {
		for _, node := range reserved {
			n.hooks.ReleasePG(context.Background(), node, hosted)
		}
		n.log.Error("commit placement group", "pg", id, "err", err)
		return
	}
	addRes(n.avail, reserve[n.id], -1)
	local := n.pgLocal[id]
	if local == nil {
		local = make([]bundleRef, len(assign))
	}
	for i, node := range assign {
		switch {
		case !fresh[i]:
		case node == n.id:
			local[i] = bundleRef{pg: id, idx: i}
		default:
			local[i] = bundleRef{pg: hosted, idx: slices.Index(perPeer[node], i)}
		}
	}
	n.pgLocal[id] = local
	n.waitingPGs--
	for _, w := range n.pgWait[id] {
		w.s.send(&msg{t: mReply, req: w.req})
	}
	n.pgWait[id] = nil
	n.log.Debug("placement group reserved across nodes", "pg", id, "nodes", assign)
	n.unparkPGTasksLocked(id, false)
	n.scheduleLocked()
}

// retryPGLaterLocked schedules another placement attempt of group id.
func (n *Node) retryPGLaterLocked(id string) {
	if n.pgRetry[id] || n.stopped {
		return
	}
	n.pgRetry[id] = true
	time.AfterFunc(pgRetryDelay, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		delete(n.pgRetry, id)
		if n.stopped {
			return
		}
		if n.pgPlacingLocked(id) {
			_ = n.tryPlacePGLocked(id)
		}
	})
}

// releaseRemoteBundlesLocked gives back the bundles peers hold for group id.
func (n *Node) releaseRemoteBundlesLocked(id string) {
	if n.hooks == nil {
		return
	}
	local := n.pgLocal[id]
	seen := map[[2]string]bool{}
	for i := range n.pgs.NumBundles(id) {
		b, err := n.pgs.Bundle(id, i)
		if err != nil || b.Node == "" || b.Node == n.id || i >= len(local) {
			continue
		}
		k := [2]string{b.Node, local[i].pg}
		if seen[k] {
			continue
		}
		seen[k] = true
		n.hooks.ReleasePG(context.Background(), b.Node, local[i].pg)
	}
	delete(n.pgLocal, id)
}

// pgPeerGoneLocked handles the death of node for placement groups: the
// bundles this node's groups had there are placed again on the live nodes
// (as Ray reschedules a dead node's bundles), and the bundles this node
// held for groups node owned are given back.
func (n *Node) pgPeerGoneLocked(node string) {
	was := map[string]bool{}
	for _, id := range n.pgs.Pending() {
		was[id] = true
	}
	for id, owner := range n.pgHosted {
		if owner == node {
			n.releaseHostedLocked(id)
		}
	}
	for _, id := range n.pgs.NodeDied(node) {
		if !was[id] {
			n.waitingPGs++
		}
		n.log.Info("placing again the placement group bundles of a dead node", "pg", id, "node", node)
		_ = n.tryPlacePGLocked(id)
	}
}

// bundleCandidatesLocked lists the bundles an actor or task in bundle b
// of group pg may use (all of them for -1).
func (n *Node) bundleCandidatesLocked(pg string, b int) []int {
	if b >= 0 {
		return []int{b}
	}
	out := make([]int, n.pgs.NumBundles(pg))
	for i := range out {
		out[i] = i
	}
	return out
}

// placeActorInBundleLocked places actor a, whose strategy names a
// placement group bundle, where that bundle lives: here, taking its
// resources out of the bundle, or (on the group's owner) on the peer that
// holds the bundle, which does the same there. An actor whose bundle is
// not placed (the group is pending, or its node died and it is being
// placed again) waits for it.
func (n *Node) placeActorInBundleLocked(a *actorEntry) {
	st := a.spec.Strategy
	if _, ok := n.pgs.State(st.PG); !ok {
		n.actorDiedLocked(a, &ErrorInfo{Kind: ErrKindInfeasible, Task: a.spec.Func, Message: "no placement group " + st.PG})
		return
	}
	if st.Bundle >= n.pgs.NumBundles(st.PG) {
		n.actorDiedLocked(a, &ErrorInfo{Kind: ErrKindInfeasible, Task: a.spec.Func,
			Message: fmt.Sprintf("placement group %s has no bundle %d", st.PG, st.Bundle)})
		return
	}
	var need task.Resources
	if a.spec.ResourcesSet {
		need = task.Resources(a.spec.Resources)
	}
	cands := n.bundleCandidatesLocked(st.PG, st.Bundle)
	for _, b := range cands {
		info, err := n.pgs.Bundle(st.PG, b)
		if err != nil {
			continue
		}
		if st.Bundle >= 0 && !need.Fits(info.Total) {
			n.actorDiedLocked(a, &ErrorInfo{Kind: ErrKindInfeasible, Task: a.spec.Func,
				Message: fmt.Sprintf("actor needs %v; bundle %d of placement group %s has %v", need, b, st.PG, info.Total)})
			return
		}
		if info.Node != n.id || n.pgs.Acquire(st.PG, b, need) != nil {
			continue
		}
		n.stopWaitingLocked(a)
		a.holdsPG, a.holdsBundle, a.holds = st.PG, b, map[string]float64(need)
		n.launchActorLocked(a)
		return
	}
	if n.hooks != nil && !a.owner.forwarded {
		local := n.pgLocal[st.PG]
		for _, b := range cands {
			info, err := n.pgs.Bundle(st.PG, b)
			if err != nil || info.Node == "" || info.Node == n.id || b >= len(local) || !n.peerAliveLocked(info.Node) {
				continue // a bundle on a node that stopped answering is placed again once it is declared dead
			}
			n.stopWaitingLocked(a)
			spec := *a.spec
			spec.Strategy.PG, spec.Strategy.Bundle = local[b].pg, local[b].idx
			n.forwardActorLocked(a, info.Node, &spec)
			return
		}
	}
	if !a.waitPlace {
		a.waitPlace = true
		n.waitingActors++
	}
}

// peerAliveLocked reports whether the membership lists node as alive.
func (n *Node) peerAliveLocked(node string) bool {
	for _, p := range n.hooks.Peers() {
		if p.ID == node {
			return p.Alive
		}
	}
	return false
}

// stopWaitingLocked takes a out of the actors waiting for placement.
func (n *Node) stopWaitingLocked(a *actorEntry) {
	if a.waitPlace {
		a.waitPlace = false
		n.waitingActors--
	}
}

// routePGTaskLocked forwards t, scheduled into a bundle that lives on a
// peer, to that peer. It reports true if it did, or if t waits for its
// bundle, lost with its node, to be placed again.
func (n *Node) routePGTaskLocked(t *taskEntry) bool {
	st := t.spec.Strategy
	local, ok := n.pgLocal[st.PG]
	if !ok || n.hooks == nil {
		return false
	}
	b := st.Bundle
	if b < 0 {
		for i := range local {
			info, err := n.pgs.Bundle(st.PG, i)
			if err != nil {
				continue
			}
			if info.Node == n.id {
				return false // runs in one of this node's bundles
			}
			if b < 0 && info.Node != "" {
				b = i
			}
		}
		if b < 0 {
			return n.parkPGTaskLocked(t)
		}
	}
	if b >= len(local) {
		return false // the local path reports the bad index
	}
	info, err := n.pgs.Bundle(st.PG, b)
	if err != nil || info.Node == n.id {
		return false
	}
	if info.Node == "" {
		return n.parkPGTaskLocked(t)
	}
	spec := *t.spec
	spec.Strategy.PG, spec.Strategy.Bundle = local[b].pg, local[b].idx
	if st.Bundle < 0 {
		spec.Strategy.Bundle = -1
	}
	orig := t.spec
	t.spec = &spec
	n.forwardLocked(t, info.Node)
	t.spec = orig
	return true
}

// parkPGTaskLocked holds t until its group's lost bundles are placed
// again (unparkPGTasksLocked). It reports false if the group is not being
// placed, for the local path to handle.
func (n *Node) parkPGTaskLocked(t *taskEntry) bool {
	if !n.pgPlacingLocked(t.spec.Strategy.PG) {
		return false
	}
	t.state = tWaiting
	n.pgParked[t.spec.Strategy.PG] = append(n.pgParked[t.spec.Strategy.PG], t)
	return true
}

// unparkPGTasksLocked routes the tasks that waited for group id's
// bundles again, once they are placed (or fails them if the group was
// removed).
func (n *Node) unparkPGTasksLocked(id string, removed bool) {
	parked := n.pgParked[id]
	delete(n.pgParked, id)
	for _, t := range parked {
		switch {
		case t.state == tDone: // cancelled meanwhile
		case removed:
			n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindCancelled, Task: t.spec.Func, Message: "task cancelled: placement group " + id + " removed"})
		default:
			n.enqueueLocked(t)
		}
	}
}

// ReservePG reserves bundles here for a placement group a peer owns (its
// ID, bundles renumbered 0..k-1). It fails if they do not fit now.
func (n *Node) ReservePG(owner, id string, bundles []map[string]float64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return ErrStopped
	}
	if n.pgHosted[id] == owner {
		// The owner asks again only after it counted the last attempt as
		// refused (its reply was lost or late): that reservation is
		// stale, and keeping it would leak it and refuse this one.
		n.releaseHostedLocked(id)
	}
	bs := make([]task.Resources, len(bundles))
	var sum task.Resources
	for i, b := range bundles {
		bs[i] = task.Resources(b)
		sum = sum.Add(bs[i])
	}
	if !fits(sum, n.avail) {
		return fmt.Errorf("placement group %s: bundles %v do not fit in %v", id, bundles, n.avail)
	}
	if err := n.pgs.Add(id, bs, task.StrictPack); err != nil {
		return err
	}
	assign := make([]string, len(bs))
	for i := range assign {
		assign[i] = n.id
	}
	reserve, err := n.pgs.Commit(id, assign)
	if err != nil {
		_, _ = n.pgs.Remove(id)
		return err
	}
	addRes(n.avail, reserve[n.id], -1)
	n.pgHosted[id] = owner
	return nil
}

// ReleasePG gives back the bundles this node holds for a peer's group.
func (n *Node) ReleasePG(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.releaseHostedLocked(id)
}

// releaseHostedLocked gives back the bundles this node holds for a
// peer's group (reservation id), killing the actors and tasks in them
// (the group was removed, or its owner died).
func (n *Node) releaseHostedLocked(id string) {
	if _, ok := n.pgHosted[id]; !ok {
		return
	}
	n.killPGWorkLocked(id)
	delete(n.pgHosted, id)
	release, err := n.pgs.Remove(id)
	if err != nil {
		return
	}
	addRes(n.avail, release[n.id], 1)
	n.scheduleLocked()
}
