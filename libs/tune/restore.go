package tune

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// RestoreOption adjusts a restored experiment.
type RestoreOption func(*restoreOpts)

type restoreOpts struct {
	space         map[string]any
	edit          func(*Config, *RunConfig)
	resumeErrored bool
}

// WithParamSpace gives the original param space. It is needed when the
// search had not finished (new trials are still to come), because spaces
// may hold functions that cannot be saved.
func WithParamSpace(space map[string]any) RestoreOption {
	return func(o *restoreOpts) { o.space = space }
}

// WithConfig edits the restored Config and RunConfig before the run, to
// re-attach what the state file cannot hold: Scheduler, SearchAlg (same
// kind as the original), stop functions, Executor, Logger, Progress.
// Restore cannot change the search space or stop thresholds (as in Ray).
func WithConfig(edit func(*Config, *RunConfig)) RestoreOption {
	return func(o *restoreOpts) { o.edit = edit }
}

// ResumeErrored also resumes trials that had ended in ERROR, from their
// latest checkpoint (Ray's resume_errored).
func ResumeErrored() RestoreOption { return func(o *restoreOpts) { o.resumeErrored = true } }

// CanRestore reports whether path holds an experiment state.
func CanRestore(path string) bool {
	_, err := os.Stat(filepath.Join(path, StateFile))
	return err == nil
}

// Restore reopens the experiment at path (StoragePath/Name) after the driver
// stopped or died. Fit on the returned Tuner keeps finished trials, resumes
// unfinished ones from their latest checkpoint and creates the trials the
// searcher had not yet produced.
func Restore(_ context.Context, path string, trainable any, opts ...RestoreOption) (*Tuner, error) {
	var o restoreOpts
	for _, f := range opts {
		f(&o)
	}
	st, err := readState(path)
	if err != nil {
		return nil, err
	}
	cfg := Config{NumSamples: st.NumSamples, Metric: st.Metric, Mode: st.Mode,
		MaxConcurrentTrials: st.MaxConcurrent, ResourcesPerTrial: st.Resources, Seed: st.Seed}
	run := RunConfig{Name: filepath.Base(path), StoragePath: filepath.Dir(path),
		Checkpoint: st.Checkpoint, Failure: st.Failure}
	if st.Stop != nil {
		run.Stop = st.Stop
	}
	if o.edit != nil {
		o.edit(&cfg, &run)
		run.Name, run.StoragePath = filepath.Base(path), filepath.Dir(path)
	}
	space := o.space
	if space == nil {
		if !st.SearchFinished {
			return nil, fmt.Errorf("%w: %s: the search had not finished; pass WithParamSpace", ErrBadConfig, path)
		}
		space = map[string]any{}
	}
	t, err := NewTuner(trainable, space, cfg, run)
	if err != nil {
		return nil, err
	}
	if o.resumeErrored {
		for i := range st.Trials {
			if st.Trials[i].Status == Errored {
				st.Trials[i].Status = Pending
				st.Trials[i].NumFailures = 0
			}
		}
	}
	t.restored = st
	return t, nil
}

// restore rebuilds the trial table from the saved state and the files on
// disk, and replays the searcher so that it continues where it stopped.
func (e *experiment) restore(st *experimentState) error {
	e.expID = st.ExperimentID
	for _, ts := range st.Trials {
		p, err := unmarshalParams(ts.Params)
		if err != nil {
			return fmt.Errorf("tune: %s: trial %s: %w", filepath.Join(e.dir, StateFile), ts.ID, err)
		}
		t := &Trial{ID: ts.ID, Index: ts.Index, Tag: ts.Tag, Params: p, Status: ts.Status,
			Location: ts.Location, NumFailures: ts.NumFailures, Error: ts.Error,
			Dir: filepath.Join(e.dir, ts.Dir), Resources: e.resourcesFor(p)}
		e.adoptDisk(t)
		if t.Status != Errored && t.Last.Done() {
			// The done line was written after the last state save.
			t.Status = Terminated
		}
		switch t.Status {
		case Terminated, Errored:
			t.finalWritten = true
		default:
			t.Status = Pending
			t.restore = t.ckpt
			if t.ckpt == nil && t.Last != nil {
				e.log.Warn("tune: unfinished trial has no checkpoint; it restarts from scratch", "trial", t.ID)
			}
		}
		e.trials = append(e.trials, t)
	}
	sort.SliceStable(e.trials, func(i, j int) bool { return e.trials[i].Index < e.trials[j].Index })
	// Replay the searcher over the trials it already produced.
	for _, t := range e.trials {
		if err := replaySuggest(e.t.cfg.SearchAlg, t); err != nil {
			break
		}
	}
	e.searchDone = st.SearchFinished
	for _, t := range e.trials {
		e.t.cfg.Scheduler.OnTrialAdd(e, t)
	}
	for _, t := range e.trials {
		switch t.Status {
		case Terminated:
			e.t.cfg.Scheduler.OnTrialComplete(e, t, t.Last)
			e.t.cfg.SearchAlg.OnTrialComplete(t.ID, t.Last, false)
		case Errored:
			e.t.cfg.Scheduler.OnTrialError(e, t)
			e.t.cfg.SearchAlg.OnTrialComplete(t.ID, t.Last, true)
		}
	}
	e.dirty = true
	return nil
}

// replaySuggest advances a searcher past a trial it produced before the
// restore: the suggestion is discarded (the trial keeps its saved params,
// which a model-based searcher adopts), and a ConcurrencyLimiter counts the
// trial without refusing it.
func replaySuggest(s Searcher, t *Trial) error {
	if c, ok := s.(*ConcurrencyLimiter); ok {
		if err := replaySuggest(c.Searcher, t); err != nil {
			return err
		}
		c.live[t.ID] = true
		return nil
	}
	if _, err := s.Suggest(t.ID); err != nil {
		return err
	}
	if a, ok := s.(interface{ adopt(id string, p Params) }); ok {
		a.adopt(t.ID, t.Params)
	}
	return nil
}

// adoptDisk picks up what a previous driver left in a trial's directory: the
// newest checkpoint and the last result line (both may be newer than the
// throttled state file).
func (e *experiment) adoptDisk(t *Trial) {
	if r, err := lastResult(filepath.Join(t.Dir, ResultFile)); err == nil && r != nil {
		t.Last = r
	}
	names, _ := filepath.Glob(filepath.Join(t.Dir, checkpointGlob))
	best := -1
	for _, n := range names {
		base := filepath.Base(n)
		if strings.HasSuffix(base, ".tmp") {
			continue
		}
		i, err := strconv.Atoi(strings.TrimPrefix(base, "checkpoint_"))
		if err == nil && i > best {
			best = i
		}
	}
	if best < 0 {
		return
	}
	name := fmt.Sprintf("checkpoint_%06d", best)
	ck, err := LoadCheckpoint(filepath.Join(t.Dir, name))
	if err != nil {
		e.log.Warn("tune: unreadable checkpoint", "trial", t.ID, "dir", name, "err", err)
		return
	}
	t.ckpt, t.ckptPath, t.ckptIndex = ck, name, best+1
}
