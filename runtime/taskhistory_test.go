package runtime

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestTaskHistoryRing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bound int
		adds  int
		want  []byte // first ID byte of each record, oldest first
	}{
		{"empty", 3, 0, nil},
		{"under the bound", 3, 2, []byte{1, 2}},
		{"at the bound", 3, 3, []byte{1, 2, 3}},
		{"wrapped once", 3, 4, []byte{2, 3, 4}},
		{"wrapped exactly", 3, 6, []byte{4, 5, 6}},
		{"wrapped twice and more", 3, 8, []byte{6, 7, 8}},
		{"bound one", 1, 5, []byte{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := taskHistory{cap: tc.bound}
			for i := 1; i <= tc.adds; i++ {
				h.add(taskRecord{id: TaskID{byte(i)}, fn: "f", end: int64(i)})
			}
			var got []byte
			for _, r := range h.copy() {
				got = append(got, r.id[0])
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("records %v, want %v", got, tc.want)
			}
			if h.len() != len(tc.want) || cap(h.recs) > 2*tc.bound+1 {
				t.Fatalf("len %d (cap %d), want %d", h.len(), cap(h.recs), len(tc.want))
			}
		})
	}
	if b := (&taskHistory{}).bound(); b != DefaultTaskHistory {
		t.Fatalf("zero history keeps %d, want %d", b, DefaultTaskHistory)
	}
}

func TestTaskRecordSnapshot(t *testing.T) {
	const startNs, endNs = 5, 1e9 + 7
	start, end := clockBase.Add(4), clockBase.Add(time.Second+6)
	ok := taskRecord{id: TaskID{1}, fn: "f", job: "j1", start: startNs, end: endNs, pid: 42}
	failed := taskRecord{id: TaskID{2}, actor: ActorID{3}, fn: "A.m", node: "peer",
		err: &ErrorInfo{Kind: ErrKindApp, Message: "boom"}, end: endNs}
	for _, tc := range []struct {
		r    taskRecord
		want TaskSnapshot
	}{
		{ok, TaskSnapshot{ID: TaskID{1}.String(), Name: "f", State: "FINISHED", PID: 42, Job: "j1", StartTime: start, EndTime: end}},
		{failed, TaskSnapshot{ID: TaskID{2}.String(), Name: "A.m", State: "FAILED", Actor: ActorID{3}.String(), Node: "peer",
			Error: "boom", ErrorType: "TASK_EXECUTION_EXCEPTION", EndTime: end}},
	} {
		got := tc.r.snapshot()
		if got.ID != tc.want.ID || got.Name != tc.want.Name || got.State != tc.want.State || got.PID != tc.want.PID ||
			got.Job != tc.want.Job || got.Node != tc.want.Node || got.Actor != tc.want.Actor || got.Error != tc.want.Error ||
			got.ErrorType != tc.want.ErrorType || !got.StartTime.Equal(tc.want.StartTime) || !got.EndTime.Equal(tc.want.EndTime) {
			t.Errorf("snapshot\n got %+v\nwant %+v", got, tc.want)
		}
	}
}

