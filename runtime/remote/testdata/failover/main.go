// Command failover is a driver for runtime/remote's node-failure test. It
// places an actor and some long tasks on the node named by its first
// argument, prints "ready" and waits for a line on stdin (the test then
// SIGKILLs that node), and reports where the tasks finished and where the
// actor answers after the failure.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/goray/goray"
)

var slowWhere = goray.Register[string]("failover.slowWhere", func(ctx context.Context, ms int) string {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return goray.NodeID(ctx)
})

type counter struct{ n int }

func (c *counter) Add(ctx context.Context, d int) string {
	c.n += d
	return fmt.Sprintf("%d@%s", c.n, goray.NodeID(ctx))
}

var counterClass = goray.RegisterActor[counter]("failover.counter", func() *counter { return &counter{} })

func main() {
	goray.MaybeRunWorker()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "failover:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) < 2 {
		return fmt.Errorf("usage: failover <node-to-kill>")
	}
	victim := os.Args[1]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{})
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.Background())
	onVictim := goray.Strategy(goray.NodeAffinity(victim, true))
	h, err := counterClass.Options(onVictim, goray.MaxRestarts(1)).Remote(ctx)
	if err != nil {
		return err
	}
	r, err := goray.Call[string](ctx, h, "Add", 1).Get(ctx)
	if err != nil {
		return fmt.Errorf("actor before: %w", err)
	}
	fmt.Println("actor_before", r)
	refs := make([]goray.ObjectRef[string], 2)
	for i := range refs {
		refs[i] = slowWhere.Options(onVictim, goray.MaxRetries(2)).Remote(ctx, 3000)
	}
	time.Sleep(300 * time.Millisecond) // let them start there
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("stdin: %w", err)
	}
	nodes, err := goray.Get(ctx, refs...)
	if err != nil {
		return fmt.Errorf("tasks: %w", err)
	}
	fmt.Println("tasks_after", strings.Join(nodes, ","))
	r, err = goray.Call[string](ctx, h, "Add", 1).Get(ctx)
	if err != nil {
		return fmt.Errorf("actor after: %w", err)
	}
	fmt.Println("actor_after", r)
	return nil
}
