package nn

import "math"

// Adam is torch.optim.Adam with its defaults (β1 0.9, β2 0.999, ε 1e-8, no
// weight decay), the optimizer RLlib's torch policies use. Its state is two
// moment vectors and a step count, all exported so checkpoints can save
// them.
type Adam struct {
	Beta1, Beta2, Eps float64
	// M and V are the first and second moment estimates.
	M, V []float32
	// Step counts the updates applied.
	Step int64
}

// NewAdam returns Adam for n parameters with torch's defaults.
func NewAdam(n int) *Adam {
	return &Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, M: make([]float32, n), V: make([]float32, n)}
}

// Update applies one step with learning rate lr to params given grad.
func (a *Adam) Update(params, grad []float32, lr float64) {
	s := a.Begin(lr)
	s.Apply(a, params, grad, 0, len(params))
}

// AdamStep holds one step's constants, so that disjoint ranges of the
// parameters can be updated in parallel (Apply) with the same result as
// Update.
type AdamStep struct {
	stepSize, invSqrtBC2, b1, b2, c1, c2, eps float32
}

// Begin counts a step and returns its constants.
func (a *Adam) Begin(lr float64) AdamStep {
	a.Step++
	bc1 := 1 - math.Pow(a.Beta1, float64(a.Step))
	bc2 := 1 - math.Pow(a.Beta2, float64(a.Step))
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	return AdamStep{stepSize: float32(lr / bc1), invSqrtBC2: float32(1 / math.Sqrt(bc2)), b1: b1, b2: b2, c1: 1 - b1, c2: 1 - b2, eps: float32(a.Eps)}
}

// Apply updates params[lo:hi] with grad[lo:hi].
func (s AdamStep) Apply(a *Adam, params, grad []float32, lo, hi int) {
	stepSize, invSqrtBC2, b1, b2, c1, c2, eps := s.stepSize, s.invSqrtBC2, s.b1, s.b2, s.c1, s.c2, s.eps
	params = params[lo:hi]
	m, v := a.M[lo:hi], a.V[lo:hi]
	grad = grad[lo:hi]
	m, v, grad = m[:len(params)], v[:len(params)], grad[:len(params)]
	i := 0
	if useAVX {
		// The same operations in the same order, eight at a time.
		i = len(params) &^ 7
		c := [7]float32{stepSize, invSqrtBC2, b1, b2, c1, c2, eps}
		adamAVX(params[:i], grad[:i], m[:i], v[:i], &c)
	}
	for ; i < len(params); i++ {
		g := grad[i]
		mi := b1*m[i] + c1*g
		vi := b2*v[i] + c2*g*g
		m[i], v[i] = mi, vi
		denom := sqrt32(vi)*invSqrtBC2 + eps
		params[i] -= stepSize * mi / denom
	}
}

// Add sets dst[i] += src[i].
func Add(dst, src []float32) {
	src = src[:len(dst)]
	i := 0
	if useAVX {
		i = len(dst) &^ 7
		addAVX(dst[:i], src[:i])
	}
	for ; i < len(dst); i++ {
		dst[i] += src[i]
	}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
