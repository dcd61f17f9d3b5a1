package agent

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/objectstore"
)

// Default ports. HTTP uses Ray's dashboard port so `goray status` and a
// browser find it where Ray users expect.
const (
	DefaultGossipPort = 7946
	DefaultRPCPort    = 7947
	DefaultHTTPPort   = 8265
)

// Standard resource names, as in Ray.
const (
	ResourceCPU         = "CPU"
	ResourceGPU         = "GPU"
	ResourceMemory      = "memory"
	ResourceObjectStore = "object_store_memory"
)

// ErrInvalidConfig wraps every configuration error; the message names the
// file, line and key where known.
var ErrInvalidConfig = errors.New("invalid gorayd config")

// Config is gorayd's whole configuration: one TOML file and the same keys as
// flags (flag name = dotted TOML key, e.g. -gossip.port). Zero values mean
// "default"; Finalize fills them in.
type Config struct {
	// NodeName is the human name of this node (default: host name; "dev" in
	// dev mode). Not an identity: the node ID is new on every start.
	NodeName string `toml:"node_name"`
	// Dev runs a one-node cluster bound to loopback unless bind addresses are
	// given explicitly.
	Dev bool `toml:"dev"`
	// Join lists gossip addresses (host or host:port) of existing members;
	// joining is retried with backoff until one answers or the agent stops.
	Join []string `toml:"join"`
	// DataDir holds the node's files (default: $TMPDIR/gorayd-<node name>).
	DataDir string `toml:"data_dir"`

	Gossip      GossipConfig      `toml:"gossip"`
	RPC         RPCConfig         `toml:"rpc"`
	HTTP        HTTPConfig        `toml:"http"`
	Resources   ResourcesConfig   `toml:"resources"`
	ObjectStore ObjectStoreConfig `toml:"object_store"`
	Worker      WorkerConfig      `toml:"worker"`
	Driver      DriverConfig      `toml:"driver"`
	Scheduler   SchedulerConfig   `toml:"scheduler"`
	Log         LogConfig         `toml:"log"`
}

// DriverConfig configures how drivers reach the daemon's node besides its
// unix socket.
type DriverConfig struct {
	// TCPAddr, when set, is a host:port where drivers on other machines
	// connect with GORAY_ADDRESS=tcp://host:port. Off by default: such a
	// driver can upload and run its program, so bind it only where
	// trusted machines reach it.
	TCPAddr string `toml:"tcp_addr"`
}

// WorkerConfig configures the worker processes of the daemon's node.
type WorkerConfig struct {
	// Command is the argv that starts a worker; empty means gorayd's own
	// binary. A worker runs only functions registered in its binary, so a
	// cluster whose jobs use their own functions points this at a binary
	// that registers them (and calls goray.MaybeRunWorker first in main).
	Command []string `toml:"command"`
	// MaxWorkers caps task workers; 0 means 4×CPUs+4.
	MaxWorkers int `toml:"max_workers"`
	// Prestart is how many workers start with the node: 0 means one per
	// CPU, -1 none (workers then start on first use).
	Prestart int `toml:"prestart"`
	// BinaryCacheDir is where the node keeps its content-addressed copies
	// of drivers' programs. Empty means one cache shared by every daemon
	// of this user on the machine ($TMPDIR/goray-bin-<uid>); a relative
	// path is under data_dir ("bin" gives each daemon its own, so that
	// programs reach it over the network even from a daemon on the same
	// machine).
	BinaryCacheDir string `toml:"binary_cache_dir"`
	// LogMaxSize caps one worker's log file
	// (<data_dir>/logs/workers/worker-<pid>.log): once the file reaches
	// it, its content moves to worker-<pid>.log.1 and the file starts
	// empty, so a chatty long-lived actor cannot fill the disk. 0 means
	// the default, 512MiB (Ray's RAY_ROTATION_MAX_BYTES).
	LogMaxSize ByteSize `toml:"log_max_size"`
	// LogBackups is how many rotated files each worker keeps
	// (worker-<pid>.log.1, the newest, to .N); 0 means the default, 5
	// (Ray's RAY_ROTATION_BACKUP_COUNT), and -1 keeps none: the file is
	// just emptied.
	LogBackups int `toml:"log_backups"`
}

