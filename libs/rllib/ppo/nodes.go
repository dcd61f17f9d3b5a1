package ppo

import (
	"context"
	"errors"
)

// ErrNoRemoteWorkers reports that the rollout workers run in the driver's
// process, so they have no nodes of their own.
var ErrNoRemoteWorkers = errors.New("ppo: rollout workers are not goray actors")

// WorkerNodes returns the node each remote rollout worker runs on, in
// worker order (after a node failure, the nodes of the recreated workers).
func (p *PPO) WorkerNodes(ctx context.Context) ([]string, error) {
	s, ok := p.workers.(interface {
		WorkerNodes(context.Context) ([]string, error)
	})
	if !ok {
		return nil, ErrNoRemoteWorkers
	}
	return s.WorkerNodes(ctx)
}
