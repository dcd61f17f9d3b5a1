package rllib

import (
	"errors"
	"fmt"
	"slices"
)

// ErrBadConfig is wrapped by every config validation error.
var ErrBadConfig = errors.New("invalid rllib config")

// Batch modes (RLlib's batch_mode).
const (
	TruncateEpisodes = "truncate_episodes"
	CompleteEpisodes = "complete_episodes"
)

// Placement strategies for the rollout workers' placement group.
const (
	Pack         = "PACK"
	Spread       = "SPREAD"
	StrictPack   = "STRICT_PACK"
	StrictSpread = "STRICT_SPREAD"
)

// Environment is the env section: the Gymnasium ID and its make kwargs
// (RLlib's env and env_config).
type Environment struct {
	Env       string         `json:"env"`
	EnvConfig map[string]any `json:"env_config,omitempty"`
	// EnvPlugins are env plugin binaries (absolute paths) that serve env
	// IDs beyond the built-in ones; a job file's env_plugins fill it.
	EnvPlugins []string `json:"env_plugins,omitempty"`
}

// Rollouts is RLlib's rollouts(...) section.
//
// Passed to a config's Rollouts method, zero-valued fields mean "not
// given" and keep the current value, as RLlib's keyword defaults do. To set
// a field to zero (for example NumRolloutWorkers = 0, sampling on the
// driver), assign it on the config directly: cfg.Rollout.NumRolloutWorkers = 0.
type Rollouts struct {
	// NumRolloutWorkers is the number of remote rollout workers; 0 samples
	// on the driver (the local worker).
	NumRolloutWorkers int `json:"num_rollout_workers"`
	// NumEnvsPerWorker sub-envs are stepped as one vector by each worker.
	NumEnvsPerWorker int `json:"num_envs_per_worker"`
	// RolloutFragmentLength is the number of steps per sub-env per sample
	// call; 0 means "auto" (see FragmentLengths).
	RolloutFragmentLength int `json:"rollout_fragment_length"`
	// BatchMode is TruncateEpisodes or CompleteEpisodes.
	BatchMode string `json:"batch_mode"`
	// CreateEnvOnDriver makes the driver (local worker) hold an env too,
	// as the course's configs do; it is used for evaluation.
	CreateEnvOnDriver bool `json:"create_env_on_driver"`
	// RecreateFailedWorkers replaces a worker whose process or node died
	// and retries its sample request.
	RecreateFailedWorkers bool `json:"recreate_failed_workers"`
}

// DefaultRollouts returns RLlib's AlgorithmConfig defaults.
func DefaultRollouts() Rollouts {
	return Rollouts{NumRolloutWorkers: 0, NumEnvsPerWorker: 1, BatchMode: TruncateEpisodes}
}

// Merge returns r with the non-zero fields of o applied.
func (r Rollouts) Merge(o Rollouts) Rollouts {
	setInt(&r.NumRolloutWorkers, o.NumRolloutWorkers)
	setInt(&r.NumEnvsPerWorker, o.NumEnvsPerWorker)
	setInt(&r.RolloutFragmentLength, o.RolloutFragmentLength)
	if o.BatchMode != "" {
		r.BatchMode = o.BatchMode
	}
	r.CreateEnvOnDriver = r.CreateEnvOnDriver || o.CreateEnvOnDriver
	r.RecreateFailedWorkers = r.RecreateFailedWorkers || o.RecreateFailedWorkers
	return r
}

// Validate checks the section.
func (r Rollouts) Validate() error {
	if r.NumRolloutWorkers < 0 {
		return fmt.Errorf("%w: num_rollout_workers = %d, must be >= 0", ErrBadConfig, r.NumRolloutWorkers)
	}
	if r.NumEnvsPerWorker < 1 {
		return fmt.Errorf("%w: num_envs_per_worker = %d, must be >= 1", ErrBadConfig, r.NumEnvsPerWorker)
	}
	if r.RolloutFragmentLength < 0 {
		return fmt.Errorf("%w: rollout_fragment_length = %d, must be >= 1 or \"auto\"", ErrBadConfig, r.RolloutFragmentLength)
	}
	if r.BatchMode != TruncateEpisodes && r.BatchMode != CompleteEpisodes {
		return fmt.Errorf("%w: batch_mode = %q, want %q or %q", ErrBadConfig, r.BatchMode, TruncateEpisodes, CompleteEpisodes)
	}
	return nil
}

