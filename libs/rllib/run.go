package rllib

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Output file names in a run directory, as Tune names them.
const (
	ResultFile   = "result.json"
	ProgressFile = "progress.csv"
	CurveFile    = "learning_curve.png"
)

// RunConfig drives Run.
type RunConfig struct {
	// Dir is the run's output directory (created).
	Dir string
	// Stop ends training; empty means one iteration.
	Stop StopConfig
	// CheckpointFreq saves every n iterations to Dir/checkpoint_NNNNNN; 0 never.
	CheckpointFreq int
	// CheckpointAtEnd saves after the last iteration.
	CheckpointAtEnd bool
	// Progress, if set, is called after every iteration (a live progress
	// line, Tune's reporter).
	Progress func(*Result)
	// Logger receives one line per iteration; nil discards.
	Logger *slog.Logger
}

// RunSummary is what Run returns.
type RunSummary struct {
	Results    []*Result
	Checkpoint string // the last checkpoint written, if any
}

// Run trains algo until cfg.Stop holds, writing result.json (one JSON
// object per line), progress.csv and a learning curve into cfg.Dir, and
// checkpoints as configured. It does not stop algo.
func Run(ctx context.Context, algo Algorithm, cfg RunConfig) (*RunSummary, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: run: no output dir", ErrBadConfig)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	w, err := NewResultWriter(cfg.Dir)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	sum := &RunSummary{}
	stop := cfg.Stop
	if stop.Empty() {
		stop.TrainingIteration = algo.Iteration() + 1
	}
	for {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		r, err := algo.Train(ctx)
		if err != nil {
			return sum, err
		}
		r.Done = stop.Done(r)
		sum.Results = append(sum.Results, r)
		if err := w.Write(r); err != nil {
			return sum, err
		}
		if cfg.Logger != nil {
			cfg.Logger.Info("iteration", "training_iteration", r.TrainingIteration, "timesteps_total", r.TimestepsTotal,
				"episode_reward_mean", float64(r.EpisodeRewardMean), "time_total_s", r.TimeTotalS)
		}
		if cfg.Progress != nil {
			cfg.Progress(r)
		}
		if (cfg.CheckpointFreq > 0 && r.TrainingIteration%cfg.CheckpointFreq == 0) || (r.Done && cfg.CheckpointAtEnd) {
			dir := filepath.Join(cfg.Dir, fmt.Sprintf("checkpoint_%06d", r.TrainingIteration))
			if err := algo.Save(ctx, dir); err != nil {
				return sum, err
			}
			sum.Checkpoint = dir
		}
		if r.Done {
			break
		}
	}
	if err := w.Plot(); err != nil {
		return sum, err
	}
	return sum, nil
}

// ResultWriter appends results to result.json and progress.csv and draws
// the learning curve.
type ResultWriter struct {
	dir    string
	js     *os.File
	csvF   *os.File
	csvW   *csv.Writer
	header []string
	xs, ys []float64
}

// NewResultWriter creates the output files in dir.
func NewResultWriter(dir string) (*ResultWriter, error) {
	js, err := os.Create(filepath.Join(dir, ResultFile))
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	cf, err := os.Create(filepath.Join(dir, ProgressFile))
	if err != nil {
		js.Close()
		return nil, fmt.Errorf("results: %w", err)
	}
	return &ResultWriter{dir: dir, js: js, csvF: cf, csvW: csv.NewWriter(cf)}, nil
}

// Write appends one result.
func (w *ResultWriter) Write(r *Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if _, err := w.js.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	flat := map[string]string{}
	flatten("", m, flat)
	if w.header == nil {
		// Tune fixes the columns at the first row.
		for k := range flat {
			w.header = append(w.header, k)
		}
		slices.Sort(w.header)
		if err := w.csvW.Write(w.header); err != nil {
			return fmt.Errorf("results: %w", err)
		}
	}
	row := make([]string, len(w.header))
	for i, k := range w.header {
		row[i] = flat[k]
	}
	if err := w.csvW.Write(row); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	w.csvW.Flush()
	if err := w.csvW.Error(); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if v := float64(r.EpisodeRewardMean); !math.IsNaN(v) {
		w.xs = append(w.xs, float64(r.TimestepsTotal))
		w.ys = append(w.ys, v)
	}
	return nil
}

// flatten writes scalar leaves of m under "a/b/c" keys (Tune's
// progress.csv naming); lists are skipped.
func flatten(prefix string, m map[string]any, out map[string]string) {
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "/" + k
		}
		switch x := v.(type) {
		case map[string]any:
			flatten(key, x, out)
		case []any:
		case nil:
			out[key] = ""
		case float64:
			out[key] = strconv.FormatFloat(x, 'g', -1, 64)
		case bool:
			out[key] = strconv.FormatBool(x)
		case string:
			out[key] = x
		}
	}
}

// Plot draws episode_reward_mean against timesteps_total.
func (w *ResultWriter) Plot() error {
	p := plot.New()
	p.Title.Text = "learning curve"
	p.X.Label.Text = "timesteps_total"
	p.Y.Label.Text = "episode_reward_mean"
	pts := make(plotter.XYs, len(w.xs))
	for i := range w.xs {
		pts[i].X, pts[i].Y = w.xs[i], w.ys[i]
	}
	if len(pts) > 0 {
		line, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("learning curve: %w", err)
		}
		p.Add(line)
	}
	if err := p.Save(6*vg.Inch, 4*vg.Inch, filepath.Join(w.dir, CurveFile)); err != nil {
		return fmt.Errorf("learning curve: %w", err)
	}
	return nil
}

// Close closes the files.
func (w *ResultWriter) Close() error {
	w.csvW.Flush()
	return errors.Join(w.js.Close(), w.csvF.Close())
}
