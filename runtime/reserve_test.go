package runtime

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/goray/goray/runtime/codec"
)

func TestTryHoldTakesFromTheFreePool(t *testing.T) {
	n, c := startNode(t, NodeConfig{NumCPUs: 2, Resources: map[string]float64{"tpu": 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	avail := func() map[string]float64 {
		t.Helper()
		_, a, err := c.NodeResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if tot := n.TotalResources(); tot["CPU"] != 2 || tot["tpu"] != 1 {
		t.Fatalf("totals %v", tot)
	}
	if _, _, err := n.TryHold(map[string]float64{"CPU": 3}); !errors.Is(err, ErrHoldInfeasible) {
		t.Fatalf("3 CPUs of 2: %v", err)
	}
	if _, _, err := n.TryHold(map[string]float64{"CPU": -1}); err == nil {
		t.Fatal("a negative hold was accepted")
	}
	zero, _, err := n.TryHold(map[string]float64{"GPU": 0})
	if err != nil || zero == nil {
		t.Fatalf("zero hold: %v", err)
	}
	zero()
	if _, ok := avail()["GPU"]; ok {
		t.Fatal("a zero hold added a GPU entry")
	}

	release, _, err := n.TryHold(map[string]float64{"CPU": 2, "tpu": 1})
	if err != nil || release == nil {
		t.Fatalf("hold everything: %v", err)
	}
	if a := avail(); a["CPU"] != 0 || a["tpu"] != 0 {
		t.Fatalf("available while held: %v", a)
	}
	again, free, err := n.TryHold(map[string]float64{"CPU": 1})
	if err != nil || again != nil || free["CPU"] != 0 {
		t.Fatalf("a hold on a full node: release=%v free=%v err=%v", again != nil, free, err)
	}

	// A task needs a CPU the hold has: it runs only once the hold is
	// given back (the release wakes the scheduler).
	arg, _ := codec.Encode(7)
	ids := c.Submit(&TaskSpec{Func: "echo", NumReturns: 1, Resources: map[string]float64{"CPU": 1}, Args: []Arg{{Data: arg.Bytes()}}})
	ready, err := c.Wait(ctx, ids, 1, 300*time.Millisecond)
	if err != nil || ready[0] {
		t.Fatalf("the task ran while its CPUs were held: ready=%v err=%v", ready, err)
	}
	release()
	release() // idempotent: gives back once
	if x, err := codec.DecodeInto[int](getOne(t, c, ids[0]).Data); err != nil || x != 7 {
		t.Fatalf("task after release = %v, %v", x, err)
	}
	waitAvail := time.Now().Add(10 * time.Second)
	for a := avail(); a["CPU"] != 2 || a["tpu"] != 1; a = avail() {
		if time.Now().After(waitAvail) {
			t.Fatalf("available after release: %v", a)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNodeConfigTotalResources(t *testing.T) {
	tot := NodeConfig{NumCPUs: 3, NumGPUs: 1, Resources: map[string]float64{"memory": 1e9}}.TotalResources()
	if tot["CPU"] != 3 || tot["GPU"] != 1 || tot["memory"] != 1e9 || len(tot) != 3 {
		t.Fatalf("totals %v", tot)
	}
	if d := (NodeConfig{}).TotalResources(); d["CPU"] < 1 {
		t.Fatalf("default totals %v", d)
	}
}

// A draining node grants no new hold: the driver would start on a node
// about to leave. A hold taken before the drain is still given back.
func TestTryHoldRefusedWhileDraining(t *testing.T) {
	n, _ := startNode(t, NodeConfig{NumCPUs: 2})
	before, _, err := n.TryHold(map[string]float64{"CPU": 1})
	if err != nil || before == nil {
		t.Fatalf("hold before the drain: %v", err)
	}
	n.StartDrain()
	if _, _, err := n.TryHold(map[string]float64{"CPU": 1}); !errors.Is(err, ErrDraining) {
		t.Fatalf("hold while draining: %v, want ErrDraining", err)
	}
	if zero, _, err := n.TryHold(nil); err != nil || zero == nil {
		t.Fatalf("a zero hold while draining: %v", err)
	}
	before()
}