// FragmentLengths resolves rollout_fragment_length for each worker: a fixed
// length applies to every worker; "auto" (0) follows RLlib's
// get_rollout_fragment_length: trainBatch / (envs × max(workers, 1)), and
// when that is not whole the low-index workers get one step more. The
// result has max(workers, 1) entries (index 0 is the local worker when
// there are no remote workers).
func (r Rollouts) FragmentLengths(trainBatch int) []int {
	n := max(r.NumRolloutWorkers, 1)
	out := make([]int, n)
	if r.RolloutFragmentLength > 0 {
		for i := range out {
			out[i] = r.RolloutFragmentLength
		}
		return out
	}
	per := r.NumEnvsPerWorker * n
	base := trainBatch / per
	diff := trainBatch - base*per
	for i := range out {
		out[i] = max(base, 1)
		// RLlib: worker_index * num_envs_per_worker <= diff gets one more;
		// remote workers are numbered from 1, the local worker is 0.
		idx := i + 1
		if r.NumRolloutWorkers == 0 {
			idx = 0
		}
		if diff > 0 && idx*r.NumEnvsPerWorker <= diff {
			out[i]++
		}
	}
	return out
}

// Resources is RLlib's resources(...) section. Zero fields passed to a
// config's Resources method keep the current value.
type Resources struct {
	// NumGPUs is reserved for the driver's bundle. goray's learner runs on
	// the driver's CPUs; the GPU is accounted for, not used.
	NumGPUs float64 `json:"num_gpus"`
	// NumCPUsPerWorker is each rollout worker's actor CPU request.
	NumCPUsPerWorker float64 `json:"num_cpus_per_worker"`
	// NumCPUsForLocalWorker is the driver bundle's CPUs (num_cpus_for_driver).
	NumCPUsForLocalWorker float64 `json:"num_cpus_for_local_worker"`
	// PlacementStrategy is the placement group strategy (PACK by default).
	PlacementStrategy string `json:"placement_strategy"`
}

// DefaultResources returns RLlib's defaults.
func DefaultResources() Resources {
	return Resources{NumGPUs: 0, NumCPUsPerWorker: 1, NumCPUsForLocalWorker: 1, PlacementStrategy: Pack}
}

// Merge returns r with the non-zero fields of o applied.
func (r Resources) Merge(o Resources) Resources {
	setFloat(&r.NumGPUs, o.NumGPUs)
	setFloat(&r.NumCPUsPerWorker, o.NumCPUsPerWorker)
	setFloat(&r.NumCPUsForLocalWorker, o.NumCPUsForLocalWorker)
	if o.PlacementStrategy != "" {
		r.PlacementStrategy = o.PlacementStrategy
	}
	return r
}

// Validate checks the section.
func (r Resources) Validate() error {
	if r.NumGPUs < 0 || r.NumCPUsPerWorker < 0 || r.NumCPUsForLocalWorker < 0 {
		return fmt.Errorf("%w: resources must be >= 0 (num_gpus %g, num_cpus_per_worker %g, num_cpus_for_local_worker %g)",
			ErrBadConfig, r.NumGPUs, r.NumCPUsPerWorker, r.NumCPUsForLocalWorker)
	}
	if !slices.Contains([]string{Pack, Spread, StrictPack, StrictSpread}, r.PlacementStrategy) {
		return fmt.Errorf("%w: placement_strategy = %q, want PACK, SPREAD, STRICT_PACK or STRICT_SPREAD", ErrBadConfig, r.PlacementStrategy)
	}
	return nil
}

// Bundles returns the placement group bundles RLlib requests: one for the
// driver, then one per rollout worker.
func (r Resources) Bundles(numWorkers int) []map[string]float64 {
	driver := map[string]float64{"CPU": r.NumCPUsForLocalWorker}
	if r.NumGPUs > 0 {
		driver["GPU"] = r.NumGPUs
	}
	out := []map[string]float64{driver}
	for i := 0; i < numWorkers; i++ {
		out = append(out, map[string]float64{"CPU": r.NumCPUsPerWorker})
	}
	return out
}

