package tune

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Tuner runs an experiment: it asks the searcher for configs, starts trials
// on the executor as resources allow, feeds every result to the stopper and
// the scheduler, persists results and checkpoints, and returns a ResultGrid.
type Tuner struct {
	spec  TrainableSpec
	tname string
	space map[string]any
	cfg   Config
	run   RunConfig

	restored *experimentState // set by Restore
	// userResources: Config.ResourcesPerTrial was given, and overrides what
	// a registered trainable would reserve (like Ray's with_resources).
	userResources bool
}

// NewTuner checks the configuration and returns a Tuner. trainable is a
// registered name (e.g. "PPO"), a TrainFunc, a func() Trainer, or a
// TrainableSpec.
func NewTuner(trainable any, paramSpace map[string]any, cfg Config, run RunConfig) (*Tuner, error) {
	spec, name, err := specFor(trainable)
	if err != nil {
		return nil, err
	}
	if paramSpace == nil {
		paramSpace = map[string]any{}
	}
	if err := ValidateSpace(paramSpace); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := run.Validate(); err != nil {
		return nil, err
	}
	userRes := cfg.ResourcesPerTrial != nil
	cfg.defaults()
	run.defaults(name)
	return &Tuner{spec: spec, tname: name, space: paramSpace, cfg: cfg, run: run, userResources: userRes}, nil
}

// ExperimentPath is StoragePath/Name.
func (t *Tuner) ExperimentPath() string { return filepath.Join(t.run.StoragePath, t.run.Name) }

// Fit runs the experiment to completion (or until ctx ends, in which case the
// partial grid and ctx's error are returned; the experiment can be restored).
func (t *Tuner) Fit(ctx context.Context) (*ResultGrid, error) {
	e, err := t.newExperiment(ctx)
	if err != nil {
		return nil, err
	}
	return e.run(ctx)
}

// event kinds sent by trial goroutines to the control loop.
type evKind int

const (
	evResult evKind = iota
	evSaved
	evExited
)

type event struct {
	kind     evKind
	rt       *runningTrial
	out      StepResult
	dur      time.Duration
	ckpt     *Checkpoint
	err      error
	finished bool
}

// exitKind says what a trial becomes when its run ends on the tuner's request.
type exitKind int

const (
	exitStop exitKind = iota
	exitPause
	exitExploit
)

type command struct {
	save bool
	stop bool
}

type runningTrial struct {
	t                 *Trial
	h                 TrialHandle
	cmds              chan command
	iter              int
	timeTotal         float64
	itersSinceRestore int
	timeSinceRestore  float64
	exit              exitKind
	exploitParams     Params
	exploitCkpt       *Checkpoint
	files             *trialFiles
}

type experiment struct {
	t          *Tuner
	dir        string
	expID      string
	log        *slog.Logger
	trials     []*Trial
	running    map[string]*runningTrial
	used       Resources
	capacity   Resources
	stopper    Stopper
	stopMap    StopMap
	warned     bool
	searchDone bool
	stopAll    bool
	events     chan event
	runCtx     context.Context
	cancelRun  context.CancelFunc
	varied     []string
	lastState  time.Time
	dirty      bool
	reporter   *progressReporter
	fatal      error
}

func (t *Tuner) newExperiment(ctx context.Context) (*experiment, error) {
	e := &experiment{t: t, dir: t.ExperimentPath(), log: t.cfg.Logger, running: map[string]*runningTrial{},
		used: Resources{}, events: make(chan event, 16)}
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		return nil, fmt.Errorf("tune: experiment dir: %w", err)
	}
	var err error
	if e.stopper, err = toStopper(t.run.Stop); err != nil {
		return nil, err
	}
	e.stopMap, _ = e.stopper.(StopMap)
	if e.capacity, err = t.cfg.Executor.Capacity(ctx); err != nil {
		return nil, fmt.Errorf("tune: executor capacity: %w", err)
	}
	for _, l := range leaves(t.space) {
		if _, ok := l.val.(Domain); ok {
			e.varied = append(e.varied, strings.Join(l.path, "/"))
		}
	}
	t.cfg.Scheduler.SetMetricMode(t.cfg.Metric, t.cfg.Mode)
	if s, ok := t.cfg.Scheduler.(interface{ defaultSeed(uint64) }); ok {
		s.defaultSeed(t.cfg.Seed)
	}
	if err := t.cfg.SearchAlg.Setup(SearchProperties{Metric: t.cfg.Metric, Mode: t.cfg.Mode,
		Space: t.space, NumSamples: t.cfg.NumSamples, Seed: t.cfg.Seed}); err != nil {
		return nil, err
	}
	if t.restored != nil {
		if err := e.restore(t.restored); err != nil {
			return nil, err
		}
	} else {
		h := fnv.New32a()
		fmt.Fprintf(h, "%s|%d|%d", t.run.Name, t.cfg.Seed, time.Now().UnixNano())
		e.expID = fmt.Sprintf("%05x", h.Sum32()&0xfffff)
	}
	if t.run.Progress != nil {
		e.reporter = newProgressReporter(t.run.Progress, t.run.ProgressInterval, e)
	}
	return e, nil
}

