// Package sdk is how a third party ships an environment to goray: write the
// env as a type implementing envs.Env (Spec with its spaces, Reset, Step,
// Render, Close), put a constructor per env ID in a map and call Serve from
// main:
//
//	func main() {
//		sdk.Serve(map[string]envs.Factory{"GridWorld-v0": NewGridWorld})
//	}
//
// Build it as its own binary and name it in a job file (env_plugins) or
// drop it into the plugin directory (GORAY_PLUGIN_DIR). goray starts it with
// hashicorp/go-plugin over gRPC (protocol goray.env.v1, version 1) and asks
// it for its specs; each rollout worker then makes a vector of N sub-envs in
// its own plugin process.
//
// The plugin side builds vectors with envs.NewVector, so the TimeLimit
// (the spec's MaxEpisodeSteps), reset-before-step checks and the autoreset
// modes behave exactly as on the in-process path: an env implements only
// single-episode logic and always returns truncated=false. Steps take the
// shared-memory transport (shm/1, see package envs) without anything to do
// on the plugin's side; the host falls back to gRPC where it is missing.
//
// The plugin never outlives its host: besides the Pdeathsig the host sets, a
// watchdog exits when the parent PID changes or the host's gRPC connection
// drops. Log to stderr only (WithLogger); stdout carries the handshake.
package sdk