// Model is the subset of RLlib's MODEL_DEFAULTS goray's fully connected
// net honours.
type Model struct {
	FcnetHiddens    []int  `json:"fcnet_hiddens"`
	FcnetActivation string `json:"fcnet_activation"`
	// VfShareLayers puts the value head on the policy's trunk. RLlib's
	// MODEL_DEFAULTS say true; PPO overrides it to false.
	VfShareLayers bool `json:"vf_share_layers"`
}

// DefaultModel returns MODEL_DEFAULTS: [256, 256] tanh, shared layers.
func DefaultModel() Model {
	return Model{FcnetHiddens: []int{256, 256}, FcnetActivation: "tanh", VfShareLayers: true}
}

// Merge returns m with the non-zero fields of o applied. VfShareLayers can
// only be switched on this way; assign the field to switch it off.
func (m Model) Merge(o Model) Model {
	if o.FcnetHiddens != nil {
		m.FcnetHiddens = slices.Clone(o.FcnetHiddens)
	}
	if o.FcnetActivation != "" {
		m.FcnetActivation = o.FcnetActivation
	}
	m.VfShareLayers = m.VfShareLayers || o.VfShareLayers
	return m
}

// Validate checks the section.
func (m Model) Validate() error {
	for i, h := range m.FcnetHiddens {
		if h <= 0 {
			return fmt.Errorf("%w: fcnet_hiddens[%d] = %d, must be > 0", ErrBadConfig, i, h)
		}
	}
	switch m.FcnetActivation {
	case "tanh", "relu", "linear":
	default:
		return fmt.Errorf("%w: fcnet_activation = %q, want tanh, relu or linear", ErrBadConfig, m.FcnetActivation)
	}
	return nil
}

// Evaluation is RLlib's evaluation(...) section. Evaluation runs on the
// driver when EvaluationInterval > 0: every that many iterations it plays
// EvaluationDuration episodes.
type Evaluation struct {
	// EvaluationInterval: evaluate every n train() calls; 0 disables.
	EvaluationInterval int `json:"evaluation_interval"`
	// EvaluationDuration is the number of episodes per evaluation (10).
	EvaluationDuration int `json:"evaluation_duration"`
	// Explore samples actions during evaluation; RLlib's evaluation_config
	// usually sets explore=False (greedy). Default false here.
	Explore bool `json:"explore"`
}

// DefaultEvaluation returns RLlib's defaults (off, 10 episodes).
func DefaultEvaluation() Evaluation { return Evaluation{EvaluationDuration: 10} }

// Merge returns e with the non-zero fields of o applied.
func (e Evaluation) Merge(o Evaluation) Evaluation {
	setInt(&e.EvaluationInterval, o.EvaluationInterval)
	setInt(&e.EvaluationDuration, o.EvaluationDuration)
	e.Explore = e.Explore || o.Explore
	return e
}

// Validate checks the section.
func (e Evaluation) Validate() error {
	if e.EvaluationInterval < 0 || e.EvaluationDuration < 1 {
		return fmt.Errorf("%w: evaluation_interval = %d (want >= 0), evaluation_duration = %d (want >= 1)",
			ErrBadConfig, e.EvaluationInterval, e.EvaluationDuration)
	}
	return nil
}

// Debugging is RLlib's debugging(...) section.
type Debugging struct {
	// Seed makes training bit-reproducible for a fixed number of workers
	// and envs. nil (RLlib's None) draws a random seed at Build.
	Seed *int64 `json:"seed"`
}

// Merge returns d with the non-nil fields of o applied.
func (d Debugging) Merge(o Debugging) Debugging {
	if o.Seed != nil {
		s := *o.Seed
		d.Seed = &s
	}
	return d
}

// Seed returns a pointer to s, for Debugging{Seed: rllib.Seed(42)}.
func Seed(s int64) *int64 { return &s }

// Bool returns a pointer to b, for optional boolean fields.
func Bool(b bool) *bool { return &b }

func setInt(dst *int, v int) {
	if v != 0 {
		*dst = v
	}
}

func setFloat(dst *float64, v float64) {
	if v != 0 {
		*dst = v
	}
}
