// Package envs is goray's environment layer: Gymnasium's env semantics as Go
// interfaces (Env, VectorEnv, Space, Spec), the vector that applies
// Gymnasium's wrappers, the registry that finds envs by ID, and both ends of
// the env plugin protocol.
//
// # Vectors
//
// An Env implements one episode's logic only. NewVector runs N of them as
// gymnasium.vector.SyncVectorEnv over gym.make's wrappers would: the spec's
// MaxEpisodeSteps is the TimeLimit (truncated=true once a sub-env has taken
// that many steps since its reset; terminated and truncated may both be
// true), stepping before the first reset is ErrResetNeeded
// (OrderEnforcing), Reset takes one seed per sub-env (SeedsFrom gives
// Gymnasium's seed+i rule for vector.reset(seed=s)) and the option
// "reset_mask" resets only some sub-envs. The autoreset modes are those of
// Gymnasium 1.x:
//
//   - NEXT_STEP (default): the step after a sub-env finished resets it
//     instead of stepping it; its action is ignored and it reports the reset
//     observation, reward 0, terminated=truncated=false and the reset info.
//   - SAME_STEP: the finished sub-env is reset within the step that ended
//     it; the step reports the reset observation with the last step's reward
//     and flags, and its info holds "final_obs" and "final_info" merged into
//     the reset info (not available with NoInfos).
//   - DISABLED: nothing is reset; the caller resets finished sub-envs with
//     "reset_mask".
//
// A VectorEnv returns a *Batch it owns and overwrites on the next call, so
// the hot path allocates nothing: with NoInfos the in-process Step makes no
// allocation of its own (TestVectorStepZeroAllocs). Copy what must outlive
// the next call. Empty infos are reported as nil on every path.
//
// # Plugins
//
// Envs also run in separate processes, loaded with hashicorp/go-plugin over
// gRPC (protocol goray.env.v1 in proto/goray/env/v1, plugin protocol
// version ProtocolVersion, gRPC only). A plugin binary serves one or more env
// IDs (package sdk writes one in a few lines); the host starts one plugin
// process per vector (MakePluginVector), so an env that crashes takes down
// only its own vector. Everything is batched: one step carries the
// actions of all N sub-envs and returns all their results. The plugin side
// runs the same NewVector, so both paths share every rule above, and errors
// cross the boundary as their sentinels (errors.Is works on the host).
//
// # Step transports
//
// Reset, Render, Close and the specs always travel over gRPC. Step has
// three transports (PluginVector.Transport names the one in use):
//
//   - shm/1 (TransportShm, the default): the batch arrays live in a memfd
//     that the plugin maps and hands to the host (SCM_RIGHTS) over a unix
//     socket of its own, and a step is a seq handshake in that shared
//     memory. Each side polls for the other's seq for up to 50 µs (yielding
//     the CPU between polls) before it sleeps in a blocking read of the
//     socket; the other side rings that socket only when the sleeper said
//     it sleeps. A step between two running processes thus makes no system
//     call; infos and env errors follow in a frame on the socket. See
//     shm.go for the layout and the frames.
//   - grpc-stream (TransportStream): one message each way over the
//     bidirectional StepStream; used by plugins that ignore the shm offer
//     (written before it, or in a language without it), and after a step
//     interrupted by its context until the reset that must follow offers a
//     new shm channel (AttachFastTransport).
//   - grpc-unary (TransportUnary, HostOptions.UnaryStep): one unary call per
//     step, for plugins that cannot stream.
//
// The transport is negotiated in MakeVector without a new protocol
// version: the host offers shm/1 in MakeVectorRequest.fast_transport (a
// random abstract socket name and a token); a plugin that knows the offer
// connects, sends the token and the memfd, then answers with transport
// "shm/1"; one that does not know the field ignores it and answers "", and
// the host steps over the stream. The host drops a connection with a wrong
// token or another uid, and falls back to gRPC if attaching fails. Every
// plugin built with package sdk (or NewServer) gets shm/1 automatically.
//
// The shm wait honours the same rules as gRPC: a step's context shuts the
// socket down, so a hung plugin returns the context's error (the vector
// then needs a reset); a plugin that dies closes
// its end, so the wait returns ErrPluginCrashed at once. Nothing is left on
// the filesystem (the socket is abstract, the memory a memfd), and the
// memory goes away with the last process that maps it.
//
// A plugin never outlives its host: the child gets Pdeathsig=SIGKILL and its
// own process group (killed on Close), and the SDK's watchdog exits when the
// parent PID changes or the host's gRPC connection drops (go-plugin plugins
// were seen orphaned after a host SIGKILL). A crashed plugin surfaces
// ErrPluginCrashed on the call that hit the crash and on every later call
// until PluginVector.Restart starts a new process and re-makes the vector.
// Start failures name the plugin: ErrHandshake (another protocol version,
// not a plugin, or a goray binary without the built-in hook),
// ErrChecksumMismatch (SecureConfig sha256 pinning), ErrUnknownEnv.
//
// # Registry
//
// A Registry maps env IDs to where they come from: the built-in envs (as
// in-process factories and as the built-in plugin, which is this executable
// re-executed with GORAY_ENV_PLUGIN=builtin, or GORAY_BUILTIN_PLUGIN), the
// user plugins in the plugin directory (GORAY_PLUGIN_DIR), and binaries
// named explicitly (job files). package envplugin builds one with goray's
// classic envs.
//
// # In process or subprocess: the default
//
// The design asks for the subprocess as the default unless measurement says
// otherwise, and with shm/1 it no longer does for the rollout case (N in the
// hundreds): Registry.Make runs the built-in envs in the built-in plugin
// by default, and in process with MakeOptions.InProcess or
// RegistryConfig.BuiltinInProcess. Third-party envs always run in their
// plugin process.
//
// BenchmarkPluginRatio, classic CartPole-v1 (Gymnasium-exact), no infos,
// the in-process vector and the plugin (shm/1) stepped in the same process,
// interleaved in chunks of 16 steps so that machine noise hits both alike;
// medians of 10 runs on the shared 2-core build VM (AMD EPYC, go1.26.8, load
// average 8-10 from other builds), sub-env steps per second:
//
//	N      in process    plugin (shm/1)   plugin / in process (min-max)
//	1      10.7M/s       229k/s (4.4 µs)  2.3% (1.7-3.8%)
//	16     11.8M/s       3.11M/s          27% (23-36%)
//	256    11.6M/s       8.17M/s          71% (56-77%)
//
// go test -run '^$' -bench PluginRatio -count=10 ./plugins/envs/
//
// An earlier set of 8 runs gave 1.8%, 14% and 71% (65-77%); at the
// heaviest load single runs at N=256 dipped to 27%, when the plugin
// process waited for a CPU behind other builds. The in-process path never
// waits for a second process to be scheduled, which is what the plugin
// pays for on a busy machine.
//
// The old transports, from BenchmarkVectorStep (separate runs, so noisier):
// the gRPC stream takes ~60 µs per step at N=1 (16k steps/s) and ~125 µs at
// N=256 (2.0M/s); unary calls ~110 µs and ~210-250 µs
// (1.0-1.2M/s). Before shm/1 the stream was the default and reached 24-40%
// at N=256, below the goal of 50%. Single-env step latency through shm/1
// (BenchmarkPluginStepLatency): p50 1-3 µs, p99 4-27 µs (goal ≤ 100 µs).
//
// Where the plugin's time goes at N=256: the 256 CartPole steps themselves
// (the same code as in process, ~20 µs), two copies of the batch (host →
// shared memory → host, ~1-2 µs) and the handshake, which costs ~1 µs when
// both processes are running and a scheduler wake-up (5-20 µs on this VM)
// when one had to sleep. At N=1 and N=16 the handshake dominates, so a
// small vector that does not need crash isolation is much faster in
// process: use MakeOptions.InProcess there. Gymnasium itself, for scale:
// 5.7 µs per step single-env, ~6.8M steps/s at N=256 with numpy's vector
// CartPole.
package envs
