package main_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/jobs"
)

// A job submitted to one daemon is found through any other: its status,
// its logs and a stop request reach the daemon that runs it, and an
// unknown ID is still "not found" everywhere; the job list from either
// daemon holds both daemons' jobs.
func TestJobFoundThroughAnyDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two gorayd processes")
	}
	c := testutil.NewCluster(t, 2, testutil.WithToken(testToken))
	testutil.WaitFor(t, 15*time.Second, func() bool { return c.CountState(1, "alive") == 2 }, "both nodes alive on node 1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := func(i int) *jobs.Client {
		jc, err := jobs.NewClient(c.HTTP(i), testToken)
		if err != nil {
			t.Fatal(err)
		}
		return jc
	}
	on0, on1 := client(0), client(1)
	submitTo := func(jc *jobs.Client, name, command string) jobs.Info {
		path := filepath.Join(t.TempDir(), "job.toml")
		spec, err := jobs.Parse("job.toml", path, []byte("name = \""+name+"\"\n[entrypoint]\ncommand = '"+command+"'\n"))
		if err != nil {
			t.Fatal(err)
		}
		info, err := jc.Submit(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	submit := func(name, command string) jobs.Info { return submitTo(on0, name, command) }
	done := submit("quick", "echo hello-from-node-0")
	testutil.WaitFor(t, 30*time.Second, func() bool {
		info, err := on0.Get(ctx, done.ID, false)
		return err == nil && info.State.Terminal()
	}, "the job finished on node 0")
	info, err := on1.Get(ctx, done.ID, false)
	if err != nil || info.ID != done.ID || info.State != jobs.Succeeded {
		t.Fatalf("status of node 0's job through node 1: %+v, %v", info, err)
	}
	var out strings.Builder
	if _, err := on1.Logs(ctx, done.ID, 0, false, &out); err != nil || !strings.Contains(out.String(), "hello-from-node-0") {
		t.Fatalf("logs through node 1: %q, %v", out.String(), err)
	}
	// A running job is stopped through node 1.
	long := submit("long", "sleep 60")
	testutil.WaitFor(t, 30*time.Second, func() bool {
		info, err := on0.Get(ctx, long.ID, false)
		return err == nil && info.State == jobs.Running
	}, "the long job running on node 0")
	if info, err := on1.Stop(ctx, long.ID); err != nil || info.ID != long.ID {
		t.Fatalf("stop through node 1: %+v, %v", info, err)
	}
	testutil.WaitFor(t, 30*time.Second, func() bool {
		info, err := on0.Get(ctx, long.ID, false)
		return err == nil && info.State == jobs.Stopped
	}, "the long job stopped on node 0")
	if _, err := on1.Get(ctx, "goraysubmit_0000000000000000", false); !errors.Is(err, jobs.ErrJobNotFound) {
		t.Fatalf("unknown job through node 1: %v, want ErrJobNotFound", err)
	}

	// The job list is the cluster's: node 0's jobs and node 1's, from
	// either daemon, oldest submission first, each marked with its node.
	mine := submitTo(on1, "on-one", "echo hello-from-node-1")
	want := []struct {
		id, node string
	}{{done.ID, c.NodeID(0)}, {long.ID, c.NodeID(0)}, {mine.ID, c.NodeID(1)}}
	for i, jc := range []*jobs.Client{on0, on1} {
		list, warnings, err := jc.ListWithWarnings(ctx)
		if err != nil || len(warnings) != 0 {
			t.Fatalf("job list from node %d: %v (warnings %q)", i, err, warnings)
		}
		if len(list) != len(want) {
			t.Fatalf("job list from node %d has %d jobs, want %d: %+v", i, len(list), len(want), list)
		}
		for k, w := range want {
			if list[k].ID != w.id || list[k].NodeID != w.node {
				t.Errorf("job list from node %d, entry %d: %s on %q, want %s on %q", i, k, list[k].ID, list[k].NodeID, w.id, w.node)
			}
			if k > 0 && list[k].SubmitTime.Before(list[k-1].SubmitTime) {
				t.Errorf("job list from node %d is not in submission order: %+v", i, list)
			}
		}
	}
}
