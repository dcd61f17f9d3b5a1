package remote

import (
	"context"
	"fmt"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
)

// Borrowed references across nodes (runtime/borrow.go has the node's
// side): a node that counts a ref to an object another node owns
// registers with the owner (kindBorrow, a request/reply, so that the
// in-flight holds of the ref's sender are released only after the owner
// recorded the borrow), and tells it when its own count reached zero
// (kindUnborrow). The same frame releases a sender's in-flight holds. Both
// go through one ordered outbox per peer ("borrow:"+node), separate from
// the task outbox so that a registration's round trip never delays a
// forwarded task, and ordered among themselves so that a release never
// overtakes the registration it ends.

const (
	// kindBorrow registers the sender as a borrower of the concatenated
	// 20-byte object IDs; the empty reply says the owner recorded it.
	kindBorrow = "rt.borrow/v1"
	// kindUnborrow ends borrows: one flag byte (1: in-flight holds, 0:
	// borrows), then the concatenated 20-byte object IDs.
	kindUnborrow = "rt.unborrow/v1"
)

// borrowTimeout bounds a registration; an owner that does not answer is
// dead or going, and its objects fail with it.
const borrowTimeout = 10 * time.Second

func (e *Engine) startBorrow() {
	e.bor = cluster.NewCaller(e.tr, kindBorrow)
	e.cancels = append(e.cancels, e.bor.Close,
		cluster.Serve(e.tr, kindBorrow, e.onBorrow),
		e.tr.Subscribe(kindUnborrow, e.onUnborrow))
}

func encodeIDs(dst []byte, ids []grt.ObjectID) []byte {
	for _, id := range ids {
		dst = append(dst, id[:]...)
	}
	return dst
}

func decodeIDs(p []byte) ([]grt.ObjectID, error) {
	var id grt.ObjectID
	if len(p)%len(id) != 0 {
		return nil, fmt.Errorf("%w: %d bytes of object IDs", grt.ErrProtocol, len(p))
	}
	ids := make([]grt.ObjectID, 0, len(p)/len(id))
	for ; len(p) > 0; p = p[len(id):] {
		copy(id[:], p)
		ids = append(ids, id)
	}
	return ids, nil
}

// OwnerNode implements grt.BorrowHooks: the live peer whose prefix id
// carries.
func (e *Engine) OwnerNode(id grt.ObjectID) (string, bool) {
	p := grt.OwnerPrefix(id)
	self := e.mem.LocalID()
	for _, m := range e.mem.Members() {
		if m.ID == self || (m.Status != cluster.StatusAlive && m.Status != cluster.StatusSuspect) {
			continue
		}
		if e.nodePrefix(m.ID) == p {
			return m.ID, true
		}
	}
	return "", false
}

// nodePrefix is grt.NodePrefix, remembered per member: OwnerNode runs
// for every ref counted (under the node's lock), and a SHA-256 per member
// per ref would make that cost grow with the cluster.
func (e *Engine) nodePrefix(id string) [4]byte {
	if p, ok := e.prefixes.Load(id); ok {
		return p.([4]byte)
	}
	p := grt.NodePrefix(id)
	e.prefixes.Store(id, p)
	return p
}

// Borrow implements grt.BorrowHooks.
func (e *Engine) Borrow(owner string, ids []grt.ObjectID, done func(error)) {
	payload := encodeIDs(nil, ids)
	e.send("borrow:"+owner, func() {
		ctx, cancel := context.WithTimeout(context.Background(), borrowTimeout)
		_, err := e.bor.Call(ctx, owner, payload)
		cancel()
		if err != nil {
			err = fmt.Errorf("register borrows at node %s: %w", owner, err)
		}
		done(err)
	})
}

// Unborrow implements grt.BorrowHooks.
func (e *Engine) Unborrow(node string, ids []grt.ObjectID, inflight bool) {
	flag := byte(0)
	if inflight {
		flag = 1
	}
	payload := encodeIDs([]byte{flag}, ids)
	e.send("borrow:"+node, func() {
		if err := e.tr.Send(context.Background(), node, cluster.Frame{Kind: kindUnborrow, Last: true, Payload: payload}); err != nil {
			// The node is gone or going: what it held for this one goes
			// with it, or when it hears that this one is gone.
			e.log.Debug("cannot end borrows", "node", node, "err", err)
		}
	})
}

func (e *Engine) onBorrow(_ context.Context, from string, payload []byte) ([]byte, error) {
	ids, err := decodeIDs(payload)
	if err != nil {
		return nil, err
	}
	e.node.AddBorrower(from, ids)
	return nil, nil
}

func (e *Engine) onUnborrow(_ context.Context, f cluster.Frame) {
	if len(f.Payload) == 0 {
		e.log.Warn("bad unborrow frame", "from", f.From)
		return
	}
	ids, err := decodeIDs(f.Payload[1:])
	if err != nil {
		e.log.Warn("bad unborrow frame", "from", f.From, "err", err)
		return
	}
	e.node.Unborrowed(f.From, ids, f.Payload[0] == 1)
}

var _ grt.BorrowHooks = (*Engine)(nil)