// ---- Controller ----

// Trials implements Controller.
func (e *experiment) Trials() []*Trial { return e.trials }

// SearchFinished implements Controller.
func (e *experiment) SearchFinished() bool { return e.searchDone }

// ResumeTrial implements Controller.
func (e *experiment) ResumeTrial(t *Trial) {
	switch t.Status {
	case Paused:
		t.Status = Pending
		e.dirty = true
	case Running:
		// Its pause may be in flight (decided, not yet exited).
		t.resumeAsked = true
	}
}

// ExploitTrial implements Controller.
func (e *experiment) ExploitTrial(t, donor *Trial, params Params) bool {
	if donor.ckpt == nil || (t.Status != Paused && t.Status != Pending) {
		return false
	}
	e.logExploit(t, donor, t.Last.Iteration(), t.Params, params)
	t.Params, t.restore = params, donor.ckpt
	e.writeParams(t)
	e.dirty = true
	return true
}

// logExploit appends Ray's pbt_global.txt line: [target, clone,
// target_iteration, clone_iteration, old_config, new_config].
func (e *experiment) logExploit(t, donor *Trial, iter int, old, params Params) {
	b, err := marshalTyped([]any{t.ID, donor.ID, iter, donor.ckpt.Iteration, map[string]any(old), map[string]any(params)})
	if err != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(e.dir, "pbt_global.txt"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		e.log.Warn("tune: pbt_global.txt", "err", err)
		return
	}
	f.Write(append(b, '\n'))
	f.Close()
}

// StopTrial implements Controller.
func (e *experiment) StopTrial(t *Trial) {
	switch t.Status {
	case Paused, Pending:
		t.Status = Terminated
		e.t.cfg.SearchAlg.OnTrialComplete(t.ID, t.Last, false)
		e.ended(t)
		e.dirty = true
	case Running:
		t.stopAsked = true
	}
}

// ---- main loop ----

func (e *experiment) run(ctx context.Context) (*ResultGrid, error) {
	e.runCtx, e.cancelRun = context.WithCancel(context.Background())
	defer e.cancelRun()
	var budget <-chan time.Time
	if e.t.cfg.TimeBudget > 0 {
		tm := time.NewTimer(e.t.cfg.TimeBudget)
		defer tm.Stop()
		budget = tm.C
	}
	var tick <-chan time.Time
	if e.reporter != nil {
		tk := time.NewTicker(e.reporter.interval)
		defer tk.Stop()
		tick = tk.C
		e.reporter.print(false)
	}
	e.saveState(true)
	var runErr error
loop:
	for e.fatal == nil {
		if !e.stopAll {
			e.launch()
			if e.fatal != nil {
				break
			}
		}
		if len(e.running) == 0 {
			// Nothing can send an event: finish, or fail, but never wait.
			if !e.stopAll && !e.hasStatus(Pending) {
				e.t.cfg.Scheduler.OnIdle(e)
				if e.hasStatus(Pending) {
					continue
				}
				if !e.searchDone {
					e.fatal = fmt.Errorf("tune: searcher returned ErrSearchBusy with no trial running")
					break
				}
			}
			if !e.stopAll && e.hasStatus(Pending) {
				e.fatal = fmt.Errorf("tune: %d pending trials cannot start with nothing running (free %v)", e.count(Pending), e.free())
				break
			}
			for _, t := range e.trials {
				if t.Status == Paused || t.Status == Pending {
					e.log.Warn("tune: ending trial that was never resumed", "trial", t.ID, "status", t.Status)
					e.StopTrial(t)
				}
			}
			break
		}
		select {
		case ev := <-e.events:
			e.handle(ev)
		case <-tick:
			e.reporter.print(false)
		case <-budget:
			e.log.Info("tune: time budget reached")
			e.endAll()
		case <-ctx.Done():
			runErr = ctx.Err()
			break loop
		}
		if e.stopAll {
			e.endAll()
		}
		if time.Since(e.lastState) > 200*time.Millisecond {
			e.saveState(false)
		}
	}
	e.shutdown()
	if runErr == nil && e.fatal == nil {
		e.saveState(true)
		e.finishState()
	} else {
		e.saveState(true)
	}
	if e.reporter != nil {
		e.reporter.print(true)
	}
	grid := e.grid()
	if !e.t.run.NoPlot && e.t.cfg.Metric != "" && runErr == nil {
		if err := grid.Plot(filepath.Join(e.dir, SummaryPlot), e.t.cfg.Metric); err != nil {
			e.log.Warn("tune: summary plot", "err", err)
		}
	}
	if e.fatal != nil {
		return grid, e.fatal
	}
	return grid, runErr
}

