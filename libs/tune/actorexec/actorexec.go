// Package actorexec runs tune trials as goray actors, so that an experiment
// spreads over every node of a cluster.
//
// Each trial is one actor of the class "goray.tune.trial" created with the
// trial's resources (CPU, GPU, custom), so the goray scheduler places it on
// any node with room; the actor hosts a tune.TrialHost that builds the
// trainable by its registered name (tune.RegisterTrainable, called from init
// so that worker processes, which re-execute the driver binary, know it too).
// The tuner drives the actor with Step/Save/Stop calls; results and
// checkpoints come back to the driver, which alone writes the experiment
// directory. Params and metrics cross the wire as JSON (tune.EncodeJSON), so
// arbitrary nested maps need no gob registration.
//
// Capacity is the cluster's total resources (goray.ClusterResources); the
// tuner launches a trial only while its reservation fits what its own trials
// leave free. An rllib trial reserves its rollout workers' CPUs in that
// accounting (TrainableSpec.Resources) while the trial actor itself takes
// only ActorResources, so the workers it creates find room.
package actorexec

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/goray/goray"
	"github.com/goray/goray/libs/tune"
)

// TrialArgs starts a trial actor.
type TrialArgs struct {
	TrialID    string
	Trainable  string
	Params     []byte // tune.EncodeJSON
	Checkpoint *tune.Checkpoint
}

// StepReply is one step as it crosses the wire.
type StepReply struct {
	Metrics    []byte // tune.EncodeJSON
	Checkpoint *tune.Checkpoint
	Finished   bool
	Node       string
}

// TrialActor hosts one trial inside a goray worker.
type TrialActor struct {
	host *tune.TrialHost
	node string
}

// NewTrialActor is the actor constructor.
func NewTrialActor(ctx context.Context, a TrialArgs) (*TrialActor, error) {
	spec, err := tune.LookupTrainable(a.Trainable)
	if err != nil {
		return nil, err
	}
	p, err := tune.DecodeJSON(a.Params)
	if err != nil {
		return nil, fmt.Errorf("actorexec: trial %s params: %w", a.TrialID, err)
	}
	h, err := tune.NewTrialHost(ctx, spec, a.TrialID, tune.Params(p), a.Checkpoint)
	if err != nil {
		return nil, err
	}
	node := goray.NodeID(ctx)
	h.SetLocation(node)
	return &TrialActor{host: h, node: node}, nil
}

// Step runs the trainable to its next report.
func (t *TrialActor) Step(ctx context.Context) (StepReply, error) {
	out, err := t.host.Step(ctx)
	if err != nil {
		return StepReply{}, err
	}
	b, err := tune.EncodeJSON(out.Metrics)
	if err != nil {
		return StepReply{}, fmt.Errorf("actorexec: encode metrics: %w", err)
	}
	return StepReply{Metrics: b, Checkpoint: out.Checkpoint, Finished: out.Finished, Node: t.node}, nil
}

// Save checkpoints the trainable.
func (t *TrialActor) Save(ctx context.Context) (*tune.Checkpoint, error) { return t.host.Save(ctx) }

// Stop ends the trainable.
func (t *TrialActor) Stop(ctx context.Context) (bool, error) { return true, t.host.Stop(ctx) }

// trialClass is registered at init so workers know it.
var trialClass = goray.RegisterActor[TrialActor]("goray.tune.trial", NewTrialActor)

// Executor runs trials as goray actors. The goray runtime must be initialised
// (goray.Init) and reachable from the context passed to the tuner's calls, or
// set in Runtime.
type Executor struct {
	// Runtime, if set, is attached to every call's context.
	Runtime *goray.Runtime
	// MaxTrialRestarts is passed to each actor as MaxRestarts (default 0:
	// the tuner's FailureConfig retries from the last checkpoint instead).
	MaxTrialRestarts int
}

// New returns an actor executor on rt (nil: the process default runtime).
func New(rt *goray.Runtime) *Executor { return &Executor{Runtime: rt} }

func (e *Executor) ctx(ctx context.Context) context.Context {
	if e.Runtime != nil {
		return goray.WithRuntime(ctx, e.Runtime)
	}
	return ctx
}

