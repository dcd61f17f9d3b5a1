package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/state"
)

var (
	stateNap = goray.Register[int]("daemontest.nap", func(ctx context.Context, ms int) (int, error) {
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
		}
		return ms, nil
	})
	stateFail = goray.Register[int]("daemontest.fail", func() (int, error) { return 0, errors.New("deliberate failure") })
	stateSay  = goray.Register[int]("daemontest.say", func(word string) int {
		fmt.Printf("worker says %s\n", word)
		return os.Getpid()
	})
)

// Keeper is an actor the state API should list.
type Keeper struct{}

// Ping answers.
func (k *Keeper) Ping() int { return 1 }

var keeperClass = goray.RegisterActor[Keeper]("daemontest.Keeper", func() *Keeper { return &Keeper{} })

// TestEngineStateInStateAPI: a driver's running task, its failed task and
// its actor appear in the state API and the metrics of the daemon whose
// node runs them.
func TestEngineStateInStateAPI(t *testing.T) {
	d := start(t, config(t, t.TempDir()))
	addr := d.Agent().HTTPAddr()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{Address: d.DriverAddress()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Shutdown(context.WithoutCancel(ctx))
	ctx = goray.WithRuntime(ctx, rt)

	h, err := keeperClass.Options(goray.Name("keeper"), goray.NumCPUs(0)).Remote(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := goray.Call[int](ctx, h, "Ping").Get(ctx); err != nil {
		t.Fatal(err)
	}
	stateNap.Remote(ctx, 60_000)
	if _, err := stateFail.Options(goray.MaxRetries(0)).Remote(ctx).Get(ctx); err == nil {
		t.Fatal("the failing task succeeded")
	}

	list := func(path string, into any) {
		code, body := get(t, ctx, addr, path, "tok")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		if err := json.Unmarshal([]byte(body), into); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	testutil.WaitFor(t, 15*time.Second, func() bool {
		var actors state.ListResponse[state.ActorState]
		list("/api/v0/actors?state=ALIVE", &actors)
		if len(actors.Items) != 1 || actors.Items[0].Name != "keeper" || actors.Items[0].Class != "daemontest.Keeper" || actors.Items[0].PID == 0 {
			return false
		}
		var tasks state.ListResponse[state.TaskState]
		list("/api/v0/tasks", &tasks)
		running, failed := false, false
		for _, ts := range tasks.Items {
			running = running || (ts.Name == "daemontest.nap" && ts.State == "RUNNING")
			failed = failed || (ts.Name == "daemontest.fail" && ts.State == "FAILED" && strings.Contains(ts.Error, "deliberate failure"))
		}
		return running && failed
	}, "the actor, the running task and the failed task in the state API")

	testutil.WaitFor(t, 10*time.Second, func() bool {
		_, body := get(t, ctx, addr, "/metrics", "")
		return metric(body, "goray_actors", `state="ALIVE"`, `class="daemontest.Keeper"`) == 1 &&
			metric(body, "goray_tasks", `state="RUNNING"`, `name="daemontest.nap"`) == 1 &&
			metric(body, "goray_tasks", `state="FAILED"`, `name="daemontest.fail"`) == 1 &&
			metric(body, "goray_tasks_finished_total", `outcome="failed"`) >= 1 &&
			metric(body, "goray_scheduling_latency_seconds_count") >= 2
	}, "actors and tasks by state, finished tasks and scheduling latencies in /metrics")

	// A worker's output is its own log in the state API, keyed by its PID.
	pid, err := stateSay.Remote(ctx, "kumquat").Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() bool {
		code, body := get(t, ctx, addr, fmt.Sprintf("/api/v0/logs?worker=%d", pid), "tok")
		return code == 200 && strings.Contains(body, "worker says kumquat")
	}, "the worker's output in /api/v0/logs?worker=PID")

	// An object the driver holds is listed with its owner and references.
	ref, err := goray.Put(ctx, make([]byte, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() bool {
		var objs state.ListResponse[state.ObjectState]
		list("/api/v0/objects?object_id="+ref.ID().String(), &objs)
		return len(objs.Items) == 1 && objs.Items[0].Size >= 1<<20 && objs.Items[0].RefCount >= 1 &&
			objs.Items[0].Owner != "" && len(objs.Items[0].Locations) == 1
	}, "the driver's object in /api/v0/objects with owner and references")

	var sum state.TaskSummary
	list("/api/v0/tasks/summary", &sum)
	if sum.FailuresTotal < 1 || len(sum.Failures) < 1 {
		t.Fatalf("task summary lacks the failure: %+v", sum)
	}
}
