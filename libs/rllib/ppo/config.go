package ppo

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/libs/rllib/rollout"
)

// Training is PPO's training(...) section. Passed to Config.Training,
// zero-valued fields keep the current value (RLlib's "not provided"); to
// set one to zero (for example KLCoeff = 0 to turn the KL term off) assign
// it on the config: cfg.Train.KLCoeff = 0.
type Training struct {
	Lr               float64 `json:"lr"`
	Gamma            float64 `json:"gamma"`
	Lambda           float64 `json:"lambda"`
	ClipParam        float64 `json:"clip_param"`
	VfClipParam      float64 `json:"vf_clip_param"`
	KLCoeff          float64 `json:"kl_coeff"`
	KLTarget         float64 `json:"kl_target"`
	EntropyCoeff     float64 `json:"entropy_coeff"`
	VfLossCoeff      float64 `json:"vf_loss_coeff"`
	GradClip         float64 `json:"grad_clip"`
	TrainBatchSize   int     `json:"train_batch_size"`
	SgdMinibatchSize int     `json:"sgd_minibatch_size"`
	NumSgdIter       int     `json:"num_sgd_iter"`
	// Shuffle is shuffle_sequences; nil keeps the current value (true).
	Shuffle *bool       `json:"shuffle_sequences,omitempty"`
	Model   rllib.Model `json:"model"`
}

// DefaultTraining returns PPO's defaults, exactly RLlib's.
func DefaultTraining() Training {
	m := rllib.DefaultModel()
	m.VfShareLayers = false // PPO's override of MODEL_DEFAULTS
	return Training{
		Lr: 5e-5, Gamma: 0.99, Lambda: 1.0, ClipParam: 0.3, VfClipParam: 10.0,
		KLCoeff: 0.2, KLTarget: 0.01, EntropyCoeff: 0, VfLossCoeff: 1.0, GradClip: 0,
		TrainBatchSize: 4000, SgdMinibatchSize: 128, NumSgdIter: 30,
		Shuffle: rllib.Bool(true), Model: m,
	}
}

// Merge returns t with the non-zero fields of o applied.
func (t Training) Merge(o Training) Training {
	for _, p := range []struct{ dst, src *float64 }{
		{&t.Lr, &o.Lr}, {&t.Gamma, &o.Gamma}, {&t.Lambda, &o.Lambda}, {&t.ClipParam, &o.ClipParam},
		{&t.VfClipParam, &o.VfClipParam}, {&t.KLCoeff, &o.KLCoeff}, {&t.KLTarget, &o.KLTarget},
		{&t.EntropyCoeff, &o.EntropyCoeff}, {&t.VfLossCoeff, &o.VfLossCoeff}, {&t.GradClip, &o.GradClip},
	} {
		if *p.src != 0 {
			*p.dst = *p.src
		}
	}
	for _, p := range []struct{ dst, src *int }{
		{&t.TrainBatchSize, &o.TrainBatchSize}, {&t.SgdMinibatchSize, &o.SgdMinibatchSize}, {&t.NumSgdIter, &o.NumSgdIter},
	} {
		if *p.src != 0 {
			*p.dst = *p.src
		}
	}
	if o.Shuffle != nil {
		t.Shuffle = rllib.Bool(*o.Shuffle)
	}
	t.Model = t.Model.Merge(o.Model)
	return t
}

// Validate checks the section.
func (t Training) Validate() error {
	bad := func(name string, v any, want string) error {
		return fmt.Errorf("%w: %s = %v, %s", rllib.ErrBadConfig, name, v, want)
	}
	switch {
	case t.Lr <= 0:
		return bad("lr", t.Lr, "must be > 0")
	case t.Gamma < 0 || t.Gamma > 1:
		return bad("gamma", t.Gamma, "must be in [0, 1]")
	case t.Lambda < 0 || t.Lambda > 1:
		return bad("lambda", t.Lambda, "must be in [0, 1]")
	case t.ClipParam <= 0:
		return bad("clip_param", t.ClipParam, "must be > 0")
	case t.VfClipParam <= 0:
		return bad("vf_clip_param", t.VfClipParam, "must be > 0")
	case t.KLCoeff < 0:
		return bad("kl_coeff", t.KLCoeff, "must be >= 0")
	case t.KLTarget <= 0:
		return bad("kl_target", t.KLTarget, "must be > 0")
	case t.EntropyCoeff < 0:
		return bad("entropy_coeff", t.EntropyCoeff, "must be >= 0")
	case t.VfLossCoeff < 0:
		return bad("vf_loss_coeff", t.VfLossCoeff, "must be >= 0")
	case t.GradClip < 0:
		return bad("grad_clip", t.GradClip, "must be >= 0 (0: none)")
	case t.TrainBatchSize < 1:
		return bad("train_batch_size", t.TrainBatchSize, "must be >= 1")
	case t.SgdMinibatchSize < 1:
		return bad("sgd_minibatch_size", t.SgdMinibatchSize, "must be >= 1")
	case t.SgdMinibatchSize > t.TrainBatchSize:
		return bad("sgd_minibatch_size", t.SgdMinibatchSize, fmt.Sprintf("must be <= train_batch_size (%d)", t.TrainBatchSize))
	case t.NumSgdIter < 1:
		return bad("num_sgd_iter", t.NumSgdIter, "must be >= 1")
	}
	return t.Model.Validate()
}

