package task

import (
	"fmt"
	"strconv"
)

// ActorState is where an actor is in its lifecycle (Ray's actor states).
type ActorState int

// Actor states. Dead is terminal.
const (
	// ActorDependenciesUnready: constructor arguments are not available yet.
	ActorDependenciesUnready ActorState = iota
	// ActorPendingCreation: waiting for a node and for the constructor to run.
	ActorPendingCreation
	// ActorAlive: the constructor returned; calls are delivered.
	ActorAlive
	// ActorRestarting: the instance died and a new one is being created.
	ActorRestarting
	// ActorDead: gone for good; calls fail with ErrKindActorDied.
	ActorDead
)

var actorStateNames = [...]string{"DEPENDENCIES_UNREADY", "PENDING_CREATION", "ALIVE", "RESTARTING", "DEAD"}

// String names the state as Ray spells it.
func (s ActorState) String() string {
	if s >= 0 && int(s) < len(actorStateNames) {
		return actorStateNames[s]
	}
	return "ActorState(" + strconv.Itoa(int(s)) + ")"
}

// ActorSpec is the part of an actor's definition its state machine needs.
type ActorSpec struct {
	ID   string
	Name string
	// MaxRestarts bounds restarts after the instance dies (default 0, -1
	// unlimited). A restart re-runs the constructor; state is not restored.
	MaxRestarts int
	// MaxTaskRetries bounds how often a call in flight when the instance
	// died is retried on the next one (default 0: at-most-once).
	MaxTaskRetries int
}

// Validate rejects budgets below -1.
func (s ActorSpec) Validate() error {
	if s.MaxRestarts < Unlimited {
		return fmt.Errorf("actor %s: MaxRestarts %d: must be -1 (unlimited) or >= 0", s.ID, s.MaxRestarts)
	}
	if s.MaxTaskRetries < Unlimited {
		return fmt.Errorf("actor %s: MaxTaskRetries %d: must be -1 (unlimited) or >= 0", s.ID, s.MaxTaskRetries)
	}
	return nil
}

// ActorEventKind identifies an actor event.
type ActorEventKind int

// Actor event kinds; build events with the constructor functions below.
const (
	ActorEvDepsReady ActorEventKind = iota + 1
	ActorEvDepsFailed
	ActorEvCreated
	ActorEvCreationFailed
	ActorEvWorkerDied
	ActorEvNodeDied
	ActorEvKilled
)

var actorEventNames = [...]string{"", "DepsReady", "DepsFailed", "Created", "CreationFailed", "WorkerDied", "NodeDied", "Killed"}

// String names the event kind.
func (k ActorEventKind) String() string {
	if k > 0 && int(k) < len(actorEventNames) {
		return actorEventNames[k]
	}
	return "ActorEventKind(" + strconv.Itoa(int(k)) + ")"
}

// ActorEvent is something that happened to an actor, fed to
// ActorMachine.Apply.
type ActorEvent struct {
	Kind      ActorEventKind
	Worker    string // Created, WorkerDied
	Node      string // Created, NodeDied
	Msg       string // CreationFailed, WorkerDied, NodeDied
	Cause     error  // DepsFailed
	NoRestart bool   // Killed
}

// ActorDepsReady reports that the constructor's arguments are available.
func ActorDepsReady() ActorEvent { return ActorEvent{Kind: ActorEvDepsReady} }

// ActorDepsFailed reports that a constructor argument failed for good.
func ActorDepsFailed(cause error) ActorEvent {
	return ActorEvent{Kind: ActorEvDepsFailed, Cause: cause}
}

// Created reports that the constructor returned in worker on node.
func Created(worker, node string) ActorEvent {
	return ActorEvent{Kind: ActorEvCreated, Worker: worker, Node: node}
}

// CreationFailed reports that the constructor returned an error or panicked. Like Ray,
// this kills the actor without restart: re-running the same constructor
// would fail the same way.
func CreationFailed(msg string) ActorEvent { return ActorEvent{Kind: ActorEvCreationFailed, Msg: msg} }

