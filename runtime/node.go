package runtime

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/goray/goray/runtime/objectstore"
	"github.com/goray/goray/runtime/task"
)

// Sentinel errors of the engine.
var (
	ErrStopped      = errors.New("runtime: node stopped")
	ErrNotConnected = errors.New("runtime: client closed")
)

// NodeConfig configures a Node. Zero values take the defaults listed on
// each field; Validate reports bad values by their TOML key.
type NodeConfig struct {
	// NumCPUs is the node's CPU resource; 0 → runtime.NumCPU().
	NumCPUs float64 `toml:"num_cpus"`
	// NumGPUs is the node's GPU resource.
	NumGPUs float64 `toml:"num_gpus"`
	// Resources are extra custom resources.
	Resources map[string]float64 `toml:"resources"`
	// ObjectStoreMemory limits the store; 0 → the store's default (30% of RAM).
	ObjectStoreMemory int64 `toml:"object_store_memory"`
	// WarmReserve bounds the store's pre-faulted memory for large incoming
	// objects (objectstore.Config.WarmReserve, at most the store's limit);
	// 0 → min(256 MiB, limit/4), negative → off.
	WarmReserve int64 `toml:"warm_reserve"`
	// SpillDir receives spilled objects; "" → a fresh temp dir.
	SpillDir string `toml:"spill_dir"`
	// StoreDir holds in-memory objects; "" → /dev/shm/goray-<random>.
	StoreDir string `toml:"store_dir"`
	// SocketPath is the unix socket for local clients and workers; "" → a
	// fresh temp dir.
	SocketPath string `toml:"socket_path"`
	// WorkerLogDir receives each worker's stdout and stderr in its own
	// file (WorkerLogName); "" → the node's own stdout and stderr.
	WorkerLogDir string `toml:"worker_log_dir"`
	// WorkerCommand is the argv that starts a worker; empty → os.Executable().
	WorkerCommand []string `toml:"worker_command"`
	// MaxWorkers caps task workers; 0 → 4×NumCPUs+4 (blocked workers do not
	// count against CPUs, so nested tasks need more workers than CPUs).
	MaxWorkers int `toml:"max_workers"`
	// PrestartWorkers are started by Start; -1 → none, 0 → NumCPUs.
	PrestartWorkers int `toml:"prestart_workers"`
	// PipelineDepth is how many tasks may be queued on one leased worker.
	// 0 → 16.
	PipelineDepth int `toml:"pipeline_depth"`
	// InlineThreshold: larger objects live in the shared-memory store.
	// 0 → 100 KiB.
	InlineThreshold int `toml:"inline_threshold"`
	// NodeID names the node; "" → random.
	NodeID string `toml:"node_id"`
	// BinaryCacheDir holds content-addressed copies of the drivers'
	// executables that this node runs workers of; "" →
	// $TMPDIR/goray-bin-<uid>.
	BinaryCacheDir string `toml:"binary_cache_dir"`
	// PackageCacheDir holds the working-dir packages of the drivers whose
	// workers this node runs (see pkgstore); "" →
	// $TMPDIR/goray-pkg-<uid>.
	PackageCacheDir string `toml:"package_cache_dir"`
	// DriverTCPAddr, when set, is a host:port where drivers on other
	// machines connect (GORAY_ADDRESS=tcp://host:port; port 0 picks one,
	// see DriverTCPAddr). Such a driver uploads its program and working
	// dir if the node lacks them, so only trusted networks may reach this
	// address.
	DriverTCPAddr string `toml:"driver_tcp_addr"`
	// PendingWarning is how long a task or actor waits for resources
	// before its submitter is warned (demand.go); 0 →
	// DefaultPendingWarning, negative → never.
	PendingWarning time.Duration `toml:"pending_warning"`
}

