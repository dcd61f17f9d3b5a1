package ppo

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/libs/rllib/nn"
	"github.com/goray/goray/libs/rllib/rollout"
)

// PPO is a built PPO algorithm. Its methods are not safe for concurrent
// use, except ComputeSingleAction, which may run while nothing trains.
type PPO struct {
	cfg    *Config
	seed   int64
	log    *slog.Logger
	pol    *rollout.Policy
	params []float32
	adam   *nn.Adam
	kl     float64
	pcg    *mrand.PCG // learner RNG (shuffling); saved in checkpoints
	rng    *mrand.Rand
	lrn    *learner

	workers rollout.WorkerSet
	eval    *rollout.Evaluator
	window  *rllib.EpisodeWindow

	iter         int
	counters     rllib.Counters
	timeTotal    float64
	restoreIter  int
	restoreTime  float64
	restoreSteps int64
	gradUpdates  int64
	stopped      bool
	warnedVfClip bool
	workerCfgs   []rollout.WorkerConfig
	serveMu      sync.Mutex
	serveWS      *nn.Workspace
	serveRNG     *mrand.Rand
}

var _ rllib.Algorithm = (*PPO)(nil)

func newPPO(ctx context.Context, cfg *Config, states []*rollout.WorkerState) (*PPO, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	maker := cfg.EnvMaker
	if maker == nil {
		maker = rollout.MakerFor(cfg.Env.EnvPlugins)
	}
	var seed int64
	if cfg.Debug.Seed != nil {
		seed = *cfg.Debug.Seed
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:])
		seed = int64(binary.LittleEndian.Uint64(b[:]) >> 1)
	}
	p := &PPO{cfg: cfg, seed: seed, log: log, kl: cfg.Train.KLCoeff, window: rllib.NewEpisodeWindow(100)}

	// The worker configs; index 0 is the local worker.
	frags := cfg.Rollout.FragmentLengths(cfg.Train.TrainBatchSize)
	nw := cfg.Rollout.NumRolloutWorkers
	for i := range max(nw, 1) {
		idx := i + 1
		if nw == 0 {
			idx = 0
		}
		p.workerCfgs = append(p.workerCfgs, rollout.WorkerConfig{
			Env: cfg.Env.Env, EnvConfig: cfg.Env.EnvConfig, NumEnvs: cfg.Rollout.NumEnvsPerWorker,
			FragmentLength: frags[i], BatchMode: cfg.Rollout.BatchMode, Seed: seed, WorkerIndex: idx,
			Model: cfg.Train.Model, Gamma: cfg.Train.Gamma, Lambda: cfg.Train.Lambda,
			EnvPlugins: cfg.Env.EnvPlugins,
		})
	}
	if states != nil {
		if len(states) != len(p.workerCfgs) {
			log.Warn("checkpoint holds a different number of rollout workers; they start fresh", "saved", len(states), "now", len(p.workerCfgs))
		} else {
			for i := range p.workerCfgs {
				p.workerCfgs[i].State = states[i]
			}
		}
	}
	// The driver learns the spaces from an env of its own: the evaluator,
	// kept when evaluation or create_env_on_driver wants it.
	ev, err := rollout.NewEvaluator(ctx, p.workerCfgs[0], maker)
	if err != nil {
		return nil, fmt.Errorf("ppo: %w", err)
	}
	p.pol, err = rollout.NewPolicy(ev.Spec(), cfg.Train.Model)
	if err != nil {
		ev.Close()
		return nil, fmt.Errorf("ppo: %w", err)
	}
	if cfg.Rollout.CreateEnvOnDriver || cfg.Eval.EvaluationInterval > 0 || nw == 0 {
		p.eval = ev
	} else {
		ev.Close()
	}
	np := p.pol.Model.NumParams()
	p.params = make([]float32, np)
	p.pol.Model.Init(p.params, mrand.New(mrand.NewPCG(rollout.Mix(seed, 1), rollout.Mix(seed, 2))))
	p.adam = nn.NewAdam(np)
	p.pcg = mrand.NewPCG(rollout.Mix(seed, 3), rollout.Mix(seed, 4))
	p.rng = mrand.New(p.pcg)
	p.serveRNG = mrand.New(mrand.NewPCG(rollout.Mix(seed, 5), rollout.Mix(seed, 6)))
	p.serveWS = p.pol.Model.NewWorkspace(1)
	p.lrn = newLearner(p.pol, cfg.NumLearnerShards, cfg.Train.SgdMinibatchSize)

	ws, err := newWorkerSet(ctx, cfg, p.workerCfgs, maker, log)
	if err != nil {
		p.Stop(ctx)
		return nil, fmt.Errorf("ppo: %w", err)
	}
	p.workers = ws
	log.Info("ppo built", "env", cfg.Env.Env, "workers", nw, "envs_per_worker", cfg.Rollout.NumEnvsPerWorker,
		"fragment", frags, "params", np, "seed", seed)
	return p, nil
}

