package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestTanh32Accuracy(t *testing.T) {
	var worst float64
	for x := -10.0; x <= 10; x += 0.001 {
		got := float64(tanh32(float32(x)))
		want := math.Tanh(float64(float32(x)))
		worst = max(worst, math.Abs(got-want))
	}
	xs := make([]float32, 0, 20001)
	for x := -10.0; x <= 10; x += 0.001 {
		xs = append(xs, float32(x))
	}
	ys := append([]float32(nil), xs...)
	activate(Tanh, ys)
	for i, x := range xs {
		worst = max(worst, math.Abs(float64(ys[i])-math.Tanh(float64(x))))
	}
	if worst > 5e-7 {
		t.Fatalf("tanh32 max abs error %g, want <= 5e-7", worst)
	}
}

// lossOf is a scalar test loss: Σ cᵢ·distᵢ + Σ dⱼ·valueⱼ, whose gradient at
// the outputs is (c, d).
func lossOf(ws *Workspace, params, obs []float32, n int, c, d []float32) float64 {
	dist, vals := ws.Forward(params, obs, n)
	var s float64
	for i := range dist {
		s += float64(c[i]) * float64(dist[i])
	}
	for i := range vals {
		s += float64(d[i]) * float64(vals[i])
	}
	return s
}

func TestGradientMatchesFiniteDifferences(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
	}{
		{"onehot-tanh-separate", Spec{ObsDim: 5, OneHot: true, Hiddens: []int{6, 4}, Activation: Tanh, NumOutputs: 3}},
		{"dense-tanh-shared", Spec{ObsDim: 4, Hiddens: []int{7, 5}, Activation: Tanh, NumOutputs: 2, ShareLayers: true}},
		{"dense-relu-separate", Spec{ObsDim: 3, Hiddens: []int{8}, Activation: ReLU, NumOutputs: 4}},
		{"dense-linear-nohidden", Spec{ObsDim: 3, Activation: Linear, NumOutputs: 2, ShareLayers: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewModel(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			params := make([]float32, m.NumParams())
			m.Init(params, rng)
			// Larger weights than normc's 0.01 heads so every path matters.
			for i := range params {
				params[i] += float32(rng.NormFloat64() * 0.3)
			}
			const n = 5
			var obs []float32
			for i := 0; i < n; i++ {
				if tc.spec.OneHot {
					obs = append(obs, float32(rng.IntN(tc.spec.ObsDim)))
				} else {
					for j := 0; j < tc.spec.ObsDim; j++ {
						obs = append(obs, float32(rng.NormFloat64()))
					}
				}
			}
			c := make([]float32, n*tc.spec.NumOutputs)
			d := make([]float32, n)
			for i := range c {
				c[i] = float32(rng.NormFloat64())
			}
			for i := range d {
				d[i] = float32(rng.NormFloat64())
			}
			ws := m.NewWorkspace(n)
			grad := make([]float32, m.NumParams())
			ws.Forward(params, obs, n)
			ws.Backward(params, grad, obs, c, d)
			// A shared, precomputed transpose gives the same bits.
			pt := make([]float32, m.NumParams())
			m.Transpose(params, pt)
			ws.SetTransposed(pt)
			grad2 := make([]float32, m.NumParams())
			ws.Forward(params, obs, n)
			ws.Backward(params, grad2, obs, c, d)
			ws.SetTransposed(nil)
			for i := range grad {
				if grad[i] != grad2[i] {
					t.Fatalf("param %d: gradient %v with a shared transpose, %v without", i, grad2[i], grad[i])
				}
			}
			for i := range params {
				orig := params[i]
				h := float32(1e-2)
				if tc.spec.Activation == ReLU {
					h = 1e-3 // stay on one side of the kinks
				}
				params[i] = orig + h
				up := lossOf(ws, params, obs, n, c, d)
				params[i] = orig - h
				down := lossOf(ws, params, obs, n, c, d)
				params[i] = orig
				fd := (up - down) / (2 * float64(h))
				if diff := math.Abs(fd - float64(grad[i])); diff > 2e-2*math.Max(1, math.Abs(fd)) {
					t.Fatalf("param %d: backprop %g, finite difference %g", i, grad[i], fd)
				}
			}
		})
	}
}

func TestDistributionGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	dists := []Distribution{Categorical{N: 4}, DiagGaussian{Dim: 2}}
	for _, dist := range dists {
		k := dist.NumInputs()
		in := make([]float32, k)
		old := make([]float32, k)
		for i := range in {
			in[i] = float32(rng.NormFloat64() * 0.5)
			old[i] = float32(rng.NormFloat64() * 0.5)
		}
		act := make([]float32, dist.ActionDim())
		dist.Sample(old, act, true, rng)
		const cL, cE, cK = 0.7, -0.3, 1.3
		prep := make([]float32, dist.OldWidth())
		dist.PrepareOld(old, prep)
		f := func(x []float32) float64 {
			lp, ent, kl := dist.LogpGrad(x, prep, act, 0, 0, make([]float32, k), make([]float32, k))
			return cL*lp + cE*ent + cK*kl
		}
		dIn := make([]float32, k)
		dLogp := make([]float32, k)
		lp, _, kl0 := dist.LogpGrad(in, prep, act, cE, cK, dIn, dLogp)
		if _, _, self := dist.LogpGrad(old, prep, act, 0, 0, make([]float32, k), make([]float32, k)); math.Abs(self) > 1e-6 || kl0 <= 0 {
			t.Fatalf("%T: KL(old‖old) = %g, KL(old‖new) = %g", dist, self, kl0)
		}
		for i := range dIn {
			dIn[i] += cL * dLogp[i]
		}
		if got := dist.Logp(in, act); math.Abs(got-lp) > 1e-12 {
			t.Fatalf("%T: Logp %g != LogpGrad %g", dist, got, lp)
		}
		for i := range in {
			orig := in[i]
			const h = 1e-3
			in[i] = orig + h
			up := f(in)
			in[i] = orig - h
			down := f(in)
			in[i] = orig
			fd := (up - down) / (2 * h)
			if math.Abs(fd-float64(dIn[i])) > 1e-3 {
				t.Fatalf("%T input %d: analytic %g, finite difference %g", dist, i, dIn[i], fd)
			}
		}
	}
}

func TestAdamMatchesTorchFirstStep(t *testing.T) {
	// torch: the first Adam step moves each parameter by lr·sign(g) (up to ε).
	a := NewAdam(3)
	p := []float32{1, 2, 3}
	a.Update(p, []float32{0.5, -2, 0}, 0.1)
	want := []float32{0.9, 2.1, 3}
	for i := range p {
		if math.Abs(float64(p[i]-want[i])) > 1e-6 {
			t.Fatalf("param %d = %v, want %v", i, p[i], want[i])
		}
	}
	if a.Step != 1 {
		t.Fatalf("step = %d", a.Step)
	}
}

func TestBadSpec(t *testing.T) {
	for _, s := range []Spec{
		{ObsDim: 0, NumOutputs: 2, Activation: Tanh},
		{ObsDim: 2, NumOutputs: 0, Activation: Tanh},
		{ObsDim: 2, NumOutputs: 2, Activation: "swish"},
		{ObsDim: 2, NumOutputs: 2, Activation: Tanh, Hiddens: []int{3, -1}},
	} {
		if _, err := NewModel(s); err == nil {
			t.Fatalf("NewModel(%+v) = nil error", s)
		}
	}
}

