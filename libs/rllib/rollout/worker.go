package rollout

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/libs/rllib/nn"
	"github.com/goray/goray/plugins/envs"
)

// EnvMaker makes the vector env a worker steps. It must honour every field
// of cfg: the worker and the evaluator rely on cfg.Mode (NEXT_STEP
// autoreset) to have finished sub-envs reset inside the next step.
type EnvMaker func(ctx context.Context, cfg envs.VectorConfig) (envs.VectorEnv, error)

// ErrNoEnvMaker is returned when no EnvMaker can make the configured env.
var ErrNoEnvMaker = errors.New("no env maker")

// ErrBadState reports a worker state that cannot be restored.
var ErrBadState = errors.New("bad rollout worker state")

// WorkerConfig is everything a rollout worker needs; it is plain data so it
// can travel to a remote actor.
type WorkerConfig struct {
	Env            string         `json:"env"`
	EnvConfig      map[string]any `json:"env_config,omitempty"`
	NumEnvs        int            `json:"num_envs"`
	FragmentLength int            `json:"rollout_fragment_length"`
	BatchMode      string         `json:"batch_mode"`
	Seed           int64          `json:"seed"`
	WorkerIndex    int            `json:"worker_index"`
	Model          rllib.Model    `json:"model"`
	Gamma          float64        `json:"gamma"`
	Lambda         float64        `json:"lambda"`
	// EnvPlugins are extra env plugin binaries the worker's env registry
	// loads (see MakerFor).
	EnvPlugins []string `json:"env_plugins,omitempty"`
	// State, when set, restores a checkpointed worker.
	State *WorkerState `json:"state,omitempty"`
}

// VectorConfig is the env vector the worker asks for: NEXT_STEP autoreset
// and no infos. The vector resets a finished sub-env within the next step
// (no extra call to the env plugin); every ReseedAfter vector calls the
// worker instead resets a finished sub-env itself with a seed of its own
// (see WorkerState).
func (c WorkerConfig) VectorConfig() envs.VectorConfig {
	return envs.VectorConfig{ID: c.Env, NumEnvs: c.NumEnvs, Kwargs: envs.Kwargs(c.EnvConfig), Mode: envs.AutoresetNextStep, NoInfos: true}
}

// ReseedAfter bounds the replay log. A sub-env whose episode ends at least
// this many vector calls after its last seeded reset starts the next
// episode with a seeded reset (one Reset call to the env plugin, which
// costs as much as ~50 steps); any other finished sub-env is reset by the
// vector in the next step without a seed, continuing its env's RNG. The
// log that rebuilds an env (checkpoints, plugin crashes) therefore holds
// at most ReseedAfter calls plus the longest episode.
const ReseedAfter = 1024

// Mix derives a well-spread 64-bit seed from a base seed and indices
// (splitmix64 over each part), so that workers and episodes get
// independent streams.
func Mix(parts ...int64) uint64 {
	var h uint64 = 0x9e3779b97f4a7c15
	for _, p := range parts {
		h ^= uint64(p)
		h += 0x9e3779b97f4a7c15
		z := h
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		h = z ^ (z >> 31)
	}
	return h
}

// Op is one vector call in a worker's replay log: a reset of the masked
// sub-envs with the given seeds, or a step with the given actions.
type Op struct {
	Mask    []bool    `json:"mask,omitempty"`
	Seeds   []int64   `json:"seeds,omitempty"`
	Actions []float64 `json:"actions,omitempty"`
}

// WorkerState is what a checkpoint keeps of a rollout worker. Env
// internals cannot be read through the env protocol, but they need not
// be: a sub-env's episodes form chains that begin with a reset seeded from
// (seed, worker, sub-env, episode number) and continue through the
// vector's unseeded autoresets, and Ops holds every vector call since the
// oldest running chain began, so replaying Ops on fresh envs rebuilds
// their exact state (for deterministic envs).
type WorkerState struct {
	SamplerRNG []byte    `json:"sampler_rng_pcg"`
	Episode    []int64   `json:"episode"`
	EpReturn   []float64 `json:"episode_return"`
	EpLength   []int     `json:"episode_length"`
	Discard    []bool    `json:"discard"`
	// Pending marks sub-envs whose episode ended in the last call: the
	// vector resets them in the next step. Absent in checkpoints written
	// before NEXT_STEP autoreset, whose workers reset at once.
	Pending []bool `json:"pending_autoreset,omitempty"`
	Ops     []Op   `json:"ops"`
}

