package runtime

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// Environment variables that put a process into worker mode.
const (
	EnvWorkerSocket = "GORAY_WORKER_SOCKET"
	EnvWorkerID     = "GORAY_WORKER_ID"
	EnvNodeID       = "GORAY_NODE_ID"
	EnvParentPID    = "GORAY_PARENT_PID"
)

// workerProc is one worker process as the node sees it.
type workerProc struct {
	id     uint64
	bin    string // worker pool: the program it runs ("" the node's default)
	cmd    *exec.Cmd
	pid    int
	sess   *session // nil until the worker said hello
	actor  *actorEntry
	queue  []*taskEntry // pushed, not finished, in push order
	dead   bool
	exited chan struct{}

	lease       *shapeQueue // nil when idle
	leaseRes    map[string]float64
	leasePG     string
	leaseBundle int
	leaseHeld   bool
	blocked     bool
	stealing    bool // an mSteal is outstanding
	refill      bool // its pipeline is being filled up to PipelineDepth

	evicted bool // asked to exit to make room for another binary's worker

	killOnce sync.Once
}

// kill sends SIGKILL to the worker's process group.
func (w *workerProc) kill() {
	w.killOnce.Do(func() {
		if w.pid > 0 {
			_ = syscall.Kill(-w.pid, syscall.SIGKILL)
			_ = syscall.Kill(w.pid, syscall.SIGKILL)
		}
	})
}

// startWorkerLocked starts a worker process of binary bin; actor non-nil
// dedicates it.
func (n *Node) startWorkerLocked(actor *actorEntry, bin string) error {
	argv, err := n.workerArgvLocked(bin)
	if err != nil {
		return err
	}
	n.nextWorker++
	w := &workerProc{id: n.nextWorker, bin: bin, actor: actor, exited: make(chan struct{})}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(),
		EnvWorkerSocket+"="+n.sockPath,
		EnvWorkerID+"="+strconv.FormatUint(w.id, 10),
		EnvNodeID+"="+n.id,
		EnvParentPID+"="+strconv.Itoa(os.Getpid()),
	)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	// A driver's workers run in its working dir, so that relative paths
	// mean in a task what they mean in the driver.
	cmd.Dir = n.workDirOf(bin)
	var logf *os.File
	if dir := n.cfg.WorkerLogDir; dir != "" {
		// Each worker's output goes to its own file, named by its PID once
		// it has one, so that `goray logs --worker PID` can read it.
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf(".starting-%d.log", w.id)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("runtime: worker log: %w", err)
		}
		logf = f
		cmd.Stdout, cmd.Stderr = f, f
	}
	cmd.SysProcAttr = workerProcAttr()
	err = cmd.Start()
	if logf != nil {
		// The child holds its own descriptor; ours is no longer needed.
		defer logf.Close()
		if err == nil {
			_ = os.Rename(logf.Name(), filepath.Join(n.cfg.WorkerLogDir, WorkerLogName(cmd.Process.Pid)))
		} else {
			_ = os.Remove(logf.Name())
		}
	}
	if err != nil {
		return fmt.Errorf("runtime: start worker %s: %w", argv[0], err)
	}
	w.cmd = cmd
	w.pid = cmd.Process.Pid
	n.workers[w.id] = w
	if actor == nil {
		n.startingBin[bin]++
		n.taskWorkers++
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		err := cmd.Wait()
		n.mu.Lock()
		n.workerDiedLocked(w, fmt.Sprintf("process exited: %v", err))
		n.mu.Unlock()
		close(w.exited)
	}()
	n.log.Debug("worker started", "worker", w.id, "pid", w.pid, "actor", actor != nil, "binary", argv[0])
	return nil
}

// workerHelloLocked binds a connecting worker to its process record.
func (n *Node) workerHelloLocked(s *session, id uint64) bool {
	w := n.workers[id]
	if w == nil || w.sess != nil || w.dead {
		return false
	}
	w.sess = s
	s.worker = w
	s.bin = w.bin
	n.startFailures = 0
	if w.actor != nil {
		n.actorWorkerReadyLocked(w.actor, w)
		return true
	}
	n.startingBin[w.bin]--
	n.idle = append(n.idle, w)
	n.scheduleLocked()
	return true
}