// Config is PPOConfig: a chain of section setters ending in Build. The
// exported section fields may also be assigned directly.
type Config struct {
	Env      rllib.Environment `json:"environment"`
	Rollout  rllib.Rollouts    `json:"rollouts"`
	Resource rllib.Resources   `json:"resources"`
	Train    Training          `json:"training"`
	Eval     rllib.Evaluation  `json:"evaluation"`
	Debug    rllib.Debugging   `json:"debugging"`
	// NumLearnerShards is the fixed number of shards a minibatch's
	// gradient is split into (see the package doc). Changing it changes
	// the floating-point summation order, so it is part of the config.
	NumLearnerShards int `json:"num_learner_shards"`
	// InProcessWorkers runs the rollout workers as goroutines in the driver
	// even when a goray runtime is available.
	InProcessWorkers bool `json:"in_process_workers"`

	// EnvMaker makes the envs of in-process workers and of the driver;
	// nil uses rollout.DefaultEnvMaker. Remote workers always use the
	// default maker of their process.
	EnvMaker rollout.EnvMaker `json:"-"`
	// Logger receives progress and warnings; nil discards.
	Logger *slog.Logger `json:"-"`
}

// NewConfig returns PPOConfig() with RLlib's defaults: two rollout
// workers, rollout_fragment_length "auto", and DefaultTraining.
func NewConfig() *Config {
	r := rllib.DefaultRollouts()
	r.NumRolloutWorkers = 2
	return &Config{
		Rollout: r, Resource: rllib.DefaultResources(), Train: DefaultTraining(),
		Eval: rllib.DefaultEvaluation(), NumLearnerShards: 4,
	}
}

// Environment sets the env ID and its make kwargs (env_config).
func (c *Config) Environment(id string, envConfig map[string]any) *Config {
	c.Env = rllib.Environment{Env: id, EnvConfig: envConfig}
	return c
}

// Rollouts merges the given rollout settings.
func (c *Config) Rollouts(r rllib.Rollouts) *Config { c.Rollout = c.Rollout.Merge(r); return c }

// Resources merges the given resource settings.
func (c *Config) Resources(r rllib.Resources) *Config { c.Resource = c.Resource.Merge(r); return c }

// Training merges the given training settings.
func (c *Config) Training(t Training) *Config { c.Train = c.Train.Merge(t); return c }

// Evaluation merges the given evaluation settings.
func (c *Config) Evaluation(e rllib.Evaluation) *Config { c.Eval = c.Eval.Merge(e); return c }

// Debugging merges the given debugging settings.
func (c *Config) Debugging(d rllib.Debugging) *Config { c.Debug = c.Debug.Merge(d); return c }

// WithEnvMaker sets the env maker for driver-side envs.
func (c *Config) WithEnvMaker(m rollout.EnvMaker) *Config { c.EnvMaker = m; return c }

// WithLogger sets the logger.
func (c *Config) WithLogger(l *slog.Logger) *Config { c.Logger = l; return c }

// Validate checks the whole config.
func (c *Config) Validate() error {
	if c.Env.Env == "" {
		return fmt.Errorf("%w: env is not set (call Environment)", rllib.ErrBadConfig)
	}
	if c.NumLearnerShards < 1 {
		return fmt.Errorf("%w: num_learner_shards = %d, must be >= 1", rllib.ErrBadConfig, c.NumLearnerShards)
	}
	for _, v := range []interface{ Validate() error }{c.Rollout, c.Resource, c.Train, c.Eval} {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	// RLlib ≥ 2.3: a fixed fragment length must reach train_batch_size
	// within 10%.
	if f := c.Rollout.RolloutFragmentLength; f > 0 && c.Rollout.BatchMode == rllib.TruncateEpisodes {
		per := max(c.Rollout.NumRolloutWorkers, 1) * c.Rollout.NumEnvsPerWorker * f
		b := c.Train.TrainBatchSize
		reach := (b + per - 1) / per * per
		if float64(reach-b) > 0.1*float64(b) {
			return fmt.Errorf("%w: rollout_fragment_length = %d gives batches of %d steps (%d workers × %d envs), reaching %d for train_batch_size = %d, more than 10%% off; use \"auto\" (0) or %d",
				rllib.ErrBadConfig, f, per, max(c.Rollout.NumRolloutWorkers, 1), c.Rollout.NumEnvsPerWorker, reach, b, b/(max(c.Rollout.NumRolloutWorkers, 1)*c.Rollout.NumEnvsPerWorker))
		}
	}
	return nil
}

// Copy returns a deep copy, as build(use_copy=True) takes.
func (c *Config) Copy() *Config {
	cp := *c
	if c.Env.EnvConfig != nil {
		cp.Env.EnvConfig = make(map[string]any, len(c.Env.EnvConfig))
		for k, v := range c.Env.EnvConfig {
			cp.Env.EnvConfig[k] = v
		}
	}
	cp.Train.Model.FcnetHiddens = append([]int(nil), c.Train.Model.FcnetHiddens...)
	if c.Train.Shuffle != nil {
		cp.Train.Shuffle = rllib.Bool(*c.Train.Shuffle)
	}
	cp.Debug = rllib.Debugging{}.Merge(c.Debug)
	return &cp
}

// Build validates a copy of the config and builds the algorithm.
func (c *Config) Build(ctx context.Context) (*PPO, error) {
	cp := c.Copy()
	if err := cp.Validate(); err != nil {
		return nil, err
	}
	return newPPO(ctx, cp, nil)
}
