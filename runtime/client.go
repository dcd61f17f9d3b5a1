package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goray/goray/runtime/objectstore"
)

// Client is how a driver or a worker talks to its node: in-process for the
// driver that embeds the node (direct calls, no encoding), over the node's
// unix socket otherwise. All methods are safe for concurrent use.
//
// IDs are minted locally (client prefix + counter), so Submit and small
// Puts are fire-and-forget: the node learns of them in order on the same
// stream, before any message that could refer to them.
type Client struct {
	log    *slog.Logger
	node   *Node    // in-process
	sess   *session // in-process
	cn     *conn    // socket
	prefix [8]byte
	nodeID string
	seq    atomic.Uint64
	reqSeq atomic.Uint64

	mu       sync.Mutex
	calls    map[uint64]chan *msg
	closed   bool
	closedCh chan struct{}
	helloCh  chan *msg

	worker *workerRT // worker mode: receives pushed tasks
}

func newLocalClient(n *Node) *Client {
	c := &Client{log: n.log, node: n, calls: map[uint64]chan *msg{},
		closedCh: make(chan struct{}), nodeID: n.id}
	n.mu.Lock()
	c.sess = n.newSessionLocked()
	c.sess.local = c
	c.prefix = n.clientPrefix(c.sess)
	n.mu.Unlock()
	return c
}

func newSocketClient(nc net.Conn, log *slog.Logger, w *workerRT) *Client {
	c := &Client{log: log, calls: map[uint64]chan *msg{},
		closedCh: make(chan struct{}), helloCh: make(chan *msg, 1), worker: w}
	c.cn = newConn(nc, c.deliver, func(error) { c.markClosed() })
	return c
}

// Dial connects to a node: "unix:///path/node.sock" or a bare socket path
// (the local node), or "tcp://host:port" / "host:port" (a node that serves
// remote drivers over TCP).
func Dial(ctx context.Context, addr string, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	network, path := "unix", strings.TrimPrefix(addr, "unix://")
	switch {
	case strings.HasPrefix(addr, "tcp://"):
		network, path = "tcp", strings.TrimPrefix(addr, "tcp://")
	case !strings.HasPrefix(addr, "unix://") && !strings.HasPrefix(addr, "/") && strings.Contains(addr, ":"):
		network, path = "tcp", addr
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, path)
	if err != nil {
		return nil, fmt.Errorf("runtime: dial %s: %w", addr, err)
	}
	c := newSocketClient(nc, log, nil)
	if err := c.hello(ctx, 0); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) hello(ctx context.Context, workerID uint64) error {
	c.cn.start()
	h := &msg{t: mHello, str: protocolMagic, n: ProtocolVersion, n2: int64(workerID)}
	var wdPkg *packedDir // the working dir, packed when the node may need it
	if workerID == 0 {
		// A driver announces its program so that the node runs its tasks
		// in workers of that program (a worker's program is known), and
		// its working dir, where those workers start (workdir.go). Over
		// TCP the node may be on another machine, where the program's
		// path means nothing: the driver offers to send it instead.
		dh := driverHello{Dir: os.Getenv(EnvWorkingDir), Pkg: os.Getenv(EnvWorkingDirPackage), Job: os.Getenv(EnvJobID)}
		tcp := c.cn.nc.RemoteAddr().Network() == "tcp"
		if tcp && dh.Dir != "" && dh.Pkg == "" {
			// A local dir means nothing on the node's machine: offer it as
			// a package, as the job API would have (driver_upload.go).
			p, err := packWorkDir(ctx, dh.Dir)
			if err != nil {
				return err
			}
			defer p.remove()
			wdPkg = p
			dh.Dir, dh.Pkg, dh.UploadPkg = p.dir, p.sum, true
		}
		if id, err := selfBinary(); err == nil {
			dh.BinPath, dh.BinSHA = id.Path, id.SHA256
			dh.Upload = tcp
		} else {
			c.log.Warn("cannot identify this program; tasks run in the node's default workers", "err", err)
		}
		h.str2, h.data = dh.encode()
	}
	c.cn.send(h)
	select {
	case m := <-c.helloCh:
		if m.err != nil {
			return fmt.Errorf("runtime: hello: %w", m.err)
		}
		if m.str != protocolMagic || m.n != ProtocolVersion || len(m.data) != 8 {
			return fmt.Errorf("%w: bad hello from node (%q v%d)", ErrProtocol, m.str, m.n)
		}
		copy(c.prefix[:], m.data)
		c.nodeID = m.str2
		if workerID != 0 {
			return nil
		}
		// The node lacks our program or working dir: it must have them
		// before our first task runs, so Dial returns only once they are
		// stored.
		ask := uploadAsk(m.n2)
		if m.flag {
			if err := c.uploadBinary(ctx, ask&askAcks != 0); err != nil {
				return err
			}
		}
		if ask&askPackage != 0 {
			return c.uploadWorkDir(ctx, wdPkg, ask&askAcks != 0)
		}
		return nil
	case <-c.closedCh:
		return fmt.Errorf("runtime: hello: %w", ErrNotConnected)
	case <-ctx.Done():
		return fmt.Errorf("runtime: hello: %w", ctx.Err())
	}
}

