package main_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/jobs"
)

// workdirJob writes a working dir holding data.txt with content and a job
// file whose Go-package driver (testdata/workdir) gets args; it returns the
// job file's path.
func workdirJob(t *testing.T, name, content string, args ...string) string {
	t.Helper()
	drv, err := filepath.Abs("testdata/workdir")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte(content+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = `"` + a + `"`
	}
	job := "name = \"" + name + "\"\nworking_dir = \".\"\n[entrypoint]\npackage = \"" + drv + "\"\nargs = [" + strings.Join(quoted, ", ") + "]\n"
	p := filepath.Join(dir, "job.toml")
	if err := os.WriteFile(p, []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWorkingDirReachesEveryNode submits a job whose working_dir holds
// data.txt to node0 of two real daemons that each keep their own binary
// cache. The driver runs a task and an actor pinned to each node; all of
// them read data.txt by its relative path. node1 has neither the program
// nor the package: it fetches both from node0 over the cluster transport,
// verifies them, and starts its workers in its unpacked copy.
func TestWorkingDirReachesEveryNode(t *testing.T) {
	args := []string{"-worker.prestart", "-1", "-worker.binary_cache_dir", "bin"}
	c := testutil.NewCluster(t, 2, testutil.WithToken(testToken), testutil.WithArgs(func(int) []string { return args }))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ids := []string{c.NodeID(0), c.NodeID(1)}
	if ids[0] == "" || ids[1] == "" {
		t.Fatalf("node IDs %q", ids)
	}
	const content = "hello from the working dir"
	out, code := goray(t, ctx, "submit", "--address", addr(c, 0), "--token", testToken,
		workdirJob(t, "workdir", content, ids...))
	if code != 0 {
		t.Fatalf("goray submit exit %d:\n%s", code, out)
	}
	want := []string{"driver: " + content}
	for _, id := range ids {
		want = append(want, "task "+id+": "+content, "actor "+id+": "+content)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", out)
	}

	// node1 holds its own verified copies: the package (tree and archive)
	// and the driver's program, in its own cache.
	data1 := argValue(c.Nodes[1].Args, "-data_dir")
	jc := client(t, c, 0, testToken)
	list, err := jc.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("job list: %v, %v", list, err)
	}
	pkgs, _ := filepath.Glob(filepath.Join(data1, "packages", "*.tgz"))
	if len(pkgs) != 1 {
		t.Fatalf("node1 stores packages %v, want one", pkgs)
	}
	sum := strings.TrimSuffix(filepath.Base(pkgs[0]), ".tgz")
	if b, err := os.ReadFile(filepath.Join(data1, "packages", sum, "data.txt")); err != nil || strings.TrimSpace(string(b)) != content {
		t.Fatalf("node1's unpacked data.txt: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(argValue(c.Nodes[0].Args, "-data_dir"), "packages", sum+".tgz")); err != nil {
		t.Fatalf("node1's package is not the one node0 received: %v", err)
	}
	bins, _ := os.ReadDir(filepath.Join(data1, "bin"))
	if len(bins) != 1 || len(bins[0].Name()) != 64 {
		t.Fatalf("node1's binary cache holds %v, want the driver's program", bins)
	}
	if info := list[0]; info.State != jobs.Succeeded {
		t.Fatalf("job %s: %s (%s)", info.ID, info.State, info.Message)
	}
}

// TestTCPDriverShipsItsProgram: a driver that reaches a daemon over TCP
// (as from another machine) offers its program's sha256 in its hello; the
// daemon, whose binary cache is its own, lacks it, so the driver uploads it
// before its first task, and the task runs in a worker of that program
// (the daemon's default workers, gorayd itself, do not know the holder's
// functions).
func TestTCPDriverShipsItsProgram(t *testing.T) {
	port, err := testutil.FreePort(testutil.NodeIP(0))
	if err != nil {
		t.Fatal(err)
	}
	driverAddr := net.JoinHostPort(testutil.NodeIP(0), strconv.Itoa(port))
	args := []string{"-worker.prestart", "-1", "-worker.binary_cache_dir", "bin", "-driver.tcp_addr", driverAddr}
	c := testutil.NewCluster(t, 1, testutil.WithArgs(func(int) []string { return args }))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	holder := testutil.BuildBinary(t, holderPkg)
	cmd := exec.CommandContext(ctx, holder, "quick")
	cmd.Env = append(os.Environ(), "GORAY_ADDRESS=tcp://"+driverAddr, "GORAY_TOKEN=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("holder over TCP: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "task ran on node "+c.NodeID(0)) {
		t.Fatalf("holder output %q lacks its task's line", out)
	}
	bins, _ := os.ReadDir(filepath.Join(argValue(c.Nodes[0].Args, "-data_dir"), "bin"))
	if len(bins) != 1 {
		t.Fatalf("the daemon's binary cache holds %v, want the uploaded program", bins)
	}
	if got, err := os.ReadFile(filepath.Join(argValue(c.Nodes[0].Args, "-data_dir"), "bin", bins[0].Name())); err != nil {
		t.Fatal(err)
	} else if want, _ := os.ReadFile(holder); string(got) != string(want) {
		t.Fatal("the cached program differs from the driver's")
	}
}
