package classic

import (
	"math"
	"math/big"
	"sync"
)

// glibc-compatible sin and cos.
//
// Python's math.sin and math.cos (CartPole, MountainCar) call the C
// library. On x86-64, glibc dispatches to its FMA build of the IBM
// Accurate Mathematical Library routines (s_sin.c compiled with
// -mfma -ffp-contract=fast), whose results are within 0.55 ulp but are not
// always the correctly rounded ones. To reproduce Gymnasium trajectories
// bit for bit we evaluate the same algorithm: the same constants, the
// same table of sin/cos at k/128, the same operation order and the same
// fused multiply-adds (math.FMA, which is exact on every platform). The
// result matched glibc 2.36 on 8 million arguments (see
// glibcmath_test.go). Arguments beyond 105414350 (where glibc switches to
// a Payne–Hanek reduction) fall back to the correctly rounded crSin/crCos.

// Constants of glibc's usncs.h and s_sin.c.
var (
	gS1    = math.Float64frombits(0xbfc5555555555555)
	gS2    = math.Float64frombits(0x3f81111111110ece)
	gS3    = math.Float64frombits(0xbf2a01a019db08b8)
	gS4    = math.Float64frombits(0x3ec71de27b9a7ed9)
	gS5    = math.Float64frombits(0xbe5addffc2fcdf59)
	gBig   = math.Float64frombits(0x42c8000000000000)
	gHp0   = math.Float64frombits(0x3ff921fb54442d18)
	gHp1   = math.Float64frombits(0x3c91a62633145c07)
	gMp1   = math.Float64frombits(0x3ff921fb58000000)
	gMp2   = math.Float64frombits(0xbe4dde973c000000)
	gPp3   = math.Float64frombits(0xbc8cb3b398000000)
	gPp4   = math.Float64frombits(0xbacd747f23e32ed7)
	gHpinv = math.Float64frombits(0x3fe45f306dc9c883)
	gToint = math.Float64frombits(0x4338000000000000)
	gSn3   = -1.66666666666664880952546298448555e-01
	gSn5   = 8.33333214285722277379541354343671e-03
	gCs2   = 4.99999999999999999999950396842453e-01
	gCs4   = -4.16666666666664434524222570944589e-02
	gCs6   = 1.38888874007937613028114285595617e-03
)

// sincosTab holds, for k = 0..109, sin(k/128) and cos(k/128) each as a
// double plus the double nearest to its remainder (glibc's __sincostab).
// It is computed once from 256-bit arithmetic on first use.
var (
	sincosTab     [110][4]float64
	sincosTabOnce sync.Once
)

func initSincosTab() {
	const prec = 256
	for k := range sincosTab {
		x := new(big.Float).SetPrec(prec).Quo(big.NewFloat(float64(k)).SetPrec(prec), big.NewFloat(128).SetPrec(prec))
		s, c := bigSinCosPrec(x, prec)
		sn, _ := s.Float64()
		ssn, _ := new(big.Float).SetPrec(prec).Sub(s, new(big.Float).SetPrec(prec).SetFloat64(sn)).Float64()
		cs, _ := c.Float64()
		ccs, _ := new(big.Float).SetPrec(prec).Sub(c, new(big.Float).SetPrec(prec).SetFloat64(cs)).Float64()
		sincosTab[k] = [4]float64{sn, ssn, cs, ccs}
	}
}

// bigSinCosPrec sums the Taylor series of sin and cos for |x| < 1.
func bigSinCosPrec(x *big.Float, prec uint) (*big.Float, *big.Float) {
	nf := func(v float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(v) }
	z := new(big.Float).SetPrec(prec).Mul(x, x)
	sin := new(big.Float).SetPrec(prec).Set(x)
	cos := nf(1)
	ts := new(big.Float).SetPrec(prec).Set(x)
	tc := nf(1)
	for n := 1; n < 40; n++ {
		ts.Mul(ts, z)
		ts.Quo(ts, nf(float64((2*n)*(2*n+1))))
		ts.Neg(ts)
		sin.Add(sin, ts)
		tc.Mul(tc, z)
		tc.Quo(tc, nf(float64((2*n-1)*(2*n))))
		tc.Neg(tc)
		cos.Add(cos, tc)
	}
	return sin, cos
}

// highWord is the upper 32 bits of x without the sign.
func highWord(x float64) uint32 { return uint32(math.Float64bits(x)>>32) & 0x7fffffff }

