package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"

	"github.com/goray/goray/internal/tomlutil"
)

// FormatVersion is the job file format this release reads. A file without a
// version key is read as version 1.
const FormatVersion = 1

// Sentinel errors for bad job files, usable with errors.Is.
var (
	ErrNoEntrypoint     = errors.New("no entrypoint: set [entrypoint] package, binary or command, or an [rllib] or [tune] table")
	ErrManyEntrypoints  = errors.New("more than one entrypoint")
	ErrBadResources     = errors.New("invalid resources")
	ErrUnknownLibrary   = errors.New("unknown library")
	ErrBadVersion       = errors.New("unsupported job file version")
	ErrMissingName      = errors.New("missing job name")
	ErrEntrypointAbsent = errors.New("entrypoint not found")
)

// Entrypoint is the driver of a code job. Exactly one of Package, Binary and
// Command is set.
type Entrypoint struct {
	// Package is a Go package path or directory (relative to working_dir),
	// built with `go build` on submit.
	Package string `toml:"package" json:"package,omitempty"`
	// Binary is a prebuilt executable (relative to working_dir).
	Binary string `toml:"binary" json:"binary,omitempty"`
	// Command is a shell command run with sh -c.
	Command string `toml:"command" json:"command,omitempty"`
	// Args are passed to the package's or binary's program, or appended to
	// the command as positional parameters.
	Args []string `toml:"args" json:"args,omitempty"`
}

// Resources are the driver's resources. Ray's entrypoint resources default
// to zero, so a driver does not hold a CPU its tasks need.
type Resources struct {
	NumCPUs float64            `toml:"num_cpus" json:"num_cpus,omitempty"`
	NumGPUs float64            `toml:"num_gpus" json:"num_gpus,omitempty"`
	Memory  int64              `toml:"memory" json:"memory,omitempty"`
	Custom  map[string]float64 `toml:"custom" json:"custom,omitempty"`
}

// Spec is a decoded job file.
type Spec struct {
	Version int    `toml:"version" json:"version"`
	Name    string `toml:"name" json:"name"`
	// WorkingDir defaults to the job file's directory. It is uploaded to
	// the cluster, content-addressed, and is the driver's working directory.
	WorkingDir string `toml:"working_dir" json:"working_dir,omitempty"`
	// OutputDir defaults to "goray-results/<name>" under working_dir.
	OutputDir  string            `toml:"output_dir" json:"output_dir,omitempty"`
	Env        map[string]string `toml:"env" json:"env,omitempty"`
	EnvPlugins []string          `toml:"env_plugins" json:"env_plugins,omitempty"`
	// Resume continues a [tune] experiment from its state in OutputDir.
	Resume     bool        `toml:"resume" json:"resume,omitempty"`
	Entrypoint *Entrypoint `toml:"entrypoint" json:"entrypoint,omitempty"`
	Resources  Resources   `toml:"resources" json:"resources"`

	RLlib toml.Primitive `toml:"rllib" json:"-"`
	Tune  toml.Primitive `toml:"tune" json:"-"`

	// Library is "rllib" or "tune" for library jobs, and LibraryConfig the
	// value its decoder returned.
	Library       string `toml:"-" json:"library,omitempty"`
	LibraryConfig any    `toml:"-" json:"-"`

	// OutputsInJobDir moves a relative output_dir from the working dir to
	// the job's own directory on the daemon: an uploaded working dir is
	// shared by every job with the same content and must stay unchanged.
	OutputsInJobDir bool `toml:"-" json:"-"`
	// WorkingDirPackage is the sha256 of the package WorkingDir was
	// unpacked from, for a job submitted with one: the driver announces
	// it, and peers that run the driver's tasks fetch it by this name.
	WorkingDirPackage string `toml:"-" json:"-"`

	// Path is the job file's absolute path; Source its text.
	Path   string `toml:"-" json:"path,omitempty"`
	Source []byte `toml:"-" json:"-"`

	// fields holds the keys' positions, so that checks made after
	// parsing (CheckResources) name the line of the field they refuse.
	fields *tomlutil.File
}

