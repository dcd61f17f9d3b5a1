package jobs

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// State is a job's lifecycle state, with Ray's names.
type State string

// Job states. SUCCEEDED, FAILED and STOPPED are terminal.
const (
	Pending   State = "PENDING"
	Running   State = "RUNNING"
	Succeeded State = "SUCCEEDED"
	Failed    State = "FAILED"
	Stopped   State = "STOPPED"
)

// Terminal reports whether s is final.
func (s State) Terminal() bool { return s == Succeeded || s == Failed || s == Stopped }

// Manager errors.
var (
	ErrJobNotFound = errors.New("job not found")
	ErrNotTerminal = errors.New("job is not in a terminal state")
	// ErrClosed reports a Submit to a Manager that Close has shut down.
	ErrClosed = errors.New("job manager is closed")
)

// Progress is what a driver reports for the live progress line.
type Progress struct {
	Iteration     int     `json:"iteration"`
	MaxIterations int     `json:"max_iterations,omitempty"`
	Metric        string  `json:"metric,omitempty"`
	Value         float64 `json:"value"`
	ElapsedS      float64 `json:"elapsed_s"`
	// ETAS is the estimated time left in seconds; 0 when unknown.
	ETAS float64 `json:"eta_s,omitempty"`
	// Text is a free-form status, such as a Tune table's summary.
	Text string `json:"text,omitempty"`
}

// Info is a job's record, persisted as job.json in its directory.
type Info struct {
	ID         string     `json:"job_id"`
	Name       string     `json:"name"`
	State      State      `json:"status"`
	Message    string     `json:"message,omitempty"`
	Kind       string     `json:"kind"` // package, binary, command, rllib, tune
	Entrypoint string     `json:"entrypoint"`
	SubmitTime time.Time  `json:"submit_time"`
	StartTime  *time.Time `json:"start_time,omitempty"`
	EndTime    *time.Time `json:"end_time,omitempty"`
	ExitCode   *int       `json:"exit_code,omitempty"`
	DriverPID  int        `json:"driver_pid,omitempty"`
	OutputDir  string     `json:"output_dir,omitempty"`
	Progress   *Progress  `json:"progress,omitempty"`
	Resources  Resources  `json:"resources"`
	// NodeID is the node whose daemon runs the job. A daemon fills it in
	// when it lists the cluster's jobs (each daemon keeps only its own);
	// "" in a single daemon's own records.
	NodeID string `json:"node_id,omitempty"`
}

// Env variables a driver process receives.
const (
	EnvAddress      = "GORAY_ADDRESS"
	EnvJobID        = "GORAY_JOB_ID"
	EnvJobDir       = "GORAY_JOB_DIR"
	EnvJobOutputDir = "GORAY_JOB_OUTPUT_DIR"
	EnvJobDriver    = "GORAY_JOB_DRIVER"
	EnvProgressFile = "GORAY_JOB_PROGRESS_FILE"
	// EnvWorkingDir and EnvWorkingDirPackage tell the driver its working
	// dir and that dir's package; its client announces them to the node,
	// which starts the driver's workers there (runtime.EnvWorkingDir and
	// runtime.EnvWorkingDirPackage: the same names, kept here so that
	// this package does not import the engine).
	EnvWorkingDir        = "GORAY_WORKING_DIR"
	EnvWorkingDirPackage = "GORAY_WORKING_DIR_PACKAGE"
)

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// DataDir holds jobs/<id>/{job.json,driver.log,job.toml}.
	DataDir string
	// Address is given to drivers as GORAY_ADDRESS.
	Address string
	// Executable runs library jobs; default os.Executable().
	Executable string
	// ExtraEnv is added to every driver's environment.
	ExtraEnv []string
	// Resources checks drivers' resources against the cluster on submit
	// and holds them on this node while drivers run (resources.go); nil
	// checks and holds nothing.
	Resources ResourceHolder
}

// Manager runs and records jobs on one node.
type Manager struct {
	cfg ManagerConfig
	log *slog.Logger

	mu     sync.Mutex
	jobs   map[string]*job
	closed bool // set by Close; no job starts after it
	wg     sync.WaitGroup
	close  chan struct{}
}

