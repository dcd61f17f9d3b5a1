package main

import (
	"context"
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"github.com/goray/goray/plugins/envs"
)

// TestMain doubles as the plugin: a goray host that starts this test binary
// (as TestFromGo does) gets the GridWorld plugin, exactly as with the built
// binary.
func TestMain(m *testing.M) {
	if os.Getenv(envs.MagicCookieKey) != "" {
		main()
	}
	os.Exit(m.Run())
}

// shortestPath walks right along the top row, then down the last column.
func shortestPath(size int) []float64 {
	var acts []float64
	for i := 0; i < size-1; i++ {
		acts = append(acts, right)
	}
	for i := 0; i < size-1; i++ {
		acts = append(acts, down)
	}
	return acts
}

func playPath(t *testing.T, v envs.VectorEnv, acts []float64) (ret float64, terminated bool) {
	t.Helper()
	ctx := context.Background()
	if _, err := v.Reset(ctx, []int64{0}, nil); err != nil {
		t.Fatal(err)
	}
	for k, a := range acts {
		b, err := v.Step(ctx, []float64{a})
		if err != nil {
			t.Fatal(err)
		}
		ret += b.Rewards[0]
		if b.Terminated[0] && k != len(acts)-1 {
			t.Fatalf("terminated early at step %d", k+1)
		}
		terminated = b.Terminated[0]
	}
	return ret, terminated
}

func TestGridWorldInProcess(t *testing.T) {
	v, err := envs.NewVector(NewGridWorld, envs.VectorConfig{ID: "GridWorld-v0", NumEnvs: 1, Kwargs: envs.Kwargs{"size": int64(3)}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ret, term := playPath(t, v, shortestPath(3))
	if !term || math.Abs(ret-optimalReturn(3)) > 1e-12 {
		t.Fatalf("shortest path: return %v terminated %v, want %v true", ret, term, optimalReturn(3))
	}
	if v.Spec().MaxEpisodeSteps != 36 || v.Spec().ObservationSpace.N != 9 {
		t.Fatalf("spec = %+v", v.Spec())
	}
}

func TestGridWorldKwargs(t *testing.T) {
	for _, kw := range []envs.Kwargs{{"size": int64(1)}, {"slip": 1.5}, {"slip": "high"}, {"walls": true}} {
		if _, err := NewGridWorld(kw); !errors.Is(err, envs.ErrBadKwargs) {
			t.Errorf("NewGridWorld(%v) = %v, want ErrBadKwargs", kw, err)
		}
	}
}

func TestGridWorldSlipRate(t *testing.T) {
	const n, slip = 4000, 0.3
	e, err := NewGridWorld(envs.Kwargs{"size": int64(50), "slip": slip})
	if err != nil {
		t.Fatal(err)
	}
	seed := int64(11)
	obs := []float64{0}
	if _, err := e.Reset(&seed, nil, obs); err != nil {
		t.Fatal(err)
	}
	slipped := 0
	for i := 0; i < n; i++ {
		_, _, info, err := e.Step([]float64{float64(i % 4)}, obs)
		if err != nil {
			t.Fatal(err)
		}
		if info["slipped"] == true {
			slipped++
		}
	}
	// 4 standard deviations of a binomial proportion.
	bound := 4 * math.Sqrt(slip*(1-slip)/n)
	if got := float64(slipped) / n; math.Abs(got-slip) > bound {
		t.Fatalf("slip rate %.3f, want %.2f ± %.3f", got, slip, bound)
	}
}

// TestFromGo uses the env the way a Go program does: register the plugin
// binary, make a vector by ID (it runs in the plugin process) and step it.
func TestFromGo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := envs.NewRegistry(envs.RegistryConfig{Plugins: []string{exe}})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := reg.Spec(ctx, "GridWorld-v0")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Plugin != "gridworld-env.test" || spec.ActionSpace.String() != "Discrete(4)" {
		t.Fatalf("spec = %+v", spec)
	}
	v, err := reg.Make(ctx, envs.VectorConfig{ID: "GridWorld-v0", NumEnvs: 1, Kwargs: envs.Kwargs{"size": 4}}, envs.MakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, ok := v.(*envs.PluginVector); !ok {
		t.Fatalf("a third-party env ran as %T, want its plugin process", v)
	}
	ret, term := playPath(t, v, shortestPath(4))
	if !term || math.Abs(ret-optimalReturn(4)) > 1e-12 {
		t.Fatalf("through the plugin: return %v terminated %v, want %v true", ret, term, optimalReturn(4))
	}
	r, err := v.Render(ctx, 0, "ansi")
	if err != nil || r.Text != "....\n....\n....\n...A\n" {
		t.Fatalf("render = %q, %v", r.Text, err)
	}
}
