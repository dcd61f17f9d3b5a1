package rllib

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// ErrUnknownKey is wrapped by decoding errors for keys RLlib's config does
// not have (or goray does not support).
var ErrUnknownKey = errors.New("unknown config key")

// FragmentLength is rollout_fragment_length in a job file: an integer or
// the string "auto" (stored as 0).
type FragmentLength struct {
	Set   bool
	Value int
}

// UnmarshalTOML implements toml.Unmarshaler.
func (f *FragmentLength) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		if x < 1 {
			return fmt.Errorf("rollout_fragment_length = %d: must be >= 1 or \"auto\"", x)
		}
		f.Set, f.Value = true, int(x)
	case string:
		if x != "auto" {
			return fmt.Errorf("rollout_fragment_length = %q: want an integer or \"auto\"", x)
		}
		f.Set, f.Value = true, 0
	default:
		return fmt.Errorf("rollout_fragment_length = %v: want an integer or \"auto\"", v)
	}
	return nil
}

// ModelTOML is the model sub-table (RLlib's model dict).
type ModelTOML struct {
	FcnetHiddens    []int   `toml:"fcnet_hiddens"`
	FcnetActivation *string `toml:"fcnet_activation"`
	VfShareLayers   *bool   `toml:"vf_share_layers"`
}

// EvaluationConfigTOML is evaluation_config: overrides for evaluation.
type EvaluationConfigTOML struct {
	Explore *bool `toml:"explore"`
}

// StopConfig is the job's stop dict: training ends when any set
// condition holds (Tune's semantics).
type StopConfig struct {
	TrainingIteration int      `toml:"training_iteration" json:"training_iteration,omitempty"`
	TimestepsTotal    int64    `toml:"timesteps_total" json:"timesteps_total,omitempty"`
	EpisodeRewardMean *float64 `toml:"episode_reward_mean" json:"episode_reward_mean,omitempty"`
	TimeTotalS        float64  `toml:"time_total_s" json:"time_total_s,omitempty"`
}

// Empty reports whether no stop condition is set.
func (s StopConfig) Empty() bool {
	return s.TrainingIteration == 0 && s.TimestepsTotal == 0 && s.EpisodeRewardMean == nil && s.TimeTotalS == 0
}

// Done reports whether r meets a stop condition.
func (s StopConfig) Done(r *Result) bool {
	switch {
	case s.TrainingIteration > 0 && r.TrainingIteration >= s.TrainingIteration:
		return true
	case s.TimestepsTotal > 0 && r.TimestepsTotal >= s.TimestepsTotal:
		return true
	case s.EpisodeRewardMean != nil && float64(r.EpisodeRewardMean) >= *s.EpisodeRewardMean:
		return true
	case s.TimeTotalS > 0 && r.TimeTotalS >= s.TimeTotalS:
		return true
	}
	return false
}

