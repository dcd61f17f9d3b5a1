package envs

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Environment variables the registry reads.
const (
	// PluginDirEnv names a directory of user env plugin binaries.
	PluginDirEnv = "GORAY_PLUGIN_DIR"
	// BuiltinPluginEnv is the path of a goray binary to run as the built-in
	// env plugin, for programs that do not call ServeBuiltinIfRequested.
	BuiltinPluginEnv = "GORAY_BUILTIN_PLUGIN"
	// BuiltinPluginName is Spec.Plugin for the envs compiled into goray.
	BuiltinPluginName = "builtin"
)

// RegistryConfig says where env IDs come from. The TOML part is what users
// configure; Builtin and Logger are wired by the program.
type RegistryConfig struct {
	// PluginDir holds user plugin binaries (every executable regular file is
	// asked for its specs). Empty means $GORAY_PLUGIN_DIR; no directory is
	// fine.
	PluginDir string `toml:"plugin_dir"`
	// Plugins are plugin binaries named explicitly (job files pass these).
	Plugins []string `toml:"plugins"`
	// Checksums pins the sha256 (hex) of plugin binaries, keyed by the path
	// as configured or by the binary's base name.
	Checksums map[string]string `toml:"checksums"`
	// BuiltinPlugin is the goray binary that serves the built-in envs as a
	// plugin. Empty means $GORAY_BUILTIN_PLUGIN, else this executable
	// re-executed with GORAY_ENV_PLUGIN=builtin.
	BuiltinPlugin string `toml:"builtin_plugin"`
	// BuiltinInProcess runs the built-in envs inside the calling process by
	// default instead of in the built-in plugin process. The subprocess is
	// the default (crash isolation); with the shared-memory transport it
	// steps CartPole at ~71% of the in-process rate at N=256, but ~15-27%
	// at N=16 and ~2% at N=1 (see the package doc), so small vectors that
	// need no isolation may want this.
	BuiltinInProcess bool `toml:"builtin_in_process"`

	// Builtin are the in-process factories of the built-in envs (the
	// envplugin package fills in the classic envs).
	Builtin map[string]Factory `toml:"-"`
	// Host tunes plugin processes (logger, start timeout).
	Host HostOptions `toml:"-"`
}

// Validate checks the checksums' encoding.
func (c RegistryConfig) Validate() error {
	for k, v := range c.Checksums {
		b, err := hex.DecodeString(v)
		if err != nil || len(b) != 32 {
			return fmt.Errorf("env registry: checksums.%q = %q: want 64 hex digits of a sha256", k, v)
		}
	}
	return nil
}

// MakeOptions choose the path of one Make; they override
// RegistryConfig.BuiltinInProcess. Envs of external plugins always run in
// their plugin.
type MakeOptions struct {
	// InProcess runs a built-in env inside the calling process (the fast
	// path, without crash isolation).
	InProcess bool
	// Subprocess runs a built-in env in the built-in plugin process (the
	// default unless RegistryConfig.BuiltinInProcess is set).
	Subprocess bool
}

// entry is where one env ID comes from.
type entry struct {
	spec    Spec
	factory Factory // built-in envs only
	bin     PluginBinary
}

// Registry maps env IDs to their source: the built-in envs (in-process
// factories and the built-in plugin binary), user plugins in the plugin
// directory and binaries added explicitly. Later sources override earlier
// ones: built-in < plugin directory < explicit binaries. It is safe for
// concurrent use.
type Registry struct {
	cfg    RegistryConfig
	logger *slog.Logger

	mu       sync.Mutex
	loaded   bool
	entries  map[string]entry
	warnings []error
}

// NewRegistry makes a registry; plugins are discovered lazily by the first
// List, Spec or Make (or by Load).
func NewRegistry(cfg RegistryConfig) (*Registry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := cfg.Host.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	r := &Registry{cfg: cfg, logger: l, entries: map[string]entry{}}
	bin, err := r.builtinBinary()
	if err != nil {
		return nil, err
	}
	for id, f := range cfg.Builtin {
		spec, err := SpecOf(id, f)
		if err != nil {
			return nil, err
		}
		spec.Plugin = BuiltinPluginName
		r.entries[id] = entry{spec: spec, factory: f, bin: bin}
	}
	return r, nil
}

func (r *Registry) builtinBinary() (PluginBinary, error) {
	path := r.cfg.BuiltinPlugin
	if path == "" {
		path = os.Getenv(BuiltinPluginEnv)
	}
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return PluginBinary{}, fmt.Errorf("env registry: locate this executable for the built-in plugin: %w", err)
		}
		path = exe
	}
	return PluginBinary{Name: BuiltinPluginName, Path: path, Env: []string{BuiltinModeEnv + "=builtin"},
		Checksum: r.checksum(path), Builtin: true}, nil
}

