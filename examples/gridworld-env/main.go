// Command gridworld-env is a third-party goray env plugin: a GridWorld with
// its own kwargs (size, slip), written against goray's public SDK and built
// as its own binary:
//
//	go build ./examples/gridworld-env
//	goray env list --plugin ./gridworld-env
//	goray env run GridWorld-v0 --plugin ./gridworld-env --kwargs size=4,slip=0.1 --episodes 3
//
// A job file names it in env_plugins (see job.toml); Go code registers it
// with envs.Registry.AddPlugin or RegistryConfig.Plugins (see
// gridworld_test.go). Run directly, it says it is a plugin and exits.
package main

import (
	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/sdk"
)

func main() {
	sdk.Serve(map[string]envs.Factory{"GridWorld-v0": NewGridWorld})
}
