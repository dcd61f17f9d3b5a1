package classic

import (
	"testing"

	"github.com/goray/goray/plugins/envs"
)

func benchEnv(b *testing.B, id string, kw envs.Kwargs, actions []float64) {
	e, err := Make(id, kw)
	if err != nil {
		b.Fatal(err)
	}
	obs := make([]float64, e.Spec().ObservationSpace.FlatDim())
	seed := int64(0)
	if _, err := e.Reset(&seed, nil, obs); err != nil {
		b.Fatal(err)
	}
	act := make([]float64, 1)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		act[0] = actions[i%len(actions)]
		i++
		_, term, _, err := e.Step(act, obs)
		if err != nil {
			b.Fatal(err)
		}
		if term {
			e.Reset(nil, nil, obs)
		}
	}
}

func BenchmarkCartPoleStep(b *testing.B) {
	benchEnv(b, "CartPole-v1", nil, []float64{0, 1, 1, 0, 1, 0, 0, 1})
}

func BenchmarkFrozenLakeStep(b *testing.B) {
	benchEnv(b, "FrozenLake-v1", nil, []float64{0, 1, 2, 3, 2, 1})
}

func BenchmarkFrozenLake8x8Step(b *testing.B) {
	benchEnv(b, "FrozenLake8x8-v1", nil, []float64{1, 2, 2, 1})
}

func BenchmarkMountainCarStep(b *testing.B) {
	benchEnv(b, "MountainCar-v0", nil, []float64{0, 2, 2, 1})
}

func BenchmarkAcrobotStep(b *testing.B) {
	benchEnv(b, "Acrobot-v1", nil, []float64{0, 2, 1})
}

func BenchmarkPendulumStep(b *testing.B) {
	benchEnv(b, "Pendulum-v1", nil, []float64{-2, 1.5, 0.3})
}

func BenchmarkTaxiStep(b *testing.B) {
	benchEnv(b, "Taxi-v4", nil, []float64{0, 1, 2, 3, 4, 5})
}

// The CartPole step must not allocate (the in-process fast path relies on
// it).
func TestCartPoleStepAllocs(t *testing.T) {
	e, _ := Make("CartPole-v1", nil)
	obs, act := make([]float64, 4), []float64{1}
	seed := int64(0)
	e.Reset(&seed, nil, obs)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, term, _, _ := e.Step(act, obs); term {
			e.Reset(nil, nil, obs)
		}
	})
	if allocs != 0 {
		t.Errorf("CartPole step allocates %v times", allocs)
	}
	f, _ := Make("FrozenLake-v1", nil)
	fo := make([]float64, 1)
	f.Reset(&seed, nil, fo)
	f.Step(act, fo) // first step creates the reused info map
	allocs = testing.AllocsPerRun(1000, func() {
		if _, term, _, _ := f.Step(act, fo); term {
			f.Reset(nil, nil, fo)
		}
	})
	// Resets (a fresh info map) happen on some iterations; steps never
	// allocate.
	if allocs > 0.5 {
		t.Errorf("FrozenLake step allocates %v times per run", allocs)
	}
}
