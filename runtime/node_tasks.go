package runtime

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goray/goray/runtime/objectstore"
	"github.com/goray/goray/runtime/task"
)

type taskState uint8

const (
	tWaiting taskState = iota // arguments not ready
	tQueued                   // ready, waiting for a worker
	tPushed                   // on a worker
	tDone
)

// taskEntry is the node's record of a task or actor call in flight.
type taskEntry struct {
	spec      *TaskSpec
	owner     *session
	holder    objectstore.HolderID // holder of the argument refs ("" if none)
	missing   int                  // arguments not yet ready
	state     taskState
	retries   int // system-failure retries left (-1 forever)
	appTries  int // application-error retries left (RetryExceptions)
	worker    *workerProc
	pins      []*objectstore.Object
	cancelled bool
	actor     *actorEntry // actor calls and creation
	sq        *shapeQueue
	children  []TaskID // tasks this one submitted, for recursive cancel
	// submitted is when the task reached this node, for the scheduling
	// latency a TaskObserver sees; failed marks a task failed for good.
	submitted time.Time
	failed    bool
	// fwdNode is the peer a forwarded task runs on ("" if it runs here).
	fwdNode string
	// job is the job the task belongs to ("" unknown); started (nowNano)
	// and pid say when and in which worker it last started, for the task
	// history (taskhistory.go).
	job     string
	started int64
	pid     int32
}

// shapeQueue holds the ready normal tasks of one resource shape (and
// placement-group bundle), FIFO, and the workers leased for that shape.
type shapeQueue struct {
	key    string
	bin    string // the worker pool its tasks run in
	res    map[string]float64
	pg     string
	bundle int
	q      []*taskEntry
	head   int
	leased []*workerProc
	// feasible: the shape fits the node's totals.
	feasible bool
}

func (q *shapeQueue) len() int { return len(q.q) - q.head }
func (q *shapeQueue) peek() *taskEntry {
	return q.q[q.head]
}
func (q *shapeQueue) pop() *taskEntry {
	t := q.q[q.head]
	q.q[q.head] = nil
	q.head++
	if q.head == len(q.q) {
		q.q, q.head = q.q[:0], 0
	}
	return t
}
func (q *shapeQueue) push(t *taskEntry) { q.q = append(q.q, t) }
func (q *shapeQueue) pushFront(ts []*taskEntry) {
	if len(ts) == 0 {
		return
	}
	if q.head >= len(ts) {
		q.head -= len(ts)
		copy(q.q[q.head:], ts)
		return
	}
	nq := make([]*taskEntry, 0, len(ts)+q.len()+16)
	nq = append(nq, ts...)
	nq = append(nq, q.q[q.head:]...)
	q.q, q.head = nq, 0
}

func shapeKey(res map[string]float64, s Strategy) string {
	if s.Kind != StrategyPlacementGroup && len(res) == 1 {
		if v, ok := res["CPU"]; ok && v == 1 {
			return "CPU=1" // the common case, without formatting
		}
	}
	var b strings.Builder
	if s.Kind == StrategyPlacementGroup {
		b.WriteString("pg:" + s.PG + ":" + strconv.Itoa(s.Bundle) + "|")
	}
	if len(res) == 1 {
		for k, v := range res {
			b.WriteString(k + "=" + strconv.FormatFloat(v, 'g', -1, 64))
		}
		return b.String()
	}
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k + "=" + strconv.FormatFloat(res[k], 'g', -1, 64) + ",")
	}
	return b.String()
}

func fits(res, avail map[string]float64) bool {
	return task.Resources(res).Fits(task.Resources(avail))
}

func addRes(dst, r map[string]float64, sign float64) {
	for k, v := range r {
		dst[k] += sign * v
	}
}

func taskHolder(id TaskID) objectstore.HolderID { return objectstore.HolderID("t:" + string(id[:])) }

