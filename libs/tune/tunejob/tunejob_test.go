package tunejob_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goray/goray/internal/tomlutil"
	"github.com/goray/goray/libs/tune"
	"github.com/goray/goray/libs/tune/tunejob"
	"github.com/goray/goray/runtime/jobs"
)

func init() {
	tune.RegisterFunc("tunejob-test.quad", func(ctx context.Context, p tune.Params, s tune.Session) error {
		x := p.Float("x", 0)
		for i := 0; i < p.Int("iters", 3); i++ {
			if err := s.Report(ctx, tune.Metrics{"score": -(x - 2) * (x - 2)}, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

func parse(t *testing.T, text string) (*jobs.Spec, error) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "job.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return jobs.LoadFile(p)
}

const goodJob = `version = 1
name = "quad"

[tune]
trainable = "tunejob-test.quad"
metric = "score"
mode = "max"
executor = "local"
scheduler = "asha"
scheduler_config = { max_t = 3, grace_period = 1, reduction_factor = 2 }
stop = { training_iteration = 3 }

[tune.param_space]
iters = 5
x = { grid_search = [0.0, 1.0, 2.0, 3.0] }
nested = { lr = { loguniform = [1e-4, 1e-1] }, layers = [32, 32] }
`

func TestTuneJobRunsAndResumes(t *testing.T) {
	spec, err := parse(t, goodJob)
	if err != nil {
		t.Fatal(err)
	}
	lib := mustLib(t, spec)
	var reports []jobs.Progress
	if err := lib.Run(context.Background(), spec, spec.LibraryConfig, func(p jobs.Progress) { reports = append(reports, p) }); err != nil {
		t.Fatal(err)
	}
	grid, err := tune.LoadResults(spec.OutputDir)
	if err != nil {
		t.Fatal(err)
	}
	if grid.Len() != 4 || grid.NumTerminated() != 4 {
		t.Fatalf("%d trials, %d terminated", grid.Len(), grid.NumTerminated())
	}
	best, _ := grid.GetBestResult("", "", tune.ScopeLast)
	if best.Params.Float("x", -1) != 2 {
		t.Errorf("best x = %v", best.Params["x"])
	}
	if l, ok := best.Params.Get("nested/layers"); !ok || len(l.([]any)) != 2 {
		t.Errorf("constant list: %#v", l)
	}
	if len(reports) == 0 || reports[len(reports)-1].Iteration != 4 || reports[len(reports)-1].Value != 0 {
		t.Errorf("progress reports %+v", reports)
	}
	// resume = true on a finished experiment keeps every trial.
	spec.Resume = true
	if err := lib.Run(context.Background(), spec, spec.LibraryConfig, func(jobs.Progress) {}); err != nil {
		t.Fatal(err)
	}
	if g2, _ := tune.LoadResults(spec.OutputDir); g2.Len() != 4 {
		t.Errorf("resume made %d trials", g2.Len())
	}
}

type library interface {
	Run(ctx context.Context, spec *jobs.Spec, cfg any, report func(jobs.Progress)) error
}

func mustLib(t *testing.T, spec *jobs.Spec) library {
	t.Helper()
	if spec.Library != "tune" {
		t.Fatalf("library %q", spec.Library)
	}
	return tunejob.LibraryForTest()
}

func TestTuneJobErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, edit, key string
	}{
		{"unknown key", "[tune]\nbogus = 1\n", "tune.bogus"},
		{"bad domain", "[tune.param_space]\nlr = { uniform = [1] }\n", "tune.param_space.lr.uniform"},
		{"bad scheduler", "[tune]\nscheduler = \"nope\"\n", "tune.scheduler"},
		{"unknown trainable", "[tune]\ntrainable = \"NoSuch\"\n", "tune.trainable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := "version = 1\nname = \"x\"\n" + c.edit
			if !strings.Contains(c.edit, "trainable") {
				text = strings.Replace(text, "[tune]\n", "[tune]\ntrainable = \"tunejob-test.quad\"\n", 1)
				if !strings.Contains(text, "[tune]\n") {
					text = strings.Replace(text, "[tune.param_space]", "[tune]\ntrainable = \"tunejob-test.quad\"\n[tune.param_space]", 1)
				}
			}
			_, err := parse(t, text)
			var fe *tomlutil.FieldError
			if !errors.As(err, &fe) || fe.Key != c.key || fe.Pos.Line == 0 {
				t.Fatalf("err = %v (%#v), want a FieldError for %s with a line", err, fe, c.key)
			}
		})
	}
}

func TestExampleJobFileParses(t *testing.T) {
	spec, err := jobs.LoadFile("../../../examples/tune-ppo-cartpole/job.toml")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Library != "tune" || spec.LibraryConfig == nil {
		t.Fatalf("library %q", spec.Library)
	}
}
