package runtime

import (
	"context"

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
	// called from any goroutine. A failure of kind ErrKindWorkerCrashed
	// (the node died) is retried here while the task has retries left.
	Forward(ctx context.Context, node string, f *ForwardMessage, done func(results [][]byte, err *ErrorInfo))
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
	if n.hooks == nil || t.spec.Kind != KindNormal || t.spec.Strategy.Kind == StrategyPlacementGroup {
		return false
	}
	peers := n.hooks.Peers()
	if len(peers) == 0 {
		return false
	}
	self := task.NodeView{ID: n.id, Total: n.total, Available: task.Resources(n.avail), Alive: true}
	nodes := append([]task.NodeView{self}, peers...)
	st := task.Strategy{Kind: task.StrategyKind(t.spec.Strategy.Kind), Node: t.spec.Strategy.Node, Soft: t.spec.Strategy.Soft, Bundle: -1}
	d := n.policy.Place(task.Request{ID: t.spec.ID.String(), Demand: task.Resources(t.spec.Resources), Strategy: st}, nodes, n.id)
	switch {
	case d.Outcome == task.Infeasible:
		n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindInfeasible, Task: t.spec.Func, Message: d.Reason})
		return true
	case d.Outcome == task.Schedule && d.Node != n.id:
		n.forwardLocked(t, d.Node)
		return true
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

// forwardLocked sends t to a peer with its arguments inlined.
func (n *Node) forwardLocked(t *taskEntry, node string) {
	spec := *t.spec
	spec.Args = make([]Arg, len(t.spec.Args))
	for i, a := range t.spec.Args {
		if !a.IsRef {
			spec.Args[i] = a
			continue
		}
		o := n.objects[a.Ref]
		if o == nil {
			n.failTaskLocked(t, argFailed(t.spec, i, lostInfo(a.Ref, "object freed")))
			return
		}
		data := o.data
		if o.inStore {
			obj, err := n.store.Get(context.Background(), a.Ref)
			if err != nil {
				n.failTaskLocked(t, argFailed(t.spec, i, lostInfo(a.Ref, err.Error())))
				return
			}
			data = append([]byte(nil), obj.Bytes()...)
			obj.Release()
		}
		spec.Args[i] = Arg{Data: data}
	}
	t.state = tPushed
	bin := t.owner.bin
	if bin == "" {
		bin = n.defaultBinaryHash()
	}
	spec.Contained = nil // refs nested in arguments are not shipped (yet)
	n.hooks.Forward(context.Background(), node, &ForwardMessage{Spec: &spec, Binary: bin}, func(results [][]byte, e *ErrorInfo) {
		stored := make([]bool, len(results))
		for i, r := range results {
			if n.isLarge(len(r)) && n.storeLarge(t.spec.ID.ReturnID(i), r) == nil {
				stored[i] = true
			}
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if t.state != tPushed {
			return
		}
		m := &msg{tid: t.spec.ID, err: e}
		for _, r := range results {
			m.results = append(m.results, wireResult{data: r})
		}
		switch {
		case t.cancelled:
			n.discardStoredLocked(m, stored)
			n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindCancelled, Task: t.spec.Func, Message: "task cancelled"})
		case e != nil && e.Kind == ErrKindWorkerCrashed && t.retries != 0:
			// The node died with the task: run it here (a retried task is
			// not placed remotely again).
			n.discardStoredLocked(m, stored)
			if t.retries > 0 {
				t.retries--
			}
			t.state = tWaiting
			n.enqueueLocked(t)
		case e != nil:
			n.discardStoredLocked(m, stored)
			n.failTaskLocked(t, e)
		default:
			n.completeLocked(t, m, stored)
		}
		n.scheduleLocked()
	})
}
