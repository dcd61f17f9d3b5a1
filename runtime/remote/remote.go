package remote

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/task"
)

// Frame kinds of the engine protocol between daemons.
const (
	kindTask   = "rt.task/v1"   // chunked: ForwardMessage; ID = the sender's forward ID
	kindResult = "rt.result/v1" // chunked: EncodeResults; ID = the forward ID
	kindBinReq = "rt.binreq/v1" // sha256 (hex); ID = request ID
	kindBin    = "rt.bin/v1"    // chunked: the program's bytes (empty: not found); ID = request ID
)

// Members is the part of cluster.Membership the engine uses.
type Members interface {
	LocalID() string
	Members() []cluster.Member
	Subscribe() (<-chan cluster.Event, func())
}

// Engine connects a grt.Node to its peers: it implements
// grt.ClusterHooks over a cluster.Transport and the gossip membership.
type Engine struct {
	node *grt.Node
	tr   cluster.Transport
	mem  Members
	log  *slog.Logger

	nextID atomic.Uint64

	mu       sync.Mutex
	pending  map[uint64]*forward      // tasks this node forwarded, by forward ID
	chunks   map[chunkKey][]byte      // partial chunked payloads
	fetching map[string]chan struct{} // binaries being fetched, by sha256
	binWait  map[uint64]chan []byte   // binary requests, by request ID

	cancels []func()
	stop    chan struct{}
	wg      sync.WaitGroup
}

type forward struct {
	node string
	done func([][]byte, *grt.ErrorInfo)
}

type chunkKey struct {
	from, kind string
	id         uint64
}

// New creates the engine; Start subscribes it and installs it in the node.
func New(node *grt.Node, tr cluster.Transport, mem Members, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{node: node, tr: tr, mem: mem, log: log,
		pending: map[uint64]*forward{}, chunks: map[chunkKey][]byte{},
		fetching: map[string]chan struct{}{}, binWait: map[uint64]chan []byte{},
		stop: make(chan struct{})}
}

// Start subscribes to the engine's frames and to membership events and
// installs the engine as the node's cluster hooks.
func (e *Engine) Start() {
	e.cancels = append(e.cancels,
		e.tr.Subscribe(kindTask, e.chunked(e.onTask)),
		e.tr.Subscribe(kindResult, e.chunked(e.onResult)),
		e.tr.Subscribe(kindBinReq, e.onBinReq),
		e.tr.Subscribe(kindBin, e.chunked(e.onBin)),
	)
	events, cancel := e.mem.Subscribe()
	e.cancels = append(e.cancels, cancel)
	e.wg.Add(1)
	go e.watch(events)
	e.node.SetClusterHooks(e)
}

// Close unsubscribes; tasks still forwarded fail.
func (e *Engine) Close() {
	for _, c := range e.cancels {
		c()
	}
	close(e.stop)
	e.wg.Wait()
	e.mu.Lock()
	p := e.pending
	e.pending = map[uint64]*forward{}
	e.mu.Unlock()
	for _, f := range p {
		f.done(nil, &grt.ErrorInfo{Kind: grt.ErrKindSystem, Message: "cluster engine closed"})
	}
}

// watch fails the tasks forwarded to nodes that die or leave; the node
// retries them while they have retries left.
func (e *Engine) watch(events <-chan cluster.Event) {
	defer e.wg.Done()
	for {
		select {
		case <-e.stop:
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Type != cluster.EventFailed && ev.Type != cluster.EventLeave {
				continue
			}
			e.nodeGone(ev.Member.ID)
		}
	}
}

func (e *Engine) nodeGone(id string) {
	e.mu.Lock()
	var lost []*forward
	for fid, f := range e.pending {
		if f.node == id {
			lost = append(lost, f)
			delete(e.pending, fid)
		}
	}
	e.mu.Unlock()
	for _, f := range lost {
		f.done(nil, &grt.ErrorInfo{Kind: grt.ErrKindWorkerCrashed, Message: "node " + id + " died while running the task"})
	}
}

// Peers implements grt.ClusterHooks: the live peers with their broadcast
// totals and availability.
func (e *Engine) Peers() []task.NodeView {
	self := e.mem.LocalID()
	var out []task.NodeView
	for _, m := range e.mem.Members() {
		if m.ID == self || m.Status != cluster.StatusAlive || len(m.Resources) == 0 {
			continue
		}
		avail := m.State.Available
		if m.State.Seq == 0 || avail == nil {
			avail = m.Resources
		}
		out = append(out, task.NodeView{ID: m.ID, Total: task.Resources(m.Resources), Available: task.Resources(avail), Alive: true})
	}
	return out
}

