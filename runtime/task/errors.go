package task

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps one of them so
// callers can branch with errors.Is without parsing messages.
var (
	// ErrInvalidResources reports a resource set with a negative, NaN,
	// infinite or oversized quantity, or an empty resource name.
	ErrInvalidResources = errors.New("invalid resources")
	// ErrInsufficientResources reports a subtraction that would leave a
	// quantity below zero.
	ErrInsufficientResources = errors.New("insufficient resources")
	// ErrIllegalTransition reports an event that the task or actor state
	// machine cannot accept in its current state. The concrete error is a
	// *TransitionError.
	ErrIllegalTransition = errors.New("illegal state transition")
	// ErrUnknownPlacementGroup reports a placement group ID the PGTable does
	// not hold (never added, or already removed).
	ErrUnknownPlacementGroup = errors.New("unknown placement group")
	// ErrBadBundle reports a bundle index outside a placement group, or a
	// bundle that is not placed yet.
	ErrBadBundle = errors.New("bad placement group bundle")
	// ErrPlacementGroupExists reports PGTable.Add with an ID already held.
	ErrPlacementGroupExists = errors.New("placement group already exists")
	// ErrBadAssignment reports a bundle-to-node assignment that does not
	// match the group (wrong length, empty node name).
	ErrBadAssignment = errors.New("bad bundle assignment")
	// ErrDuplicateTask reports DepTracker.Add with a task ID already tracked.
	ErrDuplicateTask = errors.New("task already tracked")
	// ErrDependencyFailed reports that an argument of a task was lost or
	// failed; the concrete error is a *DependencyError carrying the cause.
	ErrDependencyFailed = errors.New("task dependency failed")
	// ErrDuplicateCall reports an actor call whose (caller, sequence number)
	// was already seen by the CallSequencer.
	ErrDuplicateCall = errors.New("duplicate actor call")
	// ErrUnknownCall reports completing a call the CallSequencer does not
	// have in flight.
	ErrUnknownCall = errors.New("unknown actor call")
	// ErrActorDead reports a call submitted to an actor whose machine is in
	// the Dead state.
	ErrActorDead = errors.New("actor is dead")
)

// TransitionError describes an event a state machine refused. It wraps
// ErrIllegalTransition.
type TransitionError struct {
	Machine string // "task" or "actor"
	ID      string // task or actor ID
	State   string // state the machine was in
	Event   string // event that was refused
}

// Error implements error.
func (e *TransitionError) Error() string {
	return fmt.Sprintf("%s %s: event %s not allowed in state %s", e.Machine, e.ID, e.Event, e.State)
}

// Unwrap lets errors.Is match ErrIllegalTransition.
func (e *TransitionError) Unwrap() error { return ErrIllegalTransition }

// DependencyError is the cause attached to a task whose argument object
// failed. It wraps ErrDependencyFailed and the object's own failure.
type DependencyError struct {
	Object string // the argument object ID that failed
	Cause  error  // why the object failed (may be nil)
}

// Error implements error.
func (e *DependencyError) Error() string {
	if e.Cause == nil {
		return fmt.Sprintf("dependency %s failed", e.Object)
	}
	return fmt.Sprintf("dependency %s failed: %v", e.Object, e.Cause)
}

// Unwrap exposes both the sentinel and the object's cause to errors.Is/As.
func (e *DependencyError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrDependencyFailed}
	}
	return []error{ErrDependencyFailed, e.Cause}
}
