package runtime

import (
	"fmt"
	"sort"
	"time"

	"github.com/goray/goray/runtime/task"
)

// TaskSnapshot is one live or finished task as the state API shows it.
type TaskSnapshot struct {
	ID    string
	Name  string
	State string // Ray's names: PENDING_ARGS_AVAIL, PENDING_NODE_ASSIGNMENT, RUNNING, FINISHED, FAILED
	Actor string // the actor of an actor task
	PID   int    // the worker running (or that ran) it here, 0 if none
	// Node is the peer the task ran on when this node forwarded it there;
	// "" means this node.
	Node string
	// Job is the job the task belongs to; "" when unknown (work of a
	// driver that no job started).
	Job string
	// Error and ErrorType describe a FAILED task.
	Error     string
	ErrorType string
	// StartTime (zero when unknown) and EndTime (zero while it runs).
	StartTime time.Time
	EndTime   time.Time
}

// ActorSnapshot is one actor as the state API shows it.
type ActorSnapshot struct {
	ID, Class, Name string
	State           string // DEPENDENCIES_UNREADY, PENDING_CREATION, ALIVE, RESTARTING, DEAD
	PID             int
	Restarts        int
	Detached        bool
	Remote          string // the node it lives on when this node only forwards to it
	DeathCause      string
	Job             string // the job that created it; "" unknown
}

// PGSnapshot is one placement group this node owns.
type PGSnapshot struct {
	ID, Name, State, Strategy string
	Bundles                   []BundleSnapshot
}

// BundleSnapshot is one bundle of a placement group.
type BundleSnapshot struct {
	Resources map[string]float64
	Node      string
}

// ObjectSnapshot is one object this node knows. The node owns the objects
// its clients create (docs/architecture.md), so it is their owner; Copies
// are the peers it sent copies to.
type ObjectSnapshot struct {
	ID       string
	Size     int64
	Ready    bool
	InStore  bool // in the shared-memory store, not inline
	RefCount int
	Copies   []string
	Job      string // the job that made it; "" unknown
}

// maxSnapshotObjects bounds the objects a Snapshot copies.
const maxSnapshotObjects = 10000

// Snapshot is what a node holds right now, for the state API, the
// dashboard and the metrics: its live tasks, its most recent failures
// (what an operator looks for, kept even when many successes follow) and
// the history of the tasks that finished here (taskhistory.go).
type Snapshot struct {
	Tasks    []TaskSnapshot
	Failures []TaskSnapshot
	// History holds the last finished tasks (FINISHED or FAILED), oldest
	// first, except those listed in Failures.
	History []TaskSnapshot
	Actors  []ActorSnapshot
	PGs     []PGSnapshot
	Objects []ObjectSnapshot
}

// maxFailures bounds the failures a node remembers.
const maxFailures = 100

// recordFailureLocked keeps the latest task failures for Snapshot.
func (n *Node) recordFailureLocked(t *taskEntry, e *ErrorInfo) {
	if e == nil || e.Kind == ErrKindHandedBack {
		return // a hand-back (drain.go) is no failure: the task runs elsewhere
	}
	n.recordTaskLocked(t, e) // taskhistory.go
	f := TaskSnapshot{ID: t.spec.ID.String(), Name: t.spec.Func, State: "FAILED", Node: t.fwdNode, Job: t.job,
		Error: e.Message, ErrorType: errorType(e.Kind), EndTime: time.Now(), PID: int(t.pid)}
	if t.started != 0 {
		f.StartTime = wallTime(t.started)
	}
	if t.actor != nil {
		f.Actor = t.actor.id.String()
	}
	n.failures = append(n.failures, f)
	// Trimmed only when twice the bound, so a burst of failures copies the
	// list once per maxFailures failures rather than on every one.
	if len(n.failures) >= 2*maxFailures {
		n.failures = append(n.failures[:0], n.failures[len(n.failures)-maxFailures:]...)
	}
}

// errorType names a failure kind the way Ray's state API does.
func errorType(k ErrKind) string {
	switch k {
	case ErrKindApp:
		return "TASK_EXECUTION_EXCEPTION"
	case ErrKindWorkerCrashed:
		return "WORKER_DIED"
	case ErrKindCancelled:
		return "TASK_CANCELLED"
	case ErrKindActorDied:
		return "ACTOR_DIED"
	case ErrKindObjectLost, ErrKindOwnerDied:
		return "OBJECT_LOST"
	case ErrKindInfeasible:
		return "INFEASIBLE"
	default:
		return "SYSTEM_ERROR"
	}
}

// Snapshot copies the node's live tasks, recent failures, task history,
// actors and placement groups. It holds the node's lock while copying, so
// callers should poll it (every second or so), not call it per request.
// The history's records are copied under the lock and rendered after it.
func (n *Node) Snapshot() Snapshot {
	s, hist := n.snapshot()
	s.History = renderHistory(hist, s.Failures)
	return s
}

