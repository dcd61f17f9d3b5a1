package goray

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Functions and actors used by the microbenchmark. They are registered by
// this package so that any goray binary's workers know them.
var (
	benchNoop      = Register[int]("goray.bench.noop", func() int { return 1 })
	benchSubmitter = RegisterActor[benchClient]("goray.bench.client", func() *benchClient { return &benchClient{} })
	benchTarget    = RegisterActor[benchActor]("goray.bench.actor", func() *benchActor { return &benchActor{} })
	benchCallers   = RegisterActor[benchCaller]("goray.bench.caller", func() *benchCaller { return &benchCaller{} })
)

type benchActor struct{ n int }

// Noop counts the call.
func (a *benchActor) Noop() int { a.n++; return 1 }

type benchClient struct{}

// Tasks submits n no-op tasks and waits for them all.
func (benchClient) Tasks(ctx context.Context, n int) (int, error) {
	refs := make([]ObjectRef[int], n)
	for i := range refs {
		refs[i] = benchNoop.Remote(ctx)
	}
	_, err := Get(ctx, refs...)
	return n, err
}

type benchCaller struct{}

// Calls makes n async calls spread over targets and waits for them.
func (benchCaller) Calls(ctx context.Context, targets []*ActorHandle[benchActor], n int) (int, error) {
	refs := make([]ObjectRef[int], n)
	for i := range refs {
		refs[i] = Call[int](ctx, targets[i%len(targets)], "Noop")
	}
	_, err := Get(ctx, refs...)
	return n, err
}

// BenchResult is one microbenchmark metric.
type BenchResult struct {
	Name  string
	Value float64 // per second, or GB/s for the *_gigabytes metrics
	Unit  string  // "per second" or "GB/s"
}

// BenchOptions sizes the microbenchmark.
type BenchOptions struct {
	// Duration is roughly how long each metric is measured.
	Duration time.Duration
	// Filter, if non-empty, runs only metrics whose name contains it.
	Filter string
	// LargeObject is the size of the put/get gigabytes objects.
	LargeObject int
	// Parallelism is n in the 1:n, n:n and multi-client metrics.
	Parallelism int
}

func (o *BenchOptions) defaults() {
	if o.Duration <= 0 {
		o.Duration = time.Second
	}
	if o.LargeObject <= 0 {
		o.LargeObject = 100 << 20
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 4
	}
}

// timeit runs batch (which does `per` operations) until d has passed and
// returns operations per second.
func timeit(ctx context.Context, d time.Duration, per int, batch func() error) (float64, error) {
	// One warm-up batch, not counted.
	if err := batch(); err != nil {
		return 0, err
	}
	start := time.Now()
	ops := 0
	for time.Since(start) < d {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := batch(); err != nil {
			return 0, err
		}
		ops += per
	}
	return float64(ops) / time.Since(start).Seconds(), nil
}