// JobConfig is the [rllib] table of a job file: RLlib's flat config dict
// (the names to_dict() produces, snake_case), plus Tune's stop and
// checkpoint settings. Pointer fields are nil when the key is absent, so
// the algorithm's defaults stay.
type JobConfig struct {
	Algorithm string         `toml:"algorithm"`
	Env       string         `toml:"env"`
	EnvConfig map[string]any `toml:"env_config"`
	// Framework is accepted for compatibility with RLlib configs ("torch",
	// "tf", "tf2", "go") and ignored: goray has one implementation.
	Framework string `toml:"framework"`

	NumRolloutWorkers      *int                  `toml:"num_rollout_workers"`
	NumWorkers             *int                  `toml:"num_workers"`
	NumEnvsPerWorker       *int                  `toml:"num_envs_per_worker"`
	RolloutFragmentLength  FragmentLength        `toml:"rollout_fragment_length"`
	BatchMode              *string               `toml:"batch_mode"`
	CreateEnvOnDriver      *bool                 `toml:"create_env_on_driver"`
	CreateEnvOnLocalWorker *bool                 `toml:"create_env_on_local_worker"`
	RecreateFailedWorkers  *bool                 `toml:"recreate_failed_workers"`
	NumGPUs                *float64              `toml:"num_gpus"`
	NumCPUsPerWorker       *float64              `toml:"num_cpus_per_worker"`
	NumCPUsForLocalWorker  *float64              `toml:"num_cpus_for_local_worker"`
	NumCPUsForDriver       *float64              `toml:"num_cpus_for_driver"`
	PlacementStrategy      *string               `toml:"placement_strategy"`
	Lr                     *float64              `toml:"lr"`
	Gamma                  *float64              `toml:"gamma"`
	Lambda                 *float64              `toml:"lambda"`
	ClipParam              *float64              `toml:"clip_param"`
	VfClipParam            *float64              `toml:"vf_clip_param"`
	KLCoeff                *float64              `toml:"kl_coeff"`
	KLTarget               *float64              `toml:"kl_target"`
	EntropyCoeff           *float64              `toml:"entropy_coeff"`
	VfLossCoeff            *float64              `toml:"vf_loss_coeff"`
	GradClip               *float64              `toml:"grad_clip"`
	TrainBatchSize         *int                  `toml:"train_batch_size"`
	SgdMinibatchSize       *int                  `toml:"sgd_minibatch_size"`
	NumSgdIter             *int                  `toml:"num_sgd_iter"`
	ShuffleSequences       *bool                 `toml:"shuffle_sequences"`
	Model                  *ModelTOML            `toml:"model"`
	FcnetHiddens           []int                 `toml:"fcnet_hiddens"`
	FcnetActivation        *string               `toml:"fcnet_activation"`
	VfShareLayers          *bool                 `toml:"vf_share_layers"`
	EvaluationInterval     *int                  `toml:"evaluation_interval"`
	EvaluationDuration     *int                  `toml:"evaluation_duration"`
	EvaluationConfig       *EvaluationConfigTOML `toml:"evaluation_config"`
	Seed                   *int64                `toml:"seed"`
	NumLearnerShards       *int                  `toml:"num_learner_shards"`

	Stop            StopConfig `toml:"stop"`
	CheckpointFreq  int        `toml:"checkpoint_freq"`
	CheckpointAtEnd bool       `toml:"checkpoint_at_end"`
}

// DecodeJobConfig decodes the table prim of a document whose metadata is
// md (as the job runner gets them from toml.Decode with a toml.Primitive
// field). table is the table's key path ("rllib") for error messages and
// for finding unknown keys; source names the file. Unknown keys are
// errors that name the key.
func DecodeJobConfig(md toml.MetaData, prim toml.Primitive, table, source string) (*JobConfig, error) {
	var jc JobConfig
	if err := md.PrimitiveDecode(prim, &jc); err != nil {
		return nil, fmt.Errorf("%s: [%s]: %w", source, table, err)
	}
	var unknown []string
	for _, k := range md.Undecoded() {
		ks := k.String()
		if ks == table || !strings.HasPrefix(ks, table+".") {
			continue
		}
		rest := strings.TrimPrefix(ks, table+".")
		// env_config is free-form: the env validates its own kwargs.
		if rest == "env_config" || strings.HasPrefix(rest, "env_config.") {
			continue
		}
		unknown = append(unknown, ks)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%s: %w: %s", source, ErrUnknownKey, strings.Join(unknown, ", "))
	}
	if err := jc.check(); err != nil {
		return nil, fmt.Errorf("%s: [%s]: %w", source, table, err)
	}
	return &jc, nil
}

// ParseJobConfig parses a TOML document holding an [rllib] table (and
// nothing else).
func ParseJobConfig(data []byte, source string) (*JobConfig, error) {
	var doc struct {
		RLlib toml.Primitive `toml:"rllib"`
	}
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if !md.IsDefined("rllib") {
		return nil, fmt.Errorf("%s: %w: no [rllib] table", source, ErrBadConfig)
	}
	for _, k := range md.Undecoded() {
		if len(k) == 1 && k[0] != "rllib" {
			return nil, fmt.Errorf("%s: %w: %s", source, ErrUnknownKey, k)
		}
	}
	return DecodeJobConfig(md, doc.RLlib, "rllib", source)
}

