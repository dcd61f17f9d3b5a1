package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/jobs"
)

// A job's [resources] on a real two-node cluster (2 CPUs and 1 GiB each;
// node 1 also has one "special"): an impossible request is refused at
// submit with the field named and nothing recorded; one only a peer could
// hold runs on that peer; a feasible driver holds its CPUs on
// its node while it runs (visible in /v1/status), a second one waits
// PENDING and says why, and runs once the first gives them back.
func TestJobResourcesHeldAndChecked(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two gorayd processes")
	}
	c := testutil.NewCluster(t, 2, testutil.WithToken(testToken), testutil.WithArgs(func(i int) []string {
		args := []string{"-worker.prestart", "-1"}
		if i == 1 {
			args = append(args, "-resources.custom", "special=1")
		}
		return args
	}))
	testutil.WaitFor(t, 15*time.Second, func() bool { return c.CountState(0, "alive") == 2 }, "both nodes alive on node 0")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	jc := client(t, c, 0, testToken)
	dir := t.TempDir()
	parse := func(name, command, resources string) *jobs.Spec {
		t.Helper()
		spec, err := jobs.Parse("job.toml", filepath.Join(dir, "job.toml"),
			[]byte("name = \""+name+"\"\n[entrypoint]\ncommand = '"+command+"'\n[resources]\n"+resources))
		if err != nil {
			t.Fatal(err)
		}
		return spec
	}

	refused := []struct{ name, res, want string }{
		{"cpus", "num_cpus = 1000\n", "job.toml:5:1: resources.num_cpus: impossible resources: 1000 CPUs requested, the largest live node has 2"},
		{"gpus", "num_gpus = 1\n", "job.toml:5:1: resources.num_gpus: impossible resources: 1 GPUs requested, the largest live node has 0"},
		{"memory", "memory = 2147483648\n", "job.toml:5:1: resources.memory: impossible resources: 2147483648 bytes of memory requested, the largest live node has 1073741824"},
		{"custom", "[resources.custom]\nspecial = 2\n", "job.toml:6:1: resources.custom.special: impossible resources: 2 \"special\" requested, the largest live node has 1"},
	}
	for _, r := range refused {
		_, err := jc.Submit(ctx, parse("impossible-"+r.name, "true", r.res))
		if !errors.Is(err, jobs.ErrImpossibleResources) || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%s: submit error %v, want %q", r.name, err, r.want)
		}
	}
	// The daemon checks too, for a client that does not (a plain POST):
	// 400 with the message.
	body, _ := json.Marshal(jobs.SubmitRequest{JobFile: "name = \"raw\"\n[entrypoint]\ncommand = \"true\"\n[resources]\nnum_cpus = 1000\n", JobFilePath: "raw.toml"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.HTTP(0)+"/api/jobs/", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "raw.toml:5:1: resources.num_cpus: impossible resources: 1000 CPUs requested, the largest live node has 2") {
		t.Errorf("plain POST of an impossible job: %d %s", resp.StatusCode, raw)
	}
	// The CLI shows the refusal with the job file's path and line, and
	// exits 1.
	cliJob := writeJob(t, "name = \"cli\"\n[entrypoint]\ncommand = \"true\"\n[resources]\nnum_cpus = 1000\n")
	out, code := goray(t, ctx, "submit", "--address", addr(c, 0), "--token", testToken, cliJob)
	if code != 1 || !strings.Contains(out, cliJob+":5:1: resources.num_cpus: impossible resources: 1000 CPUs requested, the largest live node has 2") {
		t.Errorf("goray submit of an impossible job: exit %d\n%s", code, out)
	}
	list, err := jc.List(ctx)
	if err != nil || len(list) != 0 {
		t.Fatalf("refused jobs left records: %+v, %v", list, err)
	}
	// node 0 has no "special": it passes the job to node 1, which has,
	// working dir and all; node 0 still answers for it.
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte("special-data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	moved, err := jc.Submit(ctx, parse("elsewhere", "cat data.txt", "[resources.custom]\nspecial = 1\n"))
	if err != nil {
		t.Fatalf("a job only node 1 can hold: %v", err)
	}
	if id := c.NodeID(1); moved.NodeID != id {
		t.Errorf("the job runs on %q, want node 1 (%s)", moved.NodeID, id)
	}
	waitState(t, jc, moved.ID, jobs.Succeeded, 20*time.Second)
	if got := logs(t, jc, moved.ID); !strings.Contains(got, "special-data") {
		t.Errorf("the moved job's log through node 0: %q", got)
	}
	if _, err := client(t, c, 1, testToken).Get(ctx, moved.ID, false); err != nil {
		t.Errorf("node 1 does not have the moved job: %v", err)
	}

	// The first driver takes both CPUs of node 0 until gate1 exists.
	testutil.WaitFor(t, 10*time.Second, func() bool { return selfCPU(c, 0) == 2 }, "node 0 idle")
	gate1, gate2 := filepath.Join(dir, "gate1"), filepath.Join(dir, "gate2")
	wait := func(gate string) string { return "while [ ! -e " + gate + " ]; do sleep 0.05; done" }
	first, err := jc.Submit(ctx, parse("first", wait(gate1), "num_cpus = 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, jc, first.ID, jobs.Running, 20*time.Second)
	testutil.WaitFor(t, 10*time.Second, func() bool { return selfCPU(c, 0) == 0 }, "node 0 shows its 2 CPUs used by the driver")

	second, err := jc.Submit(ctx, parse("second", wait(gate2), "num_cpus = 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	const why = "waiting for resources: the driver needs CPU=2, free on this node now: CPU=0"
	testutil.WaitFor(t, 10*time.Second, func() bool {
		info, err := jc.Get(ctx, second.ID, false)
		return err == nil && info.Message == why
	}, "the second job says what it waits for")
	if info, err := jc.Get(ctx, second.ID, false); err != nil || info.State != jobs.Pending || info.DriverPID != 0 {
		t.Fatalf("second job while the first holds the CPUs: %+v, %v", info, err)
	}

	// The first ends: the second takes the CPUs and runs.
	if err := os.WriteFile(gate1, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitState(t, jc, first.ID, jobs.Succeeded, 20*time.Second)
	waitState(t, jc, second.ID, jobs.Running, 20*time.Second)
	testutil.WaitFor(t, 10*time.Second, func() bool { return selfCPU(c, 0) == 0 }, "node 0's CPUs held by the second driver")
	if err := os.WriteFile(gate2, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitState(t, jc, second.ID, jobs.Succeeded, 20*time.Second)
	testutil.WaitFor(t, 10*time.Second, func() bool { return selfCPU(c, 0) == 2 }, "node 0's CPUs free after the drivers")
}
