package state

import (
	"context"
	"io"
)

// Kinds of records, as named in Change.Kinds and in the SSE events.
const (
	KindNodes           = "nodes"
	KindActors          = "actors"
	KindTasks           = "tasks"
	KindPlacementGroups = "placement_groups"
	KindObjects         = "objects"
	KindJobs            = "jobs"
	KindCurves          = "curves"
	KindTrials          = "trials"
)

// AllKinds lists every kind, in the order the dashboard shows them.
var AllKinds = []string{KindNodes, KindJobs, KindActors, KindTasks, KindPlacementGroups, KindObjects, KindCurves, KindTrials}

// Change says that the state moved past a version, and which kinds of
// records moved.
type Change struct {
	Version uint64   `json:"version"`
	Kinds   []string `json:"kinds"`
}

// LogQuery selects one log: a job's driver log (Job), a worker's log
// (Worker, optionally on Node), or a node daemon's own log (Node alone).
// Offset is a byte offset; with Follow the stream continues until the log
// is closed (the job or worker ended) or the request's context ends.
type LogQuery struct {
	Node   string
	Job    string
	Worker string
	Offset int64
	Follow bool
}

// Source is what the state API serves. Every list method filters and
// pages on the server side (see Query) and returns ErrBadQuery, wrapped,
// for unknown filter fields or bad values. Implementations must be safe
// for concurrent use.
type Source interface {
	Nodes(ctx context.Context, q Query) (Page[NodeState], error)
	Actors(ctx context.Context, q Query) (Page[ActorState], error)
	Tasks(ctx context.Context, q Query) (Page[TaskState], error)
	// TaskSummary counts the tasks that match q's filters (paging is
	// ignored).
	TaskSummary(ctx context.Context, q Query) (TaskSummary, error)
	PlacementGroups(ctx context.Context, q Query) (Page[PlacementGroupState], error)
	Objects(ctx context.Context, q Query) (Page[ObjectState], error)
	Jobs(ctx context.Context, q Query) (Page[JobState], error)
	// Curve returns a job's learning curve in iteration order; empty (not
	// an error) for a job that has reported none yet.
	Curve(ctx context.Context, job string) ([]CurvePoint, error)
	Trials(ctx context.Context, q Query) (Page[TrialState], error)
	// Demands lists what waits for resources, one row per alive node and
	// resource shape (DemandRows of the nodes).
	Demands(ctx context.Context, q Query) (Page[DemandState], error)
	// Logs copies the selected log from q.Offset to w and returns the
	// offset after the last byte written; ErrNotFound when there is no
	// such log. w may implement interface{ Flush() }, which Logs calls
	// after each chunk while following.
	Logs(ctx context.Context, q LogQuery, w io.Writer) (int64, error)
	// Watch blocks until the state's version is greater than since and
	// returns the new version and the kinds that changed after since, or
	// returns ctx's error. Watch(ctx, 0) returns at once with the current
	// version.
	Watch(ctx context.Context, since uint64) (Change, error)
}
