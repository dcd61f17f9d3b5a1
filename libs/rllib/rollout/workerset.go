package rollout

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// WorkerSet runs the rollout workers of one algorithm and samples from all
// of them in parallel (RLlib's synchronous_parallel_sample).
type WorkerSet interface {
	// SyncWeights sends the weights to every worker (once per iteration;
	// RLlib's synch_weights).
	SyncWeights(ctx context.Context, weights []float32) error
	// Sample calls every worker's Sample in parallel, round after round,
	// until at least minSteps transitions are collected. Batches come back
	// ordered by round, then worker index, so the result is deterministic.
	Sample(ctx context.Context, minSteps int) ([]*SampleBatch, error)
	// States returns each worker's state for a checkpoint, in worker order.
	States(ctx context.Context) ([]*WorkerState, error)
	// NumHealthy is the number of remote workers currently alive.
	NumHealthy() int
	// NumRestarts counts recreated workers (num_remote_worker_restarts).
	NumRestarts() int
	// Stop releases the workers.
	Stop(ctx context.Context) error
}

// InProcessSet runs its workers in the driver process, each sampling on
// its own goroutine. With a single worker of index 0 it is RLlib's local
// worker (num_rollout_workers = 0).
type InProcessSet struct {
	workers []*RolloutWorker
	remote  bool
}

// NewInProcessSet builds one worker per config.
func NewInProcessSet(ctx context.Context, cfgs []WorkerConfig, maker EnvMaker) (*InProcessSet, error) {
	s := &InProcessSet{}
	for _, c := range cfgs {
		w, err := NewRolloutWorker(ctx, c, maker)
		if err != nil {
			s.Stop(ctx)
			return nil, err
		}
		s.workers = append(s.workers, w)
		s.remote = s.remote || c.WorkerIndex > 0
	}
	if len(s.workers) == 0 {
		return nil, fmt.Errorf("in-process worker set: no workers")
	}
	return s, nil
}

// Workers returns the workers.
func (s *InProcessSet) Workers() []*RolloutWorker { return s.workers }

// Sample implements WorkerSet.
func (s *InProcessSet) Sample(ctx context.Context, minSteps int) ([]*SampleBatch, error) {
	return sampleRounds(ctx, len(s.workers), minSteps, func(ctx context.Context, i int) (*SampleBatch, error) {
		return s.workers[i].Sample(ctx, nil)
	})
}

// sampleRounds is the synchronous sampling loop both worker sets share:
// rounds of one batch from each of n workers, in parallel, until at least
// minSteps steps (always at least one round, as RLlib's
// synchronous_parallel_sample). A single worker samples on the caller's
// goroutine: that is the local-worker-only set, and a goroutine per round
// would only cost.
func sampleRounds(ctx context.Context, n, minSteps int, sample func(ctx context.Context, i int) (*SampleBatch, error)) ([]*SampleBatch, error) {
	var out []*SampleBatch
	total := 0
	for first := true; first || total < minSteps; first = false {
		round := make([]*SampleBatch, n)
		errs := make([]error, n)
		if n == 1 {
			round[0], errs[0] = sample(ctx, 0)
		} else {
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { round[i], errs[i] = sample(ctx, i) })
			}
			wg.Wait()
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		for _, b := range round {
			total += b.Len()
		}
		out = append(out, round...)
	}
	return out, nil
}

// States implements WorkerSet.
func (s *InProcessSet) States(ctx context.Context) ([]*WorkerState, error) {
	out := make([]*WorkerState, len(s.workers))
	for i, w := range s.workers {
		st, err := w.State()
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

// SyncWeights implements WorkerSet.
func (s *InProcessSet) SyncWeights(ctx context.Context, weights []float32) error {
	for _, w := range s.workers {
		if err := w.SetWeights(weights); err != nil {
			return err
		}
	}
	return nil
}

// NumHealthy implements WorkerSet: in-process workers count as healthy
// remote workers when they stand for remote ones.
func (s *InProcessSet) NumHealthy() int {
	if !s.remote {
		return 0
	}
	return len(s.workers)
}

// NumRestarts implements WorkerSet; in-process workers are never recreated.
func (s *InProcessSet) NumRestarts() int { return 0 }

// Stop implements WorkerSet.
func (s *InProcessSet) Stop(ctx context.Context) error {
	var errs []error
	for _, w := range s.workers {
		errs = append(errs, w.Close())
	}
	s.workers = nil
	return errors.Join(errs...)
}
