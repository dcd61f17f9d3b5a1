package tune

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestBasicVariantGeneratorGridTimesSamples(t *testing.T) {
	space := map[string]any{
		"a":     GridSearch(1, 2, 3),
		"inner": map[string]any{"b": GridSearch("x", "y")},
		"lr":    Uniform(0, 1),
		"const": 7,
		"sum":   SampleFrom(func(_ *rand.Rand, p Params) any { return p.Int("a", 0) * 10 }),
	}
	g := NewBasicVariantGenerator()
	if err := g.Setup(SearchProperties{Space: space, NumSamples: 2, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	if g.NumTrials() != 12 {
		t.Fatalf("NumTrials = %d, want 3*2 grid points * 2 samples", g.NumTrials())
	}
	seen := map[string]int{}
	var all []Params
	for {
		p, err := g.Suggest("")
		if errors.Is(err, ErrSearchFinished) {
			break
		}
		all = append(all, p)
		seen[p.String("inner/b", "")+string(rune('0'+p.Int("a", 0)))]++
		if p.Int("sum", 0) != p.Int("a", 0)*10 {
			t.Errorf("sample_from saw a=%v, got sum=%v", p["a"], p["sum"])
		}
		if p.Int("const", 0) != 7 {
			t.Errorf("constant lost: %v", p)
		}
	}
	if len(all) != 12 || len(seen) != 6 {
		t.Fatalf("%d configs over %d grid points, want 12 over 6", len(all), len(seen))
	}
	for k, n := range seen {
		if n != 2 {
			t.Errorf("grid point %s appeared %d times, want NumSamples=2", k, n)
		}
	}
	if all[0].Float("lr", -1) == all[6].Float("lr", -1) {
		t.Error("random dimension not resampled across grid repetitions")
	}
	// Same seed, same configs.
	g2 := NewBasicVariantGenerator()
	g2.Setup(SearchProperties{Space: space, NumSamples: 2, Seed: 9})
	for i := range all {
		p, _ := g2.Suggest("")
		if !reflect.DeepEqual(p, all[i]) {
			t.Fatalf("config %d differs for the same seed: %v vs %v", i, p, all[i])
		}
	}
}

func TestDomainsSampleInRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		d    Domain
		ok   func(v any) bool
	}{
		{"uniform", Uniform(-1, 2), func(v any) bool { f := v.(float64); return f >= -1 && f < 2 }},
		{"quniform", QUniform(0, 10, 2.5), func(v any) bool { f := v.(float64); return math.Mod(f, 2.5) == 0 && f >= 0 && f <= 10 }},
		{"loguniform", LogUniform(1e-4, 1e-1), func(v any) bool { f := v.(float64); return f >= 1e-4 && f <= 1e-1 }},
		{"randint excl", RandInt(3, 5), func(v any) bool { i := v.(int); return i == 3 || i == 4 }},
		{"randn", RandN(5, 0.001), func(v any) bool { return math.Abs(v.(float64)-5) < 0.01 }},
		{"choice", Choice("a", "b"), func(v any) bool { return v == "a" || v == "b" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i := 0; i < 500; i++ {
				if v := c.d.Sample(rng, nil); !c.ok(v) {
					t.Fatalf("%s sampled %v", c.d, v)
				}
			}
		})
	}
	// Log-uniform spreads over decades: about a third of samples per decade.
	n := 0
	for i := 0; i < 3000; i++ {
		if LogUniform(1e-4, 1e-1).Sample(rng, nil).(float64) < 1e-3 {
			n++
		}
	}
	if n < 800 || n > 1200 {
		t.Errorf("loguniform: %d/3000 in the first decade, want ~1000", n)
	}
}

