package runtime

import (
	"context"
	"slices"

	"github.com/goray/goray/runtime/codec"
	"github.com/goray/goray/runtime/objectstore"
)

// Borrowed references (Ray's borrower protocol, minimal).
//
// An object is owned by the node whose prefix its ID carries (ids.go),
// which frees it when its own count reaches zero. A node that counts a
// reference to an object another node owns (a client decoded the ref, a
// forwarded task or result carried it, a value put here contains it) is a
// borrower: it registers with the owner (BorrowHooks.Borrow, one frame per
// batch of IDs, idempotent), and the owner holds the object under
// borrowHolder(node) until that node reports its own count reached zero
// (BorrowHooks.Unborrow) or dies or leaves (PeerGone).
//
// The race between sending a ref and the receiver's registration is closed
// by counting the ref as in flight with the message that carries it, as
// Ray does for task arguments and returns: the sending node holds every
// ref it finds in a forwarded task's arguments or in the results it sends
// back under inflightHolder(receiver); the receiver first counts the refs
// (as the task's contained arguments, or as contained in the result
// object), registers as a borrower where it must, and only when the owner
// acknowledged the registration tells the sender to drop its in-flight
// hold. A sender that does not own the ref is itself a borrower, which its
// in-flight hold keeps registered meanwhile. So at every moment some node
// that the owner knows of counts the ref.
//
// Refs inside values are found by codec.ScanRefs (the marker ObjectRef's
// GobEncode writes), only in gob-encoded values, so numeric payloads are
// never scanned.
//
// Refs nested in a large result that stays on the executing node
// (lineage.go) are counted there, inside that object, and held in flight
// when the owner pulls the bytes, which it counts and borrows in turn (see
// holdServedRefs below).
//
// Limits: a copy a node keeps for its owner (heldFor) is never borrowed,
// since the owner's free is what drops it; and an in-flight hold whose
// message the receiver never processed (the send failed, the receiver was
// draining or stopping, a pulled object's transfer broke off) goes only
// when the receiver leaves the cluster.

// BorrowHooks is implemented by cluster hooks that carry the borrower
// protocol. Borrow and Unborrow must not block, and frames to one node
// must arrive in the order they were asked for.
type BorrowHooks interface {
	// OwnerNode is the live peer that owns id (by its prefix); false for
	// objects of this node or of no live peer.
	OwnerNode(id ObjectID) (node string, ok bool)
	// Borrow registers this node as a borrower of ids at owner and calls
	// done once, from another goroutine, when the owner recorded it (or
	// with why it could not be asked).
	Borrow(owner string, ids []ObjectID, done func(error))
	// Unborrow tells node that this node's borrows of ids ended, or
	// (inflight) that the in-flight holds node kept for it may go.
	Unborrow(node string, ids []ObjectID, inflight bool)
}

// borrowHolder holds, on the owner, the objects node borrows.
func borrowHolder(node string) objectstore.HolderID {
	return objectstore.HolderID("borrow:" + node)
}

// inflightHolder holds, on a sender, the refs on their way to node.
func inflightHolder(node string) objectstore.HolderID {
	return objectstore.HolderID("inflight:" + node)
}

// borrowState is the node's side of the protocol, guarded by n.mu.
type borrowState struct {
	// out: objects of other nodes this node counts and registered.
	out map[ObjectID]*borrowOut
	// in: per borrowing node, the objects held for it here.
	in map[string]map[ObjectID]struct{}
}

type borrowOut struct {
	owner string
	acked bool
	// release: senders whose in-flight holds go once the owner acked.
	release []string
}

func (n *Node) borrowHooks() BorrowHooks {
	bh, _ := n.hooks.(BorrowHooks)
	return bh
}

