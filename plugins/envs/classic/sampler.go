package classic

import (
	"errors"
	"fmt"
	"math"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/nprand"
)

// ErrBadSpace reports a space the sampler cannot sample (unknown kind,
// inconsistent bounds).
var ErrBadSpace = errors.New("invalid space")

// Sampler samples values of a space exactly as Gymnasium's
// space.seed(seed) followed by space.sample() calls do, with the space's
// own generator (sampling never touches an env's RNG).
type Sampler struct {
	space envs.Space
	rng   *nprand.Generator
	subs  []*Sampler
	dim   int
}

// NewSampler seeds a sampler for space, as space.seed(seed) does: a
// Tuple or Dict draws one int32 sub-seed per member from its own
// generator and seeds each member with it.
func NewSampler(space envs.Space, seed int64) (*Sampler, error) {
	rng, err := nprand.NPRandom(seed)
	if err != nil {
		return nil, fmt.Errorf("sampler: %w", err)
	}
	s := &Sampler{space: space, rng: rng, dim: space.FlatDim()}
	switch space.Kind {
	case envs.KindDiscrete:
		if space.N < 1 {
			return nil, fmt.Errorf("%w: Discrete(%d)", ErrBadSpace, space.N)
		}
	case envs.KindBox:
		if len(space.Low) != s.dim || len(space.High) != s.dim {
			return nil, fmt.Errorf("%w: Box bounds have %d/%d entries for %d elements", ErrBadSpace, len(space.Low), len(space.High), s.dim)
		}
		for i := range space.Low {
			if space.Low[i] > space.High[i] {
				return nil, fmt.Errorf("%w: Box low[%d]=%v > high[%d]=%v", ErrBadSpace, i, space.Low[i], i, space.High[i])
			}
		}
	case envs.KindMultiDiscrete:
		for i, n := range space.Nvec {
			if n < 1 {
				return nil, fmt.Errorf("%w: MultiDiscrete nvec[%d]=%d", ErrBadSpace, i, n)
			}
		}
	case envs.KindMultiBinary:
	case envs.KindTuple, envs.KindDict:
		for _, sub := range space.Spaces {
			subSeed := rng.Integers(0, math.MaxInt32)
			ss, err := NewSampler(sub, subSeed)
			if err != nil {
				return nil, err
			}
			s.subs = append(s.subs, ss)
		}
	default:
		return nil, fmt.Errorf("%w: unknown kind %q", ErrBadSpace, space.Kind)
	}
	return s, nil
}

// Dim is the number of float64 slots one sample takes.
func (s *Sampler) Dim() int { return s.dim }

// Sample writes one sample into out (len == Dim()).
func (s *Sampler) Sample(out []float64) error {
	if len(out) != s.dim {
		return fmt.Errorf("sampler: output has %d slots, want %d", len(out), s.dim)
	}
	sp := &s.space
	switch sp.Kind {
	case envs.KindDiscrete:
		out[0] = float64(sp.Start + s.rng.Integers(0, sp.N))
	case envs.KindBox:
		s.sampleBox(out)
	case envs.KindMultiDiscrete:
		for i, n := range sp.Nvec {
			out[i] = math.Trunc(float64(float64(n) * s.rng.Random()))
		}
	case envs.KindMultiBinary:
		var buf uint32
		cnt := 0
		for i := range out {
			out[i] = float64(s.rng.Lemire8(1, &buf, &cnt))
		}
	case envs.KindTuple, envs.KindDict:
		off := 0
		for _, sub := range s.subs {
			if err := sub.Sample(out[off : off+sub.dim]); err != nil {
				return err
			}
			off += sub.dim
		}
	}
	return nil
}

// sampleBox follows Box.sample: all unbounded coordinates (normal) first,
// then the ones bounded below (exponential + low), then above (high −
// exponential), then the bounded ones (uniform), each group in index
// order; integer dtypes sample on [low, high+1) and floor.
func (s *Sampler) sampleBox(out []float64) {
	sp := &s.space
	isInt := sp.Dtype != "" && sp.Dtype != "float32" && sp.Dtype != "float64" && sp.Dtype != "float16"
	high := func(i int) float64 {
		if isInt {
			return math.Trunc(sp.High[i]) + 1
		}
		return sp.High[i]
	}
	below := func(i int) bool { return !math.IsInf(sp.Low[i], -1) }
	above := func(i int) bool { return !math.IsInf(sp.High[i], 1) }
	for i := range out {
		if !below(i) && !above(i) {
			out[i] = s.rng.Normal(0, 1)
		}
	}
	for i := range out {
		if below(i) && !above(i) {
			out[i] = s.rng.Exponential(1) + sp.Low[i]
		}
	}
	for i := range out {
		if !below(i) && above(i) {
			out[i] = -s.rng.Exponential(1) + high(i)
		}
	}
	for i := range out {
		if below(i) && above(i) {
			out[i] = s.rng.Uniform(sp.Low[i], high(i))
		}
	}
	for i := range out {
		switch {
		case isInt:
			out[i] = math.Floor(out[i])
		case sp.Dtype == "float32" || sp.Dtype == "":
			out[i] = f32(out[i])
		}
	}
}