// snapshot is Snapshot's part under the lock: all but the rendering of
// the history, whose raw records it returns, oldest first.
func (n *Node) snapshot() (Snapshot, []taskRecord) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var s Snapshot
	for _, t := range n.tasks {
		if t.state == tDone || t.spec.Kind == KindActorCreate {
			continue
		}
		ts := TaskSnapshot{ID: t.spec.ID.String(), Name: t.spec.Func, Job: t.job}
		switch t.state {
		case tWaiting:
			ts.State = "PENDING_ARGS_AVAIL"
		case tQueued:
			ts.State = "PENDING_NODE_ASSIGNMENT"
		case tPushed:
			ts.State = "RUNNING"
			if t.worker != nil {
				ts.PID = t.worker.pid
			}
			ts.Node = t.fwdNode
			if t.started != 0 {
				ts.StartTime = wallTime(t.started)
			}
		}
		if t.actor != nil {
			ts.Actor = t.actor.id.String()
		}
		s.Tasks = append(s.Tasks, ts)
	}
	s.Failures = append(s.Failures, n.failures[max(0, len(n.failures)-maxFailures):]...)
	hist := n.hist.copy()
	for _, a := range n.actors {
		as := ActorSnapshot{ID: a.id.String(), Class: a.spec.Func, Name: a.spec.Name,
			Detached: a.spec.Detached, Remote: a.remote}
		if a.create != nil {
			as.Job = a.create.job
		}
		switch a.state {
		case aPending:
			as.State = "PENDING_CREATION"
		case aAlive:
			as.State = "ALIVE"
		case aRestarting:
			as.State = "RESTARTING"
		case aDead:
			as.State = "DEAD"
		}
		if a.worker != nil && !a.worker.dead {
			as.PID = a.worker.pid
		}
		if a.spec.MaxRestarts >= 0 && a.restarts >= 0 {
			as.Restarts = a.spec.MaxRestarts - a.restarts
		}
		if a.cause != nil {
			as.DeathCause = a.cause.Message
		}
		s.Actors = append(s.Actors, as)
	}
	if n.pgs != nil {
		for _, id := range n.pgs.Groups() {
			ps := PGSnapshot{ID: id, Strategy: string(n.pgs.Strategy(id))}
			if st, ok := n.pgs.State(id); ok {
				ps.State = pgStateName(st)
			}
			for i := 0; i < n.pgs.NumBundles(id); i++ {
				if b, err := n.pgs.Bundle(id, i); err == nil {
					ps.Bundles = append(ps.Bundles, BundleSnapshot{Resources: map[string]float64(b.Total.Clone()), Node: b.Node})
				}
			}
			s.PGs = append(s.PGs, ps)
		}
	}
	for id, o := range n.objects {
		if len(s.Objects) == maxSnapshotObjects {
			break
		}
		if n.locatedLocked(id, o) {
			// Made on a peer, whose store keeps it (lineage.go).
			s.Objects = append(s.Objects, ObjectSnapshot{ID: id.String(), Size: o.size, Ready: true, Job: o.job,
				RefCount: n.refs.Count(id), Copies: append([]string(nil), n.lin.objs[id].locs...)})
			continue
		}
		if o.fetching {
			continue
		}
		s.Objects = append(s.Objects, ObjectSnapshot{ID: id.String(), Size: o.size, Ready: o.ready, Job: o.job,
			InStore: o.inStore, RefCount: n.refs.Count(id), Copies: append([]string(nil), o.copies...)})
	}
	sort.Slice(s.Objects, func(i, j int) bool { return s.Objects[i].ID < s.Objects[j].ID })
	sort.Slice(s.Tasks, func(i, j int) bool { return s.Tasks[i].ID < s.Tasks[j].ID })
	sort.Slice(s.Actors, func(i, j int) bool { return s.Actors[i].ID < s.Actors[j].ID })
	return s, hist
}

// renderHistory renders the history's records, in order, leaving out the
// failures Snapshot lists already (with the same record).
func renderHistory(recs []taskRecord, failures []TaskSnapshot) []TaskSnapshot {
	if len(recs) == 0 {
		return nil
	}
	listed := make(map[string]bool, len(failures))
	for _, f := range failures {
		listed[f.ID] = true
	}
	out := make([]TaskSnapshot, 0, len(recs))
	for i := range recs {
		if recs[i].err != nil && listed[recs[i].id.String()] {
			continue
		}
		out = append(out, recs[i].snapshot())
	}
	return out
}

// pgStateName names a placement group state as Ray's state API does.
func pgStateName(st task.PGState) string {
	switch st {
	case task.PGCreated:
		return "CREATED"
	case task.PGRescheduling:
		return "RESCHEDULING"
	default:
		return "PENDING"
	}
}

// TaskObserver watches task transitions for metrics. Its methods run under
// the node's lock on the task-submission path, so they must be quick and
// must not call back into the node (a Prometheus histogram or counter is).
type TaskObserver interface {
	// TaskStarted reports a task handed to a worker after waiting wait
	// since it reached the node.
	TaskStarted(name string, wait time.Duration)
	// TaskFinished reports a task that succeeded or failed for good.
	TaskFinished(name string, failed bool)
}

// SetTaskObserver installs o; call it before Start.
func (n *Node) SetTaskObserver(o TaskObserver) {
	n.mu.Lock()
	n.taskObs = o
	n.mu.Unlock()
}

// stampLocked is the submission time a TaskObserver needs, and the zero
// time when nobody observes, so an embedded runtime's hot path does not
// read the clock.
func (n *Node) stampLocked() time.Time {
	if n.taskObs == nil {
		return time.Time{}
	}
	return time.Now()
}

// WorkerLogName is the file, in NodeConfig.WorkerLogDir, that holds the
// output of the worker with process ID pid.
func WorkerLogName(pid int) string { return fmt.Sprintf("worker-%d.log", pid) }
