package classic

import (
	"math"
	"math/big"
	"sync"
)

// glibc-compatible x**2.
//
// CPython evaluates x**2 on a float (and numpy on an np.float64) as the C
// library's pow(x, 2.0). glibc's pow (the ARM optimized-routines algorithm,
// in its x86-64 FMA build) computes exp(2·log(x)) with about 2^-64
// relative error before the final rounding, so it differs from the exact
// x·x in about 0.08% of calls. pySquare reproduces it: the same log
// (a 128-entry table of 1/c, log c and its tail, a degree-7 polynomial)
// and exp (a 128-entry table of 2^(k/128), a degree-5 polynomial), with
// the same fused multiply-adds. The tables are generated here from the
// rules stated in the routines' sources, in 256-bit arithmetic; the result
// was checked against glibc 2.36 on tens of millions of arguments.

const (
	powLogBits = 7
	powLogN    = 1 << powLogBits
	powOff     = 0x3fe6955500000000
	expBits    = 7
	expN       = 1 << expBits
)

var (
	powLn2hi = math.Float64frombits(0x3fe62e42fefa3800)
	powLn2lo = math.Float64frombits(0x3d2ef35793c76730)
	// Log polynomial, scaled as the evaluation expects.
	powA = [7]float64{
		-0.5,
		0x1.555555555556p-2 * -2,
		-0x1.0000000000006p-2 * -2,
		0x1.999999959554ep-3 * 4,
		-0x1.555555529a47ap-3 * 4,
		0x1.2495b9b4845e9p-3 * -8,
		-0x1.0002b8b263fc3p-3 * -8,
	}
	expInvLn2N  = 0x1.71547652b82fep0 * expN
	expNegLn2hi = -0x1.62e42fefa0000p-8
	expNegLn2lo = -0x1.cf79abc9e3b3ap-47
	expShift    = 0x1.8p52
	expC2       = 0x1.ffffffffffdbdp-2
	expC3       = 0x1.555555555543cp-3
	expC4       = 0x1.55555cf172b91p-5
	expC5       = 0x1.1111167a4d017p-7
)

// powLogTab[i] = {invc, logc, logctail}; expTab[2k] = bits of T[k],
// expTab[2k+1] = bits of H[k] − k<<45, with 2^(k/128) ≈ H[k]·(1+T[k]).
var (
	powLogTab   [powLogN][3]float64
	expTab      [2 * expN]uint64
	powTabsOnce sync.Once
)

const bigPrec = 256

func bf(v float64) *big.Float { return new(big.Float).SetPrec(bigPrec).SetFloat64(v) }

var bigLn2 = func() *big.Float {
	// ln 2 = Σ 1/(k·2^k).
	s, p := bf(0), bf(1)
	for k := 1; k < 280; k++ {
		p.Quo(p, bf(2))
		s.Add(s, new(big.Float).SetPrec(bigPrec).Quo(p, bf(float64(k))))
	}
	return s
}

// bigExp evaluates e^x: x = k·ln2 + r, Taylor series of r/256, squared 8
// times.
func bigExp(x, ln2 *big.Float) *big.Float {
	xf, _ := x.Float64()
	k := math.Round(xf / math.Ln2)
	r := new(big.Float).SetPrec(bigPrec).Sub(x, new(big.Float).SetPrec(bigPrec).Mul(bf(k), ln2))
	r.Quo(r, bf(256))
	sum, term := bf(1), bf(1)
	for n := 1; n < 45; n++ {
		term.Mul(term, r)
		term.Quo(term, bf(float64(n)))
		sum.Add(sum, term)
	}
	for range 8 {
		sum.Mul(sum, sum)
	}
	return sum.SetMantExp(sum, int(k))
}

// bigLog solves e^z = y by Halley's iteration from the float64 log.
func bigLog(y, ln2 *big.Float) *big.Float {
	yf, _ := y.Float64()
	z := bf(math.Log(yf))
	for range 4 {
		e := bigExp(z, ln2)
		num := new(big.Float).SetPrec(bigPrec).Sub(y, e)
		den := new(big.Float).SetPrec(bigPrec).Add(y, e)
		num.Quo(num, den)
		z.Add(z, num.Mul(num, bf(2)))
	}
	return z
}

