// Package tunejob runs `[tune]` job files: a Tune experiment described in
// TOML, with no code. Importing it registers the "tune" library with the job
// runner (runtime/jobs) and the "PPO" trainable (libs/tune/rllibtune).
//
//	version = 1
//	name = "cartpole-grid"
//
//	[tune]
//	trainable = "PPO"
//	metric = "episode_reward_mean"
//	mode = "max"
//	scheduler = "fifo"              # fifo | asha | hyperband | median_stopping_rule | pbt
//	search_alg = "variant_generator" # variant_generator | random | tpe
//	stop = { training_iteration = 10 }
//
//	[tune.param_space]
//	env = "CartPole-v1"
//	lr = { grid_search = [1e-4, 5e-4, 1e-3] }
//	fcnet_hiddens = { grid_search = [[32], [64, 64]] }
//
// The experiment directory is the job's output_dir; `resume = true` on the
// job continues it (tune.Restore). Trials run as goray actors on the job's
// cluster (executor = "actors", the default) or in the driver ("local").
// Every key is checked; errors name the file, line and key.
package tunejob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/tomlutil"
	"github.com/goray/goray/libs/tune"
	"github.com/goray/goray/libs/tune/actorexec"
	_ "github.com/goray/goray/libs/tune/rllibtune" // registers "PPO"
	"github.com/goray/goray/runtime/jobs"
)

func init() { jobs.RegisterLibrary("tune", Library{}) }

// Config is the [tune] table.
type Config struct {
	Trainable           string  `toml:"trainable"`
	Metric              string  `toml:"metric"`
	Mode                string  `toml:"mode"`
	NumSamples          int     `toml:"num_samples"`
	MaxConcurrentTrials int     `toml:"max_concurrent_trials"`
	Seed                int64   `toml:"seed"`
	TimeBudgetS         float64 `toml:"time_budget_s"`
	Executor            string  `toml:"executor"`
	// ReuseActors hands a finished trial's actor to the next trial.
	ReuseActors bool `toml:"reuse_actors"`
	// Spread places trial actors one per node in turn (goray SPREAD).
	Spread            bool               `toml:"spread"`
	ResourcesPerTrial map[string]float64 `toml:"resources_per_trial"`
	Scheduler         string             `toml:"scheduler"`
	SchedulerConfig   SchedulerConfig    `toml:"scheduler_config"`
	SearchAlg         string             `toml:"search_alg"`
	// SearchMaxConcurrent wraps the searcher in a ConcurrencyLimiter.
	SearchMaxConcurrent int                       `toml:"search_max_concurrent"`
	Stop                map[string]float64        `toml:"stop"`
	Checkpoint          tune.CheckpointConfig     `toml:"checkpoint"`
	Failure             tune.FailureConfig        `toml:"failure"`
	ParamSpace          map[string]toml.Primitive `toml:"param_space"`

	space     map[string]any
	mutations map[string]any
}

// SchedulerConfig holds the scheduler parameters (Ray's names); zero keeps
// the scheduler's default.
type SchedulerConfig struct {
	TimeAttr             string                    `toml:"time_attr"`
	MaxT                 float64                   `toml:"max_t"`
	GracePeriod          float64                   `toml:"grace_period"`
	ReductionFactor      float64                   `toml:"reduction_factor"`
	Brackets             int                       `toml:"brackets"`
	MinSamplesRequired   int                       `toml:"min_samples_required"`
	PerturbationInterval float64                   `toml:"perturbation_interval"`
	QuantileFraction     float64                   `toml:"quantile_fraction"`
	ResampleProbability  *float64                  `toml:"resample_probability"`
	Synch                bool                      `toml:"synch"`
	HyperparamMutations  map[string]toml.Primitive `toml:"hyperparam_mutations"`
}

// Library implements jobs.Library for [tune].
type Library struct{}