type job struct {
	info    Info
	dir     string
	cmd     *exec.Cmd
	done    chan struct{}
	stopped bool
	changed chan struct{} // closed and replaced on every state change
	// cancel ends the job's preparation (a package build) on Stop; the
	// driver itself is stopped by signals to its process group.
	cancel context.CancelFunc
}

// NewManager loads the records in cfg.DataDir. Jobs recorded as PENDING or
// RUNNING belonged to a previous run of the daemon: their drivers died with
// it, so they are marked FAILED.
func NewManager(cfg ManagerConfig, log *slog.Logger) (*Manager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.DataDir == "" {
		return nil, errors.New("jobs: DataDir is required")
	}
	if cfg.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("jobs: find own executable: %w", err)
		}
		cfg.Executable = exe
	}
	m := &Manager{cfg: cfg, log: log, jobs: map[string]*job{}, close: make(chan struct{})}
	root := filepath.Join(cfg.DataDir, "jobs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	for _, e := range ents {
		dir := filepath.Join(root, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, "job.json"))
		if err != nil {
			continue
		}
		var info Info
		if err := json.Unmarshal(data, &info); err != nil {
			log.Warn("skipping unreadable job record", "dir", dir, "err", err)
			continue
		}
		j := &job{info: info, dir: dir, done: make(chan struct{}), changed: make(chan struct{})}
		close(j.done)
		if !info.State.Terminal() {
			now := time.Now()
			j.info.State = Failed
			j.info.Message = "the daemon stopped while the job was running"
			j.info.EndTime = &now
			_ = j.save()
		}
		m.jobs[info.ID] = j
	}
	return m, nil
}

