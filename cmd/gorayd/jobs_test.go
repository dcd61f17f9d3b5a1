package main_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/agent"
	"github.com/goray/goray/runtime/agent/resolve"
	"github.com/goray/goray/runtime/jobs"
)

// These tests run jobs on clusters of real gorayd processes. A worker runs
// only functions registered in its own binary: the node starts workers from
// the binary of the driver that submits (per-driver worker binaries), and
// -worker.command sets the default one.

const (
	holderPkg = "github.com/goray/goray/cmd/gorayd/testdata/holder"
	gorayPkg  = "github.com/goray/goray/cmd/goray"
	testToken = "t0ken"
)

// jobCluster starts n daemons with the token and no prestarted workers (to
// keep the process count low); with holderWorkers the holder binary is
// their default worker command.
func jobCluster(t *testing.T, n int, holderWorkers bool) *testutil.Cluster {
	t.Helper()
	args := []string{"-worker.prestart", "-1"}
	if holderWorkers {
		args = append(args, "-worker.command", testutil.BuildBinary(t, holderPkg))
	}
	return testutil.NewCluster(t, n, testutil.WithToken(testToken), testutil.WithArgs(func(int) []string { return args }))
}

// writeJob writes a job file into a temp dir and returns its path.
func writeJob(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "job.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func holderJob(t *testing.T, name, mode string) string {
	t.Helper()
	dir, err := filepath.Abs("testdata/holder")
	if err != nil {
		t.Fatal(err)
	}
	return writeJob(t, "name = \""+name+"\"\n[entrypoint]\npackage = \""+dir+"\"\nargs = [\""+mode+"\"]\n")
}

// goray runs the CLI and returns its combined output and exit code.
func goray(t *testing.T, ctx context.Context, args ...string) (string, int) {
	t.Helper()
	cmd := exec.CommandContext(ctx, testutil.BuildBinary(t, gorayPkg), args...)
	cmd.Env = append(os.Environ(), "GORAY_ADDRESS=", "GORAY_TOKEN=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		t.Fatalf("run goray %v: %v", args, err)
	}
	return string(out), 0
}

// ranOnClusterNode reports whether out has the holder's "task ran on node"
// line naming one of c's nodes.
func ranOnClusterNode(c *testutil.Cluster, out string) bool {
	for i := range c.Nodes {
		if id := c.NodeID(i); id != "" && strings.Contains(out, "task ran on node "+id) {
			return true
		}
	}
	return false
}

func addr(c *testutil.Cluster, i int) string { return strings.TrimPrefix(c.HTTP(i), "http://") }

func client(t *testing.T, c *testutil.Cluster, i int, token string) *jobs.Client {
	t.Helper()
	jc, err := jobs.NewClient(c.HTTP(i), token)
	if err != nil {
		t.Fatal(err)
	}
	return jc
}

// waitState polls a job until it reaches state.
func waitState(t *testing.T, jc *jobs.Client, id string, state jobs.State, timeout time.Duration) jobs.Info {
	t.Helper()
	var info jobs.Info
	testutil.WaitFor(t, timeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var err error
		info, err = jc.Get(ctx, id, false)
		return err == nil && (info.State == state || info.State.Terminal())
	}, "job "+id+" "+string(state))
	if info.State != state {
		t.Fatalf("job %s ended %s (%s), want %s; log:\n%s", id, info.State, info.Message, state, logs(t, jc, id))
	}
	return info
}

// selfCPU is node i's available CPU as its own /v1/status reports it.
func selfCPU(c *testutil.Cluster, i int) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var st agent.StatusResponse
	if err := c.GetJSON(ctx, i, "/v1/status", &st); err != nil {
		return -1
	}
	for _, n := range st.Alive {
		if n.IsSelf {
			return n.ResourcesAvailable["CPU"]
		}
	}
	return -1
}

func logs(t *testing.T, jc *jobs.Client, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var b bytes.Buffer
	if _, err := jc.Logs(ctx, id, 0, false, &b); err != nil {
		t.Fatalf("logs %s: %v", id, err)
	}
	return b.String()
}