// TestKernelsMatchPortable compares the dispatching kernels with the
// portable loops on sizes with and without SIMD tails.
func TestKernelsMatchPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sz := range [][2]int{{16, 32}, {32, 32}, {7, 40}, {33, 4}, {5, 1}, {4, 256}, {256, 72}} {
		in, out := sz[0], sz[1]
		const n = 3
		w := make([]float32, in*out)
		b := make([]float32, out)
		x := make([]float32, n*in)
		dy := make([]float32, n*out)
		for _, s := range [][]float32{w, b, x, dy} {
			for i := range s {
				s[i] = float32(rng.NormFloat64())
			}
		}
		y := make([]float32, n*out)
		denseForward(w, b, x, n, in, out, y)
		dw, db, dx := make([]float32, in*out), make([]float32, out), make([]float32, n*in)
		denseBackward(w, x, dy, n, in, out, dw, db, dx, make([]float32, in*out), false)
		for s := 0; s < n; s++ {
			for j := 0; j < out; j++ {
				want := float64(b[j])
				for i := 0; i < in; i++ {
					want += float64(x[s*in+i]) * float64(w[i*out+j])
				}
				if math.Abs(want-float64(y[s*out+j])) > 1e-4*math.Max(1, math.Abs(want)) {
					t.Fatalf("%dx%d forward [%d,%d] = %v, want %v", in, out, s, j, y[s*out+j], want)
				}
			}
			for i := 0; i < in; i++ {
				var want float64
				for j := 0; j < out; j++ {
					want += float64(w[i*out+j]) * float64(dy[s*out+j])
				}
				if math.Abs(want-float64(dx[s*in+i])) > 1e-4*math.Max(1, math.Abs(want)) {
					t.Fatalf("%dx%d dx [%d,%d] = %v, want %v", in, out, s, i, dx[s*in+i], want)
				}
			}
		}
		for i := 0; i < in; i++ {
			for j := 0; j < out; j++ {
				var want float64
				for s := 0; s < n; s++ {
					want += float64(x[s*in+i]) * float64(dy[s*out+j])
				}
				if math.Abs(want-float64(dw[i*out+j])) > 1e-4*math.Max(1, math.Abs(want)) {
					t.Fatalf("%dx%d dw [%d,%d] = %v, want %v", in, out, i, j, dw[i*out+j], want)
				}
			}
		}
	}
}

// TestTransposedKernelsMatch checks the output-major kernels against the
// input-major ones on the same weights.
func TestTransposedKernelsMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, sz := range [][2]int{{32, 4}, {32, 1}, {13, 2}, {256, 1}, {5, 3}} {
		in, out := sz[0], sz[1]
		const n = 4
		w := make([]float32, in*out)
		wt := make([]float32, in*out)
		b := make([]float32, out)
		x := make([]float32, n*in)
		dy := make([]float32, n*out)
		for _, s := range [][]float32{w, b, x, dy} {
			for i := range s {
				s[i] = float32(rng.NormFloat64())
			}
		}
		for i := 0; i < in; i++ {
			for j := 0; j < out; j++ {
				wt[j*in+i] = w[i*out+j]
			}
		}
		y, yt := make([]float32, n*out), make([]float32, n*out)
		denseForward(w, b, x, n, in, out, y)
		denseForwardT(wt, b, x, n, in, out, yt)
		dw, db, dx := make([]float32, in*out), make([]float32, out), make([]float32, n*in)
		dwt, dbt, dxt := make([]float32, in*out), make([]float32, out), make([]float32, n*in)
		denseBackward(w, x, dy, n, in, out, dw, db, dx, make([]float32, in*out), false)
		denseBackwardT(wt, x, dy, n, in, out, dwt, dbt, dxt, nil, false)
		near := func(what string, a, b float32) {
			if math.Abs(float64(a-b)) > 1e-4*math.Max(1, math.Abs(float64(a))) {
				t.Fatalf("%dx%d %s: %v vs %v", in, out, what, a, b)
			}
		}
		for i := range y {
			near("y", y[i], yt[i])
		}
		for i := range dx {
			near("dx", dx[i], dxt[i])
		}
		for i := range db {
			near("db", db[i], dbt[i])
		}
		for i := 0; i < in; i++ {
			for j := 0; j < out; j++ {
				near("dw", dw[i*out+j], dwt[j*in+i])
			}
		}
	}
}
