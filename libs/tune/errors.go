package tune

import "errors"

// Sentinel errors; test with errors.Is.
var (
	// ErrBadSpace: the param space is malformed (empty grid, bad bounds).
	ErrBadSpace = errors.New("tune: bad param space")
	// ErrBadConfig: Config or RunConfig is invalid.
	ErrBadConfig = errors.New("tune: bad config")
	// ErrSearchFinished is returned by Searcher.Suggest when no more trials will come.
	ErrSearchFinished = errors.New("tune: search finished")
	// ErrSearchBusy is returned by Searcher.Suggest when a trial cannot be
	// suggested now (e.g. ConcurrencyLimiter is full) but may be later.
	ErrSearchBusy = errors.New("tune: searcher busy")
	// ErrTrialStopped is returned by Session.Report when the tuner stopped the
	// trial (stop condition, scheduler decision, pause); the trainable should return.
	ErrTrialStopped = errors.New("tune: trial stopped")
	// ErrUnknownTrainable: no trainable registered under the name.
	ErrUnknownTrainable = errors.New("tune: unknown trainable")
	// ErrNoCheckpoint: a resume or exploit needed a checkpoint that does not exist.
	ErrNoCheckpoint = errors.New("tune: no checkpoint")
	// ErrNoExperiment: the directory holds no experiment state.
	ErrNoExperiment = errors.New("tune: no experiment state")
	// ErrTrialFailed marks results of trials that ended in ERROR.
	ErrTrialFailed = errors.New("tune: trial failed")
	// ErrInfeasible: a trial asks for more resources than the executor has in total.
	ErrInfeasible = errors.New("tune: trial resources infeasible")
)
