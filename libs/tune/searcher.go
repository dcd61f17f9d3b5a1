package tune

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// SearchProperties is what the tuner tells its searcher before the first
// suggestion.
type SearchProperties struct {
	Metric     string
	Mode       string // "max" or "min"
	Space      map[string]any
	NumSamples int // -1: unlimited
	Seed       uint64
}

// Searcher proposes trial configurations (Ray's Searcher). Suggest is called
// from the tuner's single control goroutine, as are the notifications.
type Searcher interface {
	// Setup is called once before any Suggest.
	Setup(p SearchProperties) error
	// Suggest returns the config for a new trial, ErrSearchFinished when the
	// search is over, or ErrSearchBusy to be asked again later.
	Suggest(trialID string) (Params, error)
	// OnTrialResult is called for every intermediate result.
	OnTrialResult(trialID string, r Result)
	// OnTrialComplete is called once per trial with its last result (nil if
	// it never reported); failed is true for trials that ended in ERROR.
	OnTrialComplete(trialID string, last Result, failed bool)
}

// BasicVariantGenerator is Ray's default searcher: the cartesian product of
// every GridSearch entry, crossed with a fresh sample of every random domain,
// the whole grid repeated NumSamples times.
type BasicVariantGenerator struct {
	space   map[string]any
	grid    []map[string]any // one entry per grid point
	total   int
	next    int
	rng     *rand.Rand
	samples int
}

// NewBasicVariantGenerator returns the default searcher.
func NewBasicVariantGenerator() *BasicVariantGenerator { return &BasicVariantGenerator{} }

// Setup implements Searcher.
func (b *BasicVariantGenerator) Setup(p SearchProperties) error {
	if err := ValidateSpace(p.Space); err != nil {
		return err
	}
	b.space = p.Space
	b.grid = gridPoints(p.Space)
	b.samples = p.NumSamples
	if b.samples < 0 {
		b.total = -1
	} else {
		b.total = len(b.grid) * b.samples
	}
	b.rng = rand.New(rand.NewPCG(p.Seed, 0x9e3779b97f4a7c15))
	return nil
}

// NumTrials is the number of trials the generator will produce (-1: unbounded).
func (b *BasicVariantGenerator) NumTrials() int { return b.total }

// Suggest implements Searcher.
func (b *BasicVariantGenerator) Suggest(string) (Params, error) {
	if b.total >= 0 && b.next >= b.total {
		return nil, ErrSearchFinished
	}
	g := b.grid[b.next%len(b.grid)]
	b.next++
	return resolve(b.space, g, b.rng), nil
}

// OnTrialResult implements Searcher (no-op: the generator is not adaptive).
func (b *BasicVariantGenerator) OnTrialResult(string, Result) {}

// OnTrialComplete implements Searcher (no-op).
func (b *BasicVariantGenerator) OnTrialComplete(string, Result, bool) {}

// gridPoints expands all Grid leaves into their cartesian product, ordered
// like Ray's grid generator: the first grid key (in sorted key order, as Go
// maps have no insertion order) varies fastest.
func gridPoints(space map[string]any) []map[string]any {
	points := []map[string]any{{}}
	ls := leaves(space)
	for i := len(ls) - 1; i >= 0; i-- {
		l := ls[i]
		g, ok := l.val.(Grid)
		if !ok {
			continue
		}
		key := strings.Join(l.path, "/")
		var next []map[string]any
		for _, p := range points {
			for _, v := range g.Values {
				q := make(map[string]any, len(p)+1)
				for k, x := range p {
					q[k] = x
				}
				q[key] = v
				next = append(next, q)
			}
		}
		points = next
	}
	return points
}

// RandomSearch samples every domain independently (grids are sampled, not
// expanded) for NumSamples trials.
type RandomSearch struct {
	space map[string]any
	rng   *rand.Rand
	n     int
	limit int
}

// NewRandomSearch returns a pure random searcher.
func NewRandomSearch() *RandomSearch { return &RandomSearch{} }

// Setup implements Searcher.
func (r *RandomSearch) Setup(p SearchProperties) error {
	if err := ValidateSpace(p.Space); err != nil {
		return err
	}
	r.space, r.limit = p.Space, p.NumSamples
	r.rng = rand.New(rand.NewPCG(p.Seed, 0x5bd1e995))
	return nil
}

// Suggest implements Searcher.
func (r *RandomSearch) Suggest(string) (Params, error) {
	if r.limit >= 0 && r.n >= r.limit {
		return nil, ErrSearchFinished
	}
	r.n++
	return resolve(r.space, nil, r.rng), nil
}

// OnTrialResult implements Searcher.
func (r *RandomSearch) OnTrialResult(string, Result) {}

// OnTrialComplete implements Searcher.
func (r *RandomSearch) OnTrialComplete(string, Result, bool) {}

// ConcurrencyLimiter caps how many of the wrapped searcher's trials run at
// once (Ray's ConcurrencyLimiter): Suggest returns ErrSearchBusy while
// MaxConcurrent suggested trials are unfinished.
type ConcurrencyLimiter struct {
	Searcher      Searcher
	MaxConcurrent int
	live          map[string]bool
}

// NewConcurrencyLimiter wraps s.
func NewConcurrencyLimiter(s Searcher, maxConcurrent int) *ConcurrencyLimiter {
	return &ConcurrencyLimiter{Searcher: s, MaxConcurrent: maxConcurrent}
}

// Setup implements Searcher.
func (c *ConcurrencyLimiter) Setup(p SearchProperties) error {
	if c.MaxConcurrent < 1 {
		return fmt.Errorf("%w: ConcurrencyLimiter.MaxConcurrent must be >= 1, got %d", ErrBadConfig, c.MaxConcurrent)
	}
	c.live = map[string]bool{}
	return c.Searcher.Setup(p)
}

// Suggest implements Searcher.
func (c *ConcurrencyLimiter) Suggest(id string) (Params, error) {
	if len(c.live) >= c.MaxConcurrent {
		return nil, ErrSearchBusy
	}
	p, err := c.Searcher.Suggest(id)
	if err == nil {
		c.live[id] = true
	}
	return p, err
}

// OnTrialResult implements Searcher.
func (c *ConcurrencyLimiter) OnTrialResult(id string, r Result) { c.Searcher.OnTrialResult(id, r) }

// OnTrialComplete implements Searcher.
func (c *ConcurrencyLimiter) OnTrialComplete(id string, r Result, failed bool) {
	delete(c.live, id)
	c.Searcher.OnTrialComplete(id, r, failed)
}
