// Package envplugin wires goray's built-in envs into the plugin machinery:
// the same goray binary re-executes itself as the built-in env plugin
// (Nomad's pattern), and NewRegistry builds a registry that knows the
// built-in envs both as in-process factories and as that plugin.
//
// Any program that may make built-in envs on the plugin path (the default)
// must call ServeBuiltinIfRequested first thing in main and TestMain
// (goray.MaybeRunWorker does it for goray programs); otherwise set
// GORAY_BUILTIN_PLUGIN to a goray binary. A binary without the hook fails
// the handshake with an error that says so.
package envplugin

import (
	"os"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/sdk"
)

// Requested reports whether this process was started as the built-in env
// plugin (GORAY_ENV_PLUGIN=builtin).
func Requested() bool { return os.Getenv(envs.BuiltinModeEnv) == "builtin" }

// ServeBuiltinIfRequested serves the built-in envs and exits when this
// process was started as the built-in env plugin; otherwise it returns at
// once. Call it before anything writes to stdout.
func ServeBuiltinIfRequested() {
	if Requested() {
		sdk.Serve(Builtin())
		os.Exit(0) // not reached: Serve exits
	}
}

// NewRegistry is envs.NewRegistry with the built-in envs filled in (when
// cfg.Builtin is nil).
func NewRegistry(cfg envs.RegistryConfig) (*envs.Registry, error) {
	if cfg.Builtin == nil {
		cfg.Builtin = Builtin()
	}
	return envs.NewRegistry(cfg)
}
