package rollout

import (
	"errors"
	"fmt"

	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/libs/rllib/nn"
	"github.com/goray/goray/plugins/envs"
)

// ErrUnsupportedSpace reports an observation or action space the policy
// cannot encode.
var ErrUnsupportedSpace = errors.New("unsupported space")

// Policy is an actor-critic policy for one env spec: RLlib's default
// fully connected model with its preprocessing (one-hot Discrete, flattened
// Box) and action distribution (Categorical, DiagGaussian).
type Policy struct {
	Spec  envs.Spec
	Model *nn.Model
	Dist  nn.Distribution
	// RawObsDim is the env's flat observation width; ActDim the action's.
	RawObsDim, ActDim int
	// RowDim is the width of one stored observation row (1 for one-hot).
	RowDim int
}

// NewPolicy builds the policy layout for spec with the model config m.
func NewPolicy(spec envs.Spec, m rllib.Model) (*Policy, error) {
	p := &Policy{Spec: spec, RawObsDim: spec.ObservationSpace.FlatDim()}
	ns := nn.Spec{Hiddens: m.FcnetHiddens, Activation: nn.Activation(m.FcnetActivation), ShareLayers: m.VfShareLayers}
	switch o := spec.ObservationSpace; o.Kind {
	case envs.KindDiscrete:
		ns.ObsDim, ns.OneHot, p.RowDim = int(o.N), true, 1
	case envs.KindBox:
		ns.ObsDim, p.RowDim = o.FlatDim(), o.FlatDim()
	default:
		return nil, fmt.Errorf("env %s: observation space %s: %w", spec.ID, o.Kind, ErrUnsupportedSpace)
	}
	switch a := spec.ActionSpace; a.Kind {
	case envs.KindDiscrete:
		p.Dist = nn.Categorical{N: int(a.N)}
		p.ActDim = 1
	case envs.KindBox:
		if a.Dtype != "" && a.Dtype != "float32" && a.Dtype != "float64" {
			return nil, fmt.Errorf("env %s: action Box of %s: %w", spec.ID, a.Dtype, ErrUnsupportedSpace)
		}
		p.Dist = nn.DiagGaussian{Dim: a.FlatDim()}
		p.ActDim = a.FlatDim()
	default:
		return nil, fmt.Errorf("env %s: action space %s: %w", spec.ID, a.Kind, ErrUnsupportedSpace)
	}
	ns.NumOutputs = p.Dist.NumInputs()
	model, err := nn.NewModel(ns)
	if err != nil {
		return nil, fmt.Errorf("env %s: %w", spec.ID, err)
	}
	p.Model = model
	return p, nil
}

// EncodeObs writes the stored row for one raw env observation.
func (p *Policy) EncodeObs(raw []float64, row []float32) {
	if p.Model.Spec.OneHot {
		row[0] = float32(raw[0] - float64(p.Spec.ObservationSpace.Start))
		return
	}
	for i, v := range raw[:p.RowDim] {
		row[i] = float32(v)
	}
}

// CheckObs reports an observation outside what the model can encode.
func (p *Policy) CheckObs(raw []float64) error {
	if len(raw) != p.RawObsDim {
		return fmt.Errorf("observation of %d values, env %s wants %d", len(raw), p.Spec.ID, p.RawObsDim)
	}
	if p.Model.Spec.OneHot {
		k := raw[0] - float64(p.Spec.ObservationSpace.Start)
		if k < 0 || k >= float64(p.Model.Spec.ObsDim) || k != float64(int(k)) {
			return fmt.Errorf("observation %v outside Discrete(%d)", raw[0], p.Model.Spec.ObsDim)
		}
	}
	return nil
}

// DecodeAction writes the env action for a sampled action row: Discrete
// shifts by Start, Box clips to the bounds (the unclipped sample is what
// the learner sees, as RLlib's clip_actions).
func (p *Policy) DecodeAction(act []float32, out []float64) {
	a := p.Spec.ActionSpace
	if a.Kind == envs.KindDiscrete {
		out[0] = float64(act[0]) + float64(a.Start)
		return
	}
	for i := range out[:p.ActDim] {
		v := float64(act[i])
		if i < len(a.Low) && v < a.Low[i] {
			v = a.Low[i]
		}
		if i < len(a.High) && v > a.High[i] {
			v = a.High[i]
		}
		out[i] = v
	}
}