func (c *NodeConfig) setDefaults() {
	if c.NumCPUs == 0 {
		c.NumCPUs = float64(goruntime.NumCPU())
	}
	if c.MaxWorkers == 0 {
		c.MaxWorkers = 4*int(c.NumCPUs) + 4
	}
	if c.PrestartWorkers == 0 {
		c.PrestartWorkers = int(c.NumCPUs)
	}
	if c.PipelineDepth == 0 {
		c.PipelineDepth = 16
	}
	if c.InlineThreshold == 0 {
		c.InlineThreshold = objectstore.DefaultInlineThreshold
	}
	if c.NodeID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		c.NodeID = hex.EncodeToString(b[:])
	}
}

// Validate reports invalid fields by their TOML keys.
func (c *NodeConfig) Validate() error {
	var errs []error
	if c.NumCPUs < 0 {
		errs = append(errs, fmt.Errorf("node config: num_cpus: must not be negative, got %v", c.NumCPUs))
	}
	if c.NumGPUs < 0 {
		errs = append(errs, fmt.Errorf("node config: num_gpus: must not be negative, got %v", c.NumGPUs))
	}
	for k, v := range c.Resources {
		if v < 0 {
			errs = append(errs, fmt.Errorf("node config: resources.%s: must not be negative, got %v", k, v))
		}
	}
	if c.ObjectStoreMemory < 0 {
		errs = append(errs, fmt.Errorf("node config: object_store_memory: must not be negative, got %d", c.ObjectStoreMemory))
	}
	if c.MaxWorkers < 0 {
		errs = append(errs, fmt.Errorf("node config: max_workers: must not be negative, got %d", c.MaxWorkers))
	}
	if c.PipelineDepth < 0 {
		errs = append(errs, fmt.Errorf("node config: pipeline_depth: must not be negative, got %d", c.PipelineDepth))
	}
	return errors.Join(errs...)
}

// Node is one goray node: the object store, the scheduler, the worker pool
// and the task, actor and object tables. Clients reach it through a unix
// socket, or in-process through LocalClient.
//
// All table state is guarded by mu. Handlers run on the connection reader
// goroutines (and, for the local client, on the caller's goroutine) and
// never block while holding mu: sends only queue.
type Node struct {
	cfg   NodeConfig
	log   *slog.Logger
	id    string
	store *objectstore.Store
	refs  *objectstore.RefCounter

	sockDir  string // created by us, removed on Stop
	sockPath string
	ln       net.Listener
	prefix   [4]byte // NodePrefix(id): the prefix of its clients' IDs
	// tcpLn serves drivers from other machines (driver_tcp.go); nil when off.
	tcpLn net.Listener

	mu            sync.Mutex
	stopped       bool
	nextSess      uint32
	sessions      map[*session]struct{}
	objects       map[ObjectID]*object
	tasks         map[TaskID]*taskEntry
	actors        map[ActorID]*actorEntry
	named         map[string]ActorID
	total         task.Resources
	avail         map[string]float64
	queues        map[string]*shapeQueue // ready normal tasks by resource shape
	shapeOrder    []string
	workers       map[uint64]*workerProc
	idle          []*workerProc
	nextWorker    uint64
	taskWorkers   int // live workers not dedicated to an actor
	startFailures int // workers in a row that died before saying hello
	lastStartErr  string
	waitingActors int // actors waiting for resources
	waitingPGs    int // placement groups waiting for resources
	pgs           *task.PGTable
	pgWait        map[string][]pgWaiter
	nextPG        uint64

	storeDir    string
	bins        map[string][]string // worker argv per driver binary (key: sha256)
	binDir      string
	defHashOnce sync.Once
	defHash     string
	startingBin map[string]int // per binary: worker processes started but not yet connected

	// Placement groups across nodes (pg_cluster.go).
	pgLocal     map[string][]bundleRef        // per group: where each bundle lives in its node's table
	pgGen       uint64                        // numbers the reservations of re-placed bundles
	pgParked    map[string][]*taskEntry       // per group: tasks waiting for their bundle to be placed again
	pgReserving map[string]bool               // groups waiting for their peers' reservations
	pgRetry     map[string]bool               // groups with a placement retry scheduled
	pgHosted    map[string]string             // bundles this node holds for a peer's group: id → owner node
	fwdDemand   map[string]map[string]float64 // per peer: resources of forwarded work not finished

	failures []TaskSnapshot // the latest task failures (snapshot.go)
	hist     taskHistory    // the last finished tasks (taskhistory.go)
	demand   *demandWatch   // the pending-work warning (demand.go)
	draining bool           // leaving: no new work lands here (drain.go)
	taskObs  TaskObserver   // nil: nobody watches task transitions

	local  *Client
	wg     sync.WaitGroup // accept loop, process waiters
	hooks  ClusterHooks   // nil: single node
	lin    *lineageTable  // located objects and their lineage (lineage.go); nil until one is
	bor    borrowState    // borrowed refs, both sides (borrow.go)
	policy *task.Policy
}