// submitLocked registers a task or actor call submitted by s.
func (n *Node) submitLocked(s *session, spec *TaskSpec) {
	t := &taskEntry{spec: spec, owner: s, retries: spec.MaxRetries, state: tWaiting, submitted: n.stampLocked()}
	t.job = n.taskJobLocked(s, spec) // taskhistory.go
	if spec.RetryExceptions {
		t.appTries = spec.MaxRetries
	}
	n.tasks[spec.ID] = t
	if spec.Parent != (TaskID{}) {
		if p := n.tasks[spec.Parent]; p != nil && p.state != tDone {
			p.children = append(p.children, spec.ID)
		}
	}
	for i := 0; i < spec.NumReturns; i++ {
		id := spec.ID.ReturnID(i)
		n.objects[id] = &object{task: t, job: t.job}
		n.refs.AddLocal(id, s.holder)
	}
	if spec.Kind == KindActorMethod {
		a := n.actors[spec.Actor]
		if a == nil && n.hooks != nil && !s.forwarded {
			a = n.actorProxyLocked(spec.Actor, spec.Func)
		}
		if a == nil {
			n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindActorNotFound, Task: spec.Func, Message: "no such actor " + spec.Actor.String()})
			return
		}
		t.actor = a
		t.retries = a.spec.MaxTaskRetries
		if a.state == aDead {
			n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindActorDied, Task: spec.Func, Message: "actor is dead", Cause: a.cause})
			return
		}
		a.queue = append(a.queue, t)
	}
	if !n.resolveArgsLocked(t) {
		return
	}
	if spec.Kind == KindActorMethod {
		n.pumpActorLocked(t.actor)
		return
	}
	if t.missing == 0 {
		n.enqueueLocked(t)
		n.scheduleLocked()
	}
}

// resolveArgsLocked takes the task's argument refs and counts the ones not
// ready. It reports false if the task already failed.
func (n *Node) resolveArgsLocked(t *taskEntry) bool {
	spec := t.spec
	for _, a := range spec.Args {
		if a.IsRef {
			if t.holder == "" {
				t.holder = taskHolder(spec.ID)
			}
			n.refs.AddTaskArg(a.Ref, t.holder)
		}
	}
	for _, c := range spec.Contained {
		if t.holder == "" {
			t.holder = taskHolder(spec.ID)
		}
		n.refs.AddTaskArg(c, t.holder)
	}
	for i, a := range spec.Args {
		if !a.IsRef {
			continue
		}
		o := n.objects[a.Ref]
		if o == nil {
			o = n.remoteObjectLocked(a.Ref) // nil: no peers to ask
		}
		switch {
		case o == nil:
			n.failArgLocked(t, argFailed(spec, i, lostInfo(a.Ref, "object freed or never existed")))
			return false
		case o.ready && o.err != nil:
			n.failArgLocked(t, argFailed(spec, i, o.err))
			return false
		case !o.ready:
			o.deps = append(o.deps, t)
			t.missing++
			if o.fetching {
				n.needObjectLocked(a.Ref) // a located argument is pulled or rebuilt (lineage.go)
			}
		}
	}
	return true
}

// failArgLocked fails t because of an argument; for an actor's creation
// task the actor dies with that cause.
func (n *Node) failArgLocked(t *taskEntry, e *ErrorInfo) {
	if t.spec.Kind == KindActorCreate {
		n.actorDiedLocked(t.actor, &ErrorInfo{Kind: ErrKindActorDied, Task: t.spec.Func, Message: "actor constructor argument failed", Cause: e})
		return
	}
	n.failTaskLocked(t, e)
}

func argFailed(spec *TaskSpec, i int, cause *ErrorInfo) *ErrorInfo {
	return &ErrorInfo{Kind: ErrKindApp, Task: spec.Func, Message: fmt.Sprintf("argument %d failed", i), Cause: cause}
}

// depReadyLocked is called when argument id of t became ready.
func (n *Node) depReadyLocked(t *taskEntry, id ObjectID, o *object) {
	if t.state != tWaiting {
		return
	}
	if o.err != nil {
		for i, a := range t.spec.Args {
			if a.IsRef && a.Ref == id {
				n.failArgLocked(t, argFailed(t.spec, i, o.err))
				if t.spec.Kind == KindActorCreate {
					return
				}
				if t.actor != nil {
					n.pumpActorLocked(t.actor)
				}
				return
			}
		}
	}
	t.missing--
	if t.missing > 0 {
		return
	}
	switch t.spec.Kind {
	case KindActorMethod:
		n.pumpActorLocked(t.actor)
	case KindActorCreate:
		n.placeActorLocked(t.actor)
	default:
		n.enqueueLocked(t)
		n.scheduleLocked()
	}
}

