package tune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
)

// Checkpoint is a trial's saved state: a set of named files. It is plain data
// so that it can travel between a trial actor on any node and the driver,
// which writes it as a checkpoint_NNNNNN directory.
type Checkpoint struct {
	Files map[string][]byte
	// Iteration and TimeTotal are the training_iteration and time_total_s at
	// save time; tune fills them so a restored trial continues its counters.
	Iteration int
	TimeTotal float64
}

// NewCheckpoint returns a checkpoint holding data as the file "data".
func NewCheckpoint(data []byte) *Checkpoint {
	return &Checkpoint{Files: map[string][]byte{"data": data}}
}

// CheckpointJSON returns a checkpoint holding v, JSON-encoded as "state.json".
func CheckpointJSON(v any) (*Checkpoint, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("tune: encode checkpoint: %w", err)
	}
	return &Checkpoint{Files: map[string][]byte{"state.json": b}}, nil
}

// DecodeJSON decodes the "state.json" file written by CheckpointJSON.
func (c *Checkpoint) DecodeJSON(v any) error {
	if c == nil {
		return ErrNoCheckpoint
	}
	b, ok := c.Files["state.json"]
	if !ok {
		return fmt.Errorf("%w: checkpoint has no state.json", ErrNoCheckpoint)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("tune: decode checkpoint: %w", err)
	}
	return nil
}

// Data returns the file written by NewCheckpoint.
func (c *Checkpoint) Data() []byte {
	if c == nil {
		return nil
	}
	return c.Files["data"]
}

// Session is a function trainable's link to the tuner.
type Session interface {
	// Report hands one iteration's metrics (and optionally a checkpoint to
	// persist) to the tuner and blocks until the tuner decides. It returns
	// ErrTrialStopped when the trial must end; the trainable should return.
	Report(ctx context.Context, m Metrics, ckpt *Checkpoint) error
	// Checkpoint is the checkpoint to resume from (after a failure, a pause,
	// a PBT exploit or an experiment restore), or nil for a fresh start.
	Checkpoint() *Checkpoint
	// TrialID names the trial.
	TrialID() string
	// Iteration is the training_iteration of the last report (or of the
	// checkpoint restored from).
	Iteration() int
}

// TrainFunc is a function trainable: it loops, calling s.Report once per
// iteration, and returns when done (nil), stopped (ErrTrialStopped or nil) or
// failed (any other error).
type TrainFunc func(ctx context.Context, params Params, s Session) error

// Trainer is a class trainable (Ray's Trainable with setup/step/save/restore).
// A Trainer may also implement io.Closer-like Cleanup(ctx) error.
type Trainer interface {
	Setup(ctx context.Context, params Params) error
	// Step runs one iteration. Return metrics with "done": true to end.
	Step(ctx context.Context) (Metrics, error)
	Save(ctx context.Context) (*Checkpoint, error)
	Restore(ctx context.Context, c *Checkpoint) error
}

// Cleaner is implemented by Trainers that release resources at the end.
type Cleaner interface {
	Cleanup(ctx context.Context) error
}

// Algorithm is the shape tune needs from an RL algorithm (libs/rllib's
// Algorithm): train one iteration, save and restore, stop. rllib adapts to
// it in its own glue package so that neither imports the other's internals.
type Algorithm interface {
	Train(ctx context.Context) (map[string]any, error)
	// SaveTo writes a checkpoint directory.
	SaveTo(ctx context.Context, dir string) error
	// RestoreFrom loads a checkpoint directory written by SaveTo.
	RestoreFrom(ctx context.Context, dir string) error
	Stop(ctx context.Context) error
}

// TrainableSpec is a registered trainable: how to build it in whichever
// process runs the trial, and what one trial reserves.
type TrainableSpec struct {
	// New builds a fresh Trainer (exactly one of New and Func is set).
	New func() Trainer
	// Func is a function trainable.
	Func TrainFunc
	// Resources, if set, overrides Config.ResourcesPerTrial for a trial's
	// params (an rllib trial reserves 1 CPU plus one per rollout worker).
	Resources func(p Params) Resources
	// ActorResources, if set, is the part of Resources the trial process
	// itself holds (the rest is for actors the trainable creates).
	ActorResources func(p Params) Resources
}