// RolloutWorker samples with the current weights from one vector env of
// NumEnvs sub-envs. It is not safe for concurrent use.
type RolloutWorker struct {
	cfg   WorkerConfig
	maker EnvMaker
	env   envs.VectorEnv
	// envRestarts counts env plugins restarted after a crash.
	envRestarts int
	pol         *Policy
	params      []float32
	ws          *nn.Workspace
	pcg         *rand.PCG
	rng         *rand.Rand
	n           int

	obs     []float32 // current encoded observation per sub-env
	episode []int64   // episode number per sub-env (its reset seed)
	discard []bool    // complete_episodes: skip until the episode ends
	pending []bool    // episode ended: the vector resets it in the next step
	reseed  []bool    // scratch: the sub-envs to reset with a seed now
	epRet   []float64
	epLen   []int
	trajs   []traj
	actions []float64
	act     []float32
	ops     []Op
	startOp []int       // index in ops of the seeded reset that began each chain
	arena   []float64   // backing store of the logged actions (append-only)
	last    *envs.Batch // the env's last batch (owned by the env)
}

// NewRolloutWorker makes the worker's env with maker and its policy, and
// resets every sub-env (or restores cfg.State).
func NewRolloutWorker(ctx context.Context, cfg WorkerConfig, maker EnvMaker) (*RolloutWorker, error) {
	if maker == nil {
		return nil, fmt.Errorf("rollout worker %d: %w", cfg.WorkerIndex, ErrNoEnvMaker)
	}
	env, err := maker(ctx, cfg.VectorConfig())
	if err != nil {
		return nil, fmt.Errorf("rollout worker %d: make %s: %w", cfg.WorkerIndex, cfg.Env, err)
	}
	pol, err := NewPolicy(env.Spec(), cfg.Model)
	if err != nil {
		env.Close()
		return nil, fmt.Errorf("rollout worker %d: %w", cfg.WorkerIndex, err)
	}
	n := env.NumEnvs()
	s := Mix(cfg.Seed, int64(cfg.WorkerIndex))
	w := &RolloutWorker{
		cfg: cfg, maker: maker, env: env, pol: pol, n: n,
		params:  make([]float32, pol.Model.NumParams()),
		ws:      pol.Model.NewWorkspace(n),
		pcg:     rand.NewPCG(s, Mix(int64(s), 1)),
		obs:     make([]float32, n*pol.RowDim),
		episode: make([]int64, n), discard: make([]bool, n),
		pending: make([]bool, n), reseed: make([]bool, n),
		epRet: make([]float64, n), epLen: make([]int, n),
		trajs:   make([]traj, n),
		actions: make([]float64, n*pol.ActDim),
		act:     make([]float32, pol.ActDim),
		startOp: make([]int, n),
	}
	w.rng = rand.New(w.pcg)
	if cfg.State != nil {
		err = w.restore(ctx, cfg.State)
	} else {
		all := make([]bool, n)
		for i := range all {
			all[i] = true
		}
		err = w.resetMasked(ctx, all)
	}
	if err != nil {
		env.Close()
		return nil, err
	}
	return w, nil
}

// Policy returns the worker's policy layout.
func (w *RolloutWorker) Policy() *Policy { return w.pol }

// Spec returns the env spec.
func (w *RolloutWorker) Spec() envs.Spec { return w.env.Spec() }

// Close closes the env.
func (w *RolloutWorker) Close() error { return w.env.Close() }

// SetWeights copies the policy weights in.
func (w *RolloutWorker) SetWeights(weights []float32) error {
	if len(weights) != len(w.params) {
		return fmt.Errorf("rollout worker %d: %d weights, model has %d", w.cfg.WorkerIndex, len(weights), len(w.params))
	}
	copy(w.params, weights)
	return nil
}

