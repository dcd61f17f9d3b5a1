package remote

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
)

// Object transfer between daemons.
//
// A node that needs an object it has never seen asks every live peer at
// once (kindObjGet); peers without it say so (kindObjNo), and the one that
// has it streams it back over the bulk lane as sendPayload frames: chunk 0
// carries the size, chunks 1.. at most cluster.ChunkSize (5 MiB, Ray's
// chunk size) bytes each, sent from the serving node's store mapping with
// one write per chunk. The first peer whose size frame arrives is the
// source; frames of any other are skipped.
//
// Memory in flight is bounded without any buffer of our own: the sender
// hands each chunk to the kernel before cutting the next (SendBulk blocks
// while the socket's send buffer is full), and the receiver takes each
// chunk's bytes straight off the connection into the object's file in its
// store (cluster.StreamHandler, objectstore.Ingest; on a plain TCP lane by
// splice(2)). So per peer at most the two sockets' kernel buffers (fixed
// by cluster's bulkSocketBuffer: about 16 MiB in all) plus the one chunk
// being written are in flight, whatever the object's size, and neither
// side allocates a chunk-sized buffer.

// objFetch is one FetchObject waiting for its peers' answers.
type objFetch struct {
	id        grt.ObjectID
	remaining int    // peers that have not answered
	source    string // the peer whose copy is being received ("" until one starts)
	done      func(*grt.Fetched, *grt.ErrorInfo)

	// For the inactivity limit (watchFetch): peer is the one node asked
	// ("" when all were), last when the fetch last made progress, size
	// the announced size and received the bytes written so far.
	peer           string
	last           time.Time
	size, received int64
}

// stalled says why a fetch that made no progress for limit fails.
func (f *objFetch) stalled(limit time.Duration) string {
	switch {
	case f.source != "":
		return fmt.Sprintf("object %s: no data from node %s for %v after %d of %d bytes", f.id, f.source, limit, f.received, f.size)
	case f.peer != "":
		return fmt.Sprintf("object %s: node %s did not answer within %v", f.id, f.peer, limit)
	default:
		return fmt.Sprintf("object %s: no peer answered within %v", f.id, limit)
	}
}

// objRecv is an object arriving in chunks, written straight into its
// destination (a store file for a large object).
type objRecv struct {
	// mu orders the lane's writes with an abort from a fetch that timed
	// out meanwhile.
	mu      sync.Mutex
	f       *grt.Fetched
	err     *grt.ErrorInfo // the destination failed: skip the rest of the chunks
	aborted bool
}

// abort discards the destination once; later chunks are skipped.
func (r *objRecv) abort() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.aborted {
		r.aborted = true
		r.f.Abort()
	}
}

// fetchTimeout is the default inactivity limit of a fetch: it fails when
// its peers do not all answer (one died) or its source stops sending for
// this long. It is not a bound on the whole transfer, which for a large
// object on a slow link may take much longer as long as chunks keep coming.
const fetchTimeout = 2 * time.Minute

// fetchIdleLimit is the engine's inactivity limit for fetches.
func (e *Engine) fetchIdleLimit() time.Duration {
	if e.fetchIdle > 0 {
		return e.fetchIdle
	}
	return fetchTimeout
}

// watchFetch fails fetch rid once it has made no progress (no answer, no
// size frame, no chunk) for the inactivity limit. The timer is not reset
// per chunk: each firing looks at when the fetch last moved and, if that
// was recent, sleeps until the limit would pass since then, so a steady
// transfer costs one timer per limit, not one per chunk.
func (e *Engine) watchFetch(rid uint64) {
	limit := e.fetchIdleLimit()
	var check func()
	check = func() {
		e.mu.Lock()
		f := e.objWait[rid]
		if f == nil {
			e.mu.Unlock()
			return
		}
		if idle := time.Since(f.last); idle < limit {
			e.mu.Unlock()
			time.AfterFunc(limit-idle, check)
			return
		}
		delete(e.objWait, rid)
		why := f.stalled(limit)
		e.mu.Unlock()
		e.dropRecv(rid)
		e.log.Warn("object fetch stalled", "object", f.id, "source", f.source, "received", f.received, "size", f.size)
		f.done(nil, lostObject(f.id, why))
	}
	time.AfterFunc(limit, check)
}

