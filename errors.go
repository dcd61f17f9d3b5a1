package goray

import (
	"errors"
	"fmt"

	grt "github.com/goray/goray/runtime"
)

// Sentinel errors; test with errors.Is.
var (
	ErrNotInitialized  = errors.New("goray: not initialized (call goray.Init)")
	ErrUnknownFunction = errors.New("goray: unknown function")
	ErrUnknownMethod   = errors.New("goray: unknown actor method")
	ErrActorExists     = errors.New("goray: an actor with this name already exists")
	ErrActorNotFound   = errors.New("goray: actor not found")
	ErrObjectLost      = errors.New("goray: object lost")
	ErrOwnerDied       = errors.New("goray: owner of the object died")
	ErrTaskCancelled   = errors.New("goray: task cancelled")
	ErrWorkerCrashed   = errors.New("goray: worker process died")
	ErrActorDied       = errors.New("goray: actor died")
	ErrInfeasible      = errors.New("goray: no node can satisfy the resource request")
	ErrGetTimeout      = errors.New("goray: get timed out")
)

// TaskError is a failure of a task or actor call: an error it returned, a
// panic (Stack holds the remote stack), or a system failure given by Cause
// (ErrWorkerCrashed, ErrTaskCancelled, ... or the failure of an argument).
type TaskError struct {
	Task    string
	Message string
	Stack   string
	Cause   error

	sentinel error // the failure class (ErrActorDied, ...) when Cause is more specific
}

// Error describes the failure and its cause.
func (e *TaskError) Error() string {
	s := fmt.Sprintf("task %s failed: %s", e.Task, e.Message)
	if e.Cause != nil && e.Message != e.Cause.Error() {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *TaskError) Unwrap() error { return e.Cause }

// Is reports whether target is the failure class of e (for example
// ErrActorDied for a call on an actor whose constructor failed, whose Cause
// is the constructor's error).
func (e *TaskError) Is(target error) bool { return e.sentinel != nil && target == e.sentinel }

// ArgTypeError reports an argument whose type does not match the function's
// parameter.
type ArgTypeError struct {
	Task      string
	Index     int
	Want, Got string
}

// Error names the task, the argument and both types.
func (e *ArgTypeError) Error() string {
	return fmt.Sprintf("task %s: argument %d: want %s, got %s", e.Task, e.Index, e.Want, e.Got)
}

// ObjectLostError reports an object that was freed or lost.
type ObjectLostError struct {
	ID     ObjectID
	Reason string
}

// Error names the object and why it is gone.
func (e *ObjectLostError) Error() string {
	return fmt.Sprintf("goray: object %s lost: %s", e.ID, e.Reason)
}

// Is makes errors.Is(err, ErrObjectLost) true.
func (e *ObjectLostError) Is(target error) bool { return target == ErrObjectLost }

// OwnerDiedError reports a ref whose owner (the node whose client created
// the object) died: nothing can vouch for the object or rebuild it any
// more, even where a copy may survive.
type OwnerDiedError struct {
	ID     ObjectID
	Reason string
}

// Error names the object and its dead owner.
func (e *OwnerDiedError) Error() string {
	return fmt.Sprintf("goray: object %s: %s", e.ID, e.Reason)
}

// Is makes errors.Is(err, ErrOwnerDied) true.
func (e *OwnerDiedError) Is(target error) bool { return target == ErrOwnerDied }

// fromInfo turns a wire failure into the public error types.
func fromInfo(e *grt.ErrorInfo) error {
	if e == nil {
		return nil
	}
	var cause error
	if e.Cause != nil {
		cause = fromInfo(e.Cause)
	}
	te := func(c error) error {
		if cause == nil {
			return &TaskError{Task: e.Task, Message: e.Message, Stack: e.Stack, Cause: c}
		}
		return &TaskError{Task: e.Task, Message: e.Message, Stack: e.Stack, Cause: cause, sentinel: c}
	}
	switch e.Kind {
	case grt.ErrKindApp:
		if cause == nil {
			cause = errors.New(e.Message)
		}
		return &TaskError{Task: e.Task, Message: e.Message, Stack: e.Stack, Cause: cause}
	case grt.ErrKindWorkerCrashed:
		return te(ErrWorkerCrashed)
	case grt.ErrKindCancelled:
		return te(ErrTaskCancelled)
	case grt.ErrKindActorDied:
		return te(ErrActorDied)
	case grt.ErrKindObjectLost:
		return &ObjectLostError{ID: ObjectID(e.ObjectID), Reason: e.Message}
	case grt.ErrKindOwnerDied:
		if e.Task == "" && cause == nil {
			return &OwnerDiedError{ID: ObjectID(e.ObjectID), Reason: e.Message}
		}
		return te(ErrOwnerDied)
	case grt.ErrKindInfeasible:
		return te(ErrInfeasible)
	case grt.ErrKindArgType:
		return &ArgTypeError{Task: e.Task, Index: e.ArgIndex, Want: e.Want, Got: e.Got}
	case grt.ErrKindUnknownFunc:
		return te(ErrUnknownFunction)
	case grt.ErrKindUnknownMethod:
		return te(ErrUnknownMethod)
	case grt.ErrKindActorNotFound:
		return te(ErrActorNotFound)
	case grt.ErrKindActorExists:
		return te(ErrActorExists)
	}
	return te(errors.New(e.Message))
}