// ActorWorkerDied reports that the worker process hosting the actor exited. Reports
// naming a worker other than the current one are stale and ignored.
func ActorWorkerDied(worker, msg string) ActorEvent {
	return ActorEvent{Kind: ActorEvWorkerDied, Worker: worker, Msg: msg}
}

// ActorNodeDied reports that the node hosting the actor left the cluster. Reports naming
// another node are stale and ignored.
func ActorNodeDied(node, msg string) ActorEvent {
	return ActorEvent{Kind: ActorEvNodeDied, Node: node, Msg: msg}
}

// Killed reports goray.Kill; with noRestart the actor dies even if restarts remain.
func Killed(noRestart bool) ActorEvent { return ActorEvent{Kind: ActorEvKilled, NoRestart: noRestart} }

// ActorEffects tell the caller what to do after an actor transition.
type ActorEffects struct {
	// ScheduleCreation: place the actor and run its constructor (first
	// creation or a restart).
	ScheduleCreation bool
	// CancelCreation: abandon a creation in progress (killed before Created).
	CancelCreation bool
	// Restarts is the number of restarts used so far.
	Restarts int
	// KillWorker: kill this worker process.
	KillWorker string
	// ReleaseNode: give the actor's resources back on this node.
	ReleaseNode string
	// Deliver: calls to hand to the live instance now, in order.
	Deliver []Call
	// FailCalls: calls to fail with ErrKind (ErrKindActorDied), Message and
	// Cause.
	FailCalls []Call
	// Dead: the actor just died for good: release its name, fail later calls.
	Dead    bool
	ErrKind ErrorKind
	Message string
	Cause   error
}

// ActorMachine is one actor's lifecycle plus its call sequencer. It decides
// restarts against MaxRestarts and, through the sequencer, which calls in
// flight are retried or failed when an instance dies.
type ActorMachine struct {
	spec         ActorSpec
	state        ActorState
	restarts     int
	worker, node string
	death        string
	calls        *CallSequencer
}

// NewActorMachine returns a machine in ActorDependenciesUnready with its
// call sequencer paused until the first Created.
func NewActorMachine(spec ActorSpec) *ActorMachine {
	s := NewCallSequencer(spec.MaxTaskRetries)
	s.Pause()
	return &ActorMachine{spec: spec, calls: s}
}

// Spec returns the machine's spec.
func (m *ActorMachine) Spec() ActorSpec { return m.spec }

// State returns the current state.
func (m *ActorMachine) State() ActorState { return m.state }

// Restarts returns the number of restarts used.
func (m *ActorMachine) Restarts() int { return m.restarts }

// Worker returns the worker hosting the live instance ("" if none).
func (m *ActorMachine) Worker() string { return m.worker }

// Node returns the node hosting the live instance ("" if none).
func (m *ActorMachine) Node() string { return m.node }

// DeathCause explains why a dead actor died ("" while not dead).
func (m *ActorMachine) DeathCause() string { return m.death }

// Calls returns the actor's call sequencer: submit calls with Arrive and
// report them done with Complete; the machine pauses, resumes and kills it.
func (m *ActorMachine) Calls() *CallSequencer { return m.calls }

func (m *ActorMachine) label() string {
	if m.spec.Name == "" {
		return m.spec.ID
	}
	return m.spec.Name + " (" + m.spec.ID + ")"
}

func (m *ActorMachine) illegal(ev ActorEvent) error {
	return &TransitionError{Machine: "actor", ID: m.spec.ID, State: m.state.String(), Event: ev.Kind.String()}
}

