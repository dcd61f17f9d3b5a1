package goray

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"sync"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/codec"
)

// inlineArgLimit is the largest argument sent inside the task spec; larger
// ones are put into the object store first (Ray's 100 KiB rule).
const inlineArgLimit = 100 * 1024

var (
	ctxType = reflect.TypeFor[context.Context]()
	errType = reflect.TypeFor[error]()
)

// fnInfo is a registered function or method, checked once by reflection.
type fnInfo struct {
	name   string
	fn     reflect.Value
	hasCtx bool
	in     []reflect.Type // excluding ctx
	out    []reflect.Type // excluding the trailing error
	hasErr bool
}

func inspect(name string, ft reflect.Type, skipRecv bool) (*fnInfo, error) {
	if ft.Kind() != reflect.Func {
		return nil, fmt.Errorf("goray: register %q: %s is not a function", name, ft)
	}
	if ft.IsVariadic() {
		return nil, fmt.Errorf("goray: register %q: variadic functions are not supported", name)
	}
	info := &fnInfo{name: name}
	i := 0
	if skipRecv {
		i = 1
	}
	if ft.NumIn() > i && ft.In(i) == ctxType {
		info.hasCtx = true
		i++
	}
	for ; i < ft.NumIn(); i++ {
		if ft.In(i) == ctxType {
			return nil, fmt.Errorf("goray: register %q: context.Context must be the first parameter", name)
		}
		info.in = append(info.in, ft.In(i))
	}
	n := ft.NumOut()
	if n > 0 && ft.Out(n-1) == errType {
		info.hasErr = true
		n--
	}
	for j := 0; j < n; j++ {
		info.out = append(info.out, ft.Out(j))
	}
	return info, nil
}

func checkOut(name string, got reflect.Type, want reflect.Type) error {
	if got == want || (want.Kind() == reflect.Interface && got.Implements(want)) {
		return nil
	}
	return fmt.Errorf("goray: register %q: returns %s, Register wants %s", name, got, want)
}

var registry = struct {
	sync.RWMutex
	funcs   map[string]*fnInfo
	classes map[string]*classInfo
}{funcs: map[string]*fnInfo{}, classes: map[string]*classInfo{}}

func registerFn(name string, fn any, want ...reflect.Type) *fnInfo {
	if fn == nil {
		panic(fmt.Sprintf("goray: register %q: nil function", name))
	}
	info, err := inspect(name, reflect.TypeOf(fn), false)
	if err != nil {
		panic(err)
	}
	if len(info.out) != len(want) {
		panic(fmt.Sprintf("goray: register %q: function returns %d values, want %d (plus an optional error)", name, len(info.out), len(want)))
	}
	for i := range want {
		if err := checkOut(name, info.out[i], want[i]); err != nil {
			panic(err)
		}
	}
	info.fn = reflect.ValueOf(fn)
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.funcs[name]; dup {
		panic(fmt.Sprintf("goray: function %q registered twice", name))
	}
	registry.funcs[name] = info
	return info
}

// Func is a registered remote function returning R.
type Func[R any] struct {
	name string
	opts Options
}

// Register registers fn under name. fn is a func whose first parameter may be
// a context.Context, followed by any arguments, returning R or (R, error).
// Register at package level (in a var declaration or init) so that worker
// processes, which re-execute the binary, know the function too. It panics
// on a malformed fn, like regexp.MustCompile, because that is a programming
// error.
func Register[R any](name string, fn any, opts ...Option) *Func[R] {
	registerFn(name, fn, reflect.TypeFor[R]())
	f := &Func[R]{name: name, opts: buildOptions(Options{}, opts)}
	f.opts.res = f.opts.taskResources()
	return f
}

// Name returns the registered name.
func (f *Func[R]) Name() string { return f.name }

// Options returns a copy of f with more options, for one call or a variant.
func (f *Func[R]) Options(opts ...Option) *Func[R] {
	g := &Func[R]{name: f.name, opts: buildOptions(f.opts, opts)}
	g.opts.res = g.opts.taskResources()
	return g
}

