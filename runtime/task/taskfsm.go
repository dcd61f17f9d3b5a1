package task

import (
	"fmt"
	"strconv"
)

// TaskState is where a task is in its lifecycle.
type TaskState int

// Task states. Finished, Failed and Cancelled are terminal.
const (
	// TaskPendingArgs: waiting for argument objects (see DepTracker).
	TaskPendingArgs TaskState = iota
	// TaskPendingSchedule: arguments ready, waiting for a node (Policy.Place).
	TaskPendingSchedule
	// TaskScheduled: a node granted resources; waiting for a worker to start it.
	TaskScheduled
	// TaskRunning: a worker is executing it.
	TaskRunning
	// TaskFinished: returned successfully.
	TaskFinished
	// TaskFailed: failed for good; its returns hold an error.
	TaskFailed
	// TaskCancelled: cancelled by the user; never retried.
	TaskCancelled
)

var taskStateNames = [...]string{"PENDING_ARGS", "PENDING_SCHEDULE", "SCHEDULED", "RUNNING", "FINISHED", "FAILED", "CANCELLED"}

// String names the state (Ray's state-API spelling where one exists).
func (s TaskState) String() string {
	if s >= 0 && int(s) < len(taskStateNames) {
		return taskStateNames[s]
	}
	return "TaskState(" + strconv.Itoa(int(s)) + ")"
}

// Terminal reports whether no further transition is possible.
func (s TaskState) Terminal() bool {
	return s == TaskFinished || s == TaskFailed || s == TaskCancelled
}

// Retry budgets.
const (
	// DefaultMaxRetries is Ray's default max_retries for tasks.
	DefaultMaxRetries = 3
	// Unlimited as MaxRetries, MaxRestarts or MaxTaskRetries means no limit.
	Unlimited = -1
)

// TaskSpec is the part of a task's definition its state machine needs.
type TaskSpec struct {
	ID   string
	Name string
	// MaxRetries bounds retries after system failures (worker or node died)
	// and, with RetryExceptions, application errors. 0 disables retries,
	// -1 (Unlimited) removes the limit. Use DefaultTaskSpec for Ray's 3.
	MaxRetries      int
	RetryExceptions bool
}

// DefaultTaskSpec returns a spec with Ray's defaults (3 retries, no retry
// on application errors).
func DefaultTaskSpec(id, name string) TaskSpec {
	return TaskSpec{ID: id, Name: name, MaxRetries: DefaultMaxRetries}
}

// Validate rejects retry budgets below -1.
func (s TaskSpec) Validate() error {
	if s.MaxRetries < Unlimited {
		return fmt.Errorf("task %s: MaxRetries %d: must be -1 (unlimited) or >= 0", s.ID, s.MaxRetries)
	}
	return nil
}

// FailureKind says why an attempt failed.
type FailureKind int

// Failure kinds.
const (
	// WorkerDied: the worker process exited or was killed mid-task.
	WorkerDied FailureKind = iota + 1
	// NodeDied: the node running the task left the cluster.
	NodeDied
	// AppError: user code returned an error or panicked.
	AppError
)

// String names the failure kind.
func (k FailureKind) String() string {
	switch k {
	case WorkerDied:
		return "WORKER_DIED"
	case NodeDied:
		return "NODE_DIED"
	case AppError:
		return "TASK_EXECUTION_EXCEPTION"
	}
	return "FailureKind(" + strconv.Itoa(int(k)) + ")"
}

// ErrorKind says which error a failed task's (or actor call's) returns hold;
// the runtime maps it onto goray's exported errors.
type ErrorKind int

// Error kinds.
const (
	ErrKindNone             ErrorKind = iota // no error
	ErrKindTaskError                         // user code failed (goray.TaskError)
	ErrKindWorkerCrashed                     // worker died, retries exhausted (ErrWorkerCrashed)
	ErrKindNodeDied                          // node died, retries exhausted (ErrWorkerCrashed with a node message)
	ErrKindCancelled                         // cancelled (ErrTaskCancelled)
	ErrKindDependencyFailed                  // an argument failed; Effects.Cause holds its error
	ErrKindInfeasible                        // fits no node (ErrInfeasible)
	ErrKindActorDied                         // the actor died (ErrActorDied)
)

var errKindNames = [...]string{"NONE", "TASK_ERROR", "WORKER_CRASHED", "NODE_DIED", "CANCELLED", "DEPENDENCY_FAILED", "INFEASIBLE", "ACTOR_DIED"}

// String names the error kind.
func (k ErrorKind) String() string {
	if k >= 0 && int(k) < len(errKindNames) {
		return errKindNames[k]
	}
	return "ErrorKind(" + strconv.Itoa(int(k)) + ")"
}

// EventKind identifies a task event.
type EventKind int

// Task event kinds; build events with the constructor functions below.
const (
	EvArgsReady EventKind = iota + 1
	EvArgFailed
	EvScheduled
	EvStarted
	EvSucceeded
	EvFailed
	EvCancel
	EvUnschedulable
)

