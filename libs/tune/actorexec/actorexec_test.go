package actorexec_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/libs/tune"
	"github.com/goray/goray/libs/tune/actorexec"
)

func TestMain(m *testing.M) {
	goray.MaybeRunWorker()
	os.Exit(m.Run())
}

// counter is registered at init so worker processes can build it by name.
func counter(ctx context.Context, p tune.Params, s tune.Session) error {
	step := 0
	if ck := s.Checkpoint(); ck != nil {
		if err := ck.DecodeJSON(&step); err != nil {
			return err
		}
	}
	for step < p.Int("iters", 3) {
		step++
		ck, _ := tune.CheckpointJSON(step)
		if err := s.Report(ctx, tune.Metrics{"score": float64(step) * p.Float("k", 1), "pid": os.Getpid()}, ck); err != nil {
			return err
		}
	}
	return nil
}

func trivial(ctx context.Context, p tune.Params, s tune.Session) error {
	return s.Report(ctx, tune.Metrics{"v": p.Float("x", 0)}, nil)
}

func init() {
	tune.RegisterFunc("actorexec-test.counter", counter)
	tune.RegisterFunc("actorexec-test.trivial", trivial)
}

func initRT(t testing.TB) (context.Context, *goray.Runtime) { return initRTCPUs(t, 2) }

func initRTCPUs(t testing.TB, cpus float64) (context.Context, *goray.Runtime) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	rt, err := goray.Init(ctx, goray.Config{NumCPUs: cpus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Shutdown(context.Background()) })
	return goray.WithRuntime(ctx, rt), rt
}

func TestTrialsRunAsActors(t *testing.T) {
	ctx, rt := initRT(t)
	tuner, err := tune.NewTuner("actorexec-test.counter", map[string]any{"k": tune.GridSearch(1.0, 2.0, 3.0), "iters": 3},
		tune.Config{Metric: "score", Mode: "max", Executor: &actorexec.Executor{Runtime: rt, Spread: true}},
		tune.RunConfig{Name: "actors", StoragePath: t.TempDir(), NoPlot: true})
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if grid.Len() != 3 {
		t.Fatalf("%d trials", grid.Len())
	}
	node := goray.NodeID(ctx)
	for _, r := range grid.Results {
		if r.Status != tune.Terminated || r.Metrics.Iteration() != 3 {
			t.Errorf("%s: %s at %d (%v)", r.TrialID, r.Status, r.Metrics.Iteration(), r.Err)
		}
		if r.Location == "" || r.Location != node {
			t.Errorf("%s: location %q, want node %q", r.TrialID, r.Location, node)
		}
		if pid, _ := r.Metrics.Float("pid"); int(pid) == os.Getpid() {
			t.Errorf("%s ran in the driver process, not in a worker", r.TrialID)
		}
	}
	best, err := grid.GetBestResult("", "", tune.ScopeLast)
	if err != nil || best.Params.Float("k", 0) != 3 {
		t.Errorf("best %v, %v", best, err)
	}
}

// BenchmarkActorTrialLaunch: 200 trivial trials as actors on a 2-CPU node.
//
//	go test -run '^$' -bench ActorTrialLaunch -benchtime 1x ./libs/tune/actorexec/
func BenchmarkActorTrialLaunch(b *testing.B) { benchTrialLaunch(b, false) }

