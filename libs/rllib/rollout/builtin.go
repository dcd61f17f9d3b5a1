package rollout

import (
	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/classic"
)

// builtinFactories is the table DefaultEnvMaker serves: Gymnasium's
// classic envs, compiled into goray.
func builtinFactories() map[string]envs.Factory { return classic.Factories() }
