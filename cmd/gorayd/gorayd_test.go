package main_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/agent"
)

// These tests run real gorayd processes on testutil.NodeIP(0)+ with the fast preset.

func TestThreeNodesConvergeAndListEachOther(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.NoWait())
	t.Logf("3 gorayd processes started and converged in %v", c.WaitConverged(3))
	ids := map[string]bool{}
	for i := range 3 {
		ids[c.NodeID(i)] = true
	}
	if len(ids) != 3 || ids[""] {
		t.Fatalf("node IDs %v: want 3 distinct", ids)
	}
	for i := range 3 {
		ms := c.Members(i)
		if len(ms) != 3 {
			t.Fatalf("node%d lists %d members, want 3", i, len(ms))
		}
		for j, m := range ms {
			want := c.Nodes[j]
			if !ids[m.ID] || m.State != "alive" || m.Name != want.Name {
				t.Errorf("node%d member %d: %+v", i, j, m)
			}
			if m.RPCAddr != want.IP+":"+itoa(want.RPCPort) || m.HTTPAddr != want.IP+":"+itoa(want.HTTPPort) {
				t.Errorf("node%d lists %s at rpc %s http %s; want %s ports %d/%d", i, m.Name, m.RPCAddr, m.HTTPAddr, want.IP, want.RPCPort, want.HTTPPort)
			}
			if m.ResourcesTotal["CPU"] != 2 || m.ResourcesTotal["memory"] != 1<<30 || m.ResourcesTotal["object_store_memory"] != 256<<20 {
				t.Errorf("node%d lists %s with resources %v", i, m.Name, m.ResourcesTotal)
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestGracefulLeaveSeenWithinOneSecond(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	id := c.NodeID(1)
	start := time.Now()
	if err := c.Stop(1); err != nil {
		t.Fatalf("gorayd exited uncleanly after SIGTERM: %v", err)
	}
	testutil.WaitFor(t, 5*time.Second, func() bool {
		return c.StateOf(0, id) == "left" && c.StateOf(2, id) == "left"
	}, "node1 listed as left by node0 and node2")
	took := time.Since(start)
	t.Logf("SIGTERM to leave seen by both peers: %v", took)
	if took >= time.Second {
		t.Errorf("graceful leave took %v to be seen, want < 1s", took)
	}
}

func TestSIGKILLDetectedAsDead(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	id := c.NodeID(2)
	start := time.Now()
	c.Kill(2)
	testutil.WaitFor(t, 10*time.Second, func() bool {
		return c.StateOf(0, id) == "dead" && c.StateOf(1, id) == "dead"
	}, "node2 listed as dead by node0 and node1")
	took := time.Since(start)
	t.Logf("SIGKILL to dead on both peers (fast preset): %v", took)
	if took > 5*time.Second {
		t.Errorf("failure detection took %v with the fast preset, want < 5s", took)
	}
}

func TestRestartedNodeRejoinsUnderNewID(t *testing.T) {
	c := testutil.NewCluster(t, 3)
	old := c.NodeID(1)
	c.Kill(1)
	testutil.WaitFor(t, 10*time.Second, func() bool { return c.StateOf(0, old) == "dead" }, "old node1 dead")
	c.Restart(1)
	c.WaitConverged(3)
	fresh := c.NodeID(1)
	if fresh == "" || fresh == old {
		t.Fatalf("restarted node ID %q, old %q: want a new identity", fresh, old)
	}
	for _, i := range []int{0, 2} {
		if s := c.StateOf(i, fresh); s != "alive" {
			t.Errorf("node%d lists the new node1 as %q", i, s)
		}
		if s := c.StateOf(i, old); s != "dead" {
			t.Errorf("node%d lists the old node1 as %q, want dead", i, s)
		}
	}
}

func TestNodeWithoutKeyIsRefused(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x42}, 32))
	c := testutil.NewCluster(t, 2, testutil.WithEncryptKey(key))
	// Same flags but the key blanked (the later flag wins).
	i := c.Add([]string{"-gossip.encrypt_key="})
	if ok, _ := testutil.Eventually(2*time.Second, func() bool {
		return c.CountState(0, "alive") > 2 || c.CountState(i, "alive") > 1
	}); ok {
		t.Fatalf("keyless node joined: node0 sees %d alive, keyless node sees %d", c.CountState(0, "alive"), c.CountState(i, "alive"))
	}
	if n := c.CountState(i, "alive"); n != 1 {
		t.Fatalf("keyless node should see only itself, sees %d", n)
	}
	// A node with the key joins fine.
	c.Add(nil)
	testutil.WaitFor(t, 10*time.Second, func() bool {
		return c.CountState(0, "alive") == 3 && c.CountState(3, "alive") == 3
	}, "keyed node joins the keyed pair")
}