// Remote submits a call and returns a ref to its result at once.
func (f *Func[R]) Remote(ctx context.Context, args ...any) ObjectRef[R] {
	ids, c, err := submit(ctx, f.name, &f.opts, 1, args)
	if err != nil {
		return ObjectRef[R]{h: errHandle(err)}
	}
	return ObjectRef[R]{h: newHandle(c, ids[0])}
}

// Func2 is a registered remote function with two results.
type Func2[R1, R2 any] struct {
	name string
	opts Options
}

// Register2 registers fn returning (R1, R2) or (R1, R2, error); each result
// gets its own ref.
func Register2[R1, R2 any](name string, fn any, opts ...Option) *Func2[R1, R2] {
	registerFn(name, fn, reflect.TypeFor[R1](), reflect.TypeFor[R2]())
	f := &Func2[R1, R2]{name: name, opts: buildOptions(Options{}, opts)}
	f.opts.res = f.opts.taskResources()
	return f
}

// Options returns a copy of f with more options.
func (f *Func2[R1, R2]) Options(opts ...Option) *Func2[R1, R2] {
	g := &Func2[R1, R2]{name: f.name, opts: buildOptions(f.opts, opts)}
	g.opts.res = g.opts.taskResources()
	return g
}

// Remote submits a call and returns refs to both results.
func (f *Func2[R1, R2]) Remote(ctx context.Context, args ...any) (ObjectRef[R1], ObjectRef[R2]) {
	ids, c, err := submit(ctx, f.name, &f.opts, 2, args)
	if err != nil {
		return ObjectRef[R1]{h: errHandle(err)}, ObjectRef[R2]{h: errHandle(err)}
	}
	return ObjectRef[R1]{h: newHandle(c, ids[0])}, ObjectRef[R2]{h: newHandle(c, ids[1])}
}

func submit(ctx context.Context, name string, o *Options, nret int, args []any) ([]grt.ObjectID, *grt.Client, error) {
	rt, err := current(ctx)
	if err != nil {
		return nil, nil, err
	}
	spec := &grt.TaskSpec{Kind: grt.KindNormal, Func: name, NumReturns: nret}
	spec.Parent, _ = grt.CurrentTask(ctx)
	o.fillTask(spec)
	release, err := encodeArgs(ctx, rt, spec, args)
	if err != nil {
		return nil, nil, err
	}
	ids := rt.c.Submit(spec)
	release()
	return ids, rt.c, nil
}

// encodeArgs fills spec.Args. Refs become ref arguments; large values are put
// first. The returned func drops the temporary refs once the spec is
// submitted (the node then holds them for the task).
func encodeArgs(ctx context.Context, rt *Runtime, spec *grt.TaskSpec, args []any) (func(), error) {
	if len(args) == 0 {
		return noop, nil
	}
	spec.Args = make([]grt.Arg, len(args))
	var temps []grt.ObjectID
	var keep []*refHandle
	done := func() {
		for _, id := range temps {
			rt.c.RemoveLocalRef(id)
		}
		for _, h := range keep {
			_ = h // keep handles reachable until the submission is done
		}
	}
	for i, a := range args {
		if r, ok := a.(AnyRef); ok {
			h := r.handle()
			if h == nil || h.err != nil {
				if h != nil {
					return nil, h.err
				}
				return nil, fmt.Errorf("goray: argument %d: zero ObjectRef: %w", i, ErrObjectLost)
			}
			spec.Args[i] = grt.Arg{IsRef: true, Ref: h.id}
			keep = append(keep, h)
			continue
		}
		enc, err := codec.Encode(a)
		if err != nil {
			done()
			return nil, fmt.Errorf("goray: %s: argument %d: %w", spec.Func, i, err)
		}
		if enc.Len() > inlineArgLimit {
			id, err := rt.c.Put(ctx, enc)
			if err != nil {
				done()
				return nil, fmt.Errorf("goray: %s: argument %d: %w", spec.Func, i, err)
			}
			temps = append(temps, id)
			spec.Args[i] = grt.Arg{IsRef: true, Ref: id}
			continue
		}
		for _, r := range enc.Refs {
			spec.Contained = append(spec.Contained, grt.ObjectID(r))
		}
		spec.Args[i] = grt.Arg{Data: enc.Bytes()}
	}
	return done, nil
}

