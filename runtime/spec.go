package runtime

import "github.com/goray/goray/runtime/codec"

// TaskKind says what a TaskSpec runs.
type TaskKind uint8

// Task kinds.
const (
	KindNormal      TaskKind = 0 // a registered function
	KindActorCreate TaskKind = 1 // an actor constructor; the task ID is the actor ID
	KindActorMethod TaskKind = 2 // a method call on Actor
)

// StrategyKind selects the scheduling strategy of a task or actor.
type StrategyKind uint8

// Scheduling strategies (Ray's names).
const (
	StrategyDefault StrategyKind = iota
	StrategySpread
	StrategyNodeAffinity
	StrategyPlacementGroup
)

// Strategy is the scheduling strategy of a TaskSpec.
type Strategy struct {
	Kind   StrategyKind
	Node   string // NodeAffinity
	Soft   bool   // NodeAffinity: fall back to another node
	PG     string // PlacementGroup ID
	Bundle int    // PlacementGroup bundle index; -1 any
}

// Arg is one task argument: an inline encoded value or a reference that the
// node resolves before the task runs.
type Arg struct {
	IsRef bool
	Ref   ObjectID
	Data  []byte
}

// TaskSpec describes one task, actor creation or actor call. Clients fill it;
// ID is set by Client.Submit.
type TaskSpec struct {
	ID              TaskID
	Kind            TaskKind
	Func            string // function, actor class or method name
	Actor           ActorID
	Args            []Arg
	NumReturns      int
	Resources       map[string]float64
	MaxRetries      int // -1 infinite
	RetryExceptions bool
	Strategy        Strategy
	// Contained are refs nested inside inline Args: pinned while the task is pending.
	Contained []ObjectID

	// Actor creation only.
	MaxRestarts    int
	MaxTaskRetries int
	MaxConcurrency int
	Name           string
	Detached       bool
	// ResourcesSet reports whether Resources were given explicitly (an actor
	// then holds them while alive; otherwise it needs 1 CPU to be placed and
	// holds none, as in Ray).
	ResourcesSet bool
	// Parent is the task that submitted this one (zero from a driver);
	// cancelling the parent cancels it too (Ray's recursive cancel).
	Parent TaskID
	// Job is the job the task belongs to, as the node that forwards it
	// knows it (taskhistory.go). Only a forwarded task carries it
	// (EncodeForward); clients leave it empty and workers never see it.
	Job string
}

// ErrKind classifies a failure carried in an ErrorInfo.
type ErrKind uint8

// Failure kinds.
const (
	ErrKindNone          ErrKind = iota
	ErrKindApp                   // the function returned an error or panicked
	ErrKindWorkerCrashed         // the worker process died
	ErrKindCancelled             // ray.cancel
	ErrKindActorDied             // the actor is dead
	ErrKindObjectLost            // an object was freed or lost
	ErrKindOwnerDied             // the owner of an object died
	ErrKindInfeasible            // no node can ever run it
	ErrKindArgType               // an argument had the wrong type
	ErrKindUnknownFunc           // the function or class is not registered in the worker
	ErrKindUnknownMethod         // the actor has no such method
	ErrKindActorNotFound         // no actor with that ID or name
	ErrKindActorExists           // a named actor already exists
	ErrKindSystem                // anything else inside the runtime
)

// ErrorInfo is a failure as it travels between processes.
type ErrorInfo struct {
	Kind     ErrKind
	Task     string
	Message  string
	Stack    string
	ArgIndex int
	Want     string
	Got      string
	ObjectID ObjectID
	Cause    *ErrorInfo
}

// Error renders the failure chain.
func (e *ErrorInfo) Error() string {
	if e == nil {
		return "<nil>"
	}
	s := e.Message
	if e.Task != "" {
		s = e.Task + ": " + s
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Result is one return value produced by an executor.
type Result = codec.Encoded

// Executor runs user code inside a worker. The goray package implements it
// (it owns the function and actor registries); the runtime only moves bytes.
type Executor interface {
	// Execute runs a normal task and returns NumReturns encoded results.
	Execute(ctx Ctx, spec *TaskSpec, args [][]byte) ([]Result, *ErrorInfo)
	// NewActor runs an actor constructor and returns the instance.
	NewActor(ctx Ctx, spec *TaskSpec, args [][]byte) (any, *ErrorInfo)
	// CallActor runs a method on an instance made by NewActor.
	CallActor(ctx Ctx, instance any, spec *TaskSpec, args [][]byte) ([]Result, *ErrorInfo)
}
