//go:build !(cgo && linux && goray_libm)

package classic

// pySquare is Python's x**2 for a float or np.float64, which CPython and
// numpy evaluate as the C library's pow(x, 2.0): glibc's pow, reproduced
// by pySquareGlibc (it differs from x·x in about 0.08% of calls).
func pySquare(x float64) float64 { return pySquareGlibc(x) }

// libmSinX and libmCosX select the sin/cos implementation: the pure-Go
// glibc emulation by default.
func libmSinX(x float64) float64 { return libmSin(x) }
func libmCosX(x float64) float64 { return libmCos(x) }
