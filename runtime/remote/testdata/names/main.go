// Command names is a driver for runtime/remote's named-actor tests. It
// connects to the daemon at GORAY_ADDRESS and answers one line on stdout
// per command line on stdin, so that a test can drive several drivers on
// different nodes in lockstep:
//
//	create NAME [NODE [soft]] → "ok NODE" (the actor runs there), "exists", or
//	                      "error ..."; soft: soft affinity and one restart
//	get NAME            → "found NODE", "notfound", or "error ..."
//	kill NAME           → "killed", "notfound", or "error ..."
//	call NAME           → "ok NODE" or "error ..." through the handle this
//	                      driver's own create NAME returned
//
// Actors are detached (they outlive this driver) and hold no CPU.
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

type keeper struct{}

// Where reports the node the actor runs on.
func (*keeper) Where(ctx context.Context) string { return goray.NodeID(ctx) }

var keeperClass = goray.RegisterActor[keeper]("names.keeper", func() *keeper { return &keeper{} })

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
var created = map[string]*goray.ActorHandle[keeper]{}

func do(ctx context.Context, verb, name string, rest []string) string {
	switch verb {
	case "call":
		h := created[name]
		if h == nil {
			return "error no handle for " + name
		}
		node, err := goray.Call[string](ctx, h, "Where").Get(ctx)
		if err != nil {
			return "error " + err.Error()
		}
		return "ok " + node
	case "create":
		opts := []goray.Option{goray.Name(name), goray.Detached(), goray.NumCPUs(0)}
		if len(rest) > 0 {
			soft := len(rest) > 1 && rest[1] == "soft"
			opts = append(opts, goray.Strategy(goray.NodeAffinity(rest[0], soft)))
			if soft {
				opts = append(opts, goray.MaxRestarts(1))
			}
		}
		h, err := keeperClass.Options(opts...).Remote(ctx)
		if errors.Is(err, goray.ErrActorExists) {
			return "exists"
		}
		if err != nil {
			return "error " + err.Error()
		}
		created[name] = h
		node, err := goray.Call[string](ctx, h, "Where").Get(ctx)
		if err != nil {
			return "error call: " + err.Error()
		}
		return "ok " + node
	case "get":
		h, err := goray.GetActor[keeper](ctx, name)
		if errors.Is(err, goray.ErrActorNotFound) {
			return "notfound"
		}
		if err != nil {
			return "error " + err.Error()
		}
		node, err := goray.Call[string](ctx, h, "Where").Get(ctx)
		if err != nil {
			return "error call: " + err.Error()
		}
		return "found " + node
	case "kill":
		h, err := goray.GetActor[keeper](ctx, name)
		if errors.Is(err, goray.ErrActorNotFound) {
			return "notfound"
		}
		if err != nil {
			return "error " + err.Error()
		}
		if err := goray.Kill(ctx, h, true); err != nil {
			return "error " + err.Error()
		}
		return "killed"
	}
	return "error unknown verb " + verb
}
