package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/goray/goray/libs/tune"
)

func TestTuneResultsVerb(t *testing.T) {
	dir := t.TempDir()
	fn := func(ctx context.Context, p tune.Params, s tune.Session) error {
		return s.Report(ctx, tune.Metrics{"acc": p.Float("x", 0)}, nil)
	}
	tuner, err := tune.NewTuner(tune.TrainFunc(fn), map[string]any{"x": tune.GridSearch(0.1, 0.9, 0.5)},
		tune.Config{Metric: "acc", Mode: "max"}, tune.RunConfig{Name: "exp", StoragePath: dir, NoPlot: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tuner.Fit(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := runTune(context.Background(), []string{"results", tuner.ExperimentPath()}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "Best trial:") || !strings.Contains(out.String(), "acc=0.9") || strings.Count(out.String(), "TERMINATED") != 3 {
		t.Errorf("table:\n%s", out.String())
	}
	out.Reset()
	if code := runTune(context.Background(), []string{"results", "--json", tuner.ExperimentPath()}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var js struct {
		BestTrial string `json:"best_trial"`
		Trials    []struct {
			Status string         `json:"status"`
			Config map[string]any `json:"config"`
		} `json:"trials"`
	}
	if err := json.Unmarshal(out.Bytes(), &js); err != nil || len(js.Trials) != 3 || js.BestTrial == "" {
		t.Fatalf("json %v: %s", err, out.String())
	}
	if code := runTune(context.Background(), []string{"results", t.TempDir()}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no experiment state") {
		t.Errorf("missing dir: exit %d, %q", code, errb.String())
	}
	if code := runTune(context.Background(), []string{"bogus"}, &out, &errb); code != 2 {
		t.Errorf("bad verb: exit %d", code)
	}
}
