package tune

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Config is Ray's TuneConfig: how trials are searched and scheduled.
type Config struct {
	// NumSamples repeats the whole grid (BasicVariantGenerator) or bounds the
	// number of suggestions (other searchers). 0 → 1; -1 → unlimited.
	NumSamples int
	// Metric and Mode ("max"/"min") are passed to the scheduler and searcher
	// and are the defaults for ResultGrid.GetBestResult.
	Metric string
	Mode   string
	// Scheduler defaults to FIFOScheduler.
	Scheduler Scheduler
	// SearchAlg defaults to BasicVariantGenerator.
	SearchAlg Searcher
	// MaxConcurrentTrials caps running trials; 0 = bounded only by resources.
	MaxConcurrentTrials int
	// ResourcesPerTrial defaults to {"CPU": 1}, or to what a registered
	// trainable reserves for its params (TrainableSpec.Resources: an rllib
	// trial's driver plus rollout workers); when set, it wins.
	ResourcesPerTrial Resources
	// Seed makes sampling and every scheduler's randomness reproducible.
	Seed uint64
	// TimeBudget ends the experiment after this long (0 = none).
	TimeBudget time.Duration
	// Executor runs trials; nil → InProcessExecutor.
	Executor Executor
	// Logger receives tune's logs; nil → discard.
	Logger *slog.Logger
}

// CheckpointConfig is Ray's CheckpointConfig.
type CheckpointConfig struct {
	// NumToKeep keeps only the newest N checkpoints per trial (0 = all).
	NumToKeep int `json:"num_to_keep,omitempty" toml:"num_to_keep"`
	// Frequency saves a class trainable every N iterations (0 = never,
	// except when pausing or exploiting). Function trainables checkpoint
	// whenever they pass one to Report.
	Frequency int `json:"checkpoint_frequency,omitempty" toml:"checkpoint_frequency"`
	// AtEnd saves a class trainable when it terminates.
	AtEnd bool `json:"checkpoint_at_end,omitempty" toml:"checkpoint_at_end"`
}

// FailureConfig is Ray's FailureConfig.
type FailureConfig struct {
	// MaxFailures restarts a failed trial from its latest checkpoint up to N
	// times; -1 retries for ever.
	MaxFailures int `json:"max_failures,omitempty" toml:"max_failures"`
	// FailFast ends the whole experiment at the first trial error.
	FailFast bool `json:"fail_fast,omitempty" toml:"fail_fast"`
}

// RunConfig is Ray's RunConfig: where results go and when trials stop.
type RunConfig struct {
	// Name of the experiment directory (default "<trainable>_<timestamp>").
	Name string
	// StoragePath is the parent directory (default ~/goray_results).
	StoragePath string
	// Stop is a StopMap / map[string]float64 (any key reached stops the
	// trial), a StopFunc / func(string, Result) bool, or a Stopper.
	Stop       any
	Checkpoint CheckpointConfig
	Failure    FailureConfig
	// Progress receives the live trial table (nil → none). On a terminal it
	// is redrawn in place; otherwise tables are appended.
	Progress io.Writer
	// ProgressInterval is the refresh period (default 1s on a terminal, 10s
	// otherwise).
	ProgressInterval time.Duration
	// NoPlot skips the summary PNG.
	NoPlot bool
	// Callbacks observe the experiment (Ray's tune.Callback).
	Callbacks []Callback
}

// Callback observes an experiment from the tuner's control goroutine; it
// must not block for long.
type Callback interface {
	// OnTrialResult is called after each result is recorded.
	OnTrialResult(t *Trial, r Result)
	// OnTrialEnd is called when a trial ends: TERMINATED or ERROR.
	OnTrialEnd(t *Trial)
}

func (c *Config) defaults() {
	if c.NumSamples == 0 {
		c.NumSamples = 1
	}
	if c.ResourcesPerTrial == nil {
		c.ResourcesPerTrial = Resources{"CPU": 1}
	}
	if c.Scheduler == nil {
		c.Scheduler = FIFOScheduler{}
	}
	if c.SearchAlg == nil {
		c.SearchAlg = NewBasicVariantGenerator()
	}
	if c.Executor == nil {
		c.Executor = &InProcessExecutor{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	switch {
	case c.NumSamples < -1:
		return fmt.Errorf("%w: NumSamples %d (want >= 1, or -1 for unlimited)", ErrBadConfig, c.NumSamples)
	case c.Mode != "" && c.Mode != "max" && c.Mode != "min":
		return fmt.Errorf("%w: Mode %q (want \"max\" or \"min\")", ErrBadConfig, c.Mode)
	case (c.Metric == "") != (c.Mode == ""):
		return fmt.Errorf("%w: Metric and Mode must be set together (got %q, %q)", ErrBadConfig, c.Metric, c.Mode)
	case c.MaxConcurrentTrials < 0:
		return fmt.Errorf("%w: MaxConcurrentTrials %d < 0", ErrBadConfig, c.MaxConcurrentTrials)
	}
	for k, v := range c.ResourcesPerTrial {
		if v < 0 {
			return fmt.Errorf("%w: ResourcesPerTrial[%q] = %g < 0", ErrBadConfig, k, v)
		}
	}
	// The built-in metric-driven schedulers need a metric and mode, from
	// here or set on themselves.
	if mm, ok := c.Scheduler.(interface{ metricSet() bool }); ok && c.Metric == "" && !mm.metricSet() {
		return fmt.Errorf("%w: scheduler %s needs Metric and Mode", ErrBadConfig, c.Scheduler.Name())
	}
	return nil
}

func (m *metricMode) metricSet() bool { return m.Metric != "" && m.Mode != "" }

func (r *RunConfig) defaults(trainable string) {
	if r.StoragePath == "" {
		home, _ := os.UserHomeDir()
		r.StoragePath = filepath.Join(home, "goray_results")
	}
	if r.Name == "" {
		r.Name = trainable + "_" + time.Now().Format("2006-01-02_15-04-05")
	}
}

// Validate reports the first invalid field.
func (r *RunConfig) Validate() error {
	if r.Failure.MaxFailures < -1 {
		return fmt.Errorf("%w: Failure.MaxFailures %d (want >= 0, or -1 for unlimited)", ErrBadConfig, r.Failure.MaxFailures)
	}
	if r.Checkpoint.NumToKeep < 0 || r.Checkpoint.Frequency < 0 {
		return fmt.Errorf("%w: Checkpoint.NumToKeep and Frequency must be >= 0", ErrBadConfig)
	}
	if _, err := toStopper(r.Stop); err != nil {
		return err
	}
	return nil
}
