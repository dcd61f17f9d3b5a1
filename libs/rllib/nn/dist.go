package nn

import (
	"math"
	"math/rand/v2"
)

// Distribution is an action distribution parameterised by a row of the
// model's outputs ("distribution inputs" in RLlib). Methods work in float64
// on one row; the learner calls them per sample.
type Distribution interface {
	// NumInputs is the width of one row of distribution inputs.
	NumInputs() int
	// ActionDim is the number of float values one action takes.
	ActionDim() int
	// Sample draws an action into act (explore) or writes the mode
	// (argmax / mean) when explore is false, and returns its log-prob.
	Sample(in []float32, act []float32, explore bool, rng *rand.Rand) float64
	// OldWidth is the width of PrepareOld's output.
	OldWidth() int
	// PrepareOld turns one row of old distribution inputs into the form
	// LogpGrad reads, so a learner computes it once per batch rather than
	// once per epoch.
	PrepareOld(old, out []float32)
	// LogpGrad returns log π(act), the entropy H and KL(old‖new) against
	// the old distribution (prepared by PrepareOld), writes into dLogp the gradient of log π(act) and into
	// dIn the gradient of cEnt·H + cKL·KL(old‖new), both with respect to
	// in. A loss adds its own multiple of dLogp to dIn.
	LogpGrad(in, old, act []float32, cEnt, cKL float64, dIn, dLogp []float32) (logp, ent, kl float64)
	// Logp returns log π(act) only.
	Logp(in, act []float32) float64
}

// Categorical is a softmax over N logits (Discrete actions). Actions are the
// index as a float.
type Categorical struct{ N int }

// NumInputs implements Distribution.
func (c Categorical) NumInputs() int { return c.N }

// ActionDim implements Distribution.
func (c Categorical) ActionDim() int { return 1 }

// softmax writes probabilities and log-probabilities of logits.
func softmax(logits []float32, p, logp []float64) {
	mx := math.Inf(-1)
	for _, z := range logits {
		mx = max(mx, float64(z))
	}
	var s float64
	for i, z := range logits {
		p[i] = math.Exp(float64(z) - mx)
		s += p[i]
	}
	ls := math.Log(s)
	for i, z := range logits {
		logp[i] = float64(z) - mx - ls
		p[i] /= s
	}
}

// Sample implements Distribution.
func (c Categorical) Sample(in, act []float32, explore bool, rng *rand.Rand) float64 {
	var pb, lb [16]float64
	p, lp := scratch(pb[:], c.N), scratch(lb[:], c.N)
	softmax(in[:c.N], p, lp)
	a := 0
	if explore {
		u := rng.Float64()
		a = c.N - 1
		var cum float64
		for i, pi := range p {
			cum += pi
			if u < cum {
				a = i
				break
			}
		}
	} else {
		for i := range p {
			if in[i] > in[a] {
				a = i
			}
		}
	}
	act[0] = float32(a)
	return lp[a]
}

func scratch(buf []float64, n int) []float64 {
	if n <= len(buf) {
		return buf[:n]
	}
	return make([]float64, n)
}

// OldWidth implements Distribution: probabilities then log-probabilities.
func (c Categorical) OldWidth() int { return 2 * c.N }

// PrepareOld implements Distribution.
func (c Categorical) PrepareOld(old, out []float32) {
	var pb, lb [16]float64
	p, lp := scratch(pb[:], c.N), scratch(lb[:], c.N)
	softmax(old[:c.N], p, lp)
	for i := range p {
		out[i] = float32(p[i])
		out[c.N+i] = float32(lp[i])
	}
}

// Logp implements Distribution.
func (c Categorical) Logp(in, act []float32) float64 {
	var pb, lb [16]float64
	p, lp := scratch(pb[:], c.N), scratch(lb[:], c.N)
	softmax(in[:c.N], p, lp)
	return lp[int(act[0])]
}