// Config returns a copy of the algorithm's config.
func (p *PPO) Config() *Config { return p.cfg.Copy() }

// Iteration implements rllib.Algorithm.
func (p *PPO) Iteration() int { return p.iter }

// Weights returns a copy of the policy parameters.
func (p *PPO) Weights() []float32 { return append([]float32(nil), p.params...) }

// Train implements rllib.Algorithm: one PPO training_step.
func (p *PPO) Train(ctx context.Context) (*rllib.Result, error) {
	if p.stopped {
		return nil, rllib.ErrStopped
	}
	t0 := time.Now()
	tr := p.cfg.Train

	tSync := time.Now()
	if err := p.workers.SyncWeights(ctx, p.params); err != nil {
		return nil, fmt.Errorf("ppo: synch weights: %w", err)
	}
	syncMs := msSince(tSync)

	tSample := time.Now()
	batches, err := p.workers.Sample(ctx, tr.TrainBatchSize)
	if err != nil {
		return nil, fmt.Errorf("ppo: sample: %w", err)
	}
	sampleMs := msSince(tSample)

	tLoad := time.Now()
	batch := rollout.Concat(batches)
	for i, r := range batch.EpisodeRewards {
		p.window.Add(r, batch.EpisodeLengths[i])
	}
	standardize(batch.Advantages)
	if tr.Shuffle == nil || *tr.Shuffle {
		shuffle(batch, p.rng)
	}
	loadMs := msSince(tLoad)

	tLearn := time.Now()
	stats := p.sgd(batch)
	learnMs := msSince(tLearn)

	// Adaptive KL (RLlib's update_kl).
	if stats.KL > 2*tr.KLTarget {
		p.kl *= 1.5
	} else if stats.KL < 0.5*tr.KLTarget {
		p.kl *= 0.5
	}

	n := int64(batch.Len())
	mb := tr.SgdMinibatchSize
	trained := int64(max(1, batch.Len()/mb) * mb)
	p.counters.NumEnvStepsSampled += n
	p.counters.NumAgentStepsSampled += n
	p.counters.NumEnvStepsTrained += n
	p.counters.NumAgentStepsTrained += n
	p.iter++
	dt := time.Since(t0).Seconds()
	p.timeTotal += dt

	res := &rllib.Result{
		EpisodeStats:               p.window.Stats(len(batch.EpisodeRewards)),
		EpisodesTotal:              p.window.Total,
		NumHealthyWorkers:          p.workers.NumHealthy(),
		NumRemoteWorkerRestarts:    p.workers.NumRestarts(),
		NumAgentStepsSampled:       p.counters.NumAgentStepsSampled,
		NumAgentStepsTrained:       p.counters.NumAgentStepsTrained,
		NumEnvStepsSampled:         p.counters.NumEnvStepsSampled,
		NumEnvStepsTrained:         p.counters.NumEnvStepsTrained,
		NumEnvStepsSampledThisIter: n,
		NumEnvStepsTrainedThisIter: n,
		NumStepsTrainedThisIter:    n,
		TimestepsTotal:             p.counters.NumEnvStepsSampled,
		AgentTimestepsTotal:        p.counters.NumAgentStepsSampled,
		Counters:                   p.counters,
		Info: rllib.Info{
			Learner: map[string]rllib.PolicyInfo{rllib.DefaultPolicyID: {
				LearnerStats:           stats,
				CustomMetrics:          map[string]float64{},
				NumAgentStepsTrained:   float64(mb),
				NumGradUpdatesLifetime: p.gradUpdates,
			}},
			NumEnvStepsSampled: p.counters.NumEnvStepsSampled, NumEnvStepsTrained: p.counters.NumEnvStepsTrained,
			NumAgentStepsSampled: p.counters.NumAgentStepsSampled, NumAgentStepsTrained: p.counters.NumAgentStepsTrained,
		},
		Timers: rllib.Timers{
			TrainingIterationTimeMs: dt * 1000,
			SampleTimeMs:            sampleMs,
			SampleThroughput:        throughput(n, sampleMs),
			LoadTimeMs:              loadMs,
			LoadThroughput:          throughput(n, loadMs),
			LearnTimeMs:             learnMs,
			LearnThroughput:         throughput(trained*int64(tr.NumSgdIter), learnMs),
			SynchWeightsTimeMs:      syncMs,
		},
		TrainingIteration:      p.iter,
		TimeThisIterS:          dt,
		TimeTotalS:             p.timeTotal,
		TimeSinceRestore:       p.timeTotal - p.restoreTime,
		TimestepsSinceRestore:  p.counters.NumEnvStepsSampled - p.restoreSteps,
		IterationsSinceRestore: p.iter - p.restoreIter,
		Timestamp:              time.Now().Unix(),
		Date:                   time.Now().Format("2006-01-02_15-04-05"),
		PID:                    os.Getpid(),
	}
	res.Hostname, _ = os.Hostname()
	if iv := p.cfg.Eval.EvaluationInterval; iv > 0 && p.iter%iv == 0 {
		ev, err := p.Evaluate(ctx)
		if err != nil {
			return nil, err
		}
		res.Evaluation = ev
	}
	if mean := float64(res.EpisodeRewardMean); !math.IsNaN(mean) && mean > tr.VfClipParam && !p.warnedVfClip {
		p.warnedVfClip = true
		p.log.Warn("mean episode reward exceeds vf_clip_param; consider raising it", "episode_reward_mean", mean, "vf_clip_param", tr.VfClipParam)
	}
	return res, nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Nanoseconds()) / 1e6 }

