package tune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Params is one trial's resolved configuration: the param space with every
// domain replaced by a concrete value. Nested maps stay nested.
type Params map[string]any

// Domain is a search-space leaf that is sampled per trial. Constants (any
// non-Domain value) are copied into every trial unchanged.
type Domain interface {
	// Sample draws one value; spec is the partially resolved config (for
	// SampleFrom) and may be nil for independent domains.
	Sample(rng *rand.Rand, spec Params) any
	// String describes the domain, e.g. "uniform(0.1, 1)".
	String() string
}

// Grid is a grid_search dimension: every value is tried (cartesian product
// with the other grids).
type Grid struct{ Values []any }

// GridSearch makes a grid dimension over values.
func GridSearch(values ...any) Grid { return Grid{Values: values} }

// Sample picks a random grid value; only searchers that do not expand grids
// (random, TPE) call it.
func (g Grid) Sample(rng *rand.Rand, _ Params) any { return g.Values[rng.IntN(len(g.Values))] }

// String implements Domain.
func (g Grid) String() string { return fmt.Sprintf("grid_search(%v)", g.Values) }

// Categorical is choice([...]): one of the values, uniformly.
type Categorical struct{ Values []any }

// Choice samples uniformly among values.
func Choice(values ...any) Categorical { return Categorical{Values: values} }

// Sample implements Domain.
func (c Categorical) Sample(rng *rand.Rand, _ Params) any { return c.Values[rng.IntN(len(c.Values))] }

// String implements Domain.
func (c Categorical) String() string { return fmt.Sprintf("choice(%v)", c.Values) }

// Float is a continuous domain: uniform or log-uniform over [Lo, Hi), optionally
// quantized to multiples of Q.
type Float struct {
	Lo, Hi float64
	Log    bool
	Q      float64
}

// Uniform samples a float uniformly in [lo, hi).
func Uniform(lo, hi float64) Float { return Float{Lo: lo, Hi: hi} }

// QUniform samples uniformly and rounds to a multiple of q (Ray's quniform).
func QUniform(lo, hi, q float64) Float { return Float{Lo: lo, Hi: hi, Q: q} }

// LogUniform samples uniformly in log space; lo must be > 0.
func LogUniform(lo, hi float64) Float { return Float{Lo: lo, Hi: hi, Log: true} }

// Sample implements Domain.
func (f Float) Sample(rng *rand.Rand, _ Params) any {
	var v float64
	if f.Log {
		v = math.Exp(math.Log(f.Lo) + rng.Float64()*(math.Log(f.Hi)-math.Log(f.Lo)))
	} else {
		v = f.Lo + rng.Float64()*(f.Hi-f.Lo)
	}
	return f.quantize(v)
}

func (f Float) quantize(v float64) float64 {
	if f.Q > 0 {
		v = math.Round(v/f.Q) * f.Q
	}
	return v
}

// String implements Domain.
func (f Float) String() string {
	switch {
	case f.Log:
		return fmt.Sprintf("loguniform(%g, %g)", f.Lo, f.Hi)
	case f.Q > 0:
		return fmt.Sprintf("quniform(%g, %g, %g)", f.Lo, f.Hi, f.Q)
	}
	return fmt.Sprintf("uniform(%g, %g)", f.Lo, f.Hi)
}

// Int is randint(lo, hi): an int in [lo, hi), upper bound exclusive as in Ray.
type Int struct{ Lo, Hi int }

// RandInt samples an int uniformly in [lo, hi).
func RandInt(lo, hi int) Int { return Int{Lo: lo, Hi: hi} }

// Sample implements Domain.
func (d Int) Sample(rng *rand.Rand, _ Params) any { return d.Lo + rng.IntN(d.Hi-d.Lo) }

// String implements Domain.
func (d Int) String() string { return fmt.Sprintf("randint(%d, %d)", d.Lo, d.Hi) }

// Normal is randn(mean, sd).
type Normal struct{ Mean, SD float64 }

// RandN samples from a normal distribution.
func RandN(mean, sd float64) Normal { return Normal{Mean: mean, SD: sd} }

// Sample implements Domain.
func (n Normal) Sample(rng *rand.Rand, _ Params) any { return n.Mean + n.SD*rng.NormFloat64() }

// String implements Domain.
func (n Normal) String() string { return fmt.Sprintf("randn(%g, %g)", n.Mean, n.SD) }

// Func is sample_from: a value computed from the rest of the trial's config,
// which is fully resolved (all other domains sampled) when Fn runs.
type Func struct {
	Fn func(rng *rand.Rand, spec Params) any
}

// SampleFrom derives a value from the other sampled values.
func SampleFrom(fn func(rng *rand.Rand, spec Params) any) Func { return Func{Fn: fn} }

// Sample implements Domain.
func (f Func) Sample(rng *rand.Rand, spec Params) any { return f.Fn(rng, spec) }

// String implements Domain.
func (f Func) String() string { return "sample_from(<func>)" }

