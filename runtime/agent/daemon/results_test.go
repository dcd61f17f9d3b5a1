package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTailerReadsOnlyCompleteLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "result.json")
	tl := &tailer{path: p}
	if lines, err := tl.next(); err != nil || len(lines) != 0 {
		t.Fatalf("missing file: %q, %v; want no lines and no error", lines, err)
	}
	steps := []struct {
		appendText string
		want       []string
	}{
		{`{"a":1}` + "\n" + `{"b":`, []string{`{"a":1}`}},
		{"2}\n\n", []string{`{"b":2}`}},
		{"", nil},
		{`{"c":3}` + "\n", []string{`{"c":3}`}},
	}
	for i, s := range steps {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString(s.appendText)
		_ = f.Close()
		lines, err := tl.next()
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		var got []string
		for _, l := range lines {
			got = append(got, string(l))
		}
		if strings.Join(got, "|") != strings.Join(s.want, "|") {
			t.Fatalf("step %d: lines %q, want %q", i, got, s.want)
		}
	}
	// A file rewritten from scratch (a run restarted) is read again.
	if err := os.WriteFile(p, []byte(`{"d":4}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if lines, err := tl.next(); err != nil || len(lines) != 1 || string(lines[0]) != `{"d":4}` {
		t.Fatalf("after truncation: %q, %v", lines, err)
	}
}

func TestResultLineToCurveAndSteps(t *testing.T) {
	tests := []struct {
		name          string
		line, metric  string
		wantPoint     bool
		wantReward    float64
		wantIter      int
		wantSteps     int64
		wantS, wantTr int64
	}{
		{"rllib line", `{"training_iteration":2,"timesteps_total":800,"episode_reward_mean":0.25,"num_env_steps_sampled":800,"num_env_steps_trained":800}`,
			"", true, 0.25, 2, 800, 800, 800},
		{"null reward before the first episode", `{"training_iteration":1,"timesteps_total":400,"episode_reward_mean":null,"num_env_steps_sampled":400}`,
			"", false, 0, 0, 0, 400, 0},
		{"tune metric", `{"training_iteration":3,"score":7.5}`, "score", true, 7.5, 3, 0, 0, 0},
		{"metric missing", `{"training_iteration":3}`, "score", false, 0, 0, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parseResult([]byte(tc.line))
			if err != nil {
				t.Fatal(err)
			}
			p, ok := r.curvePoint("job1", "", tc.metric)
			if ok != tc.wantPoint || ok && (p.Reward != tc.wantReward || p.Iteration != tc.wantIter || p.Timesteps != tc.wantSteps || p.Job != "job1") {
				t.Errorf("curve point %+v, %v; want reward %v iteration %d timesteps %d (%v)", p, ok, tc.wantReward, tc.wantIter, tc.wantSteps, tc.wantPoint)
			}
			var sc stepCounter
			if s, tr := sc.add(r); s != tc.wantS || tr != tc.wantTr {
				t.Errorf("steps %d/%d, want %d/%d", s, tr, tc.wantS, tc.wantTr)
			}
		})
	}
	if _, err := parseResult([]byte("{not json")); err == nil {
		t.Error("a broken line parsed")
	}
}

func TestStepCounterDeltas(t *testing.T) {
	var sc stepCounter
	for i, c := range []struct{ sampled, want int64 }{{400, 400}, {800, 400}, {800, 0}, {300, 0}, {700, 400}} {
		v := c.sampled
		if got, _ := sc.add(resultLine{NumEnvStepsSampled: &v}); got != c.want {
			t.Errorf("line %d (sampled %d): delta %d, want %d", i, c.sampled, got, c.want)
		}
	}
}

func TestReadExperiment(t *testing.T) {
	dir := t.TempDir()
	if trials, _, _, err := readExperiment("j", dir); err != nil || trials != nil {
		t.Fatalf("no state file yet: %v, %v", trials, err)
	}
	state := `{"version":1,"name":"exp","metric":"score","trials":[
	 {"trial_id":"t_00001","logdir":"f_00001","config":{"lr":0.1},"status":"TERMINATED","location":"node-a","last_result":{"training_iteration":4,"score":2.5,"date":"x"}},
	 {"trial_id":"t_00000","logdir":"f_00000","config":{"lr":0.01},"status":"RUNNING","error":"","last_result":null}]}`
	if err := os.WriteFile(filepath.Join(dir, experimentFile), []byte(state), 0o644); err != nil {
		t.Fatal(err)
	}
	trials, dirs, metric, err := readExperiment("j", dir)
	if err != nil {
		t.Fatal(err)
	}
	if metric != "score" || len(trials) != 2 || trials[0].ID != "t_00000" || trials[1].Status != "TERMINATED" ||
		trials[1].Iteration != 4 || trials[1].Metrics["score"] != 2.5 || trials[1].Config["lr"] != 0.1 ||
		trials[0].Experiment != "exp" || trials[1].Node != "node-a" || trials[0].Job != "j" || trials[0].Metrics != nil {
		t.Fatalf("trials %+v, metric %q", trials, metric)
	}
	if dirs["t_00001"] != filepath.Join(dir, "f_00001") {
		t.Errorf("trial dirs %v", dirs)
	}
	if err := os.WriteFile(filepath.Join(dir, experimentFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := readExperiment("j", dir); err == nil || !strings.Contains(err.Error(), experimentFile) {
		t.Errorf("broken state file: %v, want an error naming it", err)
	}
}