// Decode implements jobs.Library.
func (Library) Decode(f *tomlutil.File, table toml.Primitive, _ *jobs.Spec) (any, error) {
	var c Config
	if err := f.Meta.PrimitiveDecode(table, &c); err != nil {
		return nil, f.Errorf("tune", "%v", err)
	}
	if c.Trainable == "" {
		return nil, f.Errorf("tune", "%w: trainable is required (e.g. \"PPO\")", tune.ErrBadConfig)
	}
	if _, err := tune.LookupTrainable(c.Trainable); err != nil {
		return nil, f.Wrap("tune.trainable", err)
	}
	if c.Mode != "" && c.Mode != "max" && c.Mode != "min" {
		return nil, f.Errorf("tune.mode", "%w: %q (want max or min)", tune.ErrBadConfig, c.Mode)
	}
	switch c.Executor {
	case "", "actors", "local":
	default:
		return nil, f.Errorf("tune.executor", "%w: %q (want actors or local)", tune.ErrBadConfig, c.Executor)
	}
	var err error
	if c.space, err = tune.SpaceFromMap(decodeTables(f.Meta, c.ParamSpace)); err != nil {
		return nil, spaceErr(f, "tune.param_space", err)
	}
	if c.mutations, err = flatMutations(decodeTables(f.Meta, c.SchedulerConfig.HyperparamMutations)); err != nil {
		return nil, spaceErr(f, "tune.scheduler_config.hyperparam_mutations", err)
	}
	if _, err := c.scheduler(); err != nil {
		return nil, f.Wrap("tune.scheduler", err)
	}
	if _, err := c.searcher(); err != nil {
		return nil, f.Wrap("tune.search_alg", err)
	}
	if err := c.tuneConfig(nil).Validate(); err != nil {
		return nil, f.Wrap("tune", err)
	}
	run := c.runConfig("", nil)
	if err := run.Validate(); err != nil {
		return nil, f.Wrap("tune", err)
	}
	return &c, nil
}

// decodeTables decodes free-form tables level by level through
// PrimitiveDecode, so that the TOML decoder counts every nested key as
// decoded (decoding straight into interface{} leaves deep keys "unknown").
func decodeTables(md toml.MetaData, m map[string]toml.Primitive) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, p := range m {
		var v any
		if err := md.PrimitiveDecode(p, &v); err != nil {
			continue
		}
		if _, isTable := v.(map[string]any); isTable {
			var sub map[string]toml.Primitive
			if err := md.PrimitiveDecode(p, &sub); err == nil {
				v = decodeTables(md, sub)
			}
		}
		out[k] = v
	}
	return out
}

func spaceErr(f *tomlutil.File, prefix string, err error) error {
	var se *tune.SpaceError
	if errors.As(err, &se) {
		key := prefix + "." + se.Key
		// Point at the deepest key the file has a position for.
		for k := key; k != prefix; k = k[:max(strings.LastIndex(k, "."), 0)] {
			if f.Pos(k).Line > 0 {
				return &tomlutil.FieldError{File: f.Name, Pos: f.Pos(k), Key: key, Err: se.Err}
			}
			if !strings.Contains(k, ".") {
				break
			}
		}
		return f.Wrap(key, se.Err)
	}
	return f.Wrap(prefix, err)
}

// flatMutations converts hyperparam_mutations (nested tables allowed) to
// "a/b" keys with domains or value lists.
func flatMutations(m map[string]any) (map[string]any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	sp, err := tune.SpaceFromMap(m)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			key := k
			if prefix != "" {
				key = prefix + "/" + k
			}
			switch x := v.(type) {
			case map[string]any:
				walk(key, x)
			case tune.Grid:
				out[key] = x.Values
			case tune.Categorical:
				out[key] = x.Values
			default:
				out[key] = v
			}
		}
	}
	walk("", sp)
	return out, nil
}