var (
	registryMu sync.RWMutex
	registry   = map[string]TrainableSpec{}
)

// RegisterTrainable makes a trainable available by name, in the driver and in
// every worker process (call it from init so workers, which re-execute the
// same binary, know it too). Registering a name twice replaces it.
func RegisterTrainable(name string, spec TrainableSpec) {
	if spec.New == nil && spec.Func == nil {
		panic("tune: RegisterTrainable " + name + ": neither New nor Func set")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[name] = spec
}

// RegisterFunc registers a function trainable under name.
func RegisterFunc(name string, fn TrainFunc) { RegisterTrainable(name, TrainableSpec{Func: fn}) }

// LookupTrainable returns a registered trainable.
func LookupTrainable(name string) (TrainableSpec, error) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	s, ok := registry[name]
	if !ok {
		names := make([]string, 0, len(registry))
		for n := range registry {
			names = append(names, n)
		}
		sort.Strings(names)
		return TrainableSpec{}, fmt.Errorf("%w: %q (registered: %v)", ErrUnknownTrainable, name, names)
	}
	return s, nil
}

// registeredName finds the name a function or factory was registered under,
// so that Tuner accepts the value itself and the actor executor can still
// name it to a worker process.
func registeredName(v any) string {
	ptr := reflect.ValueOf(v)
	if ptr.Kind() != reflect.Func {
		return ""
	}
	registryMu.RLock()
	defer registryMu.RUnlock()
	for name, s := range registry {
		if s.Func != nil && reflect.ValueOf(s.Func).Pointer() == ptr.Pointer() {
			return name
		}
		if s.New != nil && reflect.ValueOf(s.New).Pointer() == ptr.Pointer() {
			return name
		}
	}
	return ""
}

// specFor turns what the user passed to NewTuner into a TrainableSpec and a
// name: a registered name, a TrainFunc (or plain func with its signature), a
// func() Trainer factory, or a TrainableSpec.
func specFor(trainable any) (TrainableSpec, string, error) {
	switch t := trainable.(type) {
	case string:
		s, err := LookupTrainable(t)
		return s, t, err
	case TrainableSpec:
		return t, "trainable", nil
	case TrainFunc:
		return TrainableSpec{Func: t}, nameOr(registeredName(t), "train"), nil
	case func(context.Context, Params, Session) error:
		return TrainableSpec{Func: t}, nameOr(registeredName(t), "train"), nil
	case func() Trainer:
		return TrainableSpec{New: t}, nameOr(registeredName(t), "trainer"), nil
	case nil:
		return TrainableSpec{}, "", fmt.Errorf("%w: nil trainable", ErrBadConfig)
	}
	return TrainableSpec{}, "", fmt.Errorf("%w: unsupported trainable type %T (want a name, TrainFunc, func() Trainer or TrainableSpec)", ErrBadConfig, trainable)
}

func nameOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ---- the step-driven runner every trainable is adapted to ----

// stepOut is one step's outcome.
type stepOut struct {
	Metrics    Metrics
	Checkpoint *Checkpoint // reported with the metrics (function trainables)
	Finished   bool        // the trainable returned; Metrics is nil
}

// runner drives one trial's trainable step by step. It is what executors
// host: in a goroutine of the driver, or inside a trial actor.
type runner interface {
	step(ctx context.Context) (stepOut, error)
	save(ctx context.Context) (*Checkpoint, error)
	close(ctx context.Context) error
}

func newRunner(ctx context.Context, spec TrainableSpec, trialID string, params Params, ckpt *Checkpoint) (runner, error) {
	if spec.Func != nil {
		return newFuncRunner(ctx, spec.Func, trialID, params, ckpt), nil
	}
	return &classRunner{t: spec.New(), id: trialID, params: params, resume: ckpt}, nil
}

// classRunner runs Setup (and Restore) lazily in the first step so that
// starting a trial never blocks the tuner's control loop.
type classRunner struct {
	t       Trainer
	id      string
	params  Params
	resume  *Checkpoint
	setupOK bool
}