// NewNode validates cfg and creates the node's object store. Start makes it
// serve.
func NewNode(cfg NodeConfig, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sweepStaleDirs(log)
	scfg := objectstore.DefaultConfig()
	if cfg.StoreDir != "" {
		scfg.Dir = cfg.StoreDir
	}
	if cfg.SpillDir != "" {
		scfg.SpillDir = cfg.SpillDir
	}
	if cfg.ObjectStoreMemory > 0 {
		scfg.Limit = cfg.ObjectStoreMemory
	}
	scfg.WarmReserve = objectstore.DefaultWarmReserve(scfg.Limit)
	if cfg.WarmReserve != 0 {
		scfg.WarmReserve = min(max(cfg.WarmReserve, 0), scfg.Limit)
	}
	scfg.InlineThreshold = cfg.InlineThreshold
	store, err := objectstore.New(scfg, log.With("component", "objectstore"))
	if err != nil {
		return nil, fmt.Errorf("runtime: node: %w", err)
	}
	if err := writeOwner(scfg.Dir); err != nil {
		log.Warn("a crash would leave the store directory behind", "err", err)
	}
	n := &Node{
		cfg:      cfg,
		log:      log,
		id:       cfg.NodeID,
		store:    store,
		refs:     objectstore.NewRefCounter(),
		sessions: map[*session]struct{}{},
		objects:  map[ObjectID]*object{},
		tasks:    map[TaskID]*taskEntry{},
		actors:   map[ActorID]*actorEntry{},
		named:    map[string]ActorID{},
		queues:   map[string]*shapeQueue{},
		workers:  map[uint64]*workerProc{},
		pgs:      task.NewPGTable(),
		pgWait:   map[string][]pgWaiter{},
		bins:     map[string][]string{},
		storeDir: scfg.Dir,
		binDir:   cfg.BinaryCacheDir,

		startingBin: map[string]int{},
		pgLocal:     map[string][]bundleRef{},
		pgReserving: map[string]bool{},
		pgRetry:     map[string]bool{},
		pgHosted:    map[string]string{},
		pgParked:    map[string][]*taskEntry{},
		fwdDemand:   map[string]map[string]float64{},
	}
	if n.binDir == "" {
		n.binDir = filepath.Join(os.TempDir(), fmt.Sprintf("goray-bin-%d", os.Getuid()))
	}
	n.prefix = NodePrefix(n.id) // owners are recognised by their IDs (ids.go)
	// Sessions number the clients' IDs after the prefix: a random start
	// keeps a node restarted under the same ID from minting its old IDs.
	var seq [4]byte
	_, _ = rand.Read(seq[:])
	n.nextSess = binary.LittleEndian.Uint32(seq[:]) >> 1
	n.total = task.Resources{task.CPU: cfg.NumCPUs}
	if cfg.NumGPUs > 0 {
		n.total[task.GPU] = cfg.NumGPUs
	}
	for k, v := range cfg.Resources {
		n.total[k] = v
	}
	n.avail = map[string]float64{}
	for k, v := range n.total {
		n.avail[k] = v
	}
	return n, nil
}

