package runtime

// Draining: a node that is about to leave the cluster (gorayd on SIGTERM)
// stops taking new work and gives back the work peers forwarded to it
// that has not started, so that its owners place it elsewhere at no cost
// to the task: a hand-back is not a failure and spends no retry. Running
// work is given time to finish and send its results (runtime/remote's
// Engine.Drain bounds that); what still runs when that time is up is
// handed back too, and its owner runs it again from the start.
//
// Actors hosted on a draining node are not moved: when the node leaves,
// their owners restart them elsewhere exactly as after a node failure,
// and that restart counts against MaxRestarts, as it does in Ray (an
// actor's state is lost either way; MaxRestarts is the user's consent to
// that). Actor calls that run when the node leaves are retried as
// MaxTaskRetries allows.

// ErrKindHandedBack is the outcome of a forwarded task that the node it
// was forwarded to gave back without running it to the end (the node is
// draining). The owner places the task again without spending a retry;
// it never reaches a user. Numbered far from the sequence in spec.go so
// that kinds added there cannot collide with it; never renumber.
const ErrKindHandedBack ErrKind = 200

func handedBack(spec *TaskSpec, node string) *ErrorInfo {
	return &ErrorInfo{Kind: ErrKindHandedBack, Task: spec.Func, Message: "node " + node + " is draining; the task was handed back"}
}

// Draining reports whether StartDrain was called.
func (n *Node) Draining() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.draining
}

// StartDrain marks the node as leaving: from now on, normal tasks that
// peers forward to it are handed back at once (RunForwarded), and the
// forwarded normal tasks that have not started yet are handed back now.
// It returns how many it handed back. Work submitted by this node's own
// clients is not affected.
func (n *Node) StartDrain() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.draining = true
	return n.handBackLocked(false)
}

// HandBackRunning hands back the forwarded normal tasks that still run
// here, when the drain timeout is over: their owners run them again
// elsewhere. Their workers are left to Stop. It returns how many.
func (n *Node) HandBackRunning() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.handBackLocked(true)
}

// handBackLocked fails forwarded normal tasks with ErrKindHandedBack; the
// forwarded session's sink turns that into the reply to the owner. Tasks
// not started always (queued here, or pipelined behind the running task
// of a worker, which is told to drop them); running ones if running.
func (n *Node) handBackLocked(running bool) int {
	var out []*taskEntry
	for _, t := range n.tasks {
		if t.owner == nil || !t.owner.forwarded || t.spec.Kind != KindNormal || t.state == tDone || t.cancelled {
			continue
		}
		if t.state == tPushed && !running && !pipelined(t) {
			continue
		}
		out = append(out, t)
	}
	for _, t := range out {
		if t.state == tPushed && t.worker != nil {
			w := t.worker
			if pipelined(t) && w.sess != nil {
				// Not started: the worker drops it (and reports it
				// cancelled, which finds nothing here any more).
				w.sess.send(&msg{t: mCancelTask, tid: t.spec.ID})
			}
			n.removeFromWorkerLocked(w, t)
			n.unpinLocked(t)
		}
		n.failTaskLocked(t, handedBack(t.spec, n.id))
	}
	if len(out) > 0 {
		n.log.Info("draining: handed forwarded tasks back to their owners", "tasks", len(out), "running", running)
	}
	return len(out)
}

// HostedWork counts the work peers forwarded here that has not finished:
// normal tasks and actor calls, queued or running.
func (n *Node) HostedWork() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, t := range n.tasks {
		if t.owner != nil && t.owner.forwarded && t.state != tDone && t.spec.Kind != KindActorCreate {
			c++
		}
	}
	return c
}

// handBackIfDraining answers a normal task forwarded to a draining node
// with a hand-back (done runs on another goroutine). It reports whether it
// did.
func (n *Node) handBackIfDraining(spec *TaskSpec, done func([][]byte, *ErrorInfo)) bool {
	if spec.Kind != KindNormal {
		return false
	}
	n.mu.Lock()
	draining := n.draining
	n.mu.Unlock()
	if !draining {
		return false
	}
	go done(nil, handedBack(spec, n.id))
	return true
}

// replaceHandedBackLocked places again a task that the peer it was
// forwarded to handed back. It keeps its retries: the task did not fail.
// A task pinned to that node (hard NodeAffinity) cannot run anywhere
// else and fails.
func (n *Node) replaceHandedBackLocked(t *taskEntry, node string, e *ErrorInfo) {
	t.fwdNode = ""
	if t.spec.Strategy.Kind == StrategyNodeAffinity && !t.spec.Strategy.Soft && t.spec.Strategy.Node == node {
		n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindInfeasible, Task: t.spec.Func,
			Message: "the task is pinned (hard NodeAffinity) to node " + node + ", which is draining", Cause: e})
		return
	}
	n.log.Debug("a peer handed a task back; placing it again", "task", t.spec.ID, "func", t.spec.Func, "node", node)
	t.state = tWaiting
	n.enqueueLocked(t)
}

// pipelined reports whether t waits in a task worker's queue behind the
// task that worker runs (a task worker runs its queue in order, one at a
// time), so that it has not started.
func pipelined(t *taskEntry) bool {
	w := t.worker
	if t.state != tPushed || w == nil || w.actor != nil || w.dead {
		return false
	}
	for i, x := range w.queue {
		if x == t {
			return i > 0
		}
	}
	return false
}
