package runtime

import (
	"context"
	"fmt"
	"maps"

	"github.com/goray/goray/runtime/task"
)

// handle processes one message from session s. Store writes of large
// payloads happen before taking n.mu, because the store may block to spill.
func (n *Node) handle(s *session, m *msg) {
	switch m.t {
	case mTaskDone:
		var stored []bool
		for i, r := range m.results {
			if n.isLarge(len(r.data)) {
				if stored == nil {
					stored = make([]bool, len(m.results))
				}
				if err := n.storeLarge(m.tid.ReturnID(i), r.data); err != nil {
					m.err = &ErrorInfo{Kind: ErrKindSystem, Message: err.Error()}
					n.mu.Lock()
					n.discardStoredLocked(m, stored)
					n.mu.Unlock()
					stored = nil
					break
				}
				stored[i] = true
			}
		}
		n.mu.Lock()
		if s.worker != nil {
			n.taskDoneLocked(s.worker, m, stored)
		} else {
			n.discardStoredLocked(m, stored)
		}
		n.mu.Unlock()
		return
	case mPut:
		inStore := false
		if n.isLarge(len(m.data)) {
			if err := n.storeLarge(m.oid, m.data); err != nil {
				s.send(&msg{t: mReply, req: m.req, err: &ErrorInfo{Kind: ErrKindSystem, Message: err.Error()}})
				return
			}
			inStore = true
		}
		n.mu.Lock()
		if inStore {
			n.putLocked(s, m.oid, nil, true, int64(len(m.data)), m.ids)
		} else {
			n.putLocked(s, m.oid, m.data, false, int64(len(m.data)), m.ids)
		}
		n.mu.Unlock()
		if m.req != 0 {
			s.send(&msg{t: mReply, req: m.req})
		}
		return
	}

	if m.t == mBinary {
		n.onBinaryChunk(s, m) // file I/O: without n.mu
		return
	}
	var bin string
	var upload uploadAsk
	if m.t == mHello && m.n2 == 0 {
		// A driver: find (or build) the worker pool of its program and
		// working dir before answering, so that its first submission
		// finds it. This reads the binary, so it runs without n.mu.
		bin, upload = n.resolveDriverHello(s, m)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped && m.t != mHello {
		if m.req != 0 {
			s.send(&msg{t: mReply, req: m.req, err: &ErrorInfo{Kind: ErrKindSystem, Message: ErrStopped.Error()}})
		}
		return
	}
	switch m.t {
	case mHello:
		reply := &msg{t: mHello, str: protocolMagic, n: ProtocolVersion, str2: n.id}
		if n.stopped {
			reply.err = &ErrorInfo{Kind: ErrKindSystem, Message: ErrStopped.Error()}
			s.send(reply)
			if s.c != nil {
				s.c.closeAfterFlush()
			}
			return
		}
		if m.str != protocolMagic || m.n != ProtocolVersion {
			reply.err = &ErrorInfo{Kind: ErrKindSystem, Message: fmt.Sprintf("protocol mismatch: node speaks %s v%d, client %q v%d", protocolMagic, ProtocolVersion, m.str, m.n)}
			s.send(reply)
			if s.c != nil {
				s.c.closeAfterFlush()
			}
			return
		}
		p := n.clientPrefix(s)
		reply.data = p[:]
		s.bin = bin
		reply.flag = upload&askProgram != 0 // the driver sends its program before anything else
		reply.n2 = int64(upload)            // and its working dir (driver_upload.go)
		s.send(reply)
		if m.n2 != 0 && (!s.sameHost || !n.workerHelloLocked(s, uint64(m.n2))) { // workers connect only locally
			n.log.Warn("unknown worker said hello", "worker", m.n2)
		}
	case mSubmit:
		n.submitLocked(s, m.spec)
	case mCreateActor:
		n.createActorReplyLocked(s, m.req, m.spec) // names.go: reserves a name first
	case mGet:
		n.getLocked(s, m.req, m.ids, m.flag, m.n == 1)
	case mUnsub:
		if sub, ok := s.subs[m.req]; ok {
			n.unsubLocked(s, m.req, sub.ids)
		}
	case mAddRef:
		for _, id := range m.ids {
			if _, ok := n.objects[id]; ok || n.countForeignLocked(id) { // borrow.go
				n.refs.AddLocal(id, s.holder)
			}
		}
		n.borrowLocked(m.ids)
	case mDelRef:
		for _, id := range m.ids {
			n.freeLocked(n.refs.RemoveLocal(id, s.holder))
		}
	case mCancel:
		n.cancelLocked(m.oid, m.flag)
		s.send(&msg{t: mReply, req: m.req})
	case mKill:
		a := n.actors[m.tid]
		if a == nil {
			notFound := &ErrorInfo{Kind: ErrKindActorNotFound, Message: "no actor " + m.tid.String()}
			if n.hooks == nil || s.forwarded {
				s.send(&msg{t: mReply, req: m.req, err: notFound})
				return
			}
			// A handle from elsewhere: kill the actor where it lives.
			req, id, noRestart, hooks := m.req, m.tid, m.flag, n.hooks
			hooks.LocateActor(context.Background(), id, func(node string, err error) {
				if err != nil {
					s.send(&msg{t: mReply, req: req, err: notFound})
					return
				}
				hooks.KillActor(context.Background(), node, id, noRestart)
				s.send(&msg{t: mReply, req: req})
			})
			return
		}
		n.killActorLocked(a, m.flag, "Kill called")
		s.send(&msg{t: mReply, req: m.req})
	case mGetActor:
		id, ok := n.named[m.str]
		a := n.actors[id]
		if !ok || a == nil || a.state == aDead {
			notFound := &ErrorInfo{Kind: ErrKindActorNotFound, Message: fmt.Sprintf("no actor named %q", m.str)}
			if n.hooks == nil || s.forwarded {
				s.send(&msg{t: mReply, req: m.req, err: notFound})
				return
			}
			// Another node may hold it: its calls then go through a proxy.
			req, name := m.req, m.str
			n.hooks.LocateNamedActor(context.Background(), name, func(_ string, id ActorID, class string, err error) {
				if err != nil {
					s.send(&msg{t: mReply, req: req, err: notFound})
					return
				}
				s.send(&msg{t: mReply, req: req, tid: id, str: class})
			})
			return
		}
		s.send(&msg{t: mReply, req: m.req, tid: id, str: a.spec.Func})
	case mResources:
		total, avail := maps.Clone(map[string]float64(n.total)), maps.Clone(n.avail)
		if m.n == resourcesCluster && n.hooks != nil {
			// The whole cluster: this node plus every live peer, as each
			// peer last broadcast it (at most about a second stale).
			for _, p := range n.hooks.Peers() {
				if !p.Alive {
					continue
				}
				for k, v := range p.Total {
					total[k] += v
				}
				for k, v := range p.Available {
					avail[k] += v
				}
			}
		}
		s.send(&msg{t: mReply, req: m.req, res: total, res2: avail})
	case mPGCreate:
		id, e := n.createPGLocked(m.bundles, PGStrategy(m.n), m.str)
		s.send(&msg{t: mReply, req: m.req, str: id, err: e})
	case mPGReady:
		n.pgReadyLocked(s, m.req, m.str)
	case mPGRemove:
		e := n.removePGLocked(m.str)
		s.send(&msg{t: mReply, req: m.req, err: e})
	case mBlocked:
		if s.worker != nil {
			n.blockedLocked(s.worker, m.tids)
		}
	case mUnblocked:
		if s.worker != nil {
			n.unblockedLocked(s.worker)
		}
	case mReturned:
		if s.worker != nil {
			n.returnedLocked(s.worker, m.tids)
		}
	default:
		n.log.Warn("unexpected message", "type", m.t)
	}
}

// pgState is a placement group's readiness and its waiters.
type pgWaiter struct {
	s   *session
	req uint64
}

var pgStrategies = map[PGStrategy]task.PGStrategy{
	PGPack: task.Pack, PGSpread: task.Spread, PGStrictPack: task.StrictPack, PGStrictSpread: task.StrictSpread,
}

func (n *Node) createPGLocked(bundles []map[string]float64, st PGStrategy, name string) (string, *ErrorInfo) {
	n.nextPG++
	id := fmt.Sprintf("pg-%s-%d", n.id[:8], n.nextPG)
	bs := make([]task.Resources, len(bundles))
	for i, b := range bundles {
		bs[i] = task.Resources(b)
	}
	ts, ok := pgStrategies[st]
	if !ok {
		return "", &ErrorInfo{Kind: ErrKindSystem, Message: fmt.Sprintf("placement group %q: unknown strategy %d", name, st)}
	}
	if err := n.pgs.Add(id, bs, ts); err != nil {
		return "", &ErrorInfo{Kind: ErrKindSystem, Message: fmt.Sprintf("placement group %q: %v", name, err)}
	}
	n.pgWait[id] = nil
	n.waitingPGs++
	if e := n.tryPlacePGLocked(id); e != nil {
		n.waitingPGs--
		_, _ = n.pgs.Remove(id)
		delete(n.pgWait, id)
		return "", e
	}
	return id, nil
}

func (n *Node) nodeViewLocked() []task.NodeView {
	avail := task.Resources(maps.Clone(n.avail))
	return []task.NodeView{{ID: n.id, Total: n.total, Available: avail, Alive: true}}
}

// tryPlacePGLocked commits the group if it fits now.
func (n *Node) tryPlacePGLocked(id string) *ErrorInfo {
	if !n.pgPlacingLocked(id) {
		return nil
	}
	if n.hooks != nil && n.tryPlacePGClusterLocked(id) {
		return nil
	}
	assign, outcome, reason := n.pgs.Place(id, n.nodeViewLocked())
	switch outcome {
	case task.Infeasible:
		return &ErrorInfo{Kind: ErrKindInfeasible, Message: "placement group infeasible: " + reason}
	case task.Schedule:
		local := n.pgLocal[id]
		for i := range local {
			if b, err := n.pgs.Bundle(id, i); err == nil && b.Node == "" {
				local[i] = bundleRef{pg: id, idx: i} // re-placed here
			}
		}
		reserve, err := n.pgs.Commit(id, assign)
		if err != nil {
			return &ErrorInfo{Kind: ErrKindSystem, Message: err.Error()}
		}
		addRes(n.avail, reserve[n.id], -1)
		n.waitingPGs--
		for _, w := range n.pgWait[id] {
			w.s.send(&msg{t: mReply, req: w.req})
		}
		n.pgWait[id] = nil
		n.unparkPGTasksLocked(id, false)
	}
	return nil
}

func (n *Node) placePendingPGsLocked() {
	for _, id := range n.pgs.Pending() {
		_ = n.tryPlacePGLocked(id)
	}
}

func (n *Node) pgReadyLocked(s *session, req uint64, id string) {
	st, ok := n.pgs.State(id)
	if !ok {
		s.send(&msg{t: mReply, req: req, err: &ErrorInfo{Kind: ErrKindSystem, Message: "no placement group " + id}})
		return
	}
	if st == task.PGPending {
		n.pgWait[id] = append(n.pgWait[id], pgWaiter{s, req})
		return
	}
	s.send(&msg{t: mReply, req: req})
}

func (n *Node) removePGLocked(id string) *ErrorInfo {
	if _, ok := n.pgs.State(id); ok {
		n.killPGWorkLocked(id) // pg_remove.go
	}
	if n.pgPlacingLocked(id) {
		n.waitingPGs--
	}
	n.releaseRemoteBundlesLocked(id)
	release, err := n.pgs.Remove(id)
	if err != nil {
		return &ErrorInfo{Kind: ErrKindSystem, Message: err.Error()}
	}
	addRes(n.avail, release[n.id], 1)
	for _, w := range n.pgWait[id] {
		w.s.send(&msg{t: mReply, req: w.req, err: &ErrorInfo{Kind: ErrKindSystem, Message: "placement group removed"}})
	}
	delete(n.pgWait, id)
	n.unparkPGTasksLocked(id, true)
	n.scheduleLocked()
	return nil
}
