package classic

import (
	"github.com/goray/goray/plugins/envs"
)

// MountainCar is MountainCar-v0 (classic_control/mountain_car.py): discrete
// pushes, float64 state, float32 observations, reward −1 per step.
type MountainCar struct {
	spec envs.Spec
	seeder
	pos, vel     float64
	hasState     bool
	goalVelocity float64
}

const (
	mcMinPos   = -1.2
	mcMaxPos   = 0.6
	mcMaxSpeed = 0.07
	mcGoalPos  = 0.5
	mcForce    = 0.001
	mcGravity  = 0.0025
)

func newMountainCar(kw envs.Kwargs) (envs.Env, error) {
	const id = "MountainCar-v0"
	warmMath()
	k := newKwargs(id, kw)
	gv, err := k.float("goal_velocity", 0)
	if err != nil {
		return nil, err
	}
	if err := k.finish([]string{modeRGB}); err != nil {
		return nil, err
	}
	return &MountainCar{
		spec: envs.Spec{
			ID:               id,
			ObservationSpace: box32([]float64{mcMinPos, -mcMaxSpeed}, []float64{mcMaxPos, mcMaxSpeed}),
			ActionSpace:      discreteSpace(3),
			MaxEpisodeSteps:  200,
			RewardThreshold:  threshold(-110),
			RenderModes:      []string{modeRGB},
			Plugin:           PluginName,
		},
		goalVelocity: gv,
	}, nil
}

// Spec implements envs.Env.
func (e *MountainCar) Spec() envs.Spec { return e.spec }

// Reset draws the position from uniform(-0.6, -0.4) (options low/high
// override); the velocity starts at 0.
func (e *MountainCar) Reset(seed *int64, options map[string]any, obs []float64) (envs.Info, error) {
	pos, err := resetCar(&e.seeder, e.spec.ID, seed, options, obs)
	if err != nil {
		return nil, err
	}
	e.pos, e.vel, e.hasState = pos, 0, true
	return nil, nil // Gymnasium returns {}; an empty info is nil here
}

// Step implements envs.Env; it allocates nothing.
func (e *MountainCar) Step(action []float64, obs []float64) (float64, bool, envs.Info, error) {
	a, err := discreteAction(e.spec.ID, action, 3)
	if err != nil {
		return 0, false, nil, err
	}
	if !e.hasState {
		return 0, false, nil, envs.ErrResetNeeded
	}
	if err := checkObs(e.spec.ID, obs, 2); err != nil {
		return 0, false, nil, err
	}
	three, negG := 3.0, -mcGravity
	// Python's `velocity += a + b` adds the whole right-hand side at once.
	v := e.vel + (float64(float64(a-1)*mcForce) + float64(libmCosX(three*e.pos)*negG))
	v = clip(v, -mcMaxSpeed, mcMaxSpeed)
	p := clip(e.pos+v, mcMinPos, mcMaxPos)
	if p == mcMinPos && v < 0 {
		v = 0
	}
	e.pos, e.vel = p, v
	terminated := p >= mcGoalPos && v >= e.goalVelocity
	obs[0], obs[1] = f32(p), f32(v)
	return -1, terminated, nil, nil
}

// Render draws the hill and the car.
func (e *MountainCar) Render(mode string) (envs.Render, error) {
	if mode != modeRGB {
		return envs.Render{}, unsupportedRender(e.spec.ID, mode)
	}
	return renderMountainCar(e.pos, mcGoalPos), nil
}

// Close implements envs.Env.
func (e *MountainCar) Close() error { return nil }

// resetCar is the Reset both mountain cars share: it draws the position
// from uniform(low, high) (default -0.6, -0.4) and writes the observation
// with the velocity at 0.
func resetCar(s *seeder, id string, seed *int64, options map[string]any, obs []float64) (float64, error) {
	if err := checkObs(id, obs, 2); err != nil {
		return 0, err
	}
	low, high, err := resetBounds(id, options, -0.6, -0.4)
	if err != nil {
		return 0, err
	}
	if err := s.reseed(id, seed); err != nil {
		return 0, err
	}
	pos := s.rng.Uniform(low, high)
	obs[0], obs[1] = f32(pos), 0
	return pos, nil
}