func (n *Node) enqueueLocked(t *taskEntry) {
	if n.failNoPGLocked(t) { // pg_remove.go
		return
	}
	key := shapeKey(t.spec.Resources, t.spec.Strategy)
	bin := t.owner.bin
	if bin != "" {
		key = bin + "|" + key
	}
	sq := n.queues[key]
	if sq == nil {
		sq = &shapeQueue{key: key, bin: bin, res: t.spec.Resources, bundle: -1}
		if t.spec.Strategy.Kind == StrategyPlacementGroup {
			sq.pg, sq.bundle = t.spec.Strategy.PG, t.spec.Strategy.Bundle
		}
		sq.feasible = sq.pg != "" || fits(sq.res, n.total) // totals are fixed
		n.queues[key] = sq
		n.shapeOrder = append(n.shapeOrder, key)
	}
	// A retry (after its node died, or a rebuild of a lost result) is
	// placed by the policy again, like a first run: the dead node has left
	// the peers by then, and the task may need what only a peer has.
	if n.hooks != nil && !t.owner.forwarded && n.placeRemoteLocked(t) {
		return
	}
	if n.startFailures >= maxStartFailures {
		n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindSystem, Task: t.spec.Func, Message: "worker processes fail to start: " + n.lastStartErr})
		return
	}
	if !sq.feasible {
		n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindInfeasible, Task: t.spec.Func,
			Message: fmt.Sprintf("task needs %v; the node has %v", task.Resources(sq.res), n.total)})
		return
	}
	t.state = tQueued
	t.sq = sq
	sq.push(t)
}

// acquireLocked takes a lease's resources for w from the node (or the
// placement group bundle). It reports false if they are not free.
func (n *Node) acquireLocked(sq *shapeQueue, w *workerProc) bool {
	if sq.pg != "" {
		bundles := []int{sq.bundle}
		if sq.bundle < 0 {
			bundles = bundles[:0]
			for i := 0; i < n.pgs.NumBundles(sq.pg); i++ {
				// Only bundles on this node: a group may span nodes.
				if b, err := n.pgs.Bundle(sq.pg, i); err == nil && (b.Node == n.id || b.Node == "") {
					bundles = append(bundles, i)
				}
			}
		}
		for _, b := range bundles {
			if n.pgs.Acquire(sq.pg, b, task.Resources(sq.res)) == nil {
				w.leasePG, w.leaseBundle = sq.pg, b
				w.leaseRes, w.leaseHeld = sq.res, true
				return true
			}
		}
		return false
	}
	if !fits(sq.res, n.avail) {
		return false
	}
	addRes(n.avail, sq.res, -1)
	w.leasePG, w.leaseRes, w.leaseHeld = "", sq.res, true
	return true
}

func (n *Node) releaseLeaseLocked(w *workerProc) {
	if !w.leaseHeld {
		return
	}
	w.leaseHeld = false
	if w.leasePG != "" {
		_ = n.pgs.Release(w.leasePG, w.leaseBundle, task.Resources(w.leaseRes))
		return
	}
	addRes(n.avail, w.leaseRes, 1)
}

// scheduleLocked pushes ready tasks to workers: first to workers already
// leased for the task's shape (pipelining up to PipelineDepth), leasing idle
// workers while resources allow, starting workers when none is idle.
func (n *Node) scheduleLocked() {
	if n.stopped {
		return
	}
	if n.waitingActors > 0 {
		n.placePendingActorsLocked()
	}
	if n.waitingPGs > 0 {
		n.placePendingPGsLocked()
	}
	for _, key := range n.shapeOrder {
		sq := n.queues[key]
		for sq.len() > 0 {
			t := sq.peek()
			if t.state != tQueued {
				sq.pop()
				continue
			}
			w := n.pickWorkerLocked(sq)
			if w == nil {
				break
			}
			sq.pop()
			if !n.pushLocked(t, w) && len(w.queue) == 0 && w.lease != nil {
				n.returnWorkerLocked(w) // the task failed; do not strand the lease
			}
		}
		n.maybeStealLocked(sq)
	}
}

