//go:build !amd64

package nn

const useAVX = false

func gemvAccAVX(y, x, w []float32, out int)                                   { panic("unreachable") }
func dotRowsAVX(dx, w, dy []float32, out int)                                 { panic("unreachable") }
func gerAVX(dw, x, dy []float32, out int)                                     { panic("unreachable") }
func tanhAVX(y []float32)                                                     { panic("unreachable") }
func gemvStrideAVX(y, x []float32, xs int, w []float32, ws, k int)            { panic("unreachable") }
func tanhBackAVX(y, dy []float32)                                             { panic("unreachable") }
func gemv2StrideAVX(y0, y1, x0, x1 []float32, xs int, w []float32, ws, k int) { panic("unreachable") }
func adamAVX(p, g, m, v []float32, c *[7]float32)                             { panic("unreachable") }
func addAVX(dst, src []float32)                                               { panic("unreachable") }
