package tune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
)

// PopulationBasedTraining is PBT (Ray's PopulationBasedTraining): every
// PerturbationInterval (in TimeAttr units) a trial in the bottom
// QuantileFraction copies the checkpoint and config of a trial in the top
// QuantileFraction (exploit), then mutates the config (explore): with
// ResampleProbability a parameter is resampled from its domain, otherwise a
// number is multiplied by one of PerturbationFactors and a list value moves to
// a neighbouring entry.
type PopulationBasedTraining struct {
	metricMode
	TimeAttr             string
	PerturbationInterval float64
	BurnInPeriod         float64
	// HyperparamMutations maps a "/"-separated param key to a Domain or a
	// []any list of allowed values.
	HyperparamMutations map[string]any
	QuantileFraction    float64
	ResampleProbability float64
	PerturbationFactors []float64
	// CustomExploreFn, if set, post-processes each explored config.
	CustomExploreFn func(Params) Params
	// Synch waits for the whole population to reach each perturbation
	// point (every member is paused there, with a fresh checkpoint), then
	// exploits all bottom members at once (Ray's synch=True).
	Synch bool
	Seed  uint64

	state map[string]*pbtState
	order []string
	rng   *rand.Rand
	// Log records every exploit (Ray writes it to pbt_global.txt).
	Log []PBTEvent
}

// PBTEvent is one exploit: Trial took Donor's checkpoint at Time, with the
// old and new params.
type PBTEvent struct {
	Trial, Donor string
	Time         float64
	Old, New     Params
}

// NewPBT returns PBT with Ray's defaults: time_attr time_total_s,
// perturbation_interval 60, quantile_fraction 0.25, resample_probability
// 0.25, perturbation_factors (1.2, 0.8).
func NewPBT(mutations map[string]any) *PopulationBasedTraining {
	return &PopulationBasedTraining{TimeAttr: KeyTimeTotal, PerturbationInterval: 60,
		HyperparamMutations: mutations, QuantileFraction: 0.25, ResampleProbability: 0.25,
		PerturbationFactors: []float64{1.2, 0.8}}
}

type pbtState struct {
	ready         bool
	lastScore     *float64
	lastPerturb   float64
	lastTrainTime float64
}

func (p *PopulationBasedTraining) defaultSeed(s uint64) {
	if p.Seed == 0 {
		p.Seed = s
	}
}

// Name implements Scheduler.
func (p *PopulationBasedTraining) Name() string { return "PopulationBasedTraining" }

func (p *PopulationBasedTraining) init() {
	if p.state == nil {
		p.state = map[string]*pbtState{}
		p.rng = rand.New(rand.NewPCG(p.Seed, 11))
	}
}

// OnTrialAdd implements Scheduler.
func (p *PopulationBasedTraining) OnTrialAdd(_ Controller, t *Trial) {
	p.init()
	if _, ok := p.state[t.ID]; !ok {
		p.state[t.ID] = &pbtState{}
		p.order = append(p.order, t.ID)
	}
}

// OnTrialResult implements Scheduler.
func (p *PopulationBasedTraining) OnTrialResult(c Controller, t *Trial, r Result) Decision {
	p.OnTrialAdd(c, t)
	tm, ok1 := r.Float(p.TimeAttr)
	score, ok2 := p.score(r)
	if !ok1 || !ok2 {
		return Decision{}
	}
	st := p.state[t.ID]
	if tm-st.lastPerturb < p.PerturbationInterval {
		return Decision{}
	}
	st.lastScore = &score
	st.lastTrainTime = tm
	if tm < p.BurnInPeriod {
		return Decision{}
	}
	st.lastPerturb = tm
	if p.Synch {
		// Pause (which checkpoints); the round runs in ChooseTrialToRun once
		// every live member is paused at this point.
		st.ready = true
		return Decision{Action: Pause}
	}
	lower, upper := p.quantiles()
	d := Decision{}
	for _, o := range c.Trials() {
		if o.Status == Pending || o.Status == Paused {
			// Let queued members of the population have their turn.
			d.Action = Pause
			break
		}
	}
	switch {
	case slices.Contains(upper, t.ID):
		d.Checkpoint = true
	case slices.Contains(lower, t.ID):
		donorID := upper[p.rng.IntN(len(upper))]
		var donor *Trial
		for _, o := range c.Trials() {
			if o.ID == donorID {
				donor = o
			}
		}
		if donor == nil || donor.ckpt == nil {
			return d
		}
		newParams := p.explore(donor.Params)
		p.Log = append(p.Log, PBTEvent{Trial: t.ID, Donor: donor.ID, Time: tm, Old: t.Params, New: newParams})
		ds := p.state[donor.ID]
		st.lastPerturb, st.lastTrainTime = ds.lastPerturb, ds.lastTrainTime
		return Decision{Action: Continue, ExploitFrom: donor, NewParams: newParams}
	}
	return d
}

