package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/goray/goray"
)

func init() {
	register("microbenchmark", "measure task, actor and object throughput (Ray's metrics)", runMicrobenchmark)
}

func runMicrobenchmark(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("microbenchmark", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dur := fs.Duration("duration", 2*time.Second, "how long to measure each metric")
	filter := fs.String("filter", "", "run only metrics whose name contains this")
	cpus := fs.Float64("num-cpus", float64(runtime.NumCPU()), "CPUs of the embedded node")
	large := fs.Int("large-mb", 100, "object size for the gigabytes metrics, in MiB")
	par := fs.Int("n", 4, "n for the 1:n, n:n and multi-client metrics")
	warm := fs.Int64("warm-reserve-mb", 0, "warm reserve of the embedded store, in MiB (0: none, the default for embedded nodes)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rt, err := goray.Init(ctx, goray.Config{NumCPUs: *cpus, WarmReserve: *warm << 20})
	if err != nil {
		fmt.Fprintln(stderr, "goray microbenchmark:", err)
		return 1
	}
	defer rt.Shutdown(context.Background())
	ctx = goray.WithRuntime(ctx, rt)
	fmt.Fprintf(stdout, "goray microbenchmark: %d CPUs (%s/%s), node CPUs %g\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, *cpus)
	_, err = goray.RunMicrobenchmark(ctx, goray.BenchOptions{Duration: *dur, Filter: *filter, LargeObject: *large << 20, Parallelism: *par}, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "goray microbenchmark:", err)
		return 1
	}
	return 0
}
