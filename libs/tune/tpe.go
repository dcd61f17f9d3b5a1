package tune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// TPESearch is the Tree-structured Parzen Estimator (Bergstra et al. 2011),
// written in Go after the description of Hyperopt, Optuna and Goptuna's
// samplers. Finished trials are split by Gamma into "good" (best) and "bad";
// each dimension gets a Parzen estimator (a mixture of truncated Gaussians
// centred on the observations, plus a prior component spanning the domain)
// for both groups; NEICandidates values are drawn from the good estimator
// and the one maximising l(x)/g(x), the expected-improvement criterion, is
// suggested. The first NStartupTrials configs are random.
//
// Dimensions are independent (univariate TPE, the default of all three
// libraries). LogUniform is modelled in log space; QUniform and RandInt are
// rounded; GridSearch and Choice are categorical; SampleFrom runs last.
type TPESearch struct {
	NStartupTrials int             // default 10
	NEICandidates  int             // default 24
	Gamma          func(n int) int // default min(ceil(0.1 n), 25)
	PriorWeight    float64         // default 1.0
	ConsiderMagic  bool            // clip sigmas below (high-low)/min(100, 1+n); default true via NewTPESearch

	space  map[string]any
	mode   string
	metric string
	limit  int
	n      int
	rng    *rand.Rand
	given  map[string]Params
	obs    []tpeObs
}

type tpeObs struct {
	params Params
	loss   float64
}

// NewTPESearch returns TPE with Optuna/Goptuna defaults.
func NewTPESearch() *TPESearch {
	return &TPESearch{NStartupTrials: 10, NEICandidates: 24, PriorWeight: 1, ConsiderMagic: true,
		Gamma: func(n int) int { return min(int(math.Ceil(0.1*float64(n))), 25) }}
}

// Setup implements Searcher.
func (s *TPESearch) Setup(p SearchProperties) error {
	if err := ValidateSpace(p.Space); err != nil {
		return err
	}
	if p.Metric == "" {
		return fmt.Errorf("%w: TPESearch needs Metric and Mode", ErrBadConfig)
	}
	if s.Gamma == nil {
		s.Gamma = NewTPESearch().Gamma
	}
	if s.NEICandidates <= 0 {
		s.NEICandidates = 24
	}
	if s.PriorWeight <= 0 {
		s.PriorWeight = 1
	}
	s.space, s.metric, s.mode, s.limit = p.Space, p.Metric, p.Mode, p.NumSamples
	s.rng = rand.New(rand.NewPCG(p.Seed, 0x7e57))
	s.given = map[string]Params{}
	return nil
}

// Suggest implements Searcher.
func (s *TPESearch) Suggest(id string) (Params, error) {
	if s.limit >= 0 && s.n >= s.limit {
		return nil, ErrSearchFinished
	}
	s.n++
	var p Params
	if len(s.obs) < s.NStartupTrials {
		p = resolve(s.space, nil, s.rng)
	} else {
		p = s.sampleTPE()
	}
	s.given[id] = p
	return p, nil
}

// adopt records the params a restored trial really ran with.
func (s *TPESearch) adopt(id string, p Params) { s.given[id] = p }

// OnTrialResult implements Searcher (TPE learns from finished trials only).
func (s *TPESearch) OnTrialResult(string, Result) {}

// OnTrialComplete implements Searcher.
func (s *TPESearch) OnTrialComplete(id string, last Result, failed bool) {
	p, ok := s.given[id]
	delete(s.given, id)
	if !ok || failed {
		return
	}
	v, ok := last.Float(s.metric)
	if !ok || math.IsNaN(v) {
		return
	}
	s.obs = append(s.obs, tpeObs{params: p, loss: -signed(v, s.mode)})
}

