package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/goray/goray/runtime/objectstore"
)

// IsWorkerProcess reports whether this process was started by a node as a
// worker (GORAY_WORKER_SOCKET is set).
func IsWorkerProcess() bool { return os.Getenv(EnvWorkerSocket) != "" }

// RunWorker serves tasks for the node that started this process until the
// node says exit or goes away, and returns the process exit code. ready is
// called with the worker's client before the first task runs (goray makes
// it the process default runtime).
func RunWorker(ex Executor, ready func(*Client)) int {
	socket := os.Getenv(EnvWorkerSocket)
	id, _ := strconv.ParseUint(os.Getenv(EnvWorkerID), 10, 64)
	parent, _ := strconv.Atoi(os.Getenv(EnvParentPID))
	// Children of user code must not mistake themselves for workers.
	for _, k := range []string{EnvWorkerSocket, EnvWorkerID, EnvParentPID} {
		_ = os.Unsetenv(k)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("worker", id)
	nc, err := net.Dial("unix", socket)
	if err != nil {
		// The node stopped before this worker came up: nothing to serve.
		log.Debug("worker: connect to node", "socket", socket, "err", err)
		return 0
	}
	w := &workerRT{ex: ex, log: log, wake: make(chan struct{}, 1), exit: make(chan struct{}),
		running: map[TaskID]context.CancelFunc{}}
	c := newSocketClient(nc, log, w)
	w.c = c
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = c.hello(ctx, id)
	cancel()
	if err != nil {
		// Typically the node is stopping; exit quietly.
		log.Debug("worker: hello", "err", err)
		return 0
	}
	if ready != nil {
		ready(c)
	}
	go w.watchdog(parent)
	startProfile()
	w.loop()
	stopProfile()
	c.Close()
	return 0
}

// EnvWorkerCPUProfile names a directory where each worker writes a CPU
// profile (worker-<pid>.prof); for optimising the runtime.
const EnvWorkerCPUProfile = "GORAY_WORKER_CPUPROFILE"

var (
	profMu   sync.Mutex
	profFile *os.File
)

func startProfile() {
	dir := os.Getenv(EnvWorkerCPUProfile)
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("worker-%d.prof", os.Getpid())))
	if err != nil {
		return
	}
	profMu.Lock()
	defer profMu.Unlock()
	if pprof.StartCPUProfile(f) != nil {
		f.Close()
		return
	}
	profFile = f
}

func stopProfile() {
	profMu.Lock()
	defer profMu.Unlock()
	if profFile != nil {
		pprof.StopCPUProfile()
		profFile.Close()
		profFile = nil
	}
}

type taskKey struct{}

// CurrentTask returns the ID of the task whose context ctx is (inside a
// worker), so that tasks it submits can name it as their parent.
func CurrentTask(ctx context.Context) (TaskID, bool) {
	id, ok := ctx.Value(taskKey{}).(TaskID)
	return id, ok
}

// pushedTask is a task the node pushed and the worker has not finished.
type pushedTask struct {
	spec *TaskSpec
	args []wireArg
}

// workerRT runs pushed tasks: in order, one at a time, for task workers and
// for actors with MaxConcurrency 1; up to MaxConcurrency at once otherwise.
type workerRT struct {
	ex  Executor
	log *slog.Logger
	c   *Client

	mu       sync.Mutex
	queue    []*pushedTask
	running  map[TaskID]context.CancelFunc
	blocked  int
	isActor  bool
	instance any
	sem      chan struct{}
	wake     chan struct{}
	exit     chan struct{}
	exitOnce sync.Once
	wg       sync.WaitGroup
}

func (w *workerRT) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *workerRT) connClosed() { w.exitOnce.Do(func() { close(w.exit) }) }

// watchdog exits the process when the node's process is gone, in case the
// parent-death signal was lost (it is tied to the thread that forked us).
func (w *workerRT) watchdog(parent int) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if parent > 0 && os.Getppid() != parent {
				stopProfile() // a profile that is never stopped is an empty file
				os.Exit(1)
			}
		case <-w.exit:
			return
		}
	}
}

