package classic

import (
	"math"

	"github.com/goray/goray/plugins/envs"
)

// cartPoleConsts holds CartPole's derived constants, computed at run time
// in float64 exactly as Python evaluates them (Go constant arithmetic is
// exact and could round differently).
type cartPoleConsts struct {
	gravity, massPole, totalMass, length, poleMassLength, forceMag, tau float64
	fourThirds, thetaThreshold, xThreshold                              float64
}

func newCartPoleConsts() cartPoleConsts {
	c := cartPoleConsts{gravity: 9.8, massPole: 0.1, length: 0.5, forceMag: 10.0, tau: 0.02, xThreshold: 2.4}
	massCart := 1.0
	c.totalMass = c.massPole + massCart
	c.poleMassLength = c.massPole * c.length
	four, three := 4.0, 3.0
	c.fourThirds = four / three
	twelve, two, deg := 12.0, 2.0, 360.0
	c.thetaThreshold = twelve * two * math.Pi / deg
	return c
}

var cpConsts = newCartPoleConsts()

// CartPole is CartPole-v0/v1 (gymnasium/envs/classic_control/cartpole.py):
// Euler integration in float64, float32 observations, reward 1 on every
// step including the terminating one.
type CartPole struct {
	spec envs.Spec
	seeder
	state           [4]float64
	hasState        bool
	stepsBeyondTerm int // -1 while not terminated
	suttonBarto     bool
	semiImplicit    bool
}

func newCartPole(id string, maxSteps int, thr float64) envs.Factory {
	return func(kw envs.Kwargs) (envs.Env, error) {
		warmMath()
		k := newKwargs(id, kw)
		sb, err := k.boolean("sutton_barto_reward", false)
		if err != nil {
			return nil, err
		}
		if err := k.finish([]string{modeRGB}); err != nil {
			return nil, err
		}
		c := cpConsts
		high := []float64{c.xThreshold * 2, math.MaxFloat32, c.thetaThreshold * 2, math.MaxFloat32}
		low := make([]float64, 4)
		for i := range high {
			low[i] = -high[i]
		}
		return &CartPole{
			spec: envs.Spec{
				ID:               id,
				ObservationSpace: box32(low, high),
				ActionSpace:      discreteSpace(2),
				MaxEpisodeSteps:  maxSteps,
				RewardThreshold:  threshold(thr),
				RenderModes:      []string{modeRGB},
				Plugin:           PluginName,
			},
			stepsBeyondTerm: -1,
			suttonBarto:     sb,
		}, nil
	}
}

// Spec implements envs.Env.
func (e *CartPole) Spec() envs.Spec { return e.spec }

// Reset draws x, ẋ, θ, θ̇ from uniform(low, high) in that order (default
// ±0.05; options "low"/"high" override).
func (e *CartPole) Reset(seed *int64, options map[string]any, obs []float64) (envs.Info, error) {
	if err := checkObs(e.spec.ID, obs, 4); err != nil {
		return nil, err
	}
	low, high, err := resetBounds(e.spec.ID, options, -0.05, 0.05)
	if err != nil {
		return nil, err
	}
	if err := e.reseed(e.spec.ID, seed); err != nil {
		return nil, err
	}
	for i := range e.state {
		e.state[i] = e.rng.Uniform(low, high)
	}
	e.hasState = true
	e.stepsBeyondTerm = -1
	e.writeObs(obs)
	return nil, nil // Gymnasium returns {}; an empty info is nil here
}

func (e *CartPole) writeObs(obs []float64) {
	for i, v := range e.state {
		obs[i] = f32(v)
	}
}

// Step applies one push. It allocates nothing and returns a nil Info.
func (e *CartPole) Step(action []float64, obs []float64) (float64, bool, envs.Info, error) {
	a, err := discreteAction(e.spec.ID, action, 2)
	if err != nil {
		return 0, false, nil, err
	}
	if !e.hasState {
		return 0, false, nil, envs.ErrResetNeeded
	}
	if len(obs) != 4 {
		return 0, false, nil, checkObs(e.spec.ID, obs, 4)
	}
	c := &cpConsts
	x, xDot, theta, thetaDot := e.state[0], e.state[1], e.state[2], e.state[3]
	force := -c.forceMag
	if a == 1 {
		force = c.forceMag
	}
	// Every product that feeds a sum is wrapped in float64(): the Go spec
	// lets compilers fuse x*y+z into one FMA (arm64 does), which would
	// round differently from Python.
	cosT := libmCosX(theta)
	sinT := libmSinX(theta)
	temp := (force + float64(c.poleMassLength*pySquare(thetaDot)*sinT)) / c.totalMass
	thetaAcc := (float64(c.gravity*sinT) - float64(cosT*temp)) / (c.length * (c.fourThirds - c.massPole*pySquare(cosT)/c.totalMass))
	xAcc := temp - c.poleMassLength*thetaAcc*cosT/c.totalMass
	if e.semiImplicit {
		xDot = xDot + float64(c.tau*xAcc)
		x = x + float64(c.tau*xDot)
		thetaDot = thetaDot + float64(c.tau*thetaAcc)
		theta = theta + float64(c.tau*thetaDot)
	} else {
		x = x + float64(c.tau*xDot)
		xDot = xDot + float64(c.tau*xAcc)
		theta = theta + float64(c.tau*thetaDot)
		thetaDot = thetaDot + float64(c.tau*thetaAcc)
	}
	e.state = [4]float64{x, xDot, theta, thetaDot}
	terminated := x < -c.xThreshold || x > c.xThreshold || theta < -c.thetaThreshold || theta > c.thetaThreshold
	var reward float64
	switch {
	case !terminated:
		reward = 1
		if e.suttonBarto {
			reward = 0
		}
	case e.stepsBeyondTerm < 0:
		// The pole just fell: this step still earns its reward.
		e.stepsBeyondTerm = 0
		reward = 1
		if e.suttonBarto {
			reward = -1
		}
	default:
		e.stepsBeyondTerm++
		reward = 0
		if e.suttonBarto {
			reward = -1
		}
	}
	e.writeObs(obs)
	return reward, terminated, nil, nil
}

// Render draws the cart and pole ("rgb_array", 600×400 like Gymnasium).
func (e *CartPole) Render(mode string) (envs.Render, error) {
	if mode != modeRGB {
		return envs.Render{}, unsupportedRender(e.spec.ID, mode)
	}
	return renderCartPole(e.state[0], e.state[2]), nil
}

// Close implements envs.Env.
func (e *CartPole) Close() error { return nil }

// State returns the float64 state (x, ẋ, θ, θ̇), for tests and debugging.
func (e *CartPole) State() [4]float64 { return e.state }
