package task

import "fmt"

// DepTracker tracks which argument objects each pending task still waits
// for. It remembers objects reported ready (until Forget) so that a task
// added after its arguments were produced is ready at once, and objects
// reported failed so that such a task fails at once.
//
// Results are returned in the order tasks were added, so callers that
// enqueue ready tasks keep submission order.
type DepTracker struct {
	tasks   map[string]*depTask
	waiters map[string][]*depTask // object -> tasks still missing it, in Add order
	ready   map[string]struct{}
	failed  map[string]error
}

type depTask struct {
	id      string
	missing map[string]struct{}
}

// NewDepTracker returns an empty tracker.
func NewDepTracker() *DepTracker {
	return &DepTracker{
		tasks:   map[string]*depTask{},
		waiters: map[string][]*depTask{},
		ready:   map[string]struct{}{},
		failed:  map[string]error{},
	}
}

// Add starts tracking taskID with the given argument objects (duplicates
// count once). It reports whether the task is ready now; a ready task is
// not kept. If an argument already failed it returns a *DependencyError
// (errors.Is ErrDependencyFailed) and does not keep the task. Adding a
// task ID already tracked fails with ErrDuplicateTask.
func (d *DepTracker) Add(taskID string, deps []string) (ready bool, err error) {
	if _, ok := d.tasks[taskID]; ok {
		return false, fmt.Errorf("task %s: %w", taskID, ErrDuplicateTask)
	}
	for _, o := range deps {
		if cause, ok := d.failed[o]; ok {
			return false, fmt.Errorf("task %s: %w", taskID, &DependencyError{Object: o, Cause: cause})
		}
	}
	t := &depTask{id: taskID}
	for _, o := range deps {
		if _, ok := d.ready[o]; ok {
			continue
		}
		if t.missing == nil {
			t.missing = map[string]struct{}{}
		}
		if _, dup := t.missing[o]; dup {
			continue
		}
		t.missing[o] = struct{}{}
	}
	if len(t.missing) == 0 {
		return true, nil
	}
	d.tasks[taskID] = t
	for o := range t.missing {
		d.waiters[o] = append(d.waiters[o], t)
	}
	return false, nil
}

// ObjectReady records that object id is available and returns the tasks
// whose last missing argument it was, in Add order. Those tasks are no
// longer tracked.
func (d *DepTracker) ObjectReady(id string) []string {
	delete(d.failed, id)
	d.ready[id] = struct{}{}
	ws := d.waiters[id]
	delete(d.waiters, id)
	var out []string
	for _, t := range ws { // ws is in Add order
		delete(t.missing, id)
		if len(t.missing) == 0 {
			delete(d.tasks, t.id)
			out = append(out, t.id)
		}
	}
	return out
}

// ObjectFailed records that object id failed with err and returns every task
// waiting on it, in Add order; the caller fails each with
// &DependencyError{Object: id, Cause: err}. Those tasks are no longer
// tracked, and later Adds naming id fail at once.
func (d *DepTracker) ObjectFailed(id string, err error) []string {
	delete(d.ready, id)
	d.failed[id] = err
	ws := d.waiters[id]
	delete(d.waiters, id)
	var out []string
	for _, t := range ws {
		if _, ok := d.tasks[t.id]; !ok {
			continue
		}
		d.drop(t, id)
		out = append(out, t.id)
	}
	return out
}

// Remove stops tracking taskID (cancelled, or failed for another reason).
// It reports whether the task was tracked.
func (d *DepTracker) Remove(taskID string) bool {
	t, ok := d.tasks[taskID]
	if !ok {
		return false
	}
	d.drop(t, "")
	return true
}

// drop forgets t and unlinks it from the waiter lists of its missing
// objects except skip (whose list the caller already removed).
func (d *DepTracker) drop(t *depTask, skip string) {
	delete(d.tasks, t.id)
	for o := range t.missing {
		if o == skip {
			continue
		}
		ws := d.waiters[o]
		for i, w := range ws {
			if w == t {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(d.waiters, o)
		} else {
			d.waiters[o] = ws
		}
	}
}

// Forget drops what the tracker remembers about object id (ready or failed),
// for example when the object is freed or lost and must be reconstructed.
// Tasks already waiting on it keep waiting.
func (d *DepTracker) Forget(id string) {
	delete(d.ready, id)
	delete(d.failed, id)
}

// Waiting returns the number of tracked (not yet ready) tasks.
func (d *DepTracker) Waiting() int { return len(d.tasks) }

// Missing returns how many arguments taskID still waits for (0 if the task
// is not tracked).
func (d *DepTracker) Missing(taskID string) int {
	if t, ok := d.tasks[taskID]; ok {
		return len(t.missing)
	}
	return 0
}