// episodeSeed is the reset seed of sub-env i's episode k (non-negative,
// as Gymnasium requires).
func (w *RolloutWorker) episodeSeed(i int, k int64) int64 {
	return int64(Mix(w.cfg.Seed, int64(w.cfg.WorkerIndex), int64(i), k) >> 2)
}

// resetMasked starts a new episode on the masked sub-envs and logs it.
func (w *RolloutWorker) resetMasked(ctx context.Context, mask []bool) error {
	seeds := make([]int64, w.n)
	for i, m := range mask {
		if m {
			seeds[i] = w.episodeSeed(i, w.episode[i])
		}
	}
	op := Op{Mask: slices.Clone(mask), Seeds: seeds}
	if err := w.apply(ctx, op); err != nil {
		return err
	}
	w.ops = append(w.ops, op)
	for i, m := range mask {
		if m {
			w.startOp[i] = len(w.ops) - 1
			w.epRet[i], w.epLen[i] = 0, 0
			w.pending[i] = false
		}
	}
	return nil
}

// logActions copies the current actions into the append-only arena and
// returns the copy, so that logging a step allocates only when a chunk
// fills. Chunks are never written again, so Ops handed out by State stay
// valid; a chunk is freed once the log no longer points into it.
func (w *RolloutWorker) logActions() []float64 {
	k := len(w.actions)
	if cap(w.arena)-len(w.arena) < k {
		w.arena = make([]float64, 0, max(4096, 64*k))
	}
	w.arena = append(w.arena, w.actions...)
	m := len(w.arena)
	return w.arena[m-k : m : m]
}

// apply runs one op on the env. If the env plugin crashed, the env is
// made anew, brought back to its exact state by replaying the log, and the
// op is retried once.
func (w *RolloutWorker) apply(ctx context.Context, op Op) error {
	err := w.applyOnce(ctx, op)
	if err == nil || !errors.Is(err, envs.ErrPluginCrashed) || ctx.Err() != nil {
		return err
	}
	if rerr := w.restartEnv(ctx); rerr != nil {
		return fmt.Errorf("%w; restarting the env failed: %w", err, rerr)
	}
	w.envRestarts++
	return w.applyOnce(ctx, op)
}

// EnvRestarts is the number of times the worker restarted its env after
// the env plugin crashed.
func (w *RolloutWorker) EnvRestarts() int { return w.envRestarts }

// restartEnv replaces the env and replays the op log on it.
func (w *RolloutWorker) restartEnv(ctx context.Context) error {
	_ = w.env.Close()
	env, err := w.maker(ctx, w.cfg.VectorConfig())
	if err != nil {
		return err
	}
	w.env = env
	return w.replay(ctx, w.ops)
}

// replay resets every sub-env (with throwaway seeds, so all are
// steppable) and then applies ops; every running episode began with a
// seeded reset inside ops, so the envs end up exactly where they were.
func (w *RolloutWorker) replay(ctx context.Context, ops []Op) error {
	all := make([]bool, w.n)
	for i := range all {
		all[i] = true
	}
	if err := w.applyOnce(ctx, Op{Mask: all, Seeds: make([]int64, w.n)}); err != nil {
		return err
	}
	for k, op := range ops {
		if (op.Actions == nil) == (op.Mask == nil) || (op.Mask != nil && (len(op.Mask) != w.n || len(op.Seeds) != w.n)) {
			return fmt.Errorf("rollout worker %d: %w: op %d malformed", w.cfg.WorkerIndex, ErrBadState, k)
		}
		if err := w.applyOnce(ctx, op); err != nil {
			return fmt.Errorf("replay op %d: %w", k, err)
		}
	}
	return nil
}

