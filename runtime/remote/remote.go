package remote

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
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
	kindTask   = "rt.task/v1"       // chunked: ForwardMessage; ID = the sender's forward ID
	kindResult = "rt.result/v2"     // chunked: EncodeForwardResults; ID = the forward ID
	kindBinReq = "rt.binreq/v1"     // sha256 (hex); ID = request ID
	kindBin    = "rt.bin/v1"        // chunked: the program's bytes (empty: not found); ID = request ID
	kindLocate = "rt.locate/v1"     // Caller: actor ID (16 bytes) → 1 if it lives there, else 0
	kindKill   = "rt.kill/v1"       // actor ID (16 bytes) + noRestart byte
	kindPGRes  = "rt.pgreserve/v1"  // Caller: JSON pgReserve → empty reply or error
	kindPGRel  = "rt.pgrelease/v1"  // the group's ID
	kindName   = "rt.locatename/v1" // Caller: actor name → ID (16 bytes) + class
	kindObjGet = "rt.objget/v1"     // object ID (20 bytes); ID = request ID
	kindObj    = "rt.obj/v1"        // chunked: the object's bytes; ID = request ID
	kindObjErr = "rt.objerr/v1"     // chunked: EncodeResults(nil, err); ID = request ID
	kindObjNo  = "rt.objno/v1"      // empty: not here; ID = request ID
	kindCancel = "rt.cancel/v1"     // task ID (16 bytes) + force byte
)

// pgReserve asks a peer to hold bundles of a placement group.
type pgReserve struct {
	ID      string               `json:"id"`
	Bundles []map[string]float64 `json:"bundles"`
}

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

	// prefixes caches each member ID's grt.NodePrefix (nodePrefix).
	prefixes sync.Map
	nextID   atomic.Uint64

	// Objects moved between nodes, for the transfer metrics.
	sentObjs, sentBytes, recvObjs, recvBytes atomic.Int64

	mu      sync.Mutex
	pending map[uint64]*forward // tasks this node forwarded, by forward ID
	chunks  map[chunkKey][]byte // partial chunked payloads
	bins    contentFetches      // driver programs being fetched (content.go)
	pkgs    contentFetches      // working-dir packages being fetched (packages.go)

	outbox map[string]*outbox // ordered sends per peer
	// unreachable: peers a send failed to reach, by when; Peers leaves
	// them out until they answer again, membership declares them dead, or
	// unreachableFor passes.
	unreachable map[string]time.Time
	objWait     map[uint64]*objFetch
	fetchIdle   time.Duration // objects.go: fetch inactivity limit (0: fetchTimeout); set before Start
	objRecv     map[chunkKey]*objRecv
	locate      *cluster.Caller
	reserve     *cluster.Caller
	names       *cluster.Caller
	nd          *nameDir        // the name directory this node keeps (names.go)
	bor         *cluster.Caller // borrow registrations (borrow.go)

	drain drainState   // drain.go
	lin   lineageState // lineage.go

	cancels   []func()
	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

type forward struct {
	node string
	done func([][]byte, *grt.ErrorInfo)
	// located, if set, receives the results instead of done, including
	// those that stayed on node (ForwardLocated, lineage.go).
	located func([]grt.ForwardResult, *grt.ErrorInfo)
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
		bins:    newContentFetches("program", kindBinReq),
		pkgs:    newContentFetches("working_dir package", kindPkgReq),
		outbox:  map[string]*outbox{},
		objWait: map[uint64]*objFetch{}, objRecv: map[chunkKey]*objRecv{},
		unreachable: map[string]time.Time{}, stop: make(chan struct{})}
}

