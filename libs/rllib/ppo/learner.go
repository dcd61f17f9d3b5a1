package ppo

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/goray/goray/libs/rllib/nn"
	"github.com/goray/goray/libs/rllib/rollout"
)

// lossCoeffs are the loss's constants for one iteration.
type lossCoeffs struct {
	clip, vfClip, vfCoeff, entCoeff, klCoeff float64
}

// shardStats are one shard's sums over its rows, combined in shard order.
type shardStats struct {
	policyLoss, vfLoss, entropy, kl float64
	// explained variance pieces: Σy, Σy², Σd, Σd² with y = target, d = y − v.
	sy, syy, sd, sdd float64
}

// job is one minibatch's shards. Goroutines claim shards with an atomic
// counter; whoever claims shard s writes only shard s's buffers, so the
// result does not depend on who ran what.
type job struct {
	run    func(s int)
	shards int
	next   atomic.Int64
	wg     sync.WaitGroup
}

func (j *job) work() {
	for {
		s := int(j.next.Add(1) - 1)
		if s >= j.shards {
			return
		}
		j.run(s)
		j.wg.Done()
	}
}

// learner runs minibatch SGD steps with a fixed sharding.
type learner struct {
	model  *nn.Model
	dist   nn.Distribution
	shards int
	procs  int
	ws     []*nn.Workspace
	grads  [][]float32
	grad   []float32
	dDist  [][]float32
	dV     [][]float32
	dLogp  [][]float32
	stats  []shardStats
	wake   chan *job
	pt     []float32 // the weights' transposes, shared by the shards
	prep   []float32 // the batch's old distributions, prepared once
}

// helper works on the jobs it is woken for until the channel closes.
func (l *learner) helper() {
	for j := range l.wake {
		j.work()
	}
}

// close stops the helper goroutines.
func (l *learner) close() { close(l.wake) }

func newLearner(pol *rollout.Policy, shards, minibatch int) *learner {
	per := (minibatch + shards - 1) / shards
	l := &learner{model: pol.Model, dist: pol.Dist, shards: shards, procs: min(shards, runtime.GOMAXPROCS(0))}
	np := pol.Model.NumParams()
	for s := 0; s < shards; s++ {
		l.ws = append(l.ws, pol.Model.NewWorkspace(per))
		l.grads = append(l.grads, make([]float32, np))
		l.dDist = append(l.dDist, make([]float32, per*pol.Dist.NumInputs()))
		l.dV = append(l.dV, make([]float32, per))
		l.dLogp = append(l.dLogp, make([]float32, pol.Dist.NumInputs()))
	}
	l.grad = make([]float32, np)
	l.pt = make([]float32, np)
	for _, ws := range l.ws {
		ws.SetTransposed(l.pt)
	}
	l.stats = make([]shardStats, shards)
	l.wake = make(chan *job, l.procs)
	for range l.procs - 1 {
		go l.helper()
	}
	return l
}

// load prepares the batch's old action distributions.
func (l *learner) load(b *rollout.SampleBatch) {
	ow, dd := l.dist.OldWidth(), b.DistDim
	n := b.Len()
	if cap(l.prep) < n*ow {
		l.prep = make([]float32, n*ow)
	}
	l.prep = l.prep[:n*ow]
	for i := 0; i < n; i++ {
		l.dist.PrepareOld(b.ActionDistInputs[i*dd:(i+1)*dd], l.prep[i*ow:(i+1)*ow])
	}
}

