package objectstore

import (
	"slices"
	"sync"
)

// HolderID names whatever holds references: a driver, a worker, a pending task. The counter
// never interprets it; the runtime picks the scheme (for example "worker:<pid>", "task:<id>").
type HolderID string

// refs is everything keeping one object alive.
type refs struct {
	local     int        // AddLocal minus RemoveLocal, over all holders
	taskArgs  int        // arguments of pending tasks
	contained int        // live outer objects whose value contains this one
	pins      int        // Pin minus Unpin
	inner     []ObjectID // objects this one contains, released when it is freed
	owner     HolderID
	hasOwner  bool
}

func (r *refs) count() int { return r.local + r.taskArgs + r.contained + r.pins }

// RefCounter is the node's reference-count table (Ray's reference types LOCAL_REFERENCE,
// USED_BY_PENDING_TASK, CAPTURED_IN_OBJECT and PINNED_IN_MEMORY). It is pure bookkeeping:
// it does no I/O and never touches the store; the methods that can drop a count to zero
// return the IDs that became unreferenced, and the caller deletes them. Each object is
// reported exactly once, because freeing forgets it: a later removal of a reference it no
// longer has is a no-op.
//
// An object becomes tracked with its first reference (or SetOwner / AddContained as the
// outer object) and is freed when its last reference goes; an object that never had a
// reference is never reported. Freed slices are sorted by ID, so results are deterministic.
// RefCounter is safe for concurrent use.
type RefCounter struct {
	mu    sync.Mutex
	objs  map[ObjectID]*refs
	local map[HolderID]map[ObjectID]int // holder → object → local refs it holds
	tasks map[HolderID]map[ObjectID]int // pending task → object → times passed as argument
	owned map[HolderID]map[ObjectID]struct{}
}

// NewRefCounter returns an empty table.
func NewRefCounter() *RefCounter {
	return &RefCounter{
		objs:  make(map[ObjectID]*refs),
		local: make(map[HolderID]map[ObjectID]int),
		tasks: make(map[HolderID]map[ObjectID]int),
		owned: make(map[HolderID]map[ObjectID]struct{}),
	}
}

func (c *RefCounter) get(id ObjectID) *refs {
	r, ok := c.objs[id]
	if !ok {
		r = &refs{}
		c.objs[id] = r
	}
	return r
}

func addTo(m map[HolderID]map[ObjectID]int, h HolderID, id ObjectID) {
	inner, ok := m[h]
	if !ok {
		inner = make(map[ObjectID]int)
		m[h] = inner
	}
	inner[id]++
}

// AddLocal records that holder has one more reference to id (an ObjectRef in its memory).
func (c *RefCounter) AddLocal(id ObjectID, holder HolderID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.get(id).local++
	addTo(c.local, holder, id)
}

// RemoveLocal drops one of holder's references to id. Removing a reference holder does not
// have is a no-op, so duplicate release messages are harmless.
func (c *RefCounter) RemoveLocal(id ObjectID, holder HolderID) (freed []ObjectID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.local[holder]
	if m[id] == 0 {
		return nil
	}
	if m[id]--; m[id] == 0 {
		delete(m, id)
		if len(m) == 0 {
			delete(c.local, holder)
		}
	}
	r := c.objs[id]
	r.local--
	return c.maybeFree(id, r, nil)
}

// AddTaskArg records that the pending task taskID takes id as an argument; TaskDone releases it.
func (c *RefCounter) AddTaskArg(id ObjectID, taskID HolderID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.get(id).taskArgs++
	addTo(c.tasks, taskID, id)
}

// TaskDone releases every argument reference of taskID (finished, failed or cancelled).
func (c *RefCounter) TaskDone(taskID HolderID) (freed []ObjectID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	freed = c.releaseTask(taskID, nil)
	slices.SortFunc(freed, compareIDs)
	return freed
}

func (c *RefCounter) releaseTask(taskID HolderID, freed []ObjectID) []ObjectID {
	args := c.tasks[taskID]
	delete(c.tasks, taskID)
	for _, id := range sortedKeys(args) {
		r := c.objs[id]
		r.taskArgs -= args[id]
		freed = c.maybeFree(id, r, freed)
	}
	return freed
}

