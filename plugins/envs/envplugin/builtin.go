package envplugin

import (
	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/classic"
)

// Builtin returns the factories of the envs compiled into goray, by ID:
// Gymnasium's classic-control and toy-text envs.
func Builtin() map[string]envs.Factory {
	return classic.Factories()
}
