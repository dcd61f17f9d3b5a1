package classic

import "github.com/goray/goray/plugins/envs"

// Factories returns a factory for every env ID this package registers, as
// gymnasium/envs/__init__.py registers them (time limits and reward
// thresholds in each Spec).
func Factories() map[string]envs.Factory {
	return map[string]envs.Factory{
		"CartPole-v0":              newCartPole("CartPole-v0", 200, 195.0),
		"CartPole-v1":              newCartPole("CartPole-v1", 500, 475.0),
		"MountainCar-v0":           newMountainCar,
		"MountainCarContinuous-v0": newMountainCarContinuous,
		"Pendulum-v1":              newPendulum,
		"Acrobot-v1":               newAcrobot,
		"FrozenLake-v1":            newFrozenLake("FrozenLake-v1", "4x4", 100, 0.70),
		"FrozenLake8x8-v1":         newFrozenLake("FrozenLake8x8-v1", "8x8", 200, 0.85),
		"CliffWalking-v1":          newCliffWalking("CliffWalking-v1", false),
		"CliffWalkingSlippery-v1":  newCliffWalking("CliffWalkingSlippery-v1", true),
		"Taxi-v4":                  newTaxi,
		"Blackjack-v1":             newBlackjack,
	}
}

// Make builds one env by ID, wrapping envs.ErrUnknownEnv for an unknown ID.
func Make(id string, kw envs.Kwargs) (envs.Env, error) {
	f, ok := Factories()[id]
	if !ok {
		return nil, &envs.EnvError{ID: id, Plugin: PluginName, Err: envs.ErrUnknownEnv}
	}
	return f(kw)
}