// quantiles splits the trials that have a score into bottom and top
// QuantileFraction (at most half each); fewer than two trials → none.
func (p *PopulationBasedTraining) quantiles() (lower, upper []string) {
	var ids []string
	for _, id := range p.order {
		if p.state[id].lastScore != nil {
			ids = append(ids, id)
		}
	}
	if len(ids) <= 1 {
		return nil, nil
	}
	sort.SliceStable(ids, func(i, j int) bool { return *p.state[ids[i]].lastScore < *p.state[ids[j]].lastScore })
	n := int(math.Ceil(float64(len(ids)) * p.QuantileFraction))
	if n > len(ids)/2 {
		n = len(ids) / 2
	}
	return ids[:n], ids[len(ids)-n:]
}

// explore mutates a copy of params according to HyperparamMutations.
func (p *PopulationBasedTraining) explore(params Params) Params {
	p.init()
	out := params.Clone()
	keys := make([]string, 0, len(p.HyperparamMutations))
	for k := range p.HyperparamMutations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := strings.Split(k, "/")
		cur, _ := out.Get(k)
		switch d := p.HyperparamMutations[k].(type) {
		case []any:
			idx := slices.IndexFunc(d, func(v any) bool { return fmt.Sprint(v) == fmt.Sprint(cur) })
			if idx < 0 || p.rng.Float64() < p.ResampleProbability {
				setPath(out, path, d[p.rng.IntN(len(d))])
				continue
			}
			idx += []int{-1, 1}[p.rng.IntN(2)]
			idx = max(0, min(len(d)-1, idx))
			setPath(out, path, d[idx])
		case Domain:
			f, isNum := toFloat(cur)
			if !isNum || p.rng.Float64() < p.ResampleProbability {
				setPath(out, path, d.Sample(p.rng, out))
				continue
			}
			v := f * p.PerturbationFactors[p.rng.IntN(len(p.PerturbationFactors))]
			if _, isInt := cur.(int); isInt {
				setPath(out, path, int(v))
			} else {
				setPath(out, path, v)
			}
		}
	}
	if p.CustomExploreFn != nil {
		out = p.CustomExploreFn(out)
	}
	return out
}

// ChooseTrialToRun implements TrialChooser: the PENDING or PAUSED trial
// that trained least (new trials first), so the population advances evenly.
func (p *PopulationBasedTraining) ChooseTrialToRun(c Controller) *Trial {
	if p.Synch {
		p.synchRound(c)
	}
	var best *Trial
	bestT := math.Inf(1)
	for _, t := range c.Trials() {
		if t.Status != Pending && t.Status != Paused {
			continue
		}
		if st := p.state[t.ID]; p.Synch && st != nil && st.ready {
			continue
		}
		tt := 0.0
		if st := p.state[t.ID]; st != nil {
			tt = st.lastTrainTime
		}
		if tt < bestT {
			best, bestT = t, tt
		}
	}
	return best
}

// synchRound exploits and explores the whole population once every live
// member waits, paused, at the perturbation point.
func (p *PopulationBasedTraining) synchRound(c Controller) {
	live := 0
	for _, t := range c.Trials() {
		switch t.Status {
		case Terminated, Errored:
			continue
		case Paused:
			if st := p.state[t.ID]; st != nil && st.ready {
				live++
				continue
			}
		}
		return // someone is still on its way
	}
	if live == 0 {
		return
	}
	lower, upper := p.quantiles()
	byID := map[string]*Trial{}
	for _, t := range c.Trials() {
		byID[t.ID] = t
	}
	for _, id := range lower {
		t, donor := byID[id], byID[upper[p.rng.IntN(len(upper))]]
		newParams := p.explore(donor.Params)
		old := t.Params
		if c.ExploitTrial(t, donor, newParams) {
			p.Log = append(p.Log, PBTEvent{Trial: t.ID, Donor: donor.ID, Time: p.state[id].lastTrainTime, Old: old, New: newParams})
		}
	}
	for _, t := range c.Trials() {
		if st := p.state[t.ID]; st != nil && st.ready {
			st.ready = false
		}
	}
}

// OnTrialComplete implements Scheduler.
func (p *PopulationBasedTraining) OnTrialComplete(Controller, *Trial, Result) {}

// OnTrialError implements Scheduler.
func (p *PopulationBasedTraining) OnTrialError(Controller, *Trial) {}

// OnIdle implements Scheduler.
func (p *PopulationBasedTraining) OnIdle(Controller) {}
