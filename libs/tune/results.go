package tune

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// TrialResult is one trial's outcome (Ray's Result).
type TrialResult struct {
	TrialID  string
	Name     string
	Tag      string
	Params   Params
	Metrics  Result // last result
	Status   Status
	Err      error // non-nil for trials that ended in ERROR (wraps ErrTrialFailed)
	Path     string
	Location string
	// Checkpoint is the latest checkpoint directory ("" if none).
	Checkpoint string

	history []Result
}

// History is every result the trial reported (read from result.json).
func (r *TrialResult) History() ([]Result, error) {
	if r.history != nil {
		return r.history, nil
	}
	h, err := readResults(filepath.Join(r.Path, ResultFile))
	if err != nil {
		return nil, fmt.Errorf("tune: results of %s: %w", r.TrialID, err)
	}
	r.history = h
	return h, nil
}

// ResultGrid holds every trial's result (Ray's ResultGrid).
type ResultGrid struct {
	Path    string
	Metric  string
	Mode    string
	Results []*TrialResult
}

// Len is the number of trials.
func (g *ResultGrid) Len() int { return len(g.Results) }

// Errors lists the errors of failed trials.
func (g *ResultGrid) Errors() []error {
	var out []error
	for _, r := range g.Results {
		if r.Err != nil {
			out = append(out, r.Err)
		}
	}
	return out
}

// NumTerminated counts trials that ended normally.
func (g *ResultGrid) NumTerminated() int {
	n := 0
	for _, r := range g.Results {
		if r.Status == Terminated {
			n++
		}
	}
	return n
}

// Scopes accepted by GetBestResult (Ray's).
const (
	ScopeLast      = "last"
	ScopeAll       = "all"
	ScopeAvg       = "avg"
	ScopeLast5Avg  = "last-5-avg"
	ScopeLast10Avg = "last-10-avg"
)

// GetBestResult returns the trial with the best metric under mode ("" →
// the tuner's). scope is how each trial's value is summarised: "last"
// result, best of "all", "avg" of all, "last-5-avg", "last-10-avg". NaN and
// infinite values are ignored.
func (g *ResultGrid) GetBestResult(metric, mode, scope string) (*TrialResult, error) {
	if metric == "" {
		metric = g.Metric
	}
	if mode == "" {
		mode = g.Mode
	}
	if scope == "" {
		scope = ScopeLast
	}
	if metric == "" || (mode != "max" && mode != "min") {
		return nil, fmt.Errorf("%w: GetBestResult needs a metric and mode max|min (got %q, %q)", ErrBadConfig, metric, mode)
	}
	var best *TrialResult
	bestV := math.NaN()
	for _, r := range g.Results {
		v, ok, err := r.score(metric, mode, scope)
		if err != nil {
			return nil, err
		}
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if best == nil || better(v, bestV, mode) {
			best, bestV = r, v
		}
	}
	if best == nil {
		return nil, fmt.Errorf("tune: no trial reported %q", metric)
	}
	return best, nil
}

func (r *TrialResult) score(metric, mode, scope string) (float64, bool, error) {
	if scope == ScopeLast {
		v, ok := r.Metrics.Float(metric)
		return v, ok, nil
	}
	h, err := r.History()
	if err != nil {
		return 0, false, err
	}
	var xs []float64
	for _, x := range h {
		if v, ok := x.Float(metric); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return 0, false, nil
	}
	switch scope {
	case ScopeAll:
		b := xs[0]
		for _, v := range xs {
			if better(v, b, mode) {
				b = v
			}
		}
		return b, true, nil
	case ScopeAvg:
	case ScopeLast5Avg:
		xs = xs[max(0, len(xs)-5):]
	case ScopeLast10Avg:
		xs = xs[max(0, len(xs)-10):]
	default:
		return 0, false, fmt.Errorf("%w: scope %q (want last, all, avg, last-5-avg, last-10-avg)", ErrBadConfig, scope)
	}
	var s float64
	for _, v := range xs {
		s += v
	}
	return s / float64(len(xs)), true, nil
}

// tableColumns picks the varied params and the metric columns.
func (g *ResultGrid) tableColumns() (params, metrics []string) {
	seen := map[string]map[string]bool{}
	for _, r := range g.Results {
		for k, v := range r.Params.Flatten() {
			if seen[k] == nil {
				seen[k] = map[string]bool{}
			}
			seen[k][fmt.Sprint(v)] = true
		}
	}
	for k, vals := range seen {
		if len(vals) > 1 || len(g.Results) == 1 {
			params = append(params, k)
		}
	}
	sort.Strings(params)
	metrics = []string{KeyTrainingIteration, KeyTimeTotal}
	if g.Metric != "" {
		metrics = append(metrics, g.Metric)
	}
	return params, metrics
}

