package rllib

import (
	"context"
	"errors"
)

// ErrStopped is returned by an Algorithm's methods after Stop.
var ErrStopped = errors.New("algorithm stopped")

// Algorithm is a built, trainable algorithm: RLlib's Algorithm as the
// old-stack course uses it.
type Algorithm interface {
	// Train runs one training iteration (RLlib's train(): sample, learn,
	// broadcast weights) and returns its result.
	Train(ctx context.Context) (*Result, error)
	// Evaluate plays the configured number of evaluation episodes with the
	// current policy on the driver.
	Evaluate(ctx context.Context) (*EvalResult, error)
	// ComputeSingleAction returns the policy's action for one observation
	// in the env's flat layout (a Discrete observation is its index).
	// explore samples from the action distribution; false takes its mode.
	ComputeSingleAction(obs []float64, explore bool) ([]float64, error)
	// Save writes a checkpoint directory that FromCheckpoint of the same
	// algorithm package restores. ctx bounds fetching remote workers'
	// states.
	Save(ctx context.Context, dir string) error
	// Iteration is the number of completed Train calls.
	Iteration() int
	// Stop releases the rollout workers, envs and placement group.
	Stop(ctx context.Context) error
}
