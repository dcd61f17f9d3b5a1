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
)

// TestTCPDriverShipsItsWorkingDir: a driver started by hand that reaches
// node0 over TCP (as from another machine), with GORAY_WORKING_DIR naming
// a directory on its own machine that holds data.txt, packs that dir and
// uploads it with its program before its first task. Neither daemon can
// use the driver's path (node0 treats a TCP driver as remote; each keeps
// its own binary cache), yet a task and an actor pinned to each node read
// data.txt by its relative path: node0 runs them in its unpacked copy of
// the package, node1 fetches the package from node0 and runs them in its
// own.
func TestTCPDriverShipsItsWorkingDir(t *testing.T) {
	port, err := testutil.FreePort(testutil.NodeIP(0))
	if err != nil {
		t.Fatal(err)
	}
	driverAddr := net.JoinHostPort(testutil.NodeIP(0), strconv.Itoa(port))
	c := testutil.NewCluster(t, 2, testutil.WithArgs(func(i int) []string {
		args := []string{"-worker.prestart", "-1", "-worker.binary_cache_dir", "bin"}
		if i == 0 {
			args = append(args, "-driver.tcp_addr", driverAddr)
		}
		return args
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ids := []string{c.NodeID(0), c.NodeID(1)}
	if ids[0] == "" || ids[1] == "" {
		t.Fatalf("node IDs %q", ids)
	}
	const content = "shipped over TCP"
	wd := t.TempDir()
	if err := os.WriteFile(filepath.Join(wd, "data.txt"), []byte(content+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	drv := testutil.BuildBinary(t, "github.com/goray/goray/cmd/gorayd/testdata/workdir")
	cmd := exec.CommandContext(ctx, drv, ids...)
	cmd.Dir = wd // the driver reads data.txt itself, as a driver in its working dir does
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GORAY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "GORAY_ADDRESS=tcp://"+driverAddr, "GORAY_WORKING_DIR="+wd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("driver over TCP: %v\n%s", err, out)
	}
	for _, id := range ids {
		for _, w := range []string{"task " + id + ": " + content, "actor " + id + ": " + content} {
			if !strings.Contains(string(out), w) {
				t.Errorf("output lacks %q", w)
			}
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", out)
	}

	// Both daemons hold the same verified package, unpacked, in their own
	// stores: node0 received it from the driver, node1 from node0.
	var sums []string
	for i := range ids {
		pkgs, _ := filepath.Glob(filepath.Join(argValue(c.Nodes[i].Args, "-data_dir"), "packages", "*.tgz"))
		if len(pkgs) != 1 {
			t.Fatalf("node%d stores packages %v, want one", i, pkgs)
		}
		sum := strings.TrimSuffix(filepath.Base(pkgs[0]), ".tgz")
		data := filepath.Join(argValue(c.Nodes[i].Args, "-data_dir"), "packages", sum, "data.txt")
		if b, err := os.ReadFile(data); err != nil || strings.TrimSpace(string(b)) != content {
			t.Fatalf("node%d's unpacked data.txt: %q, %v", i, b, err)
		}
		sums = append(sums, sum)
	}
	if sums[0] != sums[1] {
		t.Fatalf("the nodes store different packages: %v", sums)
	}
}
