package nprand

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// ErrBadArgument reports an invalid argument to a Generator method (an
// empty range, a bad probability vector), mirroring numpy's ValueError.
var ErrBadArgument = errors.New("nprand: invalid argument")

// Generator is numpy's Generator over a PCG64 bit generator: the subset of
// methods Gymnasium's environments and spaces call, each drawing exactly the
// bits numpy draws, in the same order.
type Generator struct {
	bg *PCG64
}

// NewGenerator wraps a bit generator.
func NewGenerator(bg *PCG64) *Generator { return &Generator{bg: bg} }

// NPRandom is Gymnasium's utils.seeding.np_random(seed):
// Generator(PCG64(SeedSequence(seed))). Negative seeds are rejected as
// Gymnasium rejects them.
func NPRandom(seed int64) (*Generator, error) {
	ss, err := NewSeedSequence(seed)
	if err != nil {
		return nil, err
	}
	return NewGenerator(NewPCG64(ss)), nil
}

// MustNPRandom is NPRandom for seeds known to be non-negative (tests,
// constants). It panics on a negative seed, a programming error.
func MustNPRandom(seed int64) *Generator {
	g, err := NPRandom(seed)
	if err != nil {
		panic(err)
	}
	return g
}

// BitGenerator returns the underlying PCG64.
func (g *Generator) BitGenerator() *PCG64 { return g.bg }

// Random is Generator.random(): a float64 in [0, 1).
func (g *Generator) Random() float64 { return g.bg.Float64() }

// Uniform is Generator.uniform(lo, hi): lo + (hi-lo)·random().
func (g *Generator) Uniform(lo, hi float64) float64 {
	// float64() stops a compiler from fusing the multiply-add (numpy's
	// baseline build does not), which would change the last bit.
	return lo + float64((hi-lo)*g.bg.Float64())
}

// Integers is Generator.integers(lo, hi) for the default int64 dtype:
// a value in [lo, hi). It panics if hi <= lo (use IntegersChecked to get an
// error instead); ranges below 2^32 take numpy's buffered 32-bit Lemire
// path and wider ones the 64-bit Lemire path.
func (g *Generator) Integers(lo, hi int64) int64 {
	v, err := g.IntegersChecked(lo, hi)
	if err != nil {
		panic(err)
	}
	return v
}

// IntegersChecked is Integers returning an error for an empty range.
func (g *Generator) IntegersChecked(lo, hi int64) (int64, error) {
	if hi <= lo {
		return 0, fmt.Errorf("%w: integers: low >= high (%d >= %d)", ErrBadArgument, lo, hi)
	}
	// rng is the inclusive span hi-1-lo, computed in uint64 so that the full
	// int64 range does not overflow.
	rng := uint64(hi) - 1 - uint64(lo)
	return lo + int64(g.boundedUint64(rng)), nil
}

// boundedUint64 is numpy's random_bounded_uint64 for one value in
// [0, rng] (rng inclusive), use_masked=False.
func (g *Generator) boundedUint64(rng uint64) uint64 {
	switch {
	case rng == 0:
		return 0
	case rng < math.MaxUint32:
		return uint64(g.lemire32(uint32(rng)))
	case rng == math.MaxUint32:
		return uint64(g.bg.Uint32())
	case rng == math.MaxUint64:
		return g.bg.Uint64()
	default:
		return g.lemire64(rng)
	}
}

// lemire32 is buffered_bounded_lemire_uint32 for an inclusive range rng
// (rng < 2^32-1).
func (g *Generator) lemire32(rng uint32) uint32 {
	excl := rng + 1
	m := uint64(g.bg.Uint32()) * uint64(excl)
	left := uint32(m)
	if left < excl {
		threshold := (math.MaxUint32 - rng) % excl
		for left < threshold {
			m = uint64(g.bg.Uint32()) * uint64(excl)
			left = uint32(m)
		}
	}
	return uint32(m >> 32)
}

// lemire64 is bounded_lemire_uint64 for an inclusive range rng.
func (g *Generator) lemire64(rng uint64) uint64 {
	excl := rng + 1
	hi, lo := bits.Mul64(g.bg.Uint64(), excl)
	if lo < excl {
		threshold := (math.MaxUint64 - rng) % excl
		for lo < threshold {
			hi, lo = bits.Mul64(g.bg.Uint64(), excl)
		}
	}
	return hi
}