// workerDiedLocked handles the end of a worker, whichever of its process
// exit and its connection closing is noticed first.
func (n *Node) workerDiedLocked(w *workerProc, reason string) {
	if w.dead {
		return
	}
	w.dead = true
	delete(n.workers, w.id)
	if w.sess == nil && !n.stopped {
		n.startFailures++
		n.lastStartErr = reason
	}
	if w.actor == nil {
		n.taskWorkers--
	}
	if w.sess == nil && w.actor == nil {
		n.startingBin[w.bin]--
	}
	for i, x := range n.idle {
		if x == w {
			n.idle = append(n.idle[:i], n.idle[i+1:]...)
			break
		}
	}
	w.kill()
	if w.sess != nil && w.sess.c != nil {
		w.sess.c.close()
	}
	if n.stopped {
		return
	}
	n.log.Debug("worker died", "worker", w.id, "pid", w.pid, "reason", reason)
	if a := w.actor; a != nil {
		n.actorWorkerDiedLocked(a, w, reason)
		n.scheduleLocked()
		return
	}
	queue := w.queue
	w.queue = nil
	if sq := w.lease; sq != nil {
		for i, x := range sq.leased {
			if x == w {
				sq.leased = append(sq.leased[:i], sq.leased[i+1:]...)
				break
			}
		}
	}
	n.releaseLeaseLocked(w)
	var requeue []*taskEntry
	for i, t := range queue {
		t.worker = nil
		switch {
		case t.cancelled:
			n.unpinLocked(t)
			n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindCancelled, Task: t.spec.Func, Message: "task cancelled (worker killed)"})
		case i > 0:
			requeue = append(requeue, t) // never started
		case t.retries != 0:
			if t.retries > 0 {
				t.retries--
			}
			requeue = append(requeue, t)
		default:
			n.unpinLocked(t)
			n.failTaskLocked(t, &ErrorInfo{Kind: ErrKindWorkerCrashed, Task: t.spec.Func,
				Message: fmt.Sprintf("worker (pid %d) died: %s", w.pid, reason)})
		}
	}
	n.requeueLocked(requeue)
	if n.startFailures >= maxStartFailures {
		n.failQueuedLocked(&ErrorInfo{Kind: ErrKindSystem, Message: fmt.Sprintf(
			"%d worker processes in a row died before connecting (last: %s); is MaybeRunWorker called first in main?",
			n.startFailures, n.lastStartErr)})
	}
	n.scheduleLocked()
}

// maxStartFailures stops the node from respawning workers that cannot
// start (a broken WorkerCommand, a main that never calls MaybeRunWorker).
const maxStartFailures = 5

// failQueuedLocked fails every task waiting for a worker.
func (n *Node) failQueuedLocked(e *ErrorInfo) {
	for _, sq := range n.queues {
		for sq.len() > 0 {
			t := sq.pop()
			if t.state == tQueued {
				n.failTaskLocked(t, e)
			}
		}
	}
}

// idleIndexLocked is the index in n.idle of the most recently idled worker
// of binary bin, or -1. Workers are never shared between binaries: a
// worker can only run functions its own program registered.
func (n *Node) idleIndexLocked(bin string) int {
	for i := len(n.idle) - 1; i >= 0; i-- {
		if n.idle[i].bin == bin {
			return i
		}
	}
	return -1
}

// takeIdleLocked removes n.idle[i].
func (n *Node) takeIdleLocked(i int) *workerProc {
	w := n.idle[i]
	n.idle = append(n.idle[:i], n.idle[i+1:]...)
	return w
}

// evictIdleLocked asks an idle worker of another binary than bin to exit,
// to make room under MaxWorkers. It reports whether it found one.
func (n *Node) evictIdleLocked(bin string) bool {
	for i, w := range n.idle {
		if w.bin != bin && w.sess != nil {
			n.idle = append(n.idle[:i], n.idle[i+1:]...)
			w.sess.send(&msg{t: mExit})
			w.evicted = true
			return true
		}
	}
	return false
}
