package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/goray/goray/runtime/state"
)

// Files the training libraries write into a job's output_dir (see
// libs/rllib/run.go and docs/tune.md). The daemon reads them rather than
// importing the libraries: the files are their published, versioned
// output, and gorayd stays free of the learners' code.
const (
	resultFile     = "result.json"
	experimentFile = "experiment_state.json"
)

// maxResultLine bounds one result.json line; a longer one (a run logging
// huge histograms) is skipped rather than buffered without limit.
const maxResultLine = 4 << 20

// resultLine is what the dashboard and the metrics need from one line of
// result.json, under the keys parseResult names. Pointers tell a
// missing counter from zero.
type resultLine struct {
	TrialID            string
	TrainingIteration  int
	TimestepsTotal     int64
	NumEnvStepsSampled *int64
	NumEnvStepsTrained *int64
	// raw holds every top-level value undecoded: the reward is looked up by
	// the experiment's metric (episode_reward_mean for RLlib runs).
	raw map[string]json.RawMessage
}

// tailer reads the complete lines appended to a file since the last call.
// A trailing line without its newline is being written: it is left for the
// next call.
type tailer struct {
	path string
	off  int64
	skip bool // inside an over-long line, dropping bytes to its end
}

// next returns the new complete lines; a missing file is no lines yet.
func (t *tailer) next() ([][]byte, error) {
	f, err := os.Open(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", t.path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", t.path, err)
	}
	if st.Size() < t.off {
		// Truncated or replaced (a run restarted from scratch): read it
		// again from the start.
		t.off, t.skip = 0, false
	}
	if st.Size() == t.off {
		return nil, nil
	}
	buf := make([]byte, min(st.Size()-t.off, maxResultLine*4))
	n, err := f.ReadAt(buf, t.off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", t.path, err)
	}
	buf = buf[:n]
	var lines [][]byte
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			if len(buf) > maxResultLine {
				t.off += int64(len(buf))
				t.skip = true
			}
			return lines, nil
		}
		line := buf[:i]
		buf = buf[i+1:]
		t.off += int64(i + 1)
		if t.skip {
			t.skip = false
			continue
		}
		if len(bytes.TrimSpace(line)) > 0 {
			lines = append(lines, line)
		}
	}
}

// parseResult decodes one result.json line. The line is split into its
// top-level keys once and only the few values needed are decoded: a PPO
// line is mostly nested stats and histograms nobody here reads.
func parseResult(line []byte) (resultLine, error) {
	var r resultLine
	if err := json.Unmarshal(line, &r.raw); err != nil {
		return r, fmt.Errorf("result line: %w", err)
	}
	for k, dst := range map[string]any{
		"trial_id": &r.TrialID, "training_iteration": &r.TrainingIteration, "timesteps_total": &r.TimestepsTotal,
		"num_env_steps_sampled": &r.NumEnvStepsSampled, "num_env_steps_trained": &r.NumEnvStepsTrained,
	} {
		if v, ok := r.raw[k]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return r, fmt.Errorf("result line: %s: %w", k, err)
			}
		}
	}
	return r, nil
}

// number returns the top-level numeric key k of the line.
func (r resultLine) number(k string) (float64, bool) {
	raw, ok := r.raw[k]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return 0, false
	}
	var v float64
	if json.Unmarshal(raw, &v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// curvePoint turns a line into a learning-curve point, with the reward
// taken from metric (episode_reward_mean when empty); false when the line
// has no finite value for it yet.
func (r resultLine) curvePoint(job, trial, metric string) (state.CurvePoint, bool) {
	if metric == "" {
		metric = "episode_reward_mean"
	}
	v, ok := r.number(metric)
	if !ok {
		return state.CurvePoint{}, false
	}
	return state.CurvePoint{Job: job, Trial: trial, Iteration: r.TrainingIteration, Timesteps: r.TimestepsTotal, Reward: v}, true
}

// stepCounter turns the cumulative env-step counters of result lines into
// increments for the metrics. A counter that goes backwards (a restored
// run) starts a new baseline instead of a negative increment.
type stepCounter struct {
	sampled, trained int64
}

func (c *stepCounter) add(r resultLine) (sampled, trained int64) {
	if r.NumEnvStepsSampled != nil {
		if v := *r.NumEnvStepsSampled; v >= c.sampled {
			sampled = v - c.sampled
			c.sampled = v
		} else {
			c.sampled = v
		}
	}
	if r.NumEnvStepsTrained != nil {
		if v := *r.NumEnvStepsTrained; v >= c.trained {
			trained = v - c.trained
			c.trained = v
		} else {
			c.trained = v
		}
	}
	return sampled, trained
}

// experimentState is the part of libs/tune's experiment_state.json the
// state API shows.
type experimentState struct {
	Name   string `json:"name"`
	Metric string `json:"metric"`
	Trials []struct {
		ID     string         `json:"trial_id"`
		Dir    string         `json:"logdir"` // relative to the experiment dir
		Config map[string]any `json:"config"`
		Status string         `json:"status"`
		// Location is the node ID of a trial actor's node, or host:pid.
		Location string          `json:"location"`
		Error    string          `json:"error"`
		Last     json.RawMessage `json:"last_result"`
	} `json:"trials"`
}

// readExperiment reads a Tune experiment's state file in dir and returns
// its trials as the state API shows them, with each trial's directory
// (absolute) and the experiment's metric. A missing file is no trials yet.
func readExperiment(job, dir string) (trials []state.TrialState, dirs map[string]string, metric string, err error) {
	data, err := os.ReadFile(filepath.Join(dir, experimentFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, "", nil
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("read %s: %w", experimentFile, err)
	}
	var es experimentState
	if err := json.Unmarshal(data, &es); err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", filepath.Join(dir, experimentFile), err)
	}
	dirs = map[string]string{}
	for _, t := range es.Trials {
		ts := state.TrialState{ID: t.ID, Job: job, Experiment: es.Name, Status: t.Status, Config: t.Config, Error: t.Error, Node: t.Location}
		if len(t.Last) > 0 && string(t.Last) != "null" {
			var last map[string]any
			if json.Unmarshal(t.Last, &last) == nil {
				ts.Metrics = map[string]float64{}
				for k, v := range last {
					if f, ok := v.(float64); ok && !math.IsNaN(f) {
						ts.Metrics[k] = f
					}
				}
				ts.Iteration = int(ts.Metrics["training_iteration"])
				if len(ts.Metrics) == 0 {
					ts.Metrics = nil
				}
			}
		}
		if ts.Config == nil {
			ts.Config = map[string]any{}
		}
		trials = append(trials, ts)
		if t.Dir != "" && !filepath.IsAbs(t.Dir) {
			dirs[t.ID] = filepath.Join(dir, t.Dir)
		}
	}
	sort.Slice(trials, func(i, j int) bool { return trials[i].ID < trials[j].ID })
	return trials, dirs, es.Metric, nil
}
