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
// # Reproducibility and checkpoints
//
// The vector runs without autoreset: the worker resets a finished sub-env
// itself, with a seed derived from (seed, worker index, sub-env, episode
// number), and samples actions from its own PCG stream. Training is
// therefore bit-reproducible for fixed seeds and worker layouts. Env
// internals (an RNG inside a plugin) cannot be read through the env
// protocol, so a checkpoint keeps, per worker, the sampler RNG, the
// episode counters and the log of vector calls since the oldest running
// episode's seeded reset (WorkerState); restoring replays that log on
// fresh envs, which rebuilds their exact state for deterministic envs.
// The same replay restarts an env plugin that crashed mid-sample
// (envs.ErrPluginCrashed): the worker makes a new env, replays the log and
// carries on, and the batch is the one an undisturbed worker would have
// sampled. The log holds one entry per vector step since the oldest
// running episode began, so it stays as short as the longest episode.
package rollout