// Close disconnects a socket client. The embedded node's client is closed
// by Node.Stop.
func (c *Client) Close() error {
	if c.cn != nil {
		c.cn.close()
		c.cn.wg.Wait()
	}
	c.markClosed()
	return nil
}

func (c *Client) closeLocal() { c.markClosed() }

func (c *Client) markClosed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.closedCh)
	}
	if c.worker != nil {
		c.worker.connClosed()
	}
}

// NodeID returns the ID of the node this client is connected to.
func (c *Client) NodeID() string { return c.nodeID }

func (c *Client) send(m *msg) {
	if c.node != nil {
		c.node.handle(c.sess, m)
		return
	}
	c.cn.send(m)
}

// deliver receives a message from the node (on the node's goroutine for
// the local client: it must not block or call back into the node).
func (c *Client) deliver(m *msg) {
	switch m.t {
	case mReply, mObject:
		c.mu.Lock()
		ch := c.calls[m.req]
		c.mu.Unlock()
		if ch != nil {
			select {
			case ch <- m:
			default:
				c.log.Warn("dropped reply: caller's buffer full", "req", m.req)
			}
		}
	case mHello:
		select {
		case c.helloCh <- m:
		default:
		}
	case mPush, mCancelTask, mExit, mSteal:
		if c.worker != nil {
			c.worker.onMessage(m)
		}
	case mWarning:
		c.onWarning(m) // demand.go
	}
}

func (c *Client) newCall(buf int) (uint64, chan *msg) {
	req := c.reqSeq.Add(1)
	ch := make(chan *msg, buf)
	c.mu.Lock()
	c.calls[req] = ch
	c.mu.Unlock()
	return req, ch
}

func (c *Client) endCall(req uint64) {
	c.mu.Lock()
	delete(c.calls, req)
	c.mu.Unlock()
}

