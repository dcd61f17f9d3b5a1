package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/classic"
	"github.com/goray/goray/plugins/envs/envplugin"
)

func init() {
	register("env", "list environments, or run one with a random or scripted policy", runEnv)
}

const envUsage = `Usage:
  goray env list [--plugin-dir DIR] [--plugin PATH]...
  goray env run ID [--kwargs k=v,...] [--seed S] [--episodes N] [--policy random]
                   [--actions FILE] [--render] [--json] [--subprocess]
                   [--plugin-dir DIR] [--plugin PATH]...

list prints every env ID with its spaces, time limit and the plugin it comes
from. run plays episodes and prints each episode's return and length; with
--json it prints one JSON object per reset and step (obs, reward, terminated,
truncated, info) and per episode, so a trajectory can be compared with a
reference. --actions replays actions from FILE (one action per line, numbers
separated by spaces or commas for multi-valued actions, or one JSON array)
instead of the random policy; runs stop when the actions run out.
`

func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, envUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "list":
		return envList(ctx, args[1:], stdout, stderr)
	case "run":
		return envRun(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "goray env: unknown subcommand %q\n\n%s", args[0], envUsage)
	return 2
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// registryFlags are the flags that say where envs come from.
type registryFlags struct {
	pluginDir string
	plugins   stringList
	verbose   bool
}

func (r *registryFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&r.pluginDir, "plugin-dir", "", "directory of env plugin binaries (default $"+envs.PluginDirEnv+")")
	fs.Var(&r.plugins, "plugin", "env plugin binary (repeatable)")
	fs.BoolVar(&r.verbose, "v", false, "log plugin activity to stderr")
}

func (r *registryFlags) registry(stderr io.Writer) (*envs.Registry, error) {
	level := slog.LevelWarn
	if r.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return envplugin.NewRegistry(envs.RegistryConfig{PluginDir: r.pluginDir, Plugins: r.plugins,
		Host: envs.HostOptions{Logger: logger}})
}

func envList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("goray env list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf registryFlags
	rf.add(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	reg, err := rf.registry(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "goray env list:", err)
		return 1
	}
	specs, err := reg.List(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "goray env list:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tOBSERVATION SPACE\tACTION SPACE\tMAX STEPS\tPLUGIN")
	for _, s := range specs {
		steps := "-"
		if s.MaxEpisodeSteps > 0 {
			steps = strconv.Itoa(s.MaxEpisodeSteps)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.ObservationSpace, s.ActionSpace, steps, s.Plugin)
	}
	tw.Flush()
	for _, w := range reg.Warnings() {
		fmt.Fprintln(stderr, "warning:", w)
	}
	return 0
}

// runOpts are the options of goray env run.
type runOpts struct {
	id         string
	kwargs     envs.Kwargs
	seed       int64
	episodes   int
	policy     string
	actions    [][]float64 // nil: use the policy
	render     bool
	json       bool
	subprocess bool
}

func envRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("goray env run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf registryFlags
	rf.add(fs)
	var o runOpts
	var kwargs, actionsFile string
	fs.StringVar(&kwargs, "kwargs", "", "env kwargs as k=v,... (values: numbers, true/false, JSON lists/objects, or strings)")
	fs.Int64Var(&o.seed, "seed", 0, "seed of the first reset and of the random policy")
	fs.IntVar(&o.episodes, "episodes", 1, "number of episodes")
	fs.StringVar(&o.policy, "policy", "random", "policy: random")
	fs.StringVar(&actionsFile, "actions", "", "replay actions from FILE instead of the policy")
	fs.BoolVar(&o.render, "render", false, "print the ansi rendering (or a summary of the rgb_array frame) after every reset and step")
	fs.BoolVar(&o.json, "json", false, "print JSON lines: every reset and step, then each episode")
	fs.BoolVar(&o.subprocess, "subprocess", false, "run a built-in env in the built-in plugin process")
	// Accept the ID before or after the flags.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		o.id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.id == "" && fs.NArg() > 0 {
		o.id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "goray env run: unexpected arguments %v\n", fs.Args())
		return 2
	}
	if o.id == "" {
		fmt.Fprint(stderr, "goray env run: missing env ID\n\n", envUsage)
		return 2
	}
	if o.policy != "random" {
		fmt.Fprintf(stderr, "goray env run: --policy %q: only \"random\" is available\n", o.policy)
		return 2
	}
	if o.episodes < 1 {
		fmt.Fprintf(stderr, "goray env run: --episodes %d: want ≥ 1\n", o.episodes)
		return 2
	}
	var err error
	if o.kwargs, err = parseKwargs(kwargs); err != nil {
		fmt.Fprintln(stderr, "goray env run: --kwargs:", err)
		return 2
	}
	if actionsFile != "" {
		if o.actions, err = readActions(actionsFile); err != nil {
			fmt.Fprintln(stderr, "goray env run:", err)
			return 2
		}
	}
	reg, err := rf.registry(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "goray env run:", err)
		return 1
	}
	if err := playEpisodes(ctx, reg, o, stdout); err != nil {
		fmt.Fprintln(stderr, "goray env run:", err)
		return 1
	}
	return 0
}

