package daemon_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/testutil"
	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/agent"
	"github.com/goray/goray/runtime/agent/daemon"
	"github.com/goray/goray/runtime/agent/resolve"
	"github.com/goray/goray/runtime/jobs"
)

// The node's workers re-execute this test binary.
func TestMain(m *testing.M) {
	goray.MaybeRunWorker()
	os.Exit(m.Run())
}

func config(t *testing.T, dataDir string) agent.Config {
	cfg := agent.DefaultConfig()
	cfg.Dev = true
	cfg.Gossip.Port, cfg.RPC.Port, cfg.HTTP.Port = 0, 0, 0
	cfg.Gossip.Preset = "fast"
	cfg.DataDir = dataDir
	cfg.Resources.CPU = 2
	cfg.Resources.Memory = 1 << 30
	cfg.Resources.GPU = 0
	cfg.ObjectStore.Memory = 64 << 20
	cfg.Worker.Prestart = -1
	cfg.HTTP.Token = "tok"
	return cfg
}

func start(t *testing.T, cfg agent.Config) *daemon.Daemon {
	t.Helper()
	d, err := daemon.New(cfg, testutil.Logger(t, "gorayd"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, d) })
	return d
}

func shutdown(t *testing.T, d *daemon.Daemon) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestDaemonRunsNodeAndJobs(t *testing.T) {
	dir := t.TempDir()
	d := start(t, config(t, dir))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	want := "unix://" + filepath.Join(dir, "node.sock")
	if got := d.DriverAddress(); got != want {
		t.Fatalf("DriverAddress %q, want %q", got, want)
	}
	// A driver given only the HTTP address finds the node.
	got, err := resolve.Driver(ctx, d.Agent().HTTPAddr(), "tok")
	if err != nil || got != want {
		t.Fatalf("resolve: %q, %v; want %q", got, err, want)
	}
	if _, err := resolve.Driver(ctx, d.Agent().HTTPAddr(), "bad"); !errors.Is(err, resolve.ErrUnauthorized) {
		t.Fatalf("resolve with a bad token: %v", err)
	}
	c, err := grt.Dial(ctx, got, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.NodeID() != d.Agent().NodeID() {
		t.Errorf("node ID %q differs from the agent's %q", c.NodeID(), d.Agent().NodeID())
	}

	// What the node reserves shows in the agent's status.
	pg, err := c.CreatePlacementGroup(ctx, []map[string]float64{{"CPU": 1.5}}, grt.PGPack, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PlacementGroupReady(ctx, pg); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() bool {
		st := d.Agent().Status(ctx)
		return st.Used["CPU"] == 1.5 && st.Used["memory"] == 0 && st.Used["object_store_memory"] == 0
	}, "status shows 1.5 CPUs used by the placement group")
	if err := c.RemovePlacementGroup(ctx, pg); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() bool { return d.Agent().Status(ctx).Used["CPU"] == 0 }, "CPUs free again")

	// The job API is mounted behind the token.
	jc, err := jobs.NewClient(d.Agent().HTTPAddr(), "tok")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := jobs.Parse("job.toml", filepath.Join(dir, "job.toml"), []byte("name = \"addr\"\n[entrypoint]\ncommand = 'echo \"$GORAY_ADDRESS\"'\n"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := jc.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if info, err = d.Jobs().Wait(ctx, info.ID); err != nil || info.State != jobs.Succeeded {
		t.Fatalf("job %+v, %v", info, err)
	}
	var out strings.Builder
	if _, err := jc.Logs(ctx, info.ID, 0, false, &out); err != nil || strings.TrimSpace(out.String()) != want {
		t.Fatalf("driver saw GORAY_ADDRESS %q (%v), want %q", out.String(), err, want)
	}
	bad, err := jobs.NewClient(d.Agent().HTTPAddr(), "bad")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.List(ctx); !errors.Is(err, jobs.ErrUnauthorized) {
		t.Fatalf("job list with a bad token: %v", err)
	}

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.Agent().HTTPAddr()+"/api/version", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/api/version: %s", resp.Status)
	}

	shutdown(t, d)
	if _, err := os.Stat(filepath.Join(dir, "node.sock")); !os.IsNotExist(err) {
		t.Errorf("socket left after shutdown: %v", err)
	}
	if err := d.Shutdown(ctx); err != nil {
		t.Errorf("second shutdown: %v", err)
	}
}

func TestStaleSocketReplacedLiveOneRefused(t *testing.T) {
	dir := t.TempDir()
	// A socket file with nobody listening, as a SIGKILLed daemon leaves.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "node.sock"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	_ = ln.Close()
	// And the record of its shared-memory store, which it could not remove.
	stale := filepath.Join(t.TempDir(), "goray-stale")
	if err := os.MkdirAll(filepath.Join(stale, "obj"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "store_dir"), []byte(stale+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := start(t, config(t, dir))
	if d.Node() == nil {
		t.Fatal("no node after Start")
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale store %s not removed: %v", stale, err)
	}
	rec, err := os.ReadFile(filepath.Join(dir, "store_dir"))
	if err != nil || strings.TrimSpace(string(rec)) != d.Node().StoreDir() {
		t.Errorf("store record %q (%v), want %q", rec, err, d.Node().StoreDir())
	}
	// A second daemon on the same data directory must not steal the socket.
	d2, err := daemon.New(config(t, dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d2.Start(ctx); err == nil || !strings.Contains(err.Error(), "another gorayd") {
		t.Fatalf("second daemon on one data_dir: %v", err)
	}
	c, err := grt.Dial(ctx, d.DriverAddress(), nil)
	if err != nil {
		t.Fatalf("the first daemon's node is unreachable after the refused start: %v", err)
	}
	_ = c.Close()
}

func TestDeepDataDirGetsShortSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	d := start(t, config(t, dir))
	addr := d.DriverAddress()
	if strings.HasPrefix(addr, "unix://"+dir) || len(addr) > 110 {
		t.Fatalf("driver address %q: want a short path outside %s", addr, dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := grt.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	shutdown(t, d)
	if _, err := os.Stat(filepath.Dir(strings.TrimPrefix(addr, "unix://"))); !os.IsNotExist(err) {
		t.Errorf("temp socket dir left behind: %v", err)
	}
}

func TestBadConfigRejected(t *testing.T) {
	cfg := config(t, t.TempDir())
	cfg.Worker.MaxWorkers = -1
	_, err := daemon.New(cfg, nil)
	var fe *agent.FieldError
	if !errors.Is(err, agent.ErrInvalidConfig) || !errors.As(err, &fe) || fe.Key != "worker.max_workers" {
		t.Fatalf("New with worker.max_workers=-1: %v", err)
	}
}

func TestFailedStartStopsTheNode(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	cfg := config(t, dir)
	cfg.HTTP.Port = taken.Addr().(*net.TCPAddr).Port
	d, err := daemon.New(cfg, testutil.Logger(t, "gorayd"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Start(ctx); err == nil || !strings.Contains(err.Error(), "http listen") {
		t.Fatalf("Start on a taken HTTP port: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node.sock")); !os.IsNotExist(err) {
		t.Errorf("node socket left after a failed start: %v", err)
	}
	// The data directory is free for the next daemon.
	cfg.HTTP.Port = 0
	start(t, cfg)
}
