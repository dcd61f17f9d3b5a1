package classic

import (
	"math"

	"github.com/goray/goray/plugins/envs"
)

// Acrobot is Acrobot-v1 (classic_control/acrobot.py) with the "book"
// dynamics and one RK4 step per env step, evaluated in the same operation
// order as Gymnasium's rk4 and _dsdt.
type Acrobot struct {
	spec envs.Spec
	seeder
	s        [4]float64
	hasState bool
	c        acrobotConsts
}

// acrobotConsts are Gymnasium's derived constants, computed in float64 at
// run time in Python's order.
type acrobotConsts struct {
	m1, m2, l1, lc1, lc2, i1, i2, g float64
	maxVel1, maxVel2                float64
	halfPi                          float64
}

func newAcrobotConsts() acrobotConsts {
	four, nine, two := 4.0, 9.0, 2.0
	return acrobotConsts{
		m1: 1, m2: 1, l1: 1, lc1: 0.5, lc2: 0.5, i1: 1, i2: 1, g: 9.8,
		maxVel1: four * math.Pi, maxVel2: nine * math.Pi, halfPi: math.Pi / two,
	}
}

func newAcrobot(kw envs.Kwargs) (envs.Env, error) {
	const id = "Acrobot-v1"
	warmMath()
	k := newKwargs(id, kw)
	if err := k.finish([]string{modeRGB}); err != nil {
		return nil, err
	}
	c := newAcrobotConsts()
	high := []float64{1, 1, 1, 1, c.maxVel1, c.maxVel2}
	low := make([]float64, len(high))
	for i := range high {
		low[i] = -high[i]
	}
	return &Acrobot{
		spec: envs.Spec{
			ID:               id,
			ObservationSpace: box32(low, high),
			ActionSpace:      discreteSpace(3),
			MaxEpisodeSteps:  500,
			RewardThreshold:  threshold(-100),
			RenderModes:      []string{modeRGB},
			Plugin:           PluginName,
		},
		c: c,
	}, nil
}

// Spec implements envs.Env.
func (e *Acrobot) Spec() envs.Spec { return e.spec }

// Reset draws four values from uniform(-0.1, 0.1) (options low/high
// override), rounded to float32 as Gymnasium's astype(np.float32) does.
func (e *Acrobot) Reset(seed *int64, options map[string]any, obs []float64) (envs.Info, error) {
	if err := checkObs(e.spec.ID, obs, 6); err != nil {
		return nil, err
	}
	low, high, err := resetBounds(e.spec.ID, options, -0.1, 0.1)
	if err != nil {
		return nil, err
	}
	if err := e.reseed(e.spec.ID, seed); err != nil {
		return nil, err
	}
	for i := range e.s {
		e.s[i] = f32(e.rng.Uniform(low, high))
	}
	e.hasState = true
	e.writeObs(obs)
	return nil, nil // Gymnasium returns {}; an empty info is nil here
}

func (e *Acrobot) writeObs(obs []float64) {
	// After reset the state is a float32 array and numpy evaluates cos and
	// sin in float32; rounding the float64 value to float32 gives the
	// correctly rounded float32 result, which numpy's float32 kernels
	// return in all but rare cases (hence the Acrobot tolerance in doc.go).
	obs[0] = f32(libmCosX(e.s[0]))
	obs[1] = f32(libmSinX(e.s[0]))
	obs[2] = f32(libmCosX(e.s[1]))
	obs[3] = f32(libmSinX(e.s[1]))
	obs[4] = f32(e.s[2])
	obs[5] = f32(e.s[3])
}

