package state

import (
	"time"

	"github.com/goray/goray/runtime/jobs"
)

// Node states, with Ray's names plus LEFT for a node that said goodbye.
const (
	NodeAlive = "ALIVE"
	NodeDead  = "DEAD"
	NodeLeft  = "LEFT"
)

// NodeState is one cluster member in /api/v0/nodes.
type NodeState struct {
	ID      string `json:"node_id"`
	Name    string `json:"name"`
	Address string `json:"address"`
	// State is ALIVE, DEAD or LEFT.
	State  string `json:"state"`
	IsHead bool   `json:"is_head"`
	// ResourcesTotal and ResourcesAvailable are the scheduler's view
	// (CPU, GPU, memory, custom resources); total minus available is what
	// running tasks and actors hold.
	ResourcesTotal     map[string]float64 `json:"resources_total"`
	ResourcesAvailable map[string]float64 `json:"resources_available"`
	ObjectStoreUsed    int64              `json:"object_store_used"`
	ObjectStoreLimit   int64              `json:"object_store_limit"`
	// CPUPercent, MemoryUsed and MemoryTotal are the host's own use, as the
	// operating system reports it, independent of scheduled resources.
	CPUPercent   float64 `json:"cpu_percent"`
	MemoryUsed   int64   `json:"memory_used"`
	MemoryTotal  int64   `json:"memory_total"`
	RunningTasks int     `json:"running_tasks"`
	Workers      int     `json:"workers"`
	// StartTime is when the node joined; zero when unknown.
	StartTime time.Time `json:"start_time,omitzero"`
	// PendingDemands is what waits on this node for resources, by
	// resource shape (Ray's autoscaler "resource demands"): tasks queued
	// for lack of resources, actors waiting to be placed, bundles of
	// placement groups waiting for room. Empty on an idle node and for a
	// peer whose own record could not be fetched.
	PendingDemands []ResourceDemand `json:"pending_demands,omitempty"`
}

// ResourceDemand is one resource shape that requests wait for, and how
// many wait for it.
type ResourceDemand struct {
	Shape map[string]float64 `json:"shape"`
	Count int                `json:"count"`
	// OldestSeconds is how long the longest-waiting request of this shape
	// has waited, as far as the node's pending check has seen (0 before).
	OldestSeconds float64 `json:"oldest_seconds"`
}

// DemandState is one row of /api/v0/demands: a resource shape that
// requests wait for on one alive node. The rows are the alive nodes'
// NodeState.PendingDemands, flattened so that they can be filtered
// (node_id, count) and paged like any list; summing count by shape gives
// the cluster's demand, as `goray status` shows it.
type DemandState struct {
	Node     string             `json:"node_id"`
	NodeName string             `json:"node_name"`
	Shape    map[string]float64 `json:"shape"`
	// ShapeKey is the shape as text ("CPU=1,GPU=1", keys sorted, zero
	// amounts left out), for filtering on a shape.
	ShapeKey      string  `json:"shape_key"`
	Count         int     `json:"count"`
	OldestSeconds float64 `json:"oldest_seconds"`
}

// ActorState is one actor in /api/v0/actors.
type ActorState struct {
	ID    string `json:"actor_id"`
	Class string `json:"class_name"`
	// Name is the actor's registered name; empty for anonymous actors.
	Name string `json:"name"`
	// State is Ray's: DEPENDENCIES_UNREADY, PENDING_CREATION, ALIVE,
	// RESTARTING or DEAD.
	State    string `json:"state"`
	Node     string `json:"node_id"`
	PID      int    `json:"pid"`
	Restarts int    `json:"num_restarts"`
	Job      string `json:"job_id"`
	// DeathCause says why a DEAD actor died.
	DeathCause string `json:"death_cause,omitempty"`
}

