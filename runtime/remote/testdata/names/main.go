// Command names is a driver for runtime/remote's named-actor tests. It
// connects to the daemon at GORAY_ADDRESS and answers one line on stdout
// per command line on stdin, so that a test can drive several drivers on
// different nodes in lockstep:
//
//	create NAME [NODE [MODE]] → "ok NODE" (the actor runs there), "exists",
//	                      or "error ..."; with NODE the actor is pinned there
//	                      (hard affinity). MODE: detached (the default: it
//	                      outlives this driver), attached (it shares its
//	                      creator's fate), or soft (detached, soft affinity
//	                      and one restart)
//	get NAME            → "found NODE", "notfound", or "error ..."
//	incr NAME           → "count N" (the counter after adding one, through
//	                      a handle GetActor found), "notfound", or "error ..."
//	kill NAME           → "killed", "notfound", or "error ..."
//	call NAME           → "ok NODE" or "error ..." through the handle this
//	                      driver's own create NAME returned
//
// Actors are counters and hold no CPU.
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

var counterClass = goray.RegisterActor[counter]("names.counter", func() *counter { return &counter{} })

func main() {
	goray.MaybeRunWorker()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "names:", err)
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

// created holds the handles this driver's creations returned, by name.
var created = map[string]*goray.ActorHandle[counter]{}

// where asks h for its node and words the answer with prefix.
func where(ctx context.Context, h *goray.ActorHandle[counter], prefix string) string {
	node, err := goray.Call[string](ctx, h, "Where").Get(ctx)
	if err != nil {
		return "error call: " + err.Error()
	}
	return prefix + " " + node
}

// lookup finds name's actor, or says why not.
func lookup(ctx context.Context, name string) (*goray.ActorHandle[counter], string) {
	h, err := goray.GetActor[counter](ctx, name)
	if errors.Is(err, goray.ErrActorNotFound) {
		return nil, "notfound"
	}
	if err != nil {
		return nil, "error " + err.Error()
	}
	return h, ""
}

func do(ctx context.Context, verb, name string, rest []string) string {
	switch verb {
	case "call":
		h := created[name]
		if h == nil {
			return "error no handle for " + name
		}
		return where(ctx, h, "ok")
	case "create":
		return create(ctx, name, rest)
	case "get":
		h, why := lookup(ctx, name)
		if h == nil {
			return why
		}
		return where(ctx, h, "found")
	case "incr":
		h, why := lookup(ctx, name)
		if h == nil {
			return why
		}
		n, err := goray.Call[int](ctx, h, "Incr").Get(ctx)
		if err != nil {
			return "error call: " + err.Error()
		}
		return fmt.Sprintf("count %d", n)
	case "kill":
		h, why := lookup(ctx, name)
		if h == nil {
			return why
		}
		if err := goray.Kill(ctx, h, true); err != nil {
			return "error " + err.Error()
		}
		return "killed"
	}
	return "error unknown verb " + verb
}

func create(ctx context.Context, name string, rest []string) string {
	opts := []goray.Option{goray.Name(name), goray.NumCPUs(0)}
	mode := "detached"
	if len(rest) > 1 {
		mode = rest[1]
	}
	switch mode {
	case "detached", "soft":
		opts = append(opts, goray.Detached())
	case "attached":
	default:
		return "error usage: create NAME [NODE [detached|attached|soft]]"
	}
	if len(rest) > 0 {
		opts = append(opts, goray.Strategy(goray.NodeAffinity(rest[0], mode == "soft")))
		if mode == "soft" {
			opts = append(opts, goray.MaxRestarts(1))
		}
	}
	h, err := counterClass.Options(opts...).Remote(ctx)
	if errors.Is(err, goray.ErrActorExists) {
		return "exists"
	}
	if err != nil {
		return "error " + err.Error()
	}
	created[name] = h
	return where(ctx, h, "ok")
}
