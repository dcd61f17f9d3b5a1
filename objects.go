package goray

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync/atomic"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/codec"
)

// refHandle is shared by all copies of one ObjectRef value. Its cleanup
// (runtime.AddCleanup) drops the local reference when the last copy is
// garbage collected; Release drops it at once.
type refHandle struct {
	id       ObjectID
	c        *grt.Client
	err      error // set when the ref could not be created (e.g. no runtime)
	released *atomic.Bool
}

type refCleanup struct {
	c        *grt.Client
	id       ObjectID
	released *atomic.Bool
}

func dropRef(x refCleanup) {
	if x.released.CompareAndSwap(false, true) {
		x.c.RemoveLocalRef(x.id)
	}
}

// newHandle wraps an ID that already holds one local reference in c.
func newHandle(c *grt.Client, id ObjectID) *refHandle {
	h := &refHandle{id: id, c: c, released: new(atomic.Bool)}
	runtime.AddCleanup(h, dropRef, refCleanup{c: c, id: id, released: h.released})
	return h
}

func errHandle(err error) *refHandle { return &refHandle{err: err, released: new(atomic.Bool)} }

// ObjectRef is a future for a value of type T held by goray. Copies share one
// reference; it can be passed to tasks (resolved to its value if it is a
// top-level argument) and stored inside values (it stays a ref).
type ObjectRef[T any] struct {
	h *refHandle
}

// AnyRef is an ObjectRef of any type.
type AnyRef interface {
	ID() ObjectID
	handle() *refHandle
}

// ID returns the object's ID.
func (r ObjectRef[T]) ID() ObjectID {
	if r.h == nil {
		return ObjectID{}
	}
	return r.h.id
}

func (r ObjectRef[T]) handle() *refHandle { return r.h }

// String returns the ID as hex.
func (r ObjectRef[T]) String() string { return "ObjectRef(" + r.ID().String() + ")" }

// Release drops this ref's claim on the object now instead of when the ref is
// garbage collected. Other copies of the same ref become unusable for Get
// once the object is freed.
func (r ObjectRef[T]) Release() {
	if r.h != nil && r.h.c != nil {
		dropRef(refCleanup{c: r.h.c, id: r.h.id, released: r.h.released})
	}
}

// Get waits for the object and returns its value.
func (r ObjectRef[T]) Get(ctx context.Context) (T, error) {
	vs, err := Get(ctx, r)
	if err != nil {
		var zero T
		return zero, err
	}
	return vs[0], nil
}

// GobEncode writes the ref as an ID marked so that the runtime counts it as
// contained in the enclosing object.
func (r ObjectRef[T]) GobEncode() ([]byte, error) {
	return codec.AppendRef(nil, r.ID()), nil
}

// GobDecode restores a ref inside a decoded value; the new ref is a local
// reference of the process that decodes it (a borrower).
func (r *ObjectRef[T]) GobDecode(b []byte) error {
	id, err := codec.ParseRef(b)
	if err != nil {
		return err
	}
	rt := defaultRT.Load()
	if rt == nil {
		r.h = errHandle(ErrNotInitialized)
		return nil
	}
	rt.c.AddLocalRef(ObjectID(id))
	r.h = newHandle(rt.c, ObjectID(id))
	return nil
}

func (r ObjectRef[T]) check() (*grt.Client, error) {
	if r.h == nil {
		return nil, fmt.Errorf("goray: zero ObjectRef: %w", ErrObjectLost)
	}
	if r.h.err != nil {
		return nil, r.h.err
	}
	if r.h.released.Load() {
		return nil, &ObjectLostError{ID: r.h.id, Reason: "ref released"}
	}
	return r.h.c, nil
}

