// Package rllib is goray's reinforcement-learning library, modelled on
// RLlib's old API stack as the course in docs teaches it: an algorithm
// config built by chained calls (or decoded from a job file's [rllib] table
// with RLlib's snake_case names), an Algorithm with Train, Save, Stop and
// ComputeSingleAction, and RLlib's result dict with its exact key names.
//
// This package holds what every algorithm shares:
//
//   - the config sections (Rollouts, Resources, Model, Evaluation,
//     Debugging) with RLlib's defaults, and JobConfig, the flat TOML form;
//   - the Algorithm interface and the Result type;
//   - Run, the Tune-like loop that trains until a stop condition and writes
//     result.json, progress.csv, a learning-curve PNG and checkpoints;
//   - the checkpoint container (versioned JSON metadata plus little-endian
//     float32 tensors).
//
// The algorithms live in subpackages (ppo), the sampler and rollout workers
// in rollout, and the float32 network kernels in nn. algos dispatches a
// JobConfig to the algorithm its "algorithm" key names.
//
// # Where things run
//
// Rollout workers sample; the learner (the SGD loop) always runs in the
// driver process, on its CPUs, parallelised over its cores. NumGPUs is
// accepted and reserved as a resource in the placement group, as RLlib does,
// but goray has no GPU kernels: the learner does not use the GPU.
//
// # Adding algorithms
//
// Algorithm is deliberately small: one Train call is one RLlib
// training_step plus bookkeeping. DQN and SAC fit it with a replay buffer
// filled from the same rollout workers (rollout.WorkerSet) and a learner of
// their own; APPO/IMPALA fit it by sampling asynchronously from the worker
// set (one outstanding request per worker) and applying V-trace in Train.
// Every algorithm reports the same Result, so Run, Tune and the job runner
// treat them alike.
package rllib
