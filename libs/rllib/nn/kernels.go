package nn

// The kernels below are the whole arithmetic of the learner. They are kept
// in one file, with fixed summation orders, so that a faster implementation
// (assembly, SIMD) can replace them without touching the model code.

// axpy adds a*x to y. len(x) must be at least len(y).
func axpy(y, x []float32, a float32) {
	x = x[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		y[i] += a * x[i]
		y[i+1] += a * x[i+1]
		y[i+2] += a * x[i+2]
		y[i+3] += a * x[i+3]
	}
	for ; i < len(y); i++ {
		y[i] += a * x[i]
	}
}

// dot returns the sum of x[i]*y[i] with four interleaved partial sums
// combined in a fixed order.
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// one is the all-ones input of stride-0 sums.
var one = [1]float32{1}

// denseForward computes y = x·W + b for n rows: x is n×in, W is in×out
// (input-major), y is n×out.
func denseForward(w, b, x []float32, n, in, out int, y []float32) {
	_ = w[in*out-1]
	_ = x[n*in-1]
	_ = y[n*out-1]
	c8 := 0
	if useAVX {
		c8 = out &^ 7
	}
	s0 := 0
	if c8 > 0 {
		// Pairs of samples share the loads of W.
		for ; s0+1 < n; s0 += 2 {
			y0, y1 := y[s0*out:s0*out+out], y[(s0+1)*out:(s0+1)*out+out]
			copy(y0, b)
			copy(y1, b)
			gemv2StrideAVX(y0[:c8], y1[:c8], x[s0*in:s0*in+in], x[(s0+1)*in:(s0+1)*in+in], 1, w, out, in)
			for _, p := range [2]int{s0, s0 + 1} {
				ys, xs := y[p*out:p*out+out], x[p*in:p*in+in]
				for j := c8; j < out; j++ {
					acc := ys[j]
					for i, xi := range xs {
						acc += xi * w[i*out+j]
					}
					ys[j] = acc
				}
			}
		}
	}
	for s := s0; s < n; s++ {
		ys := y[s*out : s*out+out]
		copy(ys, b)
		xs := x[s*in : s*in+in]
		if out < 8 {
			// Logits and value heads: a few strided dot products beat
			// in axpy calls of length out.
			for j := range ys {
				acc := ys[j]
				for i, xi := range xs {
					acc += xi * w[i*out+j]
				}
				ys[j] = acc
			}
			continue
		}
		if c8 > 0 {
			gemvAccAVX(ys[:c8], xs, w, out)
			for j := c8; j < out; j++ {
				acc := ys[j]
				for i, xi := range xs {
					acc += xi * w[i*out+j]
				}
				ys[j] = acc
			}
			continue
		}
		for i, xi := range xs {
			if xi == 0 {
				continue
			}
			axpy(ys, w[i*out:i*out+out], xi)
		}
	}
}

// oneHotForward computes y = onehot(idx)·W + b: row idx of W plus b.
func oneHotForward(w, b []float32, idx []int32, out int, y []float32) {
	for s, k := range idx {
		ys := y[s*out : s*out+out]
		row := w[int(k)*out : int(k)*out+out]
		for j := range ys {
			ys[j] = row[j] + b[j]
		}
	}
}

// denseBackward accumulates the gradients of y = x·W + b given dy (n×out):
// dW += xᵀ·dy, db += Σ dy, and, when dx is not nil, dx = dy·Wᵀ. wt holds
// Wᵀ when wtReady, else it is scratch of in×out values for it (used by the
// SIMD path).
func denseBackward(w, x, dy []float32, n, in, out int, dw, db, dx, wt []float32, wtReady bool) {
	_ = w[in*out-1]
	_ = dw[in*out-1]
	_ = x[n*in-1]
	_ = dy[n*out-1]
	if useAVX && out >= 8 {
		denseBackwardAVX(w, x, dy, n, in, out, dw, db, dx, wt, wtReady)
		return
	}
	for s := 0; s < n; s++ {
		for j, v := range dy[s*out : s*out+out] {
			db[j] += v
		}
	}
	for s := 0; s < n; s++ {
		dys := dy[s*out : s*out+out]
		xs := x[s*in : s*in+in]
		if out < 8 {
			for i, xi := range xs {
				row := dw[i*out : i*out+out]
				for j, v := range dys {
					row[j] += xi * v
				}
			}
		} else {
			for i, xi := range xs {
				if xi == 0 {
					continue
				}
				axpy(dw[i*out:i*out+out], dys, xi)
			}
		}
		if dx == nil {
			continue
		}
		dxs := dx[s*in : s*in+in]
		for i := range dxs {
			dxs[i] = dot(w[i*out:i*out+out], dys)
		}
	}
}

