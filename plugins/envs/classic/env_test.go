package classic

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/nprand"
)

func TestSpecs(t *testing.T) {
	f32max := float64(math.MaxFloat32)
	theta2 := f32(2 * (12 * 2 * math.Pi / 360))
	cases := []struct {
		id       string
		obs, act envs.Space
		maxSteps int
		thr      *float64
	}{
		{"CartPole-v0", envs.Space{Kind: envs.KindBox, Low: []float64{-f32(4.8), -f32max, -theta2, -f32max}, High: []float64{f32(4.8), f32max, theta2, f32max}, Shape: []int{4}, Dtype: "float32"}, discreteSpace(2), 200, threshold(195)},
		{"CartPole-v1", envs.Space{Kind: envs.KindBox, Low: []float64{-f32(4.8), -f32max, -theta2, -f32max}, High: []float64{f32(4.8), f32max, theta2, f32max}, Shape: []int{4}, Dtype: "float32"}, discreteSpace(2), 500, threshold(475)},
		{"MountainCar-v0", box32([]float64{-1.2, -0.07}, []float64{0.6, 0.07}), discreteSpace(3), 200, threshold(-110)},
		{"MountainCarContinuous-v0", box32([]float64{-1.2, -0.07}, []float64{0.6, 0.07}), box32([]float64{-1}, []float64{1}), 999, threshold(90)},
		{"Pendulum-v1", box32([]float64{-1, -1, -8}, []float64{1, 1, 8}), box32([]float64{-2}, []float64{2}), 200, nil},
		{"Acrobot-v1", box32([]float64{-1, -1, -1, -1, -4 * math.Pi, -9 * math.Pi}, []float64{1, 1, 1, 1, 4 * math.Pi, 9 * math.Pi}), discreteSpace(3), 500, threshold(-100)},
		{"FrozenLake-v1", discreteSpace(16), discreteSpace(4), 100, threshold(0.70)},
		{"FrozenLake8x8-v1", discreteSpace(64), discreteSpace(4), 200, threshold(0.85)},
		{"CliffWalking-v1", discreteSpace(48), discreteSpace(4), 0, nil},
		{"CliffWalkingSlippery-v1", discreteSpace(48), discreteSpace(4), 0, nil},
		{"Taxi-v4", discreteSpace(500), discreteSpace(6), 200, threshold(8)},
		{"Blackjack-v1", envs.Space{Kind: envs.KindTuple, Spaces: []envs.Space{discreteSpace(32), discreteSpace(11), discreteSpace(2)}}, discreteSpace(2), 0, nil},
	}
	if len(cases) != len(Factories()) {
		t.Errorf("%d cases for %d factories", len(cases), len(Factories()))
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			s := mustMake(t, c.id, nil).Spec()
			if s.ID != c.id || s.Plugin != PluginName {
				t.Errorf("id %q plugin %q", s.ID, s.Plugin)
			}
			if !spaceEqual(s.ObservationSpace, c.obs) {
				t.Errorf("observation space %+v, want %+v", s.ObservationSpace, c.obs)
			}
			if !spaceEqual(s.ActionSpace, c.act) {
				t.Errorf("action space %+v, want %+v", s.ActionSpace, c.act)
			}
			if s.MaxEpisodeSteps != c.maxSteps {
				t.Errorf("MaxEpisodeSteps %d, want %d", s.MaxEpisodeSteps, c.maxSteps)
			}
			if (s.RewardThreshold == nil) != (c.thr == nil) || (c.thr != nil && *s.RewardThreshold != *c.thr) {
				t.Errorf("RewardThreshold %v, want %v", s.RewardThreshold, c.thr)
			}
		})
	}
	// The CartPole bounds are float32 values: 0.41887903 is 24° in float32.
	if theta2 != float64(float32(0.41887903)) {
		t.Errorf("2·θ_thr as float32 = %v", theta2)
	}
}

func spaceEqual(a, b envs.Space) bool {
	if a.Kind != b.Kind || a.N != b.N || a.Start != b.Start || a.Dtype != b.Dtype ||
		!slices.Equal(a.Shape, b.Shape) || !slices.Equal(a.Low, b.Low) || !slices.Equal(a.High, b.High) ||
		!slices.Equal(a.Nvec, b.Nvec) || len(a.Spaces) != len(b.Spaces) {
		return false
	}
	for i := range a.Spaces {
		if !spaceEqual(a.Spaces[i], b.Spaces[i]) {
			return false
		}
	}
	return true
}

