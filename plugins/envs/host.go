package envs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	envv1 "github.com/goray/goray/plugins/envs/proto/goray/env/v1"
)

// ErrChecksumMismatch: the plugin binary's sha256 differs from the one the
// configuration pinned (go-plugin SecureConfig).
var ErrChecksumMismatch = errors.New("env plugin checksum mismatch")

// Environment variables of the plugin handshake.
const (
	// ParentPIDEnv tells a plugin the PID of the host that launched it, so
	// its watchdog notices even a parent that died before the plugin began
	// to watch.
	ParentPIDEnv = "GORAY_ENV_PLUGIN_PARENT"
	// BuiltinModeEnv, set to "builtin", asks a goray binary to serve the
	// built-in envs as a plugin instead of running its main.
	BuiltinModeEnv = "GORAY_ENV_PLUGIN"
)

// PluginBinary is an env plugin executable and how to start it.
type PluginBinary struct {
	// Name identifies the plugin in specs and errors; defaults to the base
	// name of Path.
	Name string
	// Path is the executable.
	Path string
	// Args and Env are extra arguments and KEY=VALUE environment entries.
	Args []string
	Env  []string
	// Checksum, when set, is the expected sha256 of the binary.
	Checksum []byte
	// Builtin marks the re-executed goray binary serving the built-in envs,
	// so that a missing ServeBuiltinIfRequested hook is reported as such.
	Builtin bool
}

func (b PluginBinary) name() string {
	if b.Name != "" {
		return b.Name
	}
	return filepath.Base(b.Path)
}

// HostOptions tune how the host launches and talks to plugins.
type HostOptions struct {
	// Logger receives go-plugin's and the plugins' log lines; nil discards.
	Logger *slog.Logger
	// StartTimeout bounds the exec + handshake; default 20 s.
	StartTimeout time.Duration
	// UnaryStep makes Step use one unary RPC per call instead of the
	// bidirectional StepStream (kept for measurement and for plugins in
	// other languages that lack streaming). It implies NoFastTransport.
	UnaryStep bool
	// NoFastTransport keeps Step on gRPC instead of offering the plugin the
	// shared-memory transport (TransportShm), for measurement and
	// debugging. Plugins that do not know the offer get gRPC anyway.
	NoFastTransport bool
}

func (o HostOptions) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (o HostOptions) startTimeout() time.Duration {
	if o.StartTimeout > 0 {
		return o.StartTimeout
	}
	return 20 * time.Second
}

// maxMsg lets large batched observations through (gRPC's default is 4 MiB).
const maxMsg = 1 << 30

// pluginProcess is one running plugin binary.
type pluginProcess struct {
	bin    PluginBinary
	client *plugin.Client
	rpc    envv1.EnvServiceClient
	pid    int
	stderr *tailBuffer
}