func noop() {}

// executor implements grt.Executor with the registries of this package.
type executor struct{}

func lookupFn(name string) *fnInfo {
	registry.RLock()
	defer registry.RUnlock()
	return registry.funcs[name]
}

// Execute runs the registered function spec.Func.
func (executor) Execute(ctx context.Context, spec *grt.TaskSpec, args [][]byte) ([]grt.Result, *grt.ErrorInfo) {
	info := lookupFn(spec.Func)
	if info == nil {
		return nil, &grt.ErrorInfo{Kind: grt.ErrKindUnknownFunc, Task: spec.Func,
			Message: fmt.Sprintf("function %q is not registered in the worker (register it at package level)", spec.Func)}
	}
	return invoke(ctx, info, reflect.Value{}, spec, args)
}

// invoke calls the function and encodes its results.
func invoke(ctx context.Context, info *fnInfo, recv reflect.Value, spec *grt.TaskSpec, args [][]byte) ([]grt.Result, *grt.ErrorInfo) {
	out, einfo := callRaw(ctx, info, recv, args)
	if einfo != nil {
		return nil, einfo
	}
	res := make([]grt.Result, len(out))
	for i, o := range out {
		enc, err := codec.Encode(o.Interface())
		if err != nil {
			return nil, &grt.ErrorInfo{Kind: grt.ErrKindSystem, Task: info.name, Message: fmt.Sprintf("result %d: %v", i, err)}
		}
		res[i] = enc
	}
	return res, nil
}

// callRaw decodes args, calls the function (recovering panics) and returns
// its results without the trailing error.
func callRaw(ctx context.Context, info *fnInfo, recv reflect.Value, args [][]byte) (res []reflect.Value, einfo *grt.ErrorInfo) {
	if rt := defaultRT.Load(); rt != nil {
		ctx = WithRuntime(ctx, rt)
	}
	if len(args) != len(info.in) {
		return nil, &grt.ErrorInfo{Kind: grt.ErrKindArgType, Task: info.name, ArgIndex: -1,
			Want: fmt.Sprintf("%d arguments", len(info.in)), Got: fmt.Sprintf("%d arguments", len(args)),
			Message: fmt.Sprintf("want %d arguments, got %d", len(info.in), len(args))}
	}
	in := make([]reflect.Value, 0, len(args)+2)
	if recv.IsValid() {
		in = append(in, recv)
	}
	if info.hasCtx {
		in = append(in, reflect.ValueOf(ctx))
	}
	for i, a := range args {
		v, err := codec.Decode(a, info.in[i])
		if err != nil {
			var te *codec.TypeError
			if errors.As(err, &te) {
				return nil, &grt.ErrorInfo{Kind: grt.ErrKindArgType, Task: info.name, ArgIndex: i,
					Want: te.Want, Got: te.Got, Message: err.Error()}
			}
			return nil, &grt.ErrorInfo{Kind: grt.ErrKindSystem, Task: info.name, Message: fmt.Sprintf("argument %d: %v", i, err)}
		}
		in = append(in, v)
	}
	defer func() {
		if p := recover(); p != nil {
			res = nil
			einfo = &grt.ErrorInfo{Kind: grt.ErrKindApp, Task: info.name,
				Message: fmt.Sprintf("panic: %v", p), Stack: string(debug.Stack())}
		}
	}()
	out := info.fn.Call(in)
	if info.hasErr {
		if e := out[len(out)-1]; !e.IsNil() {
			err := e.Interface().(error)
			return nil, &grt.ErrorInfo{Kind: grt.ErrKindApp, Task: info.name, Message: err.Error()}
		}
		out = out[:len(out)-1]
	}
	return out, nil
}