// scanRefs returns the distinct refs nested in gob-encoded values.
func scanRefs(values ...[]byte) []ObjectID {
	var out []ObjectID
	for _, v := range values {
		if len(v) == 0 || codec.Kind(v[0]) != codec.KindGob {
			continue
		}
		for _, r := range codec.ScanRefs(v) {
			if id := ObjectID(r); !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// argRefs returns the refs nested in spec's inline arguments.
func argRefs(spec *TaskSpec) []ObjectID {
	vals := make([][]byte, 0, len(spec.Args))
	for _, a := range spec.Args {
		if !a.IsRef {
			vals = append(vals, a.Data)
		}
	}
	return scanRefs(vals...)
}

// borrowLocked registers this node as a borrower of the objects in ids
// that other live nodes own and that this node counts, unless it did.
func (n *Node) borrowLocked(ids []ObjectID) {
	bh := n.borrowHooks()
	if bh == nil || len(ids) == 0 {
		return
	}
	type reg struct {
		ids []ObjectID
		bs  []*borrowOut
	}
	var batch map[string]*reg
	for _, id := range ids {
		if OwnerPrefix(id) == n.prefix || n.bor.out[id] != nil || n.refs.Count(id) == 0 {
			continue
		}
		owner, ok := bh.OwnerNode(id)
		if !ok || n.refs.Holds(id, heldFor(owner)) {
			// A copy this node keeps for its owner (lineage.go) is not
			// borrowed: the owner's free drops that hold, and a borrow
			// would keep the owner from ever freeing it.
			continue
		}
		if n.bor.out == nil {
			n.bor.out = map[ObjectID]*borrowOut{}
		}
		b := &borrowOut{owner: owner}
		n.bor.out[id] = b
		if batch == nil {
			batch = map[string]*reg{}
		}
		r := batch[owner]
		if r == nil {
			r = &reg{}
			batch[owner] = r
		}
		r.ids, r.bs = append(r.ids, id), append(r.bs, b)
	}
	for owner, r := range batch {
		bh.Borrow(owner, r.ids, func(err error) {
			if err != nil {
				n.log.Debug("borrow registration failed", "owner", owner, "objects", len(r.ids), "err", err)
			}
			n.mu.Lock()
			defer n.mu.Unlock()
			n.borrowAckedLocked(r.ids, r.bs)
		})
	}
}

// borrowAckedLocked: the owner recorded the borrows of ids (whose entries
// were bs; a later borrow of the same object waits for its own
// registration); the in-flight holds waiting for that go.
func (n *Node) borrowAckedLocked(ids []ObjectID, bs []*borrowOut) {
	rel := map[string][]ObjectID{}
	for i, id := range ids {
		b := n.bor.out[id]
		if b == nil || b != bs[i] || b.acked {
			continue
		}
		b.acked = true
		for _, s := range b.release {
			rel[s] = append(rel[s], id)
		}
		b.release = nil
	}
	n.sendUnborrowLocked(rel, true)
}

func (n *Node) sendUnborrowLocked(m map[string][]ObjectID, inflight bool) {
	bh := n.borrowHooks()
	if bh == nil || n.stopped {
		return
	}
	for node, ids := range m {
		bh.Unborrow(node, ids, inflight)
	}
}

// unborrowLocked ends the borrows of freed objects (freeLocked): their
// owners may free them, and in-flight holds still waiting go too.
func (n *Node) unborrowLocked(freed []ObjectID) {
	if len(n.bor.out) == 0 {
		return
	}
	owners := map[string][]ObjectID{}
	senders := map[string][]ObjectID{}
	for _, id := range freed {
		b := n.bor.out[id]
		if b == nil {
			continue
		}
		delete(n.bor.out, id)
		owners[b.owner] = append(owners[b.owner], id)
		for _, s := range b.release {
			senders[s] = append(senders[s], id)
		}
	}
	n.sendUnborrowLocked(senders, true)
	n.sendUnborrowLocked(owners, false)
}

// holdInFlightLocked holds the refs in ids that this node counts until
// node, to which a message carrying them goes, releases them.
func (n *Node) holdInFlightLocked(node string, ids []ObjectID) {
	if n.borrowHooks() == nil || node == "" {
		return
	}
	for _, id := range ids {
		if n.refs.Count(id) > 0 {
			n.refs.AddLocal(id, inflightHolder(node))
		}
	}
}

// receivedRefsLocked is called once the refs in ids, which arrived from
// node in one message whose in-flight holds node keeps, are counted here
// (or were not kept): it registers the borrows and, once they are
// acknowledged, releases node's holds.
func (n *Node) receivedRefsLocked(node string, ids []ObjectID) {
	if n.borrowHooks() == nil || node == "" || len(ids) == 0 {
		return
	}
	n.borrowLocked(ids)
	now := map[string][]ObjectID{}
	for _, id := range ids {
		if b := n.bor.out[id]; b != nil && !b.acked {
			b.release = append(b.release, node)
			continue
		}
		now[node] = append(now[node], id)
	}
	n.sendUnborrowLocked(now, true)
}

// holdResultRefsLocked holds, for owner, the refs nested in the inline
// results of a task it forwarded here, before the results (which count
// them here) are freed.
func (n *Node) holdResultRefsLocked(owner string, results []ForwardResult) {
	if owner == "" || n.borrowHooks() == nil {
		return
	}
	vals := make([][]byte, 0, len(results))
	for _, r := range results {
		if r.Node == "" {
			vals = append(vals, r.Data)
		}
	}
	n.holdInFlightLocked(owner, scanRefs(vals...))
}

// borrowPeerGoneLocked forgets node as a borrower and as an owner: what it
// borrowed or had in flight here is released, and borrows of its objects
// end with it.
func (n *Node) borrowPeerGoneLocked(node string) {
	freed := n.refs.HolderDied(borrowHolder(node))
	freed = append(freed, n.refs.HolderDied(inflightHolder(node))...)
	delete(n.bor.in, node)
	for id, b := range n.bor.out {
		if b.owner == node {
			delete(n.bor.out, id)
			continue
		}
		b.release = slices.DeleteFunc(b.release, func(s string) bool { return s == node })
	}
	n.freeLocked(freed)
}

// countForeignLocked reports whether a client's ref to id, which this node
// has no entry for, is counted: refs to other live nodes' objects are (the
// node borrows them), others (freed objects) are not.
func (n *Node) countForeignLocked(id ObjectID) bool {
	bh := n.borrowHooks()
	if bh == nil || OwnerPrefix(id) == n.prefix {
		return false
	}
	_, ok := bh.OwnerNode(id)
	return ok
}

// AddBorrower records, on the owner, that node borrows ids: each object
// this node still has is held for node until Unborrowed or PeerGone.
// Repeated registrations are no-ops.
func (n *Node) AddBorrower(node string, ids []ObjectID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return
	}
	for _, id := range ids {
		if n.objects[id] == nil && n.refs.Count(id) == 0 {
			continue // freed already: the borrower's Get fails as it would
		}
		if _, ok := n.bor.in[node][id]; ok {
			continue
		}
		if n.bor.in == nil {
			n.bor.in = map[string]map[ObjectID]struct{}{}
		}
		if n.bor.in[node] == nil {
			n.bor.in[node] = map[ObjectID]struct{}{}
		}
		n.bor.in[node][id] = struct{}{}
		n.refs.AddLocal(id, borrowHolder(node))
	}
}

// Unborrowed releases node's borrows of ids (inflight false) or the
// in-flight holds kept for it (true).
func (n *Node) Unborrowed(node string, ids []ObjectID, inflight bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return
	}
	for _, id := range ids {
		if inflight {
			n.freeLocked(n.refs.RemoveLocal(id, inflightHolder(node)))
			continue
		}
		if _, ok := n.bor.in[node][id]; !ok {
			continue
		}
		delete(n.bor.in[node], id)
		if len(n.bor.in[node]) == 0 {
			delete(n.bor.in, node)
		}
		n.freeLocked(n.refs.RemoveLocal(id, borrowHolder(node)))
	}
}

// Borrowers lists the nodes that borrow id from this node, sorted.
func (n *Node) Borrowers(id ObjectID) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for node, ids := range n.bor.in {
		if _, ok := ids[id]; ok {
			out = append(out, node)
		}
	}
	slices.Sort(out)
	return out
}