// Validate reports a malformed space (empty grids, lo >= hi, ...) with the
// path of the bad entry.
func ValidateSpace(space map[string]any) error {
	var err error
	walkSpace(space, nil, func(path []string, v any) {
		if err != nil {
			return
		}
		name := strings.Join(path, "/")
		switch d := v.(type) {
		case Grid:
			if len(d.Values) == 0 {
				err = fmt.Errorf("%w: %s: empty grid_search", ErrBadSpace, name)
			}
		case Categorical:
			if len(d.Values) == 0 {
				err = fmt.Errorf("%w: %s: empty choice", ErrBadSpace, name)
			}
		case Float:
			if !(d.Lo < d.Hi) || (d.Log && d.Lo <= 0) || d.Q < 0 {
				err = fmt.Errorf("%w: %s: bad bounds in %s", ErrBadSpace, name, d)
			}
		case Int:
			if d.Lo >= d.Hi {
				err = fmt.Errorf("%w: %s: bad bounds in %s", ErrBadSpace, name, d)
			}
		case Normal:
			if d.SD < 0 {
				err = fmt.Errorf("%w: %s: negative sd", ErrBadSpace, name)
			}
		case Func:
			if d.Fn == nil {
				err = fmt.Errorf("%w: %s: nil sample_from", ErrBadSpace, name)
			}
		}
	})
	return err
}

// walkSpace visits every leaf of a nested space in sorted key order so that
// sampling order (and therefore results for a seed) never depends on map
// iteration.
func walkSpace(space map[string]any, prefix []string, fn func(path []string, v any)) {
	keys := make([]string, 0, len(space))
	for k := range space {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := append(append([]string(nil), prefix...), k)
		switch v := space[k].(type) {
		case map[string]any:
			walkSpace(v, p, fn)
		case Params:
			walkSpace(v, p, fn)
		default:
			fn(p, v)
		}
	}
}

// leaf is one addressable entry of a space.
type leaf struct {
	path []string
	val  any
}

func leaves(space map[string]any) []leaf {
	var out []leaf
	walkSpace(space, nil, func(p []string, v any) { out = append(out, leaf{p, v}) })
	return out
}

// setPath stores v at a nested path, creating maps as needed.
func setPath(m Params, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(Params)
		if !ok {
			next = Params{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// Get returns the value at a "/"-separated nested key.
func (p Params) Get(key string) (any, bool) {
	var cur any = map[string]any(p)
	for _, k := range strings.Split(key, "/") {
		switch m := cur.(type) {
		case Params:
			cur = m[k]
			if cur == nil {
				return nil, false
			}
		case map[string]any:
			var ok bool
			if cur, ok = m[k]; !ok {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return cur, true
}

// Float returns a numeric value at key as float64 (ints and JSON numbers
// convert), or def when absent or not numeric.
func (p Params) Float(key string, def float64) float64 {
	v, ok := p.Get(key)
	if !ok {
		return def
	}
	if f, ok := toFloat(v); ok {
		return f
	}
	return def
}

// Int returns a numeric value at key as int, or def.
func (p Params) Int(key string, def int) int {
	v, ok := p.Get(key)
	if !ok {
		return def
	}
	if f, ok := toFloat(v); ok {
		return int(math.Round(f))
	}
	return def
}

// String returns a string value at key, or def.
func (p Params) String(key string, def string) string {
	if v, ok := p.Get(key); ok {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return def
}

// Clone deep-copies nested maps (leaf values are shared).
func (p Params) Clone() Params {
	out := make(Params, len(p))
	for k, v := range p {
		switch m := v.(type) {
		case Params:
			out[k] = m.Clone()
		case map[string]any:
			out[k] = Params(m).Clone()
		default:
			out[k] = v
		}
	}
	return out
}

// Flatten lists leaves as "a/b" keys (used for tables and CSV columns).
func (p Params) Flatten() map[string]any {
	out := map[string]any{}
	walkSpace(p, nil, func(path []string, v any) { out[strings.Join(path, "/")] = v })
	return out
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case interface{ Float64() (float64, error) }:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// resolve samples every domain of space (grids take the value given in
// gridVals, keyed by joined path). SampleFrom entries run last, against the
// otherwise complete config, in path order.
func resolve(space map[string]any, gridVals map[string]any, rng *rand.Rand) Params {
	out := Params{}
	var deferred []leaf
	for _, l := range leaves(space) {
		key := strings.Join(l.path, "/")
		switch d := l.val.(type) {
		case Grid:
			if v, ok := gridVals[key]; ok {
				setPath(out, l.path, v)
			} else {
				setPath(out, l.path, d.Sample(rng, out))
			}
		case Func:
			deferred = append(deferred, l)
		case Domain:
			setPath(out, l.path, d.Sample(rng, out))
		default:
			setPath(out, l.path, l.val)
		}
	}
	for _, l := range deferred {
		setPath(out, l.path, l.val.(Domain).Sample(rng, out))
	}
	return out
}
