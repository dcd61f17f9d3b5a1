package rollout

import (
	"context"
	"fmt"

	"github.com/goray/goray/plugins/envs"
)

// DefaultEnvMaker makes an in-process vector (envs.NewVector) of one of
// goray's built-in classic envs. It is what remote rollout workers use.
func DefaultEnvMaker(ctx context.Context, cfg envs.VectorConfig) (envs.VectorEnv, error) {
	f, ok := builtinFactories()[cfg.ID]
	if !ok {
		return nil, fmt.Errorf("%w: %q (built-in envs: %v)", envs.ErrUnknownEnv, cfg.ID, builtinIDs())
	}
	return envs.NewVector(f, cfg)
}

// FactoryMaker returns an EnvMaker over a table of factories.
func FactoryMaker(factories map[string]envs.Factory) EnvMaker {
	return func(ctx context.Context, cfg envs.VectorConfig) (envs.VectorEnv, error) {
		f, ok := factories[cfg.ID]
		if !ok {
			return nil, fmt.Errorf("%w: %q", envs.ErrUnknownEnv, cfg.ID)
		}
		return envs.NewVector(f, cfg)
	}
}

func builtinIDs() []string {
	var ids []string
	for id := range builtinFactories() {
		ids = append(ids, id)
	}
	return ids
}