// fetchProgress records that fetch rid's source sent n more bytes.
func (e *Engine) fetchProgress(rid uint64, from string, n int64) {
	e.mu.Lock()
	if f := e.objWait[rid]; f != nil && f.source == from {
		f.last = time.Now()
		f.received += n
	}
	e.mu.Unlock()
}

// subscribeObjects takes object chunks with their payload unread where
// the transport can (cluster.StreamSubscriber), else as frames.
func (e *Engine) subscribeObjects() (cancel func()) {
	if s, ok := e.tr.(cluster.StreamSubscriber); ok {
		return s.SubscribeStream(kindObj, e.onObjChunk)
	}
	return e.tr.Subscribe(kindObj, func(ctx context.Context, f cluster.Frame) {
		e.onObjChunk(ctx, f, cluster.NewBody(f.Payload))
	})
}

// FetchObject implements grt.ClusterHooks: it asks every live peer at
// once; the one that has the object streams it back (in chunks, over the
// bulk lane, from its store's mapping into our store's file), the others
// say no.
func (e *Engine) FetchObject(ctx context.Context, id grt.ObjectID, done func(*grt.Fetched, *grt.ErrorInfo)) {
	done = e.askOwnerWhenLost(ctx, id, done) // rebuild.go: the owner may be rebuilding it
	peers := e.livePeers()
	if len(peers) == 0 {
		go done(nil, lostObject(id, "no peer to fetch it from"))
		return
	}
	rid := e.nextID.Add(1)
	e.mu.Lock()
	e.objWait[rid] = &objFetch{id: id, remaining: len(peers), done: done, last: time.Now(), size: -1}
	e.mu.Unlock()
	e.watchFetch(rid)
	for _, p := range peers {
		go func() {
			err := e.tr.Send(context.WithoutCancel(ctx), p, cluster.Frame{Kind: kindObjGet, ID: rid, Last: true, Payload: id[:]})
			if err != nil {
				e.objNotHere(rid)
			}
		}()
	}
}

func lostObject(id grt.ObjectID, why string) *grt.ErrorInfo {
	return &grt.ErrorInfo{Kind: grt.ErrKindObjectLost, ObjectID: id, Message: why}
}

func (e *Engine) takeFetch(rid uint64) *objFetch {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.objWait[rid]
	delete(e.objWait, rid)
	return f
}

// dropRecv aborts a partly received object of a fetch that ended.
func (e *Engine) dropRecv(rid uint64) {
	e.mu.Lock()
	var drop []*objRecv
	for k, r := range e.objRecv {
		if k.id == rid {
			drop = append(drop, r)
			delete(e.objRecv, k)
		}
	}
	e.mu.Unlock()
	for _, r := range drop {
		r.abort()
	}
}

// objNotHere records a peer's "not here"; the last one fails the fetch.
func (e *Engine) objNotHere(rid uint64) {
	e.mu.Lock()
	f := e.objWait[rid]
	if f == nil {
		e.mu.Unlock()
		return
	}
	if f.remaining--; f.remaining > 0 {
		e.mu.Unlock()
		return
	}
	delete(e.objWait, rid)
	e.mu.Unlock()
	f.done(nil, lostObject(f.id, "no node has the object"))
}

// onObjGet serves a peer's fetch: the object's bytes go out from this
// node's mapping, pinned until sent.
func (e *Engine) onObjGet(_ context.Context, f cluster.Frame) {
	var id grt.ObjectID
	if len(f.Payload) != len(id) {
		return
	}
	copy(id[:], f.Payload)
	from, rid := f.From, f.ID
	served := e.node.ServeObject(from, id, func(data []byte, release func(), ei *grt.ErrorInfo) {
		var err error
		if ei != nil {
			err = e.sendPayload(context.Background(), from, kindObjErr, rid, grt.EncodeResults(nil, ei))
		} else {
			err = e.sendPayload(context.Background(), from, kindObj, rid, data)
			if err == nil {
				e.sentObjs.Add(1)
				e.sentBytes.Add(int64(len(data)))
			}
		}
		if release != nil {
			release()
		}
		if err != nil {
			e.log.Warn("cannot send an object", "to", from, "err", err)
		}
	})
	if !served {
		go func() {
			_ = e.tr.Send(context.Background(), from, cluster.Frame{Kind: kindObjNo, ID: rid, Last: true})
		}()
	}
}