func throughput(n int64, ms float64) float64 {
	if ms <= 0 {
		return 0
	}
	return float64(n) / (ms / 1000)
}

// standardize sets a ← (a − mean)/max(std, 1e-4) with the population std,
// as RLlib standardizes advantages over the train batch. The statistics are
// gonum's (compensated summation in float64), so a batch of large, similar
// advantages keeps its precision.
func standardize(a []float32) {
	if len(a) == 0 {
		return
	}
	x := make([]float64, len(a))
	for i, v := range a {
		x[i] = float64(v)
	}
	mean, std := stat.PopMeanStdDev(x, nil)
	std = math.Max(std, 1e-4)
	for i, v := range x {
		a[i] = float32((v - mean) / std)
	}
}

// shuffle permutes the rows of b (shuffle_sequences).
func shuffle(b *rollout.SampleBatch, rng *mrand.Rand) {
	n := b.Len()
	perm := rng.Perm(n)
	permute := func(col []float32, w int) []float32 {
		out := make([]float32, len(col))
		for dst, src := range perm {
			copy(out[dst*w:(dst+1)*w], col[src*w:(src+1)*w])
		}
		return out
	}
	b.Obs = permute(b.Obs, b.RowDim)
	b.Actions = permute(b.Actions, b.ActDim)
	b.ActionDistInputs = permute(b.ActionDistInputs, b.DistDim)
	b.Rewards = permute(b.Rewards, 1)
	b.ActionLogp = permute(b.ActionLogp, 1)
	b.VfPreds = permute(b.VfPreds, 1)
	b.Advantages = permute(b.Advantages, 1)
	b.ValueTargets = permute(b.ValueTargets, 1)
}