// Start subscribes to the engine's frames and to membership events and
// installs the engine as the node's cluster hooks.
func (e *Engine) Start() {
	e.cancels = append(e.cancels, e.startPackages()...)
	e.cancels = append(e.cancels,
		e.tr.Subscribe(kindTask, e.chunked(e.onTask)),
		e.tr.Subscribe(kindResult, e.chunked(e.onResult)),
		e.tr.Subscribe(kindBinReq, e.onBinReq),
		e.tr.Subscribe(kindBin, e.chunked(e.bins.onReply)),
		e.tr.Subscribe(kindKill, e.onKill),
		e.tr.Subscribe(kindCancel, e.onCancel),
		cluster.Serve(e.tr, kindLocate, e.onLocate),
	)
	e.cancels = append(e.cancels,
		cluster.Serve(e.tr, kindPGRes, e.onReservePG),
		e.tr.Subscribe(kindPGRel, func(_ context.Context, f cluster.Frame) { e.node.ReleasePG(string(f.Payload)) }),
		e.tr.Subscribe(kindObjGet, e.onObjGet),
		e.subscribeObjects(), // objects.go
		e.tr.Subscribe(kindObjErr, e.chunked(e.onObjErr)),
		e.tr.Subscribe(kindObjNo, func(_ context.Context, f cluster.Frame) { e.objNotHere(f.ID) }),
	)
	e.locate = cluster.NewCaller(e.tr, kindLocate)
	e.reserve = cluster.NewCaller(e.tr, kindPGRes)
	e.names = cluster.NewCaller(e.tr, kindName)
	e.cancels = append(e.cancels, e.locate.Close, e.reserve.Close, e.names.Close,
		cluster.Serve(e.tr, kindName, e.onLocateName))
	e.startNames() // names.go: the name directory
	e.startDrain()
	e.startLineage()
	e.startBorrow()
	e.startWarnings() // warning.go
	events, cancel := e.mem.Subscribe()
	e.cancels = append(e.cancels, cancel)
	e.wg.Add(1)
	go e.watch(events)
	e.node.SetClusterHooks(e)
}

// Close unsubscribes; tasks still forwarded fail. It is safe to call
// more than once.
func (e *Engine) Close() {
	first := false
	e.closeOnce.Do(func() { first = true })
	if !first {
		return
	}
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
				e.namesMembershipChanged(ev) // names.go: handover
				continue
			}
			e.nodeGone(ev.Member.ID)
			e.namesMembershipChanged(ev)
		}
	}
}

func (e *Engine) nodeGone(id string) {
	if e.drainedGone(id) { // drain.go: its last results may still be on the way
		return
	}
	e.mu.Lock()
	delete(e.unreachable, id)
	var lost []*forward
	for fid, f := range e.pending {
		if f.node == id {
			lost = append(lost, f)
			delete(e.pending, fid)
		}
	}
	e.mu.Unlock()
	e.ownerGone(id) // lineage.go: its objects' refs now fail with ErrKindOwnerDied
	e.node.PeerGone(id)
	for _, f := range lost {
		f.done(nil, &grt.ErrorInfo{Kind: grt.ErrKindWorkerCrashed, Message: "node " + id + " died while running the task"})
	}
}

