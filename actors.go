package goray

import (
	"context"
	"encoding/binary"
	"fmt"
	"reflect"

	grt "github.com/goray/goray/runtime"
)

// classInfo is a registered actor type.
type classInfo struct {
	name    string
	ctor    *fnInfo
	typ     reflect.Type // *T
	methods map[string]*fnInfo
}

// ActorClass is a registered actor type T.
type ActorClass[T any] struct {
	name string
	opts Options
}

// RegisterActor registers the actor type T under name. ctor is
// func([ctx,] args...) *T or (*T, error); the exported methods of *T become
// callable with Call (same parameter and result rules as Register). Register
// at package level, like functions.
func RegisterActor[T any](name string, ctor any, opts ...Option) *ActorClass[T] {
	info, err := inspect(name, reflect.TypeOf(ctor), false)
	if err != nil {
		panic(err)
	}
	pt := reflect.TypeFor[*T]()
	if len(info.out) != 1 || info.out[0] != pt {
		panic(fmt.Sprintf("goray: register actor %q: constructor must return %s or (%s, error)", name, pt, pt))
	}
	info.fn = reflect.ValueOf(ctor)
	ci := &classInfo{name: name, ctor: info, typ: pt, methods: map[string]*fnInfo{}}
	for i := 0; i < pt.NumMethod(); i++ {
		m := pt.Method(i)
		mi, err := inspect(name+"."+m.Name, m.Type, true)
		if err != nil {
			continue // not callable remotely (e.g. variadic); calls report ErrUnknownMethod
		}
		mi.fn = m.Func
		ci.methods[m.Name] = mi
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.classes[name]; dup {
		panic(fmt.Sprintf("goray: actor class %q registered twice", name))
	}
	registry.classes[name] = ci
	return &ActorClass[T]{name: name, opts: buildOptions(Options{}, opts)}
}

// Options returns a copy of c with more options.
func (c *ActorClass[T]) Options(opts ...Option) *ActorClass[T] {
	return &ActorClass[T]{name: c.name, opts: buildOptions(c.opts, opts)}
}

// Remote creates an actor and returns its handle once the runtime has
// accepted it (the constructor runs asynchronously; calls queue behind it).
// A duplicate Name gives ErrActorExists.
func (c *ActorClass[T]) Remote(ctx context.Context, args ...any) (*ActorHandle[T], error) {
	rt, err := current(ctx)
	if err != nil {
		return nil, err
	}
	o := &c.opts
	spec := &grt.TaskSpec{Kind: grt.KindActorCreate, Func: c.name, NumReturns: 0,
		MaxRestarts: o.MaxRestarts, MaxTaskRetries: o.MaxTaskRetries, MaxConcurrency: o.MaxConcurrency,
		Name: o.Name, Detached: o.Detached, Strategy: o.Strategy.s}
	if spec.MaxConcurrency <= 0 {
		spec.MaxConcurrency = 1
	}
	spec.Resources = o.taskResources()
	spec.ResourcesSet = o.setCPUs || o.setGPUs || len(o.Resources) > 0
	release, err := encodeArgs(ctx, rt, spec, args)
	if err != nil {
		return nil, err
	}
	defer release()
	id, err := rt.c.CreateActor(ctx, spec)
	if err != nil {
		return nil, fromSubmitErr(err)
	}
	return &ActorHandle[T]{id: id, class: c.name}, nil
}

func fromSubmitErr(err error) error {
	if ei, ok := err.(*grt.ErrorInfo); ok {
		return fromInfo(ei)
	}
	return err
}

// ActorHandle refers to a live actor of type T. It is serialisable: pass it
// to tasks and other actors.
type ActorHandle[T any] struct {
	id    grt.ActorID
	class string
}

// ID returns the actor's ID as hex.
func (h *ActorHandle[T]) ID() string { return h.id.String() }

// GobEncode writes the actor ID and class.
func (h *ActorHandle[T]) GobEncode() ([]byte, error) {
	b := make([]byte, 0, 16+len(h.class)+2)
	b = append(b, h.id[:]...)
	b = binary.AppendUvarint(b, uint64(len(h.class)))
	return append(b, h.class...), nil
}

// GobDecode restores a handle.
func (h *ActorHandle[T]) GobDecode(b []byte) error {
	if len(b) < 17 {
		return fmt.Errorf("goray: bad actor handle (%d bytes)", len(b))
	}
	copy(h.id[:], b[:16])
	l, n := binary.Uvarint(b[16:])
	if n <= 0 || int(l) != len(b)-16-n {
		return fmt.Errorf("goray: bad actor handle")
	}
	h.class = string(b[16+n:])
	return nil
}

// Call calls method on the actor and returns a ref to its single result.
// Calls from one caller run in submission order (with MaxConcurrency 1).
func Call[R any, T any](ctx context.Context, h *ActorHandle[T], method string, args ...any) ObjectRef[R] {
	rt, err := current(ctx)
	if err != nil {
		return ObjectRef[R]{h: errHandle(err)}
	}
	if h == nil {
		return ObjectRef[R]{h: errHandle(fmt.Errorf("goray: call %s on nil handle: %w", method, ErrActorNotFound))}
	}
	registry.RLock()
	ci := registry.classes[h.class]
	registry.RUnlock()
	if ci != nil {
		mi := ci.methods[method]
		if mi == nil {
			return ObjectRef[R]{h: errHandle(&TaskError{Task: h.class + "." + method,
				Message: fmt.Sprintf("actor class %s has no exported method %q", h.class, method), Cause: ErrUnknownMethod})}
		}
		if len(mi.out) != 1 {
			return ObjectRef[R]{h: errHandle(&TaskError{Task: mi.name,
				Message: fmt.Sprintf("method returns %d values; Call needs exactly one (plus an optional error)", len(mi.out)), Cause: ErrUnknownMethod})}
		}
		if err := checkOut(mi.name, mi.out[0], reflect.TypeFor[R]()); err != nil {
			return ObjectRef[R]{h: errHandle(&ArgTypeError{Task: mi.name, Index: -1, Want: reflect.TypeFor[R]().String(), Got: mi.out[0].String()})}
		}
	}
	spec := &grt.TaskSpec{Kind: grt.KindActorMethod, Func: method, Actor: h.id, NumReturns: 1}
	release, err := encodeArgs(ctx, rt, spec, args)
	if err != nil {
		return ObjectRef[R]{h: errHandle(err)}
	}
	ids := rt.c.Submit(spec)
	release()
	return ObjectRef[R]{h: newHandle(rt.c, ids[0])}
}

// GetActor finds a named actor.
func GetActor[T any](ctx context.Context, name string) (*ActorHandle[T], error) {
	rt, err := current(ctx)
	if err != nil {
		return nil, err
	}
	info, err := rt.c.GetNamedActor(ctx, name)
	if err != nil {
		return nil, fromSubmitErr(err)
	}
	return &ActorHandle[T]{id: info.ID, class: info.Class}, nil
}

// Kill kills the actor; with noRestart false it restarts if MaxRestarts allows.
func Kill[T any](ctx context.Context, h *ActorHandle[T], noRestart bool) error {
	rt, err := current(ctx)
	if err != nil {
		return err
	}
	return fromSubmitErr(rt.c.KillActor(ctx, h.id, noRestart))
}

// NewActor runs the registered constructor of spec.Func.
func (executor) NewActor(ctx context.Context, spec *grt.TaskSpec, args [][]byte) (any, *grt.ErrorInfo) {
	registry.RLock()
	ci := registry.classes[spec.Func]
	registry.RUnlock()
	if ci == nil {
		return nil, &grt.ErrorInfo{Kind: grt.ErrKindUnknownFunc, Task: spec.Func,
			Message: fmt.Sprintf("actor class %q is not registered in the worker", spec.Func)}
	}
	// The constructor's single result is the instance; invoke encodes results,
	// so call it directly here.
	res, einfo := callRaw(ctx, ci.ctor, reflect.Value{}, args)
	if einfo != nil {
		return nil, einfo
	}
	return &actorInstance{class: ci, v: res[0]}, nil
}

// actorInstance is what a worker keeps for a live actor: the instance and
// its class, so that calls need no registry search.
type actorInstance struct {
	class *classInfo
	v     reflect.Value
}

// CallActor runs an exported method of instance.
func (executor) CallActor(ctx context.Context, instance any, spec *grt.TaskSpec, args [][]byte) ([]grt.Result, *grt.ErrorInfo) {
	inst, ok := instance.(*actorInstance)
	if !ok {
		return nil, &grt.ErrorInfo{Kind: grt.ErrKindSystem, Task: spec.Func, Message: fmt.Sprintf("bad actor instance %T", instance)}
	}
	mi := inst.class.methods[spec.Func]
	if mi == nil {
		return nil, &grt.ErrorInfo{Kind: grt.ErrKindUnknownMethod, Task: inst.class.name + "." + spec.Func,
			Message: fmt.Sprintf("actor class %s has no exported method %q", inst.class.name, spec.Func)}
	}
	return invoke(ctx, mi, inst.v, spec, args)
}