// Lemire8 is numpy's buffered_bounded_lemire_uint8 as used by
// integers(..., dtype=int8/uint8) arrays: a value in [0, rng] drawn from a
// byte buffer refilled from 32-bit draws. buf and cnt are the caller's
// per-call buffer (numpy keeps it per array fill, not per generator).
func (g *Generator) Lemire8(rng uint8, buf *uint32, cnt *int) uint8 {
	next := func() uint8 {
		if *cnt == 0 {
			*buf = g.bg.Uint32()
			*cnt = 3
		} else {
			*buf >>= 8
			*cnt--
		}
		return uint8(*buf)
	}
	if rng == 0 {
		return 0
	}
	if rng == math.MaxUint8 {
		return next()
	}
	excl := rng + 1
	m := uint16(next()) * uint16(excl)
	left := uint8(m)
	if left < excl {
		threshold := (math.MaxUint8 - rng) % excl
		for left < threshold {
			m = uint16(next()) * uint16(excl)
			left = uint8(m)
		}
	}
	return uint8(m >> 8)
}

// Choice is Generator.choice(n) without p (replace=True): an index in
// [0, n), drawn as integers(0, n).
func (g *Generator) Choice(n int) int {
	return int(g.Integers(0, int64(n)))
}

// CDF prepares choice(p=...) for repeated draws: numpy's cumsum(p) divided
// by its last entry, after numpy's checks (non-negative, sums to 1 within
// sqrt(eps)).
func CDF(p []float64) ([]float64, error) {
	if len(p) == 0 {
		return nil, fmt.Errorf("%w: choice: empty probability vector", ErrBadArgument)
	}
	cdf := make([]float64, len(p))
	var s float64
	for i, v := range p {
		if v < 0 || math.IsNaN(v) {
			return nil, fmt.Errorf("%w: choice: probabilities are not non-negative (p[%d]=%v)", ErrBadArgument, i, v)
		}
		s += v
		cdf[i] = s
	}
	// numpy compares a pairwise (Kahan-free) sum with 1 at sqrt(eps) tolerance.
	if math.Abs(s-1) > math.Sqrt(2.220446049250313e-16) {
		return nil, fmt.Errorf("%w: choice: probabilities do not sum to 1 (sum=%v)", ErrBadArgument, s)
	}
	last := cdf[len(cdf)-1]
	for i := range cdf {
		cdf[i] /= last
	}
	return cdf, nil
}

// ChoiceCDF is one draw of Generator.choice(a, p=...) given CDF(p): one
// random() and the count of cdf entries <= it (searchsorted side="right").
func (g *Generator) ChoiceCDF(cdf []float64) int {
	u := g.bg.Float64()
	i := 0
	for i < len(cdf) && cdf[i] <= u {
		i++
	}
	return i
}

// ChoiceP is Generator.choice(len(p), p=p) for a single draw.
func (g *Generator) ChoiceP(p []float64) (int, error) {
	cdf, err := CDF(p)
	if err != nil {
		return 0, err
	}
	return g.ChoiceCDF(cdf), nil
}

// CategoricalSample is Gymnasium's toy_text categorical_sample(p): the
// index of the first entry of cumsum(p) strictly greater than one random()
// draw. cumsum must already hold the running sums.
func (g *Generator) CategoricalSample(cumsum []float64) int {
	u := g.bg.Float64()
	for i, c := range cumsum {
		if c > u {
			return i
		}
	}
	// np.argmax of an all-False array is 0.
	return 0
}

// StandardNormal is Generator.standard_normal() (numpy's ziggurat).
func (g *Generator) StandardNormal() float64 { return standardNormal(g.bg) }

// Normal is Generator.normal(loc, scale) = loc + scale·standard_normal().
func (g *Generator) Normal(loc, scale float64) float64 {
	return loc + float64(scale*standardNormal(g.bg))
}

// StandardExponential is Generator.standard_exponential() (ziggurat).
func (g *Generator) StandardExponential() float64 { return standardExponential(g.bg) }

// Exponential is Generator.exponential(scale) = scale·standard_exponential().
func (g *Generator) Exponential(scale float64) float64 {
	return scale * standardExponential(g.bg)
}