// Peers implements grt.ClusterHooks: the live peers with their broadcast
// totals and availability.
func (e *Engine) Peers() []task.NodeView {
	self := e.mem.LocalID()
	var out []task.NodeView
	e.mu.Lock()
	now := time.Now()
	for id, since := range e.unreachable {
		if now.Sub(since) >= unreachableFor {
			delete(e.unreachable, id)
		}
	}
	unreachable := maps.Clone(e.unreachable)
	e.mu.Unlock()
	for _, m := range e.mem.Members() {
		if m.ID == self || m.Status != cluster.StatusAlive || len(m.Resources) == 0 {
			continue
		}
		if _, ok := unreachable[m.ID]; ok {
			continue
		}
		if e.peerDraining(m.ID) { // drain.go
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
	// Sends to one node leave in submission order: an actor's calls must
	// reach it in the order they were made.
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

// unreachableFor is how long a peer that a send failed to reach stays out
// of Peers unless it answers or is declared dead first: longer than the
// membership takes to declare a crashed node dead, so that work (an actor
// recreated in a placement group bundle there, above all) waits for its
// bundles to be placed again instead of failing on the same dead node.
const unreachableFor = 10 * time.Second

// markUnreachable takes node out of Peers for a while after a send to it
// failed: a SIGKILLed node refuses connections at once, long before the
// membership declares it dead.
func (e *Engine) markUnreachable(node string) {
	e.mu.Lock()
	_, was := e.unreachable[node]
	e.unreachable[node] = time.Now()
	e.mu.Unlock()
	if was {
		return
	}
	e.log.Warn("a peer is unreachable; placing no work there until it answers or is declared dead", "node", node)
	// If it was a hiccup, what waits for that peer's resources tries
	// again once it is listed again.
	time.AfterFunc(unreachableFor, e.node.PeersChanged)
}

// outbox runs one peer's sends one at a time, in order, on a goroutine
// that exists only while there is something to send: an outbox is in
// e.outbox exactly while its goroutine runs.
type outbox struct {
	q []func()
}

func (e *Engine) send(node string, job func()) {
	e.mu.Lock()
	if ob := e.outbox[node]; ob != nil {
		ob.q = append(ob.q, job)
		e.mu.Unlock()
		return
	}
	ob := &outbox{q: []func(){job}}
	e.outbox[node] = ob
	e.mu.Unlock()
	go func() {
		for {
			e.mu.Lock()
			if len(ob.q) == 0 {
				// Forget the idle outbox: its key is a peer (or
				// "borrow:"+peer), and peers come and go for good.
				// The next send starts a fresh one, after this one
				// has run everything, so the order holds.
				delete(e.outbox, node)
				e.mu.Unlock()
				return
			}
			job := ob.q[0]
			ob.q[0] = nil
			ob.q = ob.q[1:]
			e.mu.Unlock()
			job()
		}
	}()
}

// LocateActor implements grt.ClusterHooks: it asks every live peer
// whether the actor lives there; the first yes wins.
//
// The handle may overtake the actor's creation (its owner forwarded both
// at once, to different nodes), so a round in which no peer has it is
// repeated, with backoff, until locateTimeout.
func (e *Engine) LocateActor(ctx context.Context, id grt.ActorID, done func(string, error)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), locateTimeout)
		defer cancel()
		wait := 20 * time.Millisecond
		for {
			peers := e.livePeers()
			if node := e.locateOnce(ctx, id, peers); node != "" {
				done(node, nil)
				return
			}
			select {
			case <-ctx.Done():
				done("", fmt.Errorf("asked %d peers for %s: %w", len(peers), locateTimeout, errActorNotFound))
				return
			case <-time.After(wait):
				wait = min(2*wait, time.Second)
			}
		}
	}()
}