func TestConcurrencyLimiter(t *testing.T) {
	c := NewConcurrencyLimiter(NewRandomSearch(), 2)
	if err := c.Setup(SearchProperties{Space: map[string]any{"x": Uniform(0, 1)}, NumSamples: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Suggest("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Suggest("b"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Suggest("c"); !errors.Is(err, ErrSearchBusy) {
		t.Fatalf("third suggestion: %v, want ErrSearchBusy", err)
	}
	c.OnTrialComplete("a", nil, false)
	if _, err := c.Suggest("c"); err != nil {
		t.Fatal(err)
	}
	c.OnTrialComplete("b", nil, false)
	if _, err := c.Suggest("d"); !errors.Is(err, ErrSearchFinished) {
		t.Fatalf("after NumSamples: %v, want ErrSearchFinished", err)
	}
	if err := NewConcurrencyLimiter(NewRandomSearch(), 0).Setup(SearchProperties{}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("max 0: %v", err)
	}
}

// branin-like target: f(x, y) = (x-1)^2 + (y-2)^2 on [-5,5]^2; the optimum
// region is f < 0.25 (a disc of radius 0.5, 0.8% of the square).
func optFunc(ctx context.Context, p Params, s Session) error {
	x, y := p.Float("x", 0), p.Float("y", 0)
	return s.Report(ctx, Metrics{"f": (x-1)*(x-1) + (y-2)*(y-2)}, nil)
}

// hitStopper ends the experiment at the first trial inside the region.
type hitStopper struct{ hit bool }

func (h *hitStopper) StopTrial(_ string, r Result) bool {
	if f, _ := r.Float("f"); f < 0.25 {
		h.hit = true
	}
	return false
}
func (h *hitStopper) StopAll() bool { return h.hit }

func evalsToHit(t *testing.T, s Searcher, seed uint64, budget int) int {
	t.Helper()
	stop := &hitStopper{}
	tuner, err := NewTuner(TrainFunc(optFunc), map[string]any{"x": Uniform(-5, 5), "y": Uniform(-5, 5)},
		Config{NumSamples: budget, Metric: "f", Mode: "min", SearchAlg: s, Seed: seed, MaxConcurrentTrials: 1},
		RunConfig{Name: "opt", StoragePath: t.TempDir(), Stop: stop, NoPlot: true})
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !stop.hit {
		return budget + 1
	}
	return grid.Len()
}

func TestTPEBeatsRandomSearch(t *testing.T) {
	seeds, budget := 6, 150
	if testing.Short() {
		seeds = 3
	}
	var tpe, rnd float64
	for s := 0; s < seeds; s++ {
		tpe += float64(evalsToHit(t, NewTPESearch(), uint64(s), budget))
		rnd += float64(evalsToHit(t, NewRandomSearch(), uint64(s), budget))
	}
	tpe /= float64(seeds)
	rnd /= float64(seeds)
	t.Logf("mean evaluations to reach the optimum region: TPE %.1f, random %.1f (budget %d, %d seeds)", tpe, rnd, budget, seeds)
	if tpe >= rnd {
		t.Errorf("TPE needed %.1f evaluations on average, random search %.1f; want fewer", tpe, rnd)
	}
}

func TestGridOrderFirstKeyFastest(t *testing.T) {
	g := NewBasicVariantGenerator()
	g.Setup(SearchProperties{Space: map[string]any{"a": GridSearch(1, 2), "b": GridSearch("x", "y")}, NumSamples: 1})
	var got []string
	for {
		p, err := g.Suggest("")
		if err != nil {
			break
		}
		got = append(got, fmt.Sprint(p["a"], p["b"]))
	}
	if want := []string{"1x", "2x", "1y", "2y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestSpaceFromMap(t *testing.T) {
	in := map[string]any{
		"lr":     map[string]any{"loguniform": []any{1e-4, 1e-1}},
		"h":      map[string]any{"grid_search": []any{[]any{int64(32)}, []any{int64(64), int64(64)}}},
		"opt":    map[string]any{"choice": []any{"adam", "sgd"}},
		"n":      map[string]any{"randint": []any{int64(1), int64(5)}},
		"nested": map[string]any{"q": map[string]any{"quniform": []any{0.0, 1.0, 0.25}}, "c": int64(3)},
		"list":   []any{int64(1), int64(2)},
	}
	sp, err := SpaceFromMap(in)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := sp["lr"].(Float); !ok || !d.Log || d.Lo != 1e-4 {
		t.Errorf("lr = %#v", sp["lr"])
	}
	if g, ok := sp["h"].(Grid); !ok || !reflect.DeepEqual(g.Values, []any{[]int{32}, []int{64, 64}}) {
		t.Errorf("h = %#v", sp["h"])
	}
	if _, ok := sp["opt"].(Categorical); !ok {
		t.Errorf("opt = %#v", sp["opt"])
	}
	if d, ok := sp["n"].(Int); !ok || d.Hi != 5 {
		t.Errorf("n = %#v", sp["n"])
	}
	if d, ok := sp["nested"].(map[string]any)["q"].(Float); !ok || d.Q != 0.25 {
		t.Errorf("nested.q = %#v", sp["nested"])
	}
	if !reflect.DeepEqual(sp["list"], []int{1, 2}) {
		t.Errorf("list = %#v", sp["list"])
	}
	for _, c := range []struct {
		in  map[string]any
		key string
	}{
		{map[string]any{"x": map[string]any{"uniform": []any{1.0}}}, "x.uniform"},
		{map[string]any{"x": map[string]any{"uniform": []any{2.0, 1.0}}}, "x.uniform"},
		{map[string]any{"a": map[string]any{"x": map[string]any{"grid_search": []any{}}}}, "a.x.grid_search"},
		{map[string]any{"x": map[string]any{"choice": []any{1}, "other": 2}}, "x.choice"},
	} {
		_, err := SpaceFromMap(c.in)
		var se *SpaceError
		if !errors.As(err, &se) || se.Key != c.key || !errors.Is(err, ErrBadSpace) {
			t.Errorf("%v: err %v, want a SpaceError for %s wrapping ErrBadSpace", c.in, err, c.key)
		}
	}
}
