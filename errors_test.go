package goray

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	grt "github.com/goray/goray/runtime"
)

func TestErrorMapping(t *testing.T) {
	app := &grt.ErrorInfo{Kind: grt.ErrKindApp, Task: "f", Message: "boom", Stack: "stack"}
	cases := []struct {
		name string
		in   *grt.ErrorInfo
		is   error
	}{
		{"worker crashed", &grt.ErrorInfo{Kind: grt.ErrKindWorkerCrashed, Task: "f"}, ErrWorkerCrashed},
		{"cancelled", &grt.ErrorInfo{Kind: grt.ErrKindCancelled}, ErrTaskCancelled},
		{"actor died with cause", &grt.ErrorInfo{Kind: grt.ErrKindActorDied, Cause: app}, ErrActorDied},
		{"object lost", &grt.ErrorInfo{Kind: grt.ErrKindObjectLost}, ErrObjectLost},
		{"owner died", &grt.ErrorInfo{Kind: grt.ErrKindOwnerDied}, ErrOwnerDied},
		{"infeasible", &grt.ErrorInfo{Kind: grt.ErrKindInfeasible}, ErrInfeasible},
		{"unknown function", &grt.ErrorInfo{Kind: grt.ErrKindUnknownFunc}, ErrUnknownFunction},
		{"unknown method", &grt.ErrorInfo{Kind: grt.ErrKindUnknownMethod}, ErrUnknownMethod},
		{"actor not found", &grt.ErrorInfo{Kind: grt.ErrKindActorNotFound}, ErrActorNotFound},
		{"actor exists", &grt.ErrorInfo{Kind: grt.ErrKindActorExists}, ErrActorExists},
		{"argument failed with a crash", &grt.ErrorInfo{Kind: grt.ErrKindApp, Task: "g", Message: "argument 0 failed",
			Cause: &grt.ErrorInfo{Kind: grt.ErrKindWorkerCrashed, Task: "f"}}, ErrWorkerCrashed},
	}
	for _, c := range cases {
		err := fromInfo(c.in)
		if !errors.Is(err, c.is) {
			t.Errorf("%s: %v is not %v", c.name, err, c.is)
		}
	}
	var te *TaskError
	if err := fromInfo(app); !errors.As(err, &te) || te.Message != "boom" || te.Stack != "stack" || te.Task != "f" {
		t.Fatalf("app error: %#v", err)
	}
	var ate *ArgTypeError
	if err := fromInfo(&grt.ErrorInfo{Kind: grt.ErrKindArgType, Task: "f", ArgIndex: 2, Want: "int", Got: "string"}); !errors.As(err, &ate) || ate.Index != 2 {
		t.Fatalf("arg type: %#v", err)
	}
	if fromInfo(nil) != nil {
		t.Fatal("nil info gave an error")
	}
}

// testRun numbers runs of tests that register functions, which must not
// reuse a name in one process.
var testRun atomic.Int64

func TestRegisterRejectsBadFunctions(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	mustPanic("not a func", func() { Register[int]("bad.notfunc", 3) })
	mustPanic("wrong result", func() { Register[int]("bad.result", func() string { return "" }) })
	mustPanic("variadic", func() { Register[int]("bad.variadic", func(xs ...int) int { return 0 }) })
	mustPanic("ctx not first", func() { Register[int]("bad.ctx", func(x int, ctx context.Context) int { return 0 }) })
	// The registry is process-wide, so each run of this test (-count)
	// registers under a name of its own.
	dup := fmt.Sprintf("ok.dup.%d", testRun.Add(1))
	Register[int](dup, func() int { return 1 })
	mustPanic("duplicate", func() { Register[int](dup, func() int { return 1 }) })
	mustPanic("actor ctor", func() { RegisterActor[struct{ A int }]("bad.actor", func() int { return 0 }) })
}

func TestNotInitialized(t *testing.T) {
	old := defaultRT.Swap(nil)
	defer defaultRT.Store(old)
	ctx := context.Background()
	if _, err := Put(ctx, 1); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("put: %v", err)
	}
	f := Register[int](fmt.Sprintf("notinit.f.%d", testRun.Add(1)), func() int { return 1 })
	if _, err := f.Remote(ctx).Get(ctx); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("remote: %v", err)
	}
	if _, err := GetActor[struct{}](ctx, "x"); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("get actor: %v", err)
	}
	if _, _, err := ClusterResources(ctx); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("resources: %v", err)
	}
}