// Defaults of the worker log rotation keys (Ray's).
const (
	DefaultWorkerLogMaxSize ByteSize = 512 << 20
	DefaultWorkerLogBackups          = 5
)

// GossipConfig configures membership (memberlist).
type GossipConfig struct {
	BindAddr      string `toml:"bind_addr"`      // default 0.0.0.0 (127.0.0.1 in dev mode)
	Port          int    `toml:"port"`           // default 7946; 0 after Finalize only if set to -1 (pick free)
	AdvertiseAddr string `toml:"advertise_addr"` // default: bind address, or a private IP when binding all
	AdvertisePort int    `toml:"advertise_port"` // default: port
	// Preset is "lan" (default), "local" or "fast" (test timings).
	Preset string `toml:"preset"`
	// EncryptKey is a base64 AES key of 16, 24 or 32 bytes; all nodes must
	// share it.
	EncryptKey string `toml:"encrypt_key"`
}

// RPCConfig configures daemon-to-daemon gRPC.
type RPCConfig struct {
	BindAddr      string `toml:"bind_addr"`
	Port          int    `toml:"port"` // default 7947
	AdvertiseAddr string `toml:"advertise_addr"`
	AdvertisePort int    `toml:"advertise_port"`
	TLSCertFile   string `toml:"tls_cert_file"`
	TLSKeyFile    string `toml:"tls_key_file"`
	TLSCAFile     string `toml:"tls_ca_file"` // set: mutual TLS
}

// HTTPConfig configures the HTTP API.
type HTTPConfig struct {
	BindAddr      string `toml:"bind_addr"`
	Port          int    `toml:"port"` // default 8265
	AdvertiseAddr string `toml:"advertise_addr"`
	AdvertisePort int    `toml:"advertise_port"`
	// Token, when set, must be sent as "Authorization: Bearer <token>" on
	// every endpoint except /v1/health.
	Token string `toml:"token"`
}

// ResourcesConfig sets what this node offers to the scheduler.
type ResourcesConfig struct {
	// CPU defaults to the number of logical CPUs.
	CPU float64 `toml:"cpu"`
	// Memory in bytes ("64GiB" accepted) defaults to total RAM.
	Memory ByteSize `toml:"memory"`
	// GPU is detected with nvidia-smi when negative (the default, -1).
	GPU float64 `toml:"gpu"`
	// Custom resources, e.g. "accelerator_type:H200" = 1.
	Custom map[string]float64 `toml:"custom"`
}

// ObjectStoreConfig configures the node's object store.
type ObjectStoreConfig struct {
	// Memory limit in bytes; default 30% of RAM (Ray's default).
	Memory ByteSize `toml:"memory"`
	// SpillDir defaults to <data_dir>/spill.
	SpillDir string `toml:"spill_dir"`
	// WarmReserve bounds the memory the store pre-allocates and pre-faults for
	// large objects of the sizes it recently received, so that transfers land
	// in populated pages; it yields to objects. 0 disables it; the default
	// (-1 until Finalize) is min(256MiB, memory/4).
	WarmReserve ByteSize `toml:"warm_reserve"`
}

// WarmReserveAuto is ObjectStoreConfig.WarmReserve's default before Finalize:
// min(256MiB, object_store.memory/4).
const WarmReserveAuto ByteSize = -1

// LogConfig configures the daemon's slog logger.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info (default), warn, error
	Format string `toml:"format"` // text (default) or json
}

// DefaultConfig returns a config with every default that does not depend on
// the machine; Finalize adds the rest.
func DefaultConfig() Config {
	return Config{
		Gossip:      GossipConfig{Port: DefaultGossipPort, Preset: cluster.PresetLAN},
		RPC:         RPCConfig{Port: DefaultRPCPort},
		HTTP:        HTTPConfig{Port: DefaultHTTPPort},
		Resources:   ResourcesConfig{GPU: -1},
		Log:         LogConfig{Level: "info", Format: "text"},
		ObjectStore: ObjectStoreConfig{WarmReserve: WarmReserveAuto},
	}
}

