package goray_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/goray/goray"
)

// Removing a placement group kills what runs in it (Ray's rule): the
// actor in one bundle dies for good although it may restart, so its next
// call fails with ErrActorDied; the task spinning in the other bundle,
// which ignores its context, is cancelled and its worker killed; the
// group's CPUs are free again; and a task scheduled into the removed
// group fails rather than waiting forever.
func TestRemovePlacementGroupKillsItsActorsAndTasks(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{NumCPUs: 2})
	pg, err := goray.CreatePlacementGroup(ctx, []map[string]float64{{"CPU": 1}, {"CPU": 1}}, goray.Pack, "doomed")
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := counterClass.Options(goray.NumCPUs(1), goray.MaxRestarts(2),
		goray.Strategy(goray.InPlacementGroup(pg, 0))).Remote(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := goray.Call[int](ctx, h, "Add", 1).Get(ctx); err != nil || v != 11 {
		t.Fatalf("actor in bundle 0: %v, %v", v, err)
	}
	dir := t.TempDir()
	ref := spin.Options(goray.MaxRetries(0), goray.Strategy(goray.InPlacementGroup(pg, 1))).Remote(ctx, dir)
	pidFile := filepath.Join(dir, "spin.pid")
	waitFor(t, 20*time.Second, "the task to start in bundle 1", func() bool {
		_, err := os.Stat(pidFile)
		return err == nil
	})
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}

	if err := goray.RemovePlacementGroup(ctx, pg); err != nil {
		t.Fatal(err)
	}
	gctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := goray.Call[int](gctx, h, "Add", 1).Get(gctx); !errors.Is(err, goray.ErrActorDied) {
		t.Fatalf("call of the actor after its group was removed: %v, want ErrActorDied", err)
	}
	if _, err := ref.Get(gctx); !errors.Is(err, goray.ErrTaskCancelled) {
		t.Fatalf("Get of the task after its group was removed: %v, want ErrTaskCancelled", err)
	}
	waitFor(t, 20*time.Second, "the spinning worker to be killed", func() bool {
		return syscall.Kill(pid, 0) != nil
	})
	waitFor(t, 20*time.Second, "the group's CPUs back", func() bool {
		total, avail, err := goray.ClusterResources(ctx)
		return err == nil && total["CPU"] == 2 && avail["CPU"] == 2
	})
	if _, err := square.Options(goray.Strategy(goray.InPlacementGroup(pg, 0))).Remote(ctx, 3).Get(gctx); !errors.Is(err, goray.ErrInfeasible) {
		t.Fatalf("task in the removed group: %v, want ErrInfeasible", err)
	}
	// The actor stays dead: nothing restarted it in the freed CPUs.
	if _, err := goray.Call[int](gctx, h, "Get").Get(gctx); !errors.Is(err, goray.ErrActorDied) {
		t.Fatalf("second call of the killed actor: %v, want ErrActorDied", err)
	}
	if v, err := square.Remote(ctx, 4).Get(gctx); err != nil || v != 16 {
		t.Fatalf("task outside any group after the removal: %v, %v", v, err)
	}
}

// A group that waits for room (its CPUs are taken) can be removed too: the
// task and the actor waiting for its bundles fail instead of waiting
// forever, and the resources are untouched.
func TestRemovePendingPlacementGroupFailsItsWaiters(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{NumCPUs: 2})
	full, err := goray.CreatePlacementGroup(ctx, []map[string]float64{{"CPU": 2}}, goray.Pack, "full")
	if err != nil {
		t.Fatal(err)
	}
	if err := full.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	waiting, err := goray.CreatePlacementGroup(ctx, []map[string]float64{{"CPU": 1}}, goray.Pack, "waiting")
	if err != nil {
		t.Fatal(err)
	}
	in := goray.Strategy(goray.InPlacementGroup(waiting, 0))
	ref := square.Options(in).Remote(ctx, 5)
	h, err := counterClass.Options(goray.NumCPUs(1), in).Remote(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := goray.RemovePlacementGroup(ctx, waiting); err != nil {
		t.Fatal(err)
	}
	gctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := ref.Get(gctx); !errors.Is(err, goray.ErrTaskCancelled) {
		t.Fatalf("task waiting for the removed group: %v, want ErrTaskCancelled", err)
	}
	if _, err := goray.Call[int](gctx, h, "Get").Get(gctx); !errors.Is(err, goray.ErrActorDied) {
		t.Fatalf("actor waiting for the removed group: %v, want ErrActorDied", err)
	}
	if err := goray.RemovePlacementGroup(ctx, full); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "all CPUs free", func() bool {
		_, avail, err := goray.ClusterResources(ctx)
		return err == nil && avail["CPU"] == 2
	})
}
