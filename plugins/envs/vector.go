package envs

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// SeedsFrom returns Gymnasium's per-sub-env seeds for vector.reset(seed=s):
// sub-env i gets s+i. Pass the result to VectorEnv.Reset.
func SeedsFrom(seed int64, n int) []int64 {
	seeds := make([]int64, n)
	for i := range seeds {
		seeds[i] = seed + int64(i)
	}
	return seeds
}

// ResetMaskOption is the reset option key that resets only the selected
// sub-envs (Gymnasium's options={"reset_mask": array}). Its value is a []bool
// (or []any of bools, as decoded from JSON) with one entry per sub-env.
const ResetMaskOption = "reset_mask"

// Info keys the SAME_STEP autoreset mode adds for a finished sub-env.
const (
	FinalObsKey  = "final_obs"
	FinalInfoKey = "final_info"
)

// orDefault returns m, or AutoresetNextStep when m is empty (Gymnasium's
// default).
func (m AutoresetMode) orDefault() AutoresetMode {
	if m == "" {
		return AutoresetNextStep
	}
	return m
}

// Validate checks the mode name.
func (m AutoresetMode) Validate() error {
	switch m.orDefault() {
	case AutoresetNextStep, AutoresetSameStep, AutoresetDisabled:
		return nil
	}
	return fmt.Errorf("autoreset mode %q: want NEXT_STEP, SAME_STEP or DISABLED", string(m))
}

// Validate checks a vector config: a positive NumEnvs and a known mode.
func (c VectorConfig) Validate() error {
	if c.NumEnvs <= 0 {
		return fmt.Errorf("env %s: num_envs = %d, must be > 0", c.ID, c.NumEnvs)
	}
	if err := c.Mode.Validate(); err != nil {
		return fmt.Errorf("env %s: %w", c.ID, err)
	}
	return nil
}

// vector is the in-process VectorEnv: Gymnasium's SyncVectorEnv over
// TimeLimit(OrderEnforcing(env)) sub-envs, with one shared set of batch
// buffers so that a step allocates nothing of its own.
type vector struct {
	spec   Spec
	cfg    VectorConfig
	mode   AutoresetMode
	envs   []Env
	obsDim int
	actDim int

	elapsed   []int  // TimeLimit counters
	autoreset []bool // NEXT_STEP: reset sub-env i on the next step
	wasReset  []bool // OrderEnforcing: sub-env i has been reset once
	ready     bool   // every sub-env has been reset once

	batch Batch
	// scratch holds one observation for SAME_STEP's final_obs.
	scratch []float64
}

