package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/agent"
	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/jobs"
	"github.com/goray/goray/runtime/remote"
	"github.com/goray/goray/runtime/state"
)

// ErrNotReady is the job API's answer (503) while the node is not running:
// before Start has started it, and once Shutdown has begun.
var ErrNotReady = errors.New("gorayd's node is not running (starting or shutting down); retry")

// maxSocketPath is the longest unix socket path we use; Linux allows 107
// bytes plus the terminating NUL.
const maxSocketPath = 100

// Daemon is one gorayd: agent, node and job manager.
type Daemon struct {
	cfg agent.Config
	log *slog.Logger

	agent *agent.Agent
	jobs  *jobs.Manager

	sockPath string
	sockDir  string // temp dir holding the socket when data_dir is too deep

	mu      sync.Mutex
	node    *grt.Node
	remote  *remote.Engine
	obs     *observer
	started bool

	src     *state.MemorySource // what the state API serves (observe.go)
	nodeLog *nodeLog
	stopped bool
	ready   atomic.Bool
}

// New validates cfg (after Finalize) and prepares a daemon; nothing runs
// until Start.
func New(cfg agent.Config, log *slog.Logger) (*Daemon, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The state API serves the daemon's own log too (nodelog.go).
	src := state.NewMemorySource()
	log, nl := teeLog(log, src)
	a, err := agent.New(cfg, log)
	if err != nil {
		return nil, err
	}
	return &Daemon{cfg: a.Config(), log: log, agent: a, src: src, nodeLog: nl}, nil
}

// Agent is the daemon's agent.
func (d *Daemon) Agent() *agent.Agent { return d.agent }

// Jobs is the daemon's job manager (nil before Start).
func (d *Daemon) Jobs() *jobs.Manager { return d.jobs }

// Node is the daemon's engine (nil before Start has started it).
func (d *Daemon) Node() *grt.Node {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.node
}

// DriverAddress is the address drivers on this machine give goray.Init
// ("unix://<data_dir>/node.sock"); "" before Start.
func (d *Daemon) DriverAddress() string {
	if d.sockPath == "" {
		return ""
	}
	return "unix://" + d.sockPath
}