func (s *TPESearch) sampleTPE() Params {
	// Split by loss rank, but keep each group in observation order: the
	// estimator's weights forget by age.
	idx := make([]int, len(s.obs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.obs[idx[a]].loss < s.obs[idx[b]].loss })
	nBelow := max(1, s.Gamma(len(s.obs)))
	isBelow := make([]bool, len(s.obs))
	for _, i := range idx[:nBelow] {
		isBelow[i] = true
	}
	var below, above []tpeObs
	for i, o := range s.obs {
		if isBelow[i] {
			below = append(below, o)
		} else {
			above = append(above, o)
		}
	}
	out := Params{}
	var deferred []leaf
	for _, l := range leaves(s.space) {
		key := strings.Join(l.path, "/")
		var v any
		switch d := l.val.(type) {
		case Float:
			v = s.sampleNumeric(key, numSpec{lo: d.Lo, hi: d.Hi, log: d.Log, q: d.Q}, below, above)
		case Int:
			f := s.sampleNumeric(key, numSpec{lo: float64(d.Lo) - 0.5, hi: float64(d.Hi) - 0.5, q: 1, isInt: true}, below, above)
			v = max(d.Lo, min(d.Hi-1, int(math.Round(f))))
		case Normal:
			v = s.sampleNumeric(key, numSpec{lo: d.Mean - 4*d.SD, hi: d.Mean + 4*d.SD}, below, above)
		case Categorical:
			v = s.sampleCategorical(key, d.Values, below, above)
		case Grid:
			v = s.sampleCategorical(key, d.Values, below, above)
		case Func:
			deferred = append(deferred, l)
			continue
		case Domain:
			v = d.Sample(s.rng, out)
		default:
			v = l.val
		}
		setPath(out, l.path, v)
	}
	for _, l := range deferred {
		setPath(out, l.path, l.val.(Domain).Sample(s.rng, out))
	}
	return out
}

type numSpec struct {
	lo, hi float64
	log    bool
	q      float64
	isInt  bool
}

// parzen is a mixture of Gaussians truncated to [lo, hi].
type parzen struct {
	w, mu, sigma []float64
	lo, hi       float64
}

func (s *TPESearch) values(key string, obs []tpeObs, ns numSpec) []float64 {
	var out []float64
	for _, o := range obs {
		v, ok := o.params.Get(key)
		if !ok {
			continue
		}
		f, ok := toFloat(v)
		if !ok {
			continue
		}
		if ns.log {
			f = math.Log(f)
		}
		out = append(out, f)
	}
	return out
}

// newParzen builds the estimator like Hyperopt's adaptive_parzen_normal:
// the prior (centre of the domain, sigma = its width) joins the sorted
// observations; each sigma is the larger distance to a neighbour, clipped to
// [width/min(100, 1+n), width]; older observations are down-weighted past 25.
func (s *TPESearch) newParzen(mus []float64, lo, hi float64) parzen {
	width := hi - lo
	priorMu := 0.5 * (lo + hi)
	n := len(mus)
	// Weights follow observation order (oldest first), Hyperopt's linear forgetting.
	ws := make([]float64, n)
	for i := range ws {
		ws[i] = 1
		if n > 25 && i < n-25 {
			// numpy.linspace(1/n, 1, n-25), then ones for the newest 25.
			ws[i] = 1/float64(n) + (1-1/float64(n))*float64(i)/float64(max(n-26, 1))
		}
	}
	type comp struct {
		mu, w float64
		prior bool
	}
	comps := make([]comp, 0, n+1)
	for i, m := range mus {
		comps = append(comps, comp{mu: m, w: ws[i]})
	}
	comps = append(comps, comp{mu: priorMu, w: s.PriorWeight, prior: true})
	sort.SliceStable(comps, func(i, j int) bool { return comps[i].mu < comps[j].mu })
	p := parzen{lo: lo, hi: hi}
	minSigma := 0.0
	if s.ConsiderMagic {
		minSigma = width / math.Min(100, 1+float64(len(comps)))
	}
	var sum float64
	for i, c := range comps {
		left := c.mu - lo
		if i > 0 {
			left = c.mu - comps[i-1].mu
		}
		right := hi - c.mu
		if i < len(comps)-1 {
			right = comps[i+1].mu - c.mu
		}
		sig := math.Max(left, right)
		if c.prior {
			sig = width
		}
		sig = math.Min(math.Max(sig, minSigma), width)
		if sig <= 0 {
			sig = width
		}
		p.mu = append(p.mu, c.mu)
		p.sigma = append(p.sigma, sig)
		p.w = append(p.w, c.w)
		sum += c.w
	}
	for i := range p.w {
		p.w[i] /= sum
	}
	return p
}