// clip is np.clip for scalars: min(max(x, lo), hi).
func clip(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// MountainCarContinuous is MountainCarContinuous-v0
// (continuous_mountain_car.py): the state is stored as float32 after every
// step, the action is clipped to [-1, 1] for the dynamics but the raw
// action is charged in the reward.
type MountainCarContinuous struct {
	spec envs.Spec
	seeder
	pos, vel     float64
	hasState     bool
	goalVelocity float64
}

const (
	mccGoalPos = 0.45
	mccPower   = 0.0015
)

func newMountainCarContinuous(kw envs.Kwargs) (envs.Env, error) {
	const id = "MountainCarContinuous-v0"
	warmMath()
	k := newKwargs(id, kw)
	gv, err := k.float("goal_velocity", 0)
	if err != nil {
		return nil, err
	}
	if err := k.finish([]string{modeRGB}); err != nil {
		return nil, err
	}
	return &MountainCarContinuous{
		spec: envs.Spec{
			ID:               id,
			ObservationSpace: box32([]float64{mcMinPos, -mcMaxSpeed}, []float64{mcMaxPos, mcMaxSpeed}),
			ActionSpace:      box32([]float64{-1}, []float64{1}),
			MaxEpisodeSteps:  999,
			RewardThreshold:  threshold(90),
			RenderModes:      []string{modeRGB},
			Plugin:           PluginName,
		},
		goalVelocity: gv,
	}, nil
}

// Spec implements envs.Env.
func (e *MountainCarContinuous) Spec() envs.Spec { return e.spec }

// Reset draws the position from uniform(-0.6, -0.4) (options low/high
// override); the velocity starts at 0. The reset state stays float64
// until the first step, as in Gymnasium.
func (e *MountainCarContinuous) Reset(seed *int64, options map[string]any, obs []float64) (envs.Info, error) {
	pos, err := resetCar(&e.seeder, e.spec.ID, seed, options, obs)
	if err != nil {
		return nil, err
	}
	e.pos, e.vel, e.hasState = pos, 0, true
	return nil, nil // Gymnasium returns {}; an empty info is nil here
}

// Step implements envs.Env; it allocates nothing.
func (e *MountainCarContinuous) Step(action []float64, obs []float64) (float64, bool, envs.Info, error) {
	a, err := boxAction1(e.spec.ID, action)
	if err != nil {
		return 0, false, nil, err
	}
	if !e.hasState {
		return 0, false, nil, envs.ErrResetNeeded
	}
	if err := checkObs(e.spec.ID, obs, 2); err != nil {
		return 0, false, nil, err
	}
	force := min(max(a, -1.0), 1.0)
	three := 3.0
	v := e.vel + (float64(force*mccPower) - float64(mcGravity*libmCosX(three*e.pos)))
	v = clip(v, -mcMaxSpeed, mcMaxSpeed)
	p := clip(e.pos+v, mcMinPos, mcMaxPos)
	if p == mcMinPos && v < 0 {
		v = 0
	}
	terminated := p >= mccGoalPos && v >= e.goalVelocity
	reward := 0.0
	if terminated {
		reward = 100.0
	}
	reward -= pySquare(a) * 0.1
	// Gymnasium stores the new state as a float32 array.
	e.pos, e.vel = f32(p), f32(v)
	obs[0], obs[1] = e.pos, e.vel
	return reward, terminated, nil, nil
}

// Render draws the hill and the car.
func (e *MountainCarContinuous) Render(mode string) (envs.Render, error) {
	if mode != modeRGB {
		return envs.Render{}, unsupportedRender(e.spec.ID, mode)
	}
	return renderMountainCar(e.pos, mccGoalPos), nil
}

// Close implements envs.Env.
func (e *MountainCarContinuous) Close() error { return nil }