// applyOnce runs one op on the env and reads the observations.
func (w *RolloutWorker) applyOnce(ctx context.Context, op Op) error {
	var b *envs.Batch
	var err error
	if op.Actions != nil {
		b, err = w.env.Step(ctx, op.Actions)
	} else {
		b, err = w.env.Reset(ctx, op.Seeds, map[string]any{envs.ResetMaskOption: op.Mask})
	}
	if err != nil {
		return fmt.Errorf("rollout worker %d: %w", w.cfg.WorkerIndex, err)
	}
	d := w.pol.RawObsDim
	if len(b.Obs) != w.n*d {
		return fmt.Errorf("rollout worker %d: env returned %d observation values, want %d", w.cfg.WorkerIndex, len(b.Obs), w.n*d)
	}
	for i := 0; i < w.n; i++ {
		w.pol.EncodeObs(b.Obs[i*d:(i+1)*d], w.obs[i*w.pol.RowDim:(i+1)*w.pol.RowDim])
	}
	w.last = b
	return nil
}

// State returns the worker's state for a checkpoint.
func (w *RolloutWorker) State() (*WorkerState, error) {
	rng, err := w.pcg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &WorkerState{SamplerRNG: rng, Episode: slices.Clone(w.episode), EpReturn: slices.Clone(w.epRet),
		EpLength: slices.Clone(w.epLen), Discard: slices.Clone(w.discard), Pending: slices.Clone(w.pending),
		Ops: slices.Clone(w.ops)}, nil
}

// restore rebuilds a checkpointed worker: every sub-env is reset (with
// throwaway seeds) so all are steppable, then the op log is replayed.
func (w *RolloutWorker) restore(ctx context.Context, st *WorkerState) error {
	n := w.n
	if len(st.Episode) != n || len(st.EpReturn) != n || len(st.EpLength) != n || len(st.Discard) != n ||
		(st.Pending != nil && len(st.Pending) != n) || len(st.Ops) == 0 {
		return fmt.Errorf("rollout worker %d: %w: state for %d sub-envs, worker has %d", w.cfg.WorkerIndex, ErrBadState, len(st.Episode), n)
	}
	if err := w.pcg.UnmarshalBinary(st.SamplerRNG); err != nil {
		return fmt.Errorf("rollout worker %d: %w: %w", w.cfg.WorkerIndex, ErrBadState, err)
	}
	if err := w.replay(ctx, st.Ops); err != nil {
		return err
	}
	for k, op := range st.Ops {
		for i, m := range op.Mask {
			if m {
				w.startOp[i] = k
			}
		}
	}
	w.ops = slices.Clone(st.Ops)
	copy(w.episode, st.Episode)
	copy(w.epRet, st.EpReturn)
	copy(w.epLen, st.EpLength)
	copy(w.discard, st.Discard)
	copy(w.pending, st.Pending)
	return nil
}

// trimOps drops the log before the oldest running episode's reset.
func (w *RolloutWorker) trimOps() {
	k := slices.Min(w.startOp)
	if k == 0 {
		return
	}
	w.ops = append(w.ops[:0], w.ops[k:]...)
	for i := range w.startOp {
		w.startOp[i] -= k
	}
}

