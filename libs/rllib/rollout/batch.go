package rollout

// SampleBatch is RLlib's SampleBatch for one policy, columnar and float32:
// row t of each column is transition t. Rows are grouped by sub-env and
// trajectory piece, which GAE needs and the learner ignores.
type SampleBatch struct {
	// RowDim, ActDim and DistDim are the widths of one row of Obs, Actions
	// and ActionDistInputs.
	RowDim, ActDim, DistDim int
	Obs                     []float32
	Actions                 []float32
	Rewards                 []float32
	ActionLogp              []float32
	ActionDistInputs        []float32
	VfPreds                 []float32
	Advantages              []float32
	ValueTargets            []float32
	// EpisodeRewards and EpisodeLengths list the episodes that completed
	// while this batch was sampled, in completion order.
	EpisodeRewards []float64
	EpisodeLengths []int
	// WorkerIndex is the worker that sampled the batch (0: local).
	WorkerIndex int
}

// Len is the number of transitions.
func (b *SampleBatch) Len() int { return len(b.Rewards) }

// Concat appends the batches in order into one.
func Concat(bs []*SampleBatch) *SampleBatch {
	out := &SampleBatch{}
	if len(bs) == 0 {
		return out
	}
	out.RowDim, out.ActDim, out.DistDim = bs[0].RowDim, bs[0].ActDim, bs[0].DistDim
	n := 0
	for _, b := range bs {
		n += b.Len()
	}
	out.Obs = make([]float32, 0, n*out.RowDim)
	out.Actions = make([]float32, 0, n*out.ActDim)
	out.ActionDistInputs = make([]float32, 0, n*out.DistDim)
	for _, b := range bs {
		out.Obs = append(out.Obs, b.Obs...)
		out.Actions = append(out.Actions, b.Actions...)
		out.Rewards = append(out.Rewards, b.Rewards...)
		out.ActionLogp = append(out.ActionLogp, b.ActionLogp...)
		out.ActionDistInputs = append(out.ActionDistInputs, b.ActionDistInputs...)
		out.VfPreds = append(out.VfPreds, b.VfPreds...)
		out.Advantages = append(out.Advantages, b.Advantages...)
		out.ValueTargets = append(out.ValueTargets, b.ValueTargets...)
		out.EpisodeRewards = append(out.EpisodeRewards, b.EpisodeRewards...)
		out.EpisodeLengths = append(out.EpisodeLengths, b.EpisodeLengths...)
	}
	return out
}

// traj accumulates one sub-env's transitions during a sample call.
type traj struct {
	obs, act, rew, logp, dist, vf []float32
	// segEnd[k] ends segment k (exclusive); segLast[k] is its bootstrap.
	segEnd  []int
	segLast []float32
}

func (t *traj) reset() {
	t.obs, t.act, t.rew, t.logp, t.dist, t.vf = t.obs[:0], t.act[:0], t.rew[:0], t.logp[:0], t.dist[:0], t.vf[:0]
	t.segEnd, t.segLast = t.segEnd[:0], t.segLast[:0]
}

func (t *traj) len() int { return len(t.rew) }

// closeSegment ends the open segment (if it has transitions) with the
// bootstrap value last.
func (t *traj) closeSegment(last float32) {
	start := 0
	if k := len(t.segEnd); k > 0 {
		start = t.segEnd[k-1]
	}
	if t.len() > start {
		t.segEnd = append(t.segEnd, t.len())
		t.segLast = append(t.segLast, last)
	}
}

// gae appends t's transitions to b with advantages and value targets:
// δ_t = r_t + γ V_{t+1} − V_t, A_t = Σ (γλ)^k δ_{t+k}, R_t = A_t + V_t.
func (t *traj) appendTo(b *SampleBatch, gamma, lambda float64) {
	base := len(b.Advantages)
	b.Obs = append(b.Obs, t.obs...)
	b.Actions = append(b.Actions, t.act...)
	b.Rewards = append(b.Rewards, t.rew...)
	b.ActionLogp = append(b.ActionLogp, t.logp...)
	b.ActionDistInputs = append(b.ActionDistInputs, t.dist...)
	b.VfPreds = append(b.VfPreds, t.vf...)
	n := t.len()
	b.Advantages = append(b.Advantages, make([]float32, n)...)
	b.ValueTargets = append(b.ValueTargets, make([]float32, n)...)
	adv := b.Advantages[base:]
	tgt := b.ValueTargets[base:]
	start := 0
	for k, end := range t.segEnd {
		var a float64
		next := float64(t.segLast[k])
		for i := end - 1; i >= start; i-- {
			v := float64(t.vf[i])
			delta := float64(t.rew[i]) + gamma*next - v
			a = delta + gamma*lambda*a
			adv[i] = float32(a)
			tgt[i] = float32(a + v)
			next = v
		}
		start = end
	}
}
