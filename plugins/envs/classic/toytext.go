package classic

import (
	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/nprand"
)

// toyText is the core every toy-text env shares, as Gymnasium's
// DiscreteEnv did: a current state drawn from an initial distribution,
// the last action for rendering, and the info map reused across steps.
type toyText struct {
	seeder
	initCDF    []float64
	s          int
	lastAction int // -1: none since the last reset
	hasState   bool
	info       envs.Info
}

// reset draws the start state with one categorical_sample draw and writes
// it to obs.
func (t *toyText) reset(id string, seed *int64, obs []float64) error {
	if err := checkObs(id, obs, 1); err != nil {
		return err
	}
	if err := t.reseed(id, seed); err != nil {
		return err
	}
	t.s = t.rng.CategoricalSample(t.initCDF)
	t.lastAction = -1
	t.hasState = true
	obs[0] = float64(t.s)
	return nil
}

// stepAction validates a step's arguments, in Gymnasium's order (the
// action first, then the state): an action in [0, n), a reset state and a
// one-element obs.
func (t *toyText) stepAction(id string, action, obs []float64, n int) (int, error) {
	a, err := discreteAction(id, action, n)
	if err != nil {
		return 0, err
	}
	if !t.hasState {
		return 0, envs.ErrResetNeeded
	}
	if err := checkObs(id, obs, 1); err != nil {
		return 0, err
	}
	return a, nil
}

// transition is one entry of a toy-text env's P[s][a] list:
// (probability, next state, reward, terminated).
type transition struct {
	prob   float64
	next   int
	reward float64
	done   bool
	// probAny is prob boxed once, so that putting it in the info map does
	// not allocate on every step.
	probAny any
}

// outcomes is P[s][a] with its running sums precomputed for
// categorical_sample.
type outcomes struct {
	ts     []transition
	cumsum []float64
}

func newOutcomes(ts []transition) outcomes {
	cs := make([]float64, len(ts))
	var s float64
	for i, t := range ts {
		s += t.prob
		cs[i] = s
		ts[i].probAny = t.prob
	}
	return outcomes{ts: ts, cumsum: cs}
}

// sample is Gymnasium's categorical_sample over the outcome probabilities:
// exactly one random() draw, even for a single outcome.
func (o *outcomes) sample(rng *nprand.Generator) transition {
	return o.ts[rng.CategoricalSample(o.cumsum)]
}

// initialDistribution returns the cumulative sums of a distribution that
// is uniform over the states flagged in mask, computed as numpy computes
// initial_state_distrib / sum followed by cumsum.
func initialDistribution(weights []float64) []float64 {
	var total float64
	for _, w := range weights {
		total += w
	}
	cs := make([]float64, len(weights))
	var s float64
	for i, w := range weights {
		s += w / total
		cs[i] = s
	}
	return cs
}

// stepInfo is the {"prob": p} info every toy-text step returns. One map
// per env is reused across steps so the hot path does not allocate; the
// caller must copy it if it keeps it past the next Step.
func stepInfo(info *envs.Info, t *transition) envs.Info {
	if *info == nil {
		*info = envs.Info{}
	}
	(*info)["prob"] = t.probAny
	return *info
}

// gridMDP is a toy-text env whose dynamics are a table of outcomes per
// state and action (FrozenLake, CliffWalking), as Gymnasium's P dict is:
// their Spec, Reset and Step are the same code over different tables.
type gridMDP struct {
	spec envs.Spec
	toyText
	p [][4]outcomes
}

// Spec implements envs.Env.
func (e *gridMDP) Spec() envs.Spec { return e.spec }

// Reset puts the agent on the start state with one categorical_sample
// draw, as Gymnasium does.
func (e *gridMDP) Reset(seed *int64, _ map[string]any, obs []float64) (envs.Info, error) {
	if err := e.reset(e.spec.ID, seed, obs); err != nil {
		return nil, err
	}
	return envs.Info{"prob": 1.0}, nil
}

// Step draws one outcome of P[s][a]. The returned Info map is reused by
// the next Step.
func (e *gridMDP) Step(action []float64, obs []float64) (float64, bool, envs.Info, error) {
	a, err := e.stepAction(e.spec.ID, action, obs, 4)
	if err != nil {
		return 0, false, nil, err
	}
	t := e.p[e.s][a].sample(e.rng)
	e.s = t.next
	e.lastAction = a
	obs[0] = float64(t.next)
	return t.reward, t.done, stepInfo(&e.info, &t), nil
}
