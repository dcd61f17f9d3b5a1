package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	sockaddr "github.com/hashicorp/go-sockaddr"

	"github.com/goray/goray/runtime/cluster"
	pb "github.com/goray/goray/runtime/cluster/proto/clusterv1"
)

// Agent errors.
var (
	// ErrStarted is returned by a second Start.
	ErrStarted = errors.New("agent: already started")
	// ErrNotRunning is returned by calls that need a started agent.
	ErrNotRunning = errors.New("agent: not running")
)

// Demand is a resource shape that cannot be scheduled yet, and how many
// requests wait for it (shown by `goray status`).
type Demand struct {
	Shape map[string]float64 `json:"shape"`
	Count int64              `json:"count"`
}

// EngineReport is what the node's engine tells the agent about itself.
type EngineReport struct {
	// Available resources now; nil means "all of the totals".
	Available      map[string]float64
	Load           cluster.Load
	PendingDemands []Demand
}

// Engine is the part of the runtime engine the agent needs: a cheap snapshot
// of availability, load and unschedulable demand. The agent polls it every
// ReportInterval and broadcasts changes through gossip.
type Engine interface {
	Report() EngineReport
}

// ReportInterval is how often the agent polls its Engine. Changes reach peers
// one gossip round later, keeping views well under a second stale.
const ReportInterval = 200 * time.Millisecond

// Agent is one gorayd: membership, daemon RPC and the HTTP API, with a slot
// for the runtime engine (SetEngine).
type Agent struct {
	cfg   Config
	log   *slog.Logger
	key   []byte
	start time.Time

	mu      sync.Mutex
	started bool
	stopped bool
	engine  Engine
	fixedID string // UseNodeID

	members *cluster.Membership
	rpc     *cluster.RPC
	mux     *http.ServeMux
	muxOnce sync.Once
	httpSrv *http.Server
	httpLis net.Listener
	rpcAddr net.Addr

	cancel context.CancelFunc // ends background loops
	wg     sync.WaitGroup
}

// New validates cfg (after Finalize) and prepares an agent; nothing listens
// until Start.
func New(cfg Config, log *slog.Logger) (*Agent, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Finalize(context.Background())
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key, err := cfg.EncryptKeyBytes()
	if err != nil {
		return nil, fmt.Errorf("%w: gossip.encrypt_key: %w", ErrInvalidConfig, err)
	}
	return &Agent{cfg: cfg, log: log, key: key}, nil
}

// Config is the agent's finalized configuration.
func (a *Agent) Config() Config { return a.cfg }

// SetEngine connects the runtime engine; safe before or after Start.
func (a *Agent) SetEngine(e Engine) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.engine = e
}

// UseNodeID makes the next Start use id (from cluster.NewNodeID) as this
// run's node ID instead of a fresh one. An engine that must be running
// before the agent announces itself, and must carry the same ID, calls it
// before Start. It returns ErrStarted after Start.
func (a *Agent) UseNodeID(id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		return ErrStarted
	}
	a.fixedID = id
	return nil
}

// Membership is the agent's cluster view (nil before Start).
func (a *Agent) Membership() *cluster.Membership { return a.members }

// Transport is the daemon-to-daemon frame transport (nil before Start).
func (a *Agent) Transport() *cluster.RPC { return a.rpc }

// NodeID is this run's node ID ("" before Start).
func (a *Agent) NodeID() string {
	if a.members == nil {
		return ""
	}
	return a.members.LocalID()
}

// HTTPAddr is the bound HTTP API address (host:port), "" before Start.
func (a *Agent) HTTPAddr() string {
	if a.httpLis == nil {
		return ""
	}
	return a.httpLis.Addr().String()
}

// RPCAddr is the bound RPC address, "" before Start.
func (a *Agent) RPCAddr() string {
	if a.rpcAddr == nil {
		return ""
	}
	return a.rpcAddr.String()
}

// GossipAddr is the advertised gossip address, "" before Start.
func (a *Agent) GossipAddr() string {
	if a.members == nil {
		return ""
	}
	return a.members.GossipAddr()
}

