package tune

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// File names in an experiment directory (Ray's, except that the state file
// has no timestamp: there is one per experiment directory).
const (
	StateFile      = "experiment_state.json"
	ParamsFile     = "params.json"
	ResultFile     = "result.json"
	ProgressFile   = "progress.csv"
	ErrorFile      = "error.txt"
	SummaryPlot    = "summary.png"
	ckptMetaFile   = ".tune_metadata.json"
	stateVersion   = 1
	checkpointGlob = "checkpoint_*"
)

// experimentState is experiment_state.json: enough to list results without
// the driver and to restore after the driver died.
type experimentState struct {
	Version        int              `json:"version"`
	Name           string           `json:"name"`
	ExperimentID   string           `json:"experiment_id"`
	Trainable      string           `json:"trainable"`
	NumSamples     int              `json:"num_samples"`
	Metric         string           `json:"metric,omitempty"`
	Mode           string           `json:"mode,omitempty"`
	MaxConcurrent  int              `json:"max_concurrent_trials,omitempty"`
	Resources      Resources        `json:"resources_per_trial,omitempty"`
	Seed           uint64           `json:"seed"`
	Stop           StopMap          `json:"stop,omitempty"`
	Checkpoint     CheckpointConfig `json:"checkpoint_config"`
	Failure        FailureConfig    `json:"failure_config"`
	SearchFinished bool             `json:"search_finished"`
	Finished       bool             `json:"finished"`
	Trials         []trialState     `json:"trials"`
}

type trialState struct {
	ID            string          `json:"trial_id"`
	Index         int             `json:"index"`
	Name          string          `json:"name"`
	Tag           string          `json:"experiment_tag"`
	Dir           string          `json:"logdir"` // relative to the experiment dir
	Params        json.RawMessage `json:"config"`
	Status        Status          `json:"status"`
	Location      string          `json:"location,omitempty"`
	NumFailures   int             `json:"num_failures"`
	Error         string          `json:"error,omitempty"`
	CheckpointDir string          `json:"checkpoint_dir,omitempty"` // relative
	Last          json.RawMessage `json:"last_result,omitempty"`
}

// jsonFloat keeps a float a float through a JSON round trip ("1.0", not "1"),
// so restored params have the types the searcher produced.
type jsonFloat float64

// MarshalJSON implements json.Marshaler.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return []byte(strconv.Quote(strconv.FormatFloat(x, 'g', -1, 64))), nil
	}
	s := strconv.FormatFloat(x, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return []byte(s), nil
}

// typed prepares a value for JSON: floats keep their float-ness, NaN/Inf
// become strings instead of failing the encoder.
func typed(v any) any {
	switch x := v.(type) {
	case float64:
		return jsonFloat(x)
	case float32:
		return jsonFloat(x)
	case Params:
		return typed(map[string]any(x))
	case Metrics:
		return typed(map[string]any(x))
	case Result:
		return typed(map[string]any(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = typed(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = typed(e)
		}
		return out
	case []float64:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonFloat(e)
		}
		return out
	}
	return v
}

func marshalTyped(v any) ([]byte, error) { return json.Marshal(typed(v)) }

// untyped converts decoded json.Numbers back: integers to int, others to float64.
func untyped(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return int(i)
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case map[string]any:
		out := Params{}
		for k, e := range x {
			out[k] = untyped(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = untyped(e)
		}
		return x
	}
	return v
}

func unmarshalParams(b []byte) (Params, error) {
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	p, _ := untyped(m).(Params)
	return p, nil
}

// writeFileAtomic replaces path so a reader (or a restore after SIGKILL)
// never sees a torn file.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// trialFiles is a trial's open log files.
type trialFiles struct {
	result  *os.File
	csvF    *os.File
	csvW    *csv.Writer
	columns []string
}

func (f *trialFiles) close() {
	if f == nil {
		return
	}
	if f.csvW != nil {
		f.csvW.Flush()
	}
	if f.result != nil {
		f.result.Close()
	}
	if f.csvF != nil {
		f.csvF.Close()
	}
}

func openTrialFiles(dir string) (*trialFiles, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r, err := os.OpenFile(filepath.Join(dir, ResultFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	f := &trialFiles{result: r}
	// Continue an existing progress.csv with its columns (after a restore).
	if b, err := os.ReadFile(filepath.Join(dir, ProgressFile)); err == nil && len(b) > 0 {
		if hdr, err := csv.NewReader(bytes.NewReader(b)).Read(); err == nil {
			f.columns = hdr
		}
	}
	c, err := os.OpenFile(filepath.Join(dir, ProgressFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		r.Close()
		return nil, err
	}
	f.csvF, f.csvW = c, csv.NewWriter(c)
	return f, nil
}

// writeResult appends r to result.json (one JSON object per line) and
// progress.csv (columns fixed by the first row, as in Ray).
func (f *trialFiles) writeResult(r Result) error {
	b, err := marshalTyped(map[string]any(r))
	if err != nil {
		return fmt.Errorf("tune: encode result: %w", err)
	}
	if _, err := f.result.Write(append(b, '\n')); err != nil {
		return err
	}
	flat := flattenResult(r)
	if f.columns == nil {
		for k := range flat {
			f.columns = append(f.columns, k)
		}
		sort.Strings(f.columns)
		if err := f.csvW.Write(f.columns); err != nil {
			return err
		}
	}
	row := make([]string, len(f.columns))
	for i, k := range f.columns {
		if v, ok := flat[k]; ok {
			row[i] = fmt.Sprint(v)
		}
	}
	if err := f.csvW.Write(row); err != nil {
		return err
	}
	f.csvW.Flush()
	return f.csvW.Error()
}

// flattenResult flattens nested metrics to "a/b" keys, without the config.
func flattenResult(r Result) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if prefix == "" && k == KeyConfig {
				continue
			}
			key := k
			if prefix != "" {
				key = prefix + "/" + k
			}
			switch x := v.(type) {
			case map[string]any:
				walk(key, x)
			case Metrics:
				walk(key, x)
			case Params:
				walk(key, x)
			default:
				out[key] = v
			}
		}
	}
	walk("", r)
	return out
}

// writeCheckpoint persists c as dir/checkpoint_NNNNNN and returns its name.
func writeCheckpoint(trialDir string, index int, c *Checkpoint) (string, error) {
	name := fmt.Sprintf("checkpoint_%06d", index)
	final := filepath.Join(trialDir, name)
	tmp := final + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	for fn, data := range c.Files {
		if strings.Contains(fn, "..") || filepath.IsAbs(fn) {
			return "", fmt.Errorf("tune: checkpoint file name %q escapes the checkpoint directory", fn)
		}
		p := filepath.Join(tmp, fn)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return "", err
		}
	}
	meta, _ := json.Marshal(map[string]any{"iteration": c.Iteration, "time_total_s": c.TimeTotal})
	if err := os.WriteFile(filepath.Join(tmp, ckptMetaFile), meta, 0o644); err != nil {
		return "", err
	}
	os.RemoveAll(final)
	if err := os.Rename(tmp, final); err != nil {
		return "", err
	}
	return name, nil
}

