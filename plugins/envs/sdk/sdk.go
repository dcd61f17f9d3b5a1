package sdk

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/goray/goray/plugins/envs"
)

// Option configures Serve.
type Option func(*options)

type options struct {
	logger          *slog.Logger
	protocolVersion int
	pollInterval    time.Duration
	connGrace       time.Duration
}

// WithLogger sets the plugin's logger. The default writes JSON lines with
// hclog's @level/@message keys to stderr, which the host re-emits at their
// level in its own log.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithProtocolVersion serves another plugin protocol version than
// envs.ProtocolVersion. It exists to test handshake failures; real plugins
// never need it.
func WithProtocolVersion(v int) Option { return func(o *options) { o.protocolVersion = v } }

// Serve serves factories (env ID → Factory) as a goray env plugin and never
// returns: the process exits when the host stops it, when the host process
// goes away, or when the host's connection drops. Call it from main; nothing
// may be written to stdout before it (go-plugin's handshake line goes there).
//
// Run directly rather than by a goray host, the binary prints a note that it
// is a plugin and exits with status 1.
func Serve(factories map[string]envs.Factory, opts ...Option) {
	o := options{protocolVersion: envs.ProtocolVersion, pollInterval: 200 * time.Millisecond, connGrace: time.Second}
	for _, f := range opts {
		f(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{ReplaceAttr: hclogKeys}))
	}
	if os.Getenv(envs.MagicCookieKey) == envs.MagicCookieValue {
		// Only watch when started by a host: run by hand, go-plugin prints
		// its note and exits.
		w := &watchdog{logger: o.logger, grace: o.connGrace}
		go w.watchParent(expectedParent(), o.pollInterval)
		serve(factories, o, w)
		return
	}
	serve(factories, o, nil)
}

func serve(factories map[string]envs.Factory, o options, w *watchdog) {
	hs := envs.HandshakeConfig()
	hs.ProtocolVersion = uint(o.protocolVersion)
	sets := envs.PluginSets(envs.NewServer(factories, o.logger))
	if o.protocolVersion != envs.ProtocolVersion {
		sets = map[int]plugin.PluginSet{o.protocolVersion: sets[envs.ProtocolVersion]}
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  hs,
		VersionedPlugins: sets,
		Logger:           envs.NewHCLogger(o.logger, ""),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(1<<30), grpc.MaxSendMsgSize(1<<30))
			if w != nil {
				opts = append(opts, grpc.StatsHandler(w))
			}
			return grpc.NewServer(opts...)
		},
	})
	// plugin.Serve returns once the host has asked the plugin to stop
	// (failures exit inside it).
	os.Exit(0)
}

// hclogKeys renames slog's keys to hclog's JSON keys, which go-plugin's host
// side parses to keep the plugin's log levels.
func hclogKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		a.Key = "@level"
		if l, ok := a.Value.Any().(slog.Level); ok {
			switch {
			case l < slog.LevelDebug:
				a.Value = slog.StringValue("trace")
			case l < slog.LevelInfo:
				a.Value = slog.StringValue("debug")
			case l < slog.LevelWarn:
				a.Value = slog.StringValue("info")
			case l < slog.LevelError:
				a.Value = slog.StringValue("warn")
			default:
				a.Value = slog.StringValue("error")
			}
		}
	case slog.MessageKey:
		a.Key = "@message"
	case slog.TimeKey:
		a.Key = "@timestamp"
	}
	return a
}

// expectedParent is the host PID: the one the host put in the environment,
// so that a host that died before we looked is noticed too.
func expectedParent() int {
	if s := os.Getenv(envs.ParentPIDEnv); s != "" {
		if pid, err := strconv.Atoi(s); err == nil {
			return pid
		}
	}
	return os.Getppid()
}

// watchdog ends the plugin when its host is gone: Pdeathsig is the first
// line of defence, but it is Linux-only and fires on the exit of the forking
// thread, not of the process, so the plugin also watches its parent PID and
// its gRPC connections.
type watchdog struct {
	logger *slog.Logger
	grace  time.Duration

	mu     sync.Mutex
	active int
	seen   bool
	gen    atomic.Int64
}

func (w *watchdog) watchParent(parent int, every time.Duration) {
	for {
		if os.Getppid() != parent {
			w.logger.Warn("env plugin: host process is gone, exiting", "parent", parent)
			os.Exit(3)
		}
		time.Sleep(every)
	}
}

// TagRPC implements stats.Handler.
func (w *watchdog) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

// HandleRPC implements stats.Handler.
func (w *watchdog) HandleRPC(context.Context, stats.RPCStats) {}

// TagConn implements stats.Handler.
func (w *watchdog) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

// HandleConn counts connections; when the last one ends and no new one
// arrives within the grace period, the host is gone (or has let go of us)
// and the plugin exits.
func (w *watchdog) HandleConn(_ context.Context, s stats.ConnStats) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch s.(type) {
	case *stats.ConnBegin:
		w.active++
		w.seen = true
		w.gen.Add(1)
	case *stats.ConnEnd:
		w.active--
		if w.active > 0 || !w.seen {
			return
		}
		gen := w.gen.Add(1)
		time.AfterFunc(w.grace, func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.active == 0 && w.gen.Load() == gen {
				w.logger.Warn("env plugin: host connection dropped, exiting")
				os.Exit(4)
			}
		})
	}
}