// NewVector makes the in-process vector of cfg.NumEnvs sub-envs from
// factory. It applies the spec's MaxEpisodeSteps as Gymnasium's TimeLimit
// (truncated=true once a sub-env has taken that many steps since its reset;
// terminated and truncated may both be true), enforces reset-before-step
// (ErrResetNeeded) and implements the autoreset mode cfg.Mode (NEXT_STEP when
// empty) as gymnasium.vector.SyncVectorEnv does.
//
// The *Batch returned by Reset and Step is owned by the vector and is
// overwritten by the next call: copy what must outlive it. With
// cfg.NoInfos set, Step allocates nothing beyond what the sub-envs do.
func NewVector(factory Factory, cfg VectorConfig) (VectorEnv, error) {
	if factory == nil {
		return nil, &EnvError{ID: cfg.ID, Err: fmt.Errorf("%w: nil factory", ErrUnknownEnv)}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &vector{cfg: cfg, mode: cfg.Mode.orDefault()}
	for i := 0; i < cfg.NumEnvs; i++ {
		e, err := factory(cfg.Kwargs)
		if err != nil {
			v.Close()
			return nil, wrapEnvErr(cfg.ID, "", fmt.Errorf("make sub-env %d: %w", i, err))
		}
		v.envs = append(v.envs, e)
	}
	v.spec = v.envs[0].Spec()
	if v.spec.ID == "" {
		v.spec.ID = cfg.ID
	}
	v.obsDim = v.spec.ObservationSpace.FlatDim()
	v.actDim = v.spec.ActionSpace.FlatDim()
	n := cfg.NumEnvs
	v.elapsed = make([]int, n)
	v.autoreset = make([]bool, n)
	v.wasReset = make([]bool, n)
	v.batch = Batch{
		Obs:        make([]float64, n*v.obsDim),
		Rewards:    make([]float64, n),
		Terminated: make([]bool, n),
		Truncated:  make([]bool, n),
	}
	if !cfg.NoInfos {
		v.batch.Infos = make([]Info, n)
	}
	v.scratch = make([]float64, v.obsDim)
	return v, nil
}

// errClosed: a call on a closed vector.
var errClosed = errors.New("vector is closed")

// wrapEnvErr adds the env and plugin names unless err already carries them.
func wrapEnvErr(id, plugin string, err error) error {
	var ee *EnvError
	if errors.As(err, &ee) {
		return err
	}
	return &EnvError{ID: id, Plugin: plugin, Err: err}
}

func (v *vector) Spec() Spec   { return v.spec }
func (v *vector) NumEnvs() int { return v.cfg.NumEnvs }

// parseResetMask reads options["reset_mask"]; nil means "all sub-envs".
func parseResetMask(options map[string]any, n int) ([]bool, error) {
	raw, ok := options[ResetMaskOption]
	if !ok {
		return nil, nil
	}
	var mask []bool
	switch m := raw.(type) {
	case []bool:
		mask = m
	case []any:
		mask = make([]bool, len(m))
		for i, x := range m {
			b, ok := x.(bool)
			if !ok {
				return nil, fmt.Errorf("reset option %s[%d] = %v: want a bool", ResetMaskOption, i, x)
			}
			mask[i] = b
		}
	default:
		return nil, fmt.Errorf("reset option %s: want a list of bools, got %T", ResetMaskOption, raw)
	}
	if len(mask) != n {
		return nil, fmt.Errorf("reset option %s has %d entries, want num_envs = %d", ResetMaskOption, len(mask), n)
	}
	return mask, nil
}

// subOptions drops the vector-level reset_mask before handing options to
// the sub-envs, which would reject an unknown key.
func subOptions(options map[string]any) map[string]any {
	if _, ok := options[ResetMaskOption]; !ok {
		return options
	}
	out := make(map[string]any, len(options)-1)
	for k, x := range options {
		if k != ResetMaskOption {
			out[k] = x
		}
	}
	return out
}

func (v *vector) Reset(ctx context.Context, seeds []int64, options map[string]any) (*Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if v.envs == nil {
		return nil, wrapEnvErr(v.spec.ID, "", errClosed)
	}
	n := len(v.envs)
	if seeds != nil && len(seeds) != n {
		return nil, wrapEnvErr(v.spec.ID, "", fmt.Errorf("reset: %d seeds for %d sub-envs (use SeedsFrom(seed, n) for Gymnasium's seed+i rule)", len(seeds), n))
	}
	mask, err := parseResetMask(options, n)
	if err != nil {
		return nil, wrapEnvErr(v.spec.ID, "", err)
	}
	opts := subOptions(options)
	for i, e := range v.envs {
		if mask != nil && !mask[i] {
			// Gymnasium keeps the last observation of unselected sub-envs and
			// reports no info for them.
			v.batch.Rewards[i], v.batch.Terminated[i], v.batch.Truncated[i] = 0, false, false
			if v.batch.Infos != nil {
				v.batch.Infos[i] = nil
			}
			continue
		}
		var seed *int64
		if seeds != nil {
			seed = &seeds[i]
		}
		info, err := e.Reset(seed, opts, v.obsOf(i))
		if err != nil {
			return nil, wrapEnvErr(v.spec.ID, "", fmt.Errorf("reset sub-env %d: %w", i, err))
		}
		v.elapsed[i] = 0
		v.autoreset[i] = false
		v.wasReset[i] = true
		v.batch.Rewards[i], v.batch.Terminated[i], v.batch.Truncated[i] = 0, false, false
		if v.batch.Infos != nil {
			v.batch.Infos[i] = normInfo(info)
		}
	}
	v.ready = true
	for _, r := range v.wasReset {
		v.ready = v.ready && r
	}
	return &v.batch, nil
}

// normInfo makes an empty info nil, so that "no info" looks the same on
// every path (the wire cannot tell an empty dict from none).
func normInfo(in Info) Info {
	if len(in) == 0 {
		return nil
	}
	return in
}

func (v *vector) obsOf(i int) []float64 { return v.batch.Obs[i*v.obsDim : (i+1)*v.obsDim] }

// checkAction rejects actions Gymnasium's spaces would not contain, where the
// check is cheap: integer spaces. Box actions go to the env, which clips.
func checkAction(s Space, a []float64) error {
	switch s.Kind {
	case KindDiscrete:
		x := a[0]
		if x != math.Trunc(x) || x < float64(s.Start) || x >= float64(s.Start+s.N) {
			return fmt.Errorf("%w: %v not in Discrete(%d, start=%d)", ErrBadAction, x, s.N, s.Start)
		}
	case KindMultiDiscrete:
		for j, x := range a {
			if x != math.Trunc(x) || x < 0 || x >= float64(s.Nvec[j]) {
				return fmt.Errorf("%w: element %d = %v not in [0, %d)", ErrBadAction, j, x, s.Nvec[j])
			}
		}
	case KindMultiBinary:
		for j, x := range a {
			if x != 0 && x != 1 {
				return fmt.Errorf("%w: element %d = %v not 0 or 1", ErrBadAction, j, x)
			}
		}
	}
	return nil
}

func (v *vector) Step(ctx context.Context, actions []float64) (*Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if v.envs == nil {
		return nil, wrapEnvErr(v.spec.ID, "", errClosed)
	}
	if !v.ready {
		return nil, wrapEnvErr(v.spec.ID, "", ErrResetNeeded)
	}
	n := len(v.envs)
	if len(actions) != n*v.actDim {
		return nil, wrapEnvErr(v.spec.ID, "", fmt.Errorf("%w: %d values for %d sub-envs × %d", ErrBadAction, len(actions), n, v.actDim))
	}
	for i, e := range v.envs {
		obs := v.obsOf(i)
		if v.mode == AutoresetNextStep && v.autoreset[i] {
			// The finished sub-env is reset instead of stepped; its action
			// is ignored (Gymnasium 1.x NEXT_STEP).
			info, err := e.Reset(nil, nil, obs)
			if err != nil {
				return nil, wrapEnvErr(v.spec.ID, "", fmt.Errorf("autoreset sub-env %d: %w", i, err))
			}
			v.elapsed[i] = 0
			v.autoreset[i] = false
			v.batch.Rewards[i], v.batch.Terminated[i], v.batch.Truncated[i] = 0, false, false
			if v.batch.Infos != nil {
				v.batch.Infos[i] = normInfo(info)
			}
			continue
		}
		a := actions[i*v.actDim : (i+1)*v.actDim]
		if err := checkAction(v.spec.ActionSpace, a); err != nil {
			return nil, wrapEnvErr(v.spec.ID, "", fmt.Errorf("sub-env %d: %w", i, err))
		}
		r, term, info, err := e.Step(a, obs)
		if err != nil {
			return nil, wrapEnvErr(v.spec.ID, "", fmt.Errorf("step sub-env %d: %w", i, err))
		}
		v.elapsed[i]++
		trunc := v.spec.MaxEpisodeSteps > 0 && v.elapsed[i] >= v.spec.MaxEpisodeSteps
		v.batch.Rewards[i], v.batch.Terminated[i], v.batch.Truncated[i] = r, term, trunc
		switch v.mode {
		case AutoresetNextStep:
			v.autoreset[i] = term || trunc
		case AutoresetSameStep:
			if term || trunc {
				copy(v.scratch, obs)
				resetInfo, err := e.Reset(nil, nil, obs)
				if err != nil {
					return nil, wrapEnvErr(v.spec.ID, "", fmt.Errorf("autoreset sub-env %d: %w", i, err))
				}
				v.elapsed[i] = 0
				if v.batch.Infos != nil {
					merged := make(Info, len(resetInfo)+2)
					for k, x := range resetInfo {
						merged[k] = x
					}
					merged[FinalObsKey] = append([]float64(nil), v.scratch...)
					if info == nil {
						info = Info{}
					}
					merged[FinalInfoKey] = info
					info = merged
				}
			}
		}
		if v.batch.Infos != nil {
			v.batch.Infos[i] = normInfo(info)
		}
	}
	return &v.batch, nil
}

func (v *vector) Render(ctx context.Context, i int, mode string) (Render, error) {
	if err := ctx.Err(); err != nil {
		return Render{}, err
	}
	if i < 0 || i >= len(v.envs) {
		return Render{}, wrapEnvErr(v.spec.ID, "", fmt.Errorf("render: sub-env %d out of range [0, %d)", i, len(v.envs)))
	}
	r, err := v.envs[i].Render(mode)
	if err != nil {
		return Render{}, wrapEnvErr(v.spec.ID, "", fmt.Errorf("render sub-env %d: %w", i, err))
	}
	return r, nil
}

func (v *vector) Close() error {
	var errs []error
	for _, e := range v.envs {
		if err := e.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	v.envs = nil
	return errors.Join(errs...)
}
