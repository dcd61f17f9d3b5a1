package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/libs/rllib"
)

// RemoteWorker is the goray actor that wraps a RolloutWorker in a worker
// process. Its env is made by MakerFor(cfg.EnvPlugins) in that process.
type RemoteWorker struct {
	w *RolloutWorker
}

// remoteWorkerClass is registered at package init so that driver and
// worker processes (which re-execute the same binary) agree on it.
var remoteWorkerClass = goray.RegisterActor[RemoteWorker]("goray.rllib.RolloutWorker", newRemoteWorker)

// newRemoteWorker is the actor constructor. The config travels as JSON
// because env_config holds arbitrary TOML values.
func newRemoteWorker(ctx context.Context, cfgJSON string) (*RemoteWorker, error) {
	var cfg WorkerConfig
	if err := DecodeJSON([]byte(cfgJSON), &cfg); err != nil {
		return nil, fmt.Errorf("rollout worker config: %w", err)
	}
	NormalizeKwargs(cfg.EnvConfig)
	w, err := NewRolloutWorker(ctx, cfg, MakerFor(cfg.EnvPlugins))
	if err != nil {
		return nil, err
	}
	return &RemoteWorker{w: w}, nil
}

// Sample is RolloutWorker.Sample as an actor method.
func (r *RemoteWorker) Sample(ctx context.Context, weights []float32) (*SampleBatch, error) {
	return r.w.Sample(ctx, weights)
}

// State is RolloutWorker.State as an actor method.
func (r *RemoteWorker) State(ctx context.Context) (*WorkerState, error) {
	return r.w.State()
}

// Ready returns the worker's index once its constructor has run.
func (r *RemoteWorker) Ready(ctx context.Context) (int, error) {
	return r.w.cfg.WorkerIndex, nil
}

// Close closes the worker's env (before the actor is killed).
func (r *RemoteWorker) Close(ctx context.Context) (bool, error) {
	return true, r.w.Close()
}

// ActorSet runs each rollout worker as a goray actor with
// NumCPUsPerWorker, placed through a placement group of one driver bundle
// plus one bundle per worker. Weights go out once per iteration through
// the object store (goray.Put); batches come back as objects.
type ActorSet struct {
	log       *slog.Logger
	cfgs      []WorkerConfig
	res       rllib.Resources
	recreate  bool
	pg        *goray.PlacementGroup
	handles   []*goray.ActorHandle[RemoteWorker]
	weights   goray.ObjectRef[[]float32]
	hasWeight bool
	mu        sync.Mutex // guards restarts
	restarts  int
	healthy   []bool
}

// ErrWorkerFailed reports a rollout worker that died while
// recreate_failed_workers is off.
var ErrWorkerFailed = errors.New("rollout worker failed")

// NewActorSet creates the placement group and one actor per config. ctx
// must carry (or the process must have) a goray runtime.
func NewActorSet(ctx context.Context, cfgs []WorkerConfig, res rllib.Resources, recreate bool, log *slog.Logger) (*ActorSet, error) {
	s := &ActorSet{log: log, cfgs: cfgs, res: res, recreate: recreate, healthy: make([]bool, len(cfgs))}
	strategy := map[string]goray.PGStrategy{
		rllib.Pack: goray.Pack, rllib.Spread: goray.SpreadPG, rllib.StrictPack: goray.StrictPack, rllib.StrictSpread: goray.StrictSpread,
	}[res.PlacementStrategy]
	pg, err := goray.CreatePlacementGroup(ctx, res.Bundles(len(cfgs)), strategy, "")
	if err != nil {
		return nil, fmt.Errorf("rollout workers: placement group: %w", err)
	}
	s.pg = pg
	if err := pg.Ready(ctx); err != nil {
		s.Stop(ctx)
		return nil, fmt.Errorf("rollout workers: placement group %v not ready: %w", res.Bundles(len(cfgs)), err)
	}
	s.handles = make([]*goray.ActorHandle[RemoteWorker], len(cfgs))
	for i := range cfgs {
		if err := s.start(ctx, i); err != nil {
			s.Stop(ctx)
			return nil, err
		}
	}
	// Like RLlib's build, return once every worker is up (its process
	// started and its env made), so the first train() is not charged for it.
	for i, h := range s.handles {
		if _, err := goray.Call[int](ctx, h, "Ready").Get(ctx); err != nil {
			s.Stop(ctx)
			return nil, fmt.Errorf("rollout worker %d: %w", cfgs[i].WorkerIndex, err)
		}
	}
	return s, nil
}