// Start opens the job records, starts the node, then the agent, which
// announces the node's ID. On error everything started is stopped again.
func (d *Daemon) Start(ctx context.Context) (err error) {
	d.mu.Lock()
	if d.started {
		d.mu.Unlock()
		return agent.ErrStarted
	}
	d.started = true
	d.mu.Unlock()
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = d.stop(sctx, false)
		}
	}()

	if err := os.MkdirAll(d.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("gorayd: data_dir: %w", err)
	}
	if err := d.prepareSocket(); err != nil {
		return err
	}
	// The job manager's Address must be known before the node exists: it
	// is fixed by the socket path, which we chose above.
	d.jobs, err = jobs.NewManager(jobs.ManagerConfig{DataDir: d.cfg.DataDir, Address: d.DriverAddress(),
		Resources: jobResources{d}}, // job_resources.go: drivers' [resources]
		d.log.With("component", "jobs"))
	if err != nil {
		return fmt.Errorf("gorayd: %w", err)
	}
	// Only the job API's own paths, so that other APIs (state, dashboard)
	// can be mounted beside it under /api/.
	jh := d.gate(jobs.RequireToken(d.cfg.HTTP.Token, d.peerJobs(jobs.Handler(d.jobs, d.cfg.HTTP.Token)))) // jobs_peers.go: any daemon answers for any job
	d.agent.Handle("/api/jobs/", jh)
	d.agent.Handle("GET /api/version", jh)
	d.agent.Handle("/api/packages/", jh)

	// The node starts first, under the ID the agent will announce, so that
	// by the time peers and clients see this daemon its jobs can run.
	nodeID := cluster.NewNodeID()
	if err := d.agent.UseNodeID(nodeID); err != nil {
		return err
	}
	d.nodeLog.attach(nodeID)
	res := maps.Clone(d.cfg.Resources.Custom)
	if res == nil {
		res = map[string]float64{}
	}
	if m := float64(d.cfg.Resources.Memory); m > 0 {
		res[agent.ResourceMemory] = m
	}
	ncfg := grt.NodeConfig{
		NumCPUs:           d.cfg.Resources.CPU,
		NumGPUs:           max(d.cfg.Resources.GPU, 0),
		Resources:         res,
		ObjectStoreMemory: int64(d.cfg.ObjectStore.Memory),
		WarmReserve:       warmReserve(d.cfg.ObjectStore.WarmReserve),
		SpillDir:          d.cfg.ObjectStore.SpillDir,
		WorkerLogDir:      filepath.Join(d.cfg.DataDir, "logs", "workers"),
		SocketPath:        d.sockPath,
		WorkerCommand:     d.cfg.Worker.Command,
		MaxWorkers:        d.cfg.Worker.MaxWorkers,
		PrestartWorkers:   d.cfg.Worker.Prestart,
		BinaryCacheDir:    d.cfg.Worker.BinaryCacheDir,
		NodeID:            nodeID,
		// The job API stores uploaded working dirs here too (jobs'
		// package store), so the node finds them by their sha256.
		PackageCacheDir: filepath.Join(d.cfg.DataDir, "packages"),
		DriverTCPAddr:   d.cfg.Driver.TCPAddr,
		PendingWarning:  time.Duration(d.cfg.Scheduler.PendingWarning),
	}
	if err := os.MkdirAll(ncfg.SpillDir, 0o755); err != nil {
		return fmt.Errorf("gorayd: object_store.spill_dir: %w", err)
	}
	node, err := grt.NewNode(ncfg, d.log.With("component", "node"))
	if err != nil {
		return fmt.Errorf("gorayd: node: %w", err)
	}
	if err := node.Start(ctx); err != nil {
		return fmt.Errorf("gorayd: node: %w", err)
	}
	d.mu.Lock()
	d.node = node
	d.mu.Unlock()
	if dir := node.StoreDir(); dir != "" {
		if err := os.WriteFile(filepath.Join(d.cfg.DataDir, storeRecord), []byte(dir+"\n"), 0o644); err != nil {
			d.log.Warn("cannot record the object store directory", "err", err)
		}
	}
	eng := &engine{d: d, node: node, total: d.cfg.TotalResources()}
	d.agent.SetEngine(eng)
	obs := newObserver(d, eng, nodeID)
	obs.mount(d.agent) // observe.go: dashboard, state API, /metrics
	node.SetTaskObserver(obs.met)
	d.ready.Store(true)
	if err := d.agent.Start(ctx); err != nil {
		return err
	}
	// The observer reads the membership, which exists once the agent runs.
	obs.start()
	d.mu.Lock()
	d.obs = obs
	d.mu.Unlock()
	// The node reaches its peers (placement beyond this machine, forwarded
	// tasks, driver binaries) through the agent's transport and membership.
	re := remote.New(node, d.agent.Transport(), d.agent.Membership(), d.log.With("component", "remote"))
	re.Start()
	d.mu.Lock()
	d.remote = re
	d.mu.Unlock()
	d.log.Info("node ready", "driver_address", d.DriverAddress(), "workers", workerDesc(ncfg.WorkerCommand))
	return nil
}

func workerDesc(cmd []string) string {
	if len(cmd) == 0 {
		return "gorayd itself"
	}
	return cmd[0]
}

// prepareSocket picks the node's socket path and removes a stale socket
// left by a daemon that was killed; a socket something still answers on
// means another daemon uses this data directory.
func (d *Daemon) prepareSocket() error {
	path := filepath.Join(d.cfg.DataDir, "node.sock")
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if len(path) > maxSocketPath {
		dir, err := os.MkdirTemp("", "gorayd-")
		if err != nil {
			return fmt.Errorf("gorayd: node socket dir: %w", err)
		}
		d.sockDir = dir
		d.log.Info("data_dir is too deep for a unix socket path; using a temp dir", "data_dir", d.cfg.DataDir, "socket_dir", dir)
		path = filepath.Join(dir, "node.sock")
	}
	if _, err := os.Lstat(path); err == nil {
		c, derr := net.DialTimeout("unix", path, time.Second)
		if derr == nil {
			_ = c.Close()
			return fmt.Errorf("gorayd: %s is in use: another gorayd runs with data_dir %s", path, d.cfg.DataDir)
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("gorayd: remove stale socket: %w", err)
		}
	}
	d.sockPath = path
	if d.sockDir == "" {
		// Only a socket in the data directory proves that no other daemon
		// uses it; a temp socket is new on every start.
		d.removeStaleStore()
	}
	return nil
}

