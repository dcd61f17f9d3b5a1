// Command lineage is a driver for runtime/remote's lineage test. On the
// node named by its first argument it makes large objects (8 MiB results
// of soft NodeAffinity tasks, one of them computed from another, one
// without retries) and has an actor there put an object and hand its ref
// to the driver. It prints "ready" once they all exist and waits for a
// line on stdin (the test then SIGKILLs that node), then reports what Get
// returns for each. Every task run appends "<func> <seed> <node>" to the
// file named by its second argument, so the test sees where each ran.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/goray/goray"
)

const size = 8 << 20

// blobOf is the deterministic content of seed's object.
func blobOf(seed int) []byte {
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(uint64(seed), 42))
	for i := 0; i < len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// mixOf is the deterministic transform of b by seed.
func mixOf(b []byte, seed int) []byte {
	out := make([]byte, len(b))
	for i, x := range b {
		out[i] = x ^ byte(seed) ^ byte(i)
	}
	return out
}

func record(ctx context.Context, log, what string, seed int) error {
	f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "%s %d %s\n", what, seed, goray.NodeID(ctx)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var blob = goray.Register[[]byte]("lineage.blob", func(ctx context.Context, seed int, log string) ([]byte, error) {
	return blobOf(seed), record(ctx, log, "blob", seed)
})

var mix = goray.Register[[]byte]("lineage.mix", func(ctx context.Context, b []byte, seed int, log string) ([]byte, error) {
	return mixOf(b, seed), record(ctx, log, "mix", seed)
})

// keeper puts an object on its node and keeps the ref, so that the object
// lives (owned by that node) until the node dies.
type keeper struct{ refs []goray.ObjectRef[[]byte] }

func (k *keeper) Make(ctx context.Context, seed int) ([]goray.ObjectRef[[]byte], error) {
	ref, err := goray.Put(ctx, blobOf(seed))
	if err != nil {
		return nil, err
	}
	k.refs = append(k.refs, ref)
	return []goray.ObjectRef[[]byte]{ref}, nil
}

// Where is the node the keeper lives on.
func (k *keeper) Where(ctx context.Context) string { return goray.NodeID(ctx) }

var keeperClass = goray.RegisterActor[keeper]("lineage.keeper", func() *keeper { return &keeper{} })

func main() {
	goray.MaybeRunWorker()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "lineage:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) < 3 {
		return fmt.Errorf("usage: lineage <node-to-kill> <log-file>")
	}
	victim, log := os.Args[1], os.Args[2]
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{})
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.Background())
	onVictim := goray.Strategy(goray.NodeAffinity(victim, true))
	// One at a time, each after the last finished, so that the victim has
	// a CPU free for each (soft affinity runs a task elsewhere otherwise).
	// Wait says ready without fetching: the objects stay where they were
	// made.
	done := func(ref goray.ObjectRef[[]byte]) error {
		_, notReady, err := goray.Wait(ctx, []goray.ObjectRef[[]byte]{ref}, 0, -1)
		if err == nil && len(notReady) > 0 {
			err = errors.New("not ready")
		}
		return err
	}
	one := blob.Options(onVictim, goray.MaxRetries(2)).Remote(ctx, 1, log)
	if err := done(one); err != nil {
		return err
	}
	y := blob.Options(onVictim, goray.MaxRetries(2)).Remote(ctx, 2, log)
	if err := done(y); err != nil {
		return err
	}
	z := mix.Options(onVictim, goray.MaxRetries(2)).Remote(ctx, y, 2, log)
	if err := done(z); err != nil {
		return err
	}
	lost := blob.Options(onVictim, goray.MaxRetries(0)).Remote(ctx, 3, log)
	if err := done(lost); err != nil {
		return err
	}
	h, err := keeperClass.Options(onVictim).Remote(ctx)
	if err != nil {
		return err
	}
	inner, err := goray.Call[[]goray.ObjectRef[[]byte]](ctx, h, "Make", 4).Get(ctx)
	if err != nil {
		return fmt.Errorf("keeper: %w", err)
	}
	where, err := goray.Call[string](ctx, h, "Where").Get(ctx)
	if err != nil {
		return fmt.Errorf("keeper: %w", err)
	}
	fmt.Println("keeper_node", where)
	y.Release() // from now on only z's lineage knows how to make it
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("stdin: %w", err)
	}
	check := func(name string, ref goray.ObjectRef[[]byte], want []byte) {
		got, err := ref.Get(ctx)
		switch {
		case err != nil:
			fmt.Println(name, "error:", err)
		case !bytes.Equal(got, want):
			fmt.Println(name, "differs")
		default:
			fmt.Println(name, "identical")
		}
	}
	start := time.Now()
	check("rebuilt_one", one, blobOf(1))
	fmt.Println("rebuild_one_ms", time.Since(start).Milliseconds())
	start = time.Now()
	check("rebuilt_chain", z, mixOf(blobOf(2), 2))
	fmt.Println("rebuild_chain_ms", time.Since(start).Milliseconds())
	_, err = lost.Get(ctx)
	fmt.Println("lost", errors.Is(err, goray.ErrObjectLost), err)
	_, err = inner[0].Get(ctx)
	fmt.Println("owner_died", errors.Is(err, goray.ErrOwnerDied), err)
	return nil
}