// FieldError is one invalid setting. Key is the dotted TOML key (also the
// flag name).
type FieldError struct {
	Key string
	Msg string
	// Pos is "file:line" when the value came from a config file.
	Pos string
}

// Error formats the problem as "file:line: key: message".
func (e *FieldError) Error() string {
	if e.Pos != "" {
		return fmt.Sprintf("%s: %s: %s", e.Pos, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Key, e.Msg)
}

// Unwrap makes every FieldError match ErrInvalidConfig.
func (e *FieldError) Unwrap() error { return ErrInvalidConfig }

// Finalize fills machine-dependent defaults: bind addresses (loopback in dev
// mode), node name, CPU and memory from the machine, GPUs from nvidia-smi,
// data and spill directories. It is idempotent.
func (c *Config) Finalize(ctx context.Context) {
	bind := "0.0.0.0"
	if c.Dev {
		bind = "127.0.0.1"
	}
	for _, p := range []*string{&c.Gossip.BindAddr, &c.RPC.BindAddr, &c.HTTP.BindAddr} {
		if *p == "" {
			*p = bind
		}
	}
	if c.NodeName == "" {
		if c.Dev {
			c.NodeName = "dev"
		} else if h, err := os.Hostname(); err == nil {
			c.NodeName = h
		} else {
			c.NodeName = "gorayd"
		}
	}
	if c.Gossip.Preset == "" {
		c.Gossip.Preset = cluster.PresetLAN
	}
	if c.Resources.CPU == 0 {
		c.Resources.CPU = float64(goruntime.NumCPU())
	}
	total := totalMemory()
	if c.Resources.Memory == 0 {
		c.Resources.Memory = ByteSize(total)
	}
	if c.ObjectStore.Memory == 0 {
		c.ObjectStore.Memory = ByteSize(total * 3 / 10)
	}
	if c.ObjectStore.WarmReserve == WarmReserveAuto {
		c.ObjectStore.WarmReserve = ByteSize(objectstore.DefaultWarmReserve(int64(c.ObjectStore.Memory)))
	}
	if c.Resources.GPU == -1 {
		n, model := DetectGPUs(ctx)
		c.Resources.GPU = float64(n)
		if model != "" {
			key := "accelerator_type:" + model
			if _, set := c.Resources.Custom[key]; !set {
				if c.Resources.Custom == nil {
					c.Resources.Custom = map[string]float64{}
				}
				c.Resources.Custom[key] = 1
			}
		}
	}
	if c.DataDir == "" {
		c.DataDir = filepath.Join(os.TempDir(), "gorayd-"+c.NodeName)
	}
	if c.ObjectStore.SpillDir == "" {
		c.ObjectStore.SpillDir = filepath.Join(c.DataDir, "spill")
	}
	if c.Worker.LogMaxSize == 0 {
		c.Worker.LogMaxSize = DefaultWorkerLogMaxSize
	}
	if c.Worker.LogBackups == 0 {
		c.Worker.LogBackups = DefaultWorkerLogBackups
	}
	if d := c.Worker.BinaryCacheDir; d != "" && !filepath.IsAbs(d) {
		c.Worker.BinaryCacheDir = filepath.Join(c.DataDir, d)
	}
	c.Scheduler.finalize()
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
}

// Validate reports every invalid setting at once (errors.Join of
// *FieldError, each matching ErrInvalidConfig).
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if c.NodeName == "" {
		bad("node_name", "must not be empty")
	}
	ports := []struct {
		key  string
		port int
	}{
		{"gossip.port", c.Gossip.Port}, {"gossip.advertise_port", c.Gossip.AdvertisePort},
		{"rpc.port", c.RPC.Port}, {"rpc.advertise_port", c.RPC.AdvertisePort},
		{"http.port", c.HTTP.Port}, {"http.advertise_port", c.HTTP.AdvertisePort},
	}
	for _, p := range ports {
		if p.port < 0 || p.port > 65535 {
			bad(p.key, "port %d out of range 0..65535", p.port)
		}
	}
	addrs := []struct{ key, addr string }{
		{"gossip.bind_addr", c.Gossip.BindAddr}, {"gossip.advertise_addr", c.Gossip.AdvertiseAddr},
		{"rpc.bind_addr", c.RPC.BindAddr}, {"rpc.advertise_addr", c.RPC.AdvertiseAddr},
		{"http.bind_addr", c.HTTP.BindAddr}, {"http.advertise_addr", c.HTTP.AdvertiseAddr},
	}
	for _, a := range addrs {
		if a.addr != "" && net.ParseIP(a.addr) == nil {
			bad(a.key, "%q is not an IP address", a.addr)
		}
	}
	if a := c.Driver.TCPAddr; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad("driver.tcp_addr", "%q: %v", a, err)
		}
	}
	if c.Dev && len(c.Join) > 0 {
		bad("join", "not allowed with dev mode (a dev agent is a one-node cluster)")
	}
	for i, j := range c.Join {
		if _, _, err := splitJoin(j); err != nil {
			bad("join", "entry %d %q: %v", i, j, err)
		}
	}
	switch c.Gossip.Preset {
	case cluster.PresetLAN, cluster.PresetLocal, cluster.PresetFast, "":
	default:
		bad("gossip.preset", "%q: want lan, local or fast", c.Gossip.Preset)
	}
	if _, err := c.EncryptKeyBytes(); err != nil {
		bad("gossip.encrypt_key", "%v", err)
	}
	if (c.RPC.TLSCertFile == "") != (c.RPC.TLSKeyFile == "") {
		bad("rpc.tls_cert_file", "tls_cert_file and tls_key_file must be set together")
	}
	if c.RPC.TLSCAFile != "" && c.RPC.TLSCertFile == "" {
		bad("rpc.tls_ca_file", "needs rpc.tls_cert_file and rpc.tls_key_file (mutual TLS)")
	}
	for _, f := range []struct{ key, path string }{
		{"rpc.tls_cert_file", c.RPC.TLSCertFile}, {"rpc.tls_key_file", c.RPC.TLSKeyFile}, {"rpc.tls_ca_file", c.RPC.TLSCAFile},
	} {
		if f.path != "" {
			if _, err := os.Stat(f.path); err != nil {
				bad(f.key, "%v", err)
			}
		}
	}
	checkAmount := func(key string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			bad(key, "%v: must be a finite amount >= 0", v)
		}
	}
	checkAmount("resources.cpu", c.Resources.CPU)
	if c.Resources.GPU != -1 {
		checkAmount("resources.gpu", c.Resources.GPU)
	}
	if c.Resources.Memory < 0 {
		bad("resources.memory", "%d: must be >= 0", int64(c.Resources.Memory))
	}
	if c.ObjectStore.Memory < 0 {
		bad("object_store.memory", "%d: must be >= 0", int64(c.ObjectStore.Memory))
	}
	if w := c.ObjectStore.WarmReserve; w < 0 || (c.ObjectStore.Memory > 0 && w > c.ObjectStore.Memory) {
		bad("object_store.warm_reserve", "%d: must be between 0 (off) and object_store.memory (%d)", int64(w), int64(c.ObjectStore.Memory))
	}
	names := make([]string, 0, len(c.Resources.Custom))
	for k := range c.Resources.Custom {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch {
		case strings.TrimSpace(k) == "":
			bad("resources.custom", "empty resource name")
		case k == ResourceCPU || k == ResourceGPU || k == ResourceMemory || k == ResourceObjectStore:
			bad("resources.custom", "%q is a standard resource; set it with its own key", k)
		default:
			checkAmount("resources.custom."+k, c.Resources.Custom[k])
		}
	}
	if c.Worker.MaxWorkers < 0 {
		bad("worker.max_workers", "%d: must be >= 0", c.Worker.MaxWorkers)
	}
	if c.Worker.Prestart < -1 {
		bad("worker.prestart", "%d: want -1 (none), 0 (one per CPU) or a count", c.Worker.Prestart)
	}
	if c.Worker.LogMaxSize < 0 {
		bad("worker.log_max_size", "%d: must be a size >= 0 (0: the default, 512MiB)", c.Worker.LogMaxSize)
	}
	if c.Worker.LogBackups < -1 {
		bad("worker.log_backups", "%d: want -1 (keep none), 0 (the default, 5) or a count", c.Worker.LogBackups)
	}
	if len(c.Worker.Command) > 0 && strings.TrimSpace(c.Worker.Command[0]) == "" {
		bad("worker.command", "the program (first element) must not be empty")
	}
	c.Scheduler.validate(bad)
	switch c.Log.Level {
	case "debug", "info", "warn", "error", "":
	default:
		bad("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json", "":
	default:
		bad("log.format", "%q: want text or json", c.Log.Format)
	}
	// The advertised metadata must fit memberlist's 512 B; check it with
	// addresses as long as real ones can be.
	meta := cluster.NodeMeta{
		Version: Version, ID: cluster.NewNodeID(), Name: c.NodeName,
		RPCAddr: "255.255.255.255:65535", HTTPAddr: "255.255.255.255:65535",
		Resources: c.TotalResources(),
	}
	if err := meta.Validate(); err != nil {
		bad("resources.custom", "%v", err)
	}
	return errors.Join(errs...)
}