// tailBuffer keeps the last few KiB a plugin wrote to stderr, for errors.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-4096:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// startPlugin launches bin and completes the go-plugin handshake. The child
// gets Pdeathsig=SIGKILL and its own process group, so it dies with the
// host even when the host is SIGKILLed, and kill() can take down anything
// it spawned.
func startPlugin(ctx context.Context, id string, bin PluginBinary, opts HostOptions) (*pluginProcess, error) {
	name := bin.name()
	fail := func(err error) error { return &EnvError{ID: id, Plugin: name, Err: err} }
	if bin.Builtin && os.Getenv(BuiltinModeEnv) != "" {
		// This process was itself started as the built-in plugin but did
		// not serve: re-executing again would recurse.
		return nil, fail(fmt.Errorf("%w: %s", ErrHandshake, missingHookHint(bin.Path)))
	}
	if _, err := os.Stat(bin.Path); err != nil {
		return nil, fail(fmt.Errorf("plugin binary: %w", err))
	}
	if bin.Checksum != nil {
		sum, err := fileSHA256(bin.Path)
		if err != nil {
			return nil, fail(err)
		}
		if string(sum) != string(bin.Checksum) {
			return nil, fail(fmt.Errorf("%w: sha256 of %s is %x, configured %x", ErrChecksumMismatch, bin.Path, sum, bin.Checksum))
		}
	}
	cmd := exec.Command(bin.Path, bin.Args...)
	cmd.Env = append(append([]string(nil), bin.Env...), ParentPIDEnv+"="+strconv.Itoa(os.Getpid()))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stderr := &tailBuffer{}
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  HandshakeConfig(),
		VersionedPlugins: PluginSets(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           NewHCLogger(opts.Logger, "envplugin."+name),
		StartTimeout:     opts.startTimeout(),
		Stderr:           stderr,
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)),
			// An idle channel would close its transport, which the plugin's
			// watchdog reads as the host going away.
			grpc.WithIdleTimeout(0)},
	}
	if bin.Checksum != nil {
		// Checked above with a clearer message; go-plugin checks again right
		// before exec, narrowing the window for a swapped binary.
		cfg.SecureConfig = &plugin.SecureConfig{Checksum: bin.Checksum, Hash: sha256.New()}
	}
	client := plugin.NewClient(cfg)
	type result struct {
		rpc envv1.EnvServiceClient
		err error
	}
	done := make(chan result, 1)
	go func() {
		cp, err := client.Client()
		if err != nil {
			done <- result{err: err}
			return
		}
		raw, err := cp.Dispense(PluginName)
		if err != nil {
			done <- result{err: err}
			return
		}
		rpc, ok := raw.(envv1.EnvServiceClient)
		if !ok {
			done <- result{err: fmt.Errorf("plugin %q dispensed %T", PluginName, raw)}
			return
		}
		done <- result{rpc: rpc}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		client.Kill()
		<-done
		return nil, fail(fmt.Errorf("start plugin: %w", ctx.Err()))
	}
	if r.err != nil {
		client.Kill()
		return nil, fail(classifyStartError(r.err, bin, stderr.lastLine()))
	}
	p := &pluginProcess{bin: bin, client: client, rpc: r.rpc, stderr: stderr}
	if rc := client.ReattachConfig(); rc != nil {
		p.pid = rc.Pid
	}
	return p, nil
}

func missingHookHint(path string) string {
	return fmt.Sprintf("%s was started as the built-in env plugin (%s=builtin) but did not serve it: "+
		"the program does not call envplugin.ServeBuiltinIfRequested() (or goray.MaybeRunWorker()) at the top of main/TestMain; "+
		"add the call, or set %s to the path of a goray binary", path, BuiltinModeEnv, BuiltinPluginEnv)
}

// classifyStartError turns go-plugin's start errors into ErrHandshake or
// ErrChecksumMismatch with a hint at the likely cause.
func classifyStartError(err error, bin PluginBinary, lastStderr string) error {
	if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
		return fmt.Errorf("%w: %s changed after it was checked", ErrChecksumMismatch, bin.Path)
	}
	var pathErr *fs.PathError
	var execErr *exec.Error
	if errors.As(err, &pathErr) || errors.As(err, &execErr) {
		return fmt.Errorf("start plugin %s: %w", bin.Path, err)
	}
	msg := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i] // go-plugin appends generic notes on later lines
	}
	hint := fmt.Sprintf("is %s a goray env plugin (sdk.Serve) speaking protocol version %d?", bin.Path, ProtocolVersion)
	if strings.Contains(strings.ToLower(msg), "incompatible api version") {
		hint = fmt.Sprintf("%s speaks another goray.env protocol version than this host (%d); rebuild it against this goray", bin.Path, ProtocolVersion)
	}
	if bin.Builtin {
		hint = missingHookHint(bin.Path)
	}
	detail := "go-plugin: " + msg
	if lastStderr != "" {
		detail += "; last stderr line: " + lastStderr
	}
	return fmt.Errorf("%w: %s (%s)", ErrHandshake, hint, detail)
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checksum: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("checksum %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// kill stops the plugin: go-plugin's graceful Kill, then SIGKILL to its
// process group for anything it left behind.
func (p *pluginProcess) kill() {
	p.client.Kill()
	if p.pid > 0 {
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	}
}

// ListPluginSpecs starts bin, asks it for the specs of every env it serves
// and stops it.
func ListPluginSpecs(ctx context.Context, bin PluginBinary, opts HostOptions) ([]Spec, error) {
	p, err := startPlugin(ctx, "*", bin, opts)
	if err != nil {
		return nil, err
	}
	defer p.kill()
	resp, err := p.rpc.ListEnvs(ctx, &envv1.ListEnvsRequest{})
	if err != nil {
		return nil, &EnvError{ID: "*", Plugin: bin.name(), Err: fmt.Errorf("list envs: %w", p.rpcError(err))}
	}
	specs := make([]Spec, 0, len(resp.GetSpecs()))
	for _, s := range resp.GetSpecs() {
		specs = append(specs, specFromProto(s, bin.name()))
	}
	return specs, nil
}

// rpcError rebuilds an error returned by the plugin: env errors come back
// as their sentinels (errors.Is works across the boundary); a dead or
// unreachable process becomes ErrPluginCrashed.
func (p *pluginProcess) rpcError(err error) error {
	st, ok := status.FromError(err)
	if ok {
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == errorDomain {
				return &remoteError{msg: st.Message(), sentinel: sentinelOf(info.GetReason())}
			}
		}
	}
	if p.crashed(err) {
		return fmt.Errorf("%w: %v%s", ErrPluginCrashed, err, p.exitNote())
	}
	if ok {
		return &remoteError{msg: st.Message()}
	}
	return err
}