// sgd runs num_sgd_iter epochs over the minibatch slices in a fresh random
// order each epoch and returns the learner stats averaged over all steps.
func (p *PPO) sgd(b *rollout.SampleBatch) rllib.LearnerStats {
	tr := p.cfg.Train
	mb := min(tr.SgdMinibatchSize, b.Len())
	m := max(1, b.Len()/max(mb, 1))
	c := lossCoeffs{clip: tr.ClipParam, vfClip: tr.VfClipParam, vfCoeff: tr.VfLossCoeff, entCoeff: tr.EntropyCoeff, klCoeff: p.kl}
	p.lrn.load(b)
	var sum minibatchStats
	var evSum float64
	evN := 0
	steps := 0
	for epoch := 0; epoch < tr.NumSgdIter; epoch++ {
		order := p.rng.Perm(m)
		for _, k := range order {
			st := p.lrn.step(p.params, p.adam, tr.Lr, tr.GradClip, b, k*mb, (k+1)*mb, c)
			sum.policyLoss += st.policyLoss
			sum.vfLoss += st.vfLoss
			sum.totalLoss += st.totalLoss
			sum.entropy += st.entropy
			sum.kl += st.kl
			if !math.IsNaN(st.vfExplainedVar) {
				evSum += st.vfExplainedVar
				evN++
			}
			steps++
		}
	}
	p.gradUpdates += int64(steps)
	f := float64(max(steps, 1))
	ev := math.NaN()
	if evN > 0 {
		ev = evSum / float64(evN)
	}
	return rllib.LearnerStats{
		CurKLCoeff: p.kl, CurLr: tr.Lr, TotalLoss: sum.totalLoss / f, PolicyLoss: sum.policyLoss / f,
		VfLoss: sum.vfLoss / f, VfExplainedVar: rllib.Float(ev), KL: sum.kl / f, Entropy: sum.entropy / f,
		EntropyCoeff: tr.EntropyCoeff,
	}
}

// ErrNoDriverEnv is returned by Evaluate when the driver has no env.
var ErrNoDriverEnv = errors.New("no env on the driver (set create_env_on_driver or evaluation_interval)")

// Evaluate implements rllib.Algorithm.
func (p *PPO) Evaluate(ctx context.Context) (*rllib.EvalResult, error) {
	if p.stopped {
		return nil, rllib.ErrStopped
	}
	if p.eval == nil {
		return nil, ErrNoDriverEnv
	}
	r, err := p.eval.Run(ctx, p.params, p.cfg.Eval.EvaluationDuration, p.cfg.Eval.Explore, rollout.Mix(p.seed, 9, int64(p.iter)))
	if err != nil {
		return nil, fmt.Errorf("ppo: evaluate: %w", err)
	}
	return &rllib.EvalResult{
		EpisodeStats:               rllib.SummarizeEpisodes(r.EpisodeRewards, r.EpisodeLengths, len(r.EpisodeRewards)),
		NumEnvStepsSampledThisIter: r.EnvSteps,
	}, nil
}

// EvaluateEpisodes plays n episodes with the current policy on the
// driver's env and returns their returns and lengths.
func (p *PPO) EvaluateEpisodes(ctx context.Context, n int, explore bool, seed uint64) (*rollout.EvalResult, error) {
	if p.eval == nil {
		return nil, ErrNoDriverEnv
	}
	return p.eval.Run(ctx, p.params, n, explore, seed)
}

// ComputeSingleAction implements rllib.Algorithm.
func (p *PPO) ComputeSingleAction(obs []float64, explore bool) ([]float64, error) {
	if err := p.pol.CheckObs(obs); err != nil {
		return nil, fmt.Errorf("ppo: compute_single_action: %w", err)
	}
	p.serveMu.Lock()
	defer p.serveMu.Unlock()
	row := make([]float32, p.pol.RowDim)
	p.pol.EncodeObs(obs, row)
	dist, _ := p.serveWS.Forward(p.params, row, 1)
	act := make([]float32, p.pol.ActDim)
	p.pol.Dist.Sample(dist, act, explore, p.serveRNG)
	out := make([]float64, p.pol.ActDim)
	p.pol.DecodeAction(act, out)
	return out, nil
}

// Stop implements rllib.Algorithm.
func (p *PPO) Stop(ctx context.Context) error {
	if p.stopped {
		return nil
	}
	p.stopped = true
	if p.lrn != nil {
		p.lrn.close()
	}
	var errs []error
	if p.workers != nil {
		errs = append(errs, p.workers.Stop(ctx))
	}
	if p.eval != nil {
		errs = append(errs, p.eval.Close())
	}
	return errors.Join(errs...)
}

// state is the checkpoint's non-tensor state.
type state struct {
	Seed        int64                `json:"seed"`
	KLCoeff     float64              `json:"cur_kl_coeff"`
	Iteration   int                  `json:"training_iteration"`
	Counters    rllib.Counters       `json:"counters"`
	TimeTotalS  float64              `json:"time_total_s"`
	AdamStep    int64                `json:"adam_step"`
	GradUpdates int64                `json:"num_grad_updates_lifetime"`
	LearnerRNG  []byte               `json:"learner_rng_pcg"`
	Episodes    *rllib.EpisodeWindow `json:"episode_window"`
	Model       nn.Spec              `json:"model_spec"`
	// Workers holds each rollout worker's sampler state.
	Workers []*rollout.WorkerState `json:"rollout_workers"`
}

