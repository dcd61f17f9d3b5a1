package agent

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// stringList is a repeatable, comma-separable flag.
type stringList struct{ p *[]string }

func (s stringList) String() string {
	if s.p == nil {
		return ""
	}
	return strings.Join(*s.p, ",")
}

func (s stringList) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s.p = append(*s.p, part)
		}
	}
	return nil
}

// resourceFlag is a repeatable name=amount flag; the name may contain ':'.
type resourceFlag struct{ p *map[string]float64 }

func (r resourceFlag) String() string {
	if r.p == nil {
		return ""
	}
	var parts []string
	for k, v := range *r.p {
		parts = append(parts, k+"="+strconv.FormatFloat(v, 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}

func (r resourceFlag) Set(v string) error {
	i := strings.LastIndexByte(v, '=')
	if i <= 0 {
		return fmt.Errorf("want name=amount, got %q", v)
	}
	amt, err := strconv.ParseFloat(v[i+1:], 64)
	if err != nil {
		return fmt.Errorf("resource %q: amount %q is not a number", v[:i], v[i+1:])
	}
	if *r.p == nil {
		*r.p = map[string]float64{}
	}
	(*r.p)[v[:i]] = amt
	return nil
}

// bindFlags defines one flag per config key, named by its dotted TOML key and
// writing straight into c (so flags override whatever c holds).
func bindFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.NodeName, "node_name", c.NodeName, "node name (default: host name)")
	fs.BoolVar(&c.Dev, "dev", c.Dev, "run a one-node dev cluster bound to loopback")
	fs.Var(stringList{&c.Join}, "join", "gossip address of a member to join (repeatable, comma-separated)")
	fs.StringVar(&c.DataDir, "data_dir", c.DataDir, "data directory")

	fs.StringVar(&c.Gossip.BindAddr, "gossip.bind_addr", c.Gossip.BindAddr, "gossip bind IP (default 0.0.0.0; 127.0.0.1 with -dev)")
	fs.IntVar(&c.Gossip.Port, "gossip.port", c.Gossip.Port, "gossip port (UDP+TCP); 0 picks a free one")
	fs.StringVar(&c.Gossip.AdvertiseAddr, "gossip.advertise_addr", c.Gossip.AdvertiseAddr, "gossip address peers dial")
	fs.IntVar(&c.Gossip.AdvertisePort, "gossip.advertise_port", c.Gossip.AdvertisePort, "gossip port peers dial")
	fs.StringVar(&c.Gossip.Preset, "gossip.preset", c.Gossip.Preset, "gossip timings: lan, local or fast")
	fs.StringVar(&c.Gossip.EncryptKey, "gossip.encrypt_key", c.Gossip.EncryptKey, "base64 gossip key (16, 24 or 32 bytes)")

	fs.StringVar(&c.RPC.BindAddr, "rpc.bind_addr", c.RPC.BindAddr, "RPC bind IP")
	fs.IntVar(&c.RPC.Port, "rpc.port", c.RPC.Port, "RPC port; 0 picks a free one")
	fs.StringVar(&c.RPC.AdvertiseAddr, "rpc.advertise_addr", c.RPC.AdvertiseAddr, "RPC address peers dial")
	fs.IntVar(&c.RPC.AdvertisePort, "rpc.advertise_port", c.RPC.AdvertisePort, "RPC port peers dial")
	fs.StringVar(&c.RPC.TLSCertFile, "rpc.tls_cert_file", c.RPC.TLSCertFile, "PEM certificate for RPC TLS")
	fs.StringVar(&c.RPC.TLSKeyFile, "rpc.tls_key_file", c.RPC.TLSKeyFile, "PEM key for RPC TLS")
	fs.StringVar(&c.RPC.TLSCAFile, "rpc.tls_ca_file", c.RPC.TLSCAFile, "PEM CA for mutual RPC TLS")

	fs.StringVar(&c.HTTP.BindAddr, "http.bind_addr", c.HTTP.BindAddr, "HTTP API bind IP")
	fs.IntVar(&c.HTTP.Port, "http.port", c.HTTP.Port, "HTTP API port; 0 picks a free one")
	fs.StringVar(&c.HTTP.AdvertiseAddr, "http.advertise_addr", c.HTTP.AdvertiseAddr, "HTTP address advertised to peers")
	fs.IntVar(&c.HTTP.AdvertisePort, "http.advertise_port", c.HTTP.AdvertisePort, "HTTP port advertised to peers")
	fs.StringVar(&c.HTTP.Token, "http.token", c.HTTP.Token, "bearer token required by the HTTP API")

	fs.Float64Var(&c.Resources.CPU, "resources.cpu", c.Resources.CPU, "CPUs offered (default: all)")
	fs.Var(&c.Resources.Memory, "resources.memory", "memory offered, e.g. 64GiB (default: all RAM)")
	fs.Float64Var(&c.Resources.GPU, "resources.gpu", c.Resources.GPU, "GPUs offered (-1: detect with nvidia-smi)")
	fs.Var(resourceFlag{&c.Resources.Custom}, "resources.custom", "custom resource name=amount (repeatable)")

	fs.Var(&c.ObjectStore.Memory, "object_store.memory", "object store memory limit (default: 30% of RAM)")
	fs.StringVar(&c.ObjectStore.SpillDir, "object_store.spill_dir", c.ObjectStore.SpillDir, "spill directory (default: <data_dir>/spill)")
	fs.Var(&c.ObjectStore.WarmReserve, "object_store.warm_reserve", "pre-faulted memory kept for large incoming objects, e.g. 256MiB; 0: off (default: min(256MiB, object_store.memory/4))")

	fs.Var(stringList{&c.Worker.Command}, "worker.command", "worker argv element (repeatable, comma-separated; default: gorayd itself)")
	fs.IntVar(&c.Worker.MaxWorkers, "worker.max_workers", c.Worker.MaxWorkers, "cap on task workers (default 4×CPUs+4)")
	fs.IntVar(&c.Worker.Prestart, "worker.prestart", c.Worker.Prestart, "workers started with the node (0: one per CPU, -1: none)")
	fs.Var(&c.Worker.LogMaxSize, "worker.log_max_size", "rotate a worker's log file at this size (default 512MiB)")
	fs.IntVar(&c.Worker.LogBackups, "worker.log_backups", c.Worker.LogBackups, "rotated files kept per worker log (0: 5, -1: none)")
	fs.StringVar(&c.Worker.BinaryCacheDir, "worker.binary_cache_dir", c.Worker.BinaryCacheDir, "drivers' programs cache (default: shared $TMPDIR/goray-bin-<uid>; relative: under data_dir)")
	fs.StringVar(&c.Driver.TCPAddr, "driver.tcp_addr", c.Driver.TCPAddr, "host:port for drivers on other machines (GORAY_ADDRESS=tcp://host:port); default off")

	fs.Var(&c.Scheduler.PendingWarning, "scheduler.pending_warning", "warn a driver whose work waited this long for resources (default 10s; negative: never)")
	fs.Var(&c.Scheduler.DrainTimeout, "scheduler.drain_timeout", "on SIGTERM, how long forwarded tasks may finish before they are handed back (default 30s)")

	fs.StringVar(&c.Log.Level, "log.level", c.Log.Level, "log level: debug, info, warn, error")
	fs.StringVar(&c.Log.Format, "log.format", c.Log.Format, "log format: text or json")
}

// LoadConfig builds a Config from command-line arguments: defaults, then the
// file named by -config (if any), then flags, then Finalize and Validate. The
// flag names are the dotted TOML keys. Errors match ErrInvalidConfig and name
// file:line for settings that came from the file; flag.ErrHelp is returned
// for -h.
func LoadConfig(ctx context.Context, name string, args []string, output io.Writer) (Config, error) {
	cfg := DefaultConfig()
	// First pass: only -config, so the file is loaded before flags override.
	path := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-config" || a == "--config" {
			if i+1 < len(args) {
				path = args[i+1]
			}
			break
		}
		if v, ok := strings.CutPrefix("-"+strings.TrimLeft(a, "-"), "-config="); ok {
			path = v
			break
		}
	}
	var positions map[string]int
	if path != "" {
		var err error
		positions, err = LoadFile(path, &cfg)
		if err != nil {
			return cfg, err
		}
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(output)
	fs.String("config", path, "TOML config file (flags override its keys)")
	bindFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return cfg, err
		}
		return cfg, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%w: unexpected arguments %q", ErrInvalidConfig, fs.Args())
	}
	cfg.Finalize(ctx)
	if err := cfg.Validate(); err != nil {
		return cfg, AnnotatePositions(err, path, positions)
	}
	return cfg, nil
}