// ObjectRefCount is the number of references this node counts for object
// id (0 when it is unknown or freed): local refs of its clients, pending
// tasks, outer objects, pins, and the holds of borrowing peers. For
// diagnostics and tests.
func (n *Node) ObjectRefCount(id ObjectID) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.refs.Count(id)
}

// containResultRefsLocked counts the refs nested in the inline results of
// forwarded task t, which just completed (e nil), as contained in their
// result objects, so that this node borrows them while a result lives.
// ok says the results were taken (t was still pushed and succeeded).
func (n *Node) containResultRefsLocked(t *taskEntry, ok bool, refs [][]ObjectID) {
	if !ok || t.cancelled {
		return
	}
	for i, ids := range refs {
		rid := t.spec.ID.ReturnID(i)
		if len(ids) == 0 || n.objects[rid] == nil || n.refs.Count(rid) == 0 {
			continue
		}
		for _, c := range ids {
			n.refs.AddContained(rid, c)
		}
		n.borrowLocked(ids)
	}
}

// Refs nested in a pulled object. A large result of a forwarded task stays
// on the node that ran it (lineage.go), which counts the refs nested in it
// inside that object and keeps it for the owner; when the owner pulls the
// bytes, it must count those refs too (inside its own copy) and register
// as their borrower, or the executing node could free a nested object once
// the owner frees its copy there, while the owner (or a task it passes the
// result to) still holds the ref. The serving node holds the nested refs
// in flight for the owner (holdServedRefs) exactly as for a result that
// travels back inline, and the owner releases them once it registered
// (pulledRefsLocked), so some node the owners know of counts each ref at
// every moment.