func (j *job) save() error {
	data, err := json.MarshalIndent(j.info, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(j.dir, "job.json.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(j.dir, "job.json"))
}

// NewJobID returns an ID in Ray's style ("goraysubmit_" and 16 hex digits).
func NewJobID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "goraysubmit_" + hex.EncodeToString(b[:])
}

// Submit starts a job from a validated spec. The driver is prepared (a Go
// package is built) before the job is recorded as RUNNING; a build failure
// fails the job with the compiler's output in its log.
func (m *Manager) Submit(ctx context.Context, spec *Spec) (Info, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return Info{}, fmt.Errorf("jobs: submit %q: %w", spec.Name, ErrClosed)
	}
	// Before anything is recorded or started: a driver no node could
	// hold would stay PENDING forever.
	if h := m.cfg.Resources; h != nil {
		if err := CheckResources(spec, h.Nodes()); err != nil {
			return Info{}, err
		}
	}
	id := NewJobID()
	dir := filepath.Join(m.cfg.DataDir, "jobs", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Info{}, fmt.Errorf("jobs: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "job.toml"), spec.Source, 0o644); err != nil {
		return Info{}, fmt.Errorf("jobs: %w", err)
	}
	if spec.OutputsInJobDir {
		if rel, err := filepath.Rel(spec.WorkingDir, spec.OutputDir); err == nil && !strings.HasPrefix(rel, "..") {
			spec.OutputDir = filepath.Join(dir, "output", rel)
		}
	}
	kind, ep := describe(spec)
	// The job outlives the request that submitted it, so its context
	// derives from no caller's: only Stop (or Close) ends it.
	jctx, cancel := context.WithCancel(context.Background())
	j := &job{
		dir:     dir,
		done:    make(chan struct{}),
		changed: make(chan struct{}),
		cancel:  cancel,
		info: Info{ID: id, Name: spec.Name, State: Pending, Kind: kind, Entrypoint: ep,
			SubmitTime: time.Now(), OutputDir: spec.OutputDir, Resources: spec.Resources},
	}
	if err := j.save(); err != nil {
		cancel()
		return Info{}, fmt.Errorf("jobs: %w", err)
	}
	// Copy the record before run starts: from then on j.info changes only
	// under m.mu.
	info := j.info
	m.mu.Lock()
	if m.closed {
		// Close began while the record was written: the job never runs.
		m.mu.Unlock()
		cancel()
		_ = os.RemoveAll(dir)
		return Info{}, fmt.Errorf("jobs: submit %q: %w", spec.Name, ErrClosed)
	}
	m.jobs[id] = j
	// Added under mu, so Close's Wait cannot start before this job counts.
	m.wg.Add(1)
	m.mu.Unlock()
	go m.run(jctx, j, spec)
	return info, nil
}

func describe(spec *Spec) (kind, ep string) {
	switch {
	case spec.Library != "":
		return spec.Library, "[" + spec.Library + "] " + filepath.Base(spec.Path)
	case spec.Entrypoint.Package != "":
		return "package", spec.Entrypoint.Package
	case spec.Entrypoint.Binary != "":
		return "binary", spec.Entrypoint.Binary
	default:
		return "command", spec.Entrypoint.Command
	}
}

func (m *Manager) update(j *job, f func(*Info)) {
	m.mu.Lock()
	f(&j.info)
	if err := j.save(); err != nil {
		m.log.Error("saving job record", "job", j.info.ID, "err", err)
	}
	close(j.changed)
	j.changed = make(chan struct{})
	m.mu.Unlock()
}

func (m *Manager) run(ctx context.Context, j *job, spec *Spec) {
	defer m.wg.Done()
	defer close(j.done)
	defer j.cancel()
	logPath := filepath.Join(j.dir, "driver.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		m.finish(j, Failed, fmt.Sprintf("open driver log: %v", err), nil)
		return
	}
	defer logf.Close()

	release, err := m.holdResources(ctx, j, spec)
	if err != nil {
		fmt.Fprintf(logf, "goray: %v\n", err)
		if ctx.Err() != nil {
			m.finish(j, Stopped, "stopped while waiting for the driver's resources", nil)
		} else {
			m.finish(j, Failed, err.Error(), nil)
		}
		return
	}
	// Given back before the job is recorded as finished, so that a
	// terminal job never still holds its node's resources.
	state, msg, code := m.runDriver(ctx, j, spec, logf)
	release()
	m.finish(j, state, msg, code)
}

// runDriver prepares and runs the driver and says how the job ended.
func (m *Manager) runDriver(ctx context.Context, j *job, spec *Spec, logf io.Writer) (State, string, *int) {
	cmd, err := m.driverCommand(ctx, j, spec, logf)
	if err != nil {
		fmt.Fprintf(logf, "goray: %v\n", err)
		if ctx.Err() != nil {
			return Stopped, "stopped before the driver started", nil
		}
		return Failed, err.Error(), nil
	}
	m.mu.Lock()
	if j.stopped {
		m.mu.Unlock()
		return Stopped, "stopped before the driver started", nil
	}
	j.cmd = cmd
	err = cmd.Start()
	m.mu.Unlock()
	if err != nil {
		fmt.Fprintf(logf, "goray: start driver: %v\n", err)
		return Failed, fmt.Sprintf("start driver: %v", err), nil
	}
	now := time.Now()
	m.update(j, func(i *Info) {
		i.State = Running
		i.StartTime = &now
		i.DriverPID = cmd.Process.Pid
		i.Message = "" // no longer waiting for resources
	})

	progressDone := make(chan struct{})
	go m.watchProgress(j, progressDone)
	err = cmd.Wait()
	close(progressDone)
	m.readProgress(j)

	code := cmd.ProcessState.ExitCode()
	m.mu.Lock()
	stopped := j.stopped
	m.mu.Unlock()
	switch {
	case stopped:
		return Stopped, "stopped by the user", &code
	case err == nil:
		return Succeeded, "the driver exited with code 0", &code
	default:
		return Failed, fmt.Sprintf("the driver failed: %v", err), &code
	}
}

func (m *Manager) finish(j *job, s State, msg string, code *int) {
	now := time.Now()
	m.update(j, func(i *Info) {
		i.State = s
		i.Message = msg
		i.EndTime = &now
		i.ExitCode = code
	})
	m.log.Info("job finished", "job", j.info.ID, "state", s, "message", msg)
}

func (m *Manager) driverCommand(ctx context.Context, j *job, spec *Spec, logw io.Writer) (*exec.Cmd, error) {
	var cmd *exec.Cmd
	switch {
	case spec.Library != "":
		cmd = exec.Command(m.cfg.Executable)
		cmd.Env = append(cmd.Env, EnvJobDriver+"="+filepath.Join(j.dir, "job.toml")+"|"+spec.Path)
	case spec.Entrypoint.Package != "":
		bin := filepath.Join(j.dir, "driver")
		fmt.Fprintf(logw, "goray: building %s\n", spec.Entrypoint.Package)
		build := spec.BuildCommand(ctx, bin)
		build.Stdout, build.Stderr = logw, logw
		// Stop must end the compiler processes too, not only the go
		// command: build in a process group and kill the group.
		build.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		build.Cancel = func() error { return syscall.Kill(-build.Process.Pid, syscall.SIGKILL) }
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("go build %s: %w (see the job's log)", spec.Entrypoint.Package, err)
		}
		cmd = exec.Command(bin, spec.Entrypoint.Args...)
	case spec.Entrypoint.Binary != "":
		bin := spec.Entrypoint.Binary
		if !filepath.IsAbs(bin) {
			bin = filepath.Join(spec.WorkingDir, bin)
		}
		cmd = exec.Command(bin, spec.Entrypoint.Args...)
	default:
		args := append([]string{"-c", spec.Entrypoint.Command, spec.Name}, spec.Entrypoint.Args...)
		cmd = exec.Command("/bin/sh", args...)
	}
	cmd.Dir = spec.WorkingDir
	cmd.Stdout, cmd.Stderr = logw, logw
	env := os.Environ()
	env = append(env, m.cfg.ExtraEnv...)
	env = append(env,
		EnvAddress+"="+m.cfg.Address,
		EnvJobID+"="+j.info.ID,
		EnvJobDir+"="+j.dir,
		EnvJobOutputDir+"="+spec.OutputDir,
		EnvProgressFile+"="+filepath.Join(j.dir, "progress.json"),
		EnvWorkingDir+"="+spec.WorkingDir,
		// Set even when empty: the daemon's own environment must not
		// lend a driver another job's package.
		EnvWorkingDirPackage+"="+spec.WorkingDirPackage,
	)
	keys := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+spec.Env[k])
	}
	cmd.Env = append(env, cmd.Env...)
	// The driver dies with us and can be stopped as a group, children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd, nil
}

