package daemon_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/state"
)

// TestPendingDemandInStateAPIAndMetrics: tasks queued behind busy CPUs are
// the node's pending demand in its /api/v0/nodes record, in
// /api/v0/demands and in /metrics, as /v1/status shows it; once they are
// cancelled the demand is gone from all three.
func TestPendingDemandInStateAPIAndMetrics(t *testing.T) {
	d := start(t, config(t, t.TempDir())) // 2 CPUs
	addr := d.Agent().HTTPAddr()
	self := d.Agent().NodeID()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{Address: d.DriverAddress()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Shutdown(context.WithoutCancel(ctx))
	ctx = goray.WithRuntime(ctx, rt)

	var refs []goray.ObjectRef[int]
	for range 5 { // two run, three wait for a CPU
		refs = append(refs, stateNap.Options(goray.MaxRetries(0)).Remote(ctx, 60_000))
	}
	defer func() {
		for _, r := range refs {
			_ = goray.Cancel(context.WithoutCancel(ctx), r, true)
		}
	}()
	list := func(path string, into any) {
		t.Helper()
		code, body := get(t, ctx, addr, path, "tok")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		if err := json.Unmarshal([]byte(body), into); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	testutil.WaitFor(t, 20*time.Second, func() bool {
		var ds state.ListResponse[state.DemandState]
		list("/api/v0/demands?node_id="+self, &ds)
		if len(ds.Items) != 1 || ds.Items[0].ShapeKey != "CPU=1" || ds.Items[0].Count != 3 || ds.Items[0].Shape["CPU"] != 1 {
			return false
		}
		var ns state.ListResponse[state.NodeState]
		list("/api/v0/nodes?node_id="+self, &ns)
		return len(ns.Items) == 1 && len(ns.Items[0].PendingDemands) == 1 && ns.Items[0].PendingDemands[0].Count == 3
	}, "three CPU=1 requests pending in /api/v0/demands and the node's record")
	testutil.WaitFor(t, 10*time.Second, func() bool {
		_, body := get(t, ctx, addr, "/metrics", "")
		return metric(body, "goray_pending_demand", `shape="CPU=1"`) == 3 &&
			metric(body, "goray_pending_resources", `resource="CPU"`) == 3
	}, "the pending demand in /metrics")

	for _, r := range refs {
		if err := goray.Cancel(ctx, r, true); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitFor(t, 20*time.Second, func() bool {
		var ds state.ListResponse[state.DemandState]
		list("/api/v0/demands", &ds)
		_, body := get(t, ctx, addr, "/metrics", "")
		return ds.Total == 0 && metric(body, "goray_pending_demand") == -1 &&
			metric(body, "goray_pending_resources", `resource="CPU"`) == 0
	}, "no pending demand left after the cancels")
}
