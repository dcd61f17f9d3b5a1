package rollout

import (
	"os"
	"testing"

	"github.com/goray/goray/plugins/envs/envplugin"
)

func TestMain(m *testing.M) {
	// DefaultEnvMaker re-executes this test binary as the built-in env
	// plugin.
	envplugin.ServeBuiltinIfRequested()
	os.Exit(m.Run())
}
