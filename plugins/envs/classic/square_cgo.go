//go:build cgo && linux && goray_libm

package classic

// #cgo LDFLAGS: -lm
// #include <math.h>
import "C"

// With -tags goray_libm, the envs call the C library itself for Python's
// x**2 (pow(x, 2.0)), sin and cos, so that a verification build matches
// CPython on the same machine exactly, whatever its libm. Each call costs
// a cgo transition (~50 ns), so this is for parity checks, not training.

func pySquare(x float64) float64 { return float64(C.pow(C.double(x), 2)) }

func libmSinX(x float64) float64 { return float64(C.sin(C.double(x))) }
func libmCosX(x float64) float64 { return float64(C.cos(C.double(x))) }