// A forwarded task's job travels after its spec: an old message (no job)
// decodes as no job, and a reader that stops after the spec (an older
// peer) gets the same spec.
func TestForwardCarriesJob(t *testing.T) {
	spec := &TaskSpec{ID: TaskID{7}, Func: "f", NumReturns: 1, Job: "raysubmit_1"}
	b := EncodeForward(&ForwardMessage{Spec: spec, Binary: "bin"})
	got, err := DecodeForward(b)
	if err != nil || got.Spec.Job != "raysubmit_1" || got.Spec.Func != "f" || got.Binary != "bin" {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	old := EncodeForward(&ForwardMessage{Spec: &TaskSpec{ID: TaskID{7}, Func: "f", NumReturns: 1}, Binary: "bin"})
	if len(old) >= len(b) || string(b[:len(old)-1]) != string(old[:len(old)-1]) {
		t.Fatalf("the job is not a suffix: %q vs %q", b, old)
	}
	got, err = DecodeForward(old[:len(old)-1]) // without even the empty job
	if err != nil || got.Spec.Job != "" || got.Spec.Func != "f" {
		t.Fatalf("message without a job: %+v, %v", got, err)
	}
}

func TestDriverHelloJob(t *testing.T) {
	for _, tc := range []struct{ job, want string }{{"", ""}, {"raysubmit_X1", "raysubmit_X1"}, {"bad\njob", ""}} {
		s2, data := driverHello{BinSHA: "abc", Job: tc.job, Pkg: "p"}.encode()
		h := parseDriverHello(s2, data)
		if h.Job != tc.want || h.BinSHA != "abc" || h.Pkg != "p" {
			t.Errorf("job %q: parsed %+v", tc.job, h)
		}
	}
}

// findTask returns the snapshot of task id among ts.
func findTask(ts []TaskSnapshot, id TaskID) (TaskSnapshot, bool) {
	for _, x := range ts {
		if x.ID == id.String() {
			return x, true
		}
	}
	return TaskSnapshot{}, false
}

// A job's driver names its job in its hello; its tasks (here, forwarded
// to a peer, and an actor's method calls) are in the history, FINISHED or
// FAILED, with the job, where they ran, and when; so are its actor and
// objects. The peer's history names the job of the task it ran.
func TestTaskHistoryRecordsJobTasks(t *testing.T) {
	peer, _ := startNode(t, NodeConfig{NumCPUs: 2, PrestartWorkers: -1, InlineThreshold: 1024})
	n, _ := startHooked(t, peer)
	t.Setenv(EnvJobID, "raysubmit_job7")
	t.Setenv(EnvWorkingDir, "")
	t.Setenv(EnvWorkingDirPackage, "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := Dial(ctx, "unix://"+n.SocketPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cpu := map[string]float64{"CPU": 1}
	self := Strategy{Kind: StrategyNodeAffinity, Node: n.ID()} // the policy would spread them otherwise
	before := time.Now()
	here := c.Submit(&TaskSpec{Func: "here", NumReturns: 1, Resources: cpu, Strategy: self})
	bad := c.Submit(&TaskSpec{Func: "fail", NumReturns: 1, Resources: cpu, Strategy: self})
	there := c.Submit(&TaskSpec{Func: "there", NumReturns: 1, Resources: cpu,
		Strategy: Strategy{Kind: StrategyNodeAffinity, Node: peer.ID()}})
	aid, err := c.CreateActor(ctx, &TaskSpec{Kind: KindActorCreate, Func: "A", MaxConcurrency: 1, Resources: cpu, Strategy: self})
	if err != nil {
		t.Fatal(err)
	}
	call := c.Submit(&TaskSpec{Kind: KindActorMethod, Func: "inc", Actor: aid, NumReturns: 1})
	for _, ids := range [][]ObjectID{here, there, call} {
		if v := getOne(t, c, ids[0]); v.Err != nil {
			t.Fatal(v.Err)
		}
	}
	if v := getOne(t, c, bad[0]); v.Err == nil {
		t.Fatal("the failing task succeeded")
	}
	after := time.Now()

	snap := n.Snapshot()
	hist := snap.History
	for _, tc := range []struct {
		name  string
		id    TaskID
		in    []TaskSnapshot
		state string
		node  string
		actor string
		pid   bool
	}{
		{"local task", taskOf(here[0]), hist, "FINISHED", "", "", true},
		{"forwarded task", taskOf(there[0]), hist, "FINISHED", peer.ID(), "", false},
		{"actor call", taskOf(call[0]), hist, "FINISHED", "", aid.String(), true},
		{"failed task", taskOf(bad[0]), snap.Failures, "FAILED", "", "", true},
	} {
		got, ok := findTask(tc.in, tc.id)
		switch {
		case !ok:
			t.Errorf("%s: not in the snapshot (history %d, failures %d)", tc.name, len(hist), len(snap.Failures))
		case got.State != tc.state || got.Job != "raysubmit_job7" || got.Node != tc.node || got.Actor != tc.actor:
			t.Errorf("%s: %+v, want state %s, job raysubmit_job7, node %q, actor %q", tc.name, got, tc.state, tc.node, tc.actor)
		case got.StartTime.Before(before) || got.EndTime.Before(got.StartTime) || got.EndTime.After(after):
			t.Errorf("%s: ran %v..%v, outside %v..%v", tc.name, got.StartTime, got.EndTime, before, after)
		case tc.pid != (got.PID != 0):
			t.Errorf("%s: pid %d", tc.name, got.PID)
		}
	}
	if _, dup := findTask(hist, taskOf(bad[0])); dup {
		t.Error("a failure is listed in both Failures and History")
	}
	if i := slices.IndexFunc(snap.Actors, func(a ActorSnapshot) bool { return a.ID == aid.String() }); i < 0 || snap.Actors[i].Job != "raysubmit_job7" {
		t.Errorf("actor %s not listed with the job: %+v", aid, snap.Actors)
	}
	if i := slices.IndexFunc(snap.Objects, func(o ObjectSnapshot) bool { return o.ID == here[0].String() }); i < 0 || snap.Objects[i].Job != "raysubmit_job7" {
		t.Errorf("result object %s not listed with the job: %+v", here[0], snap.Objects)
	}
	// The peer ran the forwarded task: its history has it, with the job.
	got, ok := findTask(peer.Snapshot().History, taskOf(there[0]))
	if !ok || got.State != "FINISHED" || got.Job != "raysubmit_job7" || got.Node != "" || got.PID == 0 {
		t.Errorf("peer's record of the forwarded task: %+v (found %v)", got, ok)
	}
}

// BenchmarkTaskHistoryRecord is what the history adds to every task: two
// clock readings and one record in a full ring.
func BenchmarkTaskHistoryRecord(b *testing.B) {
	var h taskHistory
	r := taskRecord{id: TaskID{1}, fn: "goray.bench.noop", job: "raysubmit_1"}
	for range DefaultTaskHistory {
		h.add(r)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.id[0] = byte(i)
		r.start = nowNano()
		r.end = nowNano()
		h.add(r)
	}
}

// The history keeps the last tasks in finishing order and drops older
// ones; a failure stays listed (Failures) after more successes than the
// history holds, and is never listed twice.
func TestNodeHistoryBoundAndFailures(t *testing.T) {
	n, c := startNode(t, NodeConfig{NumCPUs: 1, PrestartWorkers: -1})
	n.mu.Lock()
	n.hist.cap = 3
	n.mu.Unlock()
	cpu := map[string]float64{"CPU": 1}
	bad := c.Submit(&TaskSpec{Func: "fail", NumReturns: 1, Resources: cpu})
	if v := getOne(t, c, bad[0]); v.Err == nil {
		t.Fatal("the failing task succeeded")
	}
	if h := n.Snapshot().History; len(h) != 0 {
		t.Fatalf("history besides the listed failure: %+v", h)
	}
	var ids []TaskID
	for range 5 { // one at a time: their finishing order is known
		r := c.Submit(&TaskSpec{Func: "ok", NumReturns: 1, Resources: cpu})
		if v := getOne(t, c, r[0]); v.Err != nil {
			t.Fatal(v.Err)
		}
		ids = append(ids, taskOf(r[0]))
	}
	snap := n.Snapshot()
	var got []string
	for _, h := range snap.History {
		if h.State != "FINISHED" || h.Name != "ok" || h.Job != "" {
			t.Errorf("history record %+v", h)
		}
		got = append(got, h.ID)
	}
	want := []string{ids[2].String(), ids[3].String(), ids[4].String()}
	if !slices.Equal(got, want) {
		t.Errorf("history %v, want the last three %v", got, want)
	}
	if len(snap.Failures) != 1 || snap.Failures[0].ID != taskOf(bad[0]).String() || snap.Failures[0].State != "FAILED" ||
		snap.Failures[0].ErrorType != "TASK_EXECUTION_EXCEPTION" {
		t.Errorf("failures %+v, want the one failed task", snap.Failures)
	}
}

// BenchmarkTaskHistorySnapshot is what a state-API refresh costs once the
// ring is full: the copy made under the node's lock, then the rendering
// into strings made outside it.
func BenchmarkTaskHistorySnapshot(b *testing.B) {
	var h taskHistory
	for i := range DefaultTaskHistory + 5 {
		h.add(taskRecord{id: TaskID{byte(i), byte(i >> 8)}, fn: "goray.bench.noop", job: "goraysubmit_1", start: 1, end: 2})
	}
	b.Run("copy-under-lock", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = h.copy()
		}
	})
	recs := h.copy()
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = renderHistory(recs, nil)
		}
	})
}