// LoadCheckpoint reads a checkpoint directory written by tune.
func LoadCheckpoint(dir string) (*Checkpoint, error) {
	c := &Checkpoint{Files: map[string][]byte{}}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ckptMetaFile {
			var meta struct {
				Iteration int     `json:"iteration"`
				TimeTotal float64 `json:"time_total_s"`
			}
			b, err := os.ReadFile(p)
			if err == nil {
				err = json.Unmarshal(b, &meta)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			c.Iteration, c.TimeTotal = meta.Iteration, meta.TimeTotal
			return nil
		}
		b, err := os.ReadFile(p)
		c.Files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNoCheckpoint, dir)
		}
		return nil, fmt.Errorf("tune: load checkpoint %s: %w", dir, err)
	}
	return c, nil
}

// pruneCheckpoints keeps the newest keep checkpoint dirs of a trial.
func pruneCheckpoints(trialDir string, keep int) {
	if keep <= 0 {
		return
	}
	names, _ := filepath.Glob(filepath.Join(trialDir, checkpointGlob))
	var dirs []string
	for _, n := range names {
		if !strings.HasSuffix(n, ".tmp") {
			dirs = append(dirs, n)
		}
	}
	sort.Strings(dirs)
	for i := 0; i < len(dirs)-keep; i++ {
		os.RemoveAll(dirs[i])
	}
}

// readResults reads every line of a trial's result.json; a torn last line
// (driver killed mid-write) is skipped.
func readResults(path string) ([]Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		p, err := unmarshalParams(line)
		if err != nil {
			continue
		}
		out = append(out, Result(p))
	}
	return out, sc.Err()
}

// lastResult reads the last complete line of a result.json, looking only
// at the file's tail (result lines of RL trials can be large).
func lastResult(path string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	const chunk = 4 << 20
	off := max(st.Size()-chunk, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if p, err := unmarshalParams(lines[i]); err == nil && p != nil {
			return Result(p), nil
		}
	}
	return nil, nil
}

func readState(dir string) (*experimentState, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s", ErrNoExperiment, dir)
		}
		return nil, err
	}
	var st experimentState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("tune: %s: %w", filepath.Join(dir, StateFile), err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("tune: %s: state version %d, this build reads %d", filepath.Join(dir, StateFile), st.Version, stateVersion)
	}
	return &st, nil
}

// EncodeJSON encodes params or metrics for transport between processes,
// keeping floats floats and NaN/Inf as strings.
func EncodeJSON(m map[string]any) ([]byte, error) { return marshalTyped(m) }

// DecodeJSON reverses EncodeJSON (integers come back as int).
func DecodeJSON(b []byte) (map[string]any, error) {
	p, err := unmarshalParams(b)
	return map[string]any(p), err
}
