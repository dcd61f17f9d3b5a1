package ppo

import (
	"fmt"

	"github.com/goray/goray/libs/rllib"
)

// FromJobConfig translates a job file's [rllib] table into a PPO config,
// starting from NewConfig's defaults and applying only the keys present.
func FromJobConfig(jc *rllib.JobConfig) (*Config, error) {
	if jc.Algorithm != "" && jc.Algorithm != "PPO" {
		return nil, fmt.Errorf("%w: algorithm = %q, this is PPO", rllib.ErrBadConfig, jc.Algorithm)
	}
	c := NewConfig()
	jc.ApplyCommon(&c.Env, &c.Rollout, &c.Resource, &c.Train.Model, &c.Eval, &c.Debug)
	t := &c.Train
	for _, p := range []struct {
		dst *float64
		src *float64
	}{
		{&t.Lr, jc.Lr}, {&t.Gamma, jc.Gamma}, {&t.Lambda, jc.Lambda}, {&t.ClipParam, jc.ClipParam},
		{&t.VfClipParam, jc.VfClipParam}, {&t.KLCoeff, jc.KLCoeff}, {&t.KLTarget, jc.KLTarget},
		{&t.EntropyCoeff, jc.EntropyCoeff}, {&t.VfLossCoeff, jc.VfLossCoeff}, {&t.GradClip, jc.GradClip},
	} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	for _, p := range []struct {
		dst *int
		src *int
	}{
		{&t.TrainBatchSize, jc.TrainBatchSize}, {&t.SgdMinibatchSize, jc.SgdMinibatchSize},
		{&t.NumSgdIter, jc.NumSgdIter}, {&c.NumLearnerShards, jc.NumLearnerShards},
	} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	if jc.ShuffleSequences != nil {
		t.Shuffle = rllib.Bool(*jc.ShuffleSequences)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}
