package main_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/state"
)

// TestFinishedTasksCarryTheirJob submits a job to node 0 of two real
// daemons whose driver runs a task and an actor call on each node. After
// the job ended, node 0's task list (each daemon lists the tasks its own
// node ran or forwarded; there is no cluster-wide task table) holds the
// job's FINISHED tasks under the job's ID: those node 0 forwarded to node 1
// show node 1 as where they ran. Node 1's own list holds the task it ran
// for the job, under the same job ID, which travelled with the forwarded
// task. The filter and the summary work over that history, and `goray
// list tasks --filter job_id=...` prints the job's tasks.
func TestFinishedTasksCarryTheirJob(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two gorayd processes and a job")
	}
	args := []string{"-worker.prestart", "-1"}
	c := testutil.NewCluster(t, 2, testutil.WithToken(testToken), testutil.WithArgs(func(int) []string { return args }))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ids := []string{c.NodeID(0), c.NodeID(1)}
	out, code := goray(t, ctx, "submit", "--address", addr(c, 0), "--token", testToken,
		workdirJob(t, "history", "history test", ids...))
	if code != 0 {
		t.Fatalf("goray submit exit %d:\n%s", code, out)
	}
	list, err := client(t, c, 0, testToken).List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("job list: %v, %v", list, err)
	}
	job := list[0].ID

	tasks := func(i int, query string) []state.TaskState {
		var page state.ListResponse[state.TaskState]
		if err := c.GetJSON(ctx, i, "/api/v0/tasks?"+query, &page); err != nil {
			t.Fatal(err)
		}
		return page.Items
	}
	// has reports whether ts holds a FINISHED task of the job named name
	// that ran on node.
	has := func(ts []state.TaskState, name, node string) bool {
		for _, x := range ts {
			if x.Name == name && x.Node == node && x.Job == job && x.State == state.TaskFinished &&
				x.StartTime != nil && x.EndTime != nil && !x.EndTime.Before(*x.StartTime) {
				return true
			}
		}
		return false
	}
	byJob := "job_id=" + url.QueryEscape(job) + "&limit=1000"
	want := []struct{ name, node string }{
		{"gorayd-test.readData", ids[0]}, {"gorayd-test.readData", ids[1]}, {"Read", ids[0]}, {"Read", ids[1]},
	}
	var got0 []state.TaskState
	// The state API publishes a snapshot of the node every 500 ms.
	testutil.WaitFor(t, 15*time.Second, func() bool {
		got0 = tasks(0, byJob)
		for _, w := range want {
			if !has(got0, w.name, w.node) {
				return false
			}
		}
		return true
	}, "node 0 lists the job's finished tasks on both nodes")
	for _, x := range got0 {
		if x.Job != job {
			t.Errorf("filter job_id=%s returned a task of job %q: %+v", job, x.Job, x)
		}
	}
	var got1 []state.TaskState
	testutil.WaitFor(t, 15*time.Second, func() bool {
		got1 = tasks(1, byJob)
		return has(got1, "gorayd-test.readData", ids[1]) && has(got1, "Read", ids[1])
	}, "node 1 lists the job's tasks it ran")
	if other := tasks(0, "job_id=goraysubmit_none"); len(other) != 0 {
		t.Errorf("another job's filter matched %d tasks: %+v", len(other), other)
	}

	var sum state.TaskSummary
	if err := c.GetJSON(ctx, 0, "/api/v0/tasks/summary?"+byJob, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.ByState[state.TaskFinished] < len(want) || sum.Total != len(got0) {
		t.Errorf("summary of the job on node 0: %+v, want at least %d FINISHED of %d", sum, len(want), len(got0))
	}

	var actors state.ListResponse[state.ActorState]
	if err := c.GetJSON(ctx, 0, "/api/v0/actors?"+byJob, &actors); err != nil {
		t.Fatal(err)
	}
	if len(actors.Items) != 2 {
		t.Errorf("node 0 lists %d actors of the job, want its 2: %+v", len(actors.Items), actors.Items)
	}

	out, code = goray(t, ctx, "list", "tasks", "--address", addr(c, 0), "--token", testToken,
		"--filter", "job_id="+job, "--filter", "state=FINISHED")
	if code != 0 || !strings.Contains(out, "gorayd-test.readData") || !strings.Contains(out, job) {
		t.Errorf("goray list tasks --filter job_id=%s: exit %d:\n%s", job, code, out)
	}
	if t.Failed() {
		t.Logf("node 0 tasks: %s", fmt.Sprint(got0))
	}
}