// LogpGrad implements Distribution.
func (c Categorical) LogpGrad(in, old, act []float32, cEnt, cKL float64, dIn, dLogp []float32) (logp, ent, kl float64) {
	var pb, lb [16]float64
	p, lp := scratch(pb[:], c.N), scratch(lb[:], c.N)
	softmax(in[:c.N], p, lp)
	q, lq := old[:c.N], old[c.N:2*c.N]
	a := int(act[0])
	for i := range p {
		ent -= p[i] * lp[i]
		kl += float64(q[i]) * (float64(lq[i]) - lp[i])
	}
	for i := range p {
		// d log p_a / dz_i = 1[i=a] − p_i
		gl := -p[i]
		if i == a {
			gl++
		}
		dLogp[i] = float32(gl)
		// dH/dz_i = −p_i (log p_i + H)
		g := cEnt * (-p[i] * (lp[i] + ent))
		// dKL(q‖p)/dz_i = p_i − q_i
		g += cKL * (p[i] - float64(q[i]))
		dIn[i] = float32(g)
	}
	return lp[a], ent, kl
}

// DiagGaussian is a diagonal Gaussian over Dim values (float Box actions);
// its inputs are Dim means followed by Dim log-stds, as RLlib's.
type DiagGaussian struct{ Dim int }

// NumInputs implements Distribution.
func (g DiagGaussian) NumInputs() int { return 2 * g.Dim }

// ActionDim implements Distribution.
func (g DiagGaussian) ActionDim() int { return g.Dim }

const halfLog2Pi = 0.91893853320467274178 // ½·log(2π)

// OldWidth implements Distribution.
func (g DiagGaussian) OldWidth() int { return 2 * g.Dim }

// PrepareOld implements Distribution: the inputs as they are.
func (g DiagGaussian) PrepareOld(old, out []float32) { copy(out, old[:2*g.Dim]) }

// Sample implements Distribution.
func (g DiagGaussian) Sample(in, act []float32, explore bool, rng *rand.Rand) float64 {
	var logp float64
	for i := 0; i < g.Dim; i++ {
		mu, ls := float64(in[i]), float64(in[g.Dim+i])
		x := mu
		if explore {
			x = mu + math.Exp(ls)*rng.NormFloat64()
		}
		act[i] = float32(x)
		z := (float64(act[i]) - mu) / math.Exp(ls)
		logp += -0.5*z*z - ls - halfLog2Pi
	}
	return logp
}

// Logp implements Distribution.
func (g DiagGaussian) Logp(in, act []float32) float64 {
	var logp float64
	for i := 0; i < g.Dim; i++ {
		mu, ls := float64(in[i]), float64(in[g.Dim+i])
		z := (float64(act[i]) - mu) / math.Exp(ls)
		logp += -0.5*z*z - ls - halfLog2Pi
	}
	return logp
}

// LogpGrad implements Distribution.
func (g DiagGaussian) LogpGrad(in, old, act []float32, cEnt, cKL float64, dIn, dLogp []float32) (logp, ent, kl float64) {
	for i := 0; i < g.Dim; i++ {
		mu, ls := float64(in[i]), float64(in[g.Dim+i])
		mo, lso := float64(old[i]), float64(old[g.Dim+i])
		sd := math.Exp(ls)
		z := (float64(act[i]) - mu) / sd
		logp += -0.5*z*z - ls - halfLog2Pi
		ent += ls + 0.5 + halfLog2Pi
		vo := math.Exp(2 * lso)
		v := sd * sd
		dm := mo - mu
		kl += ls - lso + (vo+dm*dm)/(2*v) - 0.5
		// d logp/dμ = z/σ; d logp/d logσ = z² − 1
		// dH/d logσ = 1
		// dKL/dμ = (μ − μ_old)/σ²; dKL/d logσ = 1 − (σ_old² + Δμ²)/σ²
		dLogp[i] = float32(z / sd)
		dLogp[g.Dim+i] = float32(z*z - 1)
		dIn[i] = float32(cKL * (mu - mo) / v)
		dIn[g.Dim+i] = float32(cEnt + cKL*(1-(vo+dm*dm)/v))
	}
	return logp, ent, kl
}