// JobConfigFromMap decodes an [rllib] table given as a map (as decoded
// from JSON or TOML into map[string]any).
func JobConfigFromMap(m map[string]any, source string) (*JobConfig, error) {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(map[string]any{"rllib": m}); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return ParseJobConfig(buf.Bytes(), source)
}

// check catches conflicting aliases.
func (jc *JobConfig) check() error {
	if jc.NumRolloutWorkers != nil && jc.NumWorkers != nil {
		return fmt.Errorf("%w: both num_rollout_workers and its legacy name num_workers are set", ErrBadConfig)
	}
	if jc.NumCPUsForLocalWorker != nil && jc.NumCPUsForDriver != nil {
		return fmt.Errorf("%w: both num_cpus_for_local_worker and num_cpus_for_driver are set", ErrBadConfig)
	}
	if jc.Model != nil && (jc.FcnetHiddens != nil || jc.FcnetActivation != nil || jc.VfShareLayers != nil) {
		return fmt.Errorf("%w: model keys are set both in [model] and at the top level", ErrBadConfig)
	}
	switch jc.Framework {
	case "", "torch", "tf", "tf2", "go":
	default:
		return fmt.Errorf("%w: framework = %q, want torch, tf, tf2 or go (all run goray's Go implementation)", ErrBadConfig, jc.Framework)
	}
	return nil
}

// ApplyCommon writes the algorithm-independent keys that are present into
// the given sections.
func (jc *JobConfig) ApplyCommon(env *Environment, r *Rollouts, res *Resources, m *Model, e *Evaluation, d *Debugging) {
	if jc.Env != "" {
		env.Env = jc.Env
	}
	if jc.EnvConfig != nil {
		env.EnvConfig = jc.EnvConfig
	}
	setP(&r.NumRolloutWorkers, jc.NumRolloutWorkers)
	setP(&r.NumRolloutWorkers, jc.NumWorkers)
	setP(&r.NumEnvsPerWorker, jc.NumEnvsPerWorker)
	if jc.RolloutFragmentLength.Set {
		r.RolloutFragmentLength = jc.RolloutFragmentLength.Value
	}
	setP(&r.BatchMode, jc.BatchMode)
	setP(&r.CreateEnvOnDriver, jc.CreateEnvOnDriver)
	setP(&r.CreateEnvOnDriver, jc.CreateEnvOnLocalWorker)
	setP(&r.RecreateFailedWorkers, jc.RecreateFailedWorkers)
	setP(&res.NumGPUs, jc.NumGPUs)
	setP(&res.NumCPUsPerWorker, jc.NumCPUsPerWorker)
	setP(&res.NumCPUsForLocalWorker, jc.NumCPUsForLocalWorker)
	setP(&res.NumCPUsForLocalWorker, jc.NumCPUsForDriver)
	setP(&res.PlacementStrategy, jc.PlacementStrategy)
	mt := jc.Model
	if mt == nil {
		mt = &ModelTOML{FcnetHiddens: jc.FcnetHiddens, FcnetActivation: jc.FcnetActivation, VfShareLayers: jc.VfShareLayers}
	}
	if mt.FcnetHiddens != nil {
		m.FcnetHiddens = append([]int(nil), mt.FcnetHiddens...)
	}
	setP(&m.FcnetActivation, mt.FcnetActivation)
	setP(&m.VfShareLayers, mt.VfShareLayers)
	setP(&e.EvaluationInterval, jc.EvaluationInterval)
	setP(&e.EvaluationDuration, jc.EvaluationDuration)
	if jc.EvaluationConfig != nil {
		setP(&e.Explore, jc.EvaluationConfig.Explore)
	}
	if jc.Seed != nil {
		d.Seed = Seed(*jc.Seed)
	}
}

func setP[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