// taylorSin is glibc's TAYLOR_SIN(x*x, x, dx) as GCC contracts it.
func taylorSin(x, dx float64) float64 {
	xx := x * x
	poly := math.FMA(xx, math.FMA(xx, math.FMA(xx, math.FMA(xx, gS5, gS4), gS3), gS2), gS1)
	t := math.FMA(xx, math.FMA(poly, x, -(0.5*dx)), dx)
	return x + t
}

func tableLookup(u float64) (sn, ssn, cs, ccs float64) {
	sincosTabOnce.Do(initSincosTab)
	k := uint32(math.Float64bits(u))
	e := &sincosTab[k]
	return e[0], e[1], e[2], e[3]
}

// doSin is glibc's do_sin (FMA build).
func doSin(x, dx float64) float64 {
	xold := x
	if math.Abs(x) < 0.126 {
		return taylorSin(x, dx)
	}
	if x <= 0 {
		dx = -dx
	}
	u := gBig + math.Abs(x)
	x = math.Abs(x) - (u - gBig)
	xx := x * x
	s := x + math.FMA(x*xx, math.FMA(xx, gSn5, gSn3), dx)
	c := math.FMA(x, dx, xx*math.FMA(xx, math.FMA(xx, gCs6, gCs4), gCs2))
	sn, ssn, cs, ccs := tableLookup(u)
	cor := math.FMA(cs, s, math.FMA(-sn, c, math.FMA(s, ccs, ssn)))
	return math.Copysign(sn+cor, xold)
}

// doCos is glibc's do_cos (FMA build).
func doCos(x, dx float64) float64 {
	if x < 0 {
		dx = -dx
	}
	u := gBig + math.Abs(x)
	x = math.Abs(x) - (u - gBig) + dx
	xx := x * x
	s := math.FMA(x*xx, math.FMA(xx, gSn5, gSn3), x)
	c := xx * math.FMA(xx, math.FMA(xx, gCs6, gCs4), gCs2)
	sn, ssn, cs, ccs := tableLookup(u)
	cor := math.FMA(-sn, s, math.FMA(-cs, c, math.FMA(-s, ssn, ccs)))
	return cs + cor
}

// reduceSincos is glibc's reduce_sincos for |x| < 105414350.
func reduceSincos(x float64) (a, da float64, n int) {
	t := math.FMA(x, gHpinv, gToint)
	xn := t - gToint
	y := math.FMA(-xn, gMp2, math.FMA(-xn, gMp1, x))
	n = int(uint32(math.Float64bits(t)) & 3)
	t2 := math.FMA(-xn, gPp3, y)
	db := math.FMA(-xn, gPp3, y-t2)
	b := math.FMA(-xn, gPp4, t2)
	db += math.FMA(-xn, gPp4, t2-b)
	return b, db, n
}

func doSincos(a, da float64, n int) float64 {
	var r float64
	if n&1 != 0 {
		r = doCos(a, da)
	} else {
		r = doSin(a, da)
	}
	if n&2 != 0 {
		return -r
	}
	return r
}

// libmSin is sin(x) as glibc's x86-64 FMA build computes it.
func libmSin(x float64) float64 {
	k := highWord(x)
	switch {
	case k < 0x3e500000:
		return x
	case k < 0x3feb6000:
		return doSin(x, 0)
	case k < 0x400368fd:
		t := gHp0 - math.Abs(x)
		return math.Copysign(doCos(t, gHp1), x)
	case k < 0x419921fb:
		a, da, n := reduceSincos(x)
		return doSincos(a, da, n)
	case k < 0x7ff00000:
		return crSin(x)
	}
	return x - x // NaN for ±Inf and NaN
}

// libmCos is cos(x) as glibc's x86-64 FMA build computes it.
func libmCos(x float64) float64 {
	k := highWord(x)
	switch {
	case k < 0x3e400000:
		return 1
	case k < 0x3feb6000:
		return doCos(x, 0)
	case k < 0x400368fd:
		y := gHp0 - math.Abs(x)
		a := y + gHp1
		da := (y - a) + gHp1
		return doSin(a, da)
	case k < 0x419921fb:
		a, da, n := reduceSincos(x)
		return doSincos(a, da, n+1)
	case k < 0x7ff00000:
		return crCos(x)
	}
	return x - x
}
