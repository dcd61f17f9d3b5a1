package envs_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/internal/testenv"
)

func TestSeedsFrom(t *testing.T) {
	if got, want := envs.SeedsFrom(42, 3), []int64{42, 43, 44}; !slices.Equal(got, want) {
		t.Fatalf("SeedsFrom(42, 3) = %v, want %v", got, want)
	}
	if got := envs.SeedsFrom(7, 0); len(got) != 0 {
		t.Fatalf("SeedsFrom(7, 0) = %v, want empty", got)
	}
}

// vectorCase is one step of a scripted vector run: the actions sent and the
// flags, rewards and counts expected back.
type vectorStep struct {
	actions    []float64
	counts     []float64 // obs[0] of each sub-env
	rewards    []float64
	terminated []bool
	truncated  []bool
}

// counterVector makes a 2-env Counter vector; in all cases below sub-env
// 0 and 1 run in lockstep so the script reads as one episode.
func counterVector(t *testing.T, mode envs.AutoresetMode, horizon, limit int, noInfos bool) envs.VectorEnv {
	t.Helper()
	v, err := envs.NewVector(testenv.NewCounter, envs.VectorConfig{ID: "Counter-v0", NumEnvs: 2, Mode: mode, NoInfos: noInfos,
		Kwargs: envs.Kwargs{"horizon": int64(horizon), "limit": int64(limit)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func runScript(t *testing.T, v envs.VectorEnv, script []vectorStep) []*envs.Batch {
	t.Helper()
	ctx := context.Background()
	if _, err := v.Reset(ctx, envs.SeedsFrom(1, v.NumEnvs()), nil); err != nil {
		t.Fatal(err)
	}
	var out []*envs.Batch
	for k, s := range script {
		b, err := v.Step(ctx, s.actions)
		if err != nil {
			t.Fatalf("step %d: %v", k+1, err)
		}
		counts := []float64{b.Obs[0], b.Obs[3]}
		if !slices.Equal(counts, s.counts) || !slices.Equal(b.Rewards, s.rewards) ||
			!slices.Equal(b.Terminated, s.terminated) || !slices.Equal(b.Truncated, s.truncated) {
			t.Fatalf("step %d: counts %v rewards %v term %v trunc %v; want %v %v %v %v", k+1,
				counts, b.Rewards, b.Terminated, b.Truncated, s.counts, s.rewards, s.terminated, s.truncated)
		}
		cp := *b
		cp.Obs = slices.Clone(b.Obs)
		cp.Infos = slices.Clone(b.Infos)
		out = append(out, &cp)
	}
	return out
}

var ff, tt = []bool{false, false}, []bool{true, true}

func TestVectorNextStep(t *testing.T) {
	// horizon 5, limit 3: the TimeLimit truncates at step 3; step 4 resets
	// both sub-envs, ignoring their actions.
	v := counterVector(t, "", 5, 3, false)
	bs := runScript(t, v, []vectorStep{
		{[]float64{1, 2}, []float64{1, 1}, []float64{1, 2}, ff, ff},
		{[]float64{1, 2}, []float64{2, 2}, []float64{1, 2}, ff, ff},
		{[]float64{2, 1}, []float64{3, 3}, []float64{2, 1}, ff, tt},
		{[]float64{2, 2}, []float64{0, 0}, []float64{0, 0}, ff, ff},
		{[]float64{0, 1}, []float64{1, 1}, []float64{0, 1}, ff, ff},
	})
	if got := bs[3].Infos[0]["count"]; got != int64(0) {
		t.Fatalf("autoreset step info = %v, want the reset info {count: 0}", bs[3].Infos[0])
	}
}

func TestVectorTerminatedAndTruncatedTogether(t *testing.T) {
	v := counterVector(t, envs.AutoresetNextStep, 3, 3, true)
	runScript(t, v, []vectorStep{
		{[]float64{1, 1}, []float64{1, 1}, []float64{1, 1}, ff, ff},
		{[]float64{1, 1}, []float64{2, 2}, []float64{1, 1}, ff, ff},
		{[]float64{1, 1}, []float64{3, 3}, []float64{1, 1}, tt, tt},
		{[]float64{1, 1}, []float64{0, 0}, []float64{0, 0}, ff, ff},
	})
}

func TestVectorSameStep(t *testing.T) {
	v := counterVector(t, envs.AutoresetSameStep, 5, 3, false)
	bs := runScript(t, v, []vectorStep{
		{[]float64{1, 2}, []float64{1, 1}, []float64{1, 2}, ff, ff},
		{[]float64{1, 2}, []float64{2, 2}, []float64{1, 2}, ff, ff},
		// The episode ends and the reset happens in the same step: the
		// observation is the reset one, reward and flags are the last step's.
		{[]float64{2, 1}, []float64{0, 0}, []float64{2, 1}, ff, tt},
		{[]float64{0, 0}, []float64{1, 1}, []float64{0, 0}, ff, ff},
	})
	info := bs[2].Infos[1]
	fo, ok := info[envs.FinalObsKey].([]float64)
	if !ok || len(fo) != 3 || fo[0] != 3 || fo[1] != 1 {
		t.Fatalf("final_obs = %#v, want [3 1 draw]", info[envs.FinalObsKey])
	}
	fi, ok := info[envs.FinalInfoKey].(envs.Info)
	if !ok || fi["count"] != int64(3) {
		t.Fatalf("final_info = %#v, want {count: 3}", info[envs.FinalInfoKey])
	}
	if info["count"] != int64(0) {
		t.Fatalf("info = %v: want the reset info merged in", info)
	}
}

func TestVectorDisabled(t *testing.T) {
	v := counterVector(t, envs.AutoresetDisabled, 5, 3, true)
	runScript(t, v, []vectorStep{
		{[]float64{1, 1}, []float64{1, 1}, []float64{1, 1}, ff, ff},
		{[]float64{1, 1}, []float64{2, 2}, []float64{1, 1}, ff, ff},
		{[]float64{1, 1}, []float64{3, 3}, []float64{1, 1}, ff, tt},
		// No autoreset: the caller did not reset, so the sub-envs go on and
		// the TimeLimit keeps reporting truncation.
		{[]float64{1, 1}, []float64{4, 4}, []float64{1, 1}, ff, tt},
	})
	// reset_mask resets only sub-env 1.
	b, err := v.Reset(context.Background(), nil, map[string]any{envs.ResetMaskOption: []any{false, true}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Obs[0] != 4 || b.Obs[3] != 0 {
		t.Fatalf("after masked reset counts = %v, %v; want 4 (kept), 0 (reset)", b.Obs[0], b.Obs[3])
	}
	b, err = v.Step(context.Background(), []float64{0, 0})
	if err != nil {
		t.Fatal(err)
	}
	// Sub-env 0 reaches its horizon (5) while still past the limit; sub-env
	// 1 starts a fresh episode.
	if !slices.Equal(b.Terminated, []bool{true, false}) || !slices.Equal(b.Truncated, []bool{true, false}) {
		t.Fatalf("after masked reset: term %v trunc %v", b.Terminated, b.Truncated)
	}
}

func TestVectorErrors(t *testing.T) {
	ctx := context.Background()
	v := counterVector(t, "", 5, 3, true)
	_, err := v.Step(ctx, []float64{0, 0})
	var ee *envs.EnvError
	if !errors.Is(err, envs.ErrResetNeeded) || !errors.As(err, &ee) || ee.ID != "Counter-v0" {
		t.Fatalf("step before reset: %v, want ErrResetNeeded in an EnvError naming Counter-v0", err)
	}
	if _, err := v.Reset(ctx, []int64{1}, nil); err == nil {
		t.Fatal("reset with 1 seed for 2 sub-envs: no error")
	}
	if _, err := v.Reset(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]float64{{0}, {0, 3}, {0, 0.5}, {-1, 0}} {
		if _, err := v.Step(ctx, bad); !errors.Is(err, envs.ErrBadAction) {
			t.Errorf("Step(%v) = %v, want ErrBadAction", bad, err)
		}
	}
	if _, err := envs.NewVector(testenv.NewCounter, envs.VectorConfig{ID: "Counter-v0", NumEnvs: 1, Kwargs: envs.Kwargs{"bogus": 1}}); !errors.Is(err, envs.ErrBadKwargs) {
		t.Errorf("bad kwargs: %v, want ErrBadKwargs", err)
	}
	if _, err := envs.NewVector(testenv.NewCounter, envs.VectorConfig{ID: "Counter-v0", NumEnvs: 0}); err == nil {
		t.Error("num_envs 0: no error")
	}
	if _, err := envs.NewVector(testenv.NewCounter, envs.VectorConfig{ID: "Counter-v0", NumEnvs: 1, Mode: "LATER"}); err == nil {
		t.Error("bad autoreset mode: no error")
	}
	r, err := v.Render(ctx, 1, "ansi")
	if err != nil || r.Text == "" {
		t.Fatalf("render: %q, %v", r.Text, err)
	}
	if _, err := v.Render(ctx, 2, "ansi"); err == nil {
		t.Fatal("render out of range: no error")
	}
	v.Close()
	if _, err := v.Step(ctx, []float64{0, 0}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("step after close = %v, want a closed-vector error", err)
	}
}

func TestVectorSeedsReproducible(t *testing.T) {
	ctx := context.Background()
	obs := func(seeds []int64) []float64 {
		v, err := envs.NewVector(testenv.NewPole, envs.VectorConfig{ID: "Pole-v0", NumEnvs: 3})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		b, err := v.Reset(ctx, seeds, nil)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(b.Obs)
	}
	a, b := obs(envs.SeedsFrom(42, 3)), obs(envs.SeedsFrom(42, 3))
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seeds, different observations: %v vs %v", a, b)
	}
	if c := obs(envs.SeedsFrom(43, 3)); !slices.Equal(a[4:], c[:8]) || slices.Equal(a, c) {
		// seed+i: sub-env 1 of seed 42 is sub-env 0 of seed 43.
		t.Fatalf("seed+i rule broken: %v vs %v", a, c)
	}
}

func TestVectorStepZeroAllocs(t *testing.T) {
	ctx := context.Background()
	v, err := envs.NewVector(testenv.NewPole, envs.VectorConfig{ID: "Pole-v0", NumEnvs: 16, NoInfos: true})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Reset(ctx, envs.SeedsFrom(0, 16), nil); err != nil {
		t.Fatal(err)
	}
	actions := make([]float64, 16)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := v.Step(ctx, actions); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Step allocates %.1f times per call with NoInfos, want 0", allocs)
	}
}

func TestSpaceString(t *testing.T) {
	inf := math.Inf(1)
	cases := []struct {
		s    envs.Space
		want string
	}{
		{envs.Space{Kind: envs.KindDiscrete, N: 4}, "Discrete(4)"},
		{envs.Space{Kind: envs.KindDiscrete, N: 3, Start: -1}, "Discrete(3, start=-1)"},
		{envs.Space{Kind: envs.KindBox, Low: []float64{-2}, High: []float64{2}, Shape: []int{1}, Dtype: "float32"}, "Box(-2.0, 2.0, (1,), float32)"},
		{envs.Space{Kind: envs.KindBox, Low: []float64{-4.8, -inf}, High: []float64{float64(float32(0.41887903)), inf}, Shape: []int{2}, Dtype: "float32"},
			"Box([-4.8 -inf], [0.41887903 inf], (2,), float32)"},
		{envs.Space{Kind: envs.KindMultiDiscrete, Nvec: []int64{2, 3}}, "MultiDiscrete([2 3])"},
		{envs.Space{Kind: envs.KindTuple, Spaces: []envs.Space{{Kind: envs.KindDiscrete, N: 32}, {Kind: envs.KindDiscrete, N: 2}}}, "Tuple(Discrete(32), Discrete(2))"},
		{envs.Space{Kind: envs.KindDict, Keys: []string{"a"}, Spaces: []envs.Space{{Kind: envs.KindMultiBinary, N: 3}}}, "Dict('a': MultiBinary(3))"},
	}
	for _, c := range cases {
		if got := c.s.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}
