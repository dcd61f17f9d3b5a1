package runtime

import (
	"context"
	"fmt"

	"github.com/goray/goray/runtime/task"
)

type actorState uint8

const (
	aPending    actorState = iota // waiting for arguments, resources or its worker
	aAlive                        // constructor done
	aRestarting                   // worker died; a new one is starting
	aDead
)

// actorEntry is the node's record of an actor: its creation task, its
// dedicated worker and the calls queued for it in arrival order (which
// keeps each caller's submission order).
type actorEntry struct {
	id       ActorID
	spec     *TaskSpec
	create   *taskEntry
	owner    *session
	bin      string // worker pool of the creator's program
	state    actorState
	worker   *workerProc
	restarts int // left; -1 forever
	queue    []*taskEntry
	holds    map[string]float64 // resources held while alive
	// holdsPG: holds came out of bundle holdsBundle of this placement
	// group (as this node's table names it), not out of the node.
	holdsPG     string
	holdsBundle int
	placed      bool
	noRestart   bool
	cause       *ErrorInfo
	waitPlace   bool // queued in pendingActors
	// proxy: the actor lives on node remote ("" while it is being
	// located); this entry forwards its calls there in arrival order.
	proxy  bool
	remote string
	// nameCreated: this node is the registrant of the actor's name,
	// reserved cluster-wide at this time (unix ns): it created the actor,
	// or hosts a detached actor whose creator node died (AdoptName); it
	// announces and releases the name (names.go). 0 otherwise.
	nameCreated int64
}

// createActorLocked registers an actor; the reply is sent by the caller.
func (n *Node) createActorLocked(s *session, spec *TaskSpec) *ErrorInfo {
	if spec.Name != "" {
		if id, ok := n.named[spec.Name]; ok {
			if a := n.actors[id]; a != nil && a.state != aDead {
				return &ErrorInfo{Kind: ErrKindActorExists, Task: spec.Func, Message: fmt.Sprintf("actor named %q already exists", spec.Name)}
			}
		}
	}
	a := &actorEntry{id: spec.ID, spec: spec, owner: s, bin: s.bin, restarts: spec.MaxRestarts, state: aPending}
	t := &taskEntry{spec: spec, owner: s, actor: a, state: tWaiting, submitted: n.stampLocked()}
	t.job = n.taskJobLocked(s, spec) // taskhistory.go: the actor's job
	a.create = t
	n.actors[a.id] = a
	n.tasks[spec.ID] = t
	if spec.Name != "" {
		n.named[spec.Name] = a.id
	}
	s.owned = append(s.owned, a.id)
	if !n.resolveArgsLocked(t) {
		return nil
	}
	if t.missing == 0 {
		n.placeActorLocked(a)
	}
	return nil
}

// placeActorLocked reserves the actor's resources and finds it a worker.
func (n *Node) placeActorLocked(a *actorEntry) {
	if a.state == aDead || a.placed {
		return
	}
	if a.spec.Strategy.Kind == StrategyPlacementGroup {
		n.placeActorInBundleLocked(a)
		return
	}
	if n.hooks != nil && !a.owner.forwarded && n.placeActorRemoteLocked(a) {
		return
	}
	need := a.spec.Resources
	if !fits(need, n.total) {
		n.actorDiedLocked(a, &ErrorInfo{Kind: ErrKindInfeasible, Task: a.spec.Func,
			Message: fmt.Sprintf("actor needs %v; the node has %v", task.Resources(need), n.total)})
		return
	}
	if !fits(need, n.avail) {
		if !a.waitPlace {
			a.waitPlace = true
			n.waitingActors++
		}
		return
	}
	if a.waitPlace {
		a.waitPlace = false
		n.waitingActors--
	}
	a.placed = true
	if a.spec.ResourcesSet {
		a.holds = need
		addRes(n.avail, need, -1)
	}
	n.launchActorLocked(a)
}

// launchActorLocked starts the placed actor a's constructor in an idle
// worker of its program, or in a new one.
func (n *Node) launchActorLocked(a *actorEntry) {
	a.placed = true
	a.create.state = tWaiting
	if i := n.idleIndexLocked(a.bin); i >= 0 {
		w := n.takeIdleLocked(i)
		w.actor = a
		n.taskWorkers--
		n.actorWorkerReadyLocked(a, w)
		return
	}
	if err := n.startWorkerLocked(a, a.bin); err != nil {
		n.actorDiedLocked(a, &ErrorInfo{Kind: ErrKindSystem, Task: a.spec.Func, Message: err.Error()})
	}
}

func (n *Node) placePendingActorsLocked() {
	for _, a := range n.actors {
		if a.waitPlace && a.state == aPending {
			n.placeActorLocked(a)
		}
	}
}

// actorWorkerReadyLocked runs the constructor on a connected worker.
func (n *Node) actorWorkerReadyLocked(a *actorEntry, w *workerProc) {
	if a.state == aDead {
		w.kill()
		return
	}
	a.worker = w
	n.pushLocked(a.create, w)
}

// actorCreatedLocked handles the constructor's outcome.
func (n *Node) actorCreatedLocked(a *actorEntry, e *ErrorInfo) {
	a.create.state = tDone
	if e != nil {
		n.actorDiedLocked(a, &ErrorInfo{Kind: ErrKindActorDied, Task: a.spec.Func, Message: "actor constructor failed", Cause: e})
		return
	}
	a.state = aAlive
	n.pumpActorLocked(a)
}