// endAll makes every running trial stop at its next result and stops
// creating trials (time budget, StopAll, fail-fast).
func (e *experiment) endAll() {
	e.stopAll = true
	e.searchDone = true
	for _, rt := range e.running {
		rt.t.stopAsked = true
	}
}

func (e *experiment) count(s Status) int {
	n := 0
	for _, t := range e.trials {
		if t.Status == s {
			n++
		}
	}
	return n
}

// maxPending bounds the queue of created-but-not-started trials: 16 for the
// non-adaptive default generator, none for model-based searchers, which
// should see as many results as possible before each suggestion.
func (e *experiment) maxPending() int {
	switch e.t.cfg.SearchAlg.(type) {
	case *BasicVariantGenerator, *RandomSearch:
		return 16
	}
	return 0
}

func (e *experiment) hasStatus(s Status) bool {
	for _, t := range e.trials {
		if t.Status == s {
			return true
		}
	}
	return false
}

// shutdown ends every trial goroutine: after an interruption trials stay
// RUNNING in the saved state so that Restore resumes them.
func (e *experiment) shutdown() {
	e.cancelRun()
	deadline := time.After(30 * time.Second)
	for len(e.running) > 0 {
		select {
		case ev := <-e.events:
			if ev.kind == evExited {
				e.release(ev.rt)
			}
		case <-deadline:
			e.log.Warn("tune: trials did not stop in time", "running", len(e.running))
			return
		}
	}
}

func (e *experiment) release(rt *runningTrial) {
	delete(e.running, rt.t.ID)
	for k, v := range rt.t.Resources {
		e.used[k] -= v
	}
	rt.files.close()
}

func (e *experiment) free() Resources {
	out := Resources{}
	for k, v := range e.capacity {
		out[k] = v - e.used[k]
	}
	return out
}

func (e *experiment) actorResources(p Params) Resources {
	if e.t.spec.ActorResources != nil {
		return e.t.spec.ActorResources(p)
	}
	return nil
}

func (e *experiment) resourcesFor(p Params) Resources {
	if e.t.spec.Resources != nil && !e.t.userResources {
		return e.t.spec.Resources(p)
	}
	return e.t.cfg.ResourcesPerTrial
}

