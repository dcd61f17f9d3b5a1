// Command detached is a driver for runtime/remote's test of named actors
// whose creator node dies. It connects to the daemon at GORAY_ADDRESS and
// answers one line on stdout per command line on stdin:
//
//	create NAME NODE detached|attached → "ok NODE" (the actor runs there),
//	                      "exists", or "error ..."; the actor is a counter
//	                      pinned to NODE (hard affinity, no restarts)
//	incr NAME           → "count N" (the counter after adding one, through
//	                      a handle GetActor found), "notfound", or "error ..."
//	get NAME            → "found NODE", "notfound", or "error ..."
//
// Actors hold no CPU.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/goray/goray"
)

// counter keeps state across calls, so that a test can tell the actor
// that survived from a new one under the same name.
type counter struct{ n int }

// Incr adds one and returns the count.
func (c *counter) Incr() int { c.n++; return c.n }

// Where reports the node the actor runs on.
func (*counter) Where(ctx context.Context) string { return goray.NodeID(ctx) }

var counterClass = goray.RegisterActor[counter]("detached.counter", func() *counter { return &counter{} })

func main() {
	goray.MaybeRunWorker()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "detached:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{})
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.Background())
	fmt.Println("ready", goray.NodeID(ctx))
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			fmt.Println("error bad command")
			continue
		}
		cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
		fmt.Println(do(cctx, f[0], f[1], f[2:]))
		ccancel()
	}
	return sc.Err()
}

func do(ctx context.Context, verb, name string, rest []string) string {
	switch verb {
	case "create":
		if len(rest) != 2 || (rest[1] != "detached" && rest[1] != "attached") {
			return "error usage: create NAME NODE detached|attached"
		}
		opts := []goray.Option{goray.Name(name), goray.NumCPUs(0), goray.Strategy(goray.NodeAffinity(rest[0], false))}
		if rest[1] == "detached" {
			opts = append(opts, goray.Detached())
		}
		h, err := counterClass.Options(opts...).Remote(ctx)
		if errors.Is(err, goray.ErrActorExists) {
			return "exists"
		}
		if err != nil {
			return "error " + err.Error()
		}
		node, err := goray.Call[string](ctx, h, "Where").Get(ctx)
		if err != nil {
			return "error call: " + err.Error()
		}
		return "ok " + node
	case "incr", "get":
		h, err := goray.GetActor[counter](ctx, name)
		if errors.Is(err, goray.ErrActorNotFound) {
			return "notfound"
		}
		if err != nil {
			return "error " + err.Error()
		}
		if verb == "get" {
			node, err := goray.Call[string](ctx, h, "Where").Get(ctx)
			if err != nil {
				return "error call: " + err.Error()
			}
			return "found " + node
		}
		n, err := goray.Call[int](ctx, h, "Incr").Get(ctx)
		if err != nil {
			return "error call: " + err.Error()
		}
		return fmt.Sprintf("count %d", n)
	}
	return "error unknown verb " + verb
}
