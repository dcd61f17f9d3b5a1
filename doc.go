// Package goray is Ray for Go: remote functions, actors and a shared-memory
// object store, with Ray Core's semantics, on one machine or a cluster.
//
// A program registers its functions and actor types once, at package level
// (so that worker processes, which re-execute the same binary, register them
// too), calls MaybeRunWorker first thing in main, then Init:
//
//	var square = goray.Register[int]("square", func(x int) int { return x * x })
//
//	func main() {
//		goray.MaybeRunWorker()
//		rt, err := goray.Init(ctx, goray.Config{})
//		...
//		ref := square.Remote(ctx, 7)
//		v, err := ref.Get(ctx) // 49
//		rt.Shutdown(ctx)
//	}
//
// Init with no address starts an embedded node inside the program, like
// ray.init() on a laptop: it owns the object store and the scheduler, and
// starts worker processes by re-executing os.Executable() with
// GORAY_WORKER_SOCKET set. User code always runs in a worker, so a panic,
// os.Exit or SIGKILL fails only its own task or actor.
//
// # References and memory
//
// Go has no destructors, so an ObjectRef reports that it was dropped through
// runtime.AddCleanup on its internal handle: when the last copy of a ref
// becomes unreachable and the garbage collector runs, the object's local
// reference goes away and the node frees the object once nothing else (a
// pending task, another object, another process) refers to it. GC timing is
// not deterministic, so ObjectRef.Release frees a ref's claim immediately;
// using a ref after Release gives ObjectLostError if the object was freed.
//
// The public API lives in this root package rather than in runtime/ because a
// package named runtime would shadow the standard library's in every user
// file; the engine in runtime/ (imported as grt) is an implementation detail.
package goray
