package tune

// Status is a trial's lifecycle state (Ray's names).
type Status string

// Trial states.
const (
	Pending    Status = "PENDING"
	Running    Status = "RUNNING"
	Paused     Status = "PAUSED"
	Terminated Status = "TERMINATED"
	Errored    Status = "ERROR"
)

// Resources is a resource request or capacity, e.g. {"CPU": 1, "GPU": 0.5}.
type Resources map[string]float64

func (r Resources) fits(free Resources) bool {
	for k, v := range r {
		if v > 0 && free[k] < v-1e-9 {
			return false
		}
	}
	return true
}

// Trial is one configuration's run. Schedulers and searchers read it; only
// the tuner's control goroutine writes it.
type Trial struct {
	ID          string
	Index       int
	Tag         string // experiment tag: index plus varied params
	Params      Params
	Status      Status
	Last        Result // latest result (nil before the first)
	Location    string // node the trial runs (ran) on
	NumFailures int
	Error       string
	Dir         string
	Resources   Resources

	ckpt         *Checkpoint // latest persisted checkpoint (also on disk)
	ckptIndex    int         // next checkpoint_NNNNNN index
	restore      *Checkpoint // what the next start resumes from
	ckptPath     string
	stopAsked    bool
	resumeAsked  bool
	finalWritten bool
}

// Checkpoint is the trial's latest persisted checkpoint (nil if none): what
// a pause resumes from and what an exploit copies.
func (t *Trial) Checkpoint() *Checkpoint { return t.ckpt }

// Action is a scheduler's verdict on a result.
type Action int

// Scheduler actions (Ray's TrialScheduler.CONTINUE/PAUSE/STOP).
const (
	Continue Action = iota
	Pause
	Stop
)

// String is Ray's name for the action.
func (a Action) String() string {
	return [...]string{"CONTINUE", "PAUSE", "STOP"}[a]
}

// Decision is what a scheduler returns for one result.
type Decision struct {
	Action Action
	// Checkpoint asks the tuner to persist a checkpoint after this result
	// (PBT checkpoints its top trials at every perturbation).
	Checkpoint bool
	// ExploitFrom, when set, restarts this trial from that trial's latest
	// checkpoint with NewParams (PBT's exploit + explore).
	ExploitFrom *Trial
	NewParams   Params
}

// Controller is the tuner as schedulers see it.
type Controller interface {
	// Trials lists every trial in creation order.
	Trials() []*Trial
	// SearchFinished reports that the searcher will produce no new trials.
	SearchFinished() bool
	// ResumeTrial moves a PAUSED trial back to PENDING; it restarts from its
	// latest checkpoint when resources allow.
	ResumeTrial(t *Trial)
	// StopTrial terminates a PAUSED or PENDING trial now, or a RUNNING one at
	// its next result.
	StopTrial(t *Trial)
	// ExploitTrial makes a PAUSED or PENDING trial restart from donor's
	// latest checkpoint with params; false if donor has no checkpoint.
	ExploitTrial(t, donor *Trial, params Params) bool
}

// Scheduler is a trial scheduler (Ray's TrialScheduler): early stopping,
// pausing and resuming, or population-based exploitation. Every method is
// called from the tuner's single control goroutine.
type Scheduler interface {
	// SetMetricMode gives the tuner's metric and mode; a scheduler keeps
	// its own when they were set explicitly.
	SetMetricMode(metric, mode string)
	OnTrialAdd(c Controller, t *Trial)
	OnTrialResult(c Controller, t *Trial, r Result) Decision
	// OnTrialComplete is called when a trial terminates normally.
	OnTrialComplete(c Controller, t *Trial, r Result)
	// OnTrialError is called when a trial fails for good.
	OnTrialError(c Controller, t *Trial)
	// OnIdle is called when nothing runs, nothing is pending and no new trial
	// can come; a scheduler holding paused trials must resume or stop some.
	OnIdle(c Controller)
	// Name is shown in the console ("Using FIFO scheduling algorithm.").
	Name() string
}

// TrialChooser is implemented by schedulers that pick which PENDING or
// PAUSED trial runs next (Ray's choose_trial_to_run); without it the tuner
// starts PENDING trials in creation order and PAUSED ones wait for
// Controller.ResumeTrial.
type TrialChooser interface {
	ChooseTrialToRun(c Controller) *Trial
}

// FIFOScheduler runs every trial to completion in order (Ray's default).
type FIFOScheduler struct{}

// SetMetricMode implements Scheduler.
func (FIFOScheduler) SetMetricMode(string, string) {}

// OnTrialAdd implements Scheduler.
func (FIFOScheduler) OnTrialAdd(Controller, *Trial) {}

// OnTrialResult implements Scheduler.
func (FIFOScheduler) OnTrialResult(Controller, *Trial, Result) Decision { return Decision{} }

// OnTrialComplete implements Scheduler.
func (FIFOScheduler) OnTrialComplete(Controller, *Trial, Result) {}

// OnTrialError implements Scheduler.
func (FIFOScheduler) OnTrialError(Controller, *Trial) {}

// OnIdle implements Scheduler.
func (FIFOScheduler) OnIdle(Controller) {}

// Name implements Scheduler.
func (FIFOScheduler) Name() string { return "FIFO" }

// metricMode is embedded by schedulers to hold metric/mode defaults.
type metricMode struct {
	Metric string
	Mode   string
}

// SetMetricMode implements Scheduler: explicit settings win.
func (m *metricMode) SetMetricMode(metric, mode string) {
	if m.Metric == "" {
		m.Metric = metric
	}
	if m.Mode == "" {
		m.Mode = mode
	}
}

// score returns the metric in "higher is better" form.
func (m *metricMode) score(r Result) (float64, bool) {
	v, ok := r.Float(m.Metric)
	if !ok {
		return 0, false
	}
	return signed(v, m.Mode), true
}
