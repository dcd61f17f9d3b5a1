// Command gorayd is the goray daemon: one per machine. It joins the other
// daemons through gossip, serves daemon-to-daemon RPC and the HTTP API (with
// the job API), and runs the node's engine (object store, scheduler, worker
// processes) and the job manager. On SIGTERM or SIGINT it stops running
// jobs, drains (peers place no more work here, tasks they forwarded that
// have not started go back to them, running ones get
// scheduler.drain_timeout to finish), leaves the cluster gracefully and
// stops every worker. All the logic lives in runtime/agent and
// runtime/agent/daemon; this file only wires modes, flags, signals and
// exit codes.
//
// The gorayd binary is re-executed by itself in three helper modes, which
// main checks before anything else: a task worker of its node
// (GORAY_WORKER_SOCKET), the built-in env plugin, and the driver of a
// library job ([rllib] or [tune], GORAY_JOB_DRIVER).
//
//	gorayd -dev                          # one-node cluster on loopback
//	gorayd -config /etc/goray/gorayd.toml
//	gorayd -join 10.0.0.1 -resources.custom accelerator_type:H200=1
//
// Flags are the config file's dotted keys; run gorayd -h for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/goray/goray"
	_ "github.com/goray/goray/libs/rllib/rllibjob" // the [rllib] job library
	_ "github.com/goray/goray/libs/tune/tunejob"   // the [tune] job library
	"github.com/goray/goray/plugins/envs/envplugin"
	"github.com/goray/goray/runtime/agent"
	"github.com/goray/goray/runtime/agent/daemon"
	"github.com/goray/goray/runtime/jobs"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	// Helper modes first: the env plugin before the job driver, because a
	// library driver's env plugins inherit its GORAY_JOB_DRIVER.
	envplugin.ServeBuiltinIfRequested()
	goray.MaybeRunWorker()
	if code, handled := runLibraryDriver(); handled {
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], os.Stderr))
}

// runLibraryDriver runs a library job's driver when gorayd was started as
// one; SIGTERM (a job stop) cancels its context.
func runLibraryDriver() (int, bool) {
	if os.Getenv(jobs.EnvJobDriver) == "" {
		return 0, false
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return jobs.RunLibraryDriver(ctx)
}

// shutdownTimeout bounds stopping jobs, the graceful leave, the server drain
// and stopping the workers on a signal; the node's drain
// (scheduler.drain_timeout) comes on top.
const shutdownTimeout = 10 * time.Second

func run(args []string, stderr io.Writer) int {
	if version != "" {
		agent.Version = version
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := agent.LoadConfig(ctx, "gorayd", args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "gorayd: %v\n", err)
		return 2
	}
	log := agent.NewLogger(cfg.Log, stderr)
	d, err := daemon.New(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "gorayd: %v\n", err)
		return 2
	}
	if err := d.Start(ctx); err != nil {
		fmt.Fprintf(stderr, "gorayd: %v\n", err)
		return 1
	}
	<-ctx.Done()
	stop() // a second signal now kills the process the default way
	log.Info("signal received; draining, then leaving the cluster")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout+time.Duration(cfg.Scheduler.DrainTimeout))
	defer cancel()
	if err := d.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}
