package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPortablePathMatchesAVX runs a model's forward and backward passes
// with the assembly kernels and with the portable Go loops (what non-amd64
// machines run) and compares them.
func TestPortablePathMatchesAVX(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2/FMA on this machine")
	}
	spec := Spec{ObsDim: 12, Hiddens: []int{40, 24}, Activation: Tanh, NumOutputs: 3}
	m, err := NewModel(spec)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	params := make([]float32, m.NumParams())
	m.Init(params, rng)
	const n = 9
	obs := make([]float32, n*spec.ObsDim)
	dd := make([]float32, n*spec.NumOutputs)
	dv := make([]float32, n)
	for _, s := range [][]float32{obs, dd, dv} {
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
	}
	run := func() (dist, vals, grad []float32) {
		ws := m.NewWorkspace(n)
		d, v := ws.Forward(params, obs, n)
		dist, vals = append([]float32(nil), d...), append([]float32(nil), v...)
		grad = make([]float32, m.NumParams())
		ws.Backward(params, grad, obs, dd, dv)
		return dist, vals, grad
	}
	d1, v1, g1 := run()
	useAVX = false
	d2, v2, g2 := run()
	useAVX = true
	for _, c := range []struct {
		name string
		a, b []float32
	}{{"dist", d1, d2}, {"values", v1, v2}, {"grad", g1, g2}} {
		for i := range c.a {
			if math.Abs(float64(c.a[i]-c.b[i])) > 1e-4*math.Max(1, math.Abs(float64(c.a[i]))) {
				t.Fatalf("%s[%d]: AVX %v, portable %v", c.name, i, c.a[i], c.b[i])
			}
		}
	}
}

// TestAdamAVXIsBitIdentical: the vectorised Adam step does the Go loop's
// float32 operations in the same order, so both give the same bits.
func TestAdamAVXIsBitIdentical(t *testing.T) {
	if !useAVX {
		t.Skip("no AVX2/FMA on this machine")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	const n = 45
	p1, g := make([]float32, n), make([]float32, n)
	for i := range p1 {
		p1[i], g[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	p2 := append([]float32(nil), p1...)
	a1, a2 := NewAdam(n), NewAdam(n)
	for step := 0; step < 3; step++ {
		a1.Update(p1, g, 1e-3)
		useAVX = false
		a2.Update(p2, g, 1e-3)
		useAVX = true
	}
	for i := range p1 {
		if math.Float32bits(p1[i]) != math.Float32bits(p2[i]) || a1.M[i] != a2.M[i] || a1.V[i] != a2.V[i] {
			t.Fatalf("element %d: AVX %v (m %v v %v), Go %v (m %v v %v)", i, p1[i], a1.M[i], a1.V[i], p2[i], a2.M[i], a2.V[i])
		}
	}
	x, y := append([]float32(nil), g...), append([]float32(nil), g...)
	Add(x, p1)
	useAVX = false
	Add(y, p1)
	useAVX = true
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("Add element %d: %v vs %v", i, x[i], y[i])
		}
	}
}