// launch starts pending trials, and asks the searcher for new ones, while
// resources and MaxConcurrentTrials allow.
func (e *experiment) launch() {
	for {
		atMax := e.t.cfg.MaxConcurrentTrials > 0 && len(e.running) >= e.t.cfg.MaxConcurrentTrials
		free := e.free()
		var next *Trial
		pending := false
		if ch, ok := e.t.cfg.Scheduler.(TrialChooser); ok && !atMax {
			if t := ch.ChooseTrialToRun(e); t != nil && (t.Status == Pending || t.Status == Paused) && t.Resources.fits(free) {
				t.Status = Pending
				next = t
			}
		}
		for _, t := range e.trials {
			if next != nil {
				break
			}
			if t.Status != Pending {
				continue
			}
			pending = true
			if !t.Resources.fits(e.capacity) {
				e.fatal = fmt.Errorf("%w: trial %s asks for %v, the executor has %v in total", ErrInfeasible, t.ID, t.Resources, e.capacity)
				return
			}
			if !atMax && t.Resources.fits(free) {
				next = t
				break
			}
		}
		if next != nil {
			e.start(next)
			if e.fatal != nil {
				return
			}
			continue
		}
		if e.searchDone {
			return
		}
		// Create a trial now if it could start now; the default generator
		// also keeps a queue of PENDING trials (as Ray does), so that
		// schedulers see the population (PBT pauses for queued members).
		startable := !atMax && !pending && e.t.cfg.ResourcesPerTrial.fits(free)
		if !startable && e.count(Pending) >= e.maxPending() {
			return
		}
		if e.suggest() == nil {
			return
		}
	}
}

func (e *experiment) suggest() *Trial {
	idx := len(e.trials)
	id := fmt.Sprintf("%s_%05d", e.expID, idx)
	p, err := e.t.cfg.SearchAlg.Suggest(id)
	switch {
	case errors.Is(err, ErrSearchFinished):
		e.searchDone = true
		return nil
	case errors.Is(err, ErrSearchBusy):
		return nil
	case err != nil:
		e.fatal = fmt.Errorf("tune: searcher: %w", err)
		return nil
	}
	t := &Trial{ID: id, Index: idx, Params: p, Status: Pending}
	t.Tag = e.tag(t)
	t.Dir = filepath.Join(e.dir, e.t.tname+"_"+id)
	t.Resources = e.resourcesFor(p)
	e.trials = append(e.trials, t)
	if err := os.MkdirAll(t.Dir, 0o755); err != nil {
		e.fatal = fmt.Errorf("tune: trial dir: %w", err)
		return nil
	}
	if e.t.restored != nil {
		// A trial the old driver created after its last state write.
		e.adoptDisk(t)
		t.restore = t.ckpt
		if t.Last.Done() {
			t.Status, t.finalWritten, t.restore = Terminated, true, nil
		}
	}
	e.writeParams(t)
	e.t.cfg.Scheduler.OnTrialAdd(e, t)
	e.dirty = true
	return t
}

func (e *experiment) writeParams(t *Trial) {
	b, err := marshalTyped(t.Params)
	if err == nil {
		err = writeFileAtomic(filepath.Join(t.Dir, ParamsFile), b)
	}
	if err != nil {
		e.log.Warn("tune: write params.json", "trial", t.ID, "err", err)
	}
}

