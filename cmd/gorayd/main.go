// Command gorayd is the goray daemon: one per machine. It joins the other
// daemons through gossip, serves daemon-to-daemon RPC and the HTTP API, and
// leaves gracefully on SIGTERM or SIGINT. All the logic lives in
// runtime/agent; this file only wires flags, signals and exit codes.
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

	"github.com/goray/goray/runtime/agent"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// shutdownTimeout bounds the graceful leave and server drain on a signal.
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
	a, err := agent.New(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "gorayd: %v\n", err)
		return 2
	}
	if err := a.Start(ctx); err != nil {
		fmt.Fprintf(stderr, "gorayd: %v\n", err)
		return 1
	}
	<-ctx.Done()
	stop() // a second signal now kills the process the default way
	log.Info("signal received; leaving the cluster")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}