// maybeStealLocked takes back tasks pipelined behind a running one when an
// idle worker could run them now: a long task must not hold up the short
// ones queued behind it while CPUs sit free.
func (n *Node) maybeStealLocked(sq *shapeQueue) {
	if sq.len() > 0 || n.idleIndexLocked(sq.bin) < 0 {
		return
	}
	var probe workerProc
	if !n.acquireLocked(sq, &probe) {
		return
	}
	n.releaseLeaseLocked(&probe)
	for _, w := range sq.leased {
		if len(w.queue) > 1 && !w.stealing && !w.dead && w.sess != nil {
			w.stealing = true
			w.sess.send(&msg{t: mSteal})
		}
	}
}

func (n *Node) pickWorkerLocked(sq *shapeQueue) *workerProc {
	var best *workerProc
	depth := n.cfg.PipelineDepth
	for _, w := range sq.leased {
		// Refill a pipeline only once it has drained to half, then fill it
		// up in one pass: the pushes then leave in one write, instead of
		// one frame and one syscall per completed task.
		if w.blocked || w.dead || len(w.queue) >= depth || (len(w.queue) > depth/2 && !w.refill) {
			continue
		}
		if best == nil || len(w.queue) < len(best.queue) {
			best = w
		}
	}
	if best != nil && len(best.queue) == 0 {
		return best
	}
	// Lease another worker if resources allow: parallelism beats pipelining.
	if i := n.idleIndexLocked(sq.bin); i >= 0 {
		w := n.idle[i]
		if n.acquireLocked(sq, w) {
			n.takeIdleLocked(i)
			w.lease = sq
			sq.leased = append(sq.leased, w)
			return w
		}
		return best
	}
	if n.startingBin[sq.bin] == 0 && n.startFailures < maxStartFailures {
		var probe workerProc
		if n.acquireLocked(sq, &probe) {
			n.releaseLeaseLocked(&probe)
			if n.taskWorkers >= n.cfg.MaxWorkers {
				n.evictIdleLocked(sq.bin) // its exit frees a slot and reschedules
			} else if err := n.startWorkerLocked(nil, sq.bin); err != nil {
				n.log.Error("start worker", "err", err)
				for sq.len() > 0 { // no worker can ever run them: fail, never hang
					if t := sq.pop(); t.state == tQueued {
						n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindSystem, Task: t.spec.Func, Message: err.Error()})
					}
				}
			}
		}
	}
	return best
}

// pushLocked sends t to w with its arguments resolved. It reports false if
// t failed instead (an argument is gone).
func (n *Node) pushLocked(t *taskEntry, w *workerProc) bool {
	args := make([]wireArg, len(t.spec.Args))
	for i, a := range t.spec.Args {
		if !a.IsRef {
			args[i].data = a.Data
			continue
		}
		o := n.objects[a.Ref]
		if o == nil {
			n.unpinLocked(t)
			n.failArgLocked(t, argFailed(t.spec, i, lostInfo(a.Ref, "object freed")))
			return false
		}
		if o.inStore {
			obj, err := n.store.Get(context.Background(), a.Ref)
			if err != nil {
				n.unpinLocked(t)
				n.failArgLocked(t, argFailed(t.spec, i, lostInfo(a.Ref, err.Error())))
				return false
			}
			t.pins = append(t.pins, obj)
			args[i] = wireArg{path: obj.Path(), size: obj.Size()}
			continue
		}
		if args[i].data = o.data; args[i].data == nil {
			args[i].data = []byte{}
		}
	}
	t.state = tPushed
	t.worker = w
	t.started, t.pid = nowNano(), int32(w.pid)
	if n.taskObs != nil && !t.submitted.IsZero() {
		n.taskObs.TaskStarted(t.spec.Func, time.Since(t.submitted))
	}
	w.queue = append(w.queue, t)
	w.refill = len(w.queue) < n.cfg.PipelineDepth
	w.sess.send(&msg{t: mPush, spec: t.spec, args: args})
	return true
}

func (n *Node) unpinLocked(t *taskEntry) {
	for _, p := range t.pins {
		p.Release()
	}
	t.pins = nil
}