// livePeers are the alive and suspect members other than this node.
func (e *Engine) livePeers() []string {
	self := e.mem.LocalID()
	var ids []string
	for _, m := range e.mem.Members() {
		if m.ID != self && (m.Status == cluster.StatusAlive || m.Status == cluster.StatusSuspect) {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// locateOnce asks peers at once; the first that has the actor wins.
func (e *Engine) locateOnce(ctx context.Context, id grt.ActorID, peers []string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	found := make(chan string, len(peers))
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if b, err := e.locate.Call(ctx, p, id[:]); err == nil && len(b) == 1 && b[0] == 1 {
				found <- p
			}
		}()
	}
	go func() { wg.Wait(); close(found) }()
	node := <-found
	return node
}

// locateTimeout bounds the search for an actor.
const locateTimeout = 5 * time.Second

var errActorNotFound = errors.New("no peer has the actor")

func (e *Engine) onLocate(_ context.Context, _ string, payload []byte) ([]byte, error) {
	var id grt.ActorID
	if len(payload) != len(id) {
		return nil, fmt.Errorf("locate: bad actor ID of %d bytes", len(payload))
	}
	copy(id[:], payload)
	if e.node.HasActor(id) {
		return []byte{1}, nil
	}
	return []byte{0}, nil
}

// KillActor implements grt.ClusterHooks.
func (e *Engine) KillActor(ctx context.Context, node string, id grt.ActorID, noRestart bool) {
	p := append(id[:], 0)
	if noRestart {
		p[len(id)] = 1
	}
	e.send(node, func() {
		if err := e.tr.Send(context.WithoutCancel(ctx), node, cluster.Frame{Kind: kindKill, Last: true, Payload: p}); err != nil {
			e.log.Warn("cannot kill a remote actor", "node", node, "actor", id, "err", err)
		}
	})
}

func (e *Engine) onKill(_ context.Context, f cluster.Frame) {
	var id grt.ActorID
	if len(f.Payload) != len(id)+1 {
		return
	}
	copy(id[:], f.Payload)
	_ = e.node.KillActor(id, f.Payload[len(id)] == 1, "killed by its owner on "+f.From)
}

// CancelForwarded implements grt.ClusterHooks.
func (e *Engine) CancelForwarded(node string, id grt.TaskID, force bool) {
	p := append(id[:], 0)
	if force {
		p[len(id)] = 1
	}
	e.send(node, func() {
		if err := e.tr.Send(context.Background(), node, cluster.Frame{Kind: kindCancel, Last: true, Payload: p}); err != nil {
			e.log.Warn("cannot cancel a forwarded task", "node", node, "task", id, "err", err)
		}
	})
}

func (e *Engine) onCancel(_ context.Context, f cluster.Frame) {
	var id grt.TaskID
	if len(f.Payload) != len(id)+1 {
		return
	}
	copy(id[:], f.Payload)
	e.node.CancelForwarded(id, f.Payload[len(id)] == 1)
}

func (e *Engine) take(id uint64) *forward {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.pending[id]
	delete(e.pending, id)
	return f
}

// sendPayload sends body to node as frames of kind with ID id, over the
// bulk lane when the transport has one: chunk 0 carries the body's length
// (so that the receiver allocates it once), chunks 1.. carry at most
// cluster.ChunkSize bytes each. Each frame is handed over before the next
// is cut, which bounds the bytes in flight per peer.
func (e *Engine) sendPayload(ctx context.Context, node, kind string, id uint64, body []byte) error {
	send := e.tr.Send
	if b, ok := e.tr.(cluster.BulkSender); ok {
		send = b.SendBulk
	}
	hdr := binary.LittleEndian.AppendUint64(nil, uint64(len(body)))
	if err := send(ctx, node, cluster.Frame{Kind: kind, ID: id, Last: len(body) == 0, Payload: hdr}); err != nil {
		return fmt.Errorf("send %s/%d: %w", kind, id, err)
	}
	for chunk := uint32(1); len(body) > 0; chunk++ {
		n := min(len(body), cluster.ChunkSize)
		f := cluster.Frame{Kind: kind, ID: id, Chunk: chunk, Last: n == len(body), Payload: body[:n]}
		if err := send(ctx, node, f); err != nil {
			return fmt.Errorf("send chunk %d of %s/%d: %w", chunk, kind, id, err)
		}
		body = body[n:]
	}
	return nil
}

// maxPayload bounds what a peer may announce, so that a corrupt length
// cannot make this node allocate without limit.
const maxPayload = 1 << 40

// chunked reassembles sendPayload's frames before calling h.
func (e *Engine) chunked(h func(from string, id uint64, payload []byte)) cluster.FrameHandler {
	return func(_ context.Context, f cluster.Frame) {
		k := chunkKey{f.From, f.Kind, f.ID}
		if f.Chunk == 0 {
			if len(f.Payload) != 8 {
				e.log.Warn("bad payload header", "kind", f.Kind, "from", f.From)
				return
			}
			size := binary.LittleEndian.Uint64(f.Payload)
			if size > maxPayload {
				e.log.Warn("payload too large", "kind", f.Kind, "from", f.From, "bytes", size)
				return
			}
			if f.Last {
				h(f.From, f.ID, []byte{})
				return
			}
			e.mu.Lock()
			e.chunks[k] = make([]byte, 0, size)
			e.mu.Unlock()
			return
		}
		e.mu.Lock()
		buf, ok := e.chunks[k]
		if !ok {
			e.mu.Unlock()
			return // its header was refused
		}
		if f.Chunk == 1 && f.Last && len(buf) == 0 {
			// One chunk: the frame's own buffer is the payload.
			delete(e.chunks, k)
			e.mu.Unlock()
			h(f.From, f.ID, f.Payload)
			return
		}
		buf = append(buf, f.Payload...)
		if !f.Last {
			e.chunks[k] = buf
			e.mu.Unlock()
			return
		}
		delete(e.chunks, k)
		e.mu.Unlock()
		h(f.From, f.ID, buf)
	}
}

// onTask runs a task a peer forwarded, fetching its program first if this
// node lacks it.
func (e *Engine) onTask(from string, id uint64, payload []byte) {
	// The results may have stayed here (lineage.go): rs then names this
	// node instead of carrying their bytes.
	reply := e.hostReply(func(rs []grt.ForwardResult, ei *grt.ErrorInfo) { // drain.go counts replies not sent
		b := grt.EncodeForwardResults(rs, ei)
		if err := e.sendPayload(context.Background(), from, kindResult, id, b); err != nil {
			e.log.Warn("cannot return a forwarded task's results", "to", from, "err", err)
		}
	})
	fm, err := grt.DecodeForward(payload)
	if err != nil {
		go reply(nil, &grt.ErrorInfo{Kind: grt.ErrKindSystem, Message: err.Error()})
		return
	}
	// Tasks from one sender start in arrival order (an actor's creation
	// before its calls), also when the first must wait for its program,
	// so they go through one ordered queue per sender.
	e.send("from:"+from, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err := e.fetchContent(ctx, &e.bins, from, fm.Binary, func() bool { return e.node.HasBinary(fm.Binary) },
			func(b []byte) error { return e.node.AddBinary(fm.Binary, bytes.NewReader(b)) })
		cancel()
		if err != nil {
			reply(nil, &grt.ErrorInfo{Kind: grt.ErrKindSystem, Task: fm.Spec.Func, Message: "fetch the program: " + err.Error()})
			return
		}
		pool, err := e.forwardedPool(from, fm) // packages.go: its working dir
		if err != nil {
			reply(nil, &grt.ErrorInfo{Kind: grt.ErrKindSystem, Task: fm.Spec.Func, Message: "fetch the working dir: " + err.Error()})
			return
		}
		e.node.RunForwardedFor(from, fm.Spec, pool, reply)
	})
}