// Apply feeds one event to the machine. Illegal transitions return a
// *TransitionError and change nothing. Reports about a dead actor, stale
// reports about a previous instance's worker or node, and Kill of a dead
// actor are ignored without error.
func (m *ActorMachine) Apply(ev ActorEvent) (ActorEffects, error) {
	switch ev.Kind {
	case ActorEvDepsReady:
		if m.state != ActorDependenciesUnready {
			return ActorEffects{}, m.illegal(ev)
		}
		m.state = ActorPendingCreation
		return ActorEffects{ScheduleCreation: true}, nil

	case ActorEvDepsFailed:
		if m.state != ActorDependenciesUnready {
			return ActorEffects{}, m.illegal(ev)
		}
		eff := m.die(fmt.Sprintf("actor %s: a constructor argument failed: %v", m.label(), ev.Cause))
		eff.Cause = ev.Cause
		return eff, nil

	case ActorEvCreated:
		if (m.state != ActorPendingCreation && m.state != ActorRestarting) || ev.Worker == "" {
			return ActorEffects{}, m.illegal(ev)
		}
		m.state, m.worker, m.node = ActorAlive, ev.Worker, ev.Node
		return ActorEffects{Deliver: m.calls.Resume(), Restarts: m.restarts}, nil

	case ActorEvCreationFailed:
		if m.state != ActorPendingCreation && m.state != ActorRestarting {
			return ActorEffects{}, m.illegal(ev)
		}
		return m.die(fmt.Sprintf("actor %s: constructor failed: %s", m.label(), ev.Msg)), nil

	case ActorEvWorkerDied, ActorEvNodeDied:
		switch m.state {
		case ActorDead:
			return ActorEffects{}, nil
		case ActorDependenciesUnready:
			return ActorEffects{}, m.illegal(ev)
		}
		if ev.Kind == ActorEvWorkerDied && m.worker != "" && ev.Worker != "" && ev.Worker != m.worker {
			return ActorEffects{}, nil
		}
		if ev.Kind == ActorEvNodeDied && m.node != "" && ev.Node != m.node {
			return ActorEffects{}, nil
		}
		what := "worker died"
		if ev.Kind == ActorEvNodeDied {
			what = "node " + ev.Node + " died"
		}
		return m.restartOrDie(fmt.Sprintf("actor %s: %s: %s", m.label(), what, ev.Msg)), nil

	case ActorEvKilled:
		switch m.state {
		case ActorDead:
			return ActorEffects{}, nil
		case ActorDependenciesUnready:
			return m.die(fmt.Sprintf("actor %s was killed", m.label())), nil
		}
		creating := m.state != ActorAlive
		w := m.worker
		var eff ActorEffects
		if ev.NoRestart {
			eff = m.die(fmt.Sprintf("actor %s was killed", m.label()))
		} else {
			eff = m.restartOrDie(fmt.Sprintf("actor %s was killed", m.label()))
		}
		eff.KillWorker, eff.CancelCreation = w, creating
		return eff, nil
	}
	return ActorEffects{}, m.illegal(ev)
}

// restartOrDie restarts the actor if the budget allows, else kills it.
func (m *ActorMachine) restartOrDie(msg string) ActorEffects {
	if m.spec.MaxRestarts >= 0 && m.restarts >= m.spec.MaxRestarts {
		return m.die(msg + fmt.Sprintf("; no restarts left (max_restarts=%d)", m.spec.MaxRestarts))
	}
	m.restarts++
	release := m.node
	m.state, m.worker, m.node = ActorRestarting, "", ""
	eff := ActorEffects{ScheduleCreation: true, Restarts: m.restarts, ReleaseNode: release,
		FailCalls: m.calls.Restart()}
	if len(eff.FailCalls) > 0 {
		eff.ErrKind = ErrKindActorDied
		eff.Message = msg + fmt.Sprintf("; call not retried (max_task_retries=%d)", m.spec.MaxTaskRetries)
	}
	return eff
}

// die moves the actor to Dead and fails every call it had not completed.
func (m *ActorMachine) die(msg string) ActorEffects {
	release := m.node
	m.state, m.worker, m.node, m.death = ActorDead, "", "", msg
	return ActorEffects{Dead: true, ErrKind: ErrKindActorDied, Message: msg, ReleaseNode: release,
		FailCalls: m.calls.Kill(), Restarts: m.restarts}
}
