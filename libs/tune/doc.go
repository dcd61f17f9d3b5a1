// Package tune is goray's hyperparameter search, modelled on Ray Tune.
//
// # The story of an experiment
//
// A Tuner gets a trainable, a param space and two configs:
//
//	tuner, err := tune.NewTuner(train, map[string]any{
//	    "lr":     tune.LogUniform(1e-4, 1e-1),
//	    "layers": tune.GridSearch(1, 2, 3),
//	}, tune.Config{NumSamples: 4, Metric: "acc", Mode: "max", Scheduler: tune.NewASHA()},
//	    tune.RunConfig{Name: "exp", StoragePath: "/tmp/results", Stop: tune.StopMap{"acc": 0.99}})
//	grid, err := tuner.Fit(ctx)
//	best, err := grid.GetBestResult("", "", tune.ScopeLast)
//
// Fit runs one control goroutine. It asks the Searcher for configs (the
// default BasicVariantGenerator crosses every GridSearch with fresh samples
// of the random domains and repeats the whole grid NumSamples times, Ray's
// rules; TPESearch is a Parzen-estimator model; ConcurrencyLimiter wraps
// either), starts trials on the Executor while their resources fit and
// MaxConcurrentTrials allows, and handles every result in order: it fills
// Ray's bookkeeping keys (training_iteration, time_total_s, trial_id, done,
// ...), asks the Stopper (a StopMap stops a trial when ANY key reaches its
// threshold, as in Ray), then the Scheduler, whose verdict is CONTINUE,
// PAUSE (checkpoint, release the resources, resume later), STOP, or a PBT
// exploit (restart from another trial's checkpoint with new params). Each
// trial runs in lock-step with these decisions: the trainable does not
// start its next iteration before the tuner decided on the last one, so
// schedulers see a consistent population and results are reproducible for
// a seed when trials run one at a time.
//
// # Trainables
//
// A TrainFunc loops and calls Session.Report once per iteration, optionally
// with a Checkpoint; when resumed (after a failure, a pause, an exploit or
// an experiment restore) Session.Checkpoint returns where to continue. A
// Trainer is the class form (Setup/Step/Save/Restore). Trainables are also
// registered by name (RegisterTrainable, from init) so that worker processes
// of the actor executor can build them; package rllibtune registers "PPO"
// with the param space merged into the rllib config.
//
// # Executors
//
// InProcessExecutor runs trials in goroutines of the driver (unit tests,
// laptops). Package actorexec runs each trial as a goray actor holding the
// trial's resources, so trials spread over a cluster and the table shows
// the node of each. The tuner does its own resource accounting against the
// executor's capacity, which is also how an rllib trial reserves the CPUs
// of the rollout workers it creates.
//
// # Schedulers
//
// FIFOScheduler; AsyncHyperBand (ASHA, NewASHA, Ray's defaults: max_t 100,
// grace_period 1, reduction_factor 4, brackets 1); HyperBand (synchronous
// successive halving with pausing); MedianStoppingRule; and
// PopulationBasedTraining (quantile_fraction 0.25, resample_probability
// 0.25, perturbation factors 1.2/0.8, asynchronous or Synch).
//
// # Files
//
// StoragePath/Name holds experiment_state.json (trials, statuses, latest
// checkpoints, the searcher's seed), summary.png (the metric against
// iterations for every trial, gonum/plot) and one directory per trial with
// params.json, result.json (one JSON object per result), progress.csv,
// error.txt on failure and checkpoint_NNNNNN directories. Checkpoints are
// written before the result line that announces them, and every file is
// replaced atomically, so a driver killed at any instant leaves a directory
// that Restore continues: finished trials are kept, unfinished ones resume
// from their latest checkpoint, and the searcher is replayed to produce the
// trials it had not yet produced. LoadResults and `goray tune results DIR`
// read the same files without running anything.
package tune
