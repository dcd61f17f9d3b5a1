package classic

import (
	"math"

	"github.com/goray/goray/plugins/envs"
)

// Pendulum is Pendulum-v1 (classic_control/pendulum.py). θ is never
// wrapped in the state; the cost uses the normalised angle.
type Pendulum struct {
	spec envs.Spec
	seeder
	th, thDot float64
	hasState  bool
	g         float64
	lastU     float64
	hasLastU  bool
}

const (
	pendMaxSpeed  = 8.0
	pendMaxTorque = 2.0
	pendDt        = 0.05
	pendM         = 1.0
	pendL         = 1.0
)

func newPendulum(kw envs.Kwargs) (envs.Env, error) {
	const id = "Pendulum-v1"
	warmMath()
	k := newKwargs(id, kw)
	g, err := k.float("g", 10.0)
	if err != nil {
		return nil, err
	}
	if err := k.finish([]string{modeRGB}); err != nil {
		return nil, err
	}
	return &Pendulum{
		spec: envs.Spec{
			ID:               id,
			ObservationSpace: box32([]float64{-1, -1, -pendMaxSpeed}, []float64{1, 1, pendMaxSpeed}),
			ActionSpace:      box32([]float64{-pendMaxTorque}, []float64{pendMaxTorque}),
			MaxEpisodeSteps:  200,
			RenderModes:      []string{modeRGB},
			Plugin:           PluginName,
		},
		g: g,
	}, nil
}

// Spec implements envs.Env.
func (e *Pendulum) Spec() envs.Spec { return e.spec }

// Reset draws θ from uniform(-x_init, x_init) then θ̇ from
// uniform(-y_init, y_init) (defaults π and 1).
func (e *Pendulum) Reset(seed *int64, options map[string]any, obs []float64) (envs.Info, error) {
	if err := checkObs(e.spec.ID, obs, 3); err != nil {
		return nil, err
	}
	x, err := optionNumber(e.spec.ID, options, "x_init", math.Pi)
	if err != nil {
		return nil, err
	}
	y, err := optionNumber(e.spec.ID, options, "y_init", 1.0)
	if err != nil {
		return nil, err
	}
	if err := e.reseed(e.spec.ID, seed); err != nil {
		return nil, err
	}
	e.th = e.rng.Uniform(-x, x)
	e.thDot = e.rng.Uniform(-y, y)
	e.hasState = true
	e.hasLastU = false
	e.writeObs(obs)
	return nil, nil // Gymnasium returns {}; an empty info is nil here
}

func (e *Pendulum) writeObs(obs []float64) {
	obs[0] = f32(libmCosX(e.th))
	obs[1] = f32(libmSinX(e.th))
	obs[2] = f32(e.thDot)
}

// angleNormalize is ((x + π) mod 2π) − π with Python's float modulo (the
// result takes the divisor's sign).
func angleNormalize(x float64) float64 {
	twoPi := 2 * math.Pi
	m := math.Mod(x+math.Pi, twoPi)
	if m != 0 && m < 0 {
		m += twoPi
	} else if m == 0 {
		m = 0
	}
	return m - math.Pi
}

// Step implements envs.Env; it allocates nothing. The torque is the
// float32 action clipped to ±2; like numpy with an np.float32 action, u² is
// a float32 product.
func (e *Pendulum) Step(action []float64, obs []float64) (float64, bool, envs.Info, error) {
	u, err := boxAction1(e.spec.ID, action)
	if err != nil {
		return 0, false, nil, err
	}
	if !e.hasState {
		return 0, false, nil, envs.ErrResetNeeded
	}
	if err := checkObs(e.spec.ID, obs, 3); err != nil {
		return 0, false, nil, err
	}
	u = clip(u, -pendMaxTorque, pendMaxTorque)
	e.lastU, e.hasLastU = u, true
	th, thDot := e.th, e.thDot
	an := angleNormalize(th)
	u2 := float64(float32(u) * float32(u))
	costs := pySquare(an) + float64(0.1*pySquare(thDot)) + float64(0.001*u2)
	three, two, threeF := 3.0, 2.0, 3.0
	k1 := three * e.g / (two * pendL)
	k2 := threeF / (pendM * (pendL * pendL))
	newThDot := thDot + float64((float64(k1*libmSinX(th))+float64(k2*u))*pendDt)
	newThDot = clip(newThDot, -pendMaxSpeed, pendMaxSpeed)
	newTh := th + float64(newThDot*pendDt)
	e.th, e.thDot = newTh, newThDot
	e.writeObs(obs)
	return -costs, false, nil, nil
}

// Render draws the pendulum rod.
func (e *Pendulum) Render(mode string) (envs.Render, error) {
	if mode != modeRGB {
		return envs.Render{}, unsupportedRender(e.spec.ID, mode)
	}
	return renderPendulum(e.th), nil
}

// Close implements envs.Env.
func (e *Pendulum) Close() error { return nil }
