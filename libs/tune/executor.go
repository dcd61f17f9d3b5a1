package tune

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
)

// StepResult is one step of a trial as an executor returns it.
type StepResult struct {
	Metrics    Metrics
	Checkpoint *Checkpoint // reported together with the metrics, if any
	Finished   bool        // the trainable returned; Metrics is nil
}

// TrialSpec is everything an executor needs to start one trial.
type TrialSpec struct {
	TrialID string
	// Trainable is the registered name; executors that run trials in other
	// processes need it.
	Trainable string
	// Spec is the trainable itself, for executors in the driver's process.
	Spec       TrainableSpec
	Params     Params
	Checkpoint *Checkpoint // resume point, nil for a fresh start
	// Resources is what the tuner reserves for the trial.
	Resources Resources
	// ActorResources is what the trial's own process takes, when less than
	// Resources (an rllib trial reserves its rollout workers, which it
	// creates itself); nil means Resources.
	ActorResources Resources
}

// TrialHandle is a started trial. Step, Save and Stop are called from one
// goroutine at a time.
type TrialHandle interface {
	// Step runs the trainable to its next report.
	Step(ctx context.Context) (StepResult, error)
	// Save returns a checkpoint of the trial's current state.
	Save(ctx context.Context) (*Checkpoint, error)
	// Stop ends the trial and releases what it holds.
	Stop(ctx context.Context) error
	// Location names where it runs (node ID, or host:pid).
	Location() string
}

// Executor runs trials: in the driver process (InProcessExecutor) or as
// goray actors across a cluster (package tune/actorexec).
type Executor interface {
	// Capacity is the total of each resource trials may use at once; the
	// tuner launches a trial only while its request fits what is free.
	Capacity(ctx context.Context) (Resources, error)
	// Start launches a trial without waiting for its first step.
	Start(ctx context.Context, spec TrialSpec) (TrialHandle, error)
	// Close releases the executor.
	Close(ctx context.Context) error
}

// InProcessExecutor runs each trial in goroutines of the driver process.
// It is the default, and what the unit tests use.
type InProcessExecutor struct {
	// CPUs is the CPU capacity (default runtime.NumCPU()).
	CPUs float64
	// Resources adds custom capacities (e.g. {"GPU": 1}).
	Resources Resources
}

// Capacity implements Executor.
func (e *InProcessExecutor) Capacity(context.Context) (Resources, error) {
	out := Resources{"CPU": e.CPUs}
	if e.CPUs <= 0 {
		out["CPU"] = float64(runtime.NumCPU())
	}
	for k, v := range e.Resources {
		out[k] = v
	}
	return out, nil
}

// Start implements Executor.
func (e *InProcessExecutor) Start(ctx context.Context, s TrialSpec) (TrialHandle, error) {
	spec := s.Spec
	if spec.New == nil && spec.Func == nil {
		var err error
		if spec, err = LookupTrainable(s.Trainable); err != nil {
			return nil, err
		}
	}
	return NewTrialHost(ctx, spec, s.TrialID, s.Params, s.Checkpoint)
}

// Close implements Executor.
func (e *InProcessExecutor) Close(context.Context) error { return nil }

// TrialHost hosts one trial's trainable and steps it on request. Executors
// embed it wherever the trial runs: InProcessExecutor in the driver, the
// actor executor inside a goray actor.
type TrialHost struct {
	mu  sync.Mutex
	r   runner
	loc string
}

// NewTrialHost prepares a trial (Setup runs lazily on the first Step).
func NewTrialHost(ctx context.Context, spec TrainableSpec, trialID string, params Params, ckpt *Checkpoint) (*TrialHost, error) {
	r, err := newRunner(ctx, spec, trialID, params, ckpt)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	return &TrialHost{r: r, loc: fmt.Sprintf("%s:%d", host, os.Getpid())}, nil
}

// SetLocation overrides the location string (the actor executor puts the
// goray node ID there).
func (h *TrialHost) SetLocation(loc string) { h.loc = loc }

// Step implements TrialHandle.
func (h *TrialHost) Step(ctx context.Context) (out StepResult, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer recoverInto(&err, "step")
	o, err := h.r.step(ctx)
	if err != nil {
		return StepResult{}, err
	}
	return StepResult(o), nil
}

// recoverInto turns a panic in user code into the trial's error, so that a
// bad trainable fails its trial, not the process hosting it.
func recoverInto(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("tune: trainable panicked in %s: %v", what, r)
	}
}

// Save implements TrialHandle.
func (h *TrialHost) Save(ctx context.Context) (c *Checkpoint, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer recoverInto(&err, "save")
	return h.r.save(ctx)
}

// Stop implements TrialHandle.
func (h *TrialHost) Stop(ctx context.Context) (err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer recoverInto(&err, "cleanup")
	return h.r.close(ctx)
}

// Location implements TrialHandle.
func (h *TrialHost) Location() string { return h.loc }
