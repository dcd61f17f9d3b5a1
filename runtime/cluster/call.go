package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// ErrRemote wraps an error string returned by a remote Serve handler.
var ErrRemote = errors.New("cluster: remote error")

// Caller adds request/response on top of a Transport's one-way frames: a
// request is a frame of kind K with a fresh ID, its reply a frame of kind
// K+"/reply" with the same ID. The engine can use it for queries and acks;
// streams of work should stay one-way frames.
//
// Reply payloads start with one status byte (0 ok, 1 error text follows).
type Caller struct {
	t    Transport
	kind string
	next atomic.Uint64

	mu      sync.Mutex
	waiting map[uint64]pendingCall
	cancel  func()
}

// pendingCall is a call waiting for its reply. IDs are this Caller's own
// counter, so a reply is matched on the node it was sent to as well: a frame
// from any other node that happens to carry the ID is not the answer.
type pendingCall struct {
	node  string
	reply chan Frame
}

// NewCaller prepares calls of kind over t (it subscribes to the replies).
func NewCaller(t Transport, kind string) *Caller {
	c := &Caller{t: t, kind: kind, waiting: map[uint64]pendingCall{}}
	c.cancel = t.Subscribe(kind+"/reply", func(_ context.Context, f Frame) {
		c.mu.Lock()
		p, ok := c.waiting[f.ID]
		ok = ok && p.node == f.From
		if ok {
			delete(c.waiting, f.ID)
		}
		c.mu.Unlock()
		if ok {
			p.reply <- f // buffered: never blocks the stream
		}
	})
	return c
}

// Close stops listening for replies; pending calls end with their ctx.
func (c *Caller) Close() { c.cancel() }

// Call sends payload to the node's handler for this kind and waits for its
// reply or ctx's end. A handler error comes back wrapped in ErrRemote.
func (c *Caller) Call(ctx context.Context, nodeID string, payload []byte) ([]byte, error) {
	id := c.next.Add(1)
	ch := make(chan Frame, 1)
	c.mu.Lock()
	c.waiting[id] = pendingCall{node: nodeID, reply: ch}
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}
	if err := c.t.Send(ctx, nodeID, Frame{Kind: c.kind, ID: id, Last: true, Payload: payload}); err != nil {
		forget()
		return nil, fmt.Errorf("cluster: call %s on %s: %w", c.kind, short(nodeID), err)
	}
	select {
	case f := <-ch:
		if len(f.Payload) == 0 {
			return nil, fmt.Errorf("%w: %s on %s: empty reply", ErrRemote, c.kind, short(nodeID))
		}
		if f.Payload[0] != 0 {
			return nil, fmt.Errorf("%w: %s on %s: %s", ErrRemote, c.kind, short(nodeID), f.Payload[1:])
		}
		return f.Payload[1:], nil
	case <-ctx.Done():
		forget()
		return nil, fmt.Errorf("cluster: call %s on %s: %w", c.kind, short(nodeID), ctx.Err())
	}
}

// Serve answers calls of kind with h; the returned cancel stops serving. h
// runs on the caller's stream goroutine (see FrameHandler), and its reply is
// sent back on this node's own stream to the caller.
func Serve(t Transport, kind string, h func(ctx context.Context, from string, payload []byte) ([]byte, error)) (cancel func()) {
	return t.Subscribe(kind, func(ctx context.Context, f Frame) {
		out, err := h(ctx, f.From, f.Payload)
		var reply []byte
		if err != nil {
			reply = append([]byte{1}, err.Error()...)
		} else {
			reply = append(make([]byte, 0, 1+len(out)), 0)
			reply = append(reply, out...)
		}
		// Best effort: if the caller is gone its ctx ends the call anyway.
		_ = t.Send(ctx, f.From, Frame{Kind: kind + "/reply", ID: f.ID, Last: true, Payload: reply})
	})
}
