// Command fanout is a driver for runtime/remote's cluster tests, built
// separately from gorayd and connected through GORAY_ADDRESS. It fans out
// SPREAD tasks that report the node they ran on, pins one task to a node
// by hard NodeAffinity (the node ID is its first argument), and sends a
// large argument through a task on that node and back. It prints one
// "key value" line per result.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/goray/goray"
)

var whereAmI = goray.Register[string]("fanout.where", func(ctx context.Context, i int) string {
	time.Sleep(50 * time.Millisecond) // long enough that one node cannot take every task
	return goray.NodeID(ctx)
})

var echoSum = goray.Register[string]("fanout.echoSum", func(ctx context.Context, b []byte) string {
	s := sha256.Sum256(b)
	return goray.NodeID(ctx) + ":" + hex.EncodeToString(s[:])
})

// counter is an actor; Add reports the count and the node it lives on.
type counter struct{ n int }

func (c *counter) Add(ctx context.Context, d int) string {
	c.n += d
	return fmt.Sprintf("%d@%s", c.n, goray.NodeID(ctx))
}

var counterClass = goray.RegisterActor[counter]("fanout.counter", func() *counter { return &counter{} })

// callFrom calls the actor whose handle it got, from wherever it runs.
var callFrom = goray.Register[string]("fanout.callFrom", func(ctx context.Context, h *goray.ActorHandle[counter]) (string, error) {
	r, err := goray.Call[string](ctx, h, "Add", 100).Get(ctx)
	return goray.NodeID(ctx) + ">" + r, err
})

// pullSum gets the object behind a nested ref (which lives on the
// driver's node) and returns where it ran and the object's sha256.
var pullSum = goray.Register[string]("fanout.pullSum", func(ctx context.Context, refs []goray.ObjectRef[[]byte]) (string, error) {
	b, err := refs[0].Get(ctx)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return goray.NodeID(ctx) + ":" + hex.EncodeToString(s[:]), nil
})

func main() {
	goray.MaybeRunWorker()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{})
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.Background())
	fmt.Println("driver_node", goray.NodeID(ctx))
	refs := make([]goray.ObjectRef[string], 24)
	spread := whereAmI.Options(goray.Strategy(goray.Spread()))
	for i := range refs {
		refs[i] = spread.Remote(ctx, i)
	}
	nodes, err := goray.Get(ctx, refs...)
	if err != nil {
		return fmt.Errorf("spread: %w", err)
	}
	seen := map[string]int{}
	for _, n := range nodes {
		seen[n]++
	}
	var ids []string
	for n := range seen {
		ids = append(ids, n)
	}
	sort.Strings(ids)
	fmt.Println("spread_nodes", strings.Join(ids, ","))
	if len(os.Args) > 1 {
		target := os.Args[1]
		pinned := whereAmI.Options(goray.Strategy(goray.NodeAffinity(target, false)))
		got, err := pinned.Remote(ctx, 0).Get(ctx)
		if err != nil {
			return fmt.Errorf("affinity: %w", err)
		}
		fmt.Println("affinity_node", got)
		big := bytes.Repeat([]byte("0123456789abcdef"), 16<<20/16) // 16 MiB
		for i := range big {
			big[i] ^= byte(i >> 12)
		}
		want := sha256.Sum256(big)
		t0 := time.Now()
		res, err := echoSum.Options(goray.Strategy(goray.NodeAffinity(target, false))).Remote(ctx, big).Get(ctx)
		if err != nil {
			return fmt.Errorf("big: %w", err)
		}
		fmt.Println("big_result", res)
		fmt.Println("big_want", hex.EncodeToString(want[:]))
		fmt.Println("big_seconds", time.Since(t0).Seconds())
		// A 64 MiB object put here, reached by a task on the target node
		// through a ref nested in its argument: pulled from this node.
		big64 := make([]byte, 64<<20)
		for i := range big64 {
			big64[i] = byte(i*13 + i>>11)
		}
		want64 := sha256.Sum256(big64)
		ref, err := goray.Put(ctx, big64)
		if err != nil {
			return fmt.Errorf("put 64 MiB: %w", err)
		}
		t0 = time.Now()
		res, err = pullSum.Options(goray.Strategy(goray.NodeAffinity(target, false))).Remote(ctx, []goray.ObjectRef[[]byte]{ref}).Get(ctx)
		if err != nil {
			return fmt.Errorf("pull 64 MiB: %w", err)
		}
		fmt.Println("pull_result", res)
		fmt.Println("pull_want", hex.EncodeToString(want64[:]))
		fmt.Println("pull_seconds", time.Since(t0).Seconds())
	}
	// STRICT_SPREAD: three bundles on three nodes; four cannot be placed
	// and the group waits.
	pg, err := goray.CreatePlacementGroup(ctx, []map[string]float64{{"CPU": 0.5}, {"CPU": 0.5}, {"CPU": 0.5}}, goray.StrictSpread, "three")
	if err != nil {
		return fmt.Errorf("pg: %w", err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	err = pg.Ready(rctx)
	rcancel()
	if err != nil {
		return fmt.Errorf("pg ready: %w", err)
	}
	var pgNodes []string
	for b := range 3 {
		n, err := whereAmI.Options(goray.Strategy(goray.InPlacementGroup(pg, b)), goray.NumCPUs(0.5)).Remote(ctx, b).Get(ctx)
		if err != nil {
			return fmt.Errorf("task in bundle %d: %w", b, err)
		}
		pgNodes = append(pgNodes, n)
	}
	fmt.Println("pg_nodes", strings.Join(pgNodes, ","))
	pg4, err := goray.CreatePlacementGroup(ctx, []map[string]float64{{"CPU": 0.5}, {"CPU": 0.5}, {"CPU": 0.5}, {"CPU": 0.5}}, goray.StrictSpread, "four")
	if err != nil {
		return fmt.Errorf("pg4: %w", err)
	}
	wctx, wcancel := context.WithTimeout(ctx, time.Second)
	err = pg4.Ready(wctx)
	wcancel()
	fmt.Println("pg4_ready", err == nil)
	_ = goray.RemovePlacementGroup(ctx, pg4)
	_ = goray.RemovePlacementGroup(ctx, pg)
	if len(os.Args) > 2 {
		// The actor lives on node os.Args[2]; a task on node os.Args[1]
		// calls it through the handle it was passed.
		h, err := counterClass.Options(goray.Strategy(goray.NodeAffinity(os.Args[2], false))).Remote(ctx)
		if err != nil {
			return fmt.Errorf("actor: %w", err)
		}
		var last goray.ObjectRef[string]
		for i := 1; i <= 4; i++ {
			last = goray.Call[string](ctx, h, "Add", i)
		}
		r, err := last.Get(ctx)
		if err != nil {
			return fmt.Errorf("actor calls: %w", err)
		}
		fmt.Println("actor_local_calls", r)
		r, err = callFrom.Options(goray.Strategy(goray.NodeAffinity(os.Args[1], false))).Remote(ctx, h).Get(ctx)
		if err != nil {
			return fmt.Errorf("actor call from a task: %w", err)
		}
		fmt.Println("actor_task_call", r)
	}
	return nil
}