// holdServedRefs holds, for peer, the refs nested in data, the bytes of
// object id about to be sent to it, if this node keeps id for peer (peer
// owns it and is pulling its located result). Other fetches of a copy
// count nothing on arrival, so nothing is held for them.
func (n *Node) holdServedRefs(peer string, id ObjectID, data []byte) {
	if n.borrowHooks() == nil || len(data) == 0 || codec.Kind(data[0]) != codec.KindGob {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped || !n.refs.Holds(id, heldFor(peer)) {
		return
	}
	n.holdInFlightLocked(peer, scanRefs(data))
}

// fetchedRefs returns the refs nested in object id, just pulled into f
// (sealed into the store when stored), when its source may hold them in
// flight for this node. It runs without n.mu: a stored object is mapped.
func (n *Node) fetchedRefs(id ObjectID, f *Fetched, stored bool) []ObjectID {
	if n.borrowHooks() == nil || f == nil || f.From == "" {
		return nil
	}
	if !stored {
		return scanRefs(f.Buf)
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeWriteTimeout)
	defer cancel()
	obj, err := n.store.Get(ctx, id)
	if err != nil {
		// The source's in-flight holds then go only when this node
		// leaves; the object itself is readable or fails on its own.
		n.log.Warn("cannot scan a pulled object for nested refs", "object", id, "err", err)
		return nil
	}
	defer obj.Release()
	return scanRefs(obj.Bytes())
}

// pulledRefsLocked takes the refs nested in pulled object id, which from
// holds in flight for this node: kept, they are counted inside id and
// borrowed from their owners before from's holds go; otherwise (the pull
// was no longer wanted) from's holds go at once.
func (n *Node) pulledRefsLocked(from string, id ObjectID, nested []ObjectID, keep bool) {
	if len(nested) == 0 || from == "" {
		return
	}
	if !keep || n.stopped {
		n.sendUnborrowLocked(map[string][]ObjectID{from: nested}, true)
		return
	}
	for _, c := range nested {
		n.refs.AddContained(id, c)
	}
	n.receivedRefsLocked(from, nested)
}