// EncryptKeyBytes decodes gossip.encrypt_key (nil when unset).
func (c *Config) EncryptKeyBytes() ([]byte, error) {
	if c.Gossip.EncryptKey == "" {
		return nil, nil
	}
	k, err := base64.StdEncoding.DecodeString(c.Gossip.EncryptKey)
	if err != nil {
		return nil, fmt.Errorf("not valid base64: %w", err)
	}
	switch len(k) {
	case 16, 24, 32:
		return k, nil
	}
	return nil, fmt.Errorf("decodes to %d bytes; want 16, 24 or 32 (AES-128/192/256)", len(k))
}

// TotalResources is what the node advertises: CPU, GPU, memory,
// object_store_memory and custom resources (zero amounts omitted).
func (c *Config) TotalResources() map[string]float64 {
	r := map[string]float64{}
	add := func(k string, v float64) {
		if v > 0 {
			r[k] = v
		}
	}
	add(ResourceCPU, c.Resources.CPU)
	add(ResourceGPU, c.Resources.GPU)
	add(ResourceMemory, float64(c.Resources.Memory))
	add(ResourceObjectStore, float64(c.ObjectStore.Memory))
	for k, v := range c.Resources.Custom {
		add(k, v)
	}
	return r
}

// splitJoin parses a join address; a missing port means the default gossip
// port.
func splitJoin(s string) (host string, port int, err error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return s, DefaultGossipPort, nil
		}
		return "", 0, err
	}
	port, err = strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if h == "" {
		return "", 0, errors.New("empty host")
	}
	return h, port, nil
}

