package daemon

import (
	"strconv"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/state"
)

// refreshEngine publishes the node's tasks (live ones, recent failures and
// the history of finished ones), actors and placement groups to the state
// API, and their counts to the metrics. A snapshot per refresh, rather
// than a callback per transition, keeps the task-submission hot path free
// of observability work.
func (o *observer) refreshEngine() {
	node := o.d.Node()
	if node == nil {
		return
	}
	snap := node.Snapshot()

	// The table lists the last record first: history (oldest first), then
	// recent failures, then live tasks, so the newest come first.
	tasks := make([]state.TaskState, 0, len(snap.History)+len(snap.Tasks)+len(snap.Failures))
	for _, t := range snap.History {
		tasks = append(tasks, o.taskState(t))
	}
	o.met.TasksByState.Reset()
	// The gauge counts what is live and the recent failures, as before
	// the history: a count of the last N finished tasks means nothing.
	for _, t := range append(snap.Failures, snap.Tasks...) {
		tasks = append(tasks, o.taskState(t))
		o.met.TasksByState.WithLabelValues(t.State, t.Name).Inc()
	}
	o.src.SetTasks(tasks)

	actors := make([]state.ActorState, 0, len(snap.Actors))
	o.met.ActorsByState.Reset()
	for _, a := range snap.Actors {
		where := o.self
		if a.Remote != "" {
			where = a.Remote
		}
		actors = append(actors, state.ActorState{ID: a.ID, Class: a.Class, Name: a.Name, State: a.State,
			Node: where, PID: a.PID, Restarts: a.Restarts, DeathCause: a.DeathCause, Job: a.Job})
		o.met.ActorsByState.WithLabelValues(a.State, a.Class).Inc()
	}
	o.src.SetActors(actors)

	pgs := make([]state.PlacementGroupState, 0, len(snap.PGs))
	for _, p := range snap.PGs {
		ps := state.PlacementGroupState{ID: p.ID, Name: p.Name, State: p.State, Strategy: p.Strategy}
		for i, b := range p.Bundles {
			ps.Bundles = append(ps.Bundles, state.Bundle{Index: i, Resources: b.Resources, Node: b.Node})
		}
		pgs = append(pgs, ps)
	}
	o.src.SetPlacementGroups(pgs)

	// Objects: the node's directory (inline and stored, with reference
	// counts and the peers holding copies) joined with the store's spill
	// state. This node owns them: the node, not the client, is the owner.
	spilled := map[string]bool{}
	for _, ob := range node.Store().List() {
		if ob.Spilled {
			spilled[ob.ID.String()] = true
		}
	}
	objs := make([]state.ObjectState, 0, min(len(snap.Objects), maxObjects))
	for _, ob := range snap.Objects {
		if len(objs) == maxObjects {
			break
		}
		objs = append(objs, state.ObjectState{ID: ob.ID, Size: ob.Size, Owner: o.self, OwnerNode: o.self,
			Locations: append([]string{o.self}, ob.Copies...), Spilled: spilled[ob.ID], RefCount: ob.RefCount, Job: ob.Job})
	}
	o.src.SetObjects(objs)
}

// taskState is one task of the node's snapshot as the state API shows it.
func (o *observer) taskState(t grt.TaskSnapshot) state.TaskState {
	ts := state.TaskState{ID: t.ID, Name: t.Name, State: t.State, Node: o.self, Actor: t.Actor,
		Error: t.Error, ErrorType: t.ErrorType, Job: t.Job}
	if t.Node != "" {
		ts.Node = t.Node // forwarded: it ran on that peer
	}
	if !t.StartTime.IsZero() {
		start := t.StartTime
		ts.StartTime = &start
	}
	if !t.EndTime.IsZero() {
		end := t.EndTime
		ts.EndTime = &end
	}
	if t.PID != 0 {
		ts.Worker = strconv.Itoa(t.PID)
	}
	return ts
}

// refreshTransfers adds the objects moved between nodes since the last
// refresh to the transfer counters.
func (o *observer) refreshTransfers() {
	o.d.mu.Lock()
	re := o.d.remote
	o.d.mu.Unlock()
	if re == nil {
		return
	}
	t := re.Transfers()
	o.mu.Lock()
	prev := o.transfers
	o.transfers = t
	o.mu.Unlock()
	if d := t.Received - prev.Received; d > 0 {
		o.met.Transfers.WithLabelValues("in").Add(float64(d))
	}
	if d := t.ReceivedBytes - prev.ReceivedBytes; d > 0 {
		o.met.TransferBytes.WithLabelValues("in").Add(float64(d))
	}
	if d := t.Sent - prev.Sent; d > 0 {
		o.met.Transfers.WithLabelValues("out").Add(float64(d))
	}
	if d := t.SentBytes - prev.SentBytes; d > 0 {
		o.met.TransferBytes.WithLabelValues("out").Add(float64(d))
	}
}