// tag is Ray's experiment tag: the index plus the varied params.
func (e *experiment) tag(t *Trial) string {
	parts := []string{fmt.Sprint(t.Index)}
	for _, k := range e.varied {
		if v, ok := t.Params.Get(k); ok {
			parts = append(parts, k+"="+fmtValue(v))
		}
	}
	s := strings.Join(parts, ",")
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

func fmtValue(v any) string {
	switch x := v.(type) {
	case float64:
		return fmt.Sprintf("%.4g", x)
	case float32:
		return fmt.Sprintf("%.4g", x)
	}
	return fmt.Sprint(v)
}

func (e *experiment) start(t *Trial) {
	h, err := e.t.cfg.Executor.Start(e.runCtx, TrialSpec{TrialID: t.ID, Trainable: e.t.tname, Spec: e.t.spec,
		Params: t.Params, Checkpoint: t.restore, Resources: t.Resources, ActorResources: e.actorResources(t.Params)})
	if err != nil {
		e.fail(t, fmt.Errorf("start: %w", err))
		return
	}
	files, err := openTrialFiles(t.Dir)
	if err != nil {
		h.Stop(e.runCtx)
		e.fatal = fmt.Errorf("tune: trial %s files: %w", t.ID, err)
		return
	}
	rt := &runningTrial{t: t, h: h, cmds: make(chan command, 1), files: files}
	if t.restore != nil {
		rt.iter, rt.timeTotal = t.restore.Iteration, t.restore.TimeTotal
	}
	t.restore = nil
	t.Status = Running
	t.stopAsked, t.resumeAsked = false, false
	t.Location = h.Location()
	for k, v := range t.Resources {
		e.used[k] += v
	}
	e.running[t.ID] = rt
	e.dirty = true
	go e.drive(rt)
}

func (e *experiment) send(ev event) bool {
	select {
	case e.events <- ev:
		return true
	case <-e.runCtx.Done():
		// Shutting down: the loop still drains exits.
		if ev.kind == evExited {
			e.events <- ev
		}
		return false
	}
}

// drive is a trial's goroutine: step, hand the result to the control loop,
// wait for its command, repeat.
func (e *experiment) drive(rt *runningTrial) {
	ctx := e.runCtx
	stop := func(ev event) {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := rt.h.Stop(sctx); err != nil && ev.err == nil && !errors.Is(err, context.Canceled) {
			e.log.Debug("tune: stop trial", "trial", rt.t.ID, "err", err)
		}
		cancel()
		ev.kind, ev.rt = evExited, rt
		e.send(ev)
	}
	for {
		t0 := time.Now()
		out, err := rt.h.Step(ctx)
		if err != nil || out.Finished {
			stop(event{err: err, finished: out.Finished})
			return
		}
		if !e.send(event{kind: evResult, rt: rt, out: out, dur: time.Since(t0)}) {
			stop(event{})
			return
		}
		var cmd command
		select {
		case cmd = <-rt.cmds:
		case <-ctx.Done():
			stop(event{})
			return
		}
		if cmd.save {
			ck, err := rt.h.Save(ctx)
			e.send(event{kind: evSaved, rt: rt, ckpt: ck, err: err})
		}
		if cmd.stop {
			stop(event{})
			return
		}
	}
}

func (e *experiment) handle(ev event) {
	switch ev.kind {
	case evResult:
		e.onResult(ev)
	case evSaved:
		if ev.err != nil {
			e.log.Warn("tune: save checkpoint", "trial", ev.rt.t.ID, "err", ev.err)
			return
		}
		ck, t := ev.ckpt, ev.rt.t
		if ck == nil || ck == t.ckpt {
			return
		}
		if e.t.spec.Func != nil && ck.Iteration > 0 {
			// A function trainable's Save hands back the checkpoint it last
			// reported, already persisted when it was reported.
			if t.ckpt != nil && t.ckpt.Iteration == ck.Iteration {
				return
			}
		} else {
			ck.Iteration, ck.TimeTotal = ev.rt.iter, ev.rt.timeTotal
		}
		e.persist(t, ck)
	case evExited:
		e.onExit(ev)
	}
}

var hostname, _ = os.Hostname()

func (e *experiment) onResult(ev event) {
	rt, t := ev.rt, ev.rt.t
	dur := ev.dur.Seconds()
	rt.iter++
	rt.itersSinceRestore++
	rt.timeTotal += dur
	rt.timeSinceRestore += dur
	if loc := rt.h.Location(); loc != "" {
		t.Location = loc
	}
	now := time.Now()
	r := make(Result, len(ev.out.Metrics)+14)
	for k, v := range ev.out.Metrics {
		r[k] = v
	}
	r[KeyTrainingIteration] = rt.iter
	r[KeyTimeThisIter] = dur
	r[KeyTimeTotal] = rt.timeTotal
	r[KeyTimestamp] = now.Unix()
	r[KeyDate] = now.Format("2006-01-02_15-04-05")
	r[KeyTrialID] = t.ID
	r[KeyExperimentID] = e.expID
	r[KeyItersSinceRestore] = rt.itersSinceRestore
	r[KeyTimeSinceRestore] = rt.timeSinceRestore
	if _, ok := r[KeyPID]; !ok {
		r[KeyPID] = os.Getpid()
	}
	if _, ok := r[KeyHostname]; !ok {
		r[KeyHostname] = hostname
	}
	r[KeyNodeIP] = t.Location
	r[KeyConfig] = t.Params
	done := r.Done()

	if e.stopMap != nil && !e.warned {
		if miss := e.stopMap.missing(r); len(miss) > 0 {
			e.warned = true
			e.log.Warn("tune: stop keys missing from the result; they can never trigger", "keys", miss, "trial", t.ID)
		}
	}
	stop := done || t.stopAsked
	if e.stopper != nil && e.stopper.StopTrial(t.ID, r) {
		stop = true
	}
	var d Decision
	if !stop {
		d = e.t.cfg.Scheduler.OnTrialResult(e, t, r)
		if d.Action == Stop {
			stop = true
		}
	}
	cmd := command{}
	isClass := e.t.spec.Func == nil
	switch {
	case stop:
		cmd.stop = true
		rt.exit = exitStop
		cmd.save = isClass && e.t.run.Checkpoint.AtEnd
	case d.ExploitFrom != nil && d.ExploitFrom.ckpt != nil:
		cmd.stop = true
		rt.exit = exitExploit
		rt.exploitParams, rt.exploitCkpt = d.NewParams, d.ExploitFrom.ckpt
		e.logExploit(t, d.ExploitFrom, rt.iter, t.Params, d.NewParams)
	case d.Action == Pause:
		cmd.stop, cmd.save = true, true
		rt.exit = exitPause
	default:
		f := e.t.run.Checkpoint.Frequency
		cmd.save = d.Checkpoint || (isClass && f > 0 && rt.iter%f == 0)
	}
	r[KeyDone] = stop
	// Persist a reported checkpoint before the result line: if result.json
	// shows iteration N, checkpoint N exists for a restore.
	if ck := ev.out.Checkpoint; ck != nil {
		ck.Iteration, ck.TimeTotal = rt.iter, rt.timeTotal
		e.persist(t, ck)
		if cmd.save && !isClass {
			cmd.save = false
		}
	}
	if err := rt.files.writeResult(r); err != nil {
		e.log.Warn("tune: write result", "trial", t.ID, "err", err)
	}
	t.Last = r
	t.finalWritten = stop
	e.t.cfg.SearchAlg.OnTrialResult(t.ID, r)
	for _, cb := range e.t.run.Callbacks {
		cb.OnTrialResult(t, r)
	}
	if e.stopper != nil && e.stopper.StopAll() {
		e.endAll()
	}
	rt.cmds <- cmd
}

func (e *experiment) persist(t *Trial, ck *Checkpoint) {
	name, err := writeCheckpoint(t.Dir, t.ckptIndex, ck)
	if err != nil {
		e.log.Warn("tune: write checkpoint", "trial", t.ID, "err", err)
		return
	}
	t.ckptIndex++
	t.ckpt, t.ckptPath = ck, name
	pruneCheckpoints(t.Dir, e.t.run.Checkpoint.NumToKeep)
	e.dirty = true
}

func (e *experiment) onExit(ev event) {
	rt, t := ev.rt, ev.rt.t
	e.release(rt)
	e.dirty = true
	switch {
	case ev.err != nil:
		e.fail(t, ev.err)
	case ev.finished:
		e.complete(t)
	case rt.exit == exitPause && t.stopAsked:
		// Stopped by the scheduler while its pause was in flight.
		e.complete(t)
	case rt.exit == exitPause:
		t.Status = Paused
		if t.resumeAsked {
			t.Status = Pending
		}
		t.restore = t.ckpt
		if t.ckpt == nil {
			e.log.Warn("tune: paused trial has no checkpoint; it will restart from scratch", "trial", t.ID)
		}
	case rt.exit == exitExploit:
		t.Status = Pending
		t.Params = rt.exploitParams
		t.restore = rt.exploitCkpt
		e.writeParams(t)
	default:
		e.complete(t)
	}
}

// complete marks a trial TERMINATED; a trainable that returned on its own
// gets a last result line with done=true, as in Ray.
func (e *experiment) complete(t *Trial) {
	t.Status = Terminated
	if t.Last != nil && !t.finalWritten {
		last := make(Result, len(t.Last))
		for k, v := range t.Last {
			last[k] = v
		}
		last[KeyDone] = true
		t.Last = last
		if f, err := openTrialFiles(t.Dir); err == nil {
			f.writeResult(last)
			f.close()
		}
		t.finalWritten = true
	}
	e.t.cfg.Scheduler.OnTrialComplete(e, t, t.Last)
	e.t.cfg.SearchAlg.OnTrialComplete(t.ID, t.Last, false)
	e.ended(t)
}

func (e *experiment) ended(t *Trial) {
	for _, cb := range e.t.run.Callbacks {
		cb.OnTrialEnd(t)
	}
}

func (e *experiment) fail(t *Trial, err error) {
	if e.runCtx.Err() != nil {
		// Interrupted, not failed: leave it resumable.
		return
	}
	t.NumFailures++
	t.Error = err.Error()
	e.log.Warn("tune: trial failed", "trial", t.ID, "failures", t.NumFailures, "err", err)
	f := e.t.run.Failure
	if f.FailFast {
		t.Status = Errored
		os.WriteFile(filepath.Join(t.Dir, ErrorFile), []byte(t.Error+"\n"), 0o644)
		e.fatal = fmt.Errorf("%w: %s (fail_fast): %w", ErrTrialFailed, t.ID, err)
		e.ended(t)
		return
	}
	if f.MaxFailures == -1 || t.NumFailures <= f.MaxFailures {
		t.Status = Pending
		t.restore = t.ckpt
		return
	}
	t.Status = Errored
	os.WriteFile(filepath.Join(t.Dir, ErrorFile), []byte(t.Error+"\n"), 0o644)
	e.t.cfg.Scheduler.OnTrialError(e, t)
	e.t.cfg.SearchAlg.OnTrialComplete(t.ID, t.Last, true)
	e.ended(t)
}

// ---- state ----

func (e *experiment) saveState(force bool) {
	if !force && !e.dirty {
		return
	}
	st := e.state()
	b, err := marshalTyped(st)
	if err == nil {
		err = writeFileAtomic(filepath.Join(e.dir, StateFile), b)
	}
	if err != nil {
		e.log.Warn("tune: write experiment state", "err", err)
	}
	e.lastState, e.dirty = time.Now(), false
}

func (e *experiment) finishState() {
	st := e.state()
	st.Finished = true
	if b, err := marshalTyped(st); err == nil {
		writeFileAtomic(filepath.Join(e.dir, StateFile), b)
	}
}

func (e *experiment) state() *experimentState {
	cfg := e.t.cfg
	st := &experimentState{Version: stateVersion, Name: e.t.run.Name, ExperimentID: e.expID, Trainable: e.t.tname,
		NumSamples: cfg.NumSamples, Metric: cfg.Metric, Mode: cfg.Mode, MaxConcurrent: cfg.MaxConcurrentTrials,
		Seed: cfg.Seed, Stop: e.stopMap, Checkpoint: e.t.run.Checkpoint,
		Failure: e.t.run.Failure, SearchFinished: e.searchDone}
	if e.t.userResources {
		st.Resources = cfg.ResourcesPerTrial
	}
	for _, t := range e.trials {
		ts := trialState{ID: t.ID, Index: t.Index, Name: e.t.tname + "_" + t.ID, Tag: t.Tag,
			Dir: filepath.Base(t.Dir), Status: t.Status, Location: t.Location, NumFailures: t.NumFailures,
			Error: t.Error, CheckpointDir: t.ckptPath}
		ts.Params, _ = marshalTyped(t.Params)
		if t.Last != nil {
			last := make(map[string]any, len(t.Last))
			for k, v := range t.Last {
				if k != KeyConfig {
					last[k] = v
				}
			}
			ts.Last, _ = marshalTyped(last)
		}
		st.Trials = append(st.Trials, ts)
	}
	return st
}

func (e *experiment) grid() *ResultGrid {
	g := &ResultGrid{Path: e.dir, Metric: e.t.cfg.Metric, Mode: e.t.cfg.Mode}
	for _, t := range e.trials {
		r := &TrialResult{TrialID: t.ID, Name: e.t.tname + "_" + t.ID, Params: t.Params, Metrics: t.Last,
			Status: t.Status, Path: t.Dir, Location: t.Location, Tag: t.Tag}
		if t.Error != "" && t.Status == Errored {
			r.Err = fmt.Errorf("%w: %s", ErrTrialFailed, t.Error)
		}
		if t.ckptPath != "" {
			r.Checkpoint = filepath.Join(t.Dir, t.ckptPath)
		}
		g.Results = append(g.Results, r)
	}
	sort.SliceStable(g.Results, func(i, j int) bool { return g.Results[i].TrialID < g.Results[j].TrialID })
	return g
}