// finishLocked forgets t after it succeeded or failed for good.
func (n *Node) finishLocked(t *taskEntry) {
	if n.taskObs != nil && t.state != tDone && t.spec.Kind != KindActorCreate {
		n.taskObs.TaskFinished(t.spec.Func, t.failed)
	}
	if !t.failed && t.state != tDone {
		n.recordTaskLocked(t, nil) // a failure was recorded by failTaskLocked
	}
	t.state = tDone
	n.unpinLocked(t)
	if t.spec.Kind == KindActorCreate {
		return // the creation task lives as long as the actor (restarts rerun it)
	}
	delete(n.tasks, t.spec.ID)
	if t.holder != "" {
		n.freeLocked(n.refs.TaskDone(t.holder))
	}
}

// failTaskLocked fails every return of t with e.
func (n *Node) failTaskLocked(t *taskEntry, e *ErrorInfo) {
	if t.state == tDone {
		return
	}
	n.recordFailureLocked(t, e)
	t.failed = true
	if t.actor != nil && t.spec.Kind == KindActorMethod {
		n.removeFromActorQueueLocked(t)
	}
	for i := 0; i < t.spec.NumReturns; i++ {
		id := t.spec.ID.ReturnID(i)
		if o := n.objects[id]; o != nil && !o.ready {
			o.err = e
			n.readyLocked(id, o)
		}
	}
	n.finishLocked(t)
}

// taskDoneLocked records the outcome reported by a worker.
func (n *Node) taskDoneLocked(w *workerProc, m *msg, stored []bool) {
	t := n.tasks[m.tid]
	if t == nil || t.state != tPushed || t.worker != w {
		n.discardStoredLocked(m, stored)
		return
	}
	n.removeFromWorkerLocked(w, t)
	n.unpinLocked(t)
	if t.spec.Kind == KindActorCreate {
		n.actorCreatedLocked(t.actor, m.err)
		return
	}
	switch {
	case t.cancelled:
		n.discardStoredLocked(m, stored)
		n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindCancelled, Task: t.spec.Func, Message: "task cancelled"})
	case m.err != nil && m.err.Kind == ErrKindApp && t.appTries != 0 && t.spec.Kind == KindNormal:
		if t.appTries > 0 {
			t.appTries--
		}
		n.enqueueLocked(t)
	case m.err != nil:
		n.failTaskLocked(t, m.err)
	default:
		n.completeLocked(t, m, stored)
	}
	if t.actor == nil && len(w.queue) == 0 && !w.dead {
		n.returnWorkerLocked(w)
	}
	if t.actor != nil {
		n.pumpActorLocked(t.actor)
	}
	n.scheduleLocked()
}

func (n *Node) discardStoredLocked(m *msg, stored []bool) {
	for i := range stored {
		if stored[i] {
			_ = n.store.Delete(m.tid.ReturnID(i))
		}
	}
}

func (n *Node) completeLocked(t *taskEntry, m *msg, stored []bool) {
	for i := 0; i < t.spec.NumReturns; i++ {
		id := t.spec.ID.ReturnID(i)
		o := n.objects[id]
		if o == nil || o.ready {
			if i < len(stored) && stored[i] {
				_ = n.store.Delete(id)
			}
			continue
		}
		if i >= len(m.results) {
			o.err = &ErrorInfo{Kind: ErrKindSystem, Task: t.spec.Func, Message: fmt.Sprintf("worker returned %d results, want %d", len(m.results), t.spec.NumReturns)}
		} else {
			r := m.results[i]
			if i < len(stored) && stored[i] {
				o.inStore, o.size = true, int64(len(r.data))
			} else {
				o.data, o.size = r.data, int64(len(r.data))
			}
			for _, c := range r.contained {
				n.refs.AddContained(id, c)
			}
		}
		n.readyLocked(id, o)
	}
	n.finishLocked(t)
}

func (n *Node) removeFromWorkerLocked(w *workerProc, t *taskEntry) {
	for i, x := range w.queue {
		if x == t {
			copy(w.queue[i:], w.queue[i+1:])
			w.queue[len(w.queue)-1] = nil
			w.queue = w.queue[:len(w.queue)-1]
			break
		}
	}
	t.worker = nil
}

