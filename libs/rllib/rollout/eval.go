package rollout

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/goray/goray/plugins/envs"
)

// EvalResult lists the episodes an evaluation played.
type EvalResult struct {
	EpisodeRewards []float64
	EpisodeLengths []int
	EnvSteps       int64
}

// Evaluator plays whole episodes with fixed weights on one env, on the
// driver (RLlib's evaluation with evaluation_num_workers = 0).
type Evaluator struct {
	env envs.VectorEnv
	pol *Policy
	ws  interface {
		Forward(params, obs []float32, n int) ([]float32, []float32)
	}
}

// NewEvaluator makes a single-env evaluator for cfg's env.
func NewEvaluator(ctx context.Context, cfg WorkerConfig, maker EnvMaker) (*Evaluator, error) {
	if maker == nil {
		return nil, ErrNoEnvMaker
	}
	vc := cfg.VectorConfig()
	vc.NumEnvs = 1
	env, err := maker(ctx, vc)
	if err != nil {
		return nil, fmt.Errorf("evaluation env %s: %w", cfg.Env, err)
	}
	pol, err := NewPolicy(env.Spec(), cfg.Model)
	if err != nil {
		env.Close()
		return nil, err
	}
	return &Evaluator{env: env, pol: pol, ws: pol.Model.NewWorkspace(1)}, nil
}

// Close closes the env.
func (e *Evaluator) Close() error { return e.env.Close() }

// Run plays episodes episodes with params; explore samples actions,
// otherwise the distribution's mode is taken. seed seeds the env and the
// sampler, so an evaluation is reproducible.
func (e *Evaluator) Run(ctx context.Context, params []float32, episodes int, explore bool, seed uint64) (*EvalResult, error) {
	rng := rand.New(rand.NewPCG(seed, Mix(int64(seed), 7)))
	res := &EvalResult{}
	pol := e.pol
	row := make([]float32, pol.RowDim)
	act := make([]float32, pol.ActDim)
	action := make([]float64, pol.ActDim)
	for ep := 0; ep < episodes; ep++ {
		var b *envs.Batch
		var err error
		if ep == 0 {
			b, err = e.env.Reset(ctx, []int64{int64(seed >> 2)}, nil)
		} else {
			// The vector (NEXT_STEP) resets the finished env in this step,
			// ignoring the action, exactly as Reset without a seed would,
			// but without a separate call to the env plugin.
			b, err = e.env.Step(ctx, action)
		}
		if err != nil {
			return nil, fmt.Errorf("evaluation reset: %w", err)
		}
		var ret float64
		length := 0
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			pol.EncodeObs(b.Obs, row)
			dist, _ := e.ws.Forward(params, row, 1)
			pol.Dist.Sample(dist, act, explore, rng)
			pol.DecodeAction(act, action)
			b, err = e.env.Step(ctx, action)
			if err != nil {
				return nil, fmt.Errorf("evaluation step: %w", err)
			}
			ret += b.Rewards[0]
			length++
			res.EnvSteps++
			if b.Terminated[0] || b.Truncated[0] {
				break
			}
		}
		res.EpisodeRewards = append(res.EpisodeRewards, ret)
		res.EpisodeLengths = append(res.EpisodeLengths, length)
	}
	return res, nil
}

// Spec returns the env's spec.
func (e *Evaluator) Spec() envs.Spec { return e.env.Spec() }
