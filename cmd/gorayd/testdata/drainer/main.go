// Command drainer is the test driver of gorayd's drain test: it connects
// to the daemon at GORAY_ADDRESS, checks that a request no node can hold
// fails at once, then runs SPREAD tasks that sleep and report the node
// they ran on, with no retries allowed, so that a node that leaves while
// they run must hand them back or finish them rather than lose them.
//
//	drainer <tasks> <sleep-ms>
//
// It prints "infeasible ok", "submitted <n>", then "ran <node>=<count>..."
// and "all ok", or the first error (exit 1).
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

func main() {
	goray.MaybeRunWorker()
	if err := run(); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 3 {
		return errors.New("usage: drainer <tasks> <sleep-ms>")
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
	fmt.Println("all ok")
	return nil
}
