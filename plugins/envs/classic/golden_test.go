package classic

import (
	"math"
	"testing"

	"github.com/goray/goray/plugins/envs"
)

func mustMake(t *testing.T, id string, kw envs.Kwargs) envs.Env {
	t.Helper()
	e, err := Make(id, kw)
	if err != nil {
		t.Fatalf("Make(%s, %v): %v", id, kw, err)
	}
	return e
}

func seedPtr(s int64) *int64 { return &s }

// assertF32 checks observations against values numpy printed with its
// default precision of 8 fractional digits; each value must also be a
// float32 value.
func assertF32(t *testing.T, what string, got []float64, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i] != float64(float32(got[i])) {
			t.Errorf("%s[%d] = %v is not a float32 value", what, i, got[i])
		}
		// numpy prints the shortest unique float32 repr when it has at most
		// 8 fractional digits, else the value rounded to 8 digits.
		if float32(got[i]) != float32(want[i]) && math.Abs(got[i]-want[i]) > 0.5e-8*(1+1e-9) {
			t.Errorf("%s[%d] = %.10f, want %v (printed to 8 digits)", what, i, got[i], want[i])
		}
	}
}

// The docstring examples of Gymnasium 1.4 (reference §6), bit for bit.
func TestGoldenDocstringResets(t *testing.T) {
	cases := []struct {
		id      string
		kw      envs.Kwargs
		seed    int64
		options map[string]any
		want    []float64
	}{
		{"CartPole-v1", nil, 123, map[string]any{"low": -0.1, "high": 0.1}, []float64{0.03647037, -0.0892358, -0.05592803, -0.06312564}},
		{"MountainCar-v0", envs.Kwargs{"goal_velocity": 0.05}, 123, map[string]any{"low": -0.7, "high": 0.5}, []float64{0.11882224, 0}},
		{"MountainCarContinuous-v0", envs.Kwargs{"goal_velocity": 0.1}, 123, map[string]any{"low": -0.7, "high": -0.5}, []float64{-0.5635296, 0}},
		{"Acrobot-v1", nil, 123, map[string]any{"low": -0.2, "high": 0.2}, []float64{0.997341, 0.07287608, 0.9841162, -0.17752565, -0.11185605, -0.12625128}},
		{"Pendulum-v1", envs.Kwargs{"g": 9.81}, 123, map[string]any{"x_init": math.Pi / 2, "y_init": 0.5}, []float64{0.8403459, 0.54205054, -0.44617897}},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			e := mustMake(t, c.id, c.kw)
			obs := make([]float64, e.Spec().ObservationSpace.FlatDim())
			info, err := e.Reset(seedPtr(c.seed), c.options, obs)
			if err != nil {
				t.Fatal(err)
			}
			if len(info) != 0 {
				t.Errorf("info = %v, want {}", info)
			}
			assertF32(t, "obs", obs, c.want)
		})
	}
}

// make_vec("CartPole-v1", 3, "sync").reset(seed=42) seeds sub-env i with
// 42+i; then step([1, 0, 1]).
func TestGoldenCartPoleVector(t *testing.T) {
	wantReset := [][]float64{
		{0.0273956, -0.00611216, 0.03585979, 0.0197368},
		{0.01522993, -0.04562247, -0.04799704, 0.03392126},
		{-0.03774345, -0.02418869, -0.00942293, 0.0469184},
	}
	wantStep := [][]float64{
		{0.02727336, 0.18847767, 0.03625453, -0.26141977},
		{0.01431748, -0.24002443, -0.04731862, 0.3110827},
		{-0.03822722, 0.1710671, -0.00848456, -0.2487226},
	}
	actions := []float64{1, 0, 1}
	for i := range 3 {
		e := mustMake(t, "CartPole-v1", nil)
		obs := make([]float64, 4)
		if _, err := e.Reset(seedPtr(42+int64(i)), nil, obs); err != nil {
			t.Fatal(err)
		}
		assertF32(t, "reset", obs, wantReset[i])
		r, term, info, err := e.Step(actions[i:i+1], obs)
		if err != nil {
			t.Fatal(err)
		}
		if r != 1 || term || info != nil {
			t.Errorf("sub-env %d: reward %v terminated %v info %v, want 1 false nil", i, r, term, info)
		}
		assertF32(t, "step", obs, wantStep[i])
	}
}
