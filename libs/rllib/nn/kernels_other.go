//go:build !amd64

package nn

const useAVX = false

func gemvAccAVX(y, x, w []float32, out int)   { panic("unreachable") }
func dotRowsAVX(dx, w, dy []float32, out int) { panic("unreachable") }
func gerAVX(dw, x, dy []float32, out int)     { panic("unreachable") }
func tanhAVX(y []float32)                     { panic("unreachable") }
func gemvStrideAVX(y, x []float32, xs int, w []float32, ws, k int) { panic("unreachable") }