// returnWorkerLocked ends w's lease and makes it idle.
func (n *Node) returnWorkerLocked(w *workerProc) {
	n.releaseLeaseLocked(w)
	if sq := w.lease; sq != nil {
		for i, x := range sq.leased {
			if x == w {
				sq.leased = append(sq.leased[:i], sq.leased[i+1:]...)
				break
			}
		}
		w.lease = nil
	}
	w.blocked = false
	n.idle = append(n.idle, w)
}

// requeueLocked puts tasks back at the front of their queues, in order.
func (n *Node) requeueLocked(ts []*taskEntry) {
	byQ := map[*shapeQueue][]*taskEntry{}
	var order []*shapeQueue
	for _, t := range ts {
		if t.state != tPushed {
			continue
		}
		t.state = tQueued
		t.worker = nil
		n.unpinLocked(t)
		if _, ok := byQ[t.sq]; !ok {
			order = append(order, t.sq)
		}
		byQ[t.sq] = append(byQ[t.sq], t)
	}
	for _, sq := range order {
		sq.pushFront(byQ[sq])
	}
}

// blockedLocked handles a worker whose task waits in Get: it gives back
// its queued tasks and its CPUs so that the tasks it waits for can run.
func (n *Node) blockedLocked(w *workerProc, returned []TaskID) {
	n.returnedLocked(w, returned)
	if w.actor == nil && !w.blocked {
		w.blocked = true
		n.releaseLeaseLocked(w)
	}
	n.scheduleLocked()
}

func (n *Node) unblockedLocked(w *workerProc) {
	if w.actor != nil || !w.blocked {
		return
	}
	w.blocked = false
	if w.lease != nil && !w.leaseHeld {
		// Take the CPUs back even if that oversubscribes for a moment,
		// as Ray does when a blocked worker resumes.
		if w.leasePG != "" {
			_ = n.pgs.Acquire(w.leasePG, w.leaseBundle, task.Resources(w.leaseRes))
		} else {
			addRes(n.avail, w.leaseRes, -1)
		}
		w.leaseHeld = true
	}
}

func (n *Node) returnedLocked(w *workerProc, returned []TaskID) {
	w.stealing = false
	var ts []*taskEntry
	for _, id := range returned {
		t := n.tasks[id]
		if t == nil || t.worker != w || t.state != tPushed {
			continue
		}
		n.removeFromWorkerLocked(w, t)
		t.state = tPushed // requeueLocked expects pushed tasks
		ts = append(ts, t)
	}
	n.requeueLocked(ts)
	n.scheduleLocked()
}

// cancelLocked cancels the task producing id.
func (n *Node) cancelLocked(id ObjectID, force bool) {
	o := n.objects[id]
	if o == nil || o.task == nil {
		return
	}
	n.cancelTaskLocked(o.task, force)
}

// cancelTaskLocked cancels t and, recursively, the tasks it submitted.
func (n *Node) cancelTaskLocked(t *taskEntry, force bool) {
	for _, c := range t.children {
		if ct := n.tasks[c]; ct != nil && ct.state != tDone && !ct.cancelled {
			n.cancelTaskLocked(ct, force)
		}
	}
	t.children = nil
	cancelled := &ErrorInfo{Kind: ErrKindCancelled, Task: t.spec.Func, Message: "task cancelled"}
	switch t.state {
	case tWaiting, tQueued:
		if t.spec.Kind == KindActorCreate {
			return
		}
		t.cancelled = true
		n.failTaskLocked(t, cancelled)
		if t.actor != nil {
			n.pumpActorLocked(t.actor)
		}
	case tPushed:
		t.cancelled = true
		w := t.worker
		if w == nil || w.sess == nil {
			// Forwarded to a peer: cancel it there too, so it frees the
			// peer's resources; its result is discarded here either way.
			if t.fwdNode != "" && n.hooks != nil {
				n.hooks.CancelForwarded(t.fwdNode, t.spec.ID, force)
			}
			return
		}
		if force && t.actor == nil && len(w.queue) > 0 && w.queue[0] == t {
			w.kill()
			return
		}
		w.sess.send(&msg{t: mCancelTask, tid: t.spec.ID})
	}
}
