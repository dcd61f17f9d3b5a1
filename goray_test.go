package goray_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/goray/goray"
)

func TestMain(m *testing.M) {
	goray.MaybeRunWorker()
	os.Exit(m.Run())
}

var (
	square = goray.Register[int]("test.square", func(x int) int { return x * x })
	add    = goray.Register[int]("test.add", func(a, b int) int { return a + b })
	fail   = goray.Register[int]("test.fail", func(ctx context.Context) (int, error) { return 0, errors.New("boom") })
)

func initRT(t *testing.T, cfg goray.Config) (context.Context, *goray.Runtime) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	if cfg.NumCPUs == 0 {
		cfg.NumCPUs = 2
	}
	rt, err := goray.Init(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return goray.WithRuntime(ctx, rt), rt
}

func TestSmoke(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	v, err := square.Remote(ctx, 7).Get(ctx)
	if err != nil || v != 49 {
		t.Fatalf("square(7) = %v, %v", v, err)
	}
	r := add.Remote(ctx, square.Remote(ctx, 3), 1)
	if v, err := r.Get(ctx); err != nil || v != 10 {
		t.Fatalf("add = %v, %v", v, err)
	}
	_, err = fail.Remote(ctx).Get(ctx)
	var te *goray.TaskError
	if !errors.As(err, &te) || te.Message != "boom" {
		t.Fatalf("fail: %v", err)
	}
}
