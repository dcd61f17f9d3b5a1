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
//
// A trial that fails (its worker crashed, its actor died) surfaces as an
// error from Step; the tuner retries it from its latest checkpoint in a new
// actor, up to FailureConfig.MaxFailures. With ReuseActors the actor of a
// trial that ended normally is kept and handed the next trial with the same
// resources (Ray's reuse_actors), which saves a worker start per trial.
package actorexec

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"sort"
	"strings"
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
	if out.Metrics != nil {
		// Ray records the trial process's pid and host in every result;
		// the tuner would fill in the driver's, which on a cluster says
		// nothing about where the trial ran.
		out.Metrics = maps.Clone(out.Metrics)
		if _, ok := out.Metrics[tune.KeyPID]; !ok {
			out.Metrics[tune.KeyPID] = os.Getpid()
		}
		if _, ok := out.Metrics[tune.KeyHostname]; !ok {
			out.Metrics[tune.KeyHostname] = hostname
		}
	}
	b, err := tune.EncodeJSON(out.Metrics)
	if err != nil {
		return StepReply{}, fmt.Errorf("actorexec: encode metrics: %w", err)
	}
	return StepReply{Metrics: b, Checkpoint: out.Checkpoint, Finished: out.Finished, Node: t.node}, nil
}

// Node returns the ID of the goray node the actor runs on.
func (t *TrialActor) Node(context.Context) (string, error) { return t.node, nil }

// Save checkpoints the trainable.
func (t *TrialActor) Save(ctx context.Context) (*tune.Checkpoint, error) { return t.host.Save(ctx) }

// Stop ends the trainable.
func (t *TrialActor) Stop(ctx context.Context) (bool, error) { return true, t.host.Stop(ctx) }

// Reset makes a stopped actor host another trial (Ray's reuse_actors): no
// new worker process, no new actor placement.
func (t *TrialActor) Reset(ctx context.Context, a TrialArgs) (bool, error) {
	n, err := NewTrialActor(ctx, a)
	if err != nil {
		return false, err
	}
	t.host = n.host
	return true, nil
}

var hostname, _ = os.Hostname()

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
	// ReuseActors keeps the actor of a finished trial and hands it the next
	// trial with the same resources (Ray's reuse_actors), saving a worker
	// process start per trial. Call Close to kill the kept actors.
	ReuseActors bool
	// Spread places trial actors with goray's SPREAD strategy (one per node
	// in turn) instead of the default hybrid policy, which packs the local
	// node first.
	Spread bool

	mu   sync.Mutex
	idle map[string][]*goray.ActorHandle[TrialActor]
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
	args := TrialArgs{TrialID: s.TrialID, Trainable: s.Trainable, Params: p, Checkpoint: s.Checkpoint}
	key := resKey(res)
	if h := e.takeIdle(key); h != nil {
		if _, err := goray.Call[bool](ctx, h, "Reset", args).Get(ctx); err == nil {
			return e.newHandle(ctx, h, s.TrialID, key), nil
		}
		goray.Kill(ctx, h, true) // a broken idle actor: start a fresh one
	}
	opts := []goray.Option{goray.NumCPUs(res["CPU"]), goray.MaxRestarts(e.MaxTrialRestarts)}
	if g := res["GPU"]; g > 0 {
		opts = append(opts, goray.NumGPUs(g))
	}
	if e.Spread {
		opts = append(opts, goray.Strategy(goray.Spread()))
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
	h, err := trialClass.Options(opts...).Remote(ctx, args)
	if err != nil {
		return nil, fmt.Errorf("actorexec: create trial actor %s: %w", s.TrialID, err)
	}
	return e.newHandle(ctx, h, s.TrialID, key), nil
}

// newHandle wraps a trial actor and asks it for its node at once, so the
// live table shows where a trial runs while its first step is still going
// (a PPO iteration can take minutes), not only from its first result. The
// call is queued on the actor before the tuner's first Step, so it costs
// one actor call and never delays a step.
func (e *Executor) newHandle(ctx context.Context, h *goray.ActorHandle[TrialActor], id, key string) *handle {
	th := &handle{e: e, h: h, id: id, key: key}
	ref := goray.Call[string](ctx, h, "Node")
	go func() {
		// Ends with the actor's answer, its death or the experiment's
		// context; a failure only leaves the location to the first Step.
		if node, err := ref.Get(ctx); err == nil {
			th.mu.Lock()
			if th.node == "" {
				th.node = node
			}
			th.mu.Unlock()
		}
	}()
	return th
}

func resKey(r tune.Resources) string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%g;", k, r[k])
	}
	return b.String()
}

func (e *Executor) takeIdle(key string) *goray.ActorHandle[TrialActor] {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.idle[key]
	if len(l) == 0 {
		return nil
	}
	h := l[len(l)-1]
	e.idle[key] = l[:len(l)-1]
	return h
}

func (e *Executor) putIdle(key string, h *goray.ActorHandle[TrialActor]) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.idle == nil {
		e.idle = map[string][]*goray.ActorHandle[TrialActor]{}
	}
	e.idle[key] = append(e.idle[key], h)
}

// Close implements tune.Executor: it kills the actors kept for reuse.
func (e *Executor) Close(ctx context.Context) error {
	e.mu.Lock()
	idle := e.idle
	e.idle = nil
	e.mu.Unlock()
	var errs []error
	for _, l := range idle {
		for _, h := range l {
			if err := goray.Kill(e.ctx(ctx), h, true); err != nil && !errors.Is(err, goray.ErrActorDied) && !errors.Is(err, goray.ErrActorNotFound) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

type handle struct {
	e    *Executor
	h    *goray.ActorHandle[TrialActor]
	id   string
	key  string
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
	if stopErr == nil && h.e.ReuseActors {
		h.e.putIdle(h.key, h.h)
		return nil
	}
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
