package nn

import "golang.org/x/sys/cpu"

// useAVX selects the AVX2/FMA kernels. Results differ in the last bits
// from the portable kernels (fused multiply-adds), so bit-reproducibility
// holds between machines that take the same path.
var useAVX = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func gemvAccAVX(y, x, w []float32, out int)

//go:noescape
func dotRowsAVX(dx, w, dy []float32, out int)

//go:noescape
func gerAVX(dw, x, dy []float32, out int)

//go:noescape
func tanhAVX(y []float32)

//go:noescape
func gemvStrideAVX(y, x []float32, xs int, w []float32, ws, k int)

//go:noescape
func tanhBackAVX(y, dy []float32)

//go:noescape
func gemv2StrideAVX(y0, y1, x0, x1 []float32, xs int, w []float32, ws, k int)

//go:noescape
func adamAVX(p, g, m, v []float32, c *[7]float32)

//go:noescape
func addAVX(dst, src []float32)
