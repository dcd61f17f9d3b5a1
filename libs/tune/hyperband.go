package tune

import (
	"math"
	"sort"
)

// HyperBand is synchronous HyperBand (Ray's HyperBandScheduler): trials fill
// brackets of successive halving; a trial that reaches its bracket's
// milestone is paused until every trial of the bracket has, then the best
// 1/ReductionFactor continue (resumed from their checkpoints) and the rest
// stop. Defaults: time_attr training_iteration, max_t 81, reduction_factor 3,
// stop_last_trials true. Trainables must checkpoint (Save/Restore, or report
// checkpoints) to be paused without losing progress.
type HyperBand struct {
	metricMode
	TimeAttr        string
	MaxT            float64
	ReductionFactor float64
	StopLastTrials  bool

	brackets []*hbBracket
	of       map[string]*hbBracket
}

// NewHyperBand returns HyperBand with Ray's defaults.
func NewHyperBand() *HyperBand {
	return &HyperBand{TimeAttr: KeyTrainingIteration, MaxT: 81, ReductionFactor: 3, StopLastTrials: true}
}

type hbBracket struct {
	s         int
	capacity  int
	milestone float64
	trials    []*Trial
	live      map[string]bool
	reached   map[string]float64
}

// Name implements Scheduler.
func (h *HyperBand) Name() string { return "HyperBand" }

func (h *HyperBand) sMax1() int {
	return int(math.Round(math.Log(h.MaxT)/math.Log(h.ReductionFactor))) + 1
}

// OnTrialAdd implements Scheduler: fill the current bracket, then open the
// next one (s counts down from s_max to 0 and wraps).
func (h *HyperBand) OnTrialAdd(_ Controller, t *Trial) {
	if h.of == nil {
		h.of = map[string]*hbBracket{}
	}
	if _, ok := h.of[t.ID]; ok {
		return
	}
	var cur *hbBracket
	if n := len(h.brackets); n > 0 && len(h.brackets[n-1].trials) < h.brackets[n-1].capacity {
		cur = h.brackets[n-1]
	} else {
		sm := h.sMax1()
		s := sm - 1 - len(h.brackets)%sm
		eta := h.ReductionFactor
		cur = &hbBracket{
			s:         s,
			capacity:  int(math.Ceil(float64(sm) / float64(s+1) * math.Pow(eta, float64(s)))),
			milestone: math.Max(1, math.Round(h.MaxT*math.Pow(eta, -float64(s)))),
			live:      map[string]bool{},
			reached:   map[string]float64{},
		}
		h.brackets = append(h.brackets, cur)
	}
	cur.trials = append(cur.trials, t)
	cur.live[t.ID] = true
	h.of[t.ID] = cur
}

// OnTrialResult implements Scheduler.
func (h *HyperBand) OnTrialResult(c Controller, t *Trial, r Result) Decision {
	b := h.of[t.ID]
	if b == nil {
		h.OnTrialAdd(c, t)
		b = h.of[t.ID]
	}
	cur, ok1 := r.Float(h.TimeAttr)
	score, ok2 := h.score(r)
	if !ok1 || !ok2 {
		return Decision{}
	}
	if h.StopLastTrials && cur >= h.MaxT {
		delete(b.live, t.ID)
		h.maybeHalve(c, b, nil)
		return Decision{Action: Stop}
	}
	if cur < b.milestone {
		return Decision{}
	}
	b.reached[t.ID] = score
	if d, done := h.maybeHalve(c, b, t); done {
		return d
	}
	return Decision{Action: Pause}
}

// maybeHalve runs one successive-halving round when every live trial of b
// reached the milestone and no more trials will join b. It returns the
// decision for self (the trial whose result triggered it) if any.
func (h *HyperBand) maybeHalve(c Controller, b *hbBracket, self *Trial) (Decision, bool) {
	if len(b.live) == 0 {
		return Decision{}, false
	}
	if len(b.trials) < b.capacity && !c.SearchFinished() {
		return Decision{}, false
	}
	for id := range b.live {
		if _, ok := b.reached[id]; !ok {
			return Decision{}, false
		}
	}
	var ids []string
	for id := range b.live {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if b.reached[ids[i]] != b.reached[ids[j]] {
			return b.reached[ids[i]] > b.reached[ids[j]]
		}
		return ids[i] < ids[j]
	})
	keep := int(math.Floor(float64(len(ids)) / h.ReductionFactor))
	if keep < 1 {
		keep = 1
	}
	byID := map[string]*Trial{}
	for _, t := range b.trials {
		byID[t.ID] = t
	}
	var selfD Decision
	selfSeen := false
	for i, id := range ids {
		t := byID[id]
		isSelf := self != nil && t.ID == self.ID
		if i < keep {
			if isSelf {
				selfD, selfSeen = Decision{Action: Continue}, true
			} else {
				c.ResumeTrial(t)
			}
		} else {
			delete(b.live, id)
			if isSelf {
				selfD, selfSeen = Decision{Action: Stop}, true
			} else {
				c.StopTrial(t)
			}
		}
	}
	b.reached = map[string]float64{}
	b.milestone = math.Min(h.MaxT, b.milestone*h.ReductionFactor)
	return selfD, selfSeen
}

// OnTrialComplete implements Scheduler.
func (h *HyperBand) OnTrialComplete(c Controller, t *Trial, _ Result) { h.drop(c, t) }

// OnTrialError implements Scheduler.
func (h *HyperBand) OnTrialError(c Controller, t *Trial) { h.drop(c, t) }

func (h *HyperBand) drop(c Controller, t *Trial) {
	if b := h.of[t.ID]; b != nil {
		delete(b.live, t.ID)
		delete(b.reached, t.ID)
		h.maybeHalve(c, b, nil)
	}
}

// OnIdle implements Scheduler: brackets that can never fill are halved now.
func (h *HyperBand) OnIdle(c Controller) {
	for _, b := range h.brackets {
		h.maybeHalve(c, b, nil)
	}
}