// JoinAddrs returns the join list with default ports filled in.
func (c *Config) JoinAddrs() []string {
	out := make([]string, 0, len(c.Join))
	for _, j := range c.Join {
		if h, p, err := splitJoin(j); err == nil {
			out = append(out, net.JoinHostPort(h, strconv.Itoa(p)))
		}
	}
	return out
}

// LoadFile decodes a TOML file over cfg. Unknown keys and type errors are
// reported with file:line; validation errors of keys set in the file carry
// their line too (see Validate and AnnotatePositions).
func LoadFile(path string, cfg *Config) (positions map[string]int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	md, err := toml.Decode(string(data), cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg := pe.Message
			if pe.LastKey != "" {
				msg = pe.LastKey + ": " + msg
			}
			return nil, fmt.Errorf("%w: %s:%d: %s", ErrInvalidConfig, path, pe.Position.Line, msg)
		}
		// Type mismatches come as plain errors: `toml: line N (last key "k"): msg`.
		if m := tomlLineErr.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%w: %s:%s: %s: %s", ErrInvalidConfig, path, m[1], m[2], m[3])
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidConfig, path, err)
	}
	positions = keyLines(string(data))
	var errs []error
	for _, k := range md.Undecoded() {
		key := k.String()
		fe := &FieldError{Key: key, Msg: "unknown key"}
		if line, ok := positions[key]; ok {
			fe.Pos = fmt.Sprintf("%s:%d", path, line)
		} else {
			fe.Pos = path
		}
		errs = append(errs, fe)
	}
	return positions, errors.Join(errs...)
}