// A Library runs jobs described by a table of the job file, such as [rllib].
type Library interface {
	// Decode decodes and validates the library's table. It must decode
	// with f.Meta.PrimitiveDecode so that keys it does not know are left
	// undecoded and reported with their positions, and return errors made
	// with f.Errorf so they name file, line and key.
	Decode(f *tomlutil.File, table toml.Primitive, spec *Spec) (any, error)
	// Run runs the job as its driver, in a process already connected to
	// the cluster. report receives progress for the live progress line.
	Run(ctx context.Context, spec *Spec, cfg any, report func(Progress)) error
}

var (
	libMu     sync.RWMutex
	libraries = map[string]Library{}
)

// RegisterLibrary makes a library available to job files under name (the
// table name). It is called from the init of the binaries that link the
// library, so the job package does not import the libraries.
func RegisterLibrary(name string, lib Library) {
	libMu.Lock()
	defer libMu.Unlock()
	libraries[name] = lib
}

func library(name string) (Library, bool) {
	libMu.RLock()
	defer libMu.RUnlock()
	l, ok := libraries[name]
	return l, ok
}

// LoadFile reads and validates a job file.
func LoadFile(path string) (*Spec, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("job file %s: %w", path, err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("job file: %w", err)
	}
	return Parse(path, abs, data)
}

// Parse decodes a job file's text. name is used in error messages and abs
// anchors relative paths.
func Parse(name, abs string, data []byte) (*Spec, error) {
	return ParseWith(name, abs, data, ParseOptions{})
}

// ParseOptions adjust Parse for a job file that arrived with an uploaded
// working dir.
type ParseOptions struct {
	// WorkingDir replaces the file's working_dir: the directory the
	// working-dir package was unpacked to.
	WorkingDir string
}

// ParseWith is Parse with options.
func ParseWith(name, abs string, data []byte, opt ParseOptions) (*Spec, error) {
	spec := &Spec{Path: abs, Source: data}
	f, err := tomlutil.Decode(name, data, spec, "rllib", "tune")
	if err != nil {
		return nil, err
	}
	spec.fields = f
	if spec.Version == 0 {
		spec.Version = FormatVersion
	}
	if spec.Version != FormatVersion {
		return nil, f.Wrap("version", fmt.Errorf("%w %d (this goray reads version %d)", ErrBadVersion, spec.Version, FormatVersion))
	}
	if strings.TrimSpace(spec.Name) == "" {
		return nil, &tomlutil.FieldError{File: name, Key: "name", Err: ErrMissingName}
	}
	if opt.WorkingDir != "" {
		spec.WorkingDir = opt.WorkingDir
	} else if spec.WorkingDir == "" {
		spec.WorkingDir = filepath.Dir(abs)
	} else if !filepath.IsAbs(spec.WorkingDir) {
		spec.WorkingDir = filepath.Join(filepath.Dir(abs), spec.WorkingDir)
	}
	if st, err := os.Stat(spec.WorkingDir); err != nil || !st.IsDir() {
		return nil, f.Errorf("working_dir", "%s is not a directory", spec.WorkingDir)
	}
	if spec.OutputDir == "" {
		spec.OutputDir = filepath.Join(spec.WorkingDir, "goray-results", sanitize(spec.Name))
	} else if !filepath.IsAbs(spec.OutputDir) {
		spec.OutputDir = filepath.Join(spec.WorkingDir, spec.OutputDir)
	}
	for i, p := range spec.EnvPlugins {
		if !filepath.IsAbs(p) {
			spec.EnvPlugins[i] = filepath.Join(spec.WorkingDir, p)
		}
		if _, err := os.Stat(spec.EnvPlugins[i]); err != nil {
			return nil, f.Errorf("env_plugins", "plugin binary %s: %w", p, ErrEntrypointAbsent)
		}
	}
	if err := checkResources(f, spec.Resources); err != nil {
		return nil, err
	}

	// Exactly one driver.
	var kinds []string
	if spec.Entrypoint != nil {
		kinds = append(kinds, "entrypoint")
	}
	for _, lib := range []string{"rllib", "tune"} {
		if f.Meta.IsDefined(lib) {
			kinds = append(kinds, lib)
		}
	}
	switch len(kinds) {
	case 0:
		return nil, &tomlutil.FieldError{File: name, Err: ErrNoEntrypoint}
	case 1:
	default:
		return nil, f.Errorf(kinds[1], "%w: %s", ErrManyEntrypoints, strings.Join(kinds, " and "))
	}
	if spec.Entrypoint != nil {
		if err := checkEntrypoint(f, spec); err != nil {
			return nil, err
		}
		return spec, nil
	}
	spec.Library = kinds[0]
	lib, ok := library(spec.Library)
	if !ok {
		return nil, f.Errorf(spec.Library, "%w %q: this binary does not include it", ErrUnknownLibrary, spec.Library)
	}
	prim := spec.RLlib
	if spec.Library == "tune" {
		prim = spec.Tune
	}
	cfg, err := lib.Decode(f, prim, spec)
	if err != nil {
		return nil, err
	}
	// Keys the library did not decode are unknown.
	var unknown []string
	for _, k := range f.Meta.Undecoded() {
		unknown = append(unknown, k.String())
	}
	if len(unknown) > 0 {
		sort.Slice(unknown, func(i, j int) bool { return f.Pos(unknown[i]).Line < f.Pos(unknown[j]).Line })
		return nil, f.Wrap(unknown[0], tomlutil.ErrUnknownKey)
	}
	spec.LibraryConfig = cfg
	return spec, nil
}