func TestJobsOnTwoNodeCluster(t *testing.T) {
	c := jobCluster(t, 2, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	jc1 := client(t, c, 1, testToken)

	// The driver address is published for drivers started by hand.
	var nodes agent.NodesResponse
	if err := c.GetJSON(ctx, 0, "/v1/nodes", &nodes); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(nodes.DriverAddress, "unix://") || !strings.HasSuffix(nodes.DriverAddress, "node.sock") {
		t.Errorf("/v1/nodes driver_address = %q", nodes.DriverAddress)
	}
	for _, n := range nodes.Nodes {
		if n.IsSelf != (n.DriverAddress == nodes.DriverAddress) {
			t.Errorf("node %s: is_self %v, driver_address %q", n.Name, n.IsSelf, n.DriverAddress)
		}
	}

	var cmdID string
	t.Run("command job over the HTTP API", func(t *testing.T) {
		spec, err := jobs.LoadFile(writeJob(t, "name = \"echo\"\n[entrypoint]\ncommand = 'echo \"hello $1 via $GORAY_ADDRESS\"'\nargs = [\"world\"]\n"))
		if err != nil {
			t.Fatal(err)
		}
		info, err := jc1.Submit(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		cmdID = info.ID
		waitState(t, jc1, info.ID, jobs.Succeeded, 20*time.Second)
		if got := logs(t, jc1, info.ID); !strings.Contains(got, "hello world via unix://") {
			t.Fatalf("log %q lacks the driver's line with the node address", got)
		}
		// A second submit of the same name gets a new ID.
		again, err := jc1.Submit(ctx, spec)
		if err != nil || again.ID == info.ID {
			t.Fatalf("resubmit: %v, id %q (first %q)", err, again.ID, info.ID)
		}
		waitState(t, jc1, again.ID, jobs.Succeeded, 20*time.Second)
	})

	// First among the subtests that run tasks: it checks node1's CPUs
	// return to exactly 2, which needs a node whose scheduler no earlier
	// task touched.
	t.Run("stop a running job frees its CPU", func(t *testing.T) {
		testutil.WaitFor(t, 5*time.Second, func() bool { return selfCPU(c, 1) == 2 }, "node1 idle before the job")
		out, code := goray(t, ctx, "submit", "--no-wait", "--address", addr(c, 1), "--token", testToken, holderJob(t, "hold", "hold"))
		if code != 0 {
			t.Fatalf("goray submit --no-wait exit %d:\n%s", code, out)
		}
		id := strings.TrimSpace(out[strings.LastIndexByte(strings.TrimSpace(out), '\n')+1:])
		if !strings.HasPrefix(id, "goraysubmit_") {
			t.Fatalf("no job ID in %q", out)
		}
		// Follow the log with the CLI; it must see "ready" and end when the
		// job ends.
		fctx, fcancel := context.WithTimeout(ctx, time.Minute)
		defer fcancel()
		follow := exec.CommandContext(fctx, testutil.BuildBinary(t, gorayPkg), "job", "logs", id, "--follow", "--address", addr(c, 1), "--token", testToken)
		follow.Env = append(os.Environ(), "GORAY_ADDRESS=", "GORAY_TOKEN=")
		pipe, err := follow.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := follow.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 100)
		var followed strings.Builder
		var fmu sync.Mutex
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(pipe)
			for sc.Scan() {
				fmu.Lock()
				followed.WriteString(sc.Text() + "\n")
				fmu.Unlock()
				lines <- sc.Text()
			}
		}()
		actorPID := 0
		deadline := time.After(90 * time.Second)
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("log stream ended before ready")
				}
				if p, found := strings.CutPrefix(l, "actor pid "); found {
					actorPID, _ = strconv.Atoi(p)
				}
				if l == "ready" {
					break wait
				}
			case <-deadline:
				t.Fatalf("no ready line; job: %s", logs(t, jc1, id))
			}
		}
		if actorPID <= 0 || !testutil.Alive(actorPID) {
			t.Fatalf("actor worker pid %d not running", actorPID)
		}
		info := waitState(t, jc1, id, jobs.Running, 5*time.Second)
		testutil.WaitFor(t, 5*time.Second, func() bool { return selfCPU(c, 1) == 1 }, "node1 reports 1 of 2 CPUs available while the actor lives")

		out, code = goray(t, ctx, "job", "stop", id, "--address", addr(c, 1), "--token", testToken)
		if code != 0 {
			t.Fatalf("goray job stop exit %d:\n%s", code, out)
		}
		waitState(t, jc1, id, jobs.Stopped, 15*time.Second)
		testutil.WaitFor(t, 10*time.Second, func() bool { return !testutil.Alive(info.DriverPID) && !testutil.GroupAlive(info.DriverPID) },
			"the driver's process group is gone")
		testutil.WaitFor(t, 10*time.Second, func() bool { return !testutil.Alive(actorPID) }, "the actor's worker is gone")
		if ok, _ := testutil.Eventually(5*time.Second, func() bool { return selfCPU(c, 1) == 2 }); !ok {
			t.Fatalf("node1 reports %v CPUs available after the stop, want 2", selfCPU(c, 1))
		}
		if err := follow.Wait(); err != nil {
			t.Fatalf("goray job logs --follow: %v", err)
		}
		fmu.Lock()
		got := followed.String()
		fmu.Unlock()
		if !strings.Contains(got, "driver connected to node "+c.NodeID(1)) {
			t.Errorf("followed log lacks the driver's first line:\n%s", got)
		}

		out, code = goray(t, ctx, "job", "status", id, "--address", addr(c, 1), "--token", testToken)
		if code != 0 || !strings.Contains(out, "STOPPED") {
			t.Errorf("goray job status: exit %d: %s", code, out)
		}
		out, code = goray(t, ctx, "job", "delete", id, "--address", addr(c, 1), "--token", testToken)
		if code != 0 {
			t.Errorf("goray job delete: exit %d: %s", code, out)
		}
		if _, err := jc1.Get(ctx, id, false); !errors.Is(err, jobs.ErrJobNotFound) {
			t.Errorf("deleted job: Get error %v, want ErrJobNotFound", err)
		}
	})

	t.Run("package job with the CLI", func(t *testing.T) {
		out, code := goray(t, ctx, "submit", "--address", addr(c, 0), "--token", testToken, holderJob(t, "quick", "quick"))
		if code != 0 {
			t.Fatalf("goray submit exit %d:\n%s", code, out)
		}
		id0 := c.NodeID(0)
		if id0 == "" {
			t.Fatal("node0 has no ID")
		}
		for _, want := range []string{"driver connected to node " + id0, "SUCCEEDED"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		// The scheduler may place the task on either node.
		if !ranOnClusterNode(c, out) {
			t.Errorf("output lacks the task's node:\n%s", out)
		}
	})

	t.Run("job whose tasks run on both nodes", func(t *testing.T) {
		spec, err := jobs.LoadFile(holderJob(t, "spread", "spread"))
		if err != nil {
			t.Fatal(err)
		}
		jc0 := client(t, c, 0, testToken)
		info, err := jc0.Submit(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, jc0, info.ID, jobs.Succeeded, 90*time.Second)
		ids := []string{c.NodeID(0), c.NodeID(1)}
		slices.Sort(ids)
		if got := logs(t, jc0, info.ID); !strings.Contains(got, "spread over "+strings.Join(ids, ",")) {
			t.Fatalf("log %q: want SPREAD tasks on both nodes %v", got, ids)
		}
	})

	t.Run("driver started by hand", func(t *testing.T) {
		// GORAY_ADDRESS is the daemon's HTTP address, as for the CLI:
		// goray.Init asks the daemon for its driver_address.
		run := func(token string) (string, error) {
			cmd := exec.CommandContext(ctx, testutil.BuildBinary(t, holderPkg), "quick")
			cmd.Env = append(os.Environ(), "GORAY_ADDRESS="+c.HTTP(1), "GORAY_TOKEN="+token)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		out, err := run(testToken)
		id1 := c.NodeID(1)
		if err != nil || id1 == "" || !strings.Contains(out, "driver connected to node "+id1) || !ranOnClusterNode(c, out) {
			t.Fatalf("driver with GORAY_ADDRESS=%s: %v\n%s", c.HTTP(1), err, out)
		}
		if out, err := run("wrong"); err == nil || !strings.Contains(out, "401") {
			t.Fatalf("driver with a wrong token: %v\n%s", err, out)
		}
		// The address it resolves to is node1's socket.
		da, err := resolve.Driver(ctx, addr(c, 1), testToken)
		if err != nil || !strings.HasPrefix(da, "unix://") {
			t.Fatalf("resolve: %q, %v", da, err)
		}
	})

	t.Run("failing command job with the CLI", func(t *testing.T) {
		out, code := goray(t, ctx, "submit", "--address", addr(c, 0), "--token", testToken,
			writeJob(t, "name = \"fails\"\n[entrypoint]\ncommand = 'echo about to fail; exit 3'\n"))
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 1 || !strings.Contains(out, "about to fail") || !strings.Contains(lines[len(lines)-1], "FAILED") {
			t.Fatalf("exit %d, want 1 with the log and a FAILED last line:\n%s", code, out)
		}
	})

	t.Run("wrong token", func(t *testing.T) {
		_, err := client(t, c, 1, "wrong").List(ctx)
		if !errors.Is(err, jobs.ErrUnauthorized) || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "token") {
			t.Fatalf("List with a wrong token: %v", err)
		}
		out, code := goray(t, ctx, "job", "list", "--address", addr(c, 1), "--token", "wrong")
		if code == 0 || !strings.Contains(out, "401") {
			t.Fatalf("goray job list with a wrong token: exit %d: %s", code, out)
		}
	})

	t.Run("unreachable address", func(t *testing.T) {
		start := time.Now()
		out, code := goray(t, ctx, "job", "list", "--address", "127.0.0.1:1")
		if took := time.Since(start); code == 0 || took > 5*time.Second || !strings.Contains(out, "unreachable") {
			t.Fatalf("exit %d after %v: %s", code, took, out)
		}
	})

	t.Run("restart keeps records and fails the running job", func(t *testing.T) {
		spec, err := jobs.LoadFile(writeJob(t, "name = \"forever\"\n[entrypoint]\ncommand = 'echo started; exec sleep 600'\n"))
		if err != nil {
			t.Fatal(err)
		}
		info, err := jc1.Submit(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, jc1, info.ID, jobs.Running, 20*time.Second)
		testutil.WaitFor(t, 10*time.Second, func() bool { return strings.Contains(logs(t, jc1, info.ID), "started") }, "driver output")
		storeRec := filepath.Join(argValue(c.Nodes[1].Args, "-data_dir"), "store_dir")
		rec, err := os.ReadFile(storeRec)
		store := strings.TrimSpace(string(rec))
		if err != nil || !strings.HasPrefix(filepath.Base(store), "goray-") {
			t.Fatalf("store record %s: %q, %v", storeRec, rec, err)
		}
		if _, err := os.Stat(store); err != nil {
			t.Fatalf("node1's store: %v", err)
		}
		c.Kill(1)
		// The driver dies with its daemon (Pdeathsig).
		testutil.WaitFor(t, 10*time.Second, func() bool { return !testutil.Alive(info.DriverPID) }, "the driver died with gorayd")
		c.Restart(1)
		testutil.WaitFor(t, 30*time.Second, func() bool {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := jc1.List(ctx)
			return err == nil
		}, "restarted node1 serves the job API")
		// The killed daemon's shared-memory store was reclaimed.
		if _, err := os.Stat(store); !os.IsNotExist(err) {
			t.Errorf("store %s of the killed daemon still exists: %v", store, err)
		}
		list, err := jc1.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]jobs.Info{}
		for _, j := range list {
			states[j.ID] = j
		}
		if j := states[info.ID]; j.State != jobs.Failed || !strings.Contains(j.Message, "daemon stopped") {
			t.Errorf("job that was running: %+v, want FAILED", j)
		}
		if j := states[cmdID]; j.State != jobs.Succeeded {
			t.Errorf("earlier job after restart: %+v, want SUCCEEDED", j)
		}
		if got := logs(t, jc1, cmdID); !strings.Contains(got, "hello world") {
			t.Errorf("earlier job's log after restart: %q", got)
		}
		out, code := goray(t, ctx, "job", "list", "--address", addr(c, 1), "--token", testToken)
		if code != 0 || !strings.Contains(out, info.ID) || !strings.Contains(out, "FAILED") {
			t.Errorf("goray job list after restart: exit %d:\n%s", code, out)
		}
		// The restarted node runs jobs again: the socket a SIGKILLed daemon
		// left behind was replaced.
		next, err := jobs.LoadFile(holderJob(t, "after-restart", "quick"))
		if err != nil {
			t.Fatal(err)
		}
		info, err = jc1.Submit(ctx, next)
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, jc1, info.ID, jobs.Succeeded, 60*time.Second)
		if got := logs(t, jc1, info.ID); !strings.Contains(got, "task ran on node "+c.NodeID(1)) {
			t.Errorf("job after restart: log %q", got)
		}
	})
}