// benchTrialLaunch runs 200 trivial trials per iteration, each executor
// new and closed within it, and reports the mean launch-to-result time.
func benchTrialLaunch(b *testing.B, reuse bool) {
	ctx, rt := initRT(b)
	const n = 200
	for i := 0; i < b.N; i++ {
		exec := &actorexec.Executor{Runtime: rt, ReuseActors: reuse}
		tuner, err := tune.NewTuner("actorexec-test.trivial", map[string]any{"x": tune.Uniform(0, 1)},
			tune.Config{NumSamples: n, Metric: "v", Mode: "max", Executor: exec, Seed: uint64(i)},
			tune.RunConfig{Name: "bench", StoragePath: b.TempDir(), NoPlot: true})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		grid, err := tuner.Fit(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if grid.NumTerminated() != n {
			b.Fatalf("%d/%d terminated: %v", grid.NumTerminated(), n, grid.Errors())
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000/n, "ms/trial")
		exec.Close(ctx)
	}
}

// crashy kills its own worker process (os.Exit) the first time it reaches
// step 3; the marker file makes the crash happen once per trial.
func crashy(ctx context.Context, p tune.Params, s tune.Session) error {
	step := 0
	if ck := s.Checkpoint(); ck != nil {
		if err := ck.DecodeJSON(&step); err != nil {
			return err
		}
	}
	marker := p.String("marker", "") + "-" + s.TrialID()
	for step < 5 {
		step++
		if step == 3 {
			if _, err := os.Stat(marker); err != nil {
				os.WriteFile(marker, nil, 0o644)
				os.Exit(3)
			}
		}
		ck, _ := tune.CheckpointJSON(step)
		if err := s.Report(ctx, tune.Metrics{"step": step, "pid": os.Getpid()}, ck); err != nil {
			return err
		}
	}
	return nil
}

func init() { tune.RegisterFunc("actorexec-test.crashy", crashy) }

func TestWorkerCrashRetriedFromCheckpoint(t *testing.T) {
	ctx, rt := initRT(t)
	dir := t.TempDir()
	tuner, err := tune.NewTuner("actorexec-test.crashy", map[string]any{"marker": filepath.Join(dir, "crashed"), "i": tune.GridSearch(1, 2)},
		tune.Config{Executor: actorexec.New(rt)},
		tune.RunConfig{Name: "crash", StoragePath: dir, NoPlot: true, Failure: tune.FailureConfig{MaxFailures: 1}})
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range grid.Results {
		if r.Status != tune.Terminated || r.Metrics.Iteration() != 5 {
			t.Fatalf("%s: %s at %d (%v)", r.TrialID, r.Status, r.Metrics.Iteration(), r.Err)
		}
		h, err := r.History()
		if err != nil {
			t.Fatal(err)
		}
		var its []int
		pids := map[float64]bool{}
		for _, x := range h {
			its = append(its, x.Iteration())
			p, _ := x.Float("pid")
			pids[p] = true
		}
		if fmt.Sprint(its) != "[1 2 3 4 5 5]" {
			t.Errorf("%s: iterations %v, want a resume at 3 from checkpoint 2", r.TrialID, its)
		}
		if len(pids) != 2 {
			t.Errorf("%s: ran in %d worker processes, want 2 (crash, then retry)", r.TrialID, len(pids))
		}
	}
}

func TestReuseActorsRunsTrialsInFewerProcesses(t *testing.T) {
	ctx, rt := initRT(t)
	exec := &actorexec.Executor{Runtime: rt, ReuseActors: true}
	defer exec.Close(ctx)
	tuner, err := tune.NewTuner("actorexec-test.counter", map[string]any{"k": tune.GridSearch(1.0, 2.0, 3.0, 4.0, 5.0, 6.0), "iters": 2},
		tune.Config{Metric: "score", Mode: "max", Executor: exec, MaxConcurrentTrials: 1},
		tune.RunConfig{Name: "reuse", StoragePath: t.TempDir(), NoPlot: true})
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tuner.Fit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pids := map[float64]bool{}
	for _, r := range grid.Results {
		if r.Status != tune.Terminated || r.Metrics.Iteration() != 2 {
			t.Errorf("%s: %s at %d", r.TrialID, r.Status, r.Metrics.Iteration())
		}
		if got, _ := r.Metrics.Float("score"); got != 2*r.Params.Float("k", 0) {
			t.Errorf("%s: score %v with k=%v: a reused actor kept the old trial's params?", r.TrialID, got, r.Params["k"])
		}
		p, _ := r.Metrics.Float("pid")
		pids[p] = true
	}
	if len(pids) != 1 {
		t.Errorf("6 sequential trials ran in %d processes, want 1 reused actor", len(pids))
	}
}

// BenchmarkActorTrialLaunchReuse is BenchmarkActorTrialLaunch with
// ReuseActors.
func BenchmarkActorTrialLaunchReuse(b *testing.B) { benchTrialLaunch(b, true) }
