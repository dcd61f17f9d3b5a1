package nn

import "fmt"

// Activation names a hidden-layer nonlinearity, spelled as RLlib's
// fcnet_activation.
type Activation string

// The activations RLlib's fully connected net accepts.
const (
	Tanh   Activation = "tanh"
	ReLU   Activation = "relu"
	Linear Activation = "linear"
)

// Validate reports an unknown activation name.
func (a Activation) Validate() error {
	switch a {
	case Tanh, ReLU, Linear:
		return nil
	}
	return fmt.Errorf("activation %q: want tanh, relu or linear", string(a))
}

// tanh32 is tanh in float32 by a 13/6 rational approximation (the one Eigen
// uses for float), clamped where tanh rounds to ±1 in float32. It is within
// a few ulp of the float64 tanh rounded to float32 and several times faster.
func tanh32(x float32) float32 {
	const clamp = 7.90531110763549805
	if x > clamp {
		x = clamp
	} else if x < -clamp {
		x = -clamp
	}
	if x < 0.0004 && x > -0.0004 {
		return x
	}
	const (
		a1  = 4.89352455891786e-03
		a3  = 6.37261928875436e-04
		a5  = 1.48572235717979e-05
		a7  = 5.12229709037114e-08
		a9  = -8.60467152213735e-11
		a11 = 2.00018790482477e-13
		a13 = -2.76076847742355e-16
		b0  = 4.89352518554385e-03
		b2  = 2.26843463243900e-03
		b4  = 1.18534705686654e-04
		b6  = 1.19825839466702e-06
	)
	x2 := x * x
	p := float32(a13)
	p = p*x2 + a11
	p = p*x2 + a9
	p = p*x2 + a7
	p = p*x2 + a5
	p = p*x2 + a3
	p = p*x2 + a1
	p *= x
	q := float32(b6)
	q = q*x2 + b4
	q = q*x2 + b2
	q = q*x2 + b0
	return p / q
}

// activate applies a in place.
func activate(a Activation, y []float32) {
	switch a {
	case Tanh:
		i := 0
		if useAVX {
			i = len(y) &^ 7
			tanhAVX(y[:i])
		}
		for ; i < len(y); i++ {
			y[i] = tanh32(y[i])
		}
	case ReLU:
		for i, v := range y {
			if v < 0 {
				y[i] = 0
			}
		}
	}
}

// activateBackward turns dy (the gradient at the activation's output y)
// into the gradient at its input, in place.
func activateBackward(a Activation, y, dy []float32) {
	y = y[:len(dy)]
	switch a {
	case Tanh:
		i := 0
		if useAVX {
			i = len(dy) &^ 7
			tanhBackAVX(y[:i], dy[:i])
		}
		for ; i < len(dy); i++ {
			dy[i] *= 1 - y[i]*y[i]
		}
	case ReLU:
		for i, v := range y {
			if v <= 0 {
				dy[i] = 0
			}
		}
	}
}
