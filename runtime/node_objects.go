package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/goray/goray/runtime/objectstore"
)

// object is the node's record of one object: pending (its task has not
// finished), ready (inline bytes or a file in the store) or failed.
type object struct {
	ready   bool
	data    []byte // inline value
	inStore bool   // value lives in the shared-memory store
	size    int64
	err     *ErrorInfo
	waiters []waiter
	deps    []*taskEntry // tasks waiting for this object
	task    *taskEntry   // producing task while it is pending
	// fetching: a placeholder for an object being fetched from a peer.
	fetching bool
	// copies: the peers this node sent copies to.
	copies []string
	// job: the job whose driver or task made it ("" unknown; taskhistory.go).
	job string
}

// subscription is an outstanding get or wait of one session.
type subscription struct {
	ids       []ObjectID // objects that were pending when it started
	remaining int
}

type waiter struct {
	s        *session
	req      uint64
	idx      int
	wantData bool
	inline   bool
}

// objectReply builds the answer to a get of o for session s.
func (n *Node) objectReplyLocked(s *session, req uint64, idx int, id ObjectID, o *object, wantData, inline bool) *msg {
	m := &msg{t: mObject, req: req, n: int64(idx), oid: id}
	switch {
	case o == nil:
		m.err = lostInfo(id, "object freed or never existed")
	case o.err != nil:
		m.err = o.err
	case !wantData:
		m.flag = true
	case o.inStore:
		m.flag = true
		m.n2 = o.size
		if s.local == nil {
			obj, err := n.store.Get(context.Background(), id)
			if err != nil {
				m.err = lostInfo(id, err.Error())
				m.flag = false
				return m
			}
			m.flag = false
			if s.sameHost && !inline {
				// A client on this machine maps the file itself (zero
				// copy); if the object moves before it does, it asks
				// again with inline set.
				m.str, m.n2 = obj.Path(), obj.Size()
				obj.Release()
				return m
			}
			// Remote clients get the bytes in the frame.
			m.data = append([]byte(nil), obj.Bytes()...)
			obj.Release()
		}
	default:
		m.data = o.data
	}
	return m
}

func lostInfo(id ObjectID, reason string) *ErrorInfo {
	return &ErrorInfo{Kind: ErrKindObjectLost, ObjectID: id, Message: reason}
}

// getLocked answers a get (or wait, wantData false) for ids: ready objects
// at once, others when they become ready.
func (n *Node) getLocked(s *session, req uint64, ids []ObjectID, wantData, inline bool) {
	var pending []ObjectID
	for i, id := range ids {
		o := n.objects[id]
		if o == nil {
			o = n.remoteObjectLocked(id) // nil: no peers to ask
		}
		if o == nil || o.ready {
			s.send(n.objectReplyLocked(s, req, i, id, o, wantData, inline))
			continue
		}
		if !wantData && n.locatedLocked(id, o) {
			// Computed, its bytes on a peer (lineage.go): ready for a Wait.
			s.send(&msg{t: mObject, req: req, n: int64(i), oid: id, flag: true})
			continue
		}
		o.waiters = append(o.waiters, waiter{s: s, req: req, idx: i, wantData: wantData, inline: inline})
		pending = append(pending, id)
		if o.fetching {
			n.needObjectLocked(id) // a located object is pulled here (lineage.go)
		}
	}
	if len(pending) > 0 {
		s.subs[req] = &subscription{ids: pending, remaining: len(pending)}
	}
	if !wantData {
		// Marks the end of the answers available at once, so that a Wait
		// with timeout 0 knows what is ready now without guessing.
		s.send(&msg{t: mObject, req: req, n: -1})
	}
}

func (n *Node) unsubLocked(s *session, req uint64, ids []ObjectID) {
	delete(s.subs, req)
	for _, id := range ids {
		o := n.objects[id]
		if o == nil {
			continue
		}
		w := o.waiters[:0]
		for _, x := range o.waiters {
			if x.s != s || x.req != req {
				w = append(w, x)
			}
		}
		o.waiters = w
	}
}

// readyLocked marks o ready (or failed) and wakes its waiters and the tasks
// that depend on it.
func (n *Node) readyLocked(id ObjectID, o *object) {
	o.ready = true
	o.task = nil
	for _, w := range o.waiters {
		if w.s.closed {
			continue
		}
		w.s.send(n.objectReplyLocked(w.s, w.req, w.idx, id, o, w.wantData, w.inline))
		if sub := w.s.subs[w.req]; sub != nil {
			if sub.remaining--; sub.remaining == 0 {
				delete(w.s.subs, w.req)
			}
		}
	}
	o.waiters = nil
	deps := o.deps
	o.deps = nil
	for _, t := range deps {
		n.depReadyLocked(t, id, o)
	}
}

func (n *Node) failWaitersLocked(o *object, e *ErrorInfo) {
	for _, w := range o.waiters {
		if !w.s.closed {
			w.s.send(&msg{t: mObject, req: w.req, n: int64(w.idx), err: e})
		}
	}
	o.waiters = nil
}

// freeLocked deletes objects nothing refers to any more.
func (n *Node) freeLocked(ids []ObjectID) {
	n.unborrowLocked(ids) // borrow.go: borrows of other nodes' objects end
	for _, id := range ids {
		o := n.objects[id]
		if o == nil {
			continue
		}
		delete(n.objects, id)
		n.lineageFreedLocked(id) // lineage.go: copies kept on peers go too
		if len(o.waiters) > 0 {
			n.failWaitersLocked(o, lostInfo(id, "object freed"))
		}
		if o.inStore {
			if err := n.store.Delete(id); err != nil {
				n.log.Debug("delete freed object", "id", id, "err", err)
			}
		}
	}
}

// putLocked records a new ready object created by session s.
func (n *Node) putLocked(s *session, id ObjectID, data []byte, inStore bool, size int64, contained []ObjectID) {
	o := &object{ready: true, data: data, inStore: inStore, size: size, job: n.sessionJobLocked(s)}
	n.objects[id] = o
	n.refs.AddLocal(id, s.holder)
	for _, c := range contained {
		n.refs.AddContained(id, c)
	}
	n.borrowLocked(contained) // borrow.go: other nodes' objects nested in it
}

// storeLarge moves a large payload into the shared-memory store. It runs
// without n.mu: the store may block while it spills.
func (n *Node) storeLarge(id ObjectID, data []byte) error {
	// Bounded, so that a store that cannot make room fails this object
	// rather than stalling the connection it arrived on forever.
	ctx, cancel := context.WithTimeout(context.Background(), storeWriteTimeout)
	defer cancel()
	if err := n.store.Put(ctx, id, data); err != nil {
		return fmt.Errorf("runtime: store object %s: %w", id, err)
	}
	return nil
}

// storeWriteTimeout bounds how long a large result or put may wait for room
// in the store.
const storeWriteTimeout = time.Minute

func (n *Node) isLarge(size int) bool { return size > n.cfg.InlineThreshold }

// StoreStats returns the object store's accounting.
func (n *Node) StoreStats() objectstore.Stats { return n.store.Stats() }

// NumObjects is the number of objects in the node's table.
func (n *Node) NumObjects() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.objects)
}
