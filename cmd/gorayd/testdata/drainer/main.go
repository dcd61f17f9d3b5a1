// Command drainer is the test driver of gorayd's drain test: it connects
// to the daemon at GORAY_ADDRESS, checks that a request no node can hold
// fails at once, then runs SPREAD tasks that sleep and report the node
// they ran on, with no retries allowed, so that a node that leaves while
// they run must hand them back or finish them rather than lose them.
//
//	drainer <tasks> <sleep-ms> <actor-node>
//
// An actor that counts its calls lives on actor-node, which the test makes
// leave; the driver calls it before and after. It prints "infeasible ok",
// "actor before <node> <count>", "submitted <n>", "ran <node>=<count>...",
// "actor after <node> <count>" and "all ok", or the first error (exit 1).
package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goray/goray"
)

var nap = goray.Register[string]("gorayd-drain-test.nap", func(ctx context.Context, ms int) string {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return goray.NodeID(ctx)
})

// Counter counts its calls; a restarted actor starts again from zero.
type Counter struct{ n int }

// Where counts a call and reports the node the actor lives on.
func (c *Counter) Where(ctx context.Context) string {
	c.n++
	return goray.NodeID(ctx) + " " + strconv.Itoa(c.n)
}

var counter = goray.RegisterActor[Counter]("gorayd-drain-test.Counter", func() *Counter { return &Counter{} })

func main() {
	goray.MaybeRunWorker()
	if err := run(); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 4 {
		return errors.New("usage: drainer <tasks> <sleep-ms> <actor-node>")
	}
	n, err1 := strconv.Atoi(os.Args[1])
	ms, err2 := strconv.Atoi(os.Args[2])
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{})
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.WithoutCancel(ctx))
	// No node has 64 CPUs: that fails at once, it does not wait.
	if _, err := nap.Options(goray.NumCPUs(64)).Remote(ctx, 0).Get(ctx); !errors.Is(err, goray.ErrInfeasible) {
		return fmt.Errorf("a 64-CPU task: %v, want ErrInfeasible", err)
	}
	fmt.Println("infeasible ok")
	// An actor on the node that will leave; it may restart once.
	h, err := counter.Options(goray.NumCPUs(0), goray.MaxRestarts(1), goray.MaxTaskRetries(2),
		goray.Strategy(goray.NodeAffinity(os.Args[3], true))).Remote(ctx)
	if err != nil {
		return err
	}
	w, err := goray.Call[string](ctx, h, "Where").Get(ctx)
	if err != nil {
		return err
	}
	fmt.Println("actor before", w)
	f := nap.Options(goray.Strategy(goray.Spread()), goray.MaxRetries(0))
	refs := make([]goray.ObjectRef[string], n)
	for i := range refs {
		refs[i] = f.Remote(ctx, ms)
	}
	fmt.Println("submitted", n)
	nodes, err := goray.Get(ctx, refs...)
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, node := range nodes {
		count[node]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(count)) {
		parts = append(parts, k+"="+strconv.Itoa(count[k]))
	}
	fmt.Println("ran", strings.Join(parts, " "))
	// By now the actor's node has left: its owner restarted it elsewhere.
	if w, err = goray.Call[string](ctx, h, "Where").Get(ctx); err != nil {
		return fmt.Errorf("actor after its node left: %w", err)
	}
	fmt.Println("actor after", w)
	fmt.Println("all ok")
	return nil
}