func (e *Engine) onResult(from string, id uint64, payload []byte) {
	e.mu.Lock()
	delete(e.unreachable, from)
	e.mu.Unlock()
	f := e.take(id)
	if f == nil {
		return
	}
	res, ei, err := grt.DecodeForwardResults(payload)
	if err != nil {
		ei = &grt.ErrorInfo{Kind: grt.ErrKindSystem, Message: err.Error()}
	}
	f.finish(res, ei)
}

func (e *Engine) onBinReq(_ context.Context, f cluster.Frame) {
	e.serveContent(f, kindBin, "program", func(sum string) []byte {
		// The program is a cached driver binary or this node's own.
		for _, pool := range []string{sum, ""} {
			if s, path := e.node.BinaryFor(pool); s == sum && path != "" {
				if b, err := os.ReadFile(path); err == nil {
					return b
				}
			}
		}
		return nil
	})
}

var _ grt.ClusterHooks = (*Engine)(nil)

// ReservePG implements grt.ClusterHooks.
func (e *Engine) ReservePG(ctx context.Context, node, id string, bundles []map[string]float64, done func(error)) {
	body, err := json.Marshal(pgReserve{ID: id, Bundles: bundles})
	if err != nil {
		go done(err)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reserveTimeout)
		defer cancel()
		_, err := e.reserve.Call(ctx, node, body)
		done(err)
	}()
}

// reserveTimeout bounds a peer's answer to a reservation; no answer counts
// as a refusal (the owner retries later).
const reserveTimeout = 5 * time.Second

func (e *Engine) onReservePG(_ context.Context, from string, payload []byte) ([]byte, error) {
	var r pgReserve
	if err := json.Unmarshal(payload, &r); err != nil {
		return nil, fmt.Errorf("reserve: %w", err)
	}
	return nil, e.node.ReservePG(from, r.ID, r.Bundles)
}

// ReleasePG implements grt.ClusterHooks.
func (e *Engine) ReleasePG(ctx context.Context, node, id string) {
	e.send(node, func() {
		if err := e.tr.Send(context.WithoutCancel(ctx), node, cluster.Frame{Kind: kindPGRel, Last: true, Payload: []byte(id)}); err != nil {
			e.log.Warn("cannot release placement group bundles", "node", node, "pg", id, "err", err)
		}
	})
}

func (e *Engine) onLocateName(_ context.Context, _ string, payload []byte) ([]byte, error) {
	id, class, ok := e.node.NamedActor(string(payload))
	if !ok {
		return nil, errActorNotFound
	}
	return append(id[:], class...), nil
}
