package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// ErrBadSpec reports a model spec that cannot be built.
var ErrBadSpec = errors.New("invalid model spec")

// Spec describes RLlib's default fully connected model ("fcnet") for one
// policy: a policy tower from the observation to NumOutputs distribution
// inputs and a value tower to one value.
type Spec struct {
	// ObsDim is the width of the encoded observation: the number of
	// categories for a one-hot input, the flat size of a Box otherwise.
	ObsDim int `json:"obs_dim"`
	// OneHot marks a Discrete observation: each row of the input is one
	// index in [0, ObsDim), encoded as a one-hot vector.
	OneHot bool `json:"one_hot"`
	// Hiddens are the hidden layer sizes (fcnet_hiddens).
	Hiddens []int `json:"fcnet_hiddens"`
	// Activation is the hidden nonlinearity (fcnet_activation).
	Activation Activation `json:"fcnet_activation"`
	// NumOutputs is the width of the distribution inputs: the number of
	// actions (categorical) or 2×action dim (diagonal Gaussian).
	NumOutputs int `json:"num_outputs"`
	// ShareLayers puts the value head on top of the policy's last hidden
	// layer (vf_share_layers) instead of a separate tower.
	ShareLayers bool `json:"vf_share_layers"`
}

// Validate checks the spec.
func (s Spec) Validate() error {
	if s.ObsDim <= 0 {
		return fmt.Errorf("%w: obs_dim %d must be > 0", ErrBadSpec, s.ObsDim)
	}
	if s.NumOutputs <= 0 {
		return fmt.Errorf("%w: num_outputs %d must be > 0", ErrBadSpec, s.NumOutputs)
	}
	for i, h := range s.Hiddens {
		if h <= 0 {
			return fmt.Errorf("%w: fcnet_hiddens[%d] = %d must be > 0", ErrBadSpec, i, h)
		}
	}
	if err := s.Activation.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSpec, err)
	}
	return nil
}

// layer is one linear map inside Params: W (in×out, input-major) at w, b at b.
type layer struct {
	in, out int
	w, b    int
	// oneHot: the input is the model's one-hot observation.
	oneHot bool
	// act: apply the activation to the output (hidden layers only).
	act bool
	// t: W is stored output-major (out×in). Narrow layers (the logits and
	// value heads, out < 8) use it so their kernels run along the wide
	// input dimension. The choice depends on the shape only, so the
	// parameter layout is the same on every platform.
	t bool
}

func (l layer) transposed() layer {
	l.t = !l.oneHot && l.out < 8
	return l
}

// Model is the layout of a Spec's parameters in one flat vector. A Model is
// immutable and safe to share; the mutable state lives in Params and in a
// Workspace.
type Model struct {
	Spec Spec
	// pi maps the observation to the distribution inputs.
	pi []layer
	// vf maps to the value. With ShareLayers it is a single head whose input
	// is the output of pi's last hidden layer (vfFrom).
	vf     []layer
	vfFrom int // index of the pi layer whose output feeds vf, -1: the observation
	n      int
}

// NewModel lays out the parameters of spec.
func NewModel(spec Spec) (*Model, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Spec: spec, vfFrom: -1}
	tower := func(out int, hiddens []int) []layer {
		var ls []layer
		in := spec.ObsDim
		for i, h := range append(append([]int(nil), hiddens...), out) {
			l := layer{in: in, out: h, w: m.n, oneHot: i == 0 && spec.OneHot, act: i < len(hiddens)}.transposed()
			m.n += in * h
			l.b = m.n
			m.n += h
			ls = append(ls, l)
			in = h
		}
		return ls
	}
	m.pi = tower(spec.NumOutputs, spec.Hiddens)
	if spec.ShareLayers && len(spec.Hiddens) > 0 {
		m.vfFrom = len(m.pi) - 2
		in := spec.Hiddens[len(spec.Hiddens)-1]
		l := layer{in: in, out: 1, w: m.n}.transposed()
		m.n += in
		l.b = m.n
		m.n++
		m.vf = []layer{l}
	} else {
		m.vf = tower(1, spec.Hiddens)
	}
	return m, nil
}

// NumParams is the length of the model's parameter vector.
func (m *Model) NumParams() int { return m.n }