// Get waits for all refs and returns their values in order. The first failed
// object's error is returned (a *TaskError, *ObjectLostError, ...). When ctx
// ends first the error wraps ErrGetTimeout and ctx.Err().
func Get[T any](ctx context.Context, refs ...ObjectRef[T]) ([]T, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	var c *grt.Client
	ids := make([]grt.ObjectID, len(refs))
	for i, r := range refs {
		rc, err := r.check()
		if err != nil {
			return nil, err
		}
		if c == nil {
			c = rc
		}
		ids[i] = r.h.id
	}
	vals, err := c.Get(ctx, ids)
	for i := range refs {
		runtime.KeepAlive(refs[i].h)
	}
	if err != nil {
		return nil, wrapCtx(err)
	}
	out := make([]T, len(vals))
	t := reflect.TypeFor[T]()
	for i := range vals {
		v := &vals[i]
		if v.Err != nil {
			releaseAll(vals)
			return nil, fromInfo(v.Err)
		}
		x, err := codec.Decode(v.Data, t)
		if err != nil {
			releaseAll(vals)
			var te *codec.TypeError
			if errors.As(err, &te) {
				return nil, &ArgTypeError{Task: "Get", Index: i, Want: te.Want, Got: te.Got}
			}
			return nil, fmt.Errorf("goray: decode object %s: %w", ids[i], err)
		}
		if !x.IsZero() || t.Kind() != reflect.Interface {
			out[i] = x.Interface().(T)
		}
		v.Release()
	}
	return out, nil
}

func releaseAll(vals []grt.Value) {
	for i := range vals {
		vals[i].Release()
	}
}

func wrapCtx(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: %w", ErrGetTimeout, err)
	}
	return err
}

// Put stores v and returns a ref to it.
func Put[T any](ctx context.Context, v T) (ObjectRef[T], error) {
	rt, err := current(ctx)
	if err != nil {
		return ObjectRef[T]{}, err
	}
	enc, err := codec.Encode(v)
	if err != nil {
		return ObjectRef[T]{}, fmt.Errorf("goray: put: %w", err)
	}
	id, err := rt.c.Put(ctx, enc)
	if err != nil {
		return ObjectRef[T]{}, fmt.Errorf("goray: put: %w", err)
	}
	return ObjectRef[T]{h: newHandle(rt.c, id)}, nil
}

// Wait waits until numReady of refs are ready or timeout passes (timeout < 0:
// no timeout) and splits refs into ready and not ready, keeping order.
func Wait[T any](ctx context.Context, refs []ObjectRef[T], numReady int, timeout time.Duration) (ready, notReady []ObjectRef[T], err error) {
	anys := make([]AnyRef, len(refs))
	for i := range refs {
		anys[i] = refs[i]
	}
	mask, err := waitMask(ctx, anys, numReady, timeout)
	if err != nil {
		return nil, nil, err
	}
	for i, ok := range mask {
		if ok {
			ready = append(ready, refs[i])
		} else {
			notReady = append(notReady, refs[i])
		}
	}
	return ready, notReady, nil
}

// WaitAny is Wait for refs of mixed types.
func WaitAny(ctx context.Context, refs []AnyRef, numReady int, timeout time.Duration) (ready, notReady []AnyRef, err error) {
	mask, err := waitMask(ctx, refs, numReady, timeout)
	if err != nil {
		return nil, nil, err
	}
	for i, ok := range mask {
		if ok {
			ready = append(ready, refs[i])
		} else {
			notReady = append(notReady, refs[i])
		}
	}
	return ready, notReady, nil
}

func waitMask(ctx context.Context, refs []AnyRef, numReady int, timeout time.Duration) ([]bool, error) {
	if numReady > len(refs) {
		return nil, fmt.Errorf("goray: wait: numReady %d > %d refs", numReady, len(refs))
	}
	if len(refs) == 0 {
		return nil, nil
	}
	var c *grt.Client
	ids := make([]grt.ObjectID, len(refs))
	for i, r := range refs {
		h := r.handle()
		if h == nil || h.err != nil || h.c == nil {
			return nil, fmt.Errorf("goray: wait: ref %d is not usable: %w", i, ErrObjectLost)
		}
		if c == nil {
			c = h.c
		}
		ids[i] = h.id
	}
	mask, err := c.Wait(ctx, ids, numReady, timeout)
	runtime.KeepAlive(refs)
	if err != nil {
		return nil, wrapCtx(err)
	}
	return mask, nil
}

// Cancel cancels the task that produces r: a pending task is dropped; a
// running one has its context cancelled, or with force its worker killed.
// Get on r then fails with ErrTaskCancelled. Tasks that r's task submitted
// are cancelled too (Ray's recursive=True). Cancelled tasks are not retried.
func Cancel[T any](ctx context.Context, r ObjectRef[T], force bool) error {
	c, err := r.check()
	if err != nil {
		return err
	}
	return c.Cancel(ctx, r.h.id, force)
}
