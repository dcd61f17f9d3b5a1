package rollout

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/envplugin"
)

// EnvPluginsEnv lists extra env plugin binaries (separated like PATH) that
// DefaultEnvMaker's registry loads; job files' env_plugins reach rollout
// workers through it.
const EnvPluginsEnv = "GORAY_ENV_PLUGINS"

// defaultRegistry is made once per process: it caches which plugin serves
// which env ID, and asking a plugin directory for its specs starts
// processes, which should not happen per rollout worker.
var defaultRegistry = sync.OnceValues(func() (*envs.Registry, error) {
	var plugins []string
	for _, p := range filepath.SplitList(os.Getenv(EnvPluginsEnv)) {
		if p != "" {
			plugins = append(plugins, p)
		}
	}
	return envplugin.NewRegistry(envs.RegistryConfig{Plugins: plugins})
})

// DefaultEnvMaker makes a vector through goray's env registry, the way the
// design asks: the built-in classic envs run in the built-in env plugin
// subprocess (a crash there cannot take down the rollout worker, and the
// worker restarts it), user plugins come from GORAY_PLUGIN_DIR and
// GORAY_ENV_PLUGINS. It is what remote rollout workers use.
func DefaultEnvMaker(ctx context.Context, cfg envs.VectorConfig) (envs.VectorEnv, error) {
	reg, err := defaultRegistry()
	if err != nil {
		return nil, fmt.Errorf("env registry: %w", err)
	}
	return reg.Make(ctx, cfg, envs.MakeOptions{})
}

// MakerFor returns DefaultEnvMaker when plugins is empty, and otherwise a
// maker whose registry also loads the given plugin binaries. Registries are
// cached per plugin list for the life of the process.
func MakerFor(plugins []string) EnvMaker {
	if len(plugins) == 0 {
		return DefaultEnvMaker
	}
	key := strings.Join(plugins, string(os.PathListSeparator))
	return func(ctx context.Context, cfg envs.VectorConfig) (envs.VectorEnv, error) {
		v, _ := pluginRegistries.LoadOrStore(key, sync.OnceValues(func() (*envs.Registry, error) {
			return envplugin.NewRegistry(envs.RegistryConfig{Plugins: plugins})
		}))
		reg, err := v.(func() (*envs.Registry, error))()
		if err != nil {
			return nil, fmt.Errorf("env registry: %w", err)
		}
		return reg.Make(ctx, cfg, envs.MakeOptions{})
	}
}

var pluginRegistries sync.Map // plugin list → func() (*envs.Registry, error)

// InProcessEnvMaker makes an in-process vector (envs.NewVector) of one of
// goray's built-in classic envs: the fast path with no crash isolation.
func InProcessEnvMaker(ctx context.Context, cfg envs.VectorConfig) (envs.VectorEnv, error) {
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
