package goray

import "github.com/goray/goray/plugins/envs/envplugin"

// Every goray program can serve the built-in env plugin: the env registry
// re-executes the running binary with GORAY_ENV_PLUGIN=builtin, and this
// hook turns that process into the plugin. It runs at package
// initialisation, before main (Nomad's pattern for its internal plugins), so
// a program needs no call of its own and nothing can write to stdout first,
// which would corrupt go-plugin's handshake.
func init() { envplugin.ServeBuiltinIfRequested() }
