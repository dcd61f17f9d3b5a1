// Command holder is a test driver for jobs on gorayd, and the worker binary
// of the test clusters (gorayd -worker.command): a worker runs only
// functions registered in its own binary, so the daemons run this binary as
// their workers and the driver's functions exist there.
//
//	holder quick   # print the driver's node, run one task, exit 0
//	holder hold    # start an actor holding 1 CPU, print "ready", wait to be stopped
//	holder spread  # run 8 SPREAD tasks, print the sorted set of their nodes
package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/goray/goray"
)

// Holder is an actor that holds the CPU it was scheduled with while alive.
type Holder struct{}

// Pid is the actor's worker process ID, so the test can check it is gone.
func (h *Holder) Pid() int { return os.Getpid() }

var (
	holderClass = goray.RegisterActor[Holder]("gorayd-test.Holder", func() *Holder { return &Holder{} })
	where       = goray.Register[string]("gorayd-test.where", func(ctx context.Context) string { return goray.NodeID(ctx) })
)

func main() {
	goray.MaybeRunWorker()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "holder:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 2 {
		return fmt.Errorf("usage: holder quick|hold")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rt, err := goray.Init(ctx, goray.Config{})
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.WithoutCancel(ctx))
	fmt.Println("driver connected to node", goray.NodeID(ctx))
	switch os.Args[1] {
	case "quick":
		node, err := where.Remote(ctx).Get(ctx)
		if err != nil {
			return err
		}
		fmt.Println("task ran on node", node)
		return nil
	case "spread":
		f := where.Options(goray.Strategy(goray.Spread()))
		refs := make([]goray.ObjectRef[string], 8)
		for i := range refs {
			refs[i] = f.Remote(ctx)
		}
		nodes, err := goray.Get(ctx, refs...)
		if err != nil {
			return err
		}
		set := map[string]bool{}
		for _, n := range nodes {
			set[n] = true
		}
		fmt.Println("spread over", strings.Join(slices.Sorted(maps.Keys(set)), ","))
		return nil
	case "hold":
		h, err := holderClass.Options(goray.NumCPUs(1)).Remote(ctx)
		if err != nil {
			return err
		}
		pid, err := goray.Call[int](ctx, h, "Pid").Get(ctx)
		if err != nil {
			return err
		}
		fmt.Println("actor pid", pid)
		fmt.Println("ready")
		<-ctx.Done()
		return nil
	}
	return fmt.Errorf("unknown mode %q", os.Args[1])
}
