// Command sleeper is a test driver: it starts tasks and an actor that run
// until they are killed, prints "ready", and waits.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/goray/goray"
)

var nap = goray.Register[int]("sleeper.nap", func(ctx context.Context, d int) (int, error) {
	select {
	case <-time.After(time.Duration(d) * time.Second):
	case <-ctx.Done():
	}
	return d, nil
})

// Holder is an actor that just stays alive.
type Holder struct{}

var holder = goray.RegisterActor[Holder]("sleeper.Holder", func() *Holder { return &Holder{} })

// Ping answers.
func (h *Holder) Ping() int { return 1 }

func main() {
	goray.MaybeRunWorker()
	ctx := context.Background()
	rt, err := goray.Init(ctx, goray.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer rt.Shutdown(ctx)
	h, err := holder.Remote(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := goray.Call[int](ctx, h, "Ping").Get(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r := nap.Remote(ctx, 600)
	fmt.Println("ready")
	_, _ = r.Get(ctx)
}
