package classic

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/nprand"
)

// Each kind draws exactly what Gymnasium's space.sample() draws from
// np_random(seed).
func TestSamplerStreams(t *testing.T) {
	t.Run("Discrete", func(t *testing.T) {
		s, _ := NewSampler(envs.Space{Kind: envs.KindDiscrete, N: 5, Start: -2}, 42)
		g := nprand.MustNPRandom(42)
		out := make([]float64, 1)
		for range 100 {
			s.Sample(out)
			if want := float64(-2 + g.Integers(0, 5)); out[0] != want {
				t.Fatalf("got %v, want %v", out[0], want)
			}
		}
	})
	t.Run("BoxMixed", func(t *testing.T) {
		inf := math.Inf(1)
		sp := envs.Space{Kind: envs.KindBox, Shape: []int{4}, Dtype: "float32",
			Low:  []float64{-1, -inf, 0, -inf},
			High: []float64{1, inf, inf, 3}}
		s, _ := NewSampler(sp, 7)
		g := nprand.MustNPRandom(7)
		out := make([]float64, 4)
		for range 50 {
			s.Sample(out)
			// Unbounded first, then bounded below, then above, then bounded.
			n := g.Normal(0, 1)
			lo := g.Exponential(1) + 0
			hi := -g.Exponential(1) + 3
			u := g.Uniform(-1, 1)
			want := []float64{f32(u), f32(n), f32(lo), f32(hi)}
			if !slices.Equal(out, want) {
				t.Fatalf("got %v, want %v", out, want)
			}
		}
	})
	t.Run("BoxInt", func(t *testing.T) {
		sp := envs.Space{Kind: envs.KindBox, Shape: []int{2}, Dtype: "int64", Low: []float64{0, -3}, High: []float64{2, 3}}
		s, _ := NewSampler(sp, 1)
		seen := map[float64]bool{}
		out := make([]float64, 2)
		for range 500 {
			s.Sample(out)
			if out[0] < 0 || out[0] > 2 || out[1] < -3 || out[1] > 3 || out[0] != math.Floor(out[0]) {
				t.Fatalf("sample %v", out)
			}
			seen[out[0]] = true
		}
		if len(seen) != 3 {
			t.Errorf("int Box values %v, want 0, 1, 2", seen)
		}
	})
	t.Run("MultiDiscrete", func(t *testing.T) {
		s, _ := NewSampler(envs.Space{Kind: envs.KindMultiDiscrete, Nvec: []int64{3, 7}}, 9)
		g := nprand.MustNPRandom(9)
		out := make([]float64, 2)
		s.Sample(out)
		if want := []float64{math.Trunc(g.Random() * 3), math.Trunc(g.Random() * 7)}; !slices.Equal(out, want) {
			t.Errorf("got %v, want %v", out, want)
		}
	})
	t.Run("Tuple", func(t *testing.T) {
		sp := envs.Space{Kind: envs.KindTuple, Spaces: []envs.Space{discreteSpace(32), discreteSpace(11)}}
		s, _ := NewSampler(sp, 3)
		// Tuple.seed(3): sub-seeds are integers(int32 max, size=2) from
		// np_random(3); each member samples from its own generator.
		g := nprand.MustNPRandom(3)
		g0 := nprand.MustNPRandom(g.Integers(0, math.MaxInt32))
		g1 := nprand.MustNPRandom(g.Integers(0, math.MaxInt32))
		out := make([]float64, 2)
		for range 20 {
			s.Sample(out)
			if want := []float64{float64(g0.Integers(0, 32)), float64(g1.Integers(0, 11))}; !slices.Equal(out, want) {
				t.Fatalf("got %v, want %v", out, want)
			}
		}
	})
	t.Run("MultiBinary", func(t *testing.T) {
		s, _ := NewSampler(envs.Space{Kind: envs.KindMultiBinary, N: 9}, 5)
		out := make([]float64, 9)
		ones := 0
		for range 1000 {
			s.Sample(out)
			for _, v := range out {
				if v != 0 && v != 1 {
					t.Fatalf("value %v", v)
				}
				ones += int(v)
			}
		}
		if math.Abs(float64(ones)/9000-0.5) > 0.03 {
			t.Errorf("ones fraction %v", float64(ones)/9000)
		}
	})
}

// Box(-high, high) of CartPole's observation space, seed 0, matches a
// plain uniform stream; unbounded normal samples match numpy's first
// standard normals for seed 42.
func TestSamplerKnownValues(t *testing.T) {
	s, _ := NewSampler(envs.Space{Kind: envs.KindBox, Shape: []int{2}, Dtype: "float64", Low: []float64{math.Inf(-1), math.Inf(-1)}, High: []float64{math.Inf(1), math.Inf(1)}}, 42)
	out := make([]float64, 2)
	s.Sample(out)
	if math.Abs(out[0]-0.30471708) > 1e-8 || math.Abs(out[1]-(-1.03998411)) > 1e-8 {
		t.Errorf("normal samples %v, want [0.30471708 -1.03998411]", out)
	}
}

func TestSamplerErrors(t *testing.T) {
	bad := []envs.Space{
		{Kind: envs.KindDiscrete, N: 0},
		{Kind: envs.KindBox, Shape: []int{2}, Low: []float64{0}, High: []float64{1}},
		{Kind: envs.KindBox, Shape: []int{1}, Low: []float64{2}, High: []float64{1}},
		{Kind: "Graph"},
	}
	for _, sp := range bad {
		if _, err := NewSampler(sp, 0); !errors.Is(err, ErrBadSpace) {
			t.Errorf("%+v: err = %v", sp, err)
		}
	}
	s, _ := NewSampler(discreteSpace(2), 0)
	if err := s.Sample(make([]float64, 2)); err == nil {
		t.Error("wrong output length accepted")
	}
}