// advertiseHost picks the address peers should dial for a service bound to
// bind: the explicit advertise address, else the bind address, else (bound
// to all interfaces) the gossip advertise address or a private IP.
func (a *Agent) advertiseHost(explicit, bind string) string {
	if explicit != "" {
		return explicit
	}
	if ip := net.ParseIP(bind); ip != nil && !ip.IsUnspecified() {
		return bind
	}
	if a.cfg.Gossip.AdvertiseAddr != "" {
		return a.cfg.Gossip.AdvertiseAddr
	}
	if ip, err := sockaddr.GetPrivateIP(); err == nil && ip != "" {
		return ip
	}
	return "127.0.0.1"
}

// Start binds the RPC and HTTP ports, starts gossip with the node's metadata,
// and begins joining (in the background, retried with backoff until it
// succeeds or the agent shuts down). ctx bounds startup only.
func (a *Agent) Start(ctx context.Context) (err error) {
	a.mu.Lock()
	if a.started {
		a.mu.Unlock()
		return ErrStarted
	}
	a.started = true
	a.mu.Unlock()
	a.start = time.Now()
	bg, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	defer func() {
		if err != nil {
			a.cleanup(context.Background())
		}
	}()

	a.mu.Lock()
	nodeID := a.fixedID
	a.mu.Unlock()
	if nodeID == "" {
		nodeID = cluster.NewNodeID()
	}
	a.log = a.log.With("node", a.cfg.NodeName)
	// RPC first: its bound port goes into the gossip metadata.
	a.rpc, err = cluster.NewRPC(cluster.RPCConfig{
		NodeID: nodeID, Version: Version, Resolve: a.resolveRPC, Info: a.nodeInfo,
		TLS: cluster.TLSFiles{CertFile: a.cfg.RPC.TLSCertFile, KeyFile: a.cfg.RPC.TLSKeyFile, CAFile: a.cfg.RPC.TLSCAFile},
		Log: a.log.With("component", "rpc"),
	})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	a.rpcAddr, err = a.rpc.Listen(ctx, net.JoinHostPort(a.cfg.RPC.BindAddr, strconv.Itoa(a.cfg.RPC.Port)))
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	var lc net.ListenConfig
	a.httpLis, err = lc.Listen(ctx, "tcp", net.JoinHostPort(a.cfg.HTTP.BindAddr, strconv.Itoa(a.cfg.HTTP.Port)))
	if err != nil {
		return fmt.Errorf("agent: http listen: %w", err)
	}
	a.httpSrv = &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := a.httpSrv.Serve(a.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server stopped", "err", err)
		}
	}()

	rpcPort := a.cfg.RPC.AdvertisePort
	if rpcPort == 0 {
		rpcPort = a.rpcAddr.(*net.TCPAddr).Port
	}
	httpPort := a.cfg.HTTP.AdvertisePort
	if httpPort == 0 {
		httpPort = a.httpLis.Addr().(*net.TCPAddr).Port
	}
	meta := cluster.NodeMeta{
		Version:   Version,
		ID:        nodeID,
		Name:      a.cfg.NodeName,
		RPCAddr:   net.JoinHostPort(a.advertiseHost(a.cfg.RPC.AdvertiseAddr, a.cfg.RPC.BindAddr), strconv.Itoa(rpcPort)),
		HTTPAddr:  net.JoinHostPort(a.advertiseHost(a.cfg.HTTP.AdvertiseAddr, a.cfg.HTTP.BindAddr), strconv.Itoa(httpPort)),
		Resources: a.cfg.TotalResources(),
	}
	a.members, err = cluster.NewMembership(cluster.Config{
		Meta:          meta,
		BindAddr:      a.cfg.Gossip.BindAddr,
		BindPort:      a.cfg.Gossip.Port,
		AdvertiseAddr: a.cfg.Gossip.AdvertiseAddr,
		AdvertisePort: a.cfg.Gossip.AdvertisePort,
		Preset:        a.cfg.Gossip.Preset,
		EncryptKey:    a.key,
	}, cluster.Hooks{OnEvent: a.onEvent}, a.log.With("component", "gossip"))
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if err := a.members.Start(ctx); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	a.log.Info("gorayd started", "node_id", nodeID, "gossip", a.members.GossipAddr(), "rpc", meta.RPCAddr,
		"http", a.HTTPAddr(), "resources", meta.Resources, "dev", a.cfg.Dev)

	if seeds := a.cfg.JoinAddrs(); len(seeds) > 0 {
		a.wg.Go(func() {
			if _, err := a.members.JoinRetry(bg, seeds); err != nil && bg.Err() == nil {
				a.log.Error("join gave up", "err", err)
			}
		})
	}
	a.wg.Go(func() { a.reportLoop(bg) })
	return nil
}