// onMessage is called on the connection's reader goroutine.
func (w *workerRT) onMessage(m *msg) {
	switch m.t {
	case mExit:
		// The node is shutting down: user code still running is abandoned,
		// as Ray does with its workers.
		stopProfile()
		os.Exit(0)
	case mPush:
		w.mu.Lock()
		if w.blocked > 0 && !w.isActor && m.spec.Kind == KindNormal {
			w.mu.Unlock()
			w.c.send(&msg{t: mReturned, tids: []TaskID{m.spec.ID}})
			return
		}
		if m.spec.Kind == KindActorCreate {
			w.isActor = true
		}
		w.queue = append(w.queue, &pushedTask{spec: m.spec, args: m.args})
		w.mu.Unlock()
		w.signal()
	case mSteal:
		w.mu.Lock()
		var tids []TaskID
		if !w.isActor {
			for _, p := range w.queue {
				tids = append(tids, p.spec.ID)
			}
			w.queue = nil
		}
		w.mu.Unlock()
		w.c.send(&msg{t: mReturned, tids: tids})
	case mCancelTask:
		w.mu.Lock()
		for i, p := range w.queue {
			if p.spec.ID == m.tid {
				w.queue = append(w.queue[:i], w.queue[i+1:]...)
				w.mu.Unlock()
				w.c.send(&msg{t: mTaskDone, tid: m.tid, err: &ErrorInfo{Kind: ErrKindCancelled, Task: p.spec.Func, Message: "task cancelled"}})
				return
			}
		}
		cancel := w.running[m.tid]
		w.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	}
}

// block is called around Gets inside a task: a blocked task worker hands
// back the tasks queued behind the running one, so they can run elsewhere
// (one of them may be what the running task waits for).
func (w *workerRT) block(on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.isActor {
		return
	}
	if on {
		w.blocked++
		if w.blocked == 1 {
			tids := make([]TaskID, len(w.queue))
			for i, p := range w.queue {
				tids[i] = p.spec.ID
			}
			w.queue = nil
			w.c.send(&msg{t: mBlocked, tids: tids})
		}
		return
	}
	w.blocked--
	if w.blocked == 0 {
		w.c.send(&msg{t: mUnblocked})
	}
}

func (w *workerRT) loop() {
	defer w.wg.Wait()
	for {
		w.mu.Lock()
		var p *pushedTask
		if len(w.queue) > 0 {
			p = w.queue[0]
			w.queue[0] = nil
			w.queue = w.queue[1:]
		}
		w.mu.Unlock()
		if p == nil {
			select {
			case <-w.wake:
				continue
			case <-w.exit:
				return
			}
		}
		if p.spec.Kind == KindActorMethod && w.sem != nil {
			select {
			case w.sem <- struct{}{}:
			case <-w.exit:
				return
			}
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				w.run(p)
				<-w.sem
			}()
			continue
		}
		w.run(p)
	}
}

// run executes one task and reports its outcome.
func (w *workerRT) run(p *pushedTask) {
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), taskKey{}, p.spec.ID))
	w.mu.Lock()
	w.running[p.spec.ID] = cancel
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.running, p.spec.ID)
		w.mu.Unlock()
		cancel()
	}()
	args := make([][]byte, len(p.args))
	var maps []*objectstore.Object
	defer func() {
		for _, o := range maps {
			o.Release()
		}
	}()
	for i, a := range p.args {
		if a.path == "" {
			args[i] = a.data
			continue
		}
		o, err := objectstore.OpenShared(a.path, a.size)
		if err != nil {
			w.c.send(&msg{t: mTaskDone, tid: p.spec.ID, err: &ErrorInfo{Kind: ErrKindObjectLost, Task: p.spec.Func,
				Message: fmt.Sprintf("argument %d: %v", i, err)}})
			return
		}
		maps = append(maps, o)
		args[i] = o.Bytes()
	}
	var res []Result
	var einfo *ErrorInfo
	switch p.spec.Kind {
	case KindActorCreate:
		inst, e := w.ex.NewActor(ctx, p.spec, args)
		if e == nil {
			w.mu.Lock()
			w.instance = inst
			if p.spec.MaxConcurrency > 1 {
				w.sem = make(chan struct{}, p.spec.MaxConcurrency)
			}
			w.mu.Unlock()
		}
		einfo = e
	case KindActorMethod:
		w.mu.Lock()
		inst := w.instance
		w.mu.Unlock()
		if inst == nil {
			einfo = &ErrorInfo{Kind: ErrKindActorDied, Task: p.spec.Func, Message: "actor has no instance"}
			break
		}
		res, einfo = w.ex.CallActor(ctx, inst, p.spec, args)
	default:
		res, einfo = w.ex.Execute(ctx, p.spec, args)
	}
	m := &msg{t: mTaskDone, tid: p.spec.ID, err: einfo}
	if einfo == nil && len(res) > 0 {
		m.results = make([]wireResult, len(res))
		for i := range res {
			wr := wireResult{data: res[i].Bytes()}
			for _, r := range res[i].Refs {
				wr.contained = append(wr.contained, ObjectID(r))
			}
			m.results[i] = wr
		}
	}
	w.c.send(m)
}