// pumpActorLocked pushes queued calls whose arguments are ready, in order.
func (n *Node) pumpActorLocked(a *actorEntry) {
	if a.proxy {
		// One stream to the actor's node keeps the order.
		for a.state == aAlive && len(a.queue) > 0 {
			t := a.queue[0]
			if t.state == tDone {
				a.queue = a.queue[1:]
				continue
			}
			if t.missing > 0 {
				return
			}
			a.queue = a.queue[1:]
			n.forwardLocked(t, a.remote)
		}
		return
	}
	for a.state == aAlive && len(a.queue) > 0 && a.worker != nil && !a.worker.dead {
		t := a.queue[0]
		if t.state == tDone {
			a.queue = a.queue[1:]
			continue
		}
		if t.missing > 0 {
			return
		}
		a.queue = a.queue[1:]
		n.pushLocked(t, a.worker)
	}
}

func (n *Node) removeFromActorQueueLocked(t *taskEntry) {
	a := t.actor
	for i, x := range a.queue {
		if x == t {
			a.queue = append(a.queue[:i], a.queue[i+1:]...)
			return
		}
	}
}

// actorWorkerDiedLocked restarts the actor if its budget allows.
func (n *Node) actorWorkerDiedLocked(a *actorEntry, w *workerProc, reason string) {
	if a.worker != w && a.worker != nil {
		return
	}
	inflight := w.queue
	w.queue = nil
	a.worker = nil
	for _, t := range inflight {
		n.unpinLocked(t)
	}
	if a.state == aDead {
		return
	}
	cause := &ErrorInfo{Kind: ErrKindActorDied, Task: a.spec.Func, Message: fmt.Sprintf("actor process (pid %d) died: %s", w.pid, reason)}
	if a.noRestart || a.restarts == 0 {
		n.actorDiedLocked(a, cause)
		for _, t := range inflight {
			if t.spec.Kind == KindActorMethod {
				n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindActorDied, Task: t.spec.Func, Message: "actor died", Cause: cause})
			}
		}
		return
	}
	if a.restarts > 0 {
		a.restarts--
	}
	a.state = aRestarting
	var retry []*taskEntry
	for _, t := range inflight {
		if t.spec.Kind != KindActorMethod {
			continue
		}
		if t.cancelled {
			n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindCancelled, Task: t.spec.Func, Message: "task cancelled"})
			continue
		}
		if t.retries != 0 {
			if t.retries > 0 {
				t.retries--
			}
			t.state = tWaiting
			retry = append(retry, t)
			continue
		}
		n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindActorDied, Task: t.spec.Func, Message: "actor died while running the call", Cause: cause})
	}
	a.queue = append(retry, a.queue...)
	a.create.state = tWaiting
	n.log.Debug("restarting actor", "actor", a.id, "restarts_left", a.restarts)
	if err := n.startWorkerLocked(a, a.bin); err != nil {
		n.actorDiedLocked(a, &ErrorInfo{Kind: ErrKindSystem, Task: a.spec.Func, Message: err.Error()})
	}
}

// actorWorkerReady is also reached on restart via workerHelloLocked; the
// state goes back to alive once the constructor succeeds.

// actorDiedLocked makes a dead for good and fails everything queued.
func (n *Node) actorDiedLocked(a *actorEntry, cause *ErrorInfo) {
	if a.state == aDead {
		return
	}
	a.state = aDead
	a.cause = cause
	if a.waitPlace {
		a.waitPlace = false
		n.waitingActors--
	}
	if a.holdsPG != "" {
		// The group may be gone already (removed, or its owner died).
		_ = n.pgs.Release(a.holdsPG, a.holdsBundle, task.Resources(a.holds))
		a.holdsPG, a.holds = "", nil
	} else if a.holds != nil {
		addRes(n.avail, a.holds, 1)
		a.holds = nil
	}
	if a.spec.Name != "" && n.named[a.spec.Name] == a.id {
		delete(n.named, a.spec.Name)
	}
	n.nameDiedLocked(a)
	queue := a.queue
	a.queue = nil
	for _, t := range queue {
		n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindActorDied, Task: t.spec.Func, Message: "actor is dead", Cause: cause})
	}
	if w := a.worker; w != nil {
		inflight := w.queue
		w.queue = nil
		for _, t := range inflight {
			n.unpinLocked(t)
			if t.spec.Kind == KindActorMethod {
				n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindActorDied, Task: t.spec.Func, Message: "actor is dead", Cause: cause})
			}
		}
		w.kill()
	}
	a.create.state = tDone
	delete(n.tasks, a.create.spec.ID)
	if a.create.holder != "" {
		n.freeLocked(n.refs.TaskDone(a.create.holder))
	}
}

// killActorLocked implements Kill.
func (n *Node) killActorLocked(a *actorEntry, noRestart bool, reason string) {
	if a.state == aDead {
		return
	}
	if a.proxy && a.remote != "" && n.hooks != nil {
		n.hooks.KillActor(context.Background(), a.remote, a.id, noRestart)
		if !noRestart {
			return
		}
	}
	if noRestart {
		a.noRestart = true
		n.actorDiedLocked(a, &ErrorInfo{Kind: ErrKindActorDied, Task: a.spec.Func, Message: "actor killed: " + reason})
		return
	}
	if a.worker != nil {
		a.worker.kill()
	}
}
