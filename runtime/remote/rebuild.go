package remote

import (
	"context"
	"encoding/binary"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
)

// Fetching an object that is being rebuilt. A node that fetches an object
// whose only copy was on a node that just died may ask before the object's
// owner has learned of the death: every peer then says it does not have
// it, yet the owner will rebuild it from its lineage moments later. So a
// fetch that finds no copy asks the owner (the live node whose prefix the
// ID carries) to make the object available (kindRebuild): the owner gets
// it as its own Get would, pulling it from a node that keeps it or
// rebuilding it, and answers once it has it, or why it cannot. The fetch
// then takes the owner's copy. The owner waits at most the fetching node's
// inactivity limit, which the request carries, so a rebuild that makes no
// progress fails the fetch as a silent peer would.

// kindRebuild asks the owner of an object that no peer has to make it
// available: the 20-byte object ID, then the asker's inactivity limit in
// milliseconds (8 bytes, little-endian). The reply (kindRebuild+"/reply",
// as cluster.Caller expects: a 0 byte, then the answer) is one status
// byte (rebuildUnknown, rebuildReady or rebuildFailed), the last followed
// by the failure (grt.EncodeResults).
const kindRebuild = "rt.rebuild/v1"

const (
	// rebuildUnknown: the owner has no entry for the object it could make
	// available (freed, or not its own).
	rebuildUnknown byte = iota
	// rebuildReady: the owner has the object now and serves it.
	rebuildReady
	// rebuildFailed: it could not be made available; the failure follows.
	rebuildFailed
)

// rebuildSlack is how much longer than the owner's wait the asker waits
// for the answer, so that the owner's answer, not the asker's timeout,
// says why.
const rebuildSlack = 5 * time.Second

// askOwnerWhenLost wraps done, the end of a fetch of id, so that a fetch
// that found no copy asks id's owner before failing. Objects of this
// node, or of no live peer, fail as before.
func (e *Engine) askOwnerWhenLost(ctx context.Context, id grt.ObjectID, done func(*grt.Fetched, *grt.ErrorInfo)) func(*grt.Fetched, *grt.ErrorInfo) {
	owner, ok := e.OwnerNode(id)
	if !ok {
		return done
	}
	return func(f *grt.Fetched, ei *grt.ErrorInfo) {
		if ei == nil || ei.Kind != grt.ErrKindObjectLost {
			done(f, ei)
			return
		}
		go e.askOwner(ctx, owner, id, ei, done)
	}
}

// askOwner asks owner to make id available and, once it has it, fetches
// its copy; lost is the failure to report when the owner cannot help.
func (e *Engine) askOwner(ctx context.Context, owner string, id grt.ObjectID, lost *grt.ErrorInfo, done func(*grt.Fetched, *grt.ErrorInfo)) {
	limit := e.fetchIdleLimit()
	payload := binary.LittleEndian.AppendUint64(append([]byte(nil), id[:]...), uint64(limit.Milliseconds()))
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit+rebuildSlack)
	reply, err := e.lin.rebuild.Call(cctx, owner, payload)
	cancel()
	switch {
	case err != nil:
		// The owner is gone or going: fetchObjectLocked tells a dead
		// owner from a lost object.
		e.log.Debug("cannot ask the owner of a lost object", "object", id, "owner", owner, "err", err)
		done(nil, lost)
	case len(reply) == 0:
		done(nil, lost)
	case reply[0] == rebuildReady:
		e.log.Debug("fetching an object from its owner, which had to get it again", "object", id, "owner", owner)
		e.fetchFrom(ctx, owner, id, false, done)
	case reply[0] == rebuildFailed:
		_, ei, derr := grt.DecodeResults(reply[1:])
		if derr != nil || ei == nil {
			done(nil, lost)
			return
		}
		ei.ObjectID = id
		done(nil, ei)
	default:
		done(nil, lost)
	}
}

// onRebuild answers a peer that found no copy of an object this node
// owns, once this node has it (or cannot get it). It waits off the
// stream's goroutine, which must keep reading the peer's other frames.
func (e *Engine) onRebuild(_ context.Context, f cluster.Frame) {
	var id grt.ObjectID
	if len(f.Payload) != len(id)+8 {
		e.log.Warn("bad rebuild request", "from", f.From, "bytes", len(f.Payload))
		return
	}
	copy(id[:], f.Payload)
	limit := time.Duration(binary.LittleEndian.Uint64(f.Payload[len(id):])) * time.Millisecond
	limit = min(max(limit, time.Second), fetchTimeout)
	from, rid := f.From, f.ID
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		known, ei := e.node.AwaitObject(ctx, id)
		cancel()
		out := []byte{0, rebuildUnknown}
		switch {
		case known && ei == nil:
			out[1] = rebuildReady
		case known:
			out[1] = rebuildFailed
			out = append(out, grt.EncodeResults(nil, ei)...)
		}
		if err := e.tr.Send(context.Background(), from, cluster.Frame{Kind: kindRebuild + "/reply", ID: rid, Last: true, Payload: out}); err != nil {
			e.log.Debug("cannot answer a rebuild request", "to", from, "err", err)
		}
	}()
}