// step runs one Adam step on rows [lo, hi) of b and returns the
// minibatch's stats (means).
func (l *learner) step(params []float32, adam *nn.Adam, lr, gradClip float64, b *rollout.SampleBatch, lo, hi int, c lossCoeffs) (st minibatchStats) {
	n := hi - lo
	per := (n + l.shards - 1) / l.shards
	l.model.Transpose(params, l.pt)
	j := &job{run: func(s int) {
		a := lo + s*per
		l.shard(s, params, b, a, min(a+per, hi), n, c)
	}, shards: l.shards}
	j.wg.Add(l.shards)
	// Wake the helpers without blocking: a helper that is slow to wake
	// simply finds no shard left, and this goroutine does the work.
	for range l.procs - 1 {
		select {
		case l.wake <- j:
		default:
		}
	}
	j.work()
	j.wg.Wait()
	// Reduce and update over parameter chunks; each chunk sums the shards
	// in shard order, so the result is independent of the schedule.
	np := len(params)
	if gradClip > 0 {
		// Global-norm clipping needs the whole gradient first.
		l.reduce(0, np)
		var norm float64
		for _, v := range l.grad {
			norm += float64(v) * float64(v)
		}
		norm = math.Sqrt(norm)
		if norm > gradClip {
			scale := float32(gradClip / (norm + 1e-6))
			for i := range l.grad {
				l.grad[i] *= scale
			}
		}
		adam.Update(params, l.grad, lr)
	} else {
		as := adam.Begin(lr)
		chunks := min(l.procs*4, max(1, np/2048))
		size := (np + chunks - 1) / chunks
		u := &job{run: func(c int) {
			a := c * size
			e := min(a+size, np)
			if a < e {
				l.reduce(a, e)
				as.Apply(adam, params, l.grad, a, e)
			}
		}, shards: chunks}
		u.wg.Add(chunks)
		if chunks > 1 {
			for range l.procs - 1 {
				select {
				case l.wake <- u:
				default:
				}
			}
		}
		u.work()
		u.wg.Wait()
	}
	var tot shardStats
	for _, s := range l.stats {
		tot.policyLoss += s.policyLoss
		tot.vfLoss += s.vfLoss
		tot.entropy += s.entropy
		tot.kl += s.kl
		tot.sy += s.sy
		tot.syy += s.syy
		tot.sd += s.sd
		tot.sdd += s.sdd
	}
	fn := float64(n)
	st.policyLoss = tot.policyLoss / fn
	st.vfLoss = tot.vfLoss / fn
	st.entropy = tot.entropy / fn
	st.kl = tot.kl / fn
	st.totalLoss = st.policyLoss + c.vfCoeff*st.vfLoss - c.entCoeff*st.entropy + c.klCoeff*st.kl
	varY := tot.syy/fn - (tot.sy/fn)*(tot.sy/fn)
	varD := tot.sdd/fn - (tot.sd/fn)*(tot.sd/fn)
	if varY > 0 {
		st.vfExplainedVar = math.Max(-1, 1-varD/varY)
	} else {
		st.vfExplainedVar = math.NaN()
	}
	return st
}

func (l *learner) reduce(lo, hi int) {
	g := l.grad[lo:hi]
	copy(g, l.grads[0][lo:hi])
	for s := 1; s < l.shards; s++ {
		nn.Add(g, l.grads[s][lo:hi])
	}
}

// shard computes the gradient of the minibatch loss restricted to rows
// [a, e) into l.grads[s]; n is the minibatch size the means divide by.
func (l *learner) shard(s int, params []float32, b *rollout.SampleBatch, a, e, n int, c lossCoeffs) {
	grad := l.grads[s]
	clear(grad)
	l.stats[s] = shardStats{}
	rows := e - a
	if rows <= 0 {
		return
	}
	ws := l.ws[s]
	rd, ad, dd := b.RowDim, b.ActDim, b.DistDim
	ow := l.dist.OldWidth()
	obs := b.Obs[a*rd : e*rd]
	dist, vals := ws.Forward(params, obs, rows)
	dDist := l.dDist[s][:rows*dd]
	dV := l.dV[s][:rows]
	inv := 1 / float64(n)
	st := &l.stats[s]
	dLogp := l.dLogp[s]
	for r := 0; r < rows; r++ {
		i := a + r
		in := dist[r*dd : (r+1)*dd]
		old := l.prep[i*ow : (i+1)*ow]
		act := b.Actions[i*ad : (i+1)*ad]
		adv := float64(b.Advantages[i])
		dIn := dDist[r*dd : (r+1)*dd]
		logp, ent, kl := l.dist.LogpGrad(in, old, act, -c.entCoeff*inv, c.klCoeff*inv, dIn, dLogp)
		ratio := math.Exp(logp - float64(b.ActionLogp[i]))
		clipped := math.Min(math.Max(ratio, 1-c.clip), 1+c.clip)
		surr := math.Min(adv*ratio, adv*clipped)
		// The gradient flows through the unclipped term when it is the
		// minimum; the clipped term is constant outside [1−ε, 1+ε].
		if adv*ratio <= adv*clipped {
			cLogp := float32(-adv * ratio * inv)
			for k := range dIn {
				dIn[k] += cLogp * dLogp[k]
			}
		}
		v := float64(vals[r])
		y := float64(b.ValueTargets[i])
		d := v - y
		sq := d * d
		vl := sq
		dv := 2 * d * c.vfCoeff * inv
		if sq > c.vfClip {
			vl = c.vfClip
			dv = 0
		}
		dV[r] = float32(dv)
		st.policyLoss -= surr
		st.vfLoss += vl
		st.entropy += ent
		st.kl += kl
		st.sy += y
		st.syy += y * y
		st.sd += y - v
		st.sdd += (y - v) * (y - v)
	}
	ws.Backward(params, grad, obs, dDist, dV)
}

// minibatchStats are one minibatch's learner stats.
type minibatchStats struct {
	policyLoss, vfLoss, totalLoss, entropy, kl, vfExplainedVar float64
}