// ID returns the node's ID.
func (n *Node) ID() string { return n.id }

// SocketPath is the unix socket clients and workers connect to.
func (n *Node) SocketPath() string { return n.sockPath }

// StoreDir is the directory of the node's in-memory objects.
func (n *Node) StoreDir() string { return n.storeDir }

// Store returns the node's object store.
func (n *Node) Store() *objectstore.Store { return n.store }

// Start listens on the node's socket and prestarts workers.
func (n *Node) Start(ctx context.Context) error {
	if dir := n.cfg.WorkerLogDir; dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("runtime: worker_log_dir: %w", err)
		}
	}
	n.sweepStaleUploads() // driver_upload.go
	path := n.cfg.SocketPath
	if path == "" {
		dir, err := os.MkdirTemp("", "goray-node-")
		if err != nil {
			return fmt.Errorf("runtime: node socket dir: %w", err)
		}
		n.sockDir = dir
		path = filepath.Join(dir, "node.sock")
		if err := writeOwner(dir); err != nil {
			n.log.Warn("a crash would leave the socket directory behind", "err", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		n.cleanupFiles()
		return fmt.Errorf("runtime: listen %s: %w", path, err)
	}
	n.ln = ln
	n.sockPath = path
	n.local = newLocalClient(n)
	n.wg.Add(1)
	go n.acceptLoop()
	if err := n.listenDriverTCP(); err != nil { // driver_tcp.go
		_ = n.Stop(ctx)
		return err
	}
	n.mu.Lock()
	for i := 0; i < n.cfg.PrestartWorkers; i++ {
		if err := n.startWorkerLocked(nil, ""); err != nil {
			n.mu.Unlock()
			_ = n.Stop(ctx)
			return err
		}
	}
	n.mu.Unlock()
	n.startDemandWatch()
	n.log.Info("node started", "id", n.id, "socket", path, "cpus", n.cfg.NumCPUs)
	return nil
}

func (n *Node) cleanupFiles() {
	if n.sockDir != "" {
		_ = os.RemoveAll(n.sockDir)
	} else if n.sockPath != "" {
		_ = os.Remove(n.sockPath)
	}
}

// LocalClient returns the in-process client of the driver that embeds this
// node. It calls the node directly, with no socket or encoding.
func (n *Node) LocalClient() *Client { return n.local }

func (n *Node) acceptLoop() {
	defer n.wg.Done()
	for {
		nc, err := n.ln.Accept()
		if err != nil {
			return
		}
		n.mu.Lock()
		if n.stopped {
			n.mu.Unlock()
			_ = nc.Close()
			return
		}
		s := n.newSessionLocked()
		s.sameHost = nc.LocalAddr().Network() == "unix"
		n.mu.Unlock()
		s.c = newConn(nc, func(m *msg) { n.handle(s, m) }, func(error) { n.sessionClosed(s) })
		s.c.start()
	}
}

// Stop stops every worker process, closes all connections, removes the
// socket and the store's files. Worker processes get a polite exit message
// and are killed if they have not exited when ctx ends (or after 2 s).
func (n *Node) Stop(ctx context.Context) error {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return nil
	}
	n.stopped = true
	workers := make([]*workerProc, 0, len(n.workers))
	var conns []*conn
	for _, w := range n.workers {
		workers = append(workers, w)
		if w.sess != nil && w.sess.c != nil {
			conns = append(conns, w.sess.c)
		}
	}
	sessions := make([]*session, 0, len(n.sessions))
	for s := range n.sessions {
		sessions = append(sessions, s)
	}
	// Fail everything still waiting so that no caller hangs.
	for _, o := range n.objects {
		if !o.ready {
			n.failWaitersLocked(o, &ErrorInfo{Kind: ErrKindSystem, Message: "node stopped"})
		}
	}
	n.mu.Unlock()
	if n.ln != nil {
		_ = n.ln.Close()
	}
	if n.tcpLn != nil {
		_ = n.tcpLn.Close()
	}
	for _, c := range conns {
		c.send(&msg{t: mExit})
		c.closeAfterFlush()
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, w := range workers {
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-w.exited:
		case <-t.C:
			w.kill()
			<-w.exited
		case <-ctx.Done():
			w.kill()
			<-w.exited
		}
		t.Stop()
	}
	for _, s := range sessions {
		if s.c != nil {
			s.c.close()
		}
	}
	if n.local != nil {
		n.local.closeLocal()
	}
	n.wg.Wait()
	// Wait for the connection goroutines to finish their close callbacks.
	for _, s := range sessions {
		if s.c != nil {
			s.c.wg.Wait()
		}
	}
	err := n.store.Close()
	n.cleanupFiles()
	n.log.Info("node stopped", "id", n.id)
	return err
}

