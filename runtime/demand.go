package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/goray/goray/runtime/task"
)

// Pending demand: work that is ready to run but waits for resources, as
// `goray status` lists it under "Demands:" and as the submitter's warning
// reports it (Ray's "The following resource request cannot be scheduled
// right now").
//
// The node has no scheduler goroutine, so the warning check runs on a
// timer chain (time.AfterFunc, rescheduled by itself) that stops with the
// node: nothing to wait for in Stop, nothing on the submission hot path.
//
// Work forwarded here waits in this node's queues, but its submitter is a
// driver of the owner node: the warning goes back there through the
// cluster hooks (WarningRelay) and the owner delivers it (DeliverWarning)
// with the same once-per-shape rule.

// DefaultPendingWarning is how long work waits for resources before its
// submitter is warned (NodeConfig.PendingWarning).
const DefaultPendingWarning = 10 * time.Second

// mWarning carries a warning for a driver: str = the message. Numbered far
// from the protocol's sequence so that it cannot collide with a message
// type added there meanwhile; never renumber.
const mWarning msgType = 64

// Demand is one resource shape that requests on this node wait for, and
// how many wait for it: tasks queued for lack of resources (not those
// waiting for their arguments), in the node's queues or pipelined behind
// the running task of a worker, actors waiting to be placed, and the
// bundles of placement groups waiting for room.
type Demand struct {
	Shape map[string]float64
	Count int
	// Oldest is how long the longest-waiting request of this shape has
	// waited, as far as the warning check has seen (0 before it has).
	Oldest time.Duration
}

// demandWatch is the node's record for the pending warning, guarded by
// Node.mu.
type demandWatch struct {
	tracker *task.PendingDemand
	// owners maps a tracked request to whom its warning goes.
	owners map[string]*session
	// warned: shapes already reported to a session (once per shape).
	warned map[*session]map[string]bool
	period time.Duration
}

// pendingWarningAfter is the configured warning timeout (0: default,
// negative: no warnings).
func (n *Node) pendingWarningAfter() time.Duration {
	if n.cfg.PendingWarning == 0 {
		return DefaultPendingWarning
	}
	return n.cfg.PendingWarning
}

// startDemandWatch arms the warning check; Start calls it.
func (n *Node) startDemandWatch() {
	after := n.pendingWarningAfter()
	if after < 0 {
		return
	}
	// Checked four times per timeout, at most once a second, so a warning
	// comes at most a quarter late and an idle node costs nothing much.
	period := min(max(after/4, 10*time.Millisecond), time.Second)
	n.mu.Lock()
	n.demand = &demandWatch{tracker: task.NewPendingDemand(task.SystemClock{}, after),
		owners: map[string]*session{}, warned: map[*session]map[string]bool{}, period: period}
	n.mu.Unlock()
	time.AfterFunc(period, n.checkPending)
}

// checkPending is one round of the warning check; it reschedules itself
// until the node stops.
func (n *Node) checkPending() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped || n.demand == nil {
		return
	}
	n.checkPendingLocked()
	time.AfterFunc(n.demand.period, n.checkPending)
}

// waitingRequest is one request that waits for resources now.
type waitingRequest struct {
	id    string
	shape task.Resources
	owner *session // nil: nobody to warn (a placement group)
	what  string
}

// waitingLocked lists the requests waiting for resources. For a task queue
// only its head counts: the queue is FIFO, so if the head has not started
// for the whole timeout nothing behind it has, while a queue that moves
// changes its head and so never looks stuck.
func (n *Node) waitingLocked() []waitingRequest {
	var out []waitingRequest
	for _, key := range n.shapeOrder {
		sq := n.queues[key]
		if sq == nil || sq.pg != "" {
			continue
		}
		for i := sq.head; i < len(sq.q); i++ {
			if t := sq.q[i]; t != nil && t.state == tQueued {
				out = append(out, waitingRequest{id: "t:" + t.spec.ID.String(), shape: task.Resources(sq.res),
					owner: t.owner, what: "task " + t.spec.Func})
				break
			}
		}
		// Tasks pipelined behind a worker's running task wait for its
		// CPUs just the same; the next in line stands for each worker.
		for _, w := range sq.leased {
			if len(w.queue) > 1 && pipelined(w.queue[1]) {
				t := w.queue[1]
				out = append(out, waitingRequest{id: "t:" + t.spec.ID.String(), shape: task.Resources(sq.res),
					owner: t.owner, what: "task " + t.spec.Func})
			}
		}
	}
	for _, a := range n.actors {
		if a.waitPlace && a.state == aPending {
			out = append(out, waitingRequest{id: "a:" + a.id.String(), shape: task.Resources(a.spec.Resources),
				owner: a.owner, what: "actor " + a.spec.Func})
		}
	}
	if n.pgs != nil {
		for _, id := range n.pgs.Pending() {
			var shape task.Resources
			for i := 0; i < n.pgs.NumBundles(id); i++ {
				if b, err := n.pgs.Bundle(id, i); err == nil && b.Node == "" {
					shape = shape.Add(b.Total)
				}
			}
			if len(shape) > 0 {
				out = append(out, waitingRequest{id: "pg:" + id, shape: shape, what: "placement group " + id})
			}
		}
	}
	return out
}

func (n *Node) checkPendingLocked() {
	d := n.demand
	now := n.waitingLocked()
	seen := make(map[string]bool, len(now))
	for _, w := range now {
		seen[w.id] = true
		d.tracker.Wait(w.id, w.shape, w.what)
		d.owners[w.id] = w.owner
	}
	for _, it := range d.tracker.Snapshot() {
		if !seen[it.ID] {
			d.tracker.Done(it.ID)
			delete(d.owners, it.ID)
		}
	}
	for s := range d.warned {
		if s.closed {
			delete(d.warned, s)
		}
	}
	for _, it := range d.tracker.Overdue() {
		n.warnPendingLocked(d.owners[it.ID], it)
	}
}

