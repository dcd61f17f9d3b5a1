package goray

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/agent/resolve"
	"github.com/goray/goray/runtime/objectstore"
)

// ObjectID names an object.
type ObjectID = grt.ObjectID

// Config configures Init.
type Config struct {
	// Address of a running node: "unix:///path/node.sock" (or a bare path),
	// "tcp://host:port", or a gorayd's HTTP address ("host:port" or
	// "http://host:port", the one the CLI takes), which is asked for its
	// node's driver address (with GORAY_TOKEN as bearer token, if set).
	// Empty: GORAY_ADDRESS, else start an embedded single node.
	Address string
	// NumCPUs of the embedded node; 0 → runtime.NumCPU().
	NumCPUs float64
	// NumGPUs of the embedded node.
	NumGPUs float64
	// Resources are extra custom resources of the embedded node.
	Resources map[string]float64
	// ObjectStoreMemory limits the shared-memory store; 0 → 30% of RAM
	// (capped by /dev/shm).
	ObjectStoreMemory int64
	// SpillDir receives objects spilled past the limit; "" → a temp dir.
	SpillDir string
	// Logger receives the runtime's logs; nil discards them.
	Logger *slog.Logger
	// WorkerCommand overrides how workers are started: argv of a program that
	// calls MaybeRunWorker first (default: os.Executable() re-exec).
	WorkerCommand []string
	// MaxWorkers caps the worker processes of the embedded node (0: derived
	// from NumCPUs plus actors).
	MaxWorkers int
	// PendingWarning is how long work submitted through the embedded node
	// waits for resources before the driver is warned that it cannot be
	// scheduled right now (Ray's "The following resource request cannot be
	// scheduled"), once per resource shape. 0 → 10 s
	// (runtime.DefaultPendingWarning); negative → never warn. In a cluster
	// the node whose queue the work waits in times the warning and sends
	// it to this node, which passes it on unless it is negative here.
	PendingWarning time.Duration
	// WarmReserve bounds the embedded store's pre-faulted memory for large
	// objects (see runtime/objectstore, "The warm reserve"); 0 → none. It
	// speeds up objects that arrive from peers, which an embedded node does
	// not have, and its refill runs in the driver's process: `goray
	// microbenchmark -filter gigabytes -warm-reserve-mb 256` against the
	// same command without the flag shows what it costs a Get loop.
	WarmReserve int64
}

// Runtime is a connection to a goray node: the embedded one Init started, a
// remote one, or, inside a worker, the worker's own node.
type Runtime struct {
	c    *grt.Client
	node *grt.Node // embedded node, nil otherwise
	log  *slog.Logger

	shutdownOnce sync.Once
	shutdownErr  error
}

var defaultRT atomic.Pointer[Runtime]

type rtKey struct{}

// WithRuntime returns a context that carries rt; API calls with it use rt.
func WithRuntime(ctx context.Context, rt *Runtime) context.Context {
	return context.WithValue(ctx, rtKey{}, rt)
}

// FromContext returns the runtime carried by ctx. Inside a task or actor
// method ctx carries the worker's runtime.
func FromContext(ctx context.Context) (*Runtime, bool) {
	if ctx != nil {
		if rt, ok := ctx.Value(rtKey{}).(*Runtime); ok && rt != nil {
			return rt, true
		}
	}
	return nil, false
}

// current picks the runtime of ctx, else the process default.
func current(ctx context.Context) (*Runtime, error) {
	if rt, ok := FromContext(ctx); ok {
		return rt, nil
	}
	if rt := defaultRT.Load(); rt != nil {
		return rt, nil
	}
	return nil, ErrNotInitialized
}

// Init starts or connects to goray and makes the result the process default
// runtime. It first calls MaybeRunWorker, so a program that forgets to call
// it at the top of main still works (if Init runs before side effects).
func Init(ctx context.Context, cfg Config) (*Runtime, error) {
	MaybeRunWorker()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler) // the runtime then shows warnings meant for users on stderr
	}
	addr := cfg.Address
	if addr == "" {
		addr = os.Getenv("GORAY_ADDRESS")
	}
	rt := &Runtime{log: log}
	if addr != "" {
		engine, err := resolve.Driver(ctx, addr, os.Getenv("GORAY_TOKEN"))
		if err != nil {
			return nil, fmt.Errorf("goray: connect to %s: %w", addr, err)
		}
		c, err := grt.Dial(ctx, engine, log)
		if err != nil {
			return nil, fmt.Errorf("goray: connect to %s: %w", addr, err)
		}
		rt.c = c
	} else {
		ncfg := grt.NodeConfig{
			NumCPUs:           cfg.NumCPUs,
			NumGPUs:           cfg.NumGPUs,
			Resources:         cfg.Resources,
			ObjectStoreMemory: cfg.ObjectStoreMemory,
			SpillDir:          cfg.SpillDir,
			WorkerCommand:     cfg.WorkerCommand,
			MaxWorkers:        cfg.MaxWorkers,
			PendingWarning:    cfg.PendingWarning,
			WarmReserve:       -1, // off unless asked for (Config.WarmReserve)
		}
		if cfg.WarmReserve > 0 {
			ncfg.WarmReserve = cfg.WarmReserve
		}
		node, err := grt.NewNode(ncfg, log)
		if err != nil {
			return nil, fmt.Errorf("goray: init: %w", err)
		}
		if err := node.Start(ctx); err != nil {
			return nil, fmt.Errorf("goray: init: %w", err)
		}
		rt.node = node
		rt.c = node.LocalClient()
	}
	defaultRT.Store(rt)
	return rt, nil
}

// Shutdown stops everything Init started: worker processes, the embedded
// node, its sockets and its shared memory.
func (rt *Runtime) Shutdown(ctx context.Context) error {
	rt.shutdownOnce.Do(func() {
		defaultRT.CompareAndSwap(rt, nil)
		var errs []error
		if rt.node != nil {
			errs = append(errs, rt.node.Stop(ctx))
		} else if rt.c != nil {
			errs = append(errs, rt.c.Close())
		}
		rt.shutdownErr = errors.Join(errs...)
	})
	return rt.shutdownErr
}

// NodeID returns the ID of the node the caller runs on.
func NodeID(ctx context.Context) string {
	rt, err := current(ctx)
	if err != nil {
		return ""
	}
	return rt.c.NodeID()
}

// ClusterResources returns the total and available resources of the cluster.
func ClusterResources(ctx context.Context) (total, available map[string]float64, err error) {
	rt, err := current(ctx)
	if err != nil {
		return nil, nil, err
	}
	return rt.c.ClusterResources(ctx)
}

// MaybeRunWorker turns this process into a worker if it was started as one
// (GORAY_WORKER_SOCKET is set): it serves tasks until the node tells it to
// exit or goes away, then exits the process. Otherwise it returns at once.
// Call it first in main and in TestMain.
func MaybeRunWorker() {
	if !grt.IsWorkerProcess() {
		return
	}
	code := grt.RunWorker(executor{}, func(c *grt.Client) {
		defaultRT.Store(&Runtime{c: c, log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	})
	os.Exit(code)
}

// StoreStats returns the embedded node's object store accounting (zero
// without an embedded node).
func (rt *Runtime) StoreStats() objectstore.Stats {
	if rt.node == nil {
		return objectstore.Stats{}
	}
	return rt.node.StoreStats()
}

// Node returns the embedded node, or nil when connected to a remote one.
func (rt *Runtime) Node() *grt.Node { return rt.node }