// Forward implements grt.ClusterHooks.
func (e *Engine) Forward(ctx context.Context, node string, fm *grt.ForwardMessage, done func([][]byte, *grt.ErrorInfo)) {
	id := e.nextID.Add(1)
	e.mu.Lock()
	e.pending[id] = &forward{node: node, done: done}
	e.mu.Unlock()
	payload := grt.EncodeForward(fm)
	go func() {
		if err := cluster.SendChunked(context.WithoutCancel(ctx), e.tr, node, kindTask, id, payload); err != nil {
			if f := e.take(id); f != nil {
				f.done(nil, &grt.ErrorInfo{Kind: grt.ErrKindWorkerCrashed, Task: fm.Spec.Func, Message: "forward to node " + node + ": " + err.Error()})
			}
		}
	}()
}

func (e *Engine) take(id uint64) *forward {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.pending[id]
	delete(e.pending, id)
	return f
}

// chunked reassembles chunked payloads before calling h.
func (e *Engine) chunked(h func(from string, id uint64, payload []byte)) cluster.FrameHandler {
	return func(_ context.Context, f cluster.Frame) {
		k := chunkKey{f.From, f.Kind, f.ID}
		if !f.Last || f.Chunk > 0 {
			e.mu.Lock()
			buf := append(e.chunks[k], f.Payload...)
			if !f.Last {
				e.chunks[k] = buf
				e.mu.Unlock()
				return
			}
			delete(e.chunks, k)
			e.mu.Unlock()
			f.Payload = buf
		}
		h(f.From, f.ID, f.Payload)
	}
}

// onTask runs a task a peer forwarded, fetching its program first if this
// node lacks it.
func (e *Engine) onTask(from string, id uint64, payload []byte) {
	reply := func(res [][]byte, ei *grt.ErrorInfo) {
		b := grt.EncodeResults(res, ei)
		if err := cluster.SendChunked(context.Background(), e.tr, from, kindResult, id, b); err != nil {
			e.log.Warn("cannot return a forwarded task's results", "to", from, "err", err)
		}
	}
	fm, err := grt.DecodeForward(payload)
	if err != nil {
		go reply(nil, &grt.ErrorInfo{Kind: grt.ErrKindSystem, Message: err.Error()})
		return
	}
	if e.node.HasBinary(fm.Binary) {
		e.node.RunForwarded(fm.Spec, fm.Binary, reply)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := e.fetchBinary(ctx, from, fm.Binary); err != nil {
			reply(nil, &grt.ErrorInfo{Kind: grt.ErrKindSystem, Task: fm.Spec.Func, Message: "fetch the program: " + err.Error()})
			return
		}
		e.node.RunForwarded(fm.Spec, fm.Binary, reply)
	}()
}

func (e *Engine) onResult(_ string, id uint64, payload []byte) {
	f := e.take(id)
	if f == nil {
		return
	}
	res, ei, err := grt.DecodeResults(payload)
	if err != nil {
		ei = &grt.ErrorInfo{Kind: grt.ErrKindSystem, Message: err.Error()}
	}
	f.done(res, ei)
}

// fetchBinary gets the program with hash sum from node from, once per
// hash however many tasks wait for it.
func (e *Engine) fetchBinary(ctx context.Context, from, sum string) error {
	e.mu.Lock()
	if ch, ok := e.fetching[sum]; ok {
		e.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		if e.node.HasBinary(sum) {
			return nil
		}
		return fmt.Errorf("program %.12s: the fetch failed", sum)
	}
	ch := make(chan struct{})
	e.fetching[sum] = ch
	rid := e.nextID.Add(1)
	got := make(chan []byte, 1)
	e.binWait[rid] = got
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.fetching, sum)
		delete(e.binWait, rid)
		e.mu.Unlock()
		close(ch)
	}()
	start := time.Now()
	if err := e.tr.Send(ctx, from, cluster.Frame{Kind: kindBinReq, ID: rid, Last: true, Payload: []byte(sum)}); err != nil {
		return err
	}
	select {
	case b := <-got:
		if len(b) == 0 {
			return fmt.Errorf("program %.12s: node %s does not have it", sum, from)
		}
		if err := e.node.AddBinary(sum, bytes.NewReader(b)); err != nil {
			return err
		}
		e.log.Info("fetched a program", "sha256", sum[:12], "from", from, "bytes", len(b), "took", time.Since(start))
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) onBinReq(_ context.Context, f cluster.Frame) {
	sum := string(f.Payload)
	go func() {
		// The program is a cached driver binary or this node's own.
		data := []byte{}
		for _, pool := range []string{sum, ""} {
			if s, path := e.node.BinaryFor(pool); s == sum && path != "" {
				if b, err := os.ReadFile(path); err == nil {
					data = b
					break
				}
			}
		}
		if err := cluster.SendChunked(context.Background(), e.tr, f.From, kindBin, f.ID, data); err != nil {
			e.log.Warn("cannot send a program", "to", f.From, "err", err)
		}
	}()
}

func (e *Engine) onBin(_ string, id uint64, payload []byte) {
	e.mu.Lock()
	ch := e.binWait[id]
	e.mu.Unlock()
	if ch != nil {
		select {
		case ch <- payload:
		default:
		}
	}
}

var _ grt.ClusterHooks = (*Engine)(nil)