// TaskState is one task attempt in /api/v0/tasks.
type TaskState struct {
	ID string `json:"task_id"`
	// Name is the registered function name, or Class.Method for actor
	// tasks.
	Name string `json:"name"`
	// State is Ray's: PENDING_ARGS_AVAIL, PENDING_NODE_ASSIGNMENT,
	// SUBMITTED_TO_WORKER, RUNNING, FINISHED or FAILED.
	State string `json:"state"`
	Node  string `json:"node_id"`
	// Error is the failure message of a FAILED task and ErrorType its class
	// (TASK_EXECUTION_EXCEPTION, WORKER_DIED, TASK_CANCELLED, ...).
	Error     string     `json:"error,omitempty"`
	ErrorType string     `json:"error_type,omitempty"`
	Job       string     `json:"job_id"`
	Attempt   int        `json:"attempt"`
	Actor     string     `json:"actor_id,omitempty"`
	Worker    string     `json:"worker_id,omitempty"`
	StartTime *time.Time `json:"start_time,omitempty"`
	EndTime   *time.Time `json:"end_time,omitempty"`
}

// Task states, with Ray's names. FINISHED and FAILED are terminal.
const (
	TaskPendingArgs     = "PENDING_ARGS_AVAIL"
	TaskPendingNode     = "PENDING_NODE_ASSIGNMENT"
	TaskSubmitted       = "SUBMITTED_TO_WORKER"
	TaskRunning         = "RUNNING"
	TaskFinished        = "FINISHED"
	TaskFailed          = "FAILED"
	maxSummaryFailures  = 20
	maxSummaryFunctions = 200
)

// TaskSummary is /api/v0/tasks/summary: counts that stay small however
// many tasks ran.
type TaskSummary struct {
	Total   int            `json:"total"`
	ByState map[string]int `json:"by_state"`
	// ByFunction is sorted by Total, largest first (at most 200 entries).
	ByFunction []FunctionSummary `json:"by_function"`
	// Failures are the most recent FAILED tasks (at most 20), with their
	// errors; FailuresTotal counts all of them.
	Failures      []TaskState `json:"failures"`
	FailuresTotal int         `json:"failures_total"`
}

// FunctionSummary counts one function's tasks by state.
type FunctionSummary struct {
	Name    string         `json:"name"`
	Total   int            `json:"total"`
	ByState map[string]int `json:"by_state"`
}

// Bundle is one placement-group bundle and where it was placed.
type Bundle struct {
	Index     int                `json:"index"`
	Resources map[string]float64 `json:"resources"`
	// Node is empty until the bundle is placed.
	Node string `json:"node_id,omitempty"`
}

// PlacementGroupState is one placement group in /api/v0/placement_groups.
type PlacementGroupState struct {
	ID   string `json:"placement_group_id"`
	Name string `json:"name"`
	// State is PENDING, CREATED, REMOVED or RESCHEDULING.
	State string `json:"state"`
	// Strategy is PACK, SPREAD, STRICT_PACK or STRICT_SPREAD.
	Strategy string   `json:"strategy"`
	Job      string   `json:"job_id"`
	Bundles  []Bundle `json:"bundles"`
}

// ObjectState is one object in /api/v0/objects.
type ObjectState struct {
	ID   string `json:"object_id"`
	Size int64  `json:"size"`
	// Owner is the worker or driver that owns the object and OwnerNode the
	// node it runs on.
	Owner     string `json:"owner"`
	OwnerNode string `json:"owner_node_id"`
	// Locations are the nodes holding a copy in their store.
	Locations []string `json:"locations"`
	Spilled   bool     `json:"spilled"`
	RefCount  int      `json:"ref_count"`
	Job       string   `json:"job_id"`
}

// JobState is one job in /api/v0/jobs: the job manager's record.
type JobState = jobs.Info

// CurvePoint is one training iteration's result in /api/v0/curves/{job}.
type CurvePoint struct {
	Job string `json:"job_id"`
	// Trial names the Tune trial the point belongs to; empty for a single
	// RLlib run. The dashboard draws one line per trial.
	Trial     string  `json:"trial_id,omitempty"`
	Iteration int     `json:"iteration"`
	Timesteps int64   `json:"timesteps_total"`
	Reward    float64 `json:"episode_reward_mean"`
}

// TrialState is one Tune trial in /api/v0/trials.
type TrialState struct {
	ID         string `json:"trial_id"`
	Job        string `json:"job_id"`
	Experiment string `json:"experiment"`
	// Status is Tune's: PENDING, RUNNING, PAUSED, TERMINATED or ERROR.
	Status    string             `json:"status"`
	Config    map[string]any     `json:"config"`
	Iteration int                `json:"training_iteration"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	Node      string             `json:"node_id,omitempty"`
	Error     string             `json:"error,omitempty"`
}