// onEvent reacts to membership changes: connections to departed nodes are
// closed so that nothing writes into a dead stream.
func (a *Agent) onEvent(ev cluster.Event) {
	switch ev.Type {
	case cluster.EventLeave, cluster.EventFailed:
		if a.rpc != nil {
			a.rpc.DropPeer(ev.Member.ID)
		}
	}
}

func (a *Agent) resolveRPC(nodeID string) (string, bool) {
	if a.members == nil {
		return "", false
	}
	for _, m := range a.members.Members() {
		if m.ID == nodeID && (m.Status == cluster.StatusAlive || m.Status == cluster.StatusSuspect) {
			return m.RPCAddr, m.RPCAddr != ""
		}
	}
	return "", false
}

// report is the engine's current report, or "everything free" without one.
func (a *Agent) report() EngineReport {
	a.mu.Lock()
	e := a.engine
	a.mu.Unlock()
	var r EngineReport
	if e != nil {
		r = e.Report()
	}
	if r.Available == nil {
		r.Available = a.cfg.TotalResources()
	}
	return r
}

func (a *Agent) reportLoop(ctx context.Context) {
	t := time.NewTicker(ReportInterval)
	defer t.Stop()
	for {
		r := a.report()
		if err := a.members.SetLocalState(r.Available, r.Load); err != nil {
			a.log.Warn("cannot broadcast node state", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *Agent) nodeInfo(context.Context) *pb.NodeInfoResponse {
	r := a.report()
	meta := a.members.LocalMeta()
	resp := &pb.NodeInfoResponse{
		NodeId: meta.ID, NodeName: meta.Name, Version: meta.Version, RpcAddr: meta.RPCAddr, HttpAddr: meta.HTTPAddr,
		ResourcesTotal: meta.Resources, ResourcesAvailable: maps.Clone(r.Available),
		Load: &pb.Load{
			RunningTasks: r.Load.RunningTasks, PendingTasks: r.Load.PendingTasks,
			Workers: r.Load.Workers, ObjectStoreUsed: r.Load.ObjectStoreUsed,
		},
		StartedUnixNano: a.start.UnixNano(),
	}
	for _, d := range r.PendingDemands {
		resp.PendingDemands = append(resp.PendingDemands, &pb.Demand{Shape: maps.Clone(d.Shape), Count: d.Count})
	}
	return resp
}

// Shutdown leaves the cluster gracefully (peers see a leave, not a failure,
// in well under a second), then stops gossip, RPC and HTTP. Bounded by ctx.
func (a *Agent) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	if !a.started {
		a.mu.Unlock()
		return ErrNotRunning
	}
	if a.stopped {
		a.mu.Unlock()
		return nil
	}
	a.stopped = true
	a.mu.Unlock()
	var errs []error
	if a.members != nil {
		if err := a.members.Leave(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, a.cleanup(ctx))
	a.log.Info("gorayd stopped")
	return errors.Join(errs...)
}

// cleanup stops everything without a Leave.
func (a *Agent) cleanup(ctx context.Context) error {
	var errs []error
	if a.cancel != nil {
		a.cancel()
	}
	if a.members != nil {
		if err := a.members.Shutdown(); err != nil {
			errs = append(errs, err)
		}
	}
	if a.httpSrv != nil {
		if err := a.httpSrv.Shutdown(ctx); err != nil {
			_ = a.httpSrv.Close()
		}
	} else if a.httpLis != nil {
		_ = a.httpLis.Close()
	}
	if a.rpc != nil {
		if err := a.rpc.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	// A join attempt in flight can block for memberlist's TCP timeout; do
	// not let it hold shutdown past ctx.
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("agent: background loops still running: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// NewLogger builds the daemon's slog logger from the log settings.
func NewLogger(c LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	switch c.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Abort stops the agent without leaving, as a crash would: peers detect a
// failure after the suspicion timeout. For in-process tests.
func (a *Agent) Abort() {
	a.mu.Lock()
	if !a.started || a.stopped {
		a.mu.Unlock()
		return
	}
	a.stopped = true
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = a.cleanup(ctx)
}