func (c *classRunner) step(ctx context.Context) (stepOut, error) {
	if !c.setupOK {
		if err := c.t.Setup(ctx, c.params); err != nil {
			return stepOut{}, fmt.Errorf("tune: trial %s setup: %w", c.id, err)
		}
		if c.resume != nil {
			if err := c.t.Restore(ctx, c.resume); err != nil {
				return stepOut{}, fmt.Errorf("tune: trial %s restore: %w", c.id, err)
			}
		}
		c.setupOK = true
	}
	m, err := c.t.Step(ctx)
	if err != nil {
		return stepOut{}, err
	}
	return stepOut{Metrics: m}, nil
}

func (c *classRunner) save(ctx context.Context) (*Checkpoint, error) {
	if !c.setupOK {
		if c.resume != nil {
			return c.resume, nil
		}
		return nil, ErrNoCheckpoint
	}
	return c.t.Save(ctx)
}

func (c *classRunner) close(ctx context.Context) error {
	if !c.setupOK {
		return nil
	}
	if cl, ok := c.t.(Cleaner); ok {
		return cl.Cleanup(ctx)
	}
	return nil
}

// funcRunner runs a TrainFunc in its own goroutine; Report hands each
// result over a channel and waits for the next step call, so the function
// runs in lock-step with the tuner's decisions.
type funcRunner struct {
	fn      TrainFunc
	params  Params
	trialID string
	resume  *Checkpoint
	started bool
	cancel  context.CancelFunc
	reports chan stepOut
	proceed chan bool // true: continue; false: stop
	exited  chan error
	last    *Checkpoint
	iter    int
	mu      sync.Mutex
}

func newFuncRunner(_ context.Context, fn TrainFunc, id string, params Params, ckpt *Checkpoint) *funcRunner {
	f := &funcRunner{fn: fn, params: params, trialID: id, resume: ckpt, last: ckpt,
		reports: make(chan stepOut), proceed: make(chan bool), exited: make(chan error, 1)}
	if ckpt != nil {
		f.iter = ckpt.Iteration
	}
	return f
}

func (f *funcRunner) start() {
	f.started = true
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() {
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("tune: trial %s panicked: %v", f.trialID, r)
				}
			}()
			err = f.fn(ctx, f.params, f)
		}()
		f.exited <- err
	}()
}

func (f *funcRunner) step(ctx context.Context) (stepOut, error) {
	if !f.started {
		f.start()
	} else {
		select {
		case f.proceed <- true:
		case err := <-f.exited:
			f.exited <- err
			return f.finish(err)
		case <-ctx.Done():
			return stepOut{}, ctx.Err()
		}
	}
	select {
	case out := <-f.reports:
		if out.Checkpoint != nil {
			f.mu.Lock()
			f.last = out.Checkpoint
			f.mu.Unlock()
		}
		return out, nil
	case err := <-f.exited:
		f.exited <- err // keep it for close
		return f.finish(err)
	case <-ctx.Done():
		return stepOut{}, ctx.Err()
	}
}

func (f *funcRunner) finish(err error) (stepOut, error) {
	if err != nil && !errors.Is(err, ErrTrialStopped) {
		return stepOut{}, err
	}
	return stepOut{Finished: true}, nil
}

func (f *funcRunner) save(context.Context) (*Checkpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		return nil, ErrNoCheckpoint
	}
	return f.last, nil
}

func (f *funcRunner) close(ctx context.Context) error {
	if !f.started {
		return nil
	}
	f.cancel()
	// Unblock a Report waiting for the next step.
	for {
		select {
		case f.proceed <- false:
		case <-f.exited:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Report implements Session.
func (f *funcRunner) Report(ctx context.Context, m Metrics, ckpt *Checkpoint) error {
	f.iter++
	if ckpt != nil {
		// Stamp it here, where it was made: a later Save (pause) hands back
		// this checkpoint, and its iteration must still be this one.
		ckpt.Iteration = f.iter
	}
	select {
	case f.reports <- stepOut{Metrics: m, Checkpoint: ckpt}:
	case <-ctx.Done():
		return ErrTrialStopped
	}
	select {
	case ok := <-f.proceed:
		if !ok {
			return ErrTrialStopped
		}
		return nil
	case <-ctx.Done():
		return ErrTrialStopped
	}
}

// Checkpoint implements Session.
func (f *funcRunner) Checkpoint() *Checkpoint { return f.resume }

// TrialID implements Session.
func (f *funcRunner) TrialID() string { return f.trialID }

// Iteration implements Session.
func (f *funcRunner) Iteration() int { return f.iter }