// Sample collects one fragment per sub-env with weights (nil keeps the
// current ones) and returns it with advantages and value targets.
func (w *RolloutWorker) Sample(ctx context.Context, weights []float32) (*SampleBatch, error) {
	if weights != nil {
		if err := w.SetWeights(weights); err != nil {
			return nil, err
		}
	}
	if slices.Contains(w.reseed, true) {
		// The last call ended (its ctx did) before its seeded reset: make
		// it now, or those sub-envs would be stepped from a finished state.
		if err := w.resetMasked(ctx, w.reseed); err != nil {
			return nil, fmt.Errorf("reset: %w", err)
		}
		clear(w.reseed)
	}
	pol, n := w.pol, w.n
	rd, ad, dd := pol.RowDim, pol.ActDim, pol.Dist.NumInputs()
	for i := range w.trajs {
		w.trajs[i].reset()
	}
	out := &SampleBatch{RowDim: rd, ActDim: ad, DistDim: dd, WorkerIndex: w.cfg.WorkerIndex}
	frag := max(w.cfg.FragmentLength, 1)
	complete := w.cfg.BatchMode == rllib.CompleteEpisodes
	done := make([]bool, n)
	var boot []int
	bootObs := make([]float32, 0, n*rd)
	total, target := 0, frag*n
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if complete {
			if !slices.Contains(done, false) {
				break
			}
		} else if total >= target {
			break
		}
		dist, vals := w.ws.Forward(w.params, w.obs, n)
		for i := 0; i < n; i++ {
			if w.pending[i] {
				// The vector resets this sub-env in this step and ignores
				// its action (the last one, still a valid action).
				continue
			}
			t := &w.trajs[i]
			a := w.actions[i*ad : (i+1)*ad]
			di := dist[i*dd : (i+1)*dd]
			logp := pol.Dist.Sample(di, w.act, true, w.rng)
			pol.DecodeAction(w.act, a)
			if w.discard[i] || done[i] {
				continue
			}
			t.obs = append(t.obs, w.obs[i*rd:(i+1)*rd]...)
			t.act = append(t.act, w.act...)
			t.logp = append(t.logp, float32(logp))
			t.dist = append(t.dist, di...)
			t.vf = append(t.vf, vals[i])
		}
		op := Op{Actions: w.logActions()}
		if err := w.apply(ctx, op); err != nil {
			return nil, fmt.Errorf("step: %w", err)
		}
		w.ops = append(w.ops, op)
		b := w.last
		if len(b.Rewards) != n || len(b.Terminated) != n || len(b.Truncated) != n {
			return nil, fmt.Errorf("rollout worker %d: env returned %d rewards for %d sub-envs", w.cfg.WorkerIndex, len(b.Rewards), n)
		}
		boot, bootObs = boot[:0], bootObs[:0]
		anyReseed := false
		for i := 0; i < n; i++ {
			if w.pending[i] {
				// This step was the sub-env's reset: its observation starts
				// the next episode; there is no transition to record.
				w.pending[i] = false
				continue
			}
			t := &w.trajs[i]
			r := b.Rewards[i]
			w.epRet[i] += r
			w.epLen[i]++
			recorded := !w.discard[i] && !done[i]
			if recorded {
				t.rew = append(t.rew, float32(r))
				total++
			}
			term, trunc := b.Terminated[i], b.Truncated[i]
			if !term && !trunc {
				continue
			}
			if w.discard[i] {
				w.discard[i] = false
			} else if recorded {
				out.EpisodeRewards = append(out.EpisodeRewards, w.epRet[i])
				out.EpisodeLengths = append(out.EpisodeLengths, w.epLen[i])
				if term {
					t.closeSegment(0)
				} else {
					// Truncated by the time limit: bootstrap from the final
					// observation, before the reset replaces it.
					boot = append(boot, i)
					bootObs = append(bootObs, w.obs[i*rd:(i+1)*rd]...)
				}
				if complete && t.len() >= frag {
					done[i] = true
				}
			}
			w.episode[i]++
			w.epRet[i], w.epLen[i] = 0, 0
			if len(w.ops)-w.startOp[i] >= ReseedAfter {
				w.reseed[i], anyReseed = true, true
			} else {
				w.pending[i] = true
			}
		}
		if len(boot) > 0 {
			_, bv := w.ws.Forward(w.params, bootObs, len(boot))
			for k, i := range boot {
				w.trajs[i].closeSegment(bv[k])
			}
		}
		if anyReseed {
			if err := w.resetMasked(ctx, w.reseed); err != nil {
				return nil, fmt.Errorf("reset: %w", err)
			}
			clear(w.reseed)
		}
	}
	// Close the open pieces: bootstrap with V of the next observation.
	_, vals := w.ws.Forward(w.params, w.obs, n)
	for i := 0; i < n; i++ {
		t := &w.trajs[i]
		t.closeSegment(vals[i])
		if complete && w.epLen[i] > 0 {
			// This sub-env is in an episode it started after its share was
			// done; the next call skips the rest of it.
			w.discard[i] = true
		}
		t.appendTo(out, w.cfg.Gamma, w.cfg.Lambda)
	}
	w.trimOps()
	return out, nil
}
