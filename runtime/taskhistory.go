package runtime

import "time"

// Task history.
//
// The state API lists finished tasks as well as live ones (Ray's GCS keeps
// the events of up to task_events_max_num_task_in_gcs tasks). A node
// keeps the last few thousand tasks that finished here, succeeded or
// failed, in a ring of fixed-size records. Recording runs for every task
// (the runtime does ~10^5 tasks per second on one node), so a record holds
// only what the task entry already has (IDs as arrays, the function name
// string, the job and node strings, the failure pointer) and two clock
// readings; strings are built in Snapshot, which runs a couple of times a
// second, never per task.
//
// The job a task belongs to is the job of the driver session that
// submitted it (the driver names it in its hello: EnvJobID), inherited by
// the tasks and actors that task's code submits, and carried to a peer
// with a forwarded task (TaskSpec.Job), so the peer's history names the
// same job.

// EnvJobID is the environment variable through which the job manager tells
// a driver its job's ID (runtime/jobs.EnvJobID); the driver's client
// announces it in its hello, and the node tags the driver's tasks, actors
// and objects with it.
const EnvJobID = "GORAY_JOB_ID"

// DefaultTaskHistory is how many finished tasks a node remembers for the
// state API (there is no setting for it yet; Ray's GCS keeps 100,000 by
// default, across the cluster).
const DefaultTaskHistory = 10000

// taskRecord is one finished task in the history.
type taskRecord struct {
	id    TaskID
	actor ActorID // zero for a normal task
	fn    string
	node  string     // the peer it ran on; "" this node
	job   string     // "" unknown
	err   *ErrorInfo // nil: it succeeded
	start int64      // when it went to a worker or a peer (nowNano); 0 unknown
	end   int64      // when it finished (nowNano)
	pid   int32      // the worker that ran it here; 0 unknown
}

// taskHistory is a ring of the last cap finished tasks. Its zero value
// keeps DefaultTaskHistory records; its memory grows with use up to that
// bound and is then reused.
type taskHistory struct {
	cap  int
	recs []taskRecord
	next int // where the next record goes once recs is full
}

func (h *taskHistory) bound() int {
	if h.cap > 0 {
		return h.cap
	}
	return DefaultTaskHistory
}

// add records r, overwriting the oldest record once the ring is full.
func (h *taskHistory) add(r taskRecord) {
	if len(h.recs) < h.bound() {
		h.recs = append(h.recs, r)
		return
	}
	h.recs[h.next] = r
	if h.next++; h.next == len(h.recs) {
		h.next = 0
	}
}

// copy returns the records, oldest first: a memory copy, cheap enough
// under the node's lock, where rendering them would not be.
func (h *taskHistory) copy() []taskRecord {
	if len(h.recs) == 0 {
		return nil
	}
	out := make([]taskRecord, 0, len(h.recs))
	out = append(out, h.recs[h.next:]...)
	return append(out, h.recs[:h.next]...)
}

// len is how many records the ring holds.
func (h *taskHistory) len() int { return len(h.recs) }

// clockBase anchors nowNano: a monotonic reading costs half a wall-clock
// one, and the node reads the clock twice per task.
var clockBase = time.Now()

// nowNano is the clock a record reads: nanoseconds since clockBase, never
// 0 (which means unknown). wallTime turns it into the time the state API
// shows.
func nowNano() int64 { return int64(time.Since(clockBase)) + 1 }

// wallTime is the wall-clock time of a nowNano reading.
func wallTime(ns int64) time.Time { return clockBase.Add(time.Duration(ns - 1)) }

// taskJobLocked is the job a task submitted by s belongs to: the driver
// session's job, the one a peer forwarded with it, or its parent task's.
func (n *Node) taskJobLocked(s *session, spec *TaskSpec) string {
	if s.job != "" {
		return s.job
	}
	if spec.Job != "" {
		return spec.Job
	}
	if spec.Parent != (TaskID{}) {
		if p := n.tasks[spec.Parent]; p != nil {
			return p.job
		}
	}
	return ""
}

// recordTaskLocked adds t, which just finished for good, to the history;
// e is its failure (nil if it succeeded). Actor creation tasks are the
// actor's own record (its ActorState), not history.
func (n *Node) recordTaskLocked(t *taskEntry, e *ErrorInfo) {
	if t.spec.Kind == KindActorCreate {
		return
	}
	r := taskRecord{id: t.spec.ID, fn: t.spec.Func, node: t.fwdNode, job: t.job, err: e,
		start: t.started, end: nowNano(), pid: t.pid}
	if t.actor != nil {
		r.actor = t.actor.id
	}
	n.hist.add(r)
}

// snapshot renders r for Snapshot.
func (r *taskRecord) snapshot() TaskSnapshot {
	ts := TaskSnapshot{ID: r.id.String(), Name: r.fn, State: "FINISHED", PID: int(r.pid),
		Node: r.node, Job: r.job, EndTime: wallTime(r.end)}
	if r.actor != (ActorID{}) {
		ts.Actor = r.actor.String()
	}
	if r.start != 0 {
		ts.StartTime = wallTime(r.start)
	}
	if r.err != nil {
		ts.State, ts.Error, ts.ErrorType = "FAILED", r.err.Message, errorType(r.err.Kind)
	}
	return ts
}

// sessionJobLocked is the job of what s puts now: a driver's job, or the
// job of the task (or actor) its worker runs.
func (n *Node) sessionJobLocked(s *session) string {
	if s.job != "" {
		return s.job
	}
	if w := s.worker; w != nil {
		if len(w.queue) > 0 {
			return w.queue[0].job
		}
		if w.actor != nil && w.actor.create != nil {
			return w.actor.create.job
		}
	}
	return ""
}
