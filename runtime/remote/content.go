package remote

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/goray/goray/runtime/cluster"
)

// Content-addressed blobs between daemons.
//
// Driver programs and working-dir packages travel the same way: a node
// that lacks one asks the node that sent it a task (which has it, since it
// runs workers of it) with a request frame carrying the sha256, receives
// the bytes as one chunked payload over the bulk lane (empty: not there),
// and stores them through a function that checks the hash. One fetch per
// sha256 is in flight; every caller waiting for it shares its outcome.

// contentFetches tracks the fetches of one kind of blob.
type contentFetches struct {
	what    string // names the kind in errors and logs: "program"
	reqKind string // frame kind of the request

	mu       sync.Mutex
	inFlight map[string]*contentFetch // by sha256
	replies  map[uint64]chan []byte   // by request ID
}

// contentFetch is one blob being fetched; err is set before done closes.
type contentFetch struct {
	done    chan struct{}
	err     error
	waiters int // callers waiting for this fetch besides its own (tests observe it)
}

func newContentFetches(what, reqKind string) contentFetches {
	return contentFetches{what: what, reqKind: reqKind, inFlight: map[string]*contentFetch{}, replies: map[uint64]chan []byte{}}
}

// fetchContent makes sure blob sum is stored here (have), fetching it from
// node from and storing it with store when it is not. Concurrent callers
// for the same sum share one fetch and its error.
func (e *Engine) fetchContent(ctx context.Context, c *contentFetches, from, sum string, have func() bool, store func([]byte) error) error {
	if have() {
		return nil
	}
	c.mu.Lock()
	if f, ok := c.inFlight[sum]; ok {
		f.waiters++
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f := &contentFetch{done: make(chan struct{})}
	c.inFlight[sum] = f
	c.mu.Unlock()
	f.err = e.requestContent(ctx, c, from, sum, store)
	c.mu.Lock()
	delete(c.inFlight, sum)
	c.mu.Unlock()
	close(f.done)
	return f.err
}

// requestContent asks from for blob sum and stores what it sends.
func (e *Engine) requestContent(ctx context.Context, c *contentFetches, from, sum string, store func([]byte) error) error {
	rid := e.nextID.Add(1)
	got := make(chan []byte, 1)
	c.mu.Lock()
	c.replies[rid] = got
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.replies, rid)
		c.mu.Unlock()
	}()
	start := time.Now()
	if err := e.tr.Send(ctx, from, cluster.Frame{Kind: c.reqKind, ID: rid, Last: true, Payload: []byte(sum)}); err != nil {
		return fmt.Errorf("%s %.12s: ask node %s: %w", c.what, sum, from, err)
	}
	select {
	case b := <-got:
		if len(b) == 0 {
			return fmt.Errorf("%s %.12s: node %s does not have it", c.what, sum, from)
		}
		if err := store(b); err != nil {
			return fmt.Errorf("%s %.12s from node %s: %w", c.what, sum, from, err)
		}
		e.log.Info("fetched a "+c.what, "sha256", sum[:min(12, len(sum))], "from", from, "bytes", len(b), "took", time.Since(start))
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s %.12s from node %s: %w", c.what, sum, from, ctx.Err())
	}
}

// onReply hands a chunked reply to the request that waits for it.
func (c *contentFetches) onReply(_ string, id uint64, payload []byte) {
	c.mu.Lock()
	ch := c.replies[id]
	c.mu.Unlock()
	if ch != nil {
		select {
		case ch <- payload:
		default:
		}
	}
}

// serveContent answers request f with the bytes read returns for its sum
// (nil: not here, sent as an empty payload) in a replyKind payload.
func (e *Engine) serveContent(f cluster.Frame, replyKind, what string, read func(sum string) []byte) {
	sum := string(f.Payload)
	go func() {
		data := read(sum)
		if data == nil {
			data = []byte{}
		}
		if err := e.sendPayload(context.Background(), f.From, replyKind, f.ID, data); err != nil {
			e.log.Warn("cannot send a "+what, "to", f.From, "err", err)
		}
	}()
}