func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// sample draws from the truncated mixture (inverse-CDF on the chosen component).
func (p parzen) sample(rng *rand.Rand) float64 {
	x := rng.Float64()
	k := len(p.w) - 1
	for i, w := range p.w {
		if x < w {
			k = i
			break
		}
		x -= w
	}
	a := normCDF((p.lo - p.mu[k]) / p.sigma[k])
	b := normCDF((p.hi - p.mu[k]) / p.sigma[k])
	u := a + rng.Float64()*(b-a)
	u = math.Min(math.Max(u, 1e-12), 1-1e-12)
	v := p.mu[k] + p.sigma[k]*math.Sqrt2*math.Erfinv(2*u-1)
	return math.Min(math.Max(v, p.lo), p.hi)
}

// logPDF is the log density of the truncated mixture at x.
func (p parzen) logPDF(x float64) float64 {
	var d float64
	for i := range p.w {
		z := (x - p.mu[i]) / p.sigma[i]
		mass := normCDF((p.hi-p.mu[i])/p.sigma[i]) - normCDF((p.lo-p.mu[i])/p.sigma[i])
		if mass < 1e-12 {
			mass = 1e-12
		}
		d += p.w[i] * math.Exp(-0.5*z*z) / (p.sigma[i] * math.Sqrt(2*math.Pi) * mass)
	}
	return math.Log(d + 1e-300)
}

func (s *TPESearch) sampleNumeric(key string, ns numSpec, below, above []tpeObs) float64 {
	lo, hi := ns.lo, ns.hi
	if ns.log {
		lo, hi = math.Log(lo), math.Log(hi)
	}
	l := s.newParzen(s.values(key, below, ns), lo, hi)
	g := s.newParzen(s.values(key, above, ns), lo, hi)
	best, bestScore := 0.0, math.Inf(-1)
	for i := 0; i < s.NEICandidates; i++ {
		c := l.sample(s.rng)
		if ns.q > 0 && !ns.log {
			c = math.Round(c/ns.q) * ns.q
		}
		if sc := l.logPDF(c) - g.logPDF(c); sc > bestScore {
			best, bestScore = c, sc
		}
	}
	if ns.log {
		best = math.Exp(best)
		if ns.q > 0 {
			best = math.Round(best/ns.q) * ns.q
		}
	}
	return best
}

// sampleCategorical weighs each choice by its count in a group plus the
// prior spread evenly, draws candidates from the good group's distribution
// and keeps the best l/g ratio.
func (s *TPESearch) sampleCategorical(key string, choices []any, below, above []tpeObs) any {
	dist := func(obs []tpeObs) []float64 {
		w := make([]float64, len(choices))
		for i := range w {
			w[i] = s.PriorWeight / float64(len(choices))
		}
		for _, o := range obs {
			v, ok := o.params.Get(key)
			if !ok {
				continue
			}
			for i, c := range choices {
				if fmt.Sprint(c) == fmt.Sprint(v) {
					w[i]++
					break
				}
			}
		}
		var sum float64
		for _, x := range w {
			sum += x
		}
		for i := range w {
			w[i] /= sum
		}
		return w
	}
	l, g := dist(below), dist(above)
	best, bestScore := 0, math.Inf(-1)
	for i := 0; i < s.NEICandidates; i++ {
		x := s.rng.Float64()
		k := len(l) - 1
		for j, w := range l {
			if x < w {
				k = j
				break
			}
			x -= w
		}
		if sc := math.Log(l[k]) - math.Log(g[k]); sc > bestScore {
			best, bestScore = k, sc
		}
	}
	return choices[best]
}