// session is one connected client (driver or worker) as the node sees it.
type session struct {
	id     uint32
	holder objectstore.HolderID
	c      *conn   // socket clients
	local  *Client // the in-process client
	worker *workerProc
	subs   map[uint64]*subscription // outstanding gets by request
	closed bool
	owned  []ActorID // non-detached actors this session created
	// sameHost: a unix-socket client, which can map store files itself.
	sameHost bool
	// bin is the worker pool of the session's program ("" the default):
	// a driver's announced binary, a worker's own, with the working dir
	// (poolKey).
	bin string
	// upload: the driver's program arriving in chunks (workdir.go).
	upload *binUpload
	// forwarded: the session of one task forwarded by a peer; its task
	// runs here, never forwarded again.
	forwarded bool
	// origin: a forwarded session's owner node and task, where its
	// pending warning goes (demand.go); nil when the owner is unknown.
	origin *taskOrigin
	// sink receives the session's messages instead of a connection (a
	// forwarded task's results), called with n.mu held.
	sink func(*msg)
	// job: the job of a driver's session, from its hello ("" none).
	job string
}

func (s *session) send(m *msg) {
	if s.sink != nil {
		s.sink(m)
		return
	}
	if s.local != nil {
		s.local.deliver(m)
		return
	}
	if s.c != nil {
		s.c.send(m)
	}
}

func (n *Node) newSessionLocked() *session {
	n.nextSess++
	s := &session{id: n.nextSess, subs: map[uint64]*subscription{}}
	s.holder = objectstore.HolderID(fmt.Sprintf("s:%d", s.id))
	n.sessions[s] = struct{}{}
	return s
}

// clientPrefix returns the 8-byte ID prefix of session s's tasks and objects.
func (n *Node) clientPrefix(s *session) [8]byte {
	var p [8]byte
	copy(p[:4], n.prefix[:])
	binary.LittleEndian.PutUint32(p[4:], s.id)
	return p
}

// sessionClosed cleans up after a client or worker connection ended.
func (n *Node) sessionClosed(s *session) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	delete(n.sessions, s)
	if s.upload != nil { // a driver gone mid-upload: drop its partial file (driver_upload.go)
		s.upload.abort()
		s.upload = nil
	}
	if w := s.worker; w != nil {
		n.workerDiedLocked(w, "connection closed")
	}
	for req, sub := range s.subs {
		n.unsubLocked(s, req, sub.ids)
	}
	for _, aid := range s.owned {
		if a := n.actors[aid]; a != nil && !a.spec.Detached {
			n.killActorLocked(a, true, "owner exited")
		}
	}
	if s.worker == nil {
		// A driver that goes away (its job stopped, its process killed)
		// takes its unfinished tasks with it: nobody can Get their
		// results, and their CPUs belong to the jobs that remain. A
		// worker's session is left alone, since its tasks are retried or
		// resubmitted by their own owners.
		for _, t := range n.tasks {
			if t.owner == s && t.state != tDone && !t.cancelled {
				n.cancelTaskLocked(t, true)
			}
		}
	}
	n.freeLocked(n.refs.HolderDied(s.holder))
}
