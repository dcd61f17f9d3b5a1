// Command pi estimates π with a parallel Monte Carlo simulation on goray:
// remote tasks each throw darts at the unit square, and an actor
// accumulates their counts as they finish.
//
//	go run ./examples/pi -samples 20000000 -tasks 32
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/goray/goray"
)

// sample counts darts that land inside the quarter circle, with a
// deterministic per-task seed.
var sample = goray.Register[int64]("pi.sample", func(seed uint64, n int64) int64 {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	var in int64
	for i := int64(0); i < n; i++ {
		x, y := r.Float64(), r.Float64()
		if x*x+y*y <= 1 {
			in++
		}
	}
	return in
})

// Accumulator is an actor that sums the partial counts.
type Accumulator struct{ inside, total int64 }

var accumulator = goray.RegisterActor[Accumulator]("pi.Accumulator", func() *Accumulator { return &Accumulator{} })

// Add records one task's result.
func (a *Accumulator) Add(inside, total int64) int64 {
	a.inside += inside
	a.total += total
	return a.total
}

// Estimate returns the current estimate of π.
func (a *Accumulator) Estimate() float64 { return 4 * float64(a.inside) / float64(a.total) }

func main() {
	goray.MaybeRunWorker()
	samples := flag.Int64("samples", 20_000_000, "total darts")
	tasks := flag.Int("tasks", 32, "number of remote tasks")
	flag.Parse()
	if err := run(*samples, *tasks); err != nil {
		fmt.Fprintln(os.Stderr, "pi:", err)
		os.Exit(1)
	}
}

func run(samples int64, tasks int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{})
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.Background())
	ctx = goray.WithRuntime(ctx, rt)

	start := time.Now()
	acc, err := accumulator.Remote(ctx)
	if err != nil {
		return err
	}
	per := samples / int64(tasks)
	refs := make([]goray.ObjectRef[int64], tasks)
	for i := range refs {
		refs[i] = sample.Remote(ctx, uint64(i+1), per)
	}
	// Feed results to the accumulator as they finish.
	pending := refs
	for len(pending) > 0 {
		ready, rest, err := goray.Wait(ctx, pending, 1, -1)
		if err != nil {
			return err
		}
		for _, r := range ready {
			in, err := r.Get(ctx)
			if err != nil {
				return err
			}
			goray.Call[int64](ctx, acc, "Add", in, per)
		}
		pending = rest
	}
	pi, err := goray.Call[float64](ctx, acc, "Estimate").Get(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("π ≈ %.6f (error %.2e) from %d samples in %d tasks, %v\n",
		pi, math.Abs(pi-math.Pi), per*int64(tasks), tasks, time.Since(start).Round(time.Millisecond))
	return nil
}
