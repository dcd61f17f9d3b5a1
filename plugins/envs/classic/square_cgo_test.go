//go:build cgo && linux && goray_libm

package classic

import (
	"math/rand/v2"
	"testing"
)

// With the system libm available, the pure-Go glibc emulation of sin, cos
// and pow(x, 2) must agree with it (on glibc x86-64 with FMA, the platform
// Gymnasium results come from).
func TestEmulationMatchesSystemLibm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bad := 0
	for i := range 200000 {
		x := (rng.Float64()*2 - 1) * []float64{0.2, 1, 4, 1e4}[i%4]
		if libmSin(x) != libmSinX(x) || libmCos(x) != libmCosX(x) || pySquareGlibc(x) != pySquare(x) {
			bad++
			if bad < 5 {
				t.Errorf("x=%v: emulated sin,cos,x² %v %v %v, libm %v %v %v", x,
					libmSin(x), libmCos(x), pySquareGlibc(x), libmSinX(x), libmCosX(x), pySquare(x))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d mismatches", bad)
	}
}