// argValue is the value after flag in args ("" if absent).
func argValue(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
}

// gorayPID finds node i's gorayd process by its unique HTTP port flag.
func gorayPID(t *testing.T, c *testutil.Cluster, i int) int {
	t.Helper()
	want := "\x00-http.port\x00" + strconv.Itoa(c.Nodes[i].HTTPPort) + "\x00"
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmdline), want) && testutil.Alive(pid) {
			return pid
		}
	}
	t.Fatalf("no gorayd process for node%d", i)
	return 0
}

func TestSIGTERMLeavesNoProcessBehind(t *testing.T) {
	c := jobCluster(t, 1, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	jc := client(t, c, 0, testToken)
	spec, err := jobs.LoadFile(holderJob(t, "hold", "hold"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := jc.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 90*time.Second, func() bool { return strings.Contains(logs(t, jc, info.ID), "ready") }, "the job's actor is up")
	pid := gorayPID(t, c, 0)
	procs := testutil.Descendants(pid)
	// At least the driver and the actor's worker.
	if len(procs) < 2 {
		t.Fatalf("gorayd %d has descendants %v; want the driver and a worker", pid, procs)
	}
	t.Logf("gorayd %d runs %d processes: %v", pid, len(procs), procs)
	start := time.Now()
	if err := c.Stop(0); err != nil {
		t.Fatalf("gorayd exited uncleanly after SIGTERM: %v", err)
	}
	t.Logf("SIGTERM to exit with a running job: %v", time.Since(start))
	testutil.WaitFor(t, 10*time.Second, func() bool {
		for _, p := range procs {
			if testutil.Alive(p) {
				return false
			}
		}
		return true
	}, "every process gorayd started is gone")
}

func TestJobsOnDefaultWorkers(t *testing.T) {
	// Without -worker.command the workers are gorayd itself.
	c := testutil.NewCluster(t, 1, testutil.WithArgs(func(int) []string { return []string{"-worker.prestart", "-1"} }))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	jc := client(t, c, 0, "")

	t.Run("library job runs in gorayd", func(t *testing.T) {
		// The driver is gorayd re-executed with GORAY_JOB_DRIVER, its
		// rollout workers are gorayd workers: everything is in one binary.
		job := writeJob(t, "name = \"rl\"\n[rllib]\nalgorithm = \"PPO\"\nenv = \"FrozenLake-v1\"\n"+
			"num_rollout_workers = 1\nnum_envs_per_worker = 2\n[rllib.model]\nfcnet_hiddens = [16]\n[rllib.stop]\ntraining_iteration = 2\n")
		out, code := goray(t, ctx, "submit", "--address", addr(c, 0), job)
		if code != 0 || !strings.Contains(out, "SUCCEEDED") {
			t.Fatalf("goray submit exit %d:\n%s", code, out)
		}
		list, err := jc.List(ctx)
		if err != nil || len(list) != 1 || list[0].Kind != "rllib" || list[0].Progress == nil || list[0].Progress.Iteration != 2 {
			t.Fatalf("job list %+v, %v: want one rllib job at iteration 2", list, err)
		}
	})

	t.Run("package job with its own functions", func(t *testing.T) {
		// gorayd's binary does not have the driver's functions; the node
		// runs the task in a worker started from the driver's binary.
		spec, err := jobs.LoadFile(holderJob(t, "quick", "quick"))
		if err != nil {
			t.Fatal(err)
		}
		info, err := jc.Submit(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, jc, info.ID, jobs.Succeeded, 90*time.Second)
		got := logs(t, jc, info.ID)
		id0 := c.NodeID(0)
		if id0 == "" || !strings.Contains(got, "driver connected to node "+id0) || !strings.Contains(got, "task ran on node "+id0) {
			t.Fatalf("log %q: want the driver and its task on node0 %s", got, id0)
		}
	})
}