func (r *Registry) checksum(path string) []byte {
	h, ok := r.cfg.Checksums[path]
	if !ok {
		h, ok = r.cfg.Checksums[filepath.Base(path)]
	}
	if !ok {
		return nil
	}
	b, _ := hex.DecodeString(h) // validated by NewRegistry
	return b
}

// Load discovers the plugin directory and the configured binaries once.
// A broken binary in the plugin directory is logged and skipped (see
// Warnings); a broken explicitly configured binary is an error.
func (r *Registry) Load(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded {
		return nil
	}
	r.warnings = nil // a retry after a failed Load starts over
	dir := r.cfg.PluginDir
	if dir == "" {
		dir = os.Getenv(PluginDirEnv)
	}
	if dir != "" {
		paths, err := pluginDirBinaries(dir)
		if err != nil {
			return fmt.Errorf("env registry: plugin dir: %w", err)
		}
		for _, p := range paths {
			if _, err := r.addLocked(ctx, p, r.checksum(p)); err != nil {
				r.logger.Warn("skipping env plugin", "path", p, "err", err)
				r.warnings = append(r.warnings, err)
			}
		}
	}
	for _, p := range r.cfg.Plugins {
		if _, err := r.addLocked(ctx, p, r.checksum(p)); err != nil {
			return err
		}
	}
	r.loaded = true
	return nil
}

// Warnings returns the errors of plugin-directory binaries that Load skipped.
func (r *Registry) Warnings() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.warnings...)
}

func pluginDirBinaries(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		out = append(out, filepath.Join(dir, e.Name()))
	}
	sort.Strings(out)
	return out, nil
}

// AddPlugin starts the binary at path, registers every env it serves and
// returns their specs. checksum (sha256, may be nil) pins the binary.
func (r *Registry) AddPlugin(ctx context.Context, path string, checksum []byte) ([]Spec, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if checksum == nil {
		checksum = r.checksum(path)
	}
	return r.addLocked(ctx, path, checksum)
}

func (r *Registry) addLocked(ctx context.Context, path string, checksum []byte) ([]Spec, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("env plugin %s: %w", path, err)
	}
	bin := PluginBinary{Path: abs, Checksum: checksum}
	specs, err := ListPluginSpecs(ctx, bin, r.cfg.Host)
	if err != nil {
		return nil, err
	}
	for _, s := range specs {
		if old, ok := r.entries[s.ID]; ok {
			r.logger.Info("env plugin overrides env", "env", s.ID, "plugin", bin.name(), "previous", old.spec.Plugin)
		}
		r.entries[s.ID] = entry{spec: s, bin: bin}
	}
	return specs, nil
}

// List returns the specs of every known env, sorted by ID, each with the
// plugin it comes from.
func (r *Registry) List(ctx context.Context) ([]Spec, error) {
	if err := r.Load(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Spec, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e.spec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Spec returns the spec of one env ID.
func (r *Registry) Spec(ctx context.Context, id string) (Spec, error) {
	e, err := r.lookup(ctx, id)
	return e.spec, err
}

func (r *Registry) lookup(ctx context.Context, id string) (entry, error) {
	if err := r.Load(ctx); err != nil {
		return entry{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[id]
	if !ok {
		ids := make([]string, 0, len(r.entries))
		for k := range r.entries {
			ids = append(ids, k)
		}
		sort.Strings(ids)
		return entry{}, &EnvError{ID: id, Err: fmt.Errorf("%w (known: %s)", ErrUnknownEnv, strings.Join(ids, ", "))}
	}
	return e, nil
}

// Make makes a vector of cfg.ID. Built-in envs run in the built-in plugin
// process unless the in-process path was asked for (MakeOptions.InProcess,
// or RegistryConfig.BuiltinInProcess without MakeOptions.Subprocess); other
// envs run in their plugin. The built-in plugin is this executable
// re-executed, so a program that makes built-in envs must call
// envplugin.ServeBuiltinIfRequested first thing in main and TestMain (or
// set GORAY_BUILTIN_PLUGIN to a goray binary). The plugin-path VectorEnv is a *PluginVector,
// which also implements Restarter.
func (r *Registry) Make(ctx context.Context, cfg VectorConfig, opts MakeOptions) (VectorEnv, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e, err := r.lookup(ctx, cfg.ID)
	if err != nil {
		return nil, err
	}
	inProcess := opts.InProcess || (!opts.Subprocess && r.cfg.BuiltinInProcess)
	if e.factory != nil && inProcess {
		return NewVector(e.factory, cfg)
	}
	v, err := MakePluginVector(ctx, e.bin, cfg, r.cfg.Host)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Maker returns Make with fixed options: the func(ctx, cfg) shape that
// rollout workers take to build their envs.
func (r *Registry) Maker(opts MakeOptions) func(context.Context, VectorConfig) (VectorEnv, error) {
	return func(ctx context.Context, cfg VectorConfig) (VectorEnv, error) { return r.Make(ctx, cfg, opts) }
}