// saveTimeout bounds the calls that fetch remote workers' states, so that
// a hung worker cannot hold a checkpoint forever even under a ctx without
// a deadline.
const saveTimeout = time.Minute

// Save implements rllib.Algorithm. With actor workers it asks each for its
// state (bounded by a one-minute timeout).
func (p *PPO) Save(ctx context.Context, dir string) error {
	if p.stopped {
		return rllib.ErrStopped
	}
	rngState, err := p.pcg.MarshalBinary()
	if err != nil {
		return fmt.Errorf("ppo: save: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	workers, err := p.workers.States(ctx)
	if err != nil {
		return fmt.Errorf("ppo: save: %w", err)
	}
	st := state{Seed: p.seed, KLCoeff: p.kl, Iteration: p.iter, Counters: p.counters, TimeTotalS: p.timeTotal,
		AdamStep: p.adam.Step, GradUpdates: p.gradUpdates, LearnerRNG: rngState, Episodes: p.window, Model: p.pol.Model.Spec, Workers: workers}
	sb, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("ppo: save: %w", err)
	}
	cfg := p.cfg.Copy()
	cfg.Debug.Seed = &p.seed
	cb, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("ppo: save: %w", err)
	}
	meta := rllib.CheckpointMeta{Algorithm: "PPO", Iteration: p.iter, Config: cb, State: sb}
	return rllib.WriteCheckpoint(dir, meta, map[string][]float32{
		"default_policy.params": p.params, "default_policy.adam_m": p.adam.M, "default_policy.adam_v": p.adam.V,
	})
}

// FromCheckpoint builds PPO from a checkpoint directory with its saved
// config (and seed); opts may adjust the config first (an EnvMaker, a
// Logger, a different number of workers). The next Train continues exactly
// where the saved run would have.
func FromCheckpoint(ctx context.Context, dir string, opts ...func(*Config)) (*PPO, error) {
	meta, tensors, err := rllib.ReadCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	if meta.Algorithm != "PPO" {
		return nil, fmt.Errorf("%w: %s holds a %s checkpoint, not PPO", rllib.ErrCheckpoint, dir, meta.Algorithm)
	}
	cfg := NewConfig()
	if err := rollout.DecodeJSON(meta.Config, cfg); err != nil {
		return nil, fmt.Errorf("%w: config: %w", rllib.ErrCheckpoint, err)
	}
	rollout.NormalizeKwargs(cfg.Env.EnvConfig)
	var st state
	if err := json.Unmarshal(meta.State, &st); err != nil {
		return nil, fmt.Errorf("%w: state: %w", rllib.ErrCheckpoint, err)
	}
	for _, o := range opts {
		o(cfg)
	}
	cfg.Debug.Seed = &st.Seed
	cfg = cfg.Copy()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, err := newPPO(ctx, cfg, st.Workers)
	if err != nil {
		return nil, err
	}
	if err := p.restore(st, tensors); err != nil {
		p.Stop(ctx)
		return nil, err
	}
	return p, nil
}

func (p *PPO) restore(st state, tensors map[string][]float32) error {
	np := len(p.params)
	for name, dst := range map[string][]float32{"default_policy.params": p.params, "default_policy.adam_m": p.adam.M, "default_policy.adam_v": p.adam.V} {
		t, ok := tensors[name]
		if !ok || len(t) != np {
			return fmt.Errorf("%w: tensor %s has %d values, the model has %d parameters", rllib.ErrCheckpoint, name, len(t), np)
		}
		copy(dst, t)
	}
	if err := p.pcg.UnmarshalBinary(st.LearnerRNG); err != nil {
		return fmt.Errorf("%w: learner rng: %w", rllib.ErrCheckpoint, err)
	}
	p.adam.Step = st.AdamStep
	p.kl = st.KLCoeff
	p.iter = st.Iteration
	p.counters = st.Counters
	p.timeTotal = st.TimeTotalS
	p.gradUpdates = st.GradUpdates
	if st.Episodes != nil {
		p.window = st.Episodes
	}
	p.restoreIter, p.restoreTime, p.restoreSteps = p.iter, p.timeTotal, p.counters.NumEnvStepsSampled
	return nil
}
