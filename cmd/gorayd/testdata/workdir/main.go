// Command workdir is a test driver for a job's working_dir: the driver and
// every task and actor it starts read "data.txt" by a relative path, so each
// line it prints shows that the process ran in the job's working dir.
//
//	workdir [NODE_ID...]   # a task and an actor on each node (default: the driver's node)
//
// It prints "driver: <content>", then "task <node>: <content>" and
// "actor <node>: <content>" per node, where <node> is where the task or
// actor actually ran.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/goray/goray"
)

// readData is what every process of the job does: read data.txt from its
// current directory.
func readData(ctx context.Context) (string, error) {
	b, err := os.ReadFile("data.txt")
	if err != nil {
		wd, _ := os.Getwd()
		return "", fmt.Errorf("in %s: %w", wd, err)
	}
	return goray.NodeID(ctx) + ": " + strings.TrimSpace(string(b)), nil
}

// Reader is an actor that reads data.txt in its worker.
type Reader struct{}

// Read returns the node and data.txt's content.
func (r *Reader) Read(ctx context.Context) (string, error) { return readData(ctx) }

var (
	readTask    = goray.Register[string]("gorayd-test.readData", readData)
	readerClass = goray.RegisterActor[Reader]("gorayd-test.Reader", func() *Reader { return &Reader{} })
)

func main() {
	goray.MaybeRunWorker()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "workdir:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	rt, err := goray.Init(ctx, goray.Config{})
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.WithoutCancel(ctx))
	own, err := readData(ctx)
	if err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	_, content, _ := strings.Cut(own, ": ")
	fmt.Println("driver:", content)
	nodes := os.Args[1:]
	if len(nodes) == 0 {
		nodes = []string{goray.NodeID(ctx)}
	}
	for _, node := range nodes {
		on := goray.Strategy(goray.NodeAffinity(node, false))
		got, err := readTask.Options(on).Remote(ctx).Get(ctx)
		if err != nil {
			return fmt.Errorf("task on %s: %w", node, err)
		}
		fmt.Println("task", got)
		h, err := readerClass.Options(on, goray.NumCPUs(0)).Remote(ctx)
		if err != nil {
			return fmt.Errorf("actor on %s: %w", node, err)
		}
		got, err = goray.Call[string](ctx, h, "Read").Get(ctx)
		if err != nil {
			return fmt.Errorf("actor on %s: %w", node, err)
		}
		fmt.Println("actor", got)
		if err := goray.Kill(ctx, h, true); err != nil {
			return fmt.Errorf("kill actor on %s: %w", node, err)
		}
	}
	return nil
}