// crashed reports whether err means the process is gone rather than that
// one call failed.
func (p *pluginProcess) crashed(err error) bool {
	if errors.Is(err, io.EOF) || status.Code(err) == codes.Unavailable {
		return true
	}
	// go-plugin notices the exit asynchronously; give it a moment.
	deadline := time.Now().Add(200 * time.Millisecond)
	for {
		if p.client.Exited() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (p *pluginProcess) exitNote() string {
	if l := p.stderr.lastLine(); l != "" {
		return " (last stderr line: " + l + ")"
	}
	return ""
}

// Restarter is implemented by VectorEnvs that run in a plugin process and
// can replace a crashed one.
type Restarter interface {
	// Restart kills the plugin process if it is still there, starts a new
	// one and re-makes the vector with the same config. The sub-envs must
	// be reset before the next Step.
	Restart(ctx context.Context) error
}

// PluginVector is the VectorEnv of the subprocess path: a plugin process
// that owns N sub-envs and is stepped with one message per step. It is not
// safe for concurrent use (as every VectorEnv). The *Batch it returns is
// reused by the next call.
type PluginVector struct {
	bin  PluginBinary
	opts HostOptions
	cfg  VectorConfig

	proc      *pluginProcess
	vecID     uint64
	spec      Spec
	fast      *shmClient // the shm/1 channel, when the plugin attached one
	reattach  bool       // an interrupted step dropped fast: offer it again at the next Reset
	stream    grpc.BidiStreamingClient[envv1.StepRequest, envv1.Batch]
	cancel    context.CancelFunc // ends the stream
	req       envv1.StepRequest
	resp      envv1.Batch
	batch     Batch
	broken    error // set after a crash; cleared by Restart
	needReset bool
	// epoch numbers the resets this host sent; steps carry it so the
	// plugin drops a step that an interrupted call left in flight.
	epoch uint64
}

var _ VectorEnv = (*PluginVector)(nil)
var _ Restarter = (*PluginVector)(nil)

// MakePluginVector starts bin and makes a vector of cfg in it.
func MakePluginVector(ctx context.Context, bin PluginBinary, cfg VectorConfig, opts HostOptions) (*PluginVector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &PluginVector{bin: bin, opts: opts, cfg: cfg}
	if err := v.start(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *PluginVector) fail(err error) error {
	return &EnvError{ID: v.cfg.ID, Plugin: v.bin.name(), Err: err}
}

func (v *PluginVector) start(ctx context.Context) error {
	p, err := startPlugin(ctx, v.cfg.ID, v.bin, v.opts)
	if err != nil {
		return err
	}
	kw, err := marshalJSONMap(v.cfg.Kwargs)
	if err != nil {
		p.kill()
		return v.fail(fmt.Errorf("%w: kwargs not JSON-encodable: %w", ErrBadKwargs, err))
	}
	req := &envv1.MakeVectorRequest{Id: v.cfg.ID, NumEnvs: int64(v.cfg.NumEnvs),
		KwargsJson: kw, AutoresetMode: string(v.cfg.Mode), NoInfos: v.cfg.NoInfos}
	var resp *envv1.MakeVectorResponse
	v.negotiate(ctx, func(ft *envv1.FastTransport) (string, error) {
		req.FastTransport = ft
		resp, err = p.rpc.MakeVector(ctx, req)
		if err != nil {
			return "", err
		}
		// The spec must be known before the layout can be checked.
		v.proc, v.vecID = p, resp.GetVectorId()
		v.spec = specFromProto(resp.GetSpec(), v.bin.name())
		return resp.GetTransport(), nil
	})
	if err != nil {
		p.kill()
		v.proc = nil
		return v.fail(p.rpcError(err))
	}
	n := v.cfg.NumEnvs
	v.reattach = false
	v.batch = Batch{Obs: make([]float64, n*v.spec.ObservationSpace.FlatDim()), Rewards: make([]float64, n),
		Terminated: make([]bool, n), Truncated: make([]bool, n)}
	if !v.cfg.NoInfos {
		v.batch.Infos = make([]Info, n)
	}
	v.req.VectorId = v.vecID
	v.req.Epoch = 0 // a fresh plugin vector has seen no reset yet
	v.broken, v.needReset = nil, false
	if !v.opts.UnaryStep && v.fast == nil {
		if err := v.openStream(); err != nil {
			p.kill()
			return err
		}
	}
	return nil
}

func (v *PluginVector) openStream() error {
	sctx, cancel := context.WithCancel(context.Background())
	stream, err := v.proc.rpc.StepStream(sctx)
	if err != nil {
		cancel()
		return v.fail(v.proc.rpcError(err))
	}
	v.stream, v.cancel = stream, cancel
	return nil
}

// negotiate offers the plugin the shm transport through call (MakeVector or
// AttachFastTransport), which returns the transport the plugin attached,
// and sets v.fast when it is shm/1. Without an offer to make (UnaryStep,
// NoFastTransport, no socket) call gets a nil offer. Any failure to attach
// leaves v.fast nil: Step then uses gRPC.
func (v *PluginVector) negotiate(ctx context.Context, call func(*envv1.FastTransport) (string, error)) {
	var offer *shmOffer
	if !v.opts.UnaryStep && !v.opts.NoFastTransport {
		var err error
		if offer, err = newShmOffer(); err != nil {
			v.opts.logger().Debug("env plugin: cannot offer the shm transport", "env", v.cfg.ID, "err", err)
			offer = nil
		} else {
			defer offer.close()
		}
	}
	var ft *envv1.FastTransport
	if offer != nil {
		ft = offer.proto()
	}
	transport, err := call(ft)
	if err != nil || offer == nil || transport != TransportShm {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	n := v.cfg.NumEnvs
	fast, err := offer.accept(ctx, deadline, n, n*v.spec.ObservationSpace.FlatDim(), n*v.spec.ActionSpace.FlatDim())
	if err != nil {
		// The plugin's end sees the listener close and gives up; the
		// vector steps over gRPC.
		v.opts.logger().Warn("env plugin: shm transport failed to attach, stepping over gRPC",
			"env", v.cfg.ID, "plugin", v.bin.name(), "err", err)
		return
	}
	v.fast = fast
}

// Transport names how Step reaches the plugin now: TransportShm,
// TransportStream or TransportUnary. A vector falls back from shm to the
// stream after an interrupted step.
func (v *PluginVector) Transport() string {
	switch {
	case v.fast != nil:
		return TransportShm
	case v.opts.UnaryStep:
		return TransportUnary
	}
	return TransportStream
}

func (v *PluginVector) dropFast() {
	if v.fast != nil {
		v.fast.close()
		v.fast = nil
	}
}

func (v *PluginVector) closeStream() {
	if v.cancel != nil {
		v.cancel()
	}
	v.stream, v.cancel = nil, nil
}

// Spec returns the spec the plugin reported, with Plugin set.
func (v *PluginVector) Spec() Spec { return v.spec }

// NumEnvs returns N.
func (v *PluginVector) NumEnvs() int { return v.cfg.NumEnvs }

// PID returns the plugin process ID (0 when unknown).
func (v *PluginVector) PID() int {
	if v.proc == nil {
		return 0
	}
	return v.proc.pid
}

// check refuses calls on a crashed vector until Restart.
func (v *PluginVector) check() error {
	if v.broken != nil {
		return v.fail(fmt.Errorf("%w (call Restart): %v", ErrPluginCrashed, v.broken))
	}
	if v.proc == nil {
		return v.fail(errClosed)
	}
	return nil
}

// callError converts a failed RPC and, when the plugin died, marks the
// vector broken and reaps the process.
func (v *PluginVector) callError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return v.fail(ctx.Err())
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		// The plugin's end enforced the deadline (RST_STREAM CANCEL) a
		// moment before ctx's own timer fired.
		return v.fail(context.DeadlineExceeded)
	}
	e := v.proc.rpcError(err)
	if errors.Is(e, ErrPluginCrashed) {
		v.broken = e
		v.closeStream()
		v.proc.kill()
	}
	return v.fail(e)
}

// Reset resets the sub-envs in the plugin.
func (v *PluginVector) Reset(ctx context.Context, seeds []int64, options map[string]any) (*Batch, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	opts, err := marshalJSONMap(options)
	if err != nil {
		return nil, v.fail(fmt.Errorf("reset options not JSON-encodable: %w", err))
	}
	if v.reattach {
		// Re-attach before the reset, not after: attaching stops the
		// plugin's old channel, which may still hold the interrupted step
		// (a stopped plugin runs it when it resumes). Stepped after the
		// reset, that stale step would shift the new episode by one.
		v.reattach = false
		v.negotiate(ctx, func(ft *envv1.FastTransport) (string, error) {
			if ft == nil {
				return "", nil
			}
			r, err := v.proc.rpc.AttachFastTransport(ctx, &envv1.AttachFastTransportRequest{VectorId: v.vecID, FastTransport: ft})
			if err != nil {
				// Unimplemented (a plugin from before the call) or a
				// failure: the vector keeps stepping over the stream.
				v.opts.logger().Debug("env plugin: shm transport not re-attached", "env", v.cfg.ID, "err", err)
				return "", err
			}
			return r.GetTransport(), nil
		})
		if v.fast != nil {
			v.closeStream()
		}
	}
	v.epoch++
	v.req.Epoch = v.epoch
	resp, err := v.proc.rpc.Reset(ctx, &envv1.ResetRequest{VectorId: v.vecID, Seeds: seeds, HasSeeds: seeds != nil, OptionsJson: opts, Epoch: v.epoch})
	if err != nil {
		return nil, v.callError(ctx, err)
	}
	if err := v.fill(resp); err != nil {
		return nil, err
	}
	v.needReset = false
	return &v.batch, nil
}

// Step steps all sub-envs with one message over the step stream (or one
// unary call with HostOptions.UnaryStep).
func (v *PluginVector) Step(ctx context.Context, actions []float64) (*Batch, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	if v.needReset {
		return nil, v.fail(fmt.Errorf("%w: a previous step was interrupted", ErrResetNeeded))
	}
	if v.fast != nil && len(actions) <= len(v.fast.v.act) {
		return v.stepShm(ctx, actions)
	}
	if v.opts.UnaryStep {
		resp, err := v.proc.rpc.Step(ctx, &envv1.StepRequest{VectorId: v.vecID, Actions: actions, Epoch: v.req.Epoch})
		if err != nil {
			e := v.callError(ctx, err)
			if errors.Is(e, context.DeadlineExceeded) || errors.Is(e, context.Canceled) {
				// The step may have been cut short, or may still run in the
				// plugin: as on the other paths, reset before stepping on.
				v.needReset = true
			}
			return nil, e
		}
		return &v.batch, v.fill(resp)
	}
	if err := ctx.Err(); err != nil {
		return nil, v.fail(err)
	}
	if v.stream == nil {
		if err := v.openStream(); err != nil {
			return nil, err
		}
	}
	// A stream outlives calls, so a call's ctx cancels it by tearing it
	// down; the step may or may not have happened, hence needReset.
	var stop func() bool
	if ctx.Done() != nil {
		cancel := v.cancel
		stop = context.AfterFunc(ctx, cancel)
	}
	v.req.Actions = actions
	err := v.stream.Send(&v.req)
	if err == nil {
		err = v.stream.RecvMsg(&v.resp)
	}
	v.req.Actions = nil
	if stop != nil && !stop() {
		// ctx fired: the stream is gone whatever happened.
		v.closeStream()
		v.needReset = true
		return nil, v.fail(fmt.Errorf("step interrupted: %w", ctx.Err()))
	}
	if err != nil {
		return nil, v.callError(ctx, err)
	}
	if e := v.resp.GetError(); e != nil {
		return nil, v.fail(&remoteError{msg: e.GetMessage(), sentinel: sentinelOf(e.GetKind())})
	}
	return &v.batch, v.fill(&v.resp)
}

// stepShm steps over the shared-memory transport: actions go into the
// shared memory, one frame each way over the socket, results come back
// from the shared memory into the vector's own batch (a user may keep the
// *Batch after Close, so it must not point into a mapping).
func (v *PluginVector) stepShm(ctx context.Context, actions []float64) (*Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, v.fail(err)
	}
	c := v.fast
	copy(c.v.act, actions)
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, c.sock.interrupt)
	}
	status, err := c.step(len(actions))
	if stop != nil && !stop() {
		// ctx fired: the channel is shut down whatever happened, and the
		// step may or may not have run. Steps use the gRPC stream until
		// the Reset that must follow offers a new channel.
		v.dropFast()
		v.needReset, v.reattach = true, true
		return nil, v.fail(fmt.Errorf("step interrupted: %w", ctx.Err()))
	}
	if err != nil {
		// The plugin closed the channel under a live call: it died, or
		// it broke the protocol and cannot be trusted with the vector.
		e := fmt.Errorf("%w: %v%s", ErrPluginCrashed, err, v.proc.exitNote())
		v.broken = e
		v.dropFast()
		v.closeStream()
		v.proc.kill()
		return nil, v.fail(e)
	}
	if status != shmStatusOK {
		e := c.msg.GetError()
		return nil, v.fail(&remoteError{msg: e.GetMessage(), sentinel: sentinelOf(e.GetKind())})
	}
	b := &v.batch
	copy(b.Obs, c.v.obs)
	copy(b.Rewards, c.v.rew)
	for i := range b.Terminated {
		b.Terminated[i] = c.v.term[i] != 0
		b.Truncated[i] = c.v.trunc[i] != 0
	}
	v.fillInfos(c.msg.Infos)
	return b, nil
}