// WriteTable prints one row per trial: name, status, location, varied
// params, iterations, total time and the metric.
func (g *ResultGrid) WriteTable(w io.Writer) error {
	params, metrics := g.tableColumns()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	hdr := []string{"Trial name", "status", "loc"}
	hdr = append(hdr, params...)
	for _, m := range metrics {
		hdr = append(hdr, metricHeader(m))
	}
	fmt.Fprintln(tw, strings.Join(hdr, "\t"))
	for _, r := range g.Results {
		row := []string{r.Name, string(r.Status), r.Location}
		for _, p := range params {
			v, _ := r.Params.Get(p)
			row = append(row, fmtValue(v))
		}
		for _, m := range metrics {
			if v, ok := r.Metrics.Float(m); ok {
				row = append(row, fmtMetric(v))
			} else {
				row = append(row, "")
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

func metricHeader(k string) string {
	switch k {
	case KeyTrainingIteration:
		return "iter"
	case KeyTimeTotal:
		return "total time (s)"
	}
	return k
}

func fmtMetric(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.5g", v)
}

// jsonTrial is the --json form of one trial.
type jsonTrial struct {
	TrialID    string         `json:"trial_id"`
	Name       string         `json:"name"`
	Status     Status         `json:"status"`
	Location   string         `json:"location,omitempty"`
	Params     map[string]any `json:"config"`
	Metrics    map[string]any `json:"last_result,omitempty"`
	Error      string         `json:"error,omitempty"`
	Path       string         `json:"path"`
	Checkpoint string         `json:"checkpoint,omitempty"`
}

// WriteJSON prints the grid as JSON: the experiment path, metric, mode,
// best trial (when a metric is known) and every trial.
func (g *ResultGrid) WriteJSON(w io.Writer) error {
	out := map[string]any{"path": g.Path, "metric": g.Metric, "mode": g.Mode}
	if g.Metric != "" {
		if b, err := g.GetBestResult("", "", ScopeLast); err == nil {
			out["best_trial"] = b.TrialID
		}
	}
	var trials []any
	for _, r := range g.Results {
		jt := jsonTrial{TrialID: r.TrialID, Name: r.Name, Status: r.Status, Location: r.Location,
			Params: typed(r.Params).(map[string]any), Path: r.Path, Checkpoint: r.Checkpoint}
		if r.Metrics != nil {
			m := map[string]any{}
			for k, v := range r.Metrics {
				if k != KeyConfig {
					m[k] = v
				}
			}
			jt.Metrics = typed(m).(map[string]any)
		}
		if r.Err != nil {
			jt.Error = r.Err.Error()
		}
		trials = append(trials, jt)
	}
	out["trials"] = trials
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// LoadResults reads an experiment directory (finished, running or
// interrupted) into a ResultGrid without running anything.
func LoadResults(dir string) (*ResultGrid, error) {
	st, err := readState(dir)
	if err != nil {
		return nil, err
	}
	g := &ResultGrid{Path: dir, Metric: st.Metric, Mode: st.Mode}
	for _, ts := range st.Trials {
		p, err := unmarshalParams(ts.Params)
		if err != nil {
			return nil, fmt.Errorf("tune: %s: trial %s config: %w", filepath.Join(dir, StateFile), ts.ID, err)
		}
		last, err := unmarshalParams(ts.Last)
		if err != nil {
			return nil, fmt.Errorf("tune: %s: trial %s last_result: %w", filepath.Join(dir, StateFile), ts.ID, err)
		}
		r := &TrialResult{TrialID: ts.ID, Name: ts.Name, Tag: ts.Tag, Params: p, Metrics: Result(last),
			Status: ts.Status, Path: filepath.Join(dir, ts.Dir), Location: ts.Location}
		// The state file is written at most every 200 ms; result.json is
		// current (a running or killed experiment).
		if lr, err := lastResult(filepath.Join(r.Path, ResultFile)); err == nil && lr != nil {
			delete(lr, KeyConfig)
			r.Metrics = lr
		}
		if ts.Status == Errored {
			r.Err = fmt.Errorf("%w: %s", ErrTrialFailed, ts.Error)
		}
		if ts.CheckpointDir != "" {
			r.Checkpoint = filepath.Join(dir, ts.Dir, ts.CheckpointDir)
		}
		g.Results = append(g.Results, r)
	}
	return g, nil
}