// dsdt is Gymnasium's _dsdt ("book" variant) for torque a.
func (e *Acrobot) dsdt(y [4]float64, a float64) [4]float64 {
	c := &e.c
	theta1, theta2, dtheta1, dtheta2 := y[0], y[1], y[2], y[3]
	two := 2.0
	cos2 := libmCosX(theta2)
	sin2 := libmSinX(theta2)
	d1 := float64(c.m1*(c.lc1*c.lc1)) + float64(c.m2*(c.l1*c.l1+c.lc2*c.lc2+float64(two*c.l1*c.lc2*cos2))) + c.i1 + c.i2
	d2 := float64(c.m2*(c.lc2*c.lc2+float64(c.l1*c.lc2*cos2))) + c.i2
	phi2 := c.m2 * c.lc2 * c.g * libmCosX(theta1+theta2-c.halfPi)
	phi1 := float64(-c.m2*c.l1*c.lc2*pySquare(dtheta2)*sin2) - float64(two*c.m2*c.l1*c.lc2*dtheta2*dtheta1*sin2) +
		float64((c.m1*c.lc1+c.m2*c.l1)*c.g*libmCosX(theta1-c.halfPi)) + phi2
	ddtheta2 := (a + float64(d2/d1*phi1) - float64(c.m2*c.l1*c.lc2*pySquare(dtheta1)*sin2) - phi2) /
		(float64(c.m2*(c.lc2*c.lc2)) + c.i2 - pySquare(d2)/d1)
	ddtheta1 := -(float64(d2*ddtheta2) + phi1) / d1
	return [4]float64{dtheta1, dtheta2, ddtheta1, ddtheta2}
}

// Step applies torque −1, 0 or +1 through one RK4 step of 0.2 s.
func (e *Acrobot) Step(action []float64, obs []float64) (float64, bool, envs.Info, error) {
	a, err := discreteAction(e.spec.ID, action, 3)
	if err != nil {
		return 0, false, nil, err
	}
	if !e.hasState {
		return 0, false, nil, envs.ErrResetNeeded
	}
	if err := checkObs(e.spec.ID, obs, 6); err != nil {
		return 0, false, nil, err
	}
	torque := float64(a - 1)
	dt := 0.2 - 0.0
	dt2 := dt / 2.0
	six := 6.0
	dt6 := dt / six
	y0 := e.s
	k1 := e.dsdt(y0, torque)
	var y [4]float64
	for i := range y {
		y[i] = y0[i] + float64(dt2*k1[i])
	}
	k2 := e.dsdt(y, torque)
	for i := range y {
		y[i] = y0[i] + float64(dt2*k2[i])
	}
	k3 := e.dsdt(y, torque)
	for i := range y {
		y[i] = y0[i] + float64(dt*k3[i])
	}
	k4 := e.dsdt(y, torque)
	var ns [4]float64
	for i := range ns {
		sum := k1[i] + float64(2*k2[i]) + float64(2*k3[i]) + k4[i]
		ns[i] = y0[i] + float64(dt6*sum)
	}
	ns[0] = wrapAngle(ns[0], -math.Pi, math.Pi)
	ns[1] = wrapAngle(ns[1], -math.Pi, math.Pi)
	ns[2] = min(max(ns[2], -e.c.maxVel1), e.c.maxVel1)
	ns[3] = min(max(ns[3], -e.c.maxVel2), e.c.maxVel2)
	e.s = ns
	terminated := -libmCosX(ns[0])-libmCosX(ns[1]+ns[0]) > 1.0
	reward := -1.0
	if terminated {
		reward = 0
	}
	e.writeObs(obs)
	return reward, terminated, nil, nil
}

// wrapAngle is Gymnasium's wrap: add or subtract the range until x is in
// [m, M].
func wrapAngle(x, m, mx float64) float64 {
	diff := mx - m
	for x > mx {
		x -= diff
	}
	for x < m {
		x += diff
	}
	return x
}

// Render draws the two links.
func (e *Acrobot) Render(mode string) (envs.Render, error) {
	if mode != modeRGB {
		return envs.Render{}, unsupportedRender(e.spec.ID, mode)
	}
	return renderAcrobot(e.s[0], e.s[1]), nil
}

// Close implements envs.Env.
func (e *Acrobot) Close() error { return nil }