// parseKwargs parses k=v,k=v. Commas inside brackets, braces or quotes do
// not split, so desc=["SFFF","FHFG"] works.
func parseKwargs(s string) (envs.Kwargs, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	kw := envs.Kwargs{}
	for _, part := range splitTopLevel(s) {
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want key=value", part)
		}
		kw[k] = parseValue(strings.TrimSpace(v))
	}
	return kw, nil
}

func splitTopLevel(s string) []string {
	var parts []string
	depth, start := 0, 0
	inQuote := false
	for i, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
		case inQuote:
		case r == '[' || r == '{':
			depth++
		case r == ']' || r == '}':
			depth--
		case r == ',' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// parseValue types a kwarg value: int64, float64, bool, JSON, else string.
func parseValue(v string) any {
	if i, err := strconv.ParseInt(v, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f
	}
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false":
		return false
	}
	if strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{") || strings.HasPrefix(v, `"`) {
		dec := json.NewDecoder(strings.NewReader(v))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err == nil {
			return jsonNumbers(x)
		}
	}
	return v
}

func jsonNumbers(x any) any {
	switch t := x.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case []any:
		for i := range t {
			t[i] = jsonNumbers(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = jsonNumbers(t[k])
		}
	}
	return x
}

// readActions reads a JSON array (of numbers or of arrays) or one action
// per line (numbers separated by spaces or commas; # starts a comment).
func readActions(path string) ([][]float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--actions: %w", err)
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		var raw []json.RawMessage
		if err := json.Unmarshal(t, &raw); err != nil {
			return nil, fmt.Errorf("--actions %s: not a JSON array: %w", path, err)
		}
		out := make([][]float64, len(raw))
		for i, r := range raw {
			var x float64
			if err := json.Unmarshal(r, &x); err == nil {
				out[i] = []float64{x}
				continue
			}
			if err := json.Unmarshal(r, &out[i]); err != nil {
				return nil, fmt.Errorf("--actions %s: element %d = %s: want a number or an array of numbers", path, i, r)
			}
		}
		return out, nil
	}
	var out [][]float64
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '[' || r == ']' })
		if len(fields) == 0 {
			continue
		}
		a := make([]float64, len(fields))
		for i, f := range fields {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil, fmt.Errorf("--actions %s:%d: %q is not a number", path, line, f)
			}
			a[i] = x
		}
		out = append(out, a)
	}
	return out, sc.Err()
}

// playEpisodes runs o.episodes episodes of one sub-env (autoreset disabled,
// so every reset is explicit and only the first is seeded, as Gymnasium
// advises).
func playEpisodes(ctx context.Context, reg *envs.Registry, o runOpts, stdout io.Writer) error {
	vec, err := reg.Make(ctx, envs.VectorConfig{ID: o.id, NumEnvs: 1, Kwargs: o.kwargs, Mode: envs.AutoresetDisabled},
		envs.MakeOptions{Subprocess: o.subprocess})
	if err != nil {
		return err
	}
	defer vec.Close()
	spec := vec.Spec()
	actDim := spec.ActionSpace.FlatDim()
	var sample func([]float64)
	if o.actions == nil {
		if sample, err = newSampler(spec.ActionSpace, o.seed); err != nil {
			return err
		}
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	// --render prints ansi text, or a one-line summary of each frame for
	// envs that only render RGB arrays.
	mode := ""
	if o.render {
		switch {
		case slices.Contains(spec.RenderModes, "ansi"):
			mode = "ansi"
		case slices.Contains(spec.RenderModes, "rgb_array"):
			mode = "rgb_array"
		default:
			return fmt.Errorf("--render: %s has no render modes", spec.ID)
		}
	}
	render := func() error {
		if mode == "" {
			return nil
		}
		r, err := vec.Render(ctx, 0, mode)
		if err != nil {
			return err
		}
		text := r.Text
		if mode == "rgb_array" {
			text = fmt.Sprintf("[rgb_array frame %dx%d, %d bytes]\n", r.Width, r.Height, len(r.RGB))
		}
		if o.json {
			return writeJSON(w, map[string]any{"render": text})
		}
		fmt.Fprint(w, text)
		if !strings.HasSuffix(text, "\n") {
			fmt.Fprintln(w)
		}
		return nil
	}
	next := 0
	action := make([]float64, actDim)
	for ep := 1; ep <= o.episodes; ep++ {
		if o.actions != nil && next >= len(o.actions) {
			break
		}
		var seeds []int64
		if ep == 1 {
			seeds = []int64{o.seed}
		}
		b, err := vec.Reset(ctx, seeds, nil)
		if err != nil {
			return err
		}
		if o.json {
			if err := writeJSON(w, map[string]any{"episode": ep, "step": 0, "obs": jsonFloats(b.Obs), "info": infoOf(b)}); err != nil {
				return err
			}
		}
		if err := render(); err != nil {
			return err
		}
		ret, length, done := 0.0, 0, false
		for !done {
			if err := ctx.Err(); err != nil {
				return err
			}
			if o.actions != nil {
				if next >= len(o.actions) {
					break
				}
				if len(o.actions[next]) != actDim {
					return fmt.Errorf("action %d has %d values, the action space %s takes %d", next+1, len(o.actions[next]), spec.ActionSpace, actDim)
				}
				copy(action, o.actions[next])
				next++
			} else {
				sample(action)
			}
			b, err = vec.Step(ctx, action)
			if err != nil {
				return fmt.Errorf("episode %d step %d: %w", ep, length+1, err)
			}
			length++
			ret += b.Rewards[0]
			done = b.Terminated[0] || b.Truncated[0]
			if o.json {
				if err := writeJSON(w, map[string]any{"episode": ep, "step": length, "action": jsonFloats(action),
					"obs": jsonFloats(b.Obs), "reward": jsonFloat(b.Rewards[0]), "terminated": b.Terminated[0],
					"truncated": b.Truncated[0], "info": infoOf(b)}); err != nil {
					return err
				}
			}
			if err := render(); err != nil {
				return err
			}
		}
		if o.json {
			if err := writeJSON(w, map[string]any{"episode": ep, "return": jsonFloat(ret), "length": length, "done": done}); err != nil {
				return err
			}
		} else {
			note := ""
			if !done {
				note = " (actions ran out)"
			}
			fmt.Fprintf(w, "episode %d: return %s length %d%s\n", ep, strconv.FormatFloat(ret, 'g', -1, 64), length, note)
		}
	}
	return nil
}

func infoOf(b *envs.Batch) any {
	if len(b.Infos) == 0 || b.Infos[0] == nil {
		return map[string]any{}
	}
	return jsonSafe(b.Infos[0])
}

// jsonFloat writes non-finite numbers as Python's json module does
// (Infinity, -Infinity, NaN), so reference tooling can read them back.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	x := float64(f)
	switch {
	case math.IsInf(x, 1):
		return []byte("Infinity"), nil
	case math.IsInf(x, -1):
		return []byte("-Infinity"), nil
	case math.IsNaN(x):
		return []byte("NaN"), nil
	}
	return strconv.AppendFloat(nil, x, 'g', -1, 64), nil
}

func jsonFloats(xs []float64) []jsonFloat {
	out := make([]jsonFloat, len(xs))
	for i, x := range xs {
		out[i] = jsonFloat(x)
	}
	return out
}

func jsonSafe(x any) any {
	switch t := x.(type) {
	case float64:
		return jsonFloat(t)
	case []float64:
		return jsonFloats(t)
	case envs.Info:
		return jsonSafe(map[string]any(t))
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			out[k] = jsonSafe(v)
		}
		return out
	}
	return x
}

// writeJSON writes one JSON object per line with sorted keys.
func writeJSON(w io.Writer, m map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(m[k])
		if err != nil {
			return fmt.Errorf("encode %s: %w", k, err)
		}
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteString("}\n")
	_, err := w.Write(buf.Bytes())
	return err
}

// newSampler returns the random policy: Gymnasium-exact samples of the
// action space (space.seed(seed); space.sample()), from an RNG of its own.
func newSampler(space envs.Space, seed int64) (func([]float64), error) {
	s, err := classic.NewSampler(space, seed)
	if err != nil {
		return nil, fmt.Errorf("random policy: %w", err)
	}
	return func(dst []float64) {
		// dst has the action space's FlatDim slots, which is what Sample
		// checks, so its error cannot happen here.
		_ = s.Sample(dst)
	}, nil
}
