package classic

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// bigSinCos evaluates sin and cos by Taylor series in 320-bit arithmetic
// after reducing with a 320-bit π, and rounds to float64.
func bigSinCos(x float64) (float64, float64) {
	const prec = 320
	nf := func(v float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(v) }
	pi, _ := new(big.Float).SetPrec(prec).SetString("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899862803482534211706798214808651328230664709384460955058223172535940812848111745028410270193852110555964462294895493038196")
	bx := nf(x)
	twoPi := new(big.Float).SetPrec(prec).Mul(pi, nf(2))
	q := new(big.Float).SetPrec(prec).Quo(bx, twoPi)
	k, _ := q.Int(nil)
	r := new(big.Float).SetPrec(prec).Sub(bx, new(big.Float).SetPrec(prec).Mul(new(big.Float).SetPrec(prec).SetInt(k), twoPi))
	z := new(big.Float).SetPrec(prec).Mul(r, r)
	sin := new(big.Float).SetPrec(prec).Set(r)
	cos := nf(1)
	ts := new(big.Float).SetPrec(prec).Set(r)
	tc := nf(1)
	for n := 1; n < 80; n++ {
		ts.Mul(ts, z)
		ts.Quo(ts, nf(float64((2*n)*(2*n+1))))
		ts.Neg(ts)
		sin.Add(sin, ts)
		tc.Mul(tc, z)
		tc.Quo(tc, nf(float64((2*n-1)*(2*n))))
		tc.Neg(tc)
		cos.Add(cos, tc)
	}
	s, _ := sin.Float64()
	c, _ := cos.Float64()
	return s, c
}

func TestCorrectlyRoundedSinCos(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 4000
	if testing.Short() {
		n = 1000
	}
	for i := range n {
		scale := []float64{0.3, 1, 8, 100}[i%4]
		x := (rng.Float64()*2 - 1) * scale
		ws, wc := bigSinCos(x)
		if got := crSin(x); got != ws {
			t.Errorf("crSin(%v) = %v, want %v", x, got, ws)
		}
		if got := crCos(x); got != wc {
			t.Errorf("crCos(%v) = %v, want %v", x, got, wc)
		}
	}
	for _, x := range []float64{0, math.Copysign(0, -1), 1e-300, math.Pi / 2, math.Pi, -math.Pi / 4} {
		ws, wc := bigSinCos(x)
		if crSin(x) != ws || crCos(x) != wc {
			t.Errorf("x=%v: got %v %v, want %v %v", x, crSin(x), crCos(x), ws, wc)
		}
	}
	if !math.IsNaN(crSin(math.Inf(1))) || !math.IsNaN(crCos(math.NaN())) {
		t.Error("non-finite input")
	}
}

func BenchmarkCrSin(b *testing.B) {
	x := 0.05
	var s float64
	for b.Loop() {
		s += crSin(x)
		x += 1e-9
	}
	_ = s
}

func BenchmarkCrCos(b *testing.B) {
	x := 0.05
	var s float64
	for b.Loop() {
		s += crCos(x)
		x += 1e-9
	}
	_ = s
}