// Init fills params with RLlib's "normc" initialisation: each output unit's
// incoming weight vector is Gaussian rescaled to norm 1 (hidden layers) or
// 0.01 (the logits and value heads); biases are zero.
func (m *Model) Init(params []float32, rng *rand.Rand) {
	clear(params[:m.n])
	initTower := func(ls []layer) {
		for i, l := range ls {
			std := 1.0
			if i == len(ls)-1 {
				std = 0.01
			}
			w := params[l.w : l.w+l.in*l.out]
			col := make([]float64, l.in)
			for j := 0; j < l.out; j++ {
				var ss float64
				for k := range col {
					col[k] = rng.NormFloat64()
					ss += col[k] * col[k]
				}
				scale := std / math.Sqrt(ss)
				for k := range col {
					if l.t {
						w[j*l.in+k] = float32(col[k] * scale)
					} else {
						w[k*l.out+j] = float32(col[k] * scale)
					}
				}
			}
		}
	}
	initTower(m.pi)
	initTower(m.vf)
}

// Workspace holds the activations and gradient scratch for forward and
// backward passes over up to Cap rows. It is not safe for concurrent use;
// each goroutine owns one.
type Workspace struct {
	m   *Model
	cap int
	idx []int32
	// piOut[i] / vfOut[i] hold layer i's output (after activation) for the
	// rows of the last Forward.
	piOut, vfOut [][]float32
	// piGrad / vfGrad are per-layer gradient scratch at each layer's output.
	piGrad, vfGrad [][]float32
	// shared accumulates the value head's gradient at the shared hidden layer.
	shared []float32
	// wt is scratch for a transposed weight matrix; pt, when set, holds
	// every input-major layer's Wᵀ already (see Model.Transpose).
	wt []float32
	pt []float32
	n  int
}

// NewWorkspace allocates scratch for batches of up to capRows rows.
func (m *Model) NewWorkspace(capRows int) *Workspace {
	ws := &Workspace{m: m, cap: capRows, idx: make([]int32, capRows)}
	alloc := func(ls []layer) (out, grad [][]float32) {
		for _, l := range ls {
			out = append(out, make([]float32, capRows*l.out))
			grad = append(grad, make([]float32, capRows*l.out))
		}
		return out, grad
	}
	ws.piOut, ws.piGrad = alloc(m.pi)
	ws.vfOut, ws.vfGrad = alloc(m.vf)
	if m.vfFrom >= 0 {
		ws.shared = make([]float32, capRows*m.pi[m.vfFrom].out)
	}
	big := 0
	for _, l := range append(append([]layer(nil), m.pi...), m.vf...) {
		big = max(big, l.in*l.out)
	}
	ws.wt = make([]float32, big)
	return ws
}

// Forward runs both towers on n rows of obs and returns views of the
// distribution inputs (n×NumOutputs) and values (n), valid until the next
// call. For a one-hot model obs holds n indices (as float32); otherwise n
// rows of ObsDim values.
func (ws *Workspace) Forward(params, obs []float32, n int) (dist, values []float32) {
	if n > ws.cap {
		panic(fmt.Sprintf("nn: forward of %d rows in a workspace of %d", n, ws.cap))
	}
	m := ws.m
	ws.n = n
	if m.Spec.OneHot {
		for i := 0; i < n; i++ {
			ws.idx[i] = int32(obs[i])
		}
	}
	ws.tower(params, m.pi, ws.piOut, obs, nil)
	if m.vfFrom >= 0 {
		ws.tower(params, m.vf, ws.vfOut, nil, ws.piOut[m.vfFrom])
	} else {
		ws.tower(params, m.vf, ws.vfOut, obs, nil)
	}
	return ws.piOut[len(m.pi)-1][:n*m.Spec.NumOutputs], ws.vfOut[len(m.vf)-1][:n]
}

// tower runs the layers ls; the first layer reads obs (or the one-hot
// indices) unless hidden is given.
func (ws *Workspace) tower(params []float32, ls []layer, outs [][]float32, obs, hidden []float32) {
	n := ws.n
	for i, l := range ls {
		w := params[l.w : l.w+l.in*l.out]
		b := params[l.b : l.b+l.out]
		y := outs[i][:n*l.out]
		fwd := denseForward
		if l.t {
			fwd = denseForwardT
		}
		switch {
		case i > 0:
			fwd(w, b, outs[i-1], n, l.in, l.out, y)
		case hidden != nil:
			fwd(w, b, hidden, n, l.in, l.out, y)
		case l.oneHot:
			oneHotForward(w, b, ws.idx[:n], l.out, y)
		default:
			fwd(w, b, obs, n, l.in, l.out, y)
		}
		if l.act {
			activate(ws.m.Spec.Activation, y)
		}
	}
}