func initPowTabs() {
	ln2 := bigLn2()
	for i := range powLogN {
		lo := math.Float64frombits(powOff + uint64(i)<<45)
		hi := math.Float64frombits(powOff + uint64(i+1)<<45)
		center := (lo + hi) / 2
		var invc float64
		if center < 1 {
			invc = math.Round(powLogN/center) / powLogN
		} else {
			invc = math.Round(2*powLogN/center) / powLogN / 2
		}
		// log(c) = −log(1/c).
		logc := bigLog(bf(invc), ln2)
		logc.Neg(logc)
		scaled, _ := new(big.Float).SetPrec(bigPrec).Mul(logc, bf(0x1p43)).Float64()
		logcR := math.Round(scaled) / 0x1p43
		tail, _ := new(big.Float).SetPrec(bigPrec).Sub(logc, bf(logcR)).Float64()
		powLogTab[i] = [3]float64{invc, logcR, tail}
	}
	for k := range expN {
		// 2^(k/N) = e^(k·ln2/N).
		arg := new(big.Float).SetPrec(bigPrec).Mul(ln2, bf(float64(k)/expN))
		v := bigExp(arg, ln2)
		h, _ := v.Float64()
		t, _ := new(big.Float).SetPrec(bigPrec).Sub(new(big.Float).SetPrec(bigPrec).Quo(v, bf(h)), bf(1)).Float64()
		expTab[2*k] = math.Float64bits(t)
		expTab[2*k+1] = math.Float64bits(h) - uint64(k)<<45
	}
}

// powLogInline is log_inline: log(x) as hi + tail for the bits of a
// positive normal x.
func powLogInline(ix uint64) (float64, float64) {
	tmp := ix - powOff
	i := (tmp >> (52 - powLogBits)) % powLogN
	k := int64(tmp) >> 52
	iz := ix - (tmp & (0xfff << 52))
	z := math.Float64frombits(iz)
	kd := float64(k)
	e := &powLogTab[i]
	invc, logc, logctail := e[0], e[1], e[2]
	r := math.FMA(z, invc, -1.0)
	t1 := math.FMA(kd, powLn2hi, logc)
	t2 := t1 + r
	lo1 := math.FMA(kd, powLn2lo, logctail)
	lo2 := t1 - t2 + r
	ar := powA[0] * r
	ar2 := r * ar
	ar3 := r * ar2
	hi := t2 + ar2
	lo3 := math.FMA(ar, r, -ar2)
	lo4 := t2 - hi + ar2
	q := math.FMA(ar2, math.FMA(ar2, math.FMA(r, powA[6], powA[5]), math.FMA(r, powA[4], powA[3])), math.FMA(r, powA[2], powA[1]))
	lo := math.FMA(ar3, q, lo1+lo2+lo3+lo4)
	y := hi + lo
	return y, hi - y + lo
}

// pySquareGlibc is glibc's pow(x, 2.0). Arguments whose square overflows
// or underflows the normal range (|x| outside about [2^-369, 2^369]) and
// subnormal x use x·x, which glibc's special-case paths also return
// except possibly for subnormal results.
func pySquareGlibc(x float64) float64 {
	// Fast path: glibc's pow is within 0.52 ulp, i.e. its value before the
	// final rounding is within 0.02 ulp of x². When the exact square x² =
	// p + e is farther than 0.05 ulp from a rounding midpoint, glibc must
	// round to p, the correctly rounded square; only the ~10% of squares
	// near a midpoint (and powers of two, whose lower neighbour is closer)
	// need the full emulation.
	p := x * x
	pb := math.Float64bits(p)
	if be := pb >> 52; be > 52 && be < 0x7ff && pb&(1<<52-1) != 0 {
		e := math.FMA(x, x, -p)
		ulp := math.Float64frombits((be - 52) << 52)
		if math.Abs(e) < 0.45*ulp {
			return p
		}
	}
	return powSquare(x)
}

// powSquare is glibc's pow(x, 2.0) evaluated in full.
func powSquare(x float64) float64 {
	ix := math.Float64bits(x) &^ (1 << 63) // even power: the sign drops out
	topx := ix >> 52
	if topx == 0 || topx >= 0x7ff {
		return x * x
	}
	powTabsOnce.Do(initPowTabs)
	hi, lo := powLogInline(ix)
	ehi := 2 * hi
	elo := math.FMA(2, lo, math.FMA(2, hi, -ehi))
	abstop := (math.Float64bits(ehi) >> 52) & 0x7ff
	if abstop-0x3c9 >= 0x408-0x3c9 {
		if abstop < 0x3c9 {
			return 1.0 + ehi
		}
		return x * x
	}
	kd := math.FMA(ehi, expInvLn2N, expShift)
	ki := math.Float64bits(kd)
	kd -= expShift
	r := math.FMA(kd, expNegLn2lo, math.FMA(kd, expNegLn2hi, ehi))
	r += elo
	idx := 2 * (ki % expN)
	top := ki << (52 - expBits)
	tail := math.Float64frombits(expTab[idx])
	sbits := expTab[idx+1] + top
	r2 := r * r
	tmp := math.FMA(r2*r2, math.FMA(r, expC5, expC4), math.FMA(r2, math.FMA(r, expC3, expC2), tail+r))
	scale := math.Float64frombits(sbits)
	return math.FMA(scale, tmp, scale)
}

// warmMath builds the sin/cos and pow tables up front, so that an env's
// first steps do not pay for it (about 25 ms once per process) and the
// hot path never allocates. The classic-control factories call it.
func warmMath() {
	sincosTabOnce.Do(initSincosTab)
	powTabsOnce.Do(initPowTabs)
}