// denseBackwardAVX is denseBackward's SIMD path: dW row by row as a
// strided matrix-vector product over the n samples (each dW row stays in
// registers), and dx through a transposed copy of W so that every sample is
// one matrix-vector product without horizontal sums.
func denseBackwardAVX(w, x, dy []float32, n, in, out int, dw, db, dx, wt []float32, wtReady bool) {
	c8 := out &^ 7
	// db += Σ_s dy[s,:] is the same product with an all-ones x (stride 0).
	gemvStrideAVX(db[:c8], one[:], 0, dy, out, n)
	for j := c8; j < out; j++ {
		for s := 0; s < n; s++ {
			db[j] += dy[s*out+j]
		}
	}
	i0 := 0
	for ; i0+1 < in; i0 += 2 {
		gemv2StrideAVX(dw[i0*out:i0*out+c8], dw[(i0+1)*out:(i0+1)*out+c8], x[i0:], x[i0+1:], in, dy, out, n)
	}
	if i0 < in {
		gemvStrideAVX(dw[i0*out:i0*out+c8], x[i0:], in, dy, out, n)
	}
	for i := 0; i < in; i++ {
		row := dw[i*out : i*out+out]
		for j := c8; j < out; j++ {
			acc := row[j]
			for s := 0; s < n; s++ {
				acc += x[s*in+i] * dy[s*out+j]
			}
			row[j] = acc
		}
	}
	if dx == nil {
		return
	}
	_ = wt[in*out-1]
	if !wtReady {
		for i := 0; i < in; i++ {
			for j := 0; j < out; j++ {
				wt[j*in+i] = w[i*out+j]
			}
		}
	}
	i8 := in &^ 7
	clear(dx[:n*in])
	s0 := 0
	if i8 > 0 {
		for ; s0+1 < n; s0 += 2 {
			gemv2StrideAVX(dx[s0*in:s0*in+i8], dx[(s0+1)*in:(s0+1)*in+i8], dy[s0*out:s0*out+out], dy[(s0+1)*out:(s0+1)*out+out], 1, wt, in, out)
		}
	}
	for s := 0; s < n; s++ {
		dys := dy[s*out : s*out+out]
		dxs := dx[s*in : s*in+in]
		if i8 > 0 && s >= s0 {
			gemvStrideAVX(dxs[:i8], dys, 1, wt, in, out)
		}
		for i := i8; i < in; i++ {
			dxs[i] = dot(w[i*out:i*out+out], dys)
		}
	}
}

// oneHotBackward accumulates dW (row idx only) and db for a one-hot input.
func oneHotBackward(idx []int32, dy []float32, out int, dw, db []float32) {
	for s, k := range idx {
		dys := dy[s*out : s*out+out]
		axpy(db, dys, 1)
		axpy(dw[int(k)*out:int(k)*out+out], dys, 1)
	}
}

// denseForwardT is denseForward for W stored output-major (out×in).
func denseForwardT(w, b, x []float32, n, in, out int, y []float32) {
	_ = w[in*out-1]
	_ = x[n*in-1]
	_ = y[n*out-1]
	i8 := 0
	if useAVX {
		i8 = in &^ 7
	}
	for s := 0; s < n; s++ {
		ys := y[s*out : s*out+out]
		xs := x[s*in : s*in+in]
		if i8 > 0 {
			dotRowsAVX(ys, w, xs[:i8], in)
		} else {
			clear(ys)
		}
		for j := range ys {
			row := w[j*in : j*in+in]
			acc := ys[j]
			for i := i8; i < in; i++ {
				acc += row[i] * xs[i]
			}
			ys[j] = acc + b[j]
		}
	}
}

// denseBackwardT is denseBackward for W stored output-major (out×in).
func denseBackwardT(w, x, dy []float32, n, in, out int, dw, db, dx, _ []float32, _ bool) {
	_ = w[in*out-1]
	_ = dw[in*out-1]
	_ = x[n*in-1]
	_ = dy[n*out-1]
	i8 := 0
	if useAVX {
		i8 = in &^ 7
	}
	for s := 0; s < n; s++ {
		dys := dy[s*out : s*out+out]
		xs := x[s*in : s*in+in]
		for j, v := range dys {
			db[j] += v
		}
		if i8 > 0 {
			gerAVX(dw, dys, xs[:i8], in)
		}
		for j, v := range dys {
			row := dw[j*in : j*in+in]
			for i := i8; i < in; i++ {
				row[i] += v * xs[i]
			}
		}
		if dx == nil {
			continue
		}
		dxs := dx[s*in : s*in+in]
		clear(dxs)
		if i8 > 0 {
			gemvAccAVX(dxs[:i8], dys, w, in)
		}
		for j, v := range dys {
			row := w[j*in : j*in+in]
			for i := i8; i < in; i++ {
				dxs[i] += row[i] * v
			}
		}
	}
}
