package remote

import (
	"context"
	"sync"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
)

// Lineage across nodes (runtime/lineage.go has the owner's side): a normal
// task's large results stay on the node that ran it, which keeps them for
// their owner until the owner frees them (kindFree) or dies; the owner
// rebuilds them from their lineage when that node dies. A ref whose owner
// node died fails with ErrKindOwnerDied: object IDs begin with their
// owner's grt.NodePrefix, and the engine remembers the prefixes of the
// nodes that died.

// kindFree tells a node that the owner freed objects it keeps: the
// concatenated 20-byte object IDs.
const kindFree = "rt.free/v1"

// lineageState is the engine's record of dead owners.
type lineageState struct {
	mu sync.Mutex
	// gone maps the ID prefix of every node that died or left to its ID.
	gone map[[4]byte]string
	// pulls are the FetchObjectFrom requests in flight: the node asked.
	pulls map[uint64]string
	// rebuild asks owners to make lost objects available (rebuild.go).
	rebuild *cluster.Caller
}

func (e *Engine) startLineage() {
	e.lin.rebuild = cluster.NewCaller(e.tr, kindRebuild)
	e.cancels = append(e.cancels, e.tr.Subscribe(kindFree, e.onFree),
		e.lin.rebuild.Close, e.tr.Subscribe(kindRebuild, e.onRebuild))
}

// finish hands a forwarded task's outcome to whoever waits for it.
func (f *forward) finish(rs []grt.ForwardResult, ei *grt.ErrorInfo) {
	if f.located != nil {
		f.located(rs, ei)
		return
	}
	var res [][]byte
	if rs != nil {
		res = make([][]byte, len(rs))
		for i, r := range rs {
			if r.Node != "" {
				// Only ForwardLocated's tasks may leave results behind.
				f.done(nil, &grt.ErrorInfo{Kind: grt.ErrKindSystem, Message: "a result stayed on node " + r.Node + " for a caller that wanted it inline"})
				return
			}
			res[i] = r.Data
		}
	}
	f.done(res, ei)
}

// ForwardLocated implements grt.LocatedForwarder: Forward whose large
// results stay on the node that runs the task.
func (e *Engine) ForwardLocated(ctx context.Context, node string, fm *grt.ForwardMessage, done func([]grt.ForwardResult, *grt.ErrorInfo)) {
	id := e.nextID.Add(1)
	e.mu.Lock()
	e.pending[id] = &forward{node: node, located: done,
		done: func(_ [][]byte, ei *grt.ErrorInfo) { done(nil, ei) }}
	e.mu.Unlock()
	// The same ordered outbox as Forward: an actor created by one forward
	// must precede the calls that follow it.
	e.send(node, func() {
		payload := grt.EncodeForward(fm)
		if fm.Release != nil {
			fm.Release()
		}
		if err := e.sendPayload(context.WithoutCancel(ctx), node, kindTask, id, payload); err != nil {
			e.markUnreachable(node)
			if f := e.take(id); f != nil {
				f.done(nil, &grt.ErrorInfo{Kind: grt.ErrKindWorkerCrashed, Task: fm.Spec.Func, Message: "forward to node " + node + ": " + err.Error()})
			}
		}
	})
}

// FreeObjects implements grt.LocatedForwarder.
func (e *Engine) FreeObjects(node string, ids []grt.ObjectID) {
	p := encodeIDs(nil, ids) // borrow.go
	e.send(node, func() {
		if err := e.tr.Send(context.Background(), node, cluster.Frame{Kind: kindFree, Last: true, Payload: p}); err != nil {
			// The node is gone or going: its copies go with it.
			e.log.Debug("cannot free objects kept on a peer", "node", node, "err", err)
		}
	})
}

func (e *Engine) onFree(_ context.Context, f cluster.Frame) {
	ids, err := decodeIDs(f.Payload) // borrow.go
	if err != nil {
		e.log.Warn("bad free frame", "from", f.From, "err", err)
		return
	}
	e.node.ReleaseHeld(f.From, ids)
}

// ownerGone records that node died or left, and fails the pulls that
// asked it (each then asks the other peers).
func (e *Engine) ownerGone(node string) {
	e.lin.mu.Lock()
	if e.lin.gone == nil {
		e.lin.gone = map[[4]byte]string{}
	}
	e.lin.gone[grt.NodePrefix(node)] = node
	var rids []uint64
	for rid, n := range e.lin.pulls {
		if n == node {
			rids = append(rids, rid)
		}
	}
	e.lin.mu.Unlock()
	for _, rid := range rids {
		e.dropRecv(rid)
		e.objNotHere(rid)
	}
}

// FetchObjectFrom implements grt.LocationFetcher: it asks node, where the
// object is known to be, and only if node does not have it (or died)
// every live peer, as FetchObject does.
func (e *Engine) FetchObjectFrom(ctx context.Context, node string, id grt.ObjectID, done func(*grt.Fetched, *grt.ErrorInfo)) {
	e.fetchFrom(ctx, node, id, true, done)
}

// fetchFrom asks node for object id; fallback says whether every live
// peer is asked when node does not have it.
func (e *Engine) fetchFrom(ctx context.Context, node string, id grt.ObjectID, fallback bool, done func(*grt.Fetched, *grt.ErrorInfo)) {
	rid := e.nextID.Add(1)
	e.lin.mu.Lock()
	if e.lin.pulls == nil {
		e.lin.pulls = map[uint64]string{}
	}
	e.lin.pulls[rid] = node
	e.lin.mu.Unlock()
	finish := func(f *grt.Fetched, ei *grt.ErrorInfo) {
		e.lin.mu.Lock()
		delete(e.lin.pulls, rid)
		e.lin.mu.Unlock()
		if ei != nil && ei.Kind == grt.ErrKindObjectLost && fallback {
			e.FetchObject(ctx, id, done)
			return
		}
		done(f, ei)
	}
	e.mu.Lock()
	e.objWait[rid] = &objFetch{id: id, remaining: 1, done: finish, peer: node, last: time.Now(), size: -1}
	e.mu.Unlock()
	e.watchFetch(rid) // objects.go: an inactivity limit, not a bound on the transfer
	go func() {
		err := e.tr.Send(context.WithoutCancel(ctx), node, cluster.Frame{Kind: kindObjGet, ID: rid, Last: true, Payload: id[:]})
		if err != nil {
			e.objNotHere(rid)
		}
	}()
}

// DeadOwner implements grt.OwnerChecker: the node that minted id is dead
// if it died or left and has not come back (a node restarted under the
// same ID owns nothing of its previous life, but is alive).
func (e *Engine) DeadOwner(id grt.ObjectID) (string, bool) {
	p := grt.OwnerPrefix(id)
	if p == e.nodePrefix(e.mem.LocalID()) {
		return "", false
	}
	e.lin.mu.Lock()
	node, gone := e.lin.gone[p]
	e.lin.mu.Unlock()
	for _, m := range e.mem.Members() {
		if e.nodePrefix(m.ID) != p {
			continue
		}
		switch m.Status {
		case cluster.StatusAlive, cluster.StatusSuspect:
			return "", false
		case cluster.StatusDead, cluster.StatusLeft:
			return m.ID, true
		}
	}
	return node, gone
}

var (
	_ grt.LocatedForwarder = (*Engine)(nil)
	_ grt.OwnerChecker     = (*Engine)(nil)
	_ grt.LocationFetcher  = (*Engine)(nil)
)