// onObjChunk writes an arriving object into its destination as its bytes
// come off the connection. It runs on the lane's reader, so a chunk is in
// the object's file before the next one is read.
func (e *Engine) onObjChunk(_ context.Context, fr cluster.Frame, body *cluster.Body) {
	k := chunkKey{fr.From, fr.Kind, fr.ID}
	if fr.Chunk == 0 {
		var hdr [8]byte
		if body.Len() != int64(len(hdr)) {
			return
		}
		if _, err := io.ReadFull(body, hdr[:]); err != nil {
			return
		}
		size := binary.LittleEndian.Uint64(hdr[:])
		e.mu.Lock()
		w := e.objWait[fr.ID]
		if w == nil || size > maxPayload || (w.source != "" && w.source != fr.From) {
			// Unknown, absurd, or a second copy: its chunks find no
			// objRecv and are skipped.
			e.mu.Unlock()
			return
		}
		w.source = fr.From
		w.size = int64(size)
		w.last = time.Now()
		id := w.id
		e.mu.Unlock()
		r := &objRecv{}
		f, err := e.node.FetchDest(id, int64(size))
		if err != nil {
			r.err = &grt.ErrorInfo{Kind: grt.ErrKindSystem, ObjectID: id, Message: err.Error()}
		}
		r.f = f
		if fr.Last {
			if r.err == nil && r.f.Remaining() != 0 {
				r.err = &grt.ErrorInfo{Kind: grt.ErrKindSystem, Message: "object shorter than announced"}
			}
			e.objDone(fr.ID, r)
			return
		}
		e.mu.Lock()
		e.objRecv[k] = r
		e.mu.Unlock()
		return
	}
	e.mu.Lock()
	r := e.objRecv[k]
	if fr.Last {
		delete(e.objRecv, k)
	}
	e.mu.Unlock()
	if r == nil {
		return
	}
	n := body.Len()
	r.mu.Lock()
	if r.err == nil && !r.aborted {
		if body.Len() > r.f.Remaining() {
			r.err = &grt.ErrorInfo{Kind: grt.ErrKindSystem, Message: "object larger than announced"}
		} else if _, err := body.WriteTo(r.f); err != nil {
			r.err = &grt.ErrorInfo{Kind: grt.ErrKindSystem, Message: fmt.Sprintf("receive object: %v", err)}
		}
	}
	// The last chunk's verdict is taken under r.mu too: an abort (a
	// timeout, the source's death) may come from another goroutine at any
	// moment, and an aborted destination must never be handed on as the
	// object.
	if fr.Last && r.err == nil {
		switch {
		case r.aborted:
			r.err = &grt.ErrorInfo{Kind: grt.ErrKindObjectLost, Message: "the transfer was aborted"}
		case r.f.Remaining() != 0:
			r.err = &grt.ErrorInfo{Kind: grt.ErrKindSystem, Message: "object shorter than announced"}
		}
	}
	r.mu.Unlock()
	e.fetchProgress(fr.ID, fr.From, n)
	if fr.Last {
		e.objDone(fr.ID, r)
	}
}

// objDone hands a received object (or its failure) to its fetch.
func (e *Engine) objDone(rid uint64, r *objRecv) {
	f := e.takeFetch(rid)
	if f == nil || r.err != nil {
		r.abort()
		if f != nil {
			r.err.ObjectID = f.id
			f.done(nil, r.err)
		}
		return
	}
	e.recvObjs.Add(1)
	e.recvBytes.Add(r.f.Size())
	r.f.From = f.source
	f.done(r.f, nil)
}

func (e *Engine) onObjErr(_ string, rid uint64, payload []byte) {
	f := e.takeFetch(rid)
	if f == nil {
		return
	}
	e.dropRecv(rid)
	_, ei, err := grt.DecodeResults(payload)
	if err != nil || ei == nil {
		ei = &grt.ErrorInfo{Kind: grt.ErrKindSystem, ObjectID: f.id, Message: fmt.Sprintf("bad object error reply: %v", err)}
	}
	f.done(nil, ei)
}

// TransferStats counts the objects (and their bytes) this node served to
// peers and received from them since it started.
type TransferStats struct {
	Sent, SentBytes, Received, ReceivedBytes int64
}

// Transfers returns the object transfer counts so far.
func (e *Engine) Transfers() TransferStats {
	return TransferStats{Sent: e.sentObjs.Load(), SentBytes: e.sentBytes.Load(),
		Received: e.recvObjs.Load(), ReceivedBytes: e.recvBytes.Load()}
}