// AddContained records that outer's value contains a ref to inner: inner stays alive while
// outer is, and freeing outer releases inner (recursively).
func (c *RefCounter) AddContained(outer, inner ObjectID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.get(inner).contained++
	o := c.get(outer)
	o.inner = append(o.inner, inner)
}

// HolderDied releases every local and task-argument reference held by holder. Objects it
// owns are not freed here (borrowers may still reference them); use OwnedBy to find them.
func (c *RefCounter) HolderDied(holder HolderID) (freed []ObjectID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	held := c.local[holder]
	delete(c.local, holder)
	for _, id := range sortedKeys(held) {
		r := c.objs[id]
		r.local -= held[id]
		freed = c.maybeFree(id, r, freed)
	}
	freed = c.releaseTask(holder, freed)
	slices.SortFunc(freed, compareIDs)
	return freed
}

// Pin keeps id alive regardless of other references (for example an object owned by a
// detached actor, or the primary copy while it is being transferred).
func (c *RefCounter) Pin(id ObjectID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.get(id).pins++
}

// Unpin undoes one Pin. Unpinning an object that is not pinned is a no-op.
func (c *RefCounter) Unpin(id ObjectID) (freed []ObjectID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.objs[id]
	if !ok || r.pins == 0 {
		return nil
	}
	r.pins--
	return c.maybeFree(id, r, nil)
}

// Holds reports whether holder has a local reference to id (AddLocal).
func (c *RefCounter) Holds(id ObjectID, holder HolderID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local[holder][id] > 0
}

// Count is the number of references keeping id alive (0 if unknown or freed).
func (c *RefCounter) Count(id ObjectID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.objs[id]; ok {
		return r.count()
	}
	return 0
}

// SetOwner records who owns id (the process that created it), replacing any previous owner.
func (c *RefCounter) SetOwner(id ObjectID, holder HolderID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.get(id)
	if r.hasOwner {
		c.disown(id, r.owner)
	}
	r.owner, r.hasOwner = holder, true
	m, ok := c.owned[holder]
	if !ok {
		m = make(map[ObjectID]struct{})
		c.owned[holder] = m
	}
	m[id] = struct{}{}
}

// Owner returns id's owner, if one was set and the object is still tracked.
func (c *RefCounter) Owner(id ObjectID) (HolderID, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.objs[id]; ok && r.hasOwner {
		return r.owner, true
	}
	return "", false
}

// OwnedBy lists the tracked objects owned by holder, sorted, so the runtime can mark them
// lost when holder dies (Ray's OwnerDiedError).
func (c *RefCounter) OwnedBy(holder HolderID) []ObjectID {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]ObjectID, 0, len(c.owned[holder]))
	for id := range c.owned[holder] {
		out = append(out, id)
	}
	slices.SortFunc(out, compareIDs)
	return out
}

func (c *RefCounter) disown(id ObjectID, holder HolderID) {
	if m, ok := c.owned[holder]; ok {
		delete(m, id)
		if len(m) == 0 {
			delete(c.owned, holder)
		}
	}
}

// maybeFree frees id if nothing references it any more, then everything that only id kept
// alive. It walks a worklist rather than recursing so deep nesting cannot overflow the stack.
func (c *RefCounter) maybeFree(id ObjectID, r *refs, freed []ObjectID) []ObjectID {
	if r.count() > 0 {
		return freed
	}
	start := len(freed)
	work := []ObjectID{id}
	for len(work) > 0 {
		id := work[len(work)-1]
		work = work[:len(work)-1]
		r := c.objs[id]
		delete(c.objs, id)
		if r.hasOwner {
			c.disown(id, r.owner)
		}
		freed = append(freed, id)
		for _, in := range r.inner {
			ir, ok := c.objs[in]
			if !ok {
				continue
			}
			if ir.contained--; ir.count() == 0 {
				work = append(work, in)
			}
		}
	}
	slices.SortFunc(freed[start:], compareIDs)
	return freed
}

func compareIDs(a, b ObjectID) int { return slices.Compare(a[:], b[:]) }

func sortedKeys(m map[ObjectID]int) []ObjectID {
	out := make([]ObjectID, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	slices.SortFunc(out, compareIDs)
	return out
}
