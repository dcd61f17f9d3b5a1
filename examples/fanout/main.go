// Command fanout shows goray's core: a fan-out of tasks, nested tasks,
// refs passed as arguments, and actors called from tasks.
//
//	go run ./examples/fanout -n 10000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/goray/goray"
)

var (
	square = goray.Register[int]("fanout.square", func(x int) int { return x * x })
	// sumSquares submits tasks from inside a task.
	sumSquares = goray.Register[int]("fanout.sumSquares", func(ctx context.Context, from, to int) (int, error) {
		refs := make([]goray.ObjectRef[int], 0, to-from)
		for i := from; i < to; i++ {
			refs = append(refs, square.Remote(ctx, i))
		}
		vs, err := goray.Get(ctx, refs...)
		s := 0
		for _, v := range vs {
			s += v
		}
		return s, err
	})
	// tally reports a value to an actor handle it was given.
	tally = goray.Register[int]("fanout.tally", func(ctx context.Context, h *goray.ActorHandle[Counter], v int) (int, error) {
		return goray.Call[int](ctx, h, "Add", v).Get(ctx)
	})
)

// Counter is a stateful actor.
type Counter struct{ n int }

var counter = goray.RegisterActor[Counter]("fanout.Counter", func() *Counter { return &Counter{} })

// Add adds v and returns the running total.
func (c *Counter) Add(v int) int { c.n += v; return c.n }

func main() {
	goray.MaybeRunWorker()
	n := flag.Int("n", 10000, "number of tasks in the fan-out")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{})
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.Background())
	ctx = goray.WithRuntime(ctx, rt)

	start := time.Now()
	refs := make([]goray.ObjectRef[int], n)
	for i := range refs {
		refs[i] = square.Remote(ctx, i)
	}
	vs, err := goray.Get(ctx, refs...)
	if err != nil {
		return err
	}
	total := 0
	for _, v := range vs {
		total += v
	}
	fmt.Printf("fan-out: %d tasks, sum of squares %d, %v\n", n, total, time.Since(start).Round(time.Millisecond))

	nested, err := sumSquares.Remote(ctx, 0, 100).Get(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("nested: sum of squares below 100 = %d\n", nested)

	h, err := counter.Remote(ctx)
	if err != nil {
		return err
	}
	tallies := make([]goray.ObjectRef[int], 10)
	for i := range tallies {
		tallies[i] = tally.Remote(ctx, h, square.Remote(ctx, i+1))
	}
	if _, err := goray.Get(ctx, tallies...); err != nil {
		return err
	}
	sum, err := goray.Call[int](ctx, h, "Add", 0).Get(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("actor: tasks reported squares 1..10 to a counter: total %d\n", sum)
	return nil
}
