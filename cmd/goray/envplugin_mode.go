package main

import "github.com/goray/goray/plugins/envs/envplugin"

// The goray binary is also the built-in env plugin: a host re-executes it
// with GORAY_ENV_PLUGIN=builtin and it serves the built-in envs instead of
// running a command.
func init() {
	helperModes = append(helperModes, func() (int, bool) {
		if !envplugin.Requested() {
			return 0, false
		}
		envplugin.ServeBuiltinIfRequested() // serves, then exits
		return 1, true
	})
}
