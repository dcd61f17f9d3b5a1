// Command quickstart is the example from the README: remote functions, an
// actor, and Get on an embedded single-node runtime.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/goray/goray"
)

var square = goray.Register[int]("quickstart.square", func(x int) int { return x * x })

// Counter is an actor that sums what it is given.
type Counter struct{ n int }

var counter = goray.RegisterActor[Counter]("quickstart.Counter", func() *Counter { return &Counter{} })

// Add adds x and returns the running total.
func (c *Counter) Add(x int) int { c.n += x; return c.n }

func main() {
	goray.MaybeRunWorker() // workers re-execute this binary
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	rt, err := goray.Init(ctx, goray.Config{}) // embedded node; GORAY_ADDRESS connects to a cluster
	if err != nil {
		return err
	}
	defer rt.Shutdown(ctx)

	refs := make([]goray.ObjectRef[int], 10)
	for i := range refs {
		refs[i] = square.Remote(ctx, i)
	}
	xs, err := goray.Get(ctx, refs...)
	if err != nil {
		return err
	}
	c, err := counter.Remote(ctx)
	if err != nil {
		return err
	}
	for _, x := range xs {
		goray.Call[int](ctx, c, "Add", x)
	}
	total, err := goray.Call[int](ctx, c, "Add", 0).Get(ctx)
	if err != nil {
		return err
	}
	fmt.Println(total) // 285: calls from one caller run in order
	return nil
}
