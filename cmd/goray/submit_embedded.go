package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/jobs"
)

// submitEmbedded runs a job on an embedded single-node cluster that lives
// as long as this command, like ray.init() on a laptop: a node in this
// process, the job's driver as a child process connected to it, and worker
// processes that run the driver's own binary, so the functions the driver
// registered exist in its workers.
func submitEmbedded(ctx context.Context, spec *jobs.Spec, stdout, stderr io.Writer) int {
	tmp, err := os.MkdirTemp("", "goray-submit-")
	if err != nil {
		fmt.Fprintf(stderr, "goray: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	// A driver that asks more than the embedded node will have is refused
	// before anything is built or started.
	ncfg := grt.NodeConfig{SocketPath: filepath.Join(tmp, "node.sock")}
	if err := jobs.CheckResources(spec, []jobs.NodeResources{{Name: "the embedded node", Total: ncfg.TotalResources(), Self: true}}); err != nil {
		fmt.Fprintf(stderr, "goray: %v\n", err)
		return 1
	}

	// Build or find the driver binary before anything starts, so a
	// compile error is reported like any other bad input.
	workerBin := ""
	switch {
	case spec.Library != "":
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stderr, "goray: %v\n", err)
			return 1
		}
		workerBin = exe
	case spec.Entrypoint.Package != "":
		bin := filepath.Join(tmp, "driver")
		fmt.Fprintf(stderr, "goray: building %s\n", spec.Entrypoint.Package)
		build := spec.BuildCommand(ctx, bin)
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(stderr, "goray: %s: entrypoint.package: go build %s failed: %v\n", spec.Path, spec.Entrypoint.Package, err)
			return 1
		}
		ep := *spec.Entrypoint
		ep.Package, ep.Binary = "", bin
		spec.Entrypoint = &ep
		workerBin = bin
	case spec.Entrypoint.Binary != "":
		workerBin = spec.Entrypoint.Binary
		if !filepath.IsAbs(workerBin) {
			workerBin = filepath.Join(spec.WorkingDir, workerBin)
		}
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if workerBin != "" {
		ncfg.WorkerCommand = []string{workerBin}
	}
	node, err := grt.NewNode(ncfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "goray: embedded cluster: %v\n", err)
		return 1
	}
	if err := node.Start(ctx); err != nil {
		fmt.Fprintf(stderr, "goray: embedded cluster: %v\n", err)
		return 1
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := node.Stop(sctx); err != nil {
			fmt.Fprintf(stderr, "goray: stopping the embedded cluster: %v\n", err)
		}
	}()

	m, err := jobs.NewManager(jobs.ManagerConfig{
		DataDir: filepath.Join(tmp, "data"),
		Address: "unix://" + node.SocketPath(),
		// The driver holds its [resources] on the node while it runs.
		Resources: embeddedResources{node},
	}, log)
	if err != nil {
		fmt.Fprintf(stderr, "goray: %v\n", err)
		return 1
	}
	defer func() { _ = m.Close(context.WithoutCancel(ctx)) }()
	info, err := m.Submit(ctx, spec)
	if err != nil {
		fmt.Fprintf(stderr, "goray: submit %s: %v\n", spec.Name, err)
		return 1
	}
	fmt.Fprintf(stderr, "goray: job %s running on an embedded single-node cluster as %s\n", spec.Name, info.ID)
	return followJob(ctx, localJobs{m}, info.ID, stdout, stderr)
}

// localJobs adapts a Manager to followJob.
type localJobs struct{ m *jobs.Manager }

func (l localJobs) Get(ctx context.Context, id string, wait bool) (jobs.Info, error) {
	if wait {
		info, err := l.m.Get(id)
		if err != nil || info.State.Terminal() {
			return info, err
		}
		ch, err := l.m.Changed(id)
		if err != nil {
			return jobs.Info{}, err
		}
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
		case <-ctx.Done():
			return jobs.Info{}, ctx.Err()
		}
	}
	return l.m.Get(id)
}

func (l localJobs) Logs(ctx context.Context, id string, off int64, follow bool, w io.Writer) (int64, error) {
	return l.m.Logs(ctx, id, off, follow, w)
}

func (l localJobs) Stop(ctx context.Context, id string) (jobs.Info, error) {
	return l.m.Stop(ctx, id, 5*time.Second)
}

// embeddedResources holds drivers' resources on the embedded node, the only
// node of its cluster.
type embeddedResources struct{ node *grt.Node }

// Nodes implements jobs.ResourceHolder: the embedded node alone.
func (e embeddedResources) Nodes() []jobs.NodeResources {
	return []jobs.NodeResources{{ID: e.node.ID(), Name: "the embedded node", Total: e.node.TotalResources(), Self: true}}
}

// TryHold implements jobs.ResourceHolder on the embedded node.
func (e embeddedResources) TryHold(res map[string]float64) (func(), map[string]float64, error) {
	return e.node.TryHold(res)
}
