package runtime

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/goray/goray/runtime/objectstore"
)

// Objects across nodes.
//
// A task's arguments travel with it (ClusterHooks.Forward inlines them),
// but a ref nested in a value, or passed along by a task that ran
// elsewhere, can name an object this node has never seen. When a task
// argument or a Get names such an object, the node records a placeholder
// and asks its peers for it (ClusterHooks.FetchObject); the node that has
// it streams it back in chunks, and the copy becomes an ordinary object
// here (inline or in the store), which is what wakes the waiters. The
// serving node remembers where it sent copies (ObjectCopies).
//
// A fetched copy is a cache: the fetch holds it for fetchedLinger after it
// arrived (long enough for the waiting reader to map it), then it lives as
// long as local references to it, and a later reader fetches it again.

// fetchHolder holds objects while they are fetched from a peer.
const fetchHolder = objectstore.HolderID("fetch")

// fetchedLinger is how long a fetched copy outlives its fetch.
const fetchedLinger = 2 * time.Second

// Fetched is the destination of an object arriving from a peer: a file
// in the store for a large object (so that the bytes are copied once,
// from the socket into the object's file), a plain buffer otherwise.
// The hooks fill it completely (Write, ReadFrom, or Buf where it is not
// nil) and hand it to FetchObject's done.
type Fetched struct {
	// Buf is the object's memory when it is one: always for a small
	// object, for a large one only from FetchBuffer. FetchDest's large
	// destinations are files, filled with Write or ReadFrom.
	Buf []byte
	// From is the peer whose copy filled it ("" when unknown): the refs
	// nested in it that the peer holds in flight for this node are
	// released to it (borrow.go).
	From string
	w    *objectstore.Writer
	in   *objectstore.Ingest
	off  int64 // bytes written into Buf by Write and ReadFrom
	size int64
}

// Abort discards a destination that will not be handed over.
func (f *Fetched) Abort() {
	if f == nil {
		return
	}
	if f.w != nil {
		f.w.Abort()
	}
	if f.in != nil {
		f.in.Abort()
	}
}

// Size is the object's length in bytes.
func (f *Fetched) Size() int64 { return f.size }

// Remaining is how many bytes Write and ReadFrom still expect.
func (f *Fetched) Remaining() int64 {
	if f.in != nil {
		return f.in.Remaining()
	}
	return f.size - f.off
}

// Write appends p to the object; writing past its size is an error.
func (f *Fetched) Write(p []byte) (int, error) {
	if f.in != nil {
		return f.in.Write(p)
	}
	if int64(len(p)) > f.size-f.off {
		return 0, fmt.Errorf("runtime: fetched object: %d bytes at offset %d exceed its %d", len(p), f.off, f.size)
	}
	n := copy(f.Buf[f.off:], p)
	f.off += int64(n)
	return n, nil
}

// ReadFrom fills the rest of the object from r and reads nothing past
// it; an *io.LimitedReader that ends sooner fills only its part. A store
// file takes an *io.LimitedReader over a TCP connection by splice(2),
// without the bytes passing through this process.
func (f *Fetched) ReadFrom(r io.Reader) (int64, error) {
	if f.in != nil {
		return f.in.ReadFrom(r)
	}
	dst := f.Buf[f.off:f.size]
	if lr, ok := r.(*io.LimitedReader); ok && lr.N < int64(len(dst)) {
		dst = dst[:max(lr.N, 0)] // a piece of the object, as one chunk delivers it
	}
	n, err := io.ReadFull(r, dst)
	f.off += int64(n)
	if err != nil {
		return int64(n), fmt.Errorf("runtime: fetched object: %w", err)
	}
	return int64(n), nil
}

// inStore reports whether the object goes into the store (and must be
// sealed there).
func (f *Fetched) inStore() bool { return f.w != nil || f.in != nil }

// seal publishes a store destination.
func (f *Fetched) seal() error {
	if f.in != nil {
		return f.in.Seal()
	}
	return f.w.Seal()
}

