package remote

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
)

// kindDrain announces that the sender is draining (Caller: empty payload →
// empty reply). A peer that has answered places no new work there, so the
// tasks the sender hands back afterwards are not placed on it again.
const kindDrain = "rt.drain/v1"

// drainNoticeTimeout bounds each peer's answer to the drain notice; a peer
// that does not answer in time is about to be declared dead anyway, and
// a hand-back it receives is placed again at worst one more time.
const drainNoticeTimeout = 2 * time.Second

// drainedFor is how long a peer that announced its drain stays out of
// Peers without leaving: a drain that stopped half-way (its process
// hung) must not take the peer out for good.
const drainedFor = 2 * time.Minute

// drainState is the engine's part in draining, its own and its peers'.
type drainState struct {
	mu     sync.Mutex
	peers  map[string]time.Time // peers that announced a drain, by when
	caller *cluster.Caller

	self atomic.Bool // this node drains
	// hosting counts tasks peers forwarded here whose reply has not been
	// sent yet: the drain waits for it to reach zero before the node
	// leaves, so that no finished result is lost on the way out.
	hosting atomic.Int64
}

// startDrain subscribes the drain notice; Start calls it.
func (e *Engine) startDrain() {
	e.drain.caller = cluster.NewCaller(e.tr, kindDrain)
	e.cancels = append(e.cancels, e.drain.caller.Close, cluster.Serve(e.tr, kindDrain, e.onDrain))
}

func (e *Engine) onDrain(_ context.Context, from string, _ []byte) ([]byte, error) {
	e.drain.mu.Lock()
	if e.drain.peers == nil {
		e.drain.peers = map[string]time.Time{}
	}
	e.drain.peers[from] = time.Now()
	e.drain.mu.Unlock()
	e.log.Info("a peer is draining; placing no new work there", "node", from)
	return []byte{}, nil
}

// peerDraining reports whether node announced a drain (recently).
func (e *Engine) peerDraining(node string) bool {
	e.drain.mu.Lock()
	defer e.drain.mu.Unlock()
	since, ok := e.drain.peers[node]
	if ok && time.Since(since) > drainedFor {
		delete(e.drain.peers, node)
		return false
	}
	return ok
}

// drainedGrace is how long after a drained peer's leave the tasks still
// forwarded to it are failed: it sent their results (or handed them back)
// before it left, and a result frame may arrive just after the leave.
const drainedGrace = time.Second

// drainedGone handles the leave of a peer that announced its drain: it
// forgets the drain mark and calls nodeGone again after drainedGrace, so
// that the results the peer sent before leaving land first. It reports
// whether it deferred nodeGone.
func (e *Engine) drainedGone(node string) bool {
	e.drain.mu.Lock()
	_, drained := e.drain.peers[node]
	delete(e.drain.peers, node)
	e.drain.mu.Unlock()
	if !drained {
		return false
	}
	time.AfterFunc(drainedGrace, func() {
		select {
		case <-e.stop: // closed meanwhile: Close failed what was left
		default:
			e.nodeGone(node)
		}
	})
	return true
}

// hostReply wraps the reply to a forwarded task so that Drain knows when
// every reply is out.
func (e *Engine) hostReply(reply func([]grt.ForwardResult, *grt.ErrorInfo)) func([]grt.ForwardResult, *grt.ErrorInfo) {
	e.drain.hosting.Add(1)
	var once sync.Once
	return func(res []grt.ForwardResult, ei *grt.ErrorInfo) {
		defer once.Do(func() { e.drain.hosting.Add(-1) })
		reply(res, ei)
	}
}

// DrainReport says what a drain did.
type DrainReport struct {
	// Notified is how many peers acknowledged the drain notice, of Peers.
	Notified, Peers int
	// HandedBack counts tasks given back without running (queued, or
	// arriving during the drain); TimedOut those given back still
	// running when the timeout ended.
	HandedBack, TimedOut int
	// Unsent counts replies still not sent when Drain returned: actor
	// calls still running.
	Unsent int64
}

// Drain makes this node leave gracefully, before the agent's gossip
// leave: it tells every live peer that it drains (and waits for their
// acknowledgements, so they place nothing more here), hands back the
// forwarded tasks that have not started, then waits until the running
// ones have finished and their results are sent, for at most timeout.
// Tasks still running then are handed back too; actor calls are not
// (the actor cannot move), they fail when the node leaves. ctx bounds the
// whole drain, and its end is the only error; the node keeps its workers
// (Stop ends them).
func (e *Engine) Drain(ctx context.Context, timeout time.Duration) (DrainReport, error) {
	var rep DrainReport
	e.drain.self.Store(true)
	peers := e.livePeers()
	rep.Peers = len(peers)
	var acked atomic.Int64
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, drainNoticeTimeout)
			defer cancel()
			if _, err := e.drain.caller.Call(cctx, p, nil); err != nil {
				e.log.Warn("a peer did not acknowledge the drain", "node", p, "err", err)
				return
			}
			acked.Add(1)
		})
	}
	wg.Wait()
	rep.Notified = int(acked.Load())
	rep.HandedBack = e.node.StartDrain()
	deadline := time.Now().Add(timeout)
	allSent := func() bool { return e.drain.hosting.Load() == 0 }
	if err := e.waitHosted(ctx, deadline, allSent); err != nil {
		return rep, err
	}
	if !allSent() {
		rep.TimedOut = e.node.HandBackRunning()
		e.log.Warn("drain timeout: handed running tasks back to their owners", "tasks", rep.TimedOut, "timeout", timeout)
	}
	// Every reply (results or hand-backs) must be on the wire before the
	// leave; sending is quick, so a short grace suffices. What is still
	// out after it is actor calls that still run: they fail with the
	// leave, as on a node failure, and are retried as MaxTaskRetries
	// allows; that is no error of the drain.
	err := e.waitHosted(ctx, time.Now().Add(drainNoticeTimeout), allSent)
	rep.Unsent = e.drain.hosting.Load()
	if rep.Unsent > 0 {
		e.log.Warn("leaving with forwarded work still running (actor calls)", "calls", rep.Unsent)
	}
	return rep, err
}

// waitHosted polls done until it holds, deadline passes (nil error) or ctx
// ends (its error).
func (e *Engine) waitHosted(ctx context.Context, deadline time.Time, done func() bool) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !done() && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("remote: drain: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}