// Capacity implements tune.Executor: the cluster's total resources.
func (e *Executor) Capacity(ctx context.Context) (tune.Resources, error) {
	total, _, err := goray.ClusterResources(e.ctx(ctx))
	if err != nil {
		return nil, fmt.Errorf("actorexec: cluster resources: %w", err)
	}
	return tune.Resources(total), nil
}

// Start implements tune.Executor: it creates the trial actor; the actor's
// constructor runs on whichever node the goray scheduler picks.
func (e *Executor) Start(ctx context.Context, s tune.TrialSpec) (tune.TrialHandle, error) {
	ctx = e.ctx(ctx)
	if _, err := tune.LookupTrainable(s.Trainable); err != nil {
		return nil, fmt.Errorf("actorexec: trials run in worker processes, which know trainables only by registered name: %w", err)
	}
	p, err := tune.EncodeJSON(s.Params)
	if err != nil {
		return nil, fmt.Errorf("actorexec: encode params: %w", err)
	}
	res := s.ActorResources
	if res == nil {
		res = s.Resources
	}
	opts := []goray.Option{goray.NumCPUs(res["CPU"]), goray.MaxRestarts(e.MaxTrialRestarts)}
	if g := res["GPU"]; g > 0 {
		opts = append(opts, goray.NumGPUs(g))
	}
	custom := map[string]float64{}
	for k, v := range res {
		if k != "CPU" && k != "GPU" && v > 0 {
			custom[k] = v
		}
	}
	if len(custom) > 0 {
		opts = append(opts, goray.Resources(custom))
	}
	h, err := trialClass.Options(opts...).Remote(ctx, TrialArgs{TrialID: s.TrialID, Trainable: s.Trainable, Params: p, Checkpoint: s.Checkpoint})
	if err != nil {
		return nil, fmt.Errorf("actorexec: create trial actor %s: %w", s.TrialID, err)
	}
	return &handle{e: e, h: h, id: s.TrialID}, nil
}

// Close implements tune.Executor.
func (e *Executor) Close(context.Context) error { return nil }

type handle struct {
	e    *Executor
	h    *goray.ActorHandle[TrialActor]
	id   string
	mu   sync.Mutex
	node string
	dead bool
}

func (h *handle) Step(ctx context.Context) (tune.StepResult, error) {
	r, err := goray.Call[StepReply](h.e.ctx(ctx), h.h, "Step").Get(h.e.ctx(ctx))
	if err != nil {
		return tune.StepResult{}, fmt.Errorf("actorexec: trial %s step: %w", h.id, err)
	}
	h.mu.Lock()
	h.node = r.Node
	h.mu.Unlock()
	out := tune.StepResult{Checkpoint: r.Checkpoint, Finished: r.Finished}
	if !r.Finished {
		m, err := tune.DecodeJSON(r.Metrics)
		if err != nil {
			return tune.StepResult{}, fmt.Errorf("actorexec: trial %s metrics: %w", h.id, err)
		}
		out.Metrics = tune.Metrics(m)
	}
	return out, nil
}

func (h *handle) Save(ctx context.Context) (*tune.Checkpoint, error) {
	c, err := goray.Call[*tune.Checkpoint](h.e.ctx(ctx), h.h, "Save").Get(h.e.ctx(ctx))
	if err != nil {
		return nil, fmt.Errorf("actorexec: trial %s save: %w", h.id, err)
	}
	return c, nil
}

// Stop asks the trainable to stop, then kills the actor so its worker and
// resources are released (a crashed actor is only killed).
func (h *handle) Stop(ctx context.Context) error {
	h.mu.Lock()
	if h.dead {
		h.mu.Unlock()
		return nil
	}
	h.dead = true
	h.mu.Unlock()
	cctx := h.e.ctx(ctx)
	_, stopErr := goray.Call[bool](cctx, h.h, "Stop").Get(cctx)
	killErr := goray.Kill(cctx, h.h, true)
	if errors.Is(killErr, goray.ErrActorDied) || errors.Is(killErr, goray.ErrActorNotFound) {
		killErr = nil
	}
	if stopErr != nil && (errors.Is(stopErr, goray.ErrActorDied) || errors.Is(stopErr, goray.ErrWorkerCrashed)) {
		stopErr = nil
	}
	return errors.Join(stopErr, killErr)
}

func (h *handle) Location() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.node
}