// FetchBuffer returns a destination for object id of size bytes whose
// Buf is its memory (mapped from the store for a large object), for
// callers that fill it in place. FetchDest is cheaper for bytes that
// arrive front to back.
func (n *Node) FetchBuffer(id ObjectID, size int64) (*Fetched, error) {
	if !n.isLarge(int(size)) {
		return &Fetched{Buf: make([]byte, size), size: size}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeWriteTimeout)
	defer cancel()
	w, err := n.store.Create(ctx, id, size)
	if err != nil {
		return nil, fmt.Errorf("runtime: store fetched object %s: %w", id, err)
	}
	return &Fetched{Buf: w.Bytes(), w: w, size: size}, nil
}

// FetchDest returns a destination for object id of size bytes that is
// filled front to back with Write or ReadFrom: for a large object a new
// file in the store, written without first allocating, zeroing and
// mapping its memory (objectstore.Ingest), which on tmpfs costs more
// than the network copy.
func (n *Node) FetchDest(id ObjectID, size int64) (*Fetched, error) {
	if !n.isLarge(int(size)) {
		return &Fetched{Buf: make([]byte, size), size: size}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeWriteTimeout)
	defer cancel()
	in, err := n.store.CreateIngest(ctx, id, size)
	if err != nil {
		return nil, fmt.Errorf("runtime: store fetched object %s: %w", id, err)
	}
	return &Fetched{in: in, size: size}, nil
}

// remoteObjectLocked starts fetching id from the peers and returns its
// placeholder, or nil on a node without peers.
func (n *Node) remoteObjectLocked(id ObjectID) *object {
	if n.hooks == nil || n.stopped {
		return nil
	}
	o := &object{fetching: true}
	n.objects[id] = o
	n.refs.AddLocal(id, fetchHolder)
	n.fetchObjectLocked(id, func(f *Fetched, e *ErrorInfo) { // lineage.go: a dead owner fails it at once
		stored := false
		if e == nil && f.inStore() {
			if err := f.seal(); err != nil {
				e = &ErrorInfo{Kind: ErrKindSystem, Message: err.Error()}
			} else {
				stored = true
			}
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.objects[id] != o || o.ready {
			if stored {
				_ = n.store.Delete(id)
			}
			return
		}
		o.fetching = false
		switch {
		case e != nil:
			o.err = e
		case stored:
			o.inStore, o.size = true, f.Size()
		default:
			o.data, o.size = f.Buf, f.Size()
		}
		n.readyLocked(id, o)
		time.AfterFunc(fetchedLinger, func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			if !n.stopped {
				n.freeLocked(n.refs.RemoveLocal(id, fetchHolder))
			}
		})
	})
	return o
}

// ServeObject sends object id to peer if this node has it, waiting for it
// if it is still being computed: done gets its bytes (a store object's
// mapped file, pinned until release is called; release may be nil) or its
// error, once, from another goroutine. It reports false if the node does
// not have it (or is itself fetching it, so that nodes never ask each
// other in a circle).
func (n *Node) ServeObject(peer string, id ObjectID, done func(data []byte, release func(), e *ErrorInfo)) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	o := n.objects[id]
	if n.stopped || o == nil || o.fetching {
		return false
	}
	if !slices.Contains(o.copies, peer) {
		o.copies = append(o.copies, peer)
	}
	s := n.newSessionLocked()
	s.sameHost = true // a store object's reply names its file: it is pinned and sent from the mapping
	answered := false
	s.sink = func(m *msg) {
		if m.t != mObject || m.n != 0 || answered {
			return
		}
		answered = true
		go func() {
			n.mu.Lock()
			s.closed = true
			delete(n.sessions, s)
			n.mu.Unlock()
			if m.err != nil || m.str == "" {
				if m.err == nil {
					n.holdServedRefs(peer, id, m.data) // borrow.go
				}
				done(m.data, nil, m.err)
				return
			}
			obj, err := n.store.Get(context.Background(), id)
			if err != nil {
				done(nil, nil, lostInfo(id, err.Error()))
				return
			}
			n.holdServedRefs(peer, id, obj.Bytes()) // borrow.go: until peer counted them
			done(obj.Bytes(), obj.Release, nil)
		}()
	}
	n.getLocked(s, 1, []ObjectID{id}, true, false)
	return true
}

// ObjectCopies lists the peers this node sent copies of object id to.
func (n *Node) ObjectCopies(id ObjectID) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if o := n.objects[id]; o != nil {
		return slices.Clone(o.copies)
	}
	return nil
}