func (c *Config) scheduler() (tune.Scheduler, error) {
	sc := c.SchedulerConfig
	setF := func(dst *float64, v float64) {
		if v != 0 {
			*dst = v
		}
	}
	setS := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	switch strings.ToLower(c.Scheduler) {
	case "", "fifo":
		return tune.FIFOScheduler{}, nil
	case "asha", "async_hyperband":
		a := tune.NewASHA()
		setS(&a.TimeAttr, sc.TimeAttr)
		setF(&a.MaxT, sc.MaxT)
		setF(&a.GracePeriod, sc.GracePeriod)
		setF(&a.ReductionFactor, sc.ReductionFactor)
		if sc.Brackets > 0 {
			a.Brackets = sc.Brackets
		}
		a.Seed = uint64(c.Seed)
		return a, nil
	case "hyperband":
		h := tune.NewHyperBand()
		setS(&h.TimeAttr, sc.TimeAttr)
		setF(&h.MaxT, sc.MaxT)
		setF(&h.ReductionFactor, sc.ReductionFactor)
		return h, nil
	case "median_stopping_rule", "median":
		m := tune.NewMedianStoppingRule()
		setS(&m.TimeAttr, sc.TimeAttr)
		setF(&m.GracePeriod, sc.GracePeriod)
		if sc.MinSamplesRequired > 0 {
			m.MinSamplesRequired = sc.MinSamplesRequired
		}
		return m, nil
	case "pbt":
		if len(c.mutations) == 0 {
			return nil, fmt.Errorf("%w: pbt needs scheduler_config.hyperparam_mutations", tune.ErrBadConfig)
		}
		p := tune.NewPBT(c.mutations)
		setS(&p.TimeAttr, sc.TimeAttr)
		setF(&p.PerturbationInterval, sc.PerturbationInterval)
		setF(&p.QuantileFraction, sc.QuantileFraction)
		if sc.ResampleProbability != nil {
			p.ResampleProbability = *sc.ResampleProbability
		}
		p.Synch = sc.Synch
		p.Seed = uint64(c.Seed)
		return p, nil
	}
	return nil, fmt.Errorf("%w: scheduler %q (want fifo, asha, hyperband, median_stopping_rule or pbt)", tune.ErrBadConfig, c.Scheduler)
}

func (c *Config) searcher() (tune.Searcher, error) {
	var s tune.Searcher
	switch strings.ToLower(c.SearchAlg) {
	case "", "variant_generator", "basic", "grid":
		s = tune.NewBasicVariantGenerator()
	case "random":
		s = tune.NewRandomSearch()
	case "tpe":
		s = tune.NewTPESearch()
	default:
		return nil, fmt.Errorf("%w: search_alg %q (want variant_generator, random or tpe)", tune.ErrBadConfig, c.SearchAlg)
	}
	if c.SearchMaxConcurrent > 0 {
		s = tune.NewConcurrencyLimiter(s, c.SearchMaxConcurrent)
	}
	return s, nil
}

func (c *Config) tuneConfig(exec tune.Executor) *tune.Config {
	sched, _ := c.scheduler()
	search, _ := c.searcher()
	return &tune.Config{NumSamples: c.NumSamples, Metric: c.Metric, Mode: c.Mode, Scheduler: sched, SearchAlg: search,
		MaxConcurrentTrials: c.MaxConcurrentTrials, ResourcesPerTrial: c.ResourcesPerTrial, Seed: uint64(c.Seed),
		TimeBudget: time.Duration(c.TimeBudgetS * float64(time.Second)), Executor: exec}
}

func (c *Config) runConfig(outputDir string, cbs []tune.Callback) *tune.RunConfig {
	r := &tune.RunConfig{Name: filepath.Base(outputDir), StoragePath: filepath.Dir(outputDir),
		Checkpoint: c.Checkpoint, Failure: c.Failure, Progress: os.Stdout, Callbacks: cbs}
	if len(c.Stop) > 0 {
		r.Stop = tune.StopMap(c.Stop)
	}
	return r
}