// Every env: the same seed gives the same reset and the same trajectory
// under the same actions; a reset without a seed continues the stream.
func TestSeededResetReproducible(t *testing.T) {
	for id := range Factories() {
		t.Run(id, func(t *testing.T) {
			run := func() []float64 {
				e := mustMake(t, id, nil)
				spec := e.Spec()
				obs := make([]float64, spec.ObservationSpace.FlatDim())
				act := make([]float64, spec.ActionSpace.FlatDim())
				smp, err := NewSampler(spec.ActionSpace, 5)
				if err != nil {
					t.Fatal(err)
				}
				var trace []float64
				for ep := range 3 {
					var seed *int64
					if ep == 0 {
						seed = seedPtr(2024)
					}
					if _, err := e.Reset(seed, nil, obs); err != nil {
						t.Fatal(err)
					}
					trace = append(trace, obs...)
					for range 30 {
						if err := smp.Sample(act); err != nil {
							t.Fatal(err)
						}
						r, term, _, err := e.Step(act, obs)
						if err != nil {
							t.Fatal(err)
						}
						trace = append(trace, obs...)
						trace = append(trace, r)
						if term {
							break
						}
					}
				}
				return trace
			}
			a, b := run(), run()
			if !slices.Equal(a, b) {
				t.Errorf("two seeded runs differ")
			}
		})
	}
}

func TestDifferentSeedsDiffer(t *testing.T) {
	for _, id := range []string{"CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1", "Acrobot-v1", "Taxi-v4", "Blackjack-v1"} {
		seen := map[string]bool{}
		for s := range int64(8) {
			e := mustMake(t, id, nil)
			obs := make([]float64, e.Spec().ObservationSpace.FlatDim())
			if _, err := e.Reset(seedPtr(s), nil, obs); err != nil {
				t.Fatal(err)
			}
			seen[fmt.Sprint(obs)] = true
		}
		if len(seen) < 4 {
			t.Errorf("%s: 8 seeds gave only %d distinct resets", id, len(seen))
		}
	}
}

func TestErrors(t *testing.T) {
	if _, err := Make("CartPole-v9", nil); !errors.Is(err, envs.ErrUnknownEnv) {
		t.Errorf("unknown id: %v", err)
	}
	cases := []struct {
		id   string
		kw   envs.Kwargs
		name string
	}{
		{"CartPole-v1", envs.Kwargs{"gravity": 3.0}, "gravity"},
		{"FrozenLake-v1", envs.Kwargs{"is_slippery": "yes"}, "is_slippery"},
		{"FrozenLake-v1", envs.Kwargs{"map_name": "5x5"}, "map_name"},
		{"FrozenLake-v1", envs.Kwargs{"desc": []any{"SFF", "FH"}}, "desc"},
		{"FrozenLake-v1", envs.Kwargs{"desc": []any{"SFX"}}, "desc"},
		{"Pendulum-v1", envs.Kwargs{"g": "ten"}, "g"},
		{"Taxi-v4", envs.Kwargs{"rainy_probability": 1.5}, "rainy_probability"},
		{"Blackjack-v1", envs.Kwargs{"natural": 1.0}, "natural"},
		{"MountainCar-v0", envs.Kwargs{"render_mode": "human"}, "render_mode"},
		{"MountainCar-v0", envs.Kwargs{"render_mode": 1.0}, "render_mode"},
		{"MountainCarContinuous-v0", envs.Kwargs{"goal_velocity": "fast"}, "goal_velocity"},
		{"Blackjack-v1", envs.Kwargs{"render_mode": "ansi"}, "render_mode"},
		{"Acrobot-v1", envs.Kwargs{"book_or_nips": "book"}, "book_or_nips"},
	}
	for _, c := range cases {
		_, err := Make(c.id, c.kw)
		if !errors.Is(err, envs.ErrBadKwargs) || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s %v: err = %v, want ErrBadKwargs naming %q", c.id, c.kw, err, c.name)
		}
	}
	e := mustMake(t, "CartPole-v1", nil)
	obs := make([]float64, 4)
	if _, _, _, err := e.Step([]float64{1}, obs); !errors.Is(err, envs.ErrResetNeeded) {
		t.Errorf("step before reset: %v", err)
	}
	if _, err := e.Reset(seedPtr(-1), nil, obs); !errors.Is(err, nprand.ErrNegativeSeed) {
		t.Errorf("negative seed: %v", err)
	}
	for _, opts := range []map[string]any{
		{"low": 0.1, "high": -0.1},
		{"low": "0.1"},
		{"high": true},
	} {
		if _, err := e.Reset(nil, opts, obs); !errors.Is(err, ErrBadOption) {
			t.Errorf("reset options %v: err = %v, want ErrBadOption", opts, err)
		}
	}
	if _, err := mustMake(t, "MountainCar-v0", nil).Reset(nil, map[string]any{"low": -0.3, "high": -0.5}, make([]float64, 2)); !errors.Is(err, ErrBadOption) {
		t.Errorf("MountainCar low > high: err = %v, want ErrBadOption", err)
	}
	if _, err := e.Reset(seedPtr(1), nil, obs); err != nil {
		t.Fatal(err)
	}
	for _, a := range [][]float64{{2}, {0.5}, {-1}, {0, 1}, {}} {
		if _, _, _, err := e.Step(a, obs); !errors.Is(err, envs.ErrBadAction) {
			t.Errorf("action %v: err = %v, want ErrBadAction", a, err)
		}
	}
	p := mustMake(t, "Pendulum-v1", nil)
	if _, err := p.Reset(seedPtr(1), nil, make([]float64, 3)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := p.Step([]float64{math.NaN()}, make([]float64, 3)); !errors.Is(err, envs.ErrBadAction) {
		t.Errorf("NaN torque: %v", err)
	}
}
