package envs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/internal/testenv"
	envv1 "github.com/goray/goray/plugins/envs/proto/goray/env/v1"
)

// oldServer plays a plugin built before the shm transport existed: it
// never sees MakeVectorRequest.fast_transport (an unknown field to it).
type oldServer struct {
	envv1.EnvServiceServer
}

func (s oldServer) MakeVector(ctx context.Context, req *envv1.MakeVectorRequest) (*envv1.MakeVectorResponse, error) {
	req.FastTransport = nil
	return s.EnvServiceServer.MakeVector(ctx, req)
}

func (oldServer) AttachFastTransport(context.Context, *envv1.AttachFastTransportRequest) (*envv1.AttachFastTransportResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method AttachFastTransport not implemented")
}

// serveOldPlugin is the "old" test mode: testenv's envs behind oldServer.
func serveOldPlugin() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  envs.HandshakeConfig(),
		VersionedPlugins: envs.PluginSets(oldServer{envs.NewServer(testenv.Factories(), nil)}),
		GRPCServer:       plugin.DefaultGRPCServer,
	})
	os.Exit(0)
}

// TestShmOldPluginFallsBack: a plugin that ignores the offer gets the
// gRPC stream, with the same results as the shm transport.
func TestShmOldPluginFallsBack(t *testing.T) {
	ctx := testCtx(t)
	cfg := envs.VectorConfig{ID: "Counter-v0", NumEnvs: 3, NoInfos: true}
	old, err := envs.MakePluginVector(ctx, envs.PluginBinary{Name: "old", Path: testExe(t), Env: []string{testModeEnv + "=old"}}, cfg, envs.HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if old.Transport() != envs.TransportStream {
		t.Fatalf("old plugin transport = %s, want %s", old.Transport(), envs.TransportStream)
	}
	cur := makePlugin(t, cfg, envs.HostOptions{})
	if cur.Transport() != envs.TransportShm {
		t.Fatalf("current plugin transport = %s, want %s", cur.Transport(), envs.TransportShm)
	}
	var got [2][]float64
	for i, v := range []envs.VectorEnv{old, cur} {
		if _, err := v.Reset(ctx, envs.SeedsFrom(4, 3), nil); err != nil {
			t.Fatal(err)
		}
		for _, act := range [][]float64{{1, 2, 0}, {2, 2, 1}, {0, 1, 2}} {
			b, err := v.Step(ctx, act)
			if err != nil {
				t.Fatal(err)
			}
			got[i] = append(got[i], b.Obs...)
			got[i] = append(got[i], b.Rewards...)
		}
	}
	if !slices.Equal(got[0], got[1]) {
		t.Fatalf("old plugin (stream) %v\nnew plugin (shm) %v", got[0], got[1])
	}
}

// TestShmCrashMidStep kills the plugin while a step is running in it: the
// host's wait ends with ErrPluginCrashed (not a hang, not a timeout), and
// Restart brings the shm transport back.
func TestShmCrashMidStep(t *testing.T) {
	ctx := testCtx(t)
	v := makePlugin(t, envs.VectorConfig{ID: "Counter-v0", NumEnvs: 2, NoInfos: true, Kwargs: envs.Kwargs{"sleep_ms": 400}}, envs.HostOptions{})
	if v.Transport() != envs.TransportShm {
		t.Fatalf("transport = %s", v.Transport())
	}
	if _, err := v.Reset(ctx, envs.SeedsFrom(1, 2), nil); err != nil {
		t.Fatal(err)
	}
	pid := v.PID()
	// The step sleeps 400 ms in the plugin; the kill lands in the middle
	// of it (and were it to land before, the outcome is the same).
	killer := time.AfterFunc(50*time.Millisecond, func() { syscall.Kill(pid, syscall.SIGKILL) })
	defer killer.Stop()
	start := time.Now()
	_, err := v.Step(ctx, []float64{1, 1})
	if !errors.Is(err, envs.ErrPluginCrashed) {
		t.Fatalf("step in a plugin killed mid-step = %v, want ErrPluginCrashed", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("crash noticed after %v", d)
	}
	t.Log(err)
	waitGone(t, pid, 5*time.Second)
	if err := v.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if v.Transport() != envs.TransportShm {
		t.Fatalf("transport after restart = %s", v.Transport())
	}
	if _, err := v.Reset(ctx, envs.SeedsFrom(1, 2), nil); err != nil {
		t.Fatal(err)
	}
	if b, err := v.Step(ctx, []float64{2, 1}); err != nil || b.Obs[0] != 1 || b.Rewards[0] != 2 {
		t.Fatalf("step after restart: %v %v", b, err)
	}
}

// waitStopped polls /proc until the process is in the stopped state.
func waitStopped(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		// The state follows the command name, which ends at the last ')'.
		if rest := stat[bytes.LastIndexByte(stat, ')')+1:]; len(rest) > 1 && (rest[1] == 'T' || rest[1] == 't') {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d not stopped %v after SIGSTOP: %s", pid, within, stat)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestShmHungPlugin stops the plugin process (SIGSTOP: alive, never
// answering): a step with a deadline returns at the deadline.
func TestShmHungPlugin(t *testing.T) {
	ctx := testCtx(t)
	v := makePlugin(t, envs.VectorConfig{ID: "Counter-v0", NumEnvs: 1, NoInfos: true}, envs.HostOptions{})
	if _, err := v.Reset(ctx, []int64{3}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Step(ctx, []float64{1}); err != nil {
		t.Fatal(err)
	}
	pid := v.PID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	// kill returns before the signal has stopped every thread; a step
	// published in that gap is served by the still-spinning plugin.
	waitStopped(t, pid, 5*time.Second)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := v.Step(short, []float64{1})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("step on a stopped plugin = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("step returned %v after its 100ms deadline", d)
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Reset(ctx, []int64{3}, nil); err != nil {
		t.Fatal(err)
	}
	if b, err := v.Step(ctx, []float64{2}); err != nil || b.Obs[0] != 1 {
		t.Fatalf("step after the plugin resumed: %v %v", b, err)
	}
}