// fillInfos converts the infos of a response into the batch.
func (v *PluginVector) fillInfos(infos []*envv1.Info) {
	b := &v.batch
	if b.Infos == nil {
		return
	}
	for i := range b.Infos {
		b.Infos[i] = nil
		if i < len(infos) {
			b.Infos[i] = normInfo(infoFromProto(infos[i]))
		}
	}
}

// fill copies a response into the reused batch buffers.
func (v *PluginVector) fill(p *envv1.Batch) error {
	b := &v.batch
	if len(p.Obs) != len(b.Obs) || len(p.Rewards) != len(b.Rewards) || len(p.Terminated) != len(b.Terminated) || len(p.Truncated) != len(b.Truncated) {
		return v.fail(fmt.Errorf("malformed batch from plugin: %d obs, %d rewards, %d/%d flags for %d sub-envs",
			len(p.Obs), len(p.Rewards), len(p.Terminated), len(p.Truncated), v.cfg.NumEnvs))
	}
	copy(b.Obs, p.Obs)
	copy(b.Rewards, p.Rewards)
	copy(b.Terminated, p.Terminated)
	copy(b.Truncated, p.Truncated)
	v.fillInfos(p.Infos)
	return nil
}

// Render renders sub-env i in the plugin.
func (v *PluginVector) Render(ctx context.Context, i int, mode string) (Render, error) {
	if err := v.check(); err != nil {
		return Render{}, err
	}
	resp, err := v.proc.rpc.Render(ctx, &envv1.RenderRequest{VectorId: v.vecID, Index: int64(i), Mode: mode})
	if err != nil {
		return Render{}, v.callError(ctx, err)
	}
	return Render{Text: resp.GetText(), Width: int(resp.GetWidth()), Height: int(resp.GetHeight()), RGB: resp.GetRgb()}, nil
}

// Restart implements Restarter.
func (v *PluginVector) Restart(ctx context.Context) error {
	v.stop()
	return v.start(ctx)
}

func (v *PluginVector) stop() {
	v.dropFast()
	v.closeStream()
	if v.proc != nil {
		v.proc.kill()
		v.proc = nil
	}
}

// Close closes the vector and stops its plugin process.
func (v *PluginVector) Close() error {
	if v.proc == nil {
		return nil
	}
	var err error
	if v.broken == nil {
		v.dropFast() // the plugin's shm goroutine sees the socket close
		if v.stream != nil {
			_ = v.stream.CloseSend()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if _, cerr := v.proc.rpc.CloseVector(ctx, &envv1.CloseVectorRequest{VectorId: v.vecID}); cerr != nil {
			err = v.fail(v.proc.rpcError(cerr))
		}
		cancel()
	}
	v.stop()
	return err
}
