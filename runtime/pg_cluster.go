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
// has one, else in the first peer's.

// pgRetryDelay spaces placement attempts of a pending group; peers'
// availability changes do not wake the owner otherwise.
const pgRetryDelay = 300 * time.Millisecond

// tryPlacePGClusterLocked places group id over the cluster. It reports
// false if the local path should handle it (no peers, or every bundle
// goes here).
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
	perPeer := map[string][]int{}
	for i, node := range assign {
		if node != n.id {
			perPeer[node] = append(perPeer[node], i)
		}
	}
	if len(perPeer) == 0 {
		return false
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
		n.hooks.ReservePG(context.Background(), node, id, bundles, func(err error) {
			n.mu.Lock()
			defer n.mu.Unlock()
			if err != nil {
				failed = true
				n.log.Debug("peer refused placement group bundles", "pg", id, "node", node, "err", err)
			} else {
				reserved = append(reserved, node)
			}
			if pending--; pending > 0 {
				return
			}
			delete(n.pgReserving, id)
			n.finishPGReserveLocked(id, assign, perPeer, reserved, failed)
		})
	}
	return true
}

// finishPGReserveLocked commits group id once every peer has answered, or
// rolls the reservations back.
func (n *Node) finishPGReserveLocked(id string, assign []string, perPeer map[string][]int, reserved []string, failed bool) {
	st, ok := n.pgs.State(id)
	if n.stopped || !ok || st != task.PGPending {
		failed = true // removed while reserving
	}
	if !failed {
		var mine task.Resources
		for i, node := range assign {
			if node == n.id {
				b, _ := n.pgs.Bundle(id, i)
				mine = mine.Add(b.Total)
			}
		}
		failed = !fits(mine, n.avail)
	}
	if failed {
		for _, node := range reserved {
			n.hooks.ReleasePG(context.Background(), node, id)
		}
		if ok && st == task.PGPending {
			n.retryPGLaterLocked(id)
		}
		return
	}
	reserve, err := n.pgs.Commit(id, assign)
	if err != nil {
		for _, node := range reserved {
			n.hooks.ReleasePG(context.Background(), node, id)
		}
		n.log.Error("commit placement group", "pg", id, "err", err)
		return
	}
	addRes(n.avail, reserve[n.id], -1)
	local := make([]int, len(assign))
	for i, node := range assign {
		local[i] = i
		if node != n.id {
			local[i] = slices.Index(perPeer[node], i)
		}
	}
	n.pgLocal[id] = local
	n.waitingPGs--
	for _, w := range n.pgWait[id] {
		w.s.send(&msg{t: mReply, req: w.req})
	}
	n.pgWait[id] = nil
	n.log.Debug("placement group reserved across nodes", "pg", id, "nodes", assign)
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
		if st, ok := n.pgs.State(id); ok && st == task.PGPending {
			_ = n.tryPlacePGLocked(id)
		}
	})
}

// releaseRemoteBundlesLocked gives back the bundles peers hold for group id.
func (n *Node) releaseRemoteBundlesLocked(id string) {
	if n.hooks == nil {
		return
	}
	seen := map[string]bool{}
	for i := range n.pgs.NumBundles(id) {
		b, err := n.pgs.Bundle(id, i)
		if err != nil || b.Node == "" || b.Node == n.id || seen[b.Node] {
			continue
		}
		seen[b.Node] = true
		n.hooks.ReleasePG(context.Background(), b.Node, id)
	}
	delete(n.pgLocal, id)
}

// routePGTaskLocked forwards t, scheduled into a bundle that lives on a
// peer, to that peer. It reports true if it did.
func (n *Node) routePGTaskLocked(t *taskEntry) bool {
	st := t.spec.Strategy
	local, ok := n.pgLocal[st.PG]
	if !ok || n.hooks == nil {
		return false
	}
	b := st.Bundle
	if b < 0 {
		for i := range local {
			if info, err := n.pgs.Bundle(st.PG, i); err == nil && info.Node == n.id {
				return false // runs in one of this node's bundles
			}
		}
		b = 0
	}
	if b >= len(local) {
		return false // the local path reports the bad index
	}
	info, err := n.pgs.Bundle(st.PG, b)
	if err != nil || info.Node == n.id || info.Node == "" {
		return false
	}
	spec := *t.spec
	spec.Strategy.Bundle = local[b]
	if st.Bundle < 0 {
		spec.Strategy.Bundle = -1
	}
	orig := t.spec
	t.spec = &spec
	n.forwardLocked(t, info.Node)
	t.spec = orig
	return true
}

// ReservePG reserves bundles here for a placement group a peer owns (its
// ID, bundles renumbered 0..k-1). It fails if they do not fit now.
func (n *Node) ReservePG(owner, id string, bundles []map[string]float64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return ErrStopped
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
	if _, ok := n.pgHosted[id]; !ok {
		return
	}
	delete(n.pgHosted, id)
	release, err := n.pgs.Remove(id)
	if err != nil {
		return
	}
	addRes(n.avail, release[n.id], 1)
	n.scheduleLocked()
}