var eventKindNames = [...]string{"", "ArgsReady", "ArgFailed", "Scheduled", "Started", "Succeeded", "Failed", "Cancel", "Unschedulable"}

// String names the event kind.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is something that happened to a task, fed to TaskMachine.Apply.
type Event struct {
	Kind    EventKind
	Node    string      // Scheduled
	Worker  string      // Started
	Failure FailureKind // Failed
	Msg     string      // Failed, Unschedulable
	Cause   error       // ArgFailed
	Force   bool        // Cancel
}

// ArgsReady reports that every argument object is available.
func ArgsReady() Event { return Event{Kind: EvArgsReady} }

// ArgFailed reports that an argument object failed or was lost for good.
func ArgFailed(cause error) Event { return Event{Kind: EvArgFailed, Cause: cause} }

// Scheduled reports that node granted the task's resources.
func Scheduled(node string) Event { return Event{Kind: EvScheduled, Node: node} }

// Started reports that worker began executing the task.
func Started(worker string) Event { return Event{Kind: EvStarted, Worker: worker} }

// Succeeded reports that the task returned without error.
func Succeeded() Event { return Event{Kind: EvSucceeded} }

// Failed reports that the current attempt failed for the given reason.
func Failed(kind FailureKind, msg string) Event {
	return Event{Kind: EvFailed, Failure: kind, Msg: msg}
}

// Cancel reports that the user cancelled the task; force kills a running worker.
func Cancel(force bool) Event { return Event{Kind: EvCancel, Force: force} }

// Unschedulable reports that the policy found the task infeasible; msg is its reason.
func Unschedulable(msg string) Event { return Event{Kind: EvUnschedulable, Msg: msg} }

// Effects tell the caller what to do after a transition. Several may be set
// at once (e.g. release resources and fail the returns).
type Effects struct {
	// Resubmit: queue the task for scheduling again; Attempt is the new
	// attempt number (0 is the first run).
	Resubmit bool
	Attempt  int
	// FailReturns: store an error of kind ErrKind (text Message, cause
	// Cause) in every return object of the task.
	FailReturns bool
	ErrKind     ErrorKind
	Message     string
	Cause       error
	// Dequeue: drop the task from the dependency tracker / scheduling queue.
	Dequeue bool
	// InterruptWorker: cancel the task's context in this worker (cooperative
	// cancel of a running task).
	InterruptWorker string
	// KillWorker: kill this worker process (forced cancel).
	KillWorker string
	// ReleaseNode: give the task's granted resources back on this node.
	ReleaseNode string
}

// TaskMachine is one task's lifecycle. It validates every event against
// the current state, decides retries against the budget, and returns the
// effects for the caller to carry out. It never performs them itself.
type TaskMachine struct {
	spec            TaskSpec
	state           TaskState
	attempt         int
	node, worker    string
	cancelRequested bool
}

// NewTaskMachine returns a machine in TaskPendingArgs. A task without
// arguments to wait for is moved on at once with ArgsReady.
func NewTaskMachine(spec TaskSpec) *TaskMachine { return &TaskMachine{spec: spec} }

// Spec returns the machine's spec.
func (m *TaskMachine) Spec() TaskSpec { return m.spec }

// State returns the current state.
func (m *TaskMachine) State() TaskState { return m.state }

// Attempt returns the current attempt number (0 for the first run).
func (m *TaskMachine) Attempt() int { return m.attempt }

// Node returns the node holding the task's resources ("" if none).
func (m *TaskMachine) Node() string { return m.node }

// Worker returns the worker running the task ("" if none).
func (m *TaskMachine) Worker() string { return m.worker }

// CancelRequested reports whether a cooperative cancel is pending.
func (m *TaskMachine) CancelRequested() bool { return m.cancelRequested }

// RetriesLeft returns how many retries remain, or -1 for unlimited.
func (m *TaskMachine) RetriesLeft() int {
	if m.spec.MaxRetries < 0 {
		return Unlimited
	}
	return max(0, m.spec.MaxRetries-m.attempt)
}

func (m *TaskMachine) illegal(ev Event) error {
	name := ev.Kind.String()
	if ev.Kind == EvFailed {
		name += "(" + ev.Failure.String() + ")"
	}
	return &TransitionError{Machine: "task", ID: m.spec.ID, State: m.state.String(), Event: name}
}

// release returns the effect field for giving back held resources and
// forgets the placement.
func (m *TaskMachine) release() string {
	n := m.node
	m.node, m.worker = "", ""
	return n
}