// Run implements jobs.Library: the job's driver connects to the cluster,
// runs (or resumes) the experiment in spec.OutputDir, prints the result
// table and feeds the job's progress line.
func (Library) Run(ctx context.Context, spec *jobs.Spec, cfg any, report func(jobs.Progress)) error {
	c, ok := cfg.(*Config)
	if !ok {
		return fmt.Errorf("tunejob: config is %T", cfg)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var exec tune.Executor = &tune.InProcessExecutor{}
	if c.Executor != "local" {
		rt, err := goray.Init(ctx, goray.Config{Logger: logger})
		if err != nil {
			return fmt.Errorf("tunejob: connect to the cluster: %w", err)
		}
		defer rt.Shutdown(context.WithoutCancel(ctx))
		ae := &actorexec.Executor{Runtime: rt, ReuseActors: c.ReuseActors, Spread: c.Spread}
		defer ae.Close(context.WithoutCancel(ctx))
		exec = ae
	}
	prog := &progress{report: report, metric: c.Metric, mode: c.Mode, start: time.Now(), trials: map[string]*tune.Trial{}}
	tcfg := c.tuneConfig(exec)
	tcfg.Logger = logger
	run := c.runConfig(spec.OutputDir, []tune.Callback{prog})
	var tuner *tune.Tuner
	var err error
	if spec.Resume && tune.CanRestore(spec.OutputDir) {
		fmt.Fprintf(os.Stdout, "Resuming experiment %s\n", spec.OutputDir)
		tuner, err = tune.Restore(ctx, spec.OutputDir, c.Trainable, tune.WithParamSpace(c.space),
			tune.WithConfig(func(tc *tune.Config, rc *tune.RunConfig) {
				tc.Scheduler, tc.SearchAlg, tc.Executor, tc.Logger, tc.TimeBudget = tcfg.Scheduler, tcfg.SearchAlg, exec, logger, tcfg.TimeBudget
				rc.Progress, rc.Callbacks = run.Progress, run.Callbacks
			}))
	} else {
		tuner, err = tune.NewTuner(c.Trainable, c.space, *tcfg, *run)
	}
	if err != nil {
		return err
	}
	grid, err := tuner.Fit(ctx)
	if grid != nil {
		fmt.Fprintf(os.Stdout, "\nExperiment %s: %d trials (%d terminated, %d errored)\n", grid.Path, grid.Len(), grid.NumTerminated(), len(grid.Errors()))
		grid.WriteTable(os.Stdout)
		if c.Metric != "" {
			if best, berr := grid.GetBestResult("", "", tune.ScopeLast); berr == nil {
				v, _ := best.Metrics.Float(c.Metric)
				fmt.Fprintf(os.Stdout, "Best trial: %s with %s=%g and params=%v\n", best.Name, c.Metric, v, best.Params)
			}
		}
	}
	if err != nil {
		return err
	}
	if n := len(grid.Errors()); n > 0 && n == grid.Len() {
		return fmt.Errorf("tunejob: all %d trials failed; first: %w", n, grid.Errors()[0])
	}
	return nil
}

// progress turns trial events into the job's progress line.
type progress struct {
	mu     sync.Mutex
	report func(jobs.Progress)
	metric string
	mode   string
	start  time.Time
	trials map[string]*tune.Trial
	last   time.Time
}

func (p *progress) OnTrialResult(t *tune.Trial, _ tune.Result) { p.update(t, false) }
func (p *progress) OnTrialEnd(t *tune.Trial)                   { p.update(t, true) }

func (p *progress) update(t *tune.Trial, force bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.trials[t.ID] = t
	if !force && time.Since(p.last) < time.Second {
		return
	}
	p.last = time.Now()
	counts := map[tune.Status]int{}
	ended := 0
	best, have := 0.0, false
	for _, tr := range p.trials {
		counts[tr.Status]++
		if tr.Status == tune.Terminated || tr.Status == tune.Errored {
			ended++
		}
		if v, ok := tr.Last.Float(p.metric); ok && p.metric != "" {
			if !have || (p.mode == "min" && v < best) || (p.mode != "min" && v > best) {
				best, have = v, true
			}
		}
	}
	var parts []string
	for s, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, s))
	}
	sort.Strings(parts)
	pr := jobs.Progress{Iteration: ended, Metric: p.metric, Value: best, ElapsedS: time.Since(p.start).Seconds(),
		Text: "trials: " + strings.Join(parts, " | ")}
	p.report(pr)
}