func TestBadConfigIsRejectedClearly(t *testing.T) {
	bin := testutil.BuildBinary(t, testutil.GoraydPkg)
	dir := t.TempDir()
	file := filepath.Join(dir, "gorayd.toml")
	if err := os.WriteFile(file, []byte("node_name = \"x\"\n\n[gossip]\nport = 7946\nbind_adr = \"127.0.0.1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	negFile := filepath.Join(dir, "neg.toml")
	if err := os.WriteFile(negFile, []byte("[resources]\ncpu = -4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown key with file:line", []string{"-config", file}, []string{file + ":5: gossip.bind_adr: unknown key"}},
		{"negative resource in file", []string{"-config", negFile}, []string{negFile + ":2: resources.cpu: -4: must be a finite amount >= 0"}},
		{"negative resource flag", []string{"-dev", "-resources.cpu", "-1"}, []string{"resources.cpu: -1"}},
		{"bad key length", []string{"-dev", "-gossip.encrypt_key", base64.StdEncoding.EncodeToString([]byte("short"))}, []string{"gossip.encrypt_key", "5 bytes"}},
		{"key not base64", []string{"-dev", "-gossip.encrypt_key", "!!!"}, []string{"gossip.encrypt_key", "base64"}},
		{"bad preset", []string{"-dev", "-gossip.preset", "warp"}, []string{"gossip.preset", "warp"}},
		{"unknown flag", []string{"-nope"}, []string{"flag provided but not defined: -nope"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Signal(syscall.SIGKILL)
				t.Fatal("gorayd did not exit on a bad config")
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit: %v, want status 2; stderr:\n%s", err, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

func TestRPCOverMutualTLS(t *testing.T) {
	pki := testutil.WritePKI(t, t.TempDir())
	c := testutil.NewCluster(t, 2, testutil.WithToken("tok"), testutil.WithArgs(func(int) []string {
		return []string{"-rpc.tls_cert_file", pki.CertFile, "-rpc.tls_key_file", pki.KeyFile, "-rpc.tls_ca_file", pki.CAFile}
	}))
	// /v1/status asks every peer for its demands over RPC: with mutual TLS
	// on both sides no peer may be unreachable.
	var st agent.StatusResponse
	testutil.WaitFor(t, 10*time.Second, func() bool {
		return c.GetJSON(t.Context(), 0, "/v1/status", &st) == nil && len(st.Alive) == 2 && len(st.Unreachable) == 0
	}, "status over TLS RPC with both nodes reachable")
}

func TestPartitionThenHeal(t *testing.T) {
	c := testutil.NewCluster(t, 3, testutil.InNetns())
	ids := []string{c.NodeID(0), c.NodeID(1), c.NodeID(2)}
	start := time.Now()
	c.Partition(2)
	testutil.WaitFor(t, 15*time.Second, func() bool {
		return c.StateOf(0, ids[2]) == "dead" && c.StateOf(1, ids[2]) == "dead" &&
			c.StateOf(2, ids[0]) == "dead" && c.StateOf(2, ids[1]) == "dead"
	}, "both sides of the partition see the other as dead")
	t.Logf("partition detected on both sides after %v", time.Since(start))
	if n := c.CountState(0, "alive"); n != 2 {
		t.Fatalf("majority side lists %d alive, want 2", n)
	}
	if n := c.CountState(2, "alive"); n != 1 {
		t.Fatalf("isolated node lists %d alive, want 1", n)
	}

	// Keep the partition up past the fast preset's GossipToTheDeadTime (1 s):
	// memberlist then stops gossiping to the other side, and only the
	// reconnect loop can merge the views again. This wait is the scenario's
	// length, not synchronisation.
	time.Sleep(2 * time.Second)
	healed := time.Now()
	c.Heal(2)
	testutil.WaitFor(t, 20*time.Second, func() bool {
		for i := range 3 {
			for _, id := range ids {
				if c.StateOf(i, id) != "alive" {
					return false
				}
			}
		}
		return true
	}, "all three nodes alive everywhere after healing, under their old IDs")
	t.Logf("views merged %v after healing", time.Since(healed))
}

func TestDevModeServesAndExitsOnSIGINT(t *testing.T) {
	bin := testutil.BuildBinary(t, testutil.GoraydPkg)
	cmd := exec.Command(bin, "-dev", "-gossip.port", "0", "-rpc.port", "0", "-http.port", "0",
		"-data_dir", t.TempDir(), "-resources.gpu", "0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	// The "gorayd started" line names the bound HTTP address.
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	httpAddr := ""
	deadline := time.After(10 * time.Second)
	for httpAddr == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("gorayd -dev exited before starting")
			}
			t.Log(l)
			if strings.Contains(l, "gorayd started") {
				for _, f := range strings.Fields(l) {
					if v, ok := strings.CutPrefix(f, "http="); ok {
						httpAddr = v
					}
				}
			}
		case <-deadline:
			t.Fatal("no start line from gorayd -dev")
		}
	}
	if !strings.HasPrefix(httpAddr, "127.0.0.1:") {
		t.Fatalf("dev mode HTTP on %s, want loopback", httpAddr)
	}
	resp, err := http.Get("http://" + httpAddr + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	var st agent.StatusResponse
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || len(st.Alive) != 1 || st.Alive[0].Name != "dev" {
		t.Fatalf("dev status: %+v, %v", st, err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range lines { // drain; logging here could outlive the test
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("gorayd -dev exit after SIGINT: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gorayd -dev did not exit after SIGINT")
	}
}
