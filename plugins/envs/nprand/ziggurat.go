package nprand

import "math"

// Ziggurat constants of numpy's distributions.c: the right edge of the base
// layer for the 256-level normal and exponential ziggurats.
const (
	zigNorR    = 3.6541528853610087963519472518
	zigNorInvR = 0.27366123732975827203338247596
	zigExpR    = 7.6971174701310497140446280481
)

// The layer tables are computed at init from the layer edges with the
// Marsaglia–Tsang recursion. numpy ships the same tables precomputed in
// higher precision; ours agree to about 1e-12 relative, so draws follow
// numpy's algorithm and bit consumption exactly but a value can differ from
// numpy's in the last bits (see doc.go).
var (
	kiNor [256]uint64
	wiNor [256]float64
	fiNor [256]float64
	keExp [256]uint64
	weExp [256]float64
	feExp [256]float64
)

func init() {
	// Normal: 52-bit magnitudes.
	m1 := math.Ldexp(1, 52)
	r := zigNorR
	f := math.Exp(-0.5 * r * r)
	v := float64(r*f) + math.Sqrt(math.Pi/2)*math.Erfc(r/math.Sqrt2)
	q := v / f
	kiNor[0] = uint64(r / q * m1)
	wiNor[0] = q / m1
	wiNor[255] = r / m1
	fiNor[0] = 1
	fiNor[255] = f
	dn, tn := r, r
	for i := 254; i >= 1; i-- {
		dn = math.Sqrt(-2 * math.Log(v/dn+math.Exp(-0.5*dn*dn)))
		kiNor[i+1] = uint64(dn / tn * m1)
		tn = dn
		fiNor[i] = math.Exp(-0.5 * dn * dn)
		wiNor[i] = dn / m1
	}

	// Exponential: 53-bit magnitudes.
	m2 := math.Ldexp(1, 53)
	re := zigExpR
	fe := math.Exp(-re)
	ve := (re + 1) * fe
	qe := ve / fe
	keExp[0] = uint64(re / qe * m2)
	weExp[0] = qe / m2
	weExp[255] = re / m2
	feExp[0] = 1
	feExp[255] = fe
	de, te := re, re
	for i := 254; i >= 1; i-- {
		de = -math.Log(ve/de + math.Exp(-de))
		keExp[i+1] = uint64(de / te * m2)
		te = de
		feExp[i] = math.Exp(-de)
		weExp[i] = de / m2
	}
}

// standardNormal is numpy's random_standard_normal (ziggurat with 256
// layers, one 64-bit draw on the fast path).
func standardNormal(bg *PCG64) float64 {
	for {
		r := bg.Uint64()
		idx := r & 0xff
		r >>= 8
		sign := r & 1
		rabs := (r >> 1) & 0x000fffffffffffff
		x := float64(rabs) * wiNor[idx]
		if sign != 0 {
			x = -x
		}
		if rabs < kiNor[idx] {
			return x
		}
		if idx == 0 {
			for {
				xx := -zigNorInvR * math.Log1p(-bg.Float64())
				yy := -math.Log1p(-bg.Float64())
				if yy+yy > xx*xx {
					if (rabs>>8)&1 != 0 {
						return -(zigNorR + xx)
					}
					return zigNorR + xx
				}
			}
		}
		if float64((fiNor[idx-1]-fiNor[idx])*bg.Float64())+fiNor[idx] < math.Exp(-0.5*x*x) {
			return x
		}
	}
}

// standardExponential is numpy's random_standard_exponential.
func standardExponential(bg *PCG64) float64 {
	for {
		ri := bg.Uint64() >> 3
		idx := ri & 0xff
		ri >>= 8
		x := float64(ri) * weExp[idx]
		if ri < keExp[idx] {
			return x
		}
		if idx == 0 {
			return zigExpR - math.Log1p(-bg.Float64())
		}
		if float64((feExp[idx-1]-feExp[idx])*bg.Float64())+feExp[idx] < math.Exp(-x) {
			return x
		}
	}
}
