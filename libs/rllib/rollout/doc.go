// Package rollout is the sampling side of goray's RLlib: the policy as the
// sampler sees it (observation encoding, action decoding), the columnar
// SampleBatch, GAE, the RolloutWorker that steps one envs.VectorEnv, and the
// WorkerSets that run several workers in parallel: as goroutines in the
// driver, or as goray actors placed through a placement group.
//
// # One sample call
//
// A worker steps its NumEnvsPerWorker sub-envs as one vector and records
// at least fragment × sub-envs transitions (truncate_episodes; the last
// vector step may overshoot by fewer than the number of sub-envs), or,
// with complete_episodes, lets each sub-env finish the episode it is in
// once it has its share. Episodes continue across sample calls and
// iterations. Each trajectory piece is closed with a bootstrap value: zero
// after termination, V(final observation) after truncation by the time
// limit, V(next observation) where the fragment cuts an episode. GAE runs
// on the worker, as in RLlib (compute_gae_for_sample_batch).
//
// # The env vector and its cost
//
// The vector comes from an EnvMaker: DefaultEnvMaker (through the env
// registry, so the built-in envs run in the built-in env plugin
// subprocess, stepped over its shared-memory transport), MakerFor(plugins)
// for job files' env_plugins, or InProcessEnvMaker (no subprocess). Each
// vector step is one batched call for all sub-envs, with no infos, and the
// worker's hot loop allocates nothing per step (logged actions go into an
// append-only arena). A reset, though, is a gRPC call to the plugin (~150
// µs against ~2-5 µs for a step), and FrozenLake ends an episode every ~8
// steps, so resetting each finished sub-env with a call of its own made
// sampling through the plugin 30-40 times slower than in process. The
// vector therefore runs with NEXT_STEP autoreset: a finished sub-env is
// reset by the vector inside the next step (its action is ignored and it
// records no transition), which costs that sub-env one slot of a step
// that runs anyway. Sub-envs thus drift apart by a step per episode, so
// with truncate_episodes a sample call returns at least fragment ×
// sub-envs transitions and at most sub-envs − 1 more.
//
// # Reproducibility and checkpoints
//
// A sub-env's first episode, and the first episode that starts at least
// ReseedAfter vector calls after its last seeded reset, begin with a reset
// the worker makes itself, seeded from (seed, worker index, sub-env,
// episode number); the episodes in between start with the vector's
// unseeded autoreset, which continues the env's own RNG. Actions come from
// the worker's own PCG stream. Training is therefore bit-reproducible for
// fixed seeds and worker layouts, and the plugin and in-process paths
// sample the same batches. Env internals (an RNG inside a plugin) cannot be
// read through the env protocol, so a checkpoint keeps, per worker, the
// sampler RNG, the episode counters, which sub-envs await their autoreset,
// and the log of vector calls since the oldest running chain's seeded reset
// (WorkerState); restoring replays that log on fresh envs, which rebuilds
// their exact state for deterministic envs. The same replay restarts an env
// plugin that crashed mid-sample (envs.ErrPluginCrashed): the worker makes
// a new env, replays the log and carries on, and the batch is the one an
// undisturbed worker would have sampled. The log holds at most ReseedAfter
// calls plus the longest episode.
package rollout
