// Package ppo is Proximal Policy Optimization with RLlib's old-stack
// config API and RLlib's exact defaults and loss.
//
//	cfg := ppo.NewConfig().
//		Environment("FrozenLake-v1", nil).
//		Rollouts(rllib.Rollouts{NumRolloutWorkers: 2, NumEnvsPerWorker: 2}).
//		Training(ppo.Training{Model: rllib.Model{FcnetHiddens: []int{32, 32}}})
//	algo, err := cfg.Build(ctx)
//	res, err := algo.Train(ctx)
//	algo.Stop(ctx)
//
// One Train call is RLlib's PPO training_step: broadcast the weights,
// sample at least train_batch_size env steps from the rollout workers,
// standardise the advantages over the batch, run num_sgd_iter epochs of
// Adam over minibatches of sgd_minibatch_size with the clipped surrogate,
// the clipped squared value error (vf_clip_param) and the KL penalty, then
// adapt kl_coeff (×1.5 above 2×kl_target, ×0.5 below ½×kl_target).
//
// # The learner
//
// The SGD loop runs in the driver. A minibatch is split into a fixed number
// of shards (Config.NumLearnerShards, 4), each shard's gradient is computed
// on its own goroutine into its own buffer, and the shard gradients are
// summed in shard order. The sum, and hence training, is bit-identical for
// a given seed and worker layout whatever the number of cores or the
// goroutine schedule.
//
// # Where samples come from
//
// With NumRolloutWorkers = 0 the driver samples (RLlib's local worker).
// With workers, each is a goray actor when the context carries a goray
// runtime (goray.WithRuntime) and Config.InProcessWorkers is false;
// otherwise the workers run as goroutines in the driver process, which
// gives the same batches bit for bit. Actor workers are placed through a
// placement group (one driver bundle, one bundle per worker, PACK unless
// Resource.PlacementStrategy says otherwise); with
// RecreateFailedWorkers a worker whose process or node died is replaced and
// its sample request retried (num_remote_worker_restarts counts it).
//
// # Checkpoints
//
// Save writes weights, Adam moments, the KL coefficient, counters, the
// episode window, the learner's RNG and every rollout worker's sampler
// state (rollout.WorkerState: enough to rebuild the envs' exact state). So
// FromCheckpoint followed by Train gives the iteration an uninterrupted run
// would have given, bit for bit, with in-process or actor workers.
package ppo
