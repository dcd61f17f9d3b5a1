package envs_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/classic"
	"github.com/goray/goray/plugins/envs/internal/testenv"
	envv1 "github.com/goray/goray/plugins/envs/proto/goray/env/v1"
)

func testExe(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func makePlugin(t testing.TB, cfg envs.VectorConfig, opts envs.HostOptions) *envs.PluginVector {
	t.Helper()
	v, err := envs.MakePluginVector(testCtx(t), builtinBin(testExe(t)), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func TestPluginSpecsRoundTrip(t *testing.T) {
	specs, err := envs.ListPluginSpecs(testCtx(t), builtinBin(testExe(t)), envs.HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	facs := testFactories()
	if len(specs) != len(facs) {
		t.Fatalf("plugin lists %d envs, want %d", len(specs), len(facs))
	}
	for _, got := range specs {
		want, err := envs.SpecOf(got.ID, facs[got.ID])
		if err != nil {
			t.Fatal(err)
		}
		want.Plugin = "testbuiltin"
		if !reflect.DeepEqual(got, want) {
			t.Errorf("spec %s through the protocol:\n got %+v\nwant %+v", got.ID, got, want)
		}
	}
}

// TestPluginMatchesInProcess runs the same script through the plugin
// (shm, stream and unary) and in process, in every autoreset mode, and demands
// identical batches, infos included.
func TestPluginMatchesInProcess(t *testing.T) {
	script := [][]float64{{1, 2}, {0, 1}, {2, 2}, {1, 0}, {2, 1}, {0, 0}, {1, 1}}
	for _, mode := range []envs.AutoresetMode{envs.AutoresetNextStep, envs.AutoresetSameStep, envs.AutoresetDisabled} {
		for _, transport := range transports {
			t.Run(fmt.Sprintf("%s/%s", mode, transport), func(t *testing.T) {
				ctx := testCtx(t)
				cfg := envs.VectorConfig{ID: "Counter-v0", NumEnvs: 2, Mode: mode, Kwargs: envs.Kwargs{"horizon": 4, "limit": 3}}
				local, err := envs.NewVector(testenv.NewCounter, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer local.Close()
				remote := makePlugin(t, cfg, transportOptions(transport))
				if got := remote.Transport(); got != transport {
					t.Fatalf("transport = %s, want %s", got, transport)
				}
				if got := remote.Spec(); got.ID != "Counter-v0" || got.MaxEpisodeSteps != 3 || got.Plugin != "testbuiltin" {
					t.Fatalf("remote spec = %+v: want Counter-v0 with the kwarg limit 3 from plugin testbuiltin", got)
				}
				compare := func(step string, a, b *envs.Batch) {
					t.Helper()
					if !reflect.DeepEqual(a, b) {
						t.Fatalf("%s: in-process %+v\nplugin %+v", step, a, b)
					}
				}
				seeds := envs.SeedsFrom(7, 2)
				a, err := local.Reset(ctx, seeds, nil)
				if err != nil {
					t.Fatal(err)
				}
				b, err := remote.Reset(ctx, seeds, nil)
				if err != nil {
					t.Fatal(err)
				}
				compare("reset", a, b)
				for k, act := range script {
					a, err := local.Step(ctx, act)
					if err != nil {
						t.Fatal(err)
					}
					b, err := remote.Step(ctx, act)
					if err != nil {
						t.Fatal(err)
					}
					compare(fmt.Sprintf("step %d", k+1), a, b)
				}
				// reset_mask travels as a reset option.
				opts := map[string]any{envs.ResetMaskOption: []bool{true, false}}
				a, err = local.Reset(ctx, nil, opts)
				if err != nil {
					t.Fatal(err)
				}
				b, err = remote.Reset(ctx, nil, opts)
				if err != nil {
					t.Fatal(err)
				}
				compare("masked reset", a, b)
			})
		}
	}
}

// transports are the step paths of a PluginVector.
var transports = []string{envs.TransportShm, envs.TransportStream, envs.TransportUnary}

// transportOptions are the host options that select transport.
func transportOptions(transport string) envs.HostOptions {
	return envs.HostOptions{UnaryStep: transport == envs.TransportUnary, NoFastTransport: transport == envs.TransportStream}
}

func TestPluginInfosRenderAndShapes(t *testing.T) {
	ctx := testCtx(t)
	v := makePlugin(t, envs.VectorConfig{ID: "Spaces-v0", NumEnvs: 3}, envs.HostOptions{})
	b, err := v.Reset(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Obs) != 3*7 || len(b.Infos) != 3 {
		t.Fatalf("reset: %d obs values, %d infos; want 21 and 3", len(b.Obs), len(b.Infos))
	}
	want := envs.Info{"name": "spaces", "vec": []float64{1, 2}, "ids": []int64{3, 4}, "ok": true}
	if !reflect.DeepEqual(b.Infos[2], want) {
		t.Fatalf("info = %#v, want %#v (types preserved)", b.Infos[2], want)
	}
	b, err = v.Step(ctx, []float64{1, 2, 0, 1, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if b.Obs[0] != 2 || b.Obs[1] != 2 || b.Obs[7] != 1 || b.Obs[8] != 1 || b.Rewards[2] != 0.25 {
		t.Fatalf("step obs = %v rewards %v", b.Obs, b.Rewards)
	}
	r, err := v.Render(ctx, 1, "rgb_array")
	if err != nil {
		t.Fatal(err)
	}
	if r.Width != 3 || r.Height != 2 || len(r.RGB) != 18 || r.RGB[17] != 18 {
		t.Fatalf("rgb render = %dx%d %v", r.Width, r.Height, r.RGB)
	}
	if r, err := v.Render(ctx, 0, "ansi"); err != nil || r.Text != "spaces\n" {
		t.Fatalf("ansi render = %q, %v", r.Text, err)
	}
}

func TestPluginErrors(t *testing.T) {
	ctx := testCtx(t)
	v := makePlugin(t, envs.VectorConfig{ID: "Counter-v0", NumEnvs: 2, NoInfos: true}, envs.HostOptions{})
	var ee *envs.EnvError
	_, err := v.Step(ctx, []float64{0, 0})
	if !errors.Is(err, envs.ErrResetNeeded) || !errors.As(err, &ee) || ee.Plugin != "testbuiltin" || ee.ID != "Counter-v0" {
		t.Fatalf("step before reset = %v; want ErrResetNeeded naming Counter-v0 and testbuiltin", err)
	}
	if _, err := v.Reset(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Step(ctx, []float64{0, 7}); !errors.Is(err, envs.ErrBadAction) {
		t.Fatalf("bad action = %v, want ErrBadAction", err)
	}
	// The stream (here the shm channel) survives an env error.
	if _, err := v.Step(ctx, []float64{0, 1}); err != nil {
		t.Fatalf("step after a bad action: %v", err)
	}
	// Too many actions for the shared memory: the plugin still judges them.
	if _, err := v.Step(ctx, []float64{0, 1, 1}); !errors.Is(err, envs.ErrBadAction) {
		t.Fatalf("3 actions for 2 sub-envs = %v, want ErrBadAction", err)
	}
	if _, err := v.Step(ctx, []float64{1, 1}); err != nil || v.Transport() != envs.TransportShm {
		t.Fatalf("step after a bad action batch: %v, transport %s", err, v.Transport())
	}
	_, err = envs.MakePluginVector(ctx, builtinBin(testExe(t)), envs.VectorConfig{ID: "Nope-v9", NumEnvs: 1}, envs.HostOptions{})
	if !errors.Is(err, envs.ErrUnknownEnv) || !strings.Contains(err.Error(), "testbuiltin") {
		t.Fatalf("unknown id = %v; want ErrUnknownEnv naming the plugin", err)
	}
	_, err = envs.MakePluginVector(ctx, builtinBin(testExe(t)), envs.VectorConfig{ID: "Counter-v0", NumEnvs: 1, Kwargs: envs.Kwargs{"horizon": "long"}}, envs.HostOptions{})
	if !errors.Is(err, envs.ErrBadKwargs) {
		t.Fatalf("bad kwargs = %v; want ErrBadKwargs", err)
	}
}

func TestPluginCrashAndRestart(t *testing.T) {
	ctx := testCtx(t)
	for _, transport := range transports {
		v := makePlugin(t, envs.VectorConfig{ID: "Counter-v0", NumEnvs: 2, NoInfos: true}, transportOptions(transport))
		if _, err := v.Reset(ctx, envs.SeedsFrom(1, 2), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Step(ctx, []float64{1, 1}); err != nil {
			t.Fatal(err)
		}
		pid := v.PID()
		if pid <= 0 {
			t.Fatalf("plugin pid = %d", pid)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_, err := v.Step(ctx, []float64{1, 1})
		var ee *envs.EnvError
		if !errors.Is(err, envs.ErrPluginCrashed) || !errors.As(err, &ee) || ee.Plugin != "testbuiltin" {
			t.Fatalf("%s: step on a killed plugin = %v; want ErrPluginCrashed naming testbuiltin", transport, err)
		}
		t.Log(err)
		if _, err := v.Reset(ctx, nil, nil); !errors.Is(err, envs.ErrPluginCrashed) {
			t.Fatalf("reset after the crash = %v; want ErrPluginCrashed until Restart", err)
		}
		if err := v.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		if v.PID() == pid {
			t.Fatal("restart kept the dead PID")
		}
		if v.Transport() != transport {
			t.Fatalf("transport after restart = %s, want %s", v.Transport(), transport)
		}
		if _, err := v.Step(ctx, []float64{1, 1}); !errors.Is(err, envs.ErrResetNeeded) {
			t.Fatalf("step right after restart = %v; want ErrResetNeeded", err)
		}
		b, err := v.Reset(ctx, envs.SeedsFrom(1, 2), nil)
		if err != nil {
			t.Fatal(err)
		}
		if b.Obs[0] != 0 {
			t.Fatalf("count after reset = %v", b.Obs[0])
		}
		if b, err = v.Step(ctx, []float64{2, 1}); err != nil || b.Obs[0] != 1 || b.Rewards[0] != 2 {
			t.Fatalf("step after restart: %v, %v", b, err)
		}
	}
}

// processGone reports whether pid no longer runs (absent or a zombie).
func processGone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still alive %v later", pid, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNoOrphanAfterHostSIGKILL(t *testing.T) {
	cmd := exec.Command(testExe(t), "-test.run=^$")
	cmd.Env = append(os.Environ(), testModeEnv+"=host")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("host said %q: %v", line, err)
	}
	f := strings.Fields(line)
	if len(f) != 2 || f[0] != "plugin" {
		t.Fatalf("host said %q", line)
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil || processGone(pid) {
		t.Fatalf("plugin pid %q not running", f[1])
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, pid, 5*time.Second)
}

// TestWatchdogParentPID starts a plugin whose declared host is not its
// parent: the watchdog must notice and exit on its own.
func TestWatchdogParentPID(t *testing.T) {
	cmd := exec.Command(testExe(t), "-test.run=^$")
	cmd.Env = append(os.Environ(), envs.BuiltinModeEnv+"=builtin",
		envs.MagicCookieKey+"="+envs.MagicCookieValue, envs.ParentPIDEnv+"=1",
		"PLUGIN_PROTOCOL_VERSIONS=1")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	requireExit(t, cmd, 3, "the watchdog's status for a foreign parent")
}

// requireExit waits up to 10 s for the started cmd and fails unless it
// exited with code; a process still running then is killed, not leaked.
func requireExit(t *testing.T, cmd *exec.Cmd, code int, what string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var xe *exec.ExitError
		if !errors.As(err, &xe) || xe.ExitCode() != code {
			t.Fatalf("plugin exited with %v, want %d (%s)", err, code, what)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("plugin still running after 10 s, want exit %d (%s)", code, what)
	}
}

func TestHandshakeErrors(t *testing.T) {
	ctx := testCtx(t)
	exe := testExe(t)
	cfg := envs.VectorConfig{ID: "Counter-v0", NumEnvs: 1}
	cases := []struct {
		name string
		bin  envs.PluginBinary
		want []string
	}{
		{"protocol v2", envs.PluginBinary{Name: "v2plugin", Path: exe, Env: []string{testModeEnv + "=v2"}},
			[]string{"v2plugin", "protocol version"}},
		{"missing hook", envs.PluginBinary{Name: "nohook", Path: exe, Builtin: true,
			Env: []string{testModeEnv + "=nohook", envs.BuiltinModeEnv + "=builtin"}},
			[]string{"nohook", "ServeBuiltinIfRequested", envs.BuiltinPluginEnv}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := envs.MakePluginVector(ctx, c.bin, cfg, envs.HostOptions{})
			if !errors.Is(err, envs.ErrHandshake) {
				t.Fatalf("err = %v, want ErrHandshake", err)
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestChecksum(t *testing.T) {
	ctx := testCtx(t)
	exe := testExe(t)
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	bin := builtinBin(exe)
	bin.Checksum = sum[:]
	v, err := envs.MakePluginVector(ctx, bin, envs.VectorConfig{ID: "Counter-v0", NumEnvs: 1}, envs.HostOptions{})
	if err != nil {
		t.Fatalf("matching checksum: %v", err)
	}
	v.Close()
	bad := slices.Clone(sum[:])
	bad[0] ^= 0xff
	bin.Checksum = bad
	_, err = envs.MakePluginVector(ctx, bin, envs.VectorConfig{ID: "Counter-v0", NumEnvs: 1}, envs.HostOptions{})
	if !errors.Is(err, envs.ErrChecksumMismatch) || !strings.Contains(err.Error(), "testbuiltin") {
		t.Fatalf("bad checksum = %v; want ErrChecksumMismatch naming testbuiltin", err)
	}
	t.Log(err)
}

func TestRegistry(t *testing.T) {
	ctx := testCtx(t)
	exe := testExe(t)
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\n%s=user exec %q \"$@\"\n", testModeEnv, exe)
	if err := os.WriteFile(filepath.Join(dir, "userplugin"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("not a plugin"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := envs.NewRegistry(envs.RegistryConfig{PluginDir: dir, BuiltinPlugin: exe, Builtin: testenv.Factories()})
	if err != nil {
		t.Fatal(err)
	}
	specs, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range specs {
		got = append(got, s.ID+"@"+s.Plugin)
	}
	want := []string{"Counter-v0@builtin", "Pole-v0@builtin", "Spaces-v0@builtin", "UserCounter-v0@userplugin"}
	if !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	if w := r.Warnings(); len(w) != 1 || !errors.Is(w[0], envs.ErrHandshake) || !strings.Contains(w[0].Error(), "broken") {
		t.Fatalf("warnings = %v; want one handshake error for 'broken'", w)
	}
	cfg := envs.VectorConfig{ID: "Counter-v0", NumEnvs: 2, NoInfos: true}
	sub, err := r.Make(ctx, cfg, envs.MakeOptions{Subprocess: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, ok := sub.(*envs.PluginVector); !ok {
		t.Fatalf("Subprocess made a %T, want the plugin subprocess", sub)
	}
	def, err := r.Make(ctx, cfg, envs.MakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer def.Close()
	if pv, ok := def.(*envs.PluginVector); !ok || pv.Transport() != envs.TransportShm {
		t.Fatalf("the default path for a built-in env made %T; the package doc says the plugin over shm", def)
	}
	in, err := r.Make(ctx, cfg, envs.MakeOptions{InProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, ok := in.(*envs.PluginVector); ok {
		t.Fatal("MakeOptions.InProcess made the plugin vector")
	}
	for _, v := range []envs.VectorEnv{def, sub, in} {
		b, err := v.Reset(ctx, envs.SeedsFrom(3, 2), nil)
		if err != nil || b.Obs[0] != 0 {
			t.Fatalf("%T reset: %v %v", v, b, err)
		}
	}
	user, err := r.Maker(envs.MakeOptions{InProcess: true})(ctx, envs.VectorConfig{ID: "UserCounter-v0", NumEnvs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	if user.Spec().Plugin != "userplugin" {
		t.Fatalf("user env spec plugin = %q", user.Spec().Plugin)
	}
	if _, err := r.Make(ctx, envs.VectorConfig{ID: "Missing-v0", NumEnvs: 1}, envs.MakeOptions{}); !errors.Is(err, envs.ErrUnknownEnv) || !strings.Contains(err.Error(), "UserCounter-v0") {
		t.Fatalf("unknown id = %v; want ErrUnknownEnv listing the known IDs", err)
	}
	if _, err := envs.NewRegistry(envs.RegistryConfig{Checksums: map[string]string{"x": "abc"}}); err == nil {
		t.Fatal("bad checksum hex: no error")
	}
}

// TestWatchdogConnectionDrop plays a host that connects to a plugin and then
// drops the connection without stopping it: the plugin must exit on its own.
func TestWatchdogConnectionDrop(t *testing.T) {
	cmd := exec.Command(testExe(t), "-test.run=^$")
	cmd.Env = append(os.Environ(), envs.BuiltinModeEnv+"=builtin",
		envs.MagicCookieKey+"="+envs.MagicCookieValue, envs.ParentPIDEnv+"="+strconv.Itoa(os.Getpid()),
		"PLUGIN_PROTOCOL_VERSIONS=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// The go-plugin handshake line: CORE|APP|NETWORK|ADDR|PROTOCOL.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("handshake line %q: %v", line, err)
	}
	parts := strings.Split(strings.TrimSpace(line), "|")
	if len(parts) < 5 || parts[2] != "unix" || parts[4] != "grpc" {
		t.Fatalf("handshake line %q", line)
	}
	conn, err := grpc.NewClient("unix://"+parts[3], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := envv1.NewEnvServiceClient(conn).ListEnvs(testCtx(t), &envv1.ListEnvsRequest{})
	if err != nil || len(resp.GetSpecs()) != len(testFactories()) {
		t.Fatalf("ListEnvs over a raw connection: %v, %v", resp, err)
	}
	conn.Close()
	requireExit(t, cmd, 4, "the connection watchdog's status once its only connection closed")
}

func TestRegistryBuiltinInProcessConfig(t *testing.T) {
	ctx := testCtx(t)
	r, err := envs.NewRegistry(envs.RegistryConfig{BuiltinPlugin: testExe(t), Builtin: testenv.Factories(), BuiltinInProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := envs.VectorConfig{ID: "Pole-v0", NumEnvs: 1}
	v, err := r.Make(ctx, cfg, envs.MakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, ok := v.(*envs.PluginVector); ok {
		t.Fatalf("with builtin_in_process the default made %T, want the in-process vector", v)
	}
	sub, err := r.Make(ctx, cfg, envs.MakeOptions{Subprocess: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, ok := sub.(*envs.PluginVector); !ok || sub.Spec().Plugin != envs.BuiltinPluginName {
		t.Fatalf("MakeOptions.Subprocess made %T from %q, want the built-in plugin over builtin_in_process", sub, sub.Spec().Plugin)
	}
}

// TestPluginStepHonoursContext: a step stuck in a slow env returns when its
// context ends, on every transport; the vector then wants a reset, and
// works again after it (shm steps over the gRPC stream until that reset
// attaches a new shm channel).
func TestPluginStepHonoursContext(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) { testStepHonoursContext(t, transport) })
	}
}

func testStepHonoursContext(t *testing.T, transport string) {
	v := makePlugin(t, envs.VectorConfig{ID: "Counter-v0", NumEnvs: 1, NoInfos: true, Kwargs: envs.Kwargs{"sleep_ms": 300}}, transportOptions(transport))
	ctx := testCtx(t)
	if _, err := v.Reset(ctx, []int64{1}, nil); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := v.Step(short, []float64{1})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("step past its deadline = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Fatalf("step returned %v after its 20ms deadline; it waited for the env", d)
	}
	if _, err := v.Step(ctx, []float64{1}); !errors.Is(err, envs.ErrResetNeeded) {
		t.Fatalf("step after an interrupted step = %v, want ErrResetNeeded", err)
	}
	if want := map[string]string{envs.TransportShm: envs.TransportStream}[transport]; want != "" && v.Transport() != want {
		t.Fatalf("transport after an interrupted %s step = %s, want %s", transport, v.Transport(), want)
	}
	if _, err := v.Reset(ctx, []int64{1}, nil); err != nil {
		t.Fatal(err)
	}
	if b, err := v.Step(ctx, []float64{2}); err != nil || b.Obs[0] != 1 || b.Rewards[0] != 2 {
		t.Fatalf("step after reset: %v %v", b, err)
	}
	if v.Transport() != transport {
		t.Fatalf("transport after the reset = %s, want %s again", v.Transport(), transport)
	}
	if b, err := v.Step(ctx, []float64{1}); err != nil || b.Obs[0] != 2 || b.Rewards[0] != 1 {
		t.Fatalf("second step after reset: %v %v", b, err)
	}
}

// TestCartPoleGoldenBothPaths checks Gymnasium's make_vec docstring example
// (CartPole-v1, num_envs=3, reset(seed=42), step([1, 0, 1])) in process and
// through the plugin: both match the docstring's printed digits and each
// other bit for bit.
func TestCartPoleGoldenBothPaths(t *testing.T) {
	ctx := testCtx(t)
	wantReset := []float32{0.0273956, -0.00611216, 0.03585979, 0.0197368, 0.01522993, -0.04562247, -0.04799704, 0.03392126, -0.03774345, -0.02418869, -0.00942293, 0.0469184}
	wantStep := []float32{0.02727336, 0.18847767, 0.03625453, -0.26141977, 0.01431748, -0.24002443, -0.04731862, 0.3110827, -0.03822722, 0.1710671, -0.00848456, -0.2487226}
	cfg := envs.VectorConfig{ID: "CartPole-v1", NumEnvs: 3}
	local, err := envs.NewVector(classic.Factories()["CartPole-v1"], cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	var paths [][]float64
	for _, v := range []envs.VectorEnv{local, makePlugin(t, cfg, envs.HostOptions{})} {
		check := func(what string, got []float64, want []float32) {
			t.Helper()
			for i := range want {
				// The docstring prints 7-8 significant digits.
				if math.Abs(got[i]-float64(want[i])) > 1e-7 {
					t.Fatalf("%T %s obs[%d] = %v, want %v", v, what, i, float32(got[i]), want[i])
				}
			}
			paths = append(paths, slices.Clone(got))
		}
		b, err := v.Reset(ctx, envs.SeedsFrom(42, 3), nil)
		if err != nil {
			t.Fatal(err)
		}
		check("reset", b.Obs, wantReset)
		b, err = v.Step(ctx, []float64{1, 0, 1})
		if err != nil {
			t.Fatal(err)
		}
		check("step", b.Obs, wantStep)
		if !slices.Equal(b.Rewards, []float64{1, 1, 1}) || slices.Contains(b.Terminated, true) {
			t.Fatalf("%T step: rewards %v terminated %v", v, b.Rewards, b.Terminated)
		}
	}
	if !slices.Equal(paths[0], paths[2]) || !slices.Equal(paths[1], paths[3]) {
		t.Fatalf("in-process and plugin observations differ:\n%v\n%v", paths[:2], paths[2:])
	}
}

// TestClassicEnvsThroughPlugin runs every built-in env for a while with
// random actions in process and through the plugin's default transport
// (shm/1), with infos (they travel in the reply frame) and without (the
// rollout hot path: nothing but the shared memory), NEXT_STEP autoreset,
// and demands bit-identical batches: every space, info type and autoreset
// crosses the protocol unchanged.
func TestClassicEnvsThroughPlugin(t *testing.T) {
	steps := 150
	if testing.Short() {
		steps = 30
	}
	for id, f := range classic.Factories() {
		for _, noInfos := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/noinfos=%v", id, noInfos), func(t *testing.T) {
				testClassicThroughPlugin(testCtx(t), t, id, f, noInfos, steps)
			})
		}
	}
}

// sameBatch reports whether two batches are identical, floats bit for bit
// (reflect.DeepEqual would take -0 for 0 and fail on NaN).
func sameBatch(a, b *envs.Batch) bool {
	bits := func(x, y []float64) bool {
		return slices.EqualFunc(x, y, func(p, q float64) bool { return math.Float64bits(p) == math.Float64bits(q) })
	}
	return bits(a.Obs, b.Obs) && bits(a.Rewards, b.Rewards) && slices.Equal(a.Terminated, b.Terminated) &&
		slices.Equal(a.Truncated, b.Truncated) && reflect.DeepEqual(a.Infos, b.Infos)
}

func testClassicThroughPlugin(ctx context.Context, t *testing.T, id string, f envs.Factory, noInfos bool, steps int) {
	cfg := envs.VectorConfig{ID: id, NumEnvs: 2, NoInfos: noInfos}
	local, err := envs.NewVector(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	remote := makePlugin(t, cfg, envs.HostOptions{})
	if remote.Transport() != envs.TransportShm {
		t.Fatalf("transport = %s, want the default %s", remote.Transport(), envs.TransportShm)
	}
	sampler, err := classic.NewSampler(local.Spec().ActionSpace, 3)
	if err != nil {
		t.Fatal(err)
	}
	dim := local.Spec().ActionSpace.FlatDim()
	a, err := local.Reset(ctx, envs.SeedsFrom(5, 2), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := remote.Reset(ctx, envs.SeedsFrom(5, 2), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sameBatch(a, b) {
		t.Fatalf("reset: in-process %+v\nplugin %+v", a, b)
	}
	act := make([]float64, 2*dim)
	for k := 0; k < steps; k++ {
		if err := sampler.Sample(act[:dim]); err != nil {
			t.Fatal(err)
		}
		if err := sampler.Sample(act[dim:]); err != nil {
			t.Fatal(err)
		}
		a, err := local.Step(ctx, act)
		if err != nil {
			t.Fatal(err)
		}
		b, err := remote.Step(ctx, act)
		if err != nil {
			t.Fatal(err)
		}
		if !sameBatch(a, b) {
			t.Fatalf("step %d: in-process %+v\nplugin %+v", k+1, a, b)
		}
	}
}

// TestCloseKillsProcessGroup: closing a vector takes down what its plugin
// started, not only the plugin (go-plugin's Kill alone does not).
func TestCloseKillsProcessGroup(t *testing.T) {
	ctx := testCtx(t)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	bin := envs.PluginBinary{Name: "spawner", Path: testExe(t),
		Env: []string{testModeEnv + "=spawner", "GORAY_ENVTEST_CHILDPID=" + pidFile}}
	v, err := envs.MakePluginVector(ctx, bin, envs.VectorConfig{ID: "Counter-v0", NumEnvs: 1}, envs.HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		v.Close()
		t.Fatal(err)
	}
	child, err := strconv.Atoi(string(data))
	if err != nil || processGone(child) {
		v.Close()
		t.Fatalf("plugin's child %q not running", data)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, child, 5*time.Second)
}
