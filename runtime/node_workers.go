package runtime

import (
	"fmt"
	"os"
	"os/exec"
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

// startWorkerLocked starts a worker process; actor non-nil dedicates it.
func (n *Node) startWorkerLocked(actor *actorEntry) error {
	argv := n.cfg.WorkerCommand
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("runtime: start worker: %w", err)
		}
		argv = []string{exe}
	}
	n.nextWorker++
	w := &workerProc{id: n.nextWorker, actor: actor, exited: make(chan struct{})}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(),
		EnvWorkerSocket+"="+n.sockPath,
		EnvWorkerID+"="+strconv.FormatUint(w.id, 10),
		EnvNodeID+"="+n.id,
		EnvParentPID+"="+strconv.Itoa(os.Getpid()),
	)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = workerProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("runtime: start worker %s: %w", argv[0], err)
	}
	w.cmd = cmd
	w.pid = cmd.Process.Pid
	n.workers[w.id] = w
	if actor == nil {
		n.starting++
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
	n.log.Debug("worker started", "worker", w.id, "pid", w.pid, "actor", actor != nil)
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
	n.startFailures = 0
	if w.actor != nil {
		n.actorWorkerReadyLocked(w.actor, w)
		return true
	}
	n.starting--
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
		n.starting--
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
