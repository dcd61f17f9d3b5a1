// Command ownbinary is a driver built separately from the node it connects
// to (through GORAY_ADDRESS). Its function and actor exist only in this
// program, so they run only if the node starts workers of this binary.
// It prints one line per check and exits non-zero on the first failure.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/goray/goray"
)

var cube = goray.Register[int]("ownbinary.cube", func(x int) int { return x * x * x })

type tally struct{ n int }

func (t *tally) Add(d int) int { t.n += d; return t.n }

var tallyClass = goray.RegisterActor[tally]("ownbinary.tally", func() *tally { return &tally{} })

var pid = goray.Register[int]("ownbinary.pid", func() int { return os.Getpid() })

func main() {
	goray.MaybeRunWorker()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ownbinary:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{})
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.Background())
	refs := make([]goray.ObjectRef[int], 8)
	for i := range refs {
		refs[i] = cube.Remote(ctx, i)
	}
	vs, err := goray.Get(ctx, refs...)
	if err != nil {
		return fmt.Errorf("cube: %w", err)
	}
	sum := 0
	for _, v := range vs {
		sum += v
	}
	fmt.Println("cubes", sum)
	h, err := tallyClass.Remote(ctx)
	if err != nil {
		return fmt.Errorf("actor: %w", err)
	}
	var last goray.ObjectRef[int]
	for i := 1; i <= 5; i++ {
		last = goray.Call[int](ctx, h, "Add", i)
	}
	n, err := last.Get(ctx)
	if err != nil {
		return fmt.Errorf("tally: %w", err)
	}
	fmt.Println("tally", n)
	p, err := pid.Remote(ctx).Get(ctx)
	if err != nil {
		return fmt.Errorf("pid: %w", err)
	}
	fmt.Println("workerpid", p)
	return nil
}