// start creates the actor for worker slot i (bundle i+1).
func (s *ActorSet) start(ctx context.Context, i int) error {
	b, err := json.Marshal(s.cfgs[i])
	if err != nil {
		return fmt.Errorf("rollout worker %d: %w", i+1, err)
	}
	h, err := remoteWorkerClass.Options(
		goray.NumCPUs(s.res.NumCPUsPerWorker),
		goray.Strategy(goray.InPlacementGroup(s.pg, i+1)),
	).Remote(ctx, string(b))
	if err != nil {
		return fmt.Errorf("rollout worker %d: create actor: %w", s.cfgs[i].WorkerIndex, err)
	}
	s.handles[i] = h
	s.healthy[i] = true
	return nil
}

// SyncWeights implements WorkerSet: one Put, shared by every worker.
func (s *ActorSet) SyncWeights(ctx context.Context, weights []float32) error {
	ref, err := goray.Put(ctx, append([]float32(nil), weights...))
	if err != nil {
		return fmt.Errorf("put weights: %w", err)
	}
	s.weights, s.hasWeight = ref, true
	return nil
}

// died reports errors that mean the actor (its process or node) is gone.
func died(err error) bool {
	return errors.Is(err, goray.ErrActorDied) || errors.Is(err, goray.ErrWorkerCrashed) ||
		errors.Is(err, goray.ErrActorNotFound) || errors.Is(err, goray.ErrOwnerDied)
}

// Sample implements WorkerSet.
func (s *ActorSet) Sample(ctx context.Context, minSteps int) ([]*SampleBatch, error) {
	if !s.hasWeight {
		return nil, fmt.Errorf("rollout workers: sample before SyncWeights")
	}
	return sampleRounds(ctx, len(s.handles), minSteps, s.sampleOne)
}

// sampleOne samples from worker slot i, recreating it (once per call) if
// it died and recreate_failed_workers is set. A recreated worker starts
// from its config's state (fresh episodes, or the checkpoint it was
// restored from).
func (s *ActorSet) sampleOne(ctx context.Context, i int) (*SampleBatch, error) {
	for attempt := 0; ; attempt++ {
		b, err := goray.Call[*SampleBatch](ctx, s.handles[i], "Sample", s.weights).Get(ctx)
		if err == nil {
			if b == nil {
				return nil, fmt.Errorf("rollout worker %d: empty batch", s.cfgs[i].WorkerIndex)
			}
			return b, nil
		}
		if ctx.Err() != nil || !died(err) {
			return nil, fmt.Errorf("rollout worker %d: sample: %w", s.cfgs[i].WorkerIndex, err)
		}
		s.healthy[i] = false
		if !s.recreate || attempt > 0 {
			return nil, fmt.Errorf("rollout worker %d: %w: %w", s.cfgs[i].WorkerIndex, ErrWorkerFailed, err)
		}
		s.log.Warn("rollout worker died; recreating", "worker_index", s.cfgs[i].WorkerIndex, "err", err)
		_ = goray.Kill(ctx, s.handles[i], true)
		if err := s.start(ctx, i); err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.restarts++
		s.mu.Unlock()
	}
}

// States implements WorkerSet.
func (s *ActorSet) States(ctx context.Context) ([]*WorkerState, error) {
	out := make([]*WorkerState, len(s.handles))
	for i, h := range s.handles {
		st, err := goray.Call[*WorkerState](ctx, h, "State").Get(ctx)
		if err != nil {
			return nil, fmt.Errorf("rollout worker %d: state: %w", s.cfgs[i].WorkerIndex, err)
		}
		out[i] = st
	}
	return out, nil
}

// NumHealthy implements WorkerSet.
func (s *ActorSet) NumHealthy() int {
	n := 0
	for _, h := range s.healthy {
		if h {
			n++
		}
	}
	return n
}

// NumRestarts implements WorkerSet.
func (s *ActorSet) NumRestarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

// Handles returns the actor handles (tests kill them to exercise restarts).
func (s *ActorSet) Handles() []*goray.ActorHandle[RemoteWorker] { return s.handles }

// Stop implements WorkerSet: closes the envs, kills the actors and
// removes the placement group.
func (s *ActorSet) Stop(ctx context.Context) error {
	var errs []error
	for i, h := range s.handles {
		if h == nil {
			continue
		}
		if s.healthy[i] {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, _ = goray.Call[bool](cctx, h, "Close").Get(cctx)
			cancel()
		}
		errs = append(errs, goray.Kill(ctx, h, true))
	}
	s.handles = nil
	if s.pg != nil {
		errs = append(errs, goray.RemovePlacementGroup(ctx, s.pg))
		s.pg = nil
	}
	return errors.Join(errs...)
}