// watchProgress polls the driver's progress file. Polling a small file once
// every 200 ms costs nothing measurable and needs no channel to the driver.
func (m *Manager) watchProgress(j *job, done <-chan struct{}) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-m.close:
			return
		case <-t.C:
			m.readProgress(j)
		}
	}
}

func (m *Manager) readProgress(j *job) {
	data, err := os.ReadFile(filepath.Join(j.dir, "progress.json"))
	if err != nil {
		return
	}
	var p Progress
	if json.Unmarshal(data, &p) != nil {
		return
	}
	m.mu.Lock()
	same := j.info.Progress != nil && *j.info.Progress == p
	m.mu.Unlock()
	if !same {
		m.update(j, func(i *Info) { i.Progress = &p })
	}
}

// WriteProgress is called by drivers to publish progress; it writes the
// file named by GORAY_JOB_PROGRESS_FILE atomically and does nothing outside
// a job.
func WriteProgress(p Progress) error {
	path := os.Getenv(EnvProgressFile)
	if path == "" {
		return nil
	}
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Get returns a job's record.
func (m *Manager) Get(id string) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	if !ok {
		return Info{}, fmt.Errorf("%w: %s", ErrJobNotFound, id)
	}
	return j.info, nil
}

// List returns all jobs, oldest first.
func (m *Manager) List() []Info {
	m.mu.Lock()
	out := make([]Info, 0, len(m.jobs))
	for _, j := range m.jobs {
		out = append(out, j.info)
	}
	m.mu.Unlock()
	sort.Slice(out, func(a, b int) bool { return out[a].SubmitTime.Before(out[b].SubmitTime) })
	return out
}