// storeRecord names the file in the data directory that records the node's
// shared-memory store directory. A daemon killed with SIGKILL cannot remove
// its store (tmpfs memory that nothing else frees), so the next daemon on
// the same data directory does, once the socket check has shown that no
// daemon runs there.
const storeRecord = "store_dir"

func (d *Daemon) removeStaleStore() {
	rec := filepath.Join(d.cfg.DataDir, storeRecord)
	data, err := os.ReadFile(rec)
	if err != nil {
		return
	}
	dir := strings.TrimSpace(string(data))
	// Only ever a store directory: an absolute path named goray-*.
	if filepath.IsAbs(dir) && strings.HasPrefix(filepath.Base(dir), "goray-") {
		if err := os.RemoveAll(dir); err != nil {
			d.log.Warn("cannot remove a stale object store", "dir", dir, "err", err)
		} else {
			d.log.Info("removed the object store of a daemon that did not stop cleanly", "dir", dir)
		}
	}
	_ = os.Remove(rec)
}

// gate answers 503 while the node is not running, so no job starts a
// driver that cannot connect.
func (d *Daemon) gate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !d.ready.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "{\"error\":%q}\n", ErrNotReady.Error())
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Shutdown stops running jobs, leaves the cluster gracefully, closes the
// cluster engine, then stops the node and its workers. Bounded by ctx.
func (d *Daemon) Shutdown(ctx context.Context) error {
	return d.stop(ctx, true)
}

func (d *Daemon) stop(ctx context.Context, leave bool) error {
	d.mu.Lock()
	if !d.started {
		d.mu.Unlock()
		return agent.ErrNotRunning
	}
	if d.stopped {
		d.mu.Unlock()
		return nil
	}
	d.stopped = true
	node, re, obs := d.node, d.remote, d.obs
	d.mu.Unlock()
	d.ready.Store(false)
	if obs != nil {
		obs.stop()
	}

	var errs []error
	if d.jobs != nil {
		if err := d.closeJobs(ctx); err != nil {
			errs = append(errs, fmt.Errorf("gorayd: stopping jobs: %w", err))
		}
	}
	if leave && re != nil {
		// Hand work back and let the running tasks finish before the
		// leave (drain.go).
		if err := d.drain(ctx, re); err != nil {
			errs = append(errs, err)
		}
	}
	if leave {
		if err := d.agent.Shutdown(ctx); err != nil && !errors.Is(err, agent.ErrNotRunning) {
			errs = append(errs, err)
		}
	} else {
		d.agent.Abort()
	}
	if re != nil {
		// Tasks still forwarded to peers fail (and are retried here while
		// they have retries), before the node stops.
		re.Close()
	}
	if node != nil {
		if err := node.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("gorayd: stopping the node: %w", err))
		}
	}
	if d.sockDir != "" {
		_ = os.RemoveAll(d.sockDir)
	}
	if node != nil {
		_ = os.Remove(filepath.Join(d.cfg.DataDir, storeRecord))
	}
	return errors.Join(errs...)
}

// closeJobs stops running jobs; Manager.Close has a fixed grace per job, so
// it runs in the background and ctx bounds the wait.
func (d *Daemon) closeJobs(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- d.jobs.Close(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// engine adapts the node to agent.Engine.
type engine struct {
	d     *Daemon
	node  *grt.Node
	total map[string]float64
}

// reportTimeout bounds one availability query; the node answers from memory
// under its lock, so this only matters if the node is wedged.
const reportTimeout = 100 * time.Millisecond

// Report implements agent.Engine.
func (e *engine) Report() agent.EngineReport {
	avail := maps.Clone(e.total)
	ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
	defer cancel()
	if c := e.node.LocalClient(); c != nil {
		if _, a, err := c.NodeResources(ctx); err == nil {
			for k, v := range a {
				if _, known := avail[k]; known {
					avail[k] = v
				}
			}
		}
	}
	if e.node.Draining() {
		// Nothing is free on a node that leaves: peers' views and
		// `goray status` show it full (the drain notice is what keeps
		// work away; this only makes it visible).
		for k := range avail {
			avail[k] = 0
		}
	}
	st := e.node.StoreStats()
	return agent.EngineReport{Available: avail, Load: cluster.Load{ObjectStoreUsed: st.Used},
		PendingDemands: pendingDemands(e.node)}
}

// DriverAddress implements agent.DriverAddresser.
func (e *engine) DriverAddress() string { return e.d.DriverAddress() }
