package rollout

import (
	"context"
	"fmt"

	"github.com/goray/goray"
)

// NodeID returns the ID of the node the worker's process runs on, so that
// a driver (or a test) can see how the workers spread over a cluster.
func (r *RemoteWorker) NodeID(ctx context.Context) (string, error) {
	return goray.NodeID(ctx), nil
}

// WorkerNodes returns the node of each rollout worker, in worker order. A
// worker that does not answer (its node died and it has not been
// recreated yet) fails the call.
func (s *ActorSet) WorkerNodes(ctx context.Context) ([]string, error) {
	out := make([]string, len(s.handles))
	for i, h := range s.handles {
		id, err := goray.Call[string](ctx, h, "NodeID").Get(ctx)
		if err != nil {
			return nil, fmt.Errorf("rollout worker %d: node: %w", s.cfgs[i].WorkerIndex, err)
		}
		out[i] = id
	}
	return out, nil
}