// Stop ends a job's driver and everything in its process group: SIGTERM,
// then SIGKILL after grace. The runtime frees the driver's tasks, actors and
// objects when its connection closes. Stopping a finished job is a no-op.
func (m *Manager) Stop(ctx context.Context, id string, grace time.Duration) (Info, error) {
	m.mu.Lock()
	j, ok := m.jobs[id]
	if !ok {
		m.mu.Unlock()
		return Info{}, fmt.Errorf("%w: %s", ErrJobNotFound, id)
	}
	if j.info.State.Terminal() {
		info := j.info
		m.mu.Unlock()
		return info, nil
	}
	j.stopped = true
	cmd := j.cmd
	m.mu.Unlock()
	if j.cancel != nil {
		j.cancel() // a build in progress ends now
	}
	if cmd != nil && cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-j.done:
		case <-time.After(grace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return Info{}, ctx.Err()
	}
	return m.Get(id)
}

// Delete removes a finished job's record and logs.
func (m *Manager) Delete(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrJobNotFound, id)
	}
	if !j.info.State.Terminal() {
		return fmt.Errorf("%w: %s is %s; stop it first", ErrNotTerminal, id, j.info.State)
	}
	delete(m.jobs, id)
	return os.RemoveAll(j.dir)
}

// Wait blocks until the job is terminal or ctx ends.
func (m *Manager) Wait(ctx context.Context, id string) (Info, error) {
	for {
		m.mu.Lock()
		j, ok := m.jobs[id]
		if !ok {
			m.mu.Unlock()
			return Info{}, fmt.Errorf("%w: %s", ErrJobNotFound, id)
		}
		info, ch := j.info, j.changed
		m.mu.Unlock()
		if info.State.Terminal() {
			return info, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return info, ctx.Err()
		}
	}
}

// Changed returns a channel closed at the job's next state or progress change.
func (m *Manager) Changed(id string) (<-chan struct{}, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrJobNotFound, id)
	}
	return j.changed, nil
}

// Logs copies the job's driver log from byte offset off to w. With follow
// it keeps copying until the job is terminal and the log is drained, or ctx
// ends.
func (m *Manager) Logs(ctx context.Context, id string, off int64, follow bool, w io.Writer) (int64, error) {
	m.mu.Lock()
	j, ok := m.jobs[id]
	m.mu.Unlock()
	if !ok {
		return off, fmt.Errorf("%w: %s", ErrJobNotFound, id)
	}
	path := filepath.Join(j.dir, "driver.log")
	flusher, _ := w.(interface{ Flush() })
	for {
		n, err := copyFrom(path, off, w)
		off += n
		if err != nil {
			return off, err
		}
		if n > 0 && flusher != nil {
			flusher.Flush()
		}
		if !follow {
			return off, nil
		}
		m.mu.Lock()
		terminal := j.info.State.Terminal()
		m.mu.Unlock()
		if terminal {
			n, err := copyFrom(path, off, w)
			return off + n, err
		}
		select {
		case <-ctx.Done():
			return off, ctx.Err()
		case <-j.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func copyFrom(path string, off int64, w io.Writer) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, bufio.NewReader(f))
}

// Close stops every running job and waits for the drivers to exit or ctx
// to end. Later Submits fail with ErrClosed; closing again only waits.
func (m *Manager) Close(ctx context.Context) error {
	var ids []string
	m.mu.Lock()
	first := !m.closed
	m.closed = true
	for id, j := range m.jobs {
		if !j.info.State.Terminal() {
			ids = append(ids, id)
		}
	}
	m.mu.Unlock()
	var errs []error
	for _, id := range ids {
		if _, err := m.Stop(ctx, id, 2*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("jobs: stop %s: %w", id, err))
		}
	}
	if first {
		close(m.close)
	}
	// Stop has already SIGKILLed what ctx did not give time to exit, so
	// the wait is short; it still ends with ctx.
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("jobs: close: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}