// RunMicrobenchmark measures Ray's `ray microbenchmark` metrics against the
// runtime in ctx and prints one line per metric to w (if non-nil). It also
// measures a memcpy baseline for the gigabytes metrics.
func RunMicrobenchmark(ctx context.Context, opts BenchOptions, w io.Writer) ([]BenchResult, error) {
	opts.defaults()
	if _, err := current(ctx); err != nil {
		return nil, err
	}
	var results []BenchResult
	emit := func(name string, v float64, unit string) {
		results = append(results, BenchResult{Name: name, Value: v, Unit: unit})
		if w != nil {
			fmt.Fprintf(w, "%-48s %s %.2f\n", name, unit, v)
		}
	}
	want := func(name string) bool { return opts.Filter == "" || strings.Contains(name, opts.Filter) }
	d := opts.Duration
	type metric struct {
		name string
		run  func() (float64, string, error)
	}
	p := opts.Parallelism
	metrics := []metric{
		{"single_client_tasks_sync", func() (float64, string, error) {
			v, err := timeit(ctx, d, 100, func() error {
				for i := 0; i < 100; i++ {
					if _, err := benchNoop.Remote(ctx).Get(ctx); err != nil {
						return err
					}
				}
				return nil
			})
			return v, "per second", err
		}},
		{"single_client_tasks_async", func() (float64, string, error) {
			const n = 10000
			v, err := timeit(ctx, d, n, func() error {
				refs := make([]ObjectRef[int], n)
				for i := range refs {
					refs[i] = benchNoop.Remote(ctx)
				}
				_, err := Get(ctx, refs...)
				return err
			})
			return v, "per second", err
		}},
		{"multi_client_tasks_async", func() (float64, string, error) {
			clients := make([]*ActorHandle[benchClient], p)
			for i := range clients {
				h, err := benchSubmitter.Remote(ctx)
				if err != nil {
					return 0, "", err
				}
				clients[i] = h
			}
			defer killAll(ctx, clients)
			const n = 5000
			v, err := timeit(ctx, d, n*p, func() error {
				refs := make([]ObjectRef[int], p)
				for i, h := range clients {
					refs[i] = Call[int](ctx, h, "Tasks", n)
				}
				_, err := Get(ctx, refs...)
				return err
			})
			return v, "per second", err
		}},
		{"1_1_actor_calls_sync", func() (float64, string, error) {
			h, err := benchTarget.Remote(ctx)
			if err != nil {
				return 0, "", err
			}
			defer killAll(ctx, []*ActorHandle[benchActor]{h})
			v, err := timeit(ctx, d, 100, func() error {
				for i := 0; i < 100; i++ {
					if _, err := Call[int](ctx, h, "Noop").Get(ctx); err != nil {
						return err
					}
				}
				return nil
			})
			return v, "per second", err
		}},
		{"1_1_actor_calls_async", func() (float64, string, error) {
			return actorAsync(ctx, d, 1, nil)
		}},
		{"1_1_actor_calls_concurrent", func() (float64, string, error) {
			return actorAsync(ctx, d, 1, []Option{MaxConcurrency(16)})
		}},
		{"1_n_actor_calls_async", func() (float64, string, error) {
			return actorAsync(ctx, d, p, nil)
		}},
		{"n_n_actor_calls_async", func() (float64, string, error) {
			targets := make([]*ActorHandle[benchActor], p)
			for i := range targets {
				h, err := benchTarget.Remote(ctx)
				if err != nil {
					return 0, "", err
				}
				targets[i] = h
			}
			defer killAll(ctx, targets)
			callers := make([]*ActorHandle[benchCaller], p)
			for i := range callers {
				h, err := benchCallers.Remote(ctx)
				if err != nil {
					return 0, "", err
				}
				callers[i] = h
			}
			defer killAll(ctx, callers)
			const n = 5000
			v, err := timeit(ctx, d, n*p, func() error {
				refs := make([]ObjectRef[int], p)
				for i, h := range callers {
					refs[i] = Call[int](ctx, h, "Calls", targets, n)
				}
				_, err := Get(ctx, refs...)
				return err
			})
			return v, "per second", err
		}},
		{"single_client_get_calls", func() (float64, string, error) {
			r, err := Put(ctx, []byte("small value"))
			if err != nil {
				return 0, "", err
			}
			v, err := timeit(ctx, d, 1000, func() error {
				for i := 0; i < 1000; i++ {
					if _, err := r.Get(ctx); err != nil {
						return err
					}
				}
				return nil
			})
			return v, "per second", err
		}},
		{"single_client_put_calls", func() (float64, string, error) {
			v, err := timeit(ctx, d, 1000, func() error {
				for i := 0; i < 1000; i++ {
					r, err := Put(ctx, []byte("small value"))
					if err != nil {
						return err
					}
					r.Release()
				}
				return nil
			})
			return v, "per second", err
		}},
		{"single_client_put_gigabytes", func() (float64, string, error) {
			buf := make([]byte, opts.LargeObject)
			for i := range buf {
				buf[i] = byte(i)
			}
			v, err := timeit(ctx, d, 1, func() error {
				r, err := Put(ctx, buf)
				if err != nil {
					return err
				}
				r.Release()
				return nil
			})
			return v * float64(len(buf)) / 1e9, "GB/s", err
		}},
		{"single_client_get_gigabytes", func() (float64, string, error) {
			buf := make([]byte, opts.LargeObject)
			r, err := Put(ctx, buf)
			if err != nil {
				return 0, "", err
			}
			defer r.Release()
			v, err := timeit(ctx, d, 1, func() error {
				_, err := r.Get(ctx)
				return err
			})
			return v * float64(len(buf)) / 1e9, "GB/s", err
		}},
		{"single_client_wait_1k_refs", func() (float64, string, error) {
			v, err := timeit(ctx, d, 1, func() error {
				refs := make([]ObjectRef[int], 1000)
				for i := range refs {
					refs[i] = benchNoop.Remote(ctx)
				}
				_, _, err := Wait(ctx, refs, len(refs), -1)
				return err
			})
			return v, "per second", err
		}},
		{"single_client_get_object_containing_10k_refs", func() (float64, string, error) {
			inner := make([]ObjectRef[int], 10000)
			for i := range inner {
				r, err := Put(ctx, i)
				if err != nil {
					return 0, "", err
				}
				inner[i] = r
			}
			outer, err := Put(ctx, inner)
			if err != nil {
				return 0, "", err
			}
			v, err := timeit(ctx, d, 1, func() error {
				got, err := outer.Get(ctx)
				if err == nil && len(got) != len(inner) {
					err = fmt.Errorf("got %d refs, want %d", len(got), len(inner))
				}
				return err
			})
			return v, "per second", err
		}},
		{"memcpy_gigabytes", func() (float64, string, error) {
			src := make([]byte, opts.LargeObject)
			dst := make([]byte, opts.LargeObject)
			for i := range src {
				src[i] = byte(i)
			}
			v, err := timeit(ctx, d, 1, func() error { copy(dst, src); return nil })
			return v * float64(len(src)) / 1e9, "GB/s", err
		}},
	}
	for _, m := range metrics {
		if !want(m.name) {
			continue
		}
		v, unit, err := m.run()
		if err != nil {
			return results, fmt.Errorf("goray: microbenchmark %s: %w", m.name, err)
		}
		emit(m.name, v, unit)
	}
	return results, nil
}

func actorAsync(ctx context.Context, d time.Duration, actors int, opts []Option) (float64, string, error) {
	hs := make([]*ActorHandle[benchActor], actors)
	for i := range hs {
		h, err := benchTarget.Options(opts...).Remote(ctx)
		if err != nil {
			return 0, "", err
		}
		hs[i] = h
	}
	defer killAll(ctx, hs)
	const n = 10000
	v, err := timeit(ctx, d, n, func() error {
		refs := make([]ObjectRef[int], n)
		for i := range refs {
			refs[i] = Call[int](ctx, hs[i%len(hs)], "Noop")
		}
		_, err := Get(ctx, refs...)
		return err
	})
	return v, "per second", err
}

func killAll[T any](ctx context.Context, hs []*ActorHandle[T]) {
	for _, h := range hs {
		_ = Kill(ctx, h, true)
	}
}