// Transpose writes into out (NumParams long) the transpose of every
// input-major weight matrix at that matrix's offset; other entries are left
// alone. A learner computes it once per update and shares it between the
// workspaces of its shards (SetTransposed), instead of each shard
// transposing for its backward pass.
func (m *Model) Transpose(params, out []float32) {
	for _, l := range append(append([]layer(nil), m.pi...), m.vf...) {
		if l.t || l.oneHot {
			continue
		}
		w := params[l.w : l.w+l.in*l.out]
		wt := out[l.w : l.w+l.in*l.out]
		for i := 0; i < l.in; i++ {
			for j := 0; j < l.out; j++ {
				wt[j*l.in+i] = w[i*l.out+j]
			}
		}
	}
}

// SetTransposed makes Backward use pt (from Model.Transpose of the same
// params) until the next call; nil goes back to transposing on the fly.
func (ws *Workspace) SetTransposed(pt []float32) { ws.pt = pt }

// wtFor returns the transpose scratch for l and whether it already holds Wᵀ.
func (ws *Workspace) wtFor(l layer) ([]float32, bool) {
	if ws.pt != nil {
		return ws.pt[l.w : l.w+l.in*l.out], true
	}
	return ws.wt, false
}

// Backward accumulates into grad the gradient of a loss whose derivatives
// at the outputs of the last Forward are dDist (n×NumOutputs) and dValues
// (n). obs must be the same as in Forward. grad is not cleared.
func (ws *Workspace) Backward(params, grad, obs, dDist, dValues []float32) {
	m := ws.m
	n := ws.n
	copy(ws.vfGrad[len(m.vf)-1][:n], dValues[:n])
	if m.vfFrom >= 0 {
		sh := ws.shared[:n*m.pi[m.vfFrom].out]
		ws.towerBackward(params, grad, m.vf, ws.vfOut, ws.vfGrad, nil, ws.piOut[m.vfFrom], sh, -1, nil)
		copy(ws.piGrad[len(m.pi)-1][:n*m.Spec.NumOutputs], dDist)
		ws.towerBackward(params, grad, m.pi, ws.piOut, ws.piGrad, obs, nil, nil, m.vfFrom, sh)
		return
	}
	ws.towerBackward(params, grad, m.vf, ws.vfOut, ws.vfGrad, obs, nil, nil, -1, nil)
	copy(ws.piGrad[len(m.pi)-1][:n*m.Spec.NumOutputs], dDist)
	ws.towerBackward(params, grad, m.pi, ws.piOut, ws.piGrad, obs, nil, nil, -1, nil)
}

// towerBackward backpropagates from grads[last] down to the tower's input.
// The first layer reads obs, or hidden when given, in which case the
// gradient at hidden is written to dHidden. When another tower feeds on
// layer addAt's output (the value head sharing the policy's last hidden
// layer), dAdd is that tower's gradient there, added before continuing
// down; addAt < 0 means none.
func (ws *Workspace) towerBackward(params, grad []float32, ls []layer, outs, grads [][]float32, obs, hidden, dHidden []float32, addAt int, dAdd []float32) {
	n := ws.n
	for i := len(ls) - 1; i >= 0; i-- {
		l := ls[i]
		dy := grads[i][:n*l.out]
		if i == addAt {
			axpy(dy, dAdd, 1)
		}
		if l.act {
			activateBackward(ws.m.Spec.Activation, outs[i][:n*l.out], dy)
		}
		w := params[l.w : l.w+l.in*l.out]
		dw := grad[l.w : l.w+l.in*l.out]
		db := grad[l.b : l.b+l.out]
		denseBackward := denseBackward
		if l.t {
			denseBackward = denseBackwardT
		}
		wt, ready := ws.wtFor(l)
		switch {
		case i > 0:
			denseBackward(w, outs[i-1], dy, n, l.in, l.out, dw, db, grads[i-1][:n*l.in], wt, ready)
		case hidden != nil:
			denseBackward(w, hidden, dy, n, l.in, l.out, dw, db, dHidden, wt, ready)
		case l.oneHot:
			oneHotBackward(ws.idx[:n], dy, l.out, dw, db)
		default:
			denseBackward(w, obs, dy, n, l.in, l.out, dw, db, nil, wt, ready)
		}
	}
}
