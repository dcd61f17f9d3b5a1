package classic

import "math"

// Correctly rounded sin and cos.
//
// libmSin/libmCos (glibcmath.go) reproduce glibc, which is what Gymnasium's
// Python code sees; these correctly rounded versions serve where glibc's
// algorithm is not reproduced (arguments beyond 105414350) and as an
// independent reference in tests. A fast double evaluation is accepted
// only when a rounding test proves it correctly rounded (Ziv's strategy),
// else a double-double evaluation to ~2^-100 decides.

// π/2 split for Cody–Waite reduction: c1 and c2 have 33 significant bits,
// so k·c1 and k·c2 are exact for |k| < 2^20.
const (
	pio2c1  = 1.57079632673412561417e+00
	pio2c2  = 6.07710050630396597660e-11
	pio2c3  = 2.02226624871116645580e-21
	pio2c3t = 8.47842766036889956997e-32
	invPio2 = 6.36619772367581382433e-01
	// maxReduce bounds |x| for the exact reduction; beyond it the envs'
	// states are meaningless anyway and we fall back to math.Sin/Cos.
	maxReduce = 1 << 19
)

// dd is an unevaluated double-double sum hi+lo.
type dd struct{ hi, lo float64 }

func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return
}

func fastTwoSum(a, b float64) (s, e float64) {
	s = a + b
	e = b - (s - a)
	return
}

func twoProd(a, b float64) (p, e float64) {
	p = a * b
	e = math.FMA(a, b, -p)
	return
}

func ddAdd(a, b dd) dd {
	s, e := twoSum(a.hi, b.hi)
	e += a.lo + b.lo
	s, e = fastTwoSum(s, e)
	return dd{s, e}
}

func ddMul(a, b dd) dd {
	p, e := twoProd(a.hi, b.hi)
	e += a.hi*b.lo + a.lo*b.hi
	p, e = fastTwoSum(p, e)
	return dd{p, e}
}

// ddDivInt returns a/n in double-double.
func ddDivInt(a dd, n float64) dd {
	q1 := a.hi / n
	p, pe := twoProd(q1, n)
	r := ((a.hi - p) - pe + a.lo) / n
	s, e := fastTwoSum(q1, r)
	return dd{s, e}
}

// invFact[n] = 1/n! in double-double, n = 0..31.
var invFact [32]dd

func init() {
	invFact[0] = dd{1, 0}
	for n := 1; n < len(invFact); n++ {
		invFact[n] = ddDivInt(invFact[n-1], float64(n))
	}
}

// reduce returns r (double-double, |r| <= ~π/4) and the quadrant k mod 4
// with x = k·π/2 + r.
func reduce(x float64) (dd, int) {
	if math.Abs(x) <= math.Pi/4 {
		return dd{x, 0}, 0
	}
	k := math.RoundToEven(x * invPio2)
	s, e := twoSum(x, -k*pio2c1)
	s, e2 := twoSum(s, -k*pio2c2)
	c, cl := twoProd(k, pio2c3)
	s, e3 := twoSum(s, -c)
	tail := e + e2 + e3 - cl - k*pio2c3t
	hi, lo := fastTwoSum(s, tail)
	return dd{hi, lo}, int(int64(k) & 3)
}

// Fast-path polynomial coefficients (Taylor, enough for |r| <= π/4 with a
// truncation error far below the rounding test's bound).
const (
	s3  = -1.0 / 6
	s5  = 1.0 / 120
	s7  = -1.0 / 5040
	s9  = 1.0 / 362880
	s11 = -1.0 / 39916800
	s13 = 1.0 / 6227020800
	s15 = -1.0 / 1307674368000
	s17 = 1.0 / 355687428096000
	s19 = -1.0 / 121645100408832000
	c4  = 1.0 / 24
	c6  = -1.0 / 720
	c8  = 1.0 / 40320
	c10 = -1.0 / 3628800
	c12 = 1.0 / 479001600
	c14 = -1.0 / 87178291200
	c16 = 1.0 / 20922789888000
	c18 = -1.0 / 6402373705728000
	c20 = 1.0 / 2432902008176640000
)

// roundingOK reports whether hi is the correctly rounded value of every
// real in [hi+lo-bound, hi+lo+bound].
func roundingOK(hi, lo, bound float64) bool {
	return hi+(lo+bound) == hi && hi+(lo-bound) == hi
}

// sinR returns sin(r) for |r| <= ~π/4, correctly rounded.
func sinR(r dd) float64 {
	if r.hi == 0 {
		return r.hi
	}
	z := r.hi * r.hi
	p := s3 + z*(s5+z*(s7+z*(s9+z*(s11+z*(s13+z*(s15+z*(s17+z*s19)))))))
	t := r.hi*z*p + r.lo*(1-0.5*z)
	hi, lo := fastTwoSum(r.hi, t)
	if roundingOK(hi, lo, math.Abs(t)*0x1p-49+math.Abs(r.hi)*0x1p-100) {
		return hi
	}
	return sinDD(r)
}

// cosR returns cos(r) for |r| <= ~π/4, correctly rounded.
func cosR(r dd) float64 {
	zh, zl := twoProd(r.hi, r.hi)
	zl += 2 * r.hi * r.lo
	q := c4 + zh*(c6+zh*(c8+zh*(c10+zh*(c12+zh*(c14+zh*(c16+zh*(c18+zh*c20)))))))
	s, e := twoSum(1, -0.5*zh)
	u := zh * zh * q
	t := e - 0.5*zl + u
	hi, lo := fastTwoSum(s, t)
	if roundingOK(hi, lo, math.Abs(u)*0x1p-49+0x1p-100) {
		return hi
	}
	return cosDD(r)
}

// sinDD and cosDD sum the Taylor series in double-double.
func sinDD(r dd) float64 {
	z := ddMul(r, r)
	acc := invFact[31]
	for n := 29; n >= 1; n -= 2 {
		acc = ddMul(acc, z)
		acc = ddNeg(acc)
		acc = ddAdd(acc, invFact[n])
	}
	acc = ddMul(acc, r)
	return acc.hi + acc.lo
}

func cosDD(r dd) float64 {
	z := ddMul(r, r)
	acc := invFact[30]
	for n := 28; n >= 0; n -= 2 {
		acc = ddMul(acc, z)
		acc = ddNeg(acc)
		acc = ddAdd(acc, invFact[n])
	}
	return acc.hi + acc.lo
}

func ddNeg(a dd) dd { return dd{-a.hi, -a.lo} }

// crSin is sin(x) correctly rounded (matches glibc's sin).
func crSin(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > maxReduce {
		return math.Sin(x)
	}
	r, q := reduce(x)
	switch q {
	case 0:
		return sinR(r)
	case 1:
		return cosR(r)
	case 2:
		return -sinR(r)
	default:
		return -cosR(r)
	}
}

// crCos is cos(x) correctly rounded (matches glibc's cos).
func crCos(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > maxReduce {
		return math.Cos(x)
	}
	r, q := reduce(x)
	switch q {
	case 0:
		return cosR(r)
	case 1:
		return -sinR(r)
	case 2:
		return -cosR(r)
	default:
		return sinR(r)
	}
}