// AnnotatePositions adds file:line to the FieldErrors in err whose key (or
// parent table) was set in the file.
func AnnotatePositions(err error, path string, positions map[string]int) error {
	if err == nil || path == "" {
		return err
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var fe *FieldError
		if errors.As(e, &fe) && fe.Pos == "" {
			for k := fe.Key; k != ""; {
				if line, ok := positions[k]; ok {
					fe.Pos = fmt.Sprintf("%s:%d", path, line)
					break
				}
				i := strings.LastIndexByte(k, '.')
				if i < 0 {
					break
				}
				k = k[:i]
			}
		}
	}
	return err
}

var tomlLineErr = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// keyLines maps dotted keys to the line that sets them, for error messages.
// It understands [table] headers, dotted keys and quoted key parts, which is
// all gorayd's config needs; values are not parsed (toml already did).
func keyLines(src string) map[string]int {
	out := map[string]int{}
	table := ""
	sc := bufio.NewScanner(strings.NewReader(src))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		if strings.HasPrefix(s, "[") {
			end := strings.LastIndexByte(s, ']')
			if end < 0 {
				continue
			}
			table = normKey(strings.Trim(s[:end+1], "[]"))
			if _, ok := out[table]; !ok {
				out[table] = line
			}
			continue
		}
		eq := indexUnquoted(s, '=')
		if eq < 0 {
			continue
		}
		key := normKey(s[:eq])
		if table != "" {
			key = table + "." + key
		}
		if _, ok := out[key]; !ok {
			out[key] = line
		}
	}
	return out
}

func indexUnquoted(s string, c byte) int {
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		switch {
		case quote != 0 && s[i] == quote:
			quote = 0
		case quote == 0 && (s[i] == '"' || s[i] == '\''):
			quote = s[i]
		case quote == 0 && s[i] == c:
			return i
		}
	}
	return -1
}

// normKey turns ` a . "b:c" ` into `a.b:c`, toml.Key's String form for
// simple keys.
func normKey(k string) string {
	var parts []string
	rest := strings.TrimSpace(k)
	for rest != "" {
		var part string
		if rest[0] == '"' || rest[0] == '\'' {
			end := strings.IndexByte(rest[1:], rest[0])
			if end < 0 {
				part, rest = rest[1:], ""
			} else {
				part, rest = rest[1:end+1], strings.TrimSpace(rest[end+2:])
			}
		} else {
			i := strings.IndexByte(rest, '.')
			if i < 0 {
				part, rest = strings.TrimSpace(rest), ""
			} else {
				part, rest = strings.TrimSpace(rest[:i]), rest[i:]
			}
		}
		if strings.ContainsAny(part, ". :=") || part == "" {
			part = strconv.Quote(part)
		}
		parts = append(parts, part)
		rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), "."))
	}
	return strings.Join(parts, ".")
}

// DetectGPUs counts NVIDIA GPUs with nvidia-smi (2 s limit) and returns the
// short model name ("H200" from "NVIDIA H200") when all GPUs are the same
// model. No nvidia-smi, or any failure, means zero GPUs.
func DetectGPUs(ctx context.Context) (count int, model string) {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return 0, ""
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--query-gpu=name", "--format=csv,noheader").Output()
	if err != nil {
		return 0, ""
	}
	return parseGPUList(string(out))
}

func parseGPUList(out string) (int, string) {
	var names []string
	for l := range strings.SplitSeq(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	if len(names) == 0 {
		return 0, ""
	}
	model := names[0]
	for _, n := range names[1:] {
		if n != model {
			return len(names), ""
		}
	}
	model = strings.TrimPrefix(model, "NVIDIA ")
	model = strings.ReplaceAll(strings.TrimSpace(model), " ", "-")
	return len(names), model
}

// totalMemory reads MemTotal from /proc/meminfo (0 when unavailable).
func totalMemory() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for l := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}