// call sends a request and waits for its reply.
func (c *Client) call(ctx context.Context, m *msg) (*msg, error) {
	req, ch := c.newCall(1)
	defer c.endCall(req)
	m.req = req
	c.send(m)
	select {
	case r := <-ch:
		if r.err != nil {
			return r, r.err
		}
		return r, nil
	case <-c.closedCh:
		return nil, ErrNotConnected
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Client) nextTaskID() TaskID {
	var t TaskID
	copy(t[:8], c.prefix[:])
	binary.LittleEndian.PutUint64(t[8:], c.seq.Add(1))
	return t
}

// Submit sends a task or actor call and returns the IDs of its returns,
// each holding one local reference of this client. It never blocks on the
// node.
func (c *Client) Submit(spec *TaskSpec) []ObjectID {
	spec.ID = c.nextTaskID()
	ids := make([]ObjectID, spec.NumReturns)
	for i := range ids {
		ids[i] = spec.ID.ReturnID(i)
	}
	if n := c.node; n != nil {
		n.mu.Lock()
		if !n.stopped {
			n.submitLocked(c.sess, spec)
		}
		n.mu.Unlock()
		return ids
	}
	c.send(&msg{t: mSubmit, spec: spec})
	return ids
}

// CreateActor registers an actor and returns its ID once the node accepted
// it (its constructor runs asynchronously).
func (c *Client) CreateActor(ctx context.Context, spec *TaskSpec) (ActorID, error) {
	spec.ID = c.nextTaskID()
	if _, err := c.call(ctx, &msg{t: mCreateActor, spec: spec}); err != nil {
		return ActorID{}, err
	}
	return spec.ID, nil
}

// Put stores an encoded value and returns its ID, holding one local
// reference. The embedded driver writes large values straight into shared
// memory (one copy); socket clients send them in a frame.
func (c *Client) Put(ctx context.Context, e Result) (ObjectID, error) {
	id := c.nextTaskID().ReturnID(0)
	contained := make([]ObjectID, len(e.Refs))
	for i, r := range e.Refs {
		contained[i] = ObjectID(r)
	}
	size := e.Len()
	if c.node != nil {
		n := c.node
		if n.isLarge(size) {
			w, err := n.store.Create(ctx, id, int64(size))
			if err != nil {
				return ObjectID{}, fmt.Errorf("runtime: put: %w", err)
			}
			e.CopyTo(w.Bytes())
			if err := w.Seal(); err != nil {
				return ObjectID{}, fmt.Errorf("runtime: put: %w", err)
			}
			n.mu.Lock()
			n.putLocked(c.sess, id, nil, true, int64(size), contained)
			n.mu.Unlock()
			return id, nil
		}
		n.mu.Lock()
		n.putLocked(c.sess, id, e.Bytes(), false, int64(size), contained)
		n.mu.Unlock()
		return id, nil
	}
	m := &msg{t: mPut, oid: id, payload: &e, ids: contained}
	if size <= objectstore.DefaultInlineThreshold {
		c.send(m)
		return id, nil
	}
	if _, err := c.call(ctx, m); err != nil {
		c.RemoveLocalRef(id)
		return ObjectID{}, fmt.Errorf("runtime: put: %w", err)
	}
	return id, nil
}

// AddLocalRef records one more local reference to id held by this client
// (a ref decoded from a value). Every AddLocalRef is matched by one
// RemoveLocalRef; the node counts them per client.
func (c *Client) AddLocalRef(id ObjectID) {
	if c.isClosed() {
		return
	}
	if n := c.node; n != nil {
		n.mu.Lock()
		if _, ok := n.objects[id]; (ok || n.countForeignLocked(id)) && !n.stopped {
			n.refs.AddLocal(id, c.sess.holder)
			n.borrowLocked([]ObjectID{id}) // borrow.go
		}
		n.mu.Unlock()
		return
	}
	c.send(&msg{t: mAddRef, ids: []ObjectID{id}})
}

// RemoveLocalRef drops one local reference (the one that Submit, Put or
// AddLocalRef created); when none remain anywhere the node frees the object.
func (c *Client) RemoveLocalRef(id ObjectID) {
	if c.isClosed() {
		return
	}
	if n := c.node; n != nil {
		n.mu.Lock()
		if !n.stopped {
			n.freeLocked(n.refs.RemoveLocal(id, c.sess.holder))
		}
		n.mu.Unlock()
		return
	}
	c.send(&msg{t: mDelRef, ids: []ObjectID{id}})
}

func (c *Client) isClosed() bool {
	select {
	case <-c.closedCh:
		return true
	default:
		return false
	}
}

// Get waits for ids and returns their values (or failures) in order.
func (c *Client) Get(ctx context.Context, ids []ObjectID) ([]Value, error) {
	req, ch := c.newCall(len(ids) + 1)
	defer c.endCall(req)
	c.send(&msg{t: mGet, req: req, ids: ids, flag: true})
	vals := make([]Value, len(ids))
	got := 0
	blocked := false
	defer func() {
		if blocked {
			c.worker.block(false)
		}
	}()
	var blockTimer <-chan time.Time
	if c.worker != nil {
		t := time.NewTimer(time.Millisecond)
		defer t.Stop()
		blockTimer = t.C
	}
	for got < len(ids) {
		select {
		case m := <-ch:
			if m.t == mReply {
				releaseValues(vals)
				return nil, replyErr(m)
			}
			i := int(m.n)
			if i < 0 || i >= len(ids) {
				continue
			}
			got++
			switch {
			case m.err != nil:
				vals[i].Err = m.err
			case m.flag && c.node != nil:
				obj, err := c.node.store.Get(ctx, ids[i])
				if err != nil {
					if ctx.Err() != nil {
						c.send(&msg{t: mUnsub, req: req})
						releaseValues(vals)
						return nil, ctx.Err()
					}
					vals[i].Err = lostInfo(ids[i], err.Error())
					continue
				}
				vals[i] = Value{Data: obj.Bytes(), release: obj.Release}
			case m.str != "":
				// A store file on this machine: map it (zero copy).
				obj, err := objectstore.OpenShared(m.str, m.n2)
				if err != nil {
					// It moved (spilled or freed) since the reply: ask
					// for the bytes instead.
					v, err := c.getInline(ctx, ids[i])
					if err != nil {
						c.send(&msg{t: mUnsub, req: req})
						releaseValues(vals)
						return nil, err
					}
					vals[i] = v
					continue
				}
				vals[i] = Value{Data: obj.Bytes(), release: obj.Release}
			default:
				vals[i].Data = m.data
			}
		case <-blockTimer:
			blocked = true
			c.worker.block(true)
		case <-c.closedCh:
			releaseValues(vals)
			return nil, ErrNotConnected
		case <-ctx.Done():
			c.send(&msg{t: mUnsub, req: req})
			releaseValues(vals)
			return nil, ctx.Err()
		}
	}
	return vals, nil
}

// getInline fetches one object with its bytes in the reply.
func (c *Client) getInline(ctx context.Context, id ObjectID) (Value, error) {
	req, ch := c.newCall(2)
	defer c.endCall(req)
	c.send(&msg{t: mGet, req: req, ids: []ObjectID{id}, flag: true, n: 1})
	select {
	case m := <-ch:
		if m.t == mReply {
			return Value{}, replyErr(m)
		}
		return Value{Data: m.data, Err: m.err}, nil
	case <-c.closedCh:
		return Value{}, ErrNotConnected
	case <-ctx.Done():
		c.send(&msg{t: mUnsub, req: req})
		return Value{}, ctx.Err()
	}
}

func releaseValues(vals []Value) {
	for i := range vals {
		vals[i].Release()
	}
}

// Wait waits until numReady of ids are ready (numReady <= 0: all), timeout
// passes (timeout < 0: none) or ctx ends, and reports which are ready.
func (c *Client) Wait(ctx context.Context, ids []ObjectID, numReady int, timeout time.Duration) ([]bool, error) {
	if numReady <= 0 || numReady > len(ids) {
		numReady = len(ids)
	}
	req, ch := c.newCall(len(ids) + 1)
	defer c.endCall(req)
	c.send(&msg{t: mGet, req: req, ids: ids})
	ready := make([]bool, len(ids))
	got := 0
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	blocked := false
	defer func() {
		if blocked {
			c.worker.block(false)
		}
	}()
	if c.worker != nil && timeout != 0 {
		blocked = true
		c.worker.block(true)
	}
	drain := func() {
		for {
			select {
			case m := <-ch:
				if m.t == mObject && m.n >= 0 && int(m.n) < len(ids) && !ready[m.n] {
					ready[m.n] = true
					got++
				}
			default:
				return
			}
		}
	}
	for got < numReady {
		select {
		case m := <-ch:
			if m.t == mReply {
				return nil, replyErr(m)
			}
			if m.n == -1 { // the node's answers for objects ready right now are in
				if timeout == 0 {
					drain()
					c.send(&msg{t: mUnsub, req: req})
					return ready, nil
				}
				continue
			}
			if m.n >= 0 && int(m.n) < len(ids) && !ready[m.n] {
				ready[m.n] = true
				got++
			}
		case <-tc:
			drain()
			c.send(&msg{t: mUnsub, req: req})
			return ready, nil
		case <-c.closedCh:
			return nil, ErrNotConnected
		case <-ctx.Done():
			c.send(&msg{t: mUnsub, req: req})
			return nil, ctx.Err()
		}
	}
	drain()
	if got < len(ids) {
		c.send(&msg{t: mUnsub, req: req})
	}
	return ready, nil
}

// Cancel cancels the task producing id.
func (c *Client) Cancel(ctx context.Context, id ObjectID, force bool) error {
	_, err := c.call(ctx, &msg{t: mCancel, oid: id, flag: force})
	return err
}

// KillActor kills an actor (noRestart: for good).
func (c *Client) KillActor(ctx context.Context, id ActorID, noRestart bool) error {
	_, err := c.call(ctx, &msg{t: mKill, tid: id, flag: noRestart})
	return err
}

// GetNamedActor looks up a live named actor.
func (c *Client) GetNamedActor(ctx context.Context, name string) (ActorInfo, error) {
	r, err := c.call(ctx, &msg{t: mGetActor, str: name})
	if err != nil {
		return ActorInfo{}, err
	}
	return ActorInfo{ID: r.tid, Class: r.str}, nil
}

// resourcesCluster in an mResources request asks for the whole cluster's
// resources instead of the node's own.
const resourcesCluster = 1

// ClusterResources returns the total and available resources of the whole
// cluster: the node's own plus its live peers'.
func (c *Client) ClusterResources(ctx context.Context) (map[string]float64, map[string]float64, error) {
	r, err := c.call(ctx, &msg{t: mResources, n: resourcesCluster})
	if err != nil {
		return nil, nil, err
	}
	return r.res, r.res2, nil
}

// NodeResources returns the total and available resources of the node the
// client is connected to, which is what the node itself broadcasts.
func (c *Client) NodeResources(ctx context.Context) (map[string]float64, map[string]float64, error) {
	r, err := c.call(ctx, &msg{t: mResources})
	if err != nil {
		return nil, nil, err
	}
	return r.res, r.res2, nil
}

// CreatePlacementGroup reserves bundles; it returns the group's ID.
func (c *Client) CreatePlacementGroup(ctx context.Context, bundles []map[string]float64, s PGStrategy, name string) (string, error) {
	r, err := c.call(ctx, &msg{t: mPGCreate, bundles: bundles, n: int64(s), str: name})
	if err != nil {
		return "", err
	}
	return r.str, nil
}

// PlacementGroupReady waits until the group is reserved.
func (c *Client) PlacementGroupReady(ctx context.Context, id string) error {
	_, err := c.call(ctx, &msg{t: mPGReady, str: id})
	return err
}

// RemovePlacementGroup releases a group.
func (c *Client) RemovePlacementGroup(ctx context.Context, id string) error {
	_, err := c.call(ctx, &msg{t: mPGRemove, str: id})
	return err
}

func replyErr(m *msg) error {
	if m.err == nil {
		return errors.New("runtime: unexpected reply")
	}
	return m.err
}