// Apply feeds one event to the machine. On an illegal transition it returns
// a *TransitionError (errors.Is ErrIllegalTransition) and leaves the state
// unchanged. Late reports about a cancelled task (its killed worker dying,
// a result racing the cancel) and a Cancel of a finished task are ignored
// without error, because they are expected races, not bugs.
func (m *TaskMachine) Apply(ev Event) (Effects, error) {
	switch ev.Kind {
	case EvArgsReady:
		if m.state != TaskPendingArgs {
			return Effects{}, m.illegal(ev)
		}
		m.state = TaskPendingSchedule
		return Effects{}, nil

	case EvArgFailed:
		switch m.state {
		case TaskPendingArgs, TaskPendingSchedule, TaskScheduled:
		default:
			return Effects{}, m.illegal(ev)
		}
		m.state = TaskFailed
		return Effects{FailReturns: true, ErrKind: ErrKindDependencyFailed, Dequeue: true, Cause: ev.Cause,
			Message:     fmt.Sprintf("task %s: an argument failed: %v", m.label(), ev.Cause),
			ReleaseNode: m.release()}, nil

	case EvScheduled:
		if m.state != TaskPendingSchedule || ev.Node == "" {
			return Effects{}, m.illegal(ev)
		}
		m.state, m.node = TaskScheduled, ev.Node
		return Effects{}, nil

	case EvUnschedulable:
		if m.state != TaskPendingSchedule {
			return Effects{}, m.illegal(ev)
		}
		m.state = TaskFailed
		return Effects{FailReturns: true, ErrKind: ErrKindInfeasible, Dequeue: true,
			Message: fmt.Sprintf("task %s: %s", m.label(), ev.Msg)}, nil

	case EvStarted:
		if m.state != TaskScheduled || ev.Worker == "" {
			return Effects{}, m.illegal(ev)
		}
		m.state, m.worker = TaskRunning, ev.Worker
		return Effects{}, nil

	case EvSucceeded:
		switch m.state {
		case TaskCancelled:
			return Effects{}, nil
		case TaskRunning:
		default:
			return Effects{}, m.illegal(ev)
		}
		// A cooperative cancel that lost the race: the work completed, so its
		// results stand.
		m.state, m.cancelRequested = TaskFinished, false
		return Effects{ReleaseNode: m.release()}, nil

	case EvFailed:
		return m.failed(ev)

	case EvCancel:
		return m.cancel(ev)
	}
	return Effects{}, m.illegal(ev)
}

func (m *TaskMachine) label() string {
	if m.spec.Name == "" {
		return m.spec.ID
	}
	return m.spec.Name + " (" + m.spec.ID + ")"
}

func (m *TaskMachine) failed(ev Event) (Effects, error) {
	switch m.state {
	case TaskCancelled:
		return Effects{}, nil // the force-killed worker's death, or a late error
	case TaskRunning:
	case TaskScheduled:
		if ev.Failure == AppError { // user code cannot fail before it starts
			return Effects{}, m.illegal(ev)
		}
	default:
		return Effects{}, m.illegal(ev)
	}
	var kind ErrorKind
	retryable := true
	switch ev.Failure {
	case WorkerDied:
		kind = ErrKindWorkerCrashed
	case NodeDied:
		kind = ErrKindNodeDied
	case AppError:
		kind, retryable = ErrKindTaskError, m.spec.RetryExceptions
	default:
		return Effects{}, m.illegal(ev)
	}
	if m.cancelRequested {
		m.state = TaskCancelled
		return Effects{FailReturns: true, ErrKind: ErrKindCancelled, ReleaseNode: m.release(),
			Message: fmt.Sprintf("task %s was cancelled", m.label())}, nil
	}
	if retryable && (m.spec.MaxRetries < 0 || m.attempt < m.spec.MaxRetries) {
		m.attempt++
		m.state = TaskPendingSchedule
		return Effects{Resubmit: true, Attempt: m.attempt, ReleaseNode: m.release()}, nil
	}
	m.state = TaskFailed
	msg := fmt.Sprintf("task %s failed (%s) on attempt %d: %s", m.label(), ev.Failure, m.attempt+1, ev.Msg)
	if retryable {
		msg += fmt.Sprintf("; no retries left (max_retries=%d)", m.spec.MaxRetries)
	}
	return Effects{FailReturns: true, ErrKind: kind, Message: msg, ReleaseNode: m.release()}, nil
}

func (m *TaskMachine) cancel(ev Event) (Effects, error) {
	msg := fmt.Sprintf("task %s was cancelled", m.label())
	switch m.state {
	case TaskFinished, TaskFailed, TaskCancelled:
		return Effects{}, nil
	case TaskPendingArgs, TaskPendingSchedule:
		m.state = TaskCancelled
		return Effects{FailReturns: true, ErrKind: ErrKindCancelled, Message: msg, Dequeue: true}, nil
	case TaskScheduled:
		m.state = TaskCancelled
		return Effects{FailReturns: true, ErrKind: ErrKindCancelled, Message: msg, ReleaseNode: m.release()}, nil
	case TaskRunning:
		if ev.Force {
			w := m.worker
			m.state = TaskCancelled
			return Effects{FailReturns: true, ErrKind: ErrKindCancelled, Message: msg + " (worker killed)",
				KillWorker: w, ReleaseNode: m.release()}, nil
		}
		if m.cancelRequested {
			return Effects{}, nil
		}
		m.cancelRequested = true
		return Effects{InterruptWorker: m.worker}, nil
	}
	return Effects{}, m.illegal(ev)
}