// warnPendingLocked tells the submitter of a request that has waited past
// the timeout, once per session and shape; the node's log records it
// either way.
func (n *Node) warnPendingLocked(s *session, it task.PendingItem) {
	shape := it.Demand.String()
	text := fmt.Sprintf("Warning: The following resource request cannot be scheduled right now: %s (%s, waiting %s). "+
		"This is likely due to all cluster resources being claimed by other tasks and actors; "+
		"`goray status` lists the pending demands. It has not been dropped and runs once resources free up.",
		shape, it.Reason, it.Waited.Round(time.Millisecond))
	n.log.Warn("work waits for resources", "request", it.Reason, "shape", shape, "waited", it.Waited)
	if s == nil || s.closed || !n.firstWarningLocked(s, shape) {
		return
	}
	if !s.forwarded {
		s.send(&msg{t: mWarning, str: text})
		return
	}
	// A forwarded task's submitter is a driver of its owner node: the
	// warning goes back there, if the cluster hooks can carry it.
	relay, ok := n.hooks.(WarningRelay)
	if !ok || s.origin == nil {
		return
	}
	o := *s.origin
	text = strings.Replace(text, "right now: ", "right now on node "+n.id+": ", 1)
	go relay.RelayWarning(o.node, o.task, shape, text)
}

// firstWarningLocked records that session s is warned about shape and
// reports whether it is the first time.
func (n *Node) firstWarningLocked(s *session, shape string) bool {
	w := n.demand.warned[s]
	if w == nil {
		w = map[string]bool{}
		n.demand.warned[s] = w
	}
	if w[shape] {
		return false
	}
	w[shape] = true
	return true
}

// taskOrigin is where a forwarded task came from: its owner node and its
// ID there (for an actor creation, the actor's ID).
type taskOrigin struct {
	node string
	task TaskID
}

// WarningRelay is implemented by cluster hooks that carry a pending-work
// warning from the node whose queue a forwarded task waits in back to the
// task's owner node, which delivers it with DeliverWarning. It is called
// on its own goroutine and may block.
type WarningRelay interface {
	RelayWarning(node string, task TaskID, shape, text string)
}

// DeliverWarning passes a warning a peer relayed about task (a task or an
// actor creation this node forwarded) to the session that submitted it,
// once per session and resource shape, as for work waiting here. It
// reports whether the warning was sent: not when the submitter is gone,
// this node has warnings off (PendingWarning < 0), or the session was
// already warned about shape.
func (n *Node) DeliverWarning(task TaskID, shape, text string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped || n.demand == nil {
		return false
	}
	var s *session
	if t := n.tasks[task]; t != nil {
		s = t.owner
	} else if a := n.actors[task]; a != nil {
		s = a.owner
	}
	if s == nil || s.closed || s.forwarded || !n.firstWarningLocked(s, shape) {
		return false
	}
	n.log.Info("a peer warns that forwarded work waits for resources", "task", task, "shape", shape)
	s.send(&msg{t: mWarning, str: text})
	return true
}

// PendingDemand returns what waits for resources on this node, grouped by
// resource shape, most numerous first: every task queued for lack of
// resources (not those waiting for arguments), every actor waiting to be
// placed and every bundle of a placement group waiting for room.
func (n *Node) PendingDemand() []Demand {
	n.mu.Lock()
	defer n.mu.Unlock()
	idx := map[string]int{}
	var out []Demand
	add := func(shape task.Resources, count int) {
		if count == 0 {
			return
		}
		key := shape.String()
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, Demand{Shape: map[string]float64(shape.Clone())})
		}
		out[i].Count += count
	}
	for _, key := range n.shapeOrder {
		sq := n.queues[key]
		if sq == nil || sq.pg != "" {
			continue
		}
		c := 0
		for i := sq.head; i < len(sq.q); i++ {
			if t := sq.q[i]; t != nil && t.state == tQueued {
				c++
			}
		}
		for _, w := range sq.leased {
			for _, t := range w.queue[min(1, len(w.queue)):] {
				if pipelined(t) {
					c++
				}
			}
		}
		add(task.Resources(sq.res), c)
	}
	for _, a := range n.actors {
		if a.waitPlace && a.state == aPending {
			add(task.Resources(a.spec.Resources), 1)
		}
	}
	if n.pgs != nil {
		for _, id := range n.pgs.Pending() {
			for i := 0; i < n.pgs.NumBundles(id); i++ {
				if b, err := n.pgs.Bundle(id, i); err == nil && b.Node == "" {
					add(b.Total, 1)
				}
			}
		}
	}
	if d := n.demand; d != nil {
		for _, s := range d.tracker.Summary() {
			if i, ok := idx[s.Demand.String()]; ok {
				out[i].Oldest = max(out[i].Oldest, s.Oldest)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return task.Resources(out[i].Shape).String() < task.Resources(out[j].Shape).String()
	})
	return out
}

// onWarning shows a warning the node sent about this client's work: through
// the injected logger, or on stderr when that logger discards (a driver
// must see that its work fits nowhere, as Ray prints it).
func (c *Client) onWarning(m *msg) {
	if h := c.log.Handler(); h == slog.DiscardHandler || !h.Enabled(context.Background(), slog.LevelWarn) {
		fmt.Fprintln(os.Stderr, "goray: "+strings.TrimSpace(m.str))
		return
	}
	c.log.Warn(m.str)
}
