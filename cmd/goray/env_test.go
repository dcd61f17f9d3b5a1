package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/sdk"
)

// envCLIPluginEnv makes this test binary serve walkEnv as an env plugin, so
// the CLI can be tested against a real plugin process.
const envCLIPluginEnv = "GORAY_ENVCLI_TEST_PLUGIN"

func init() {
	if os.Getenv(envCLIPluginEnv) == "1" {
		sdk.Serve(map[string]envs.Factory{"Walk-v0": newWalk})
	}
}

// walkEnv walks a counter: action 1 adds one, 0 subtracts one; reaching 3
// terminates with reward 1; the time limit is 5.
type walkEnv struct{ x float64 }

func newWalk(envs.Kwargs) (envs.Env, error) { return &walkEnv{}, nil }

func (w *walkEnv) Spec() envs.Spec {
	return envs.Spec{ID: "Walk-v0", ObservationSpace: envs.Space{Kind: envs.KindBox, Shape: []int{1}, Dtype: "float32",
		Low: []float64{-10}, High: []float64{10}}, ActionSpace: envs.Space{Kind: envs.KindDiscrete, N: 2},
		MaxEpisodeSteps: 5, RenderModes: []string{"ansi"}}
}
func (w *walkEnv) Reset(_ *int64, _ map[string]any, obs []float64) (envs.Info, error) {
	w.x, obs[0] = 0, 0
	return nil, nil
}
func (w *walkEnv) Step(a, obs []float64) (float64, bool, envs.Info, error) {
	w.x += 2*a[0] - 1
	obs[0] = w.x
	if w.x >= 3 {
		return 1, true, nil, nil
	}
	return 0, false, nil, nil
}
func (w *walkEnv) Render(string) (envs.Render, error) {
	return envs.Render{Text: fmt.Sprintf("x=%v", w.x)}, nil
}
func (w *walkEnv) Close() error { return nil }

// walkPlugin writes a wrapper script that starts this binary as the plugin.
func walkPlugin(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "walk-plugin")
	script := fmt.Sprintf("#!/bin/sh\n%s=1 exec %q \"$@\"\n", envCLIPluginEnv, exe)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runEnv(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestParseKwargs(t *testing.T) {
	cases := []struct {
		in   string
		want envs.Kwargs
	}{
		{"", nil},
		{"size=4,slip=0.1", envs.Kwargs{"size": int64(4), "slip": 0.1}},
		{"map_name=8x8, is_slippery=false", envs.Kwargs{"map_name": "8x8", "is_slippery": false}},
		{`desc=["SF","HG"],x=1`, envs.Kwargs{"desc": []any{"SF", "HG"}, "x": int64(1)}},
		{`o={"a":[1,2.5]}`, envs.Kwargs{"o": map[string]any{"a": []any{int64(1), 2.5}}}},
	}
	for _, c := range cases {
		got, err := parseKwargs(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseKwargs(%q) = %#v, %v; want %#v", c.in, got, err, c.want)
		}
	}
	if _, err := parseKwargs("size"); err == nil {
		t.Error(`parseKwargs("size"): no error`)
	}
}

func TestReadActions(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		text string
		want [][]float64
	}{
		{"1\n0\n\n# comment\n1 # trailing\n", [][]float64{{1}, {0}, {1}}},
		{"0.5, -1\n[1 2]\n", [][]float64{{0.5, -1}, {1, 2}}},
		{"[1, 0, 1]", [][]float64{{1}, {0}, {1}}},
		{"[[0.5], [1, 2]]", [][]float64{{0.5}, {1, 2}}},
	}
	for i, c := range cases {
		p := filepath.Join(dir, fmt.Sprint(i))
		os.WriteFile(p, []byte(c.text), 0o644)
		got, err := readActions(p)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("readActions(%q) = %v, %v; want %v", c.text, got, err, c.want)
		}
	}
	p := filepath.Join(dir, "bad")
	os.WriteFile(p, []byte("1\nleft\n"), 0o644)
	if _, err := readActions(p); err == nil || !strings.Contains(err.Error(), "bad:2") {
		t.Errorf("bad action file: %v, want an error naming bad:2", err)
	}
}

func TestEnvListAndRun(t *testing.T) {
	plugin := walkPlugin(t)
	out, errs, code := runCLI(t, "list", "--plugin", plugin)
	if code != 0 || !strings.Contains(out, "Walk-v0") || !strings.Contains(out, "walk-plugin") || !strings.Contains(out, "Box(-10.0, 10.0, (1,), float32)") {
		t.Fatalf("list: code %d\n%s\n%s", code, out, errs)
	}

	// Scripted: 1,1,1 reaches x=3 (terminated, return 1); then 0,0,0,0,0
	// hits the time limit of 5 (truncated).
	acts := filepath.Join(t.TempDir(), "acts")
	os.WriteFile(acts, []byte("[1,1,1,0,0,0,0,0]"), 0o644)
	out, errs, code = runCLI(t, "run", "Walk-v0", "--plugin", plugin, "--actions", acts, "--episodes", "3", "--json")
	if code != 0 {
		t.Fatalf("run: code %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1+3+1+1+5+1 {
		t.Fatalf("got %d JSON lines, want 12:\n%s", len(lines), out)
	}
	var step map[string]any
	if err := json.Unmarshal([]byte(lines[3]), &step); err != nil {
		t.Fatal(err)
	}
	if step["terminated"] != true || step["reward"] != 1.0 || !reflect.DeepEqual(step["obs"], []any{3.0}) {
		t.Fatalf("third step = %v", step)
	}
	var ep2 map[string]any
	json.Unmarshal([]byte(lines[11]), &ep2)
	if ep2["episode"] != 2.0 || ep2["length"] != 5.0 || ep2["return"] != 0.0 {
		t.Fatalf("episode 2 summary = %v", ep2)
	}
	var last map[string]any
	json.Unmarshal([]byte(lines[10]), &last)
	if last["truncated"] != true || last["terminated"] != false {
		t.Fatalf("last step of episode 2 = %v, want truncated by the time limit", last)
	}

	// Random policy: the same seed gives the same episodes.
	run := func() string {
		out, errs, code := runCLI(t, "run", "Walk-v0", "--plugin", plugin, "--seed", "5", "--episodes", "4")
		if code != 0 {
			t.Fatalf("random run: %d %s", code, errs)
		}
		return out
	}
	a, b := run(), run()
	if a != b || strings.Count(a, "episode ") != 4 {
		t.Fatalf("random runs differ or miss episodes:\n%s\n%s", a, b)
	}

	if _, errs, code := runCLI(t, "run", "Nope-v0", "--plugin", plugin); code != 1 || !strings.Contains(errs, "unknown env id") {
		t.Fatalf("unknown id: code %d, %q", code, errs)
	}
	if _, _, code := runCLI(t, "run"); code != 2 {
		t.Fatalf("run without ID: code %d, want 2", code)
	}
}