func checkEntrypoint(f *tomlutil.File, spec *Spec) error {
	ep := spec.Entrypoint
	n := 0
	for _, s := range []string{ep.Package, ep.Binary, ep.Command} {
		if strings.TrimSpace(s) != "" {
			n++
		}
	}
	if n == 0 {
		return f.Wrap("entrypoint", ErrNoEntrypoint)
	}
	if n > 1 {
		return f.Errorf("entrypoint", "%w: set only one of package, binary and command", ErrManyEntrypoints)
	}
	switch {
	case ep.Binary != "":
		p := ep.Binary
		if !filepath.IsAbs(p) {
			p = filepath.Join(spec.WorkingDir, p)
		}
		st, err := os.Stat(p)
		if err != nil {
			return f.Errorf("entrypoint.binary", "%w: %s", ErrEntrypointAbsent, p)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return f.Errorf("entrypoint.binary", "%s is not an executable file", p)
		}
	case ep.Package != "":
		// A directory must exist; an import path is checked by go build.
		if strings.HasPrefix(ep.Package, ".") || filepath.IsAbs(ep.Package) {
			p := ep.Package
			if !filepath.IsAbs(p) {
				p = filepath.Join(spec.WorkingDir, p)
			}
			if st, err := os.Stat(p); err != nil || !st.IsDir() {
				return f.Errorf("entrypoint.package", "%w: no package directory %s", ErrEntrypointAbsent, p)
			}
		}
	}
	return nil
}

func checkResources(f *tomlutil.File, r Resources) error {
	bad := func(key string, v float64) error {
		return f.Errorf(key, "%w: %v must be zero or positive", ErrBadResources, v)
	}
	if r.NumCPUs < 0 || r.NumCPUs != r.NumCPUs {
		return bad("resources.num_cpus", r.NumCPUs)
	}
	if r.NumGPUs < 0 || r.NumGPUs != r.NumGPUs {
		return bad("resources.num_gpus", r.NumGPUs)
	}
	if r.Memory < 0 {
		return bad("resources.memory", float64(r.Memory))
	}
	for k, v := range r.Custom {
		if v < 0 || v != v {
			return bad("resources.custom."+k, v)
		}
	}
	return nil
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// BuildCommand returns the go build command for the job's package, writing
// the binary to out. A package given as a directory is built from inside it,
// so it may live in another module than the working directory.
func (s *Spec) BuildCommand(ctx context.Context, out string) *exec.Cmd {
	pkg := s.Entrypoint.Package
	dir := s.WorkingDir
	if strings.HasPrefix(pkg, ".") || filepath.IsAbs(pkg) {
		if !filepath.IsAbs(pkg) {
			pkg = filepath.Join(s.WorkingDir, pkg)
		}
		dir, pkg = pkg, "."
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	return cmd
}
