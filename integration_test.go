package goray_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/goray/goray"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var (
	getPID = goray.Register[int]("test.pid", func() int { return os.Getpid() })
	sumTo  = goray.Register[int]("test.sumTo", func(ctx context.Context, n int) (int, error) {
		// Nested: fan out n square tasks from inside a task and add them up.
		refs := make([]goray.ObjectRef[int], n)
		for i := range refs {
			refs[i] = square.Remote(ctx, i)
		}
		vs, err := goray.Get(ctx, refs...)
		if err != nil {
			return 0, err
		}
		s := 0
		for _, v := range vs {
			s += v
		}
		return s, nil
	})
	sleepCtx = goray.Register[int]("test.sleepCtx", func(ctx context.Context, ms int) (int, error) {
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return ms, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	spin = goray.Register[int]("test.spin", func(dir string) int {
		// Ignores its context: only a forced cancel stops it.
		_ = os.WriteFile(filepath.Join(dir, "spin.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
		for {
			time.Sleep(time.Millisecond)
		}
	})
	// killable writes its PID and waits; the test SIGKILLs it the first time.
	killable = goray.Register[string]("test.killable", func(ctx context.Context, dir string) (string, error) {
		marker := filepath.Join(dir, "attempt")
		if _, err := os.Stat(marker); err == nil {
			return "retried", nil
		}
		if err := os.WriteFile(marker+".tmp", []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return "", err
		}
		if err := os.Rename(marker+".tmp", marker); err != nil {
			return "", err
		}
		<-ctx.Done()
		return "", ctx.Err()
	})
	exiter   = goray.Register[int]("test.exit", func() int { os.Exit(3); return 0 })
	panicker = goray.Register[int]("test.panic", func() int { panic("kaboom") })
	flaky    = goray.Register[string]("test.flaky", func(dir string) (string, error) {
		marker := filepath.Join(dir, "flaky")
		if _, err := os.Stat(marker); err == nil {
			return "second", nil
		}
		_ = os.WriteFile(marker, nil, 0o644)
		return "", errors.New("first attempt fails")
	})
	divmod = goray.Register2[int, int]("test.divmod", func(a, b int) (int, int, error) {
		if b == 0 {
			return 0, 0, errors.New("division by zero")
		}
		return a / b, a % b, nil
	})
	bytesLen = goray.Register[int]("test.bytesLen", func(b []byte) int { return len(b) })
	sumF64   = goray.Register[float64]("test.sumF64", func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s
	})
	makeBig   = goray.Register[[]byte]("test.makeBig", func(n int) []byte { return bytes.Repeat([]byte{7}, n) })
	getNested = goray.Register[int]("test.getNested", func(ctx context.Context, b Box) (int, error) {
		return b.Ref.Get(ctx)
	})
	callCounter = goray.Register[int]("test.callCounter", func(ctx context.Context, h *goray.ActorHandle[Counter], n int) (int, error) {
		var last goray.ObjectRef[int]
		for i := 0; i < n; i++ {
			last = goray.Call[int](ctx, h, "Add", 1)
		}
		return last.Get(ctx)
	})
)

var recurse *goray.Func[int]

func init() {
	recurse = goray.Register[int]("test.recurse", func(ctx context.Context, depth int) (int, error) {
		if depth == 0 {
			return 1, nil
		}
		return recurse.Remote(ctx, depth-1).Get(ctx)
	})
}

// Box holds a nested ref: it must stay a ref.
type Box struct {
	Ref   goray.ObjectRef[int]
	Label string
}

// Counter is a test actor.
type Counter struct {
	n   int
	log map[string][]int
}

var counterClass = goray.RegisterActor[Counter]("test.Counter", func(start int) *Counter {
	return &Counter{n: start, log: map[string][]int{}}
})

func (c *Counter) Add(d int) int { c.n += d; return c.n }
func (c *Counter) Get() int      { return c.n }
func (c *Counter) Record(caller string, seq int) int {
	c.log[caller] = append(c.log[caller], seq)
	return len(c.log[caller])
}
func (c *Counter) Check() (string, error) {
	for caller, seqs := range c.log {
		for i, s := range seqs {
			if s != i {
				return "", fmt.Errorf("caller %s: position %d has seq %d", caller, i, s)
			}
		}
	}
	return fmt.Sprint(len(c.log)), nil
}
func (c *Counter) Panic() int         { panic("actor kaboom") }
func (c *Counter) Exit() int          { os.Exit(4); return 0 }
func (c *Counter) PID() int           { return os.Getpid() }
func (c *Counter) Slow(ms int) int    { time.Sleep(time.Duration(ms) * time.Millisecond); return ms }
func (c *Counter) Fail() (int, error) { return 0, errors.New("method failed") }

func TestFanOut10k(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	n := 10000
	if testing.Short() {
		n = 2000
	}
	refs := make([]goray.ObjectRef[int], n)
	for i := range refs {
		refs[i] = square.Remote(ctx, i)
	}
	vs, err := goray.Get(ctx, refs...)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if v != i*i {
			t.Fatalf("square(%d) = %d", i, v)
		}
	}
}

func TestNestedTasks(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	v, err := sumTo.Remote(ctx, 50).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for i := 0; i < 50; i++ {
		want += i * i
	}
	if v != want {
		t.Fatalf("sumTo = %d, want %d", v, want)
	}
	// Recursion deeper than the number of CPUs: blocked workers give their
	// CPU back, so this cannot deadlock.
	if v, err := recurse.Remote(ctx, 5).Get(ctx); err != nil || v != 1 {
		t.Fatalf("recurse = %v, %v", v, err)
	}
}

func TestRefsAsArgumentsThreeLevels(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	a := square.Remote(ctx, 3)                     // 9
	b := add.Remote(ctx, a, 1)                     // 10
	c := add.Remote(ctx, b, a)                     // 19
	d := add.Remote(ctx, c, square.Remote(ctx, 2)) // 23
	if v, err := d.Get(ctx); err != nil || v != 23 {
		t.Fatalf("d = %v, %v", v, err)
	}
	// A put ref as argument, and a ref nested in a value stays a ref.
	p, err := goray.Put(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := add.Remote(ctx, p, p).Get(ctx); err != nil || v != 10 {
		t.Fatalf("add(put, put) = %v, %v", v, err)
	}
	box := Box{Ref: square.Remote(ctx, 6), Label: "x"}
	if v, err := getNested.Remote(ctx, box).Get(ctx); err != nil || v != 36 {
		t.Fatalf("nested = %v, %v", v, err)
	}
	// A failed argument fails the task with that cause.
	_, err = add.Remote(ctx, fail.Remote(ctx), 1).Get(ctx)
	var te *goray.TaskError
	if !errors.As(err, &te) || te.Task != "test.add" {
		t.Fatalf("want TaskError of test.add, got %v", err)
	}
	var inner *goray.TaskError
	if !errors.As(te.Cause, &inner) || inner.Task != "test.fail" || inner.Message != "boom" {
		t.Fatalf("want cause from test.fail, got %v", te.Cause)
	}
}

func TestValuesAndMultipleReturns(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	q, r := divmod.Remote(ctx, 17, 5)
	if v, err := q.Get(ctx); err != nil || v != 3 {
		t.Fatalf("q = %v, %v", v, err)
	}
	if v, err := r.Get(ctx); err != nil || v != 2 {
		t.Fatalf("r = %v, %v", v, err)
	}
	_, r0 := divmod.Remote(ctx, 1, 0)
	if _, err := r0.Get(ctx); err == nil {
		t.Fatal("divmod by zero succeeded")
	}
	big := make([]byte, 300<<10) // larger than the inline limit: goes through the store
	for i := range big {
		big[i] = byte(i)
	}
	if v, err := bytesLen.Remote(ctx, big).Get(ctx); err != nil || v != len(big) {
		t.Fatalf("bytesLen = %v, %v", v, err)
	}
	f := make([]float64, 100000)
	for i := range f {
		f[i] = 0.5
	}
	if v, err := sumF64.Remote(ctx, f).Get(ctx); err != nil || v != 50000 {
		t.Fatalf("sumF64 = %v, %v", v, err)
	}
	b, err := makeBig.Remote(ctx, 1<<20).Get(ctx)
	if err != nil || len(b) != 1<<20 || b[12345] != 7 {
		t.Fatalf("makeBig: %d bytes, %v", len(b), err)
	}
}

func TestWait(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	refs := []goray.ObjectRef[int]{sleepCtx.Remote(ctx, 1), sleepCtx.Remote(ctx, 2), sleepCtx.Remote(ctx, 30000)}
	ready, notReady, err := goray.Wait(ctx, refs, 2, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(ready) != 2 || len(notReady) != 1 || notReady[0].ID() != refs[2].ID() {
		t.Fatalf("ready %d, not ready %d", len(ready), len(notReady))
	}
	ready, notReady, err = goray.Wait(ctx, refs[2:], 1, 20*time.Millisecond)
	if err != nil || len(ready) != 0 || len(notReady) != 1 {
		t.Fatalf("wait timeout: %d %d %v", len(ready), len(notReady), err)
	}
	if err := goray.Cancel(ctx, refs[2], false); err != nil {
		t.Fatal(err)
	}
}

func TestActorOrderingConcurrentCallers(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	h, err := counterClass.Remote(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	const callers, calls = 4, 300
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last goray.ObjectRef[int]
			for i := 0; i < calls; i++ {
				last = goray.Call[int](ctx, h, "Record", fmt.Sprint("driver", c), i)
			}
			if v, err := last.Get(ctx); err != nil || v != calls {
				t.Errorf("caller %d: last = %v, %v", c, v, err)
			}
		}()
	}
	// Handles passed to tasks: two more callers from worker processes.
	r1 := callCounter.Remote(ctx, h, 100)
	r2 := callCounter.Remote(ctx, h, 100)
	wg.Wait()
	if _, err := goray.Get(ctx, r1, r2); err != nil {
		t.Fatal(err)
	}
	got, err := goray.Call[string](ctx, h, "Check").Get(ctx)
	if err != nil || got != fmt.Sprint(callers) {
		t.Fatalf("Check = %q, %v", got, err)
	}
	if v, err := goray.Call[int](ctx, h, "Get").Get(ctx); err != nil || v != 200 {
		t.Fatalf("Get = %v, %v", v, err)
	}
}

func TestWorkerKilledMidTaskIsRetried(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	dir := t.TempDir()
	ref := killable.Remote(ctx, dir)
	marker := filepath.Join(dir, "attempt")
	var pid int
	waitFor(t, 30*time.Second, "the task to start", func() bool {
		b, err := os.ReadFile(marker)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(string(b))
		return err == nil
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if v, err := ref.Get(ctx); err != nil || v != "retried" {
		t.Fatalf("after SIGKILL: %q, %v", v, err)
	}
	// Without retries the crash reaches Get.
	_, err := exiter.Options(goray.MaxRetries(0)).Remote(ctx).Get(ctx)
	if !errors.Is(err, goray.ErrWorkerCrashed) {
		t.Fatalf("os.Exit without retries: %v", err)
	}
}

func TestPanicAndExitInTasks(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	_, err := panicker.Remote(ctx).Get(ctx)
	var te *goray.TaskError
	if !errors.As(err, &te) || te.Task != "test.panic" || te.Stack == "" || !bytes.Contains([]byte(te.Message), []byte("kaboom")) {
		t.Fatalf("panic: %#v", err)
	}
	_, err = exiter.Options(goray.MaxRetries(1)).Remote(ctx).Get(ctx)
	if !errors.Is(err, goray.ErrWorkerCrashed) {
		t.Fatalf("exit: %v", err)
	}
	// The runtime survives.
	if v, err := square.Remote(ctx, 4).Get(ctx); err != nil || v != 16 {
		t.Fatalf("after crashes: %v, %v", v, err)
	}
	// RetryExceptions retries an application error.
	dir := t.TempDir()
	if v, err := flaky.Options(goray.RetryExceptions(true), goray.MaxRetries(2)).Remote(ctx, dir).Get(ctx); err != nil || v != "second" {
		t.Fatalf("flaky with retries: %q, %v", v, err)
	}
	dir2 := t.TempDir()
	if _, err := flaky.Remote(ctx, dir2).Get(ctx); err == nil {
		t.Fatal("flaky without RetryExceptions succeeded")
	}
}

func TestActorFailures(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	h, err := counterClass.Remote(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var te *goray.TaskError
	if _, err := goray.Call[int](ctx, h, "Panic").Get(ctx); !errors.As(err, &te) || te.Stack == "" {
		t.Fatalf("actor panic: %v", err)
	}
	if _, err := goray.Call[int](ctx, h, "Fail").Get(ctx); err == nil || err.Error() == "" {
		t.Fatalf("actor error: %v", err)
	}
	// A panic does not kill the actor: state survives.
	if v, err := goray.Call[int](ctx, h, "Add", 1).Get(ctx); err != nil || v != 11 {
		t.Fatalf("after panic: %v, %v", v, err)
	}
	// os.Exit kills it; without restarts it is dead.
	if _, err := goray.Call[int](ctx, h, "Exit").Get(ctx); !errors.Is(err, goray.ErrActorDied) {
		t.Fatalf("exit: %v", err)
	}
	if _, err := goray.Call[int](ctx, h, "Get").Get(ctx); !errors.Is(err, goray.ErrActorDied) {
		t.Fatalf("call after death: %v", err)
	}

	// With MaxRestarts the actor comes back with fresh state (the
	// constructor reruns).
	r, err := counterClass.Options(goray.MaxRestarts(1)).Remote(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := goray.Call[int](ctx, r, "Add", 5).Get(ctx); err != nil || v != 105 {
		t.Fatalf("add: %v, %v", v, err)
	}
	pid1, _ := goray.Call[int](ctx, r, "PID").Get(ctx)
	if _, err := goray.Call[int](ctx, r, "Exit").Get(ctx); !errors.Is(err, goray.ErrActorDied) {
		t.Fatalf("exit with restarts: %v", err)
	}
	if v, err := goray.Call[int](ctx, r, "Get").Get(ctx); err != nil || v != 100 {
		t.Fatalf("after restart: %v, %v", v, err)
	}
	pid2, _ := goray.Call[int](ctx, r, "PID").Get(ctx)
	if pid1 == pid2 || pid2 == 0 {
		t.Fatalf("restart kept pid %d", pid1)
	}
	// The restart budget is spent: the next death is final.
	if err := goray.Kill(ctx, r, false); err != nil {
		t.Fatal(err)
	}
	_, err = goray.Call[int](ctx, r, "Get").Get(ctx)
	if !errors.Is(err, goray.ErrActorDied) {
		t.Fatalf("after budget: %v", err)
	}
}

func TestNamedActorsAndKill(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	h, err := counterClass.Options(goray.Name("acc")).Remote(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := counterClass.Options(goray.Name("acc")).Remote(ctx, 1); !errors.Is(err, goray.ErrActorExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	g, err := goray.GetActor[Counter](ctx, "acc")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := goray.Call[int](ctx, g, "Add", 2).Get(ctx); err != nil || v != 3 {
		t.Fatalf("via GetActor: %v, %v", v, err)
	}
	if _, err := goray.GetActor[Counter](ctx, "nope"); !errors.Is(err, goray.ErrActorNotFound) {
		t.Fatalf("unknown name: %v", err)
	}
	if err := goray.Kill(ctx, h, true); err != nil {
		t.Fatal(err)
	}
	if _, err := goray.Call[int](ctx, g, "Get").Get(ctx); !errors.Is(err, goray.ErrActorDied) {
		t.Fatalf("after kill: %v", err)
	}
	if _, err := goray.GetActor[Counter](ctx, "acc"); !errors.Is(err, goray.ErrActorNotFound) {
		t.Fatalf("killed name still found: %v", err)
	}
	// The name is free again.
	if _, err := counterClass.Options(goray.Name("acc")).Remote(ctx, 1); err != nil {
		t.Fatalf("reuse name: %v", err)
	}
}

func TestSpillAndRestore(t *testing.T) {
	const limit = 8 << 20
	ctx, rt := initRT(t, goray.Config{ObjectStoreMemory: limit, SpillDir: t.TempDir()})
	rng := rand.New(rand.NewPCG(1, 2))
	var refs []goray.ObjectRef[[]byte]
	var want [][]byte
	for total := 0; total < 2*limit; total += 1 << 20 {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		r, err := goray.Put(ctx, b)
		if err != nil {
			t.Fatalf("put at %d bytes: %v", total, err)
		}
		refs = append(refs, r)
		want = append(want, b)
	}
	if st := rt.StoreStats(); st.Spilled == 0 {
		t.Fatalf("nothing spilled: %+v", st)
	}
	for i, r := range refs {
		got, err := r.Get(ctx)
		if err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
		if !bytes.Equal(got, want[i]) {
			t.Fatalf("object %d differs after restore", i)
		}
	}
	// An object larger than the whole store is refused with a clear error.
	if _, err := goray.Put(ctx, make([]byte, 2*limit)); err == nil || !strings.Contains(err.Error(), "store full") {
		t.Fatalf("oversized put: %v", err)
	}
	// A task reads a spilled object too.
	if v, err := bytesLen.Remote(ctx, refs[0]).Get(ctx); err != nil || v != 1<<20 {
		t.Fatalf("task on spilled object: %v, %v", v, err)
	}
}

func TestMemoryFreedAfterRefsDrop(t *testing.T) {
	ctx, rt := initRT(t, goray.Config{})
	var refs []goray.ObjectRef[[]byte]
	for i := 0; i < 8; i++ {
		r, err := goray.Put(ctx, make([]byte, 1<<20))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r)
	}
	if used := rt.StoreStats().Used; used < 8<<20 {
		t.Fatalf("used %d after puts", used)
	}
	for _, r := range refs[:4] {
		r.Release()
	}
	waitFor(t, 10*time.Second, "released objects to be freed", func() bool { return rt.StoreStats().Used < 5<<20 })
	// Get on a released ref is a typed error, never a hang.
	if _, err := refs[0].Get(ctx); !errors.Is(err, goray.ErrObjectLost) {
		t.Fatalf("get released: %v", err)
	}
	// Dropping refs without Release frees them once the GC runs.
	refs = nil
	waitFor(t, 10*time.Second, "garbage-collected refs to be freed", func() bool {
		goruntime.GC()
		return rt.StoreStats().Used == 0
	})
	// Task results are freed too.
	r := makeBig.Remote(ctx, 2<<20)
	if _, err := r.Get(ctx); err != nil {
		t.Fatal(err)
	}
	r.Release()
	waitFor(t, 10*time.Second, "task result to be freed", func() bool { return rt.StoreStats().Used == 0 })
}

func TestCancel(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	// Running, cooperative: its context is cancelled.
	r := sleepCtx.Remote(ctx, 60000)
	waitFor(t, 20*time.Second, "task to start", func() bool {
		_, nr, _ := goray.Wait(ctx, []goray.ObjectRef[int]{r}, 1, 50*time.Millisecond)
		return len(nr) == 1 // still running (not failed early)
	})
	if err := goray.Cancel(ctx, r, false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctx); !errors.Is(err, goray.ErrTaskCancelled) {
		t.Fatalf("cancel running: %v", err)
	}
	// Pending (waiting for an argument): dropped.
	blocker := sleepCtx.Remote(ctx, 60000)
	pending := add.Remote(ctx, blocker, 1)
	if err := goray.Cancel(ctx, pending, false); err != nil {
		t.Fatal(err)
	}
	if _, err := pending.Get(ctx); !errors.Is(err, goray.ErrTaskCancelled) {
		t.Fatalf("cancel pending: %v", err)
	}
	_ = goray.Cancel(ctx, blocker, false)
	// Force: a task that ignores its context is killed with its worker.
	dir := t.TempDir()
	s := spin.Remote(ctx, dir)
	waitFor(t, 20*time.Second, "spin to start", func() bool {
		_, err := os.Stat(filepath.Join(dir, "spin.pid"))
		return err == nil
	})
	if err := goray.Cancel(ctx, s, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx); !errors.Is(err, goray.ErrTaskCancelled) {
		t.Fatalf("force cancel: %v", err)
	}
	if v, err := square.Remote(ctx, 5).Get(ctx); err != nil || v != 25 {
		t.Fatalf("after cancel: %v, %v", v, err)
	}
}

// lateName is unique per process and per run (-count), so workers never
// know it and a second run does not register it twice.
var (
	lateName = fmt.Sprintf("test.registeredLate.%d", os.Getpid())
	lateRun  atomic.Int64
)

func TestBadInput(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	// A function the workers do not know (registered after they started,
	// in this process only).
	late := goray.Register[int](fmt.Sprintf("%s.%d", lateName, lateRun.Add(1)), func() int { return 1 })
	if _, err := late.Remote(ctx).Get(ctx); !errors.Is(err, goray.ErrUnknownFunction) {
		t.Fatalf("unregistered: %v", err)
	}
	// Wrong argument types.
	_, err := square.Remote(ctx, "seven").Get(ctx)
	var ate *goray.ArgTypeError
	if !errors.As(err, &ate) || ate.Index != 0 || ate.Want != "int" || ate.Got != "string" {
		t.Fatalf("wrong type: %#v", err)
	}
	if _, err := square.Remote(ctx, 1, 2).Get(ctx); !errors.As(err, &ate) {
		t.Fatalf("wrong arity: %v", err)
	}
	// Unknown actor method.
	h, err := counterClass.Remote(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := goray.Call[int](ctx, h, "Nope").Get(ctx); !errors.Is(err, goray.ErrUnknownMethod) {
		t.Fatalf("unknown method: %v", err)
	}
	// Get on a freed object.
	p, err := goray.Put(ctx, 42)
	if err != nil {
		t.Fatal(err)
	}
	p.Release()
	var lost *goray.ObjectLostError
	if _, err := p.Get(ctx); !errors.As(err, &lost) {
		t.Fatalf("freed: %v", err)
	}
	// A context that times out.
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = sleepCtx.Remote(ctx, 60000).Get(tctx)
	if !errors.Is(err, goray.ErrGetTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}
	// Infeasible resources.
	if _, err := square.Options(goray.NumCPUs(64)).Remote(ctx, 1).Get(ctx); !errors.Is(err, goray.ErrInfeasible) {
		t.Fatalf("infeasible: %v", err)
	}
}

func TestShutdownLeavesNothing(t *testing.T) {
	before := goruntime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{NumCPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx = goray.WithRuntime(ctx, rt)
	pids := map[int]bool{}
	for i := 0; i < 20; i++ {
		v, err := getPID.Remote(ctx).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pids[v] = true
	}
	h, err := counterClass.Remote(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	apid, err := goray.Call[int](ctx, h, "PID").Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pids[apid] = true
	_ = sleepCtx.Remote(ctx, 60000) // still running at shutdown
	if err := rt.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("worker %d still exists after Shutdown (kill 0: %v)", pid, err)
		}
	}
	waitFor(t, 10*time.Second, "goroutines to exit", func() bool { return goruntime.NumGoroutine() <= before+1 })
}

func TestDriverOverSocket(t *testing.T) {
	ctx, rt := initRT(t, goray.Config{})
	remote, err := goray.Init(ctx, goray.Config{Address: "unix://" + rt.Node().SocketPath()})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Shutdown(ctx)
	rctx := goray.WithRuntime(ctx, remote)
	if goray.NodeID(rctx) != rt.Node().ID() {
		t.Fatalf("node id %q, want %q", goray.NodeID(rctx), rt.Node().ID())
	}
	refs := make([]goray.ObjectRef[int], 200)
	for i := range refs {
		refs[i] = square.Remote(rctx, i)
	}
	vs, err := goray.Get(rctx, refs...)
	if err != nil || vs[199] != 199*199 {
		t.Fatalf("tasks over socket: %v", err)
	}
	big := bytes.Repeat([]byte{3}, 1<<20)
	p, err := goray.Put(rctx, big)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Get(rctx)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("large put/get over socket: %v", err)
	}
	if v, err := bytesLen.Remote(rctx, p).Get(rctx); err != nil || v != len(big) {
		t.Fatalf("large arg: %v %v", v, err)
	}
	h, err := counterClass.Remote(rctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := goray.Call[int](rctx, h, "Add", 1).Get(rctx); err != nil || v != 2 {
		t.Fatalf("actor over socket: %v %v", v, err)
	}
	total, avail, err := goray.ClusterResources(rctx)
	if err != nil || total["CPU"] != 2 || avail == nil {
		t.Fatalf("resources: %v %v %v", total, avail, err)
	}
}

func TestPlacementGroup(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	pg, err := goray.CreatePlacementGroup(ctx, []map[string]float64{{"CPU": 1}, {"CPU": 1}}, goray.Pack, "pg")
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	_, avail, _ := goray.ClusterResources(ctx)
	if avail["CPU"] != 0 {
		t.Fatalf("available CPU with the group reserved: %v", avail["CPU"])
	}
	in := square.Options(goray.Strategy(goray.InPlacementGroup(pg, -1)))
	if v, err := in.Remote(ctx, 9).Get(ctx); err != nil || v != 81 {
		t.Fatalf("task in group: %v %v", v, err)
	}
	if err := goray.RemovePlacementGroup(ctx, pg); err != nil {
		t.Fatal(err)
	}
	_, avail, _ = goray.ClusterResources(ctx)
	if avail["CPU"] != 2 {
		t.Fatalf("available CPU after removal: %v", avail["CPU"])
	}
	if _, err := goray.CreatePlacementGroup(ctx, []map[string]float64{{"CPU": 8}}, goray.StrictPack, "big"); !errors.Is(err, goray.ErrInfeasible) {
		t.Fatalf("infeasible group: %v", err)
	}
}

func TestBrokenWorkerCommandFailsTasks(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{WorkerCommand: []string{"/bin/false"}})
	_, err := square.Remote(ctx, 2).Get(ctx)
	var te *goray.TaskError
	if !errors.As(err, &te) || !strings.Contains(te.Message, "worker processes") {
		t.Fatalf("broken worker command: %v", err)
	}
}

// BigBox holds a nested ref to a large object.
type BigBox struct{ Ref goray.ObjectRef[[]byte] }

func TestContainedRefKeepsObjectAlive(t *testing.T) {
	ctx, rt := initRT(t, goray.Config{})
	x, err := goray.Put(ctx, bytes.Repeat([]byte{9}, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	box, err := goray.Put(ctx, BigBox{Ref: x})
	if err != nil {
		t.Fatal(err)
	}
	x.Release() // only the box refers to x now
	b, err := box.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Ref.Get(ctx)
	if err != nil || len(got) != 1<<20 || got[0] != 9 {
		t.Fatalf("object inside the box: %d bytes, %v", len(got), err)
	}
	b.Ref.Release()
	box.Release()
	waitFor(t, 10*time.Second, "x to be freed with its box", func() bool { return rt.StoreStats().Used == 0 })
}

// Gate is an actor whose Enter returns only when n calls are inside at once.
type Gate struct {
	mu      sync.Mutex
	inside  int
	arrived chan struct{}
}

var gateClass = goray.RegisterActor[Gate]("test.Gate", func(n int) (*Gate, error) {
	if n <= 0 {
		return nil, errors.New("gate needs n > 0")
	}
	return &Gate{arrived: make(chan struct{})}, nil
})

// Enter waits until n callers are inside together.
func (g *Gate) Enter(ctx context.Context, n int) (int, error) {
	g.mu.Lock()
	g.inside++
	if g.inside == n {
		close(g.arrived)
	}
	g.mu.Unlock()
	select {
	case <-g.arrived:
		return n, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// CrashOnce kills the actor's process the first time (per marker dir).
func (g *Gate) CrashOnce(dir string) string {
	marker := filepath.Join(dir, "crashed")
	if _, err := os.Stat(marker); err != nil {
		_ = os.WriteFile(marker, nil, 0o644)
		os.Exit(5)
	}
	return "survived"
}

func TestActorConcurrencyRetriesAndCtorFailure(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	g, err := gateClass.Options(goray.MaxConcurrency(4)).Remote(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	refs := make([]goray.ObjectRef[int], 4)
	for i := range refs {
		refs[i] = goray.Call[int](ctx, g, "Enter", 4)
	}
	if _, err := goray.Get(ctx, refs...); err != nil {
		t.Fatalf("4 concurrent calls: %v", err)
	}
	// MaxTaskRetries: the call that killed the actor runs again after the restart.
	r, err := gateClass.Options(goray.MaxRestarts(1), goray.MaxTaskRetries(1)).Remote(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := goray.Call[string](ctx, r, "CrashOnce", t.TempDir()).Get(ctx); err != nil || v != "survived" {
		t.Fatalf("retried call: %q, %v", v, err)
	}
	// A failing constructor kills the actor; its calls fail with the cause.
	bad, err := gateClass.Remote(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = goray.Call[int](ctx, bad, "Enter", 1).Get(ctx)
	if !errors.Is(err, goray.ErrActorDied) || !strings.Contains(err.Error(), "gate needs n > 0") {
		t.Fatalf("failed constructor: %v", err)
	}
}

var slowSquare = goray.Register[int]("test.slowSquare", func(x int) int {
	time.Sleep(200 * time.Microsecond)
	return x * x
})

// childPIDs lists this process's children from /proc (Linux).
func childPIDs(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	me := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name (which is in parentheses).
		rest := string(b[bytes.LastIndexByte(b, ')')+2:])
		var state string
		var ppid int
		if _, err := fmt.Sscan(rest, &state, &ppid); err == nil && ppid == me {
			out = append(out, pid)
		}
	}
	return out
}

func TestFanOutSurvivesWorkerKills(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	const n = 3000
	refs := make([]goray.ObjectRef[int], n)
	for i := range refs {
		refs[i] = slowSquare.Options(goray.MaxRetries(-1)).Remote(ctx, i)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for kills := 0; kills < 3; {
		pids := childPIDs(t)
		if len(pids) == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		_ = syscall.Kill(pids[rng.IntN(len(pids))], syscall.SIGKILL)
		kills++
		_, _, _ = goray.Wait(ctx, refs, n/4*kills, 30*time.Second) // let some work finish between kills
	}
	vs, err := goray.Get(ctx, refs...)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if v != i*i {
			t.Fatalf("result %d = %d", i, v)
		}
	}
}

var (
	// watchCancel marks that it started, then waits for its context to end
	// and marks that too.
	watchCancel = goray.Register[int]("test.watchCancel", func(ctx context.Context, dir string) (int, error) {
		_ = os.WriteFile(filepath.Join(dir, "child.started"), nil, 0o644)
		select {
		case <-ctx.Done():
			_ = os.WriteFile(filepath.Join(dir, "child.cancelled"), nil, 0o644)
			return 0, ctx.Err()
		case <-time.After(60 * time.Second):
			return 1, nil
		}
	})
	parentOfWatcher = goray.Register[int]("test.parentOfWatcher", func(ctx context.Context, dir string) (int, error) {
		return watchCancel.Remote(ctx, dir).Get(ctx)
	})
)

func TestCancelIsRecursive(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	dir := t.TempDir()
	p := parentOfWatcher.Remote(ctx, dir)
	waitFor(t, 30*time.Second, "the child task to start", func() bool {
		_, err := os.Stat(filepath.Join(dir, "child.started"))
		return err == nil
	})
	if err := goray.Cancel(ctx, p, false); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(ctx); !errors.Is(err, goray.ErrTaskCancelled) {
		t.Fatalf("parent: %v", err)
	}
	waitFor(t, 30*time.Second, "the child to be cancelled with its parent", func() bool {
		_, err := os.Stat(filepath.Join(dir, "child.cancelled"))
		return err == nil
	})
}

// TestDriverGoneCancelsItsTasks: when a driver's connection closes (its job
// was stopped or its process died), its unfinished tasks are cancelled and
// their CPUs come back, even for a task that ignores its context.
func TestDriverGoneCancelsItsTasks(t *testing.T) {
	ctx, rt := initRT(t, goray.Config{})
	dir := t.TempDir()
	other, err := goray.Init(ctx, goray.Config{Address: "unix://" + rt.Node().SocketPath()})
	if err != nil {
		t.Fatal(err)
	}
	octx := goray.WithRuntime(ctx, other)
	sleepCtx.Remote(octx, 600_000) // honours ctx
	spin.Remote(octx, dir)         // ignores ctx: only a kill stops it
	freeCPU := func() float64 {
		_, avail, err := goray.ClusterResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return avail["CPU"]
	}
	waitFor(t, 20*time.Second, "both tasks running", func() bool { return freeCPU() == 0 })
	if err := other.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "CPUs freed after the driver left", func() bool { return freeCPU() == 2 })
	if v, err := square.Remote(ctx, 7).Get(ctx); err != nil || v != 49 {
		t.Fatalf("node unusable after the driver left: %v %v", v, err)
	}
}
