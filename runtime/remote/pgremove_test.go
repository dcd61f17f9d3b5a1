package remote_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/testutil"
)

// pidActor tells which process and node it lives in.
type pidActor struct{}

func (*pidActor) Where(ctx context.Context) (string, error) {
	return strconv.Itoa(os.Getpid()) + "@" + goray.NodeID(ctx), nil
}

var pidActorClass = goray.RegisterActor[pidActor]("remote_test.pidActor", func() *pidActor { return &pidActor{} })

// spinPID writes its PID to dir/name and spins, ignoring its context:
// only a killed worker ends it.
var spinPID = goray.Register[int]("remote_test.spinPID", func(dir, name string) int {
	_ = os.WriteFile(filepath.Join(dir, name+".tmp"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	_ = os.Rename(filepath.Join(dir, name+".tmp"), filepath.Join(dir, name))
	for {
		time.Sleep(time.Millisecond)
	}
})

// Removing a placement group whose bundles live on both nodes kills, on
// each node, the actor and the task in its bundle: the actors' next calls
// fail with ErrActorDied, the tasks' Gets with ErrTaskCancelled, their
// processes are gone, and both nodes have all their CPUs back.
func TestRemovePlacementGroupKillsWorkOnEveryNode(t *testing.T) {
	p := newPair(t)
	ctx := p.ctx
	// A has one CPU, so the two-CPU bundle can only go to B.
	pg, err := goray.CreatePlacementGroup(ctx, []map[string]float64{{"CPU": 1}, {"CPU": 2}}, goray.StrictSpread, "")
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	if err := pg.Ready(rctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	type placed struct {
		node  string
		actor *goray.ActorHandle[pidActor]
		task  goray.ObjectRef[int]
		pids  []int
	}
	cpus := []float64{0.5, 1} // half of each bundle for the actor, half for the task
	var all []*placed
	for b, node := range []string{p.idA, p.idB} {
		in := goray.Strategy(goray.InPlacementGroup(pg, b))
		h, err := pidActorClass.Options(in, goray.NumCPUs(cpus[b]), goray.MaxRestarts(1)).Remote(ctx)
		if err != nil {
			t.Fatal(err)
		}
		where, err := goray.Call[string](rctx, h, "Where").Get(rctx)
		if err != nil {
			t.Fatalf("actor in bundle %d: %v", b, err)
		}
		pidS, at, _ := strings.Cut(where, "@")
		if at != node {
			t.Fatalf("actor in bundle %d runs on %s, want %s", b, at, node)
		}
		apid, _ := strconv.Atoi(pidS)
		name := "task" + strconv.Itoa(b)
		ref := spinPID.Options(in, goray.NumCPUs(cpus[b]), goray.MaxRetries(0)).Remote(ctx, dir, name)
		var tpid int
		testutil.WaitFor(t, 30*time.Second, func() bool {
			bs, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return false
			}
			tpid, err = strconv.Atoi(string(bs))
			return err == nil
		}, "the task in bundle "+strconv.Itoa(b)+" to start")
		all = append(all, &placed{node: node, actor: h, task: ref, pids: []int{apid, tpid}})
	}

	if err := goray.RemovePlacementGroup(ctx, pg); err != nil {
		t.Fatal(err)
	}
	gctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for b, pl := range all {
		if _, err := goray.Call[string](gctx, pl.actor, "Where").Get(gctx); !errors.Is(err, goray.ErrActorDied) {
			t.Errorf("call of the actor in bundle %d (node %s) after removal: %v, want ErrActorDied", b, pl.node, err)
		}
		if _, err := pl.task.Get(gctx); !errors.Is(err, goray.ErrTaskCancelled) {
			t.Errorf("Get of the task in bundle %d (node %s) after removal: %v, want ErrTaskCancelled", b, pl.node, err)
		}
		for _, pid := range pl.pids {
			testutil.WaitFor(t, 20*time.Second, func() bool { return syscall.Kill(pid, 0) != nil },
				"process "+strconv.Itoa(pid)+" of bundle "+strconv.Itoa(b)+" killed")
		}
	}
	for _, n := range []struct {
		name string
		c    interface {
			NodeResources(context.Context) (map[string]float64, map[string]float64, error)
		}
	}{{"A", p.a.LocalClient()}, {"B", p.b.LocalClient()}} {
		testutil.WaitFor(t, 20*time.Second, func() bool {
			total, avail, err := n.c.NodeResources(ctx)
			return err == nil && total["CPU"] > 0 && avail["CPU"] == total["CPU"]
		}, "node "+n.name+"'s CPUs all free after the removal")
	}
}
