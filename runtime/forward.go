package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Forwarded tasks: the receiving half of ClusterHooks.Forward. A peer
// sends a normal task whose arguments are all inline; the node runs it here
// (never forwarding it again: the sender's policy already chose this node)
// in a worker of the sender's program, and reports its results once.

// forwardedArgBase numbers the store objects a forwarded task's large
// arguments become (as return indexes of its ID, far above any real
// return), so that they need no IDs of their own.
const forwardedArgBase = 1 << 20

// ForwardMessage is what travels between nodes for one forwarded task:
// the spec and the program to run it in.
type ForwardMessage struct {
	Spec *TaskSpec
	// Binary is the hex sha256 of the program ("" the receiver's default).
	Binary string
	// Package is the hex sha256 of the working-dir package the task's
	// workers run in ("" none): the receiver fetches it from the sender
	// when it lacks it.
	Package string
	// Release, on the sending node, unpins the argument bytes once the
	// message is encoded; not on the wire.
	Release func()
}

// EncodeForward serialises a forwarded task with the node protocol's
// codec.
func EncodeForward(f *ForwardMessage) []byte {
	var e enc
	e.u8(ProtocolVersion)
	e.str(f.Binary)
	e.str(f.Package)
	e.taskspec(f.Spec)
	// Appended after the spec, so a peer that predates it ignores it and
	// one that expects it reads a message without it as no job.
	e.str(f.Spec.Job)
	return e.b
}

// DecodeForward parses EncodeForward's output; errors wrap ErrProtocol.
func DecodeForward(b []byte) (*ForwardMessage, error) {
	d := &dec{b: b}
	if v := d.u8(); d.err == nil && v != ProtocolVersion {
		return nil, fmt.Errorf("%w: forwarded task of protocol v%d, want v%d", ErrProtocol, v, ProtocolVersion)
	}
	f := &ForwardMessage{Binary: d.str()}
	f.Package = d.str()
	f.Spec = d.taskspec()
	if d.err == nil && len(d.b) > 0 {
		f.Spec.Job = d.str()
	}
	if d.err != nil {
		return nil, d.err
	}
	return f, nil
}

// EncodeResults serialises a forwarded task's outcome.
func EncodeResults(results [][]byte, e *ErrorInfo) []byte {
	var x enc
	x.boolean(e != nil)
	if e != nil {
		x.errinfo(e)
		return x.b
	}
	x.uv(uint64(len(results)))
	for _, r := range results {
		x.bytes(r)
	}
	return x.b
}

// DecodeResults parses EncodeResults's output.
func DecodeResults(b []byte) ([][]byte, *ErrorInfo, error) {
	d := &dec{b: b}
	if d.boolean() {
		e := d.errinfo()
		return nil, e, d.err
	}
	n := d.count(1)
	out := make([][]byte, 0, n)
	for range n {
		out = append(out, d.bytes())
	}
	return out, nil, d.err
}

// HasBinary reports whether the node can start workers of the program with
// this sha256 ("" is the default program).
func (n *Node) HasBinary(sum string) bool {
	if sum == "" || sum == n.defaultBinaryHash() {
		return true
	}
	n.mu.Lock()
	_, ok := n.bins[sum]
	n.mu.Unlock()
	if ok {
		return true
	}
	// Another node on this machine may have cached it already.
	if _, err := os.Stat(filepath.Join(n.binDir, sum)); err == nil {
		n.mu.Lock()
		n.bins[sum] = []string{filepath.Join(n.binDir, sum)}
		n.mu.Unlock()
		return true
	}
	return false
}

// BinaryFor returns the sha256 and the local path of the program whose
// workers run tasks of pool bin (a sha256, or "" for the default); path is
// "" if the default worker command is not a plain binary.
func (n *Node) BinaryFor(bin string) (sum, path string) {
	if bin != "" {
		return bin, filepath.Join(n.binDir, bin)
	}
	n.mu.Lock()
	argv, err := n.workerArgvLocked("")
	n.mu.Unlock()
	if err != nil || len(argv) != 1 {
		return "", ""
	}
	return n.defaultBinaryHash(), argv[0]
}

// AddBinary stores the program read from r, which must have sha256 sum, in
// the binary cache and registers its worker pool.
func (n *Node) AddBinary(sum string, r io.Reader) error {
	if len(sum) != 64 {
		return fmt.Errorf("%w: bad sha256 %q", ErrBinaryMismatch, sum)
	}
	if err := os.MkdirAll(n.binDir, 0o755); err != nil {
		return fmt.Errorf("binary cache: %w", err)
	}
	dst := filepath.Join(n.binDir, sum)
	tmp, err := os.CreateTemp(n.binDir, sum[:16]+".tmp*")
	if err != nil {
		return fmt.Errorf("binary cache: %w", err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != sum {
		err = fmt.Errorf("%w: received program does not have sha256 %s", ErrBinaryMismatch, sum[:12])
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o755)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("binary cache: %w", err)
	}
	n.mu.Lock()
	n.bins[sum] = []string{dst}
	n.mu.Unlock()
	return nil
}

// RunForwarded runs a task forwarded by a peer here, in workers of program
// bin (registered: HasBinary or AddBinary), and calls done exactly once,
// from another goroutine, with its encoded results or its failure.
func (n *Node) RunForwarded(spec *TaskSpec, bin string, done func(results [][]byte, e *ErrorInfo)) {
	n.runForwarded("", spec, bin, func(rs []ForwardResult, e *ErrorInfo) {
		var out [][]byte
		if rs != nil {
			out = make([][]byte, len(rs))
			for i, r := range rs {
				out[i] = r.Data
			}
		}
		done(out, e)
	})
}

// runForwarded is RunForwarded and RunForwardedFor (lineage.go): with an
// owner node, a normal task's large results stay here, kept for it.
func (n *Node) runForwarded(owner string, spec *TaskSpec, bin string, done func([]ForwardResult, *ErrorInfo)) {
	if n.handBackIfDraining(spec, func(r [][]byte, e *ErrorInfo) { done(inlineResults(r), e) }) { // drain.go
		return
	}
	n.defaultBinaryHash()
	n.log.Debug("running a forwarded task", "task", spec.ID, "func", spec.Func)
	borrowed := argRefs(spec) // borrow.go: before large arguments become store objects
	// Large arguments go into the store first (without n.mu: the store may
	// spill), so that the worker maps them instead of receiving them
	// through its socket. They are objects of the task's own session and
	// are freed with its results.
	var argIDs []ObjectID
	var argSizes []int64
	for i, a := range spec.Args {
		if spec.Kind == KindActorCreate || a.IsRef || !n.isLarge(len(a.Data)) {
			continue
		}
		id := spec.ID.ReturnID(forwardedArgBase + i)
		if err := n.storeLarge(id, a.Data); err != nil {
			continue // it travels inline instead
		}
		argIDs = append(argIDs, id)
		argSizes = append(argSizes, int64(len(a.Data)))
		spec.Args[i] = Arg{IsRef: true, Ref: id}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		go done(nil, &ErrorInfo{Kind: ErrKindSystem, Task: spec.Func, Message: ErrStopped.Error()})
		return
	}
	if bin == n.defHash { // defaultBinaryHash was computed by HasBinary
		bin = ""
	}
	s := n.newSessionLocked()
	s.bin = bin
	s.forwarded = true
	if owner != "" {
		s.origin = &taskOrigin{node: owner, task: spec.ID} // demand.go: its warnings go back there
	}
	for i, id := range argIDs {
		n.putLocked(s, id, nil, true, argSizes[i], nil)
	}
	if spec.NumReturns == 0 && spec.Kind != KindActorCreate {
		spec.NumReturns = 1
	}
	results := make([]ForwardResult, spec.NumReturns)
	// Large results of a normal task stay here for their owner node.
	keep := owner != "" && spec.Kind == KindNormal
	s.sameHost = keep // a store object's reply then names its file instead of copying it
	got := 0
	var fail *ErrorInfo
	ids := make([]ObjectID, spec.NumReturns)
	for i := range ids {
		ids[i] = spec.ID.ReturnID(i)
	}
	// The sink runs under n.mu (objects become ready inside locked code),
	// so the cleanup, which frees objects, runs after it returns.
	s.sink = func(m *msg) {
		if m.t != mObject || m.n < 0 || int(m.n) >= len(results) {
			return
		}
		if m.err != nil && fail == nil {
			fail = m.err
		}
		if keep && m.err == nil && m.str != "" {
			results[m.n] = ForwardResult{Node: n.id, Size: m.n2}
			n.refs.AddLocal(m.oid, heldFor(owner))
		} else {
			results[m.n] = ForwardResult{Data: m.data}
		}
		if got++; got < len(results) {
			return
		}
		go func() {
			n.mu.Lock()
			n.holdResultRefsLocked(owner, results) // borrow.go: until owner counted them
			s.closed = true
			delete(n.sessions, s)
			for _, id := range append(ids, argIDs...) {
				n.freeLocked(n.refs.RemoveLocal(id, s.holder))
			}
			if fail != nil && keep {
				for _, id := range ids {
					n.freeLocked(n.refs.RemoveLocal(id, heldFor(owner)))
				}
			}
			n.mu.Unlock()
			if fail != nil {
				done(nil, fail)
				return
			}
			done(results, nil)
		}()
	}
	spec.Parent = TaskID{} // the parent lives on the sender
	// borrow.go: the task counts the refs nested in its arguments while it
	// is pending; once counted, the sender's in-flight holds may go.
	spec.Contained = append(spec.Contained, borrowed...)
	defer n.receivedRefsLocked(owner, borrowed)
	if spec.Kind == KindActorCreate {
		// The actor lives here from now on; its calls follow on the same
		// stream. A constructor that fails fails those calls here.
		e := n.createActorLocked(s, spec)
		go done(nil, e)
		return
	}
	n.submitLocked(s, spec)
	n.getLocked(s, 1, ids, true, !keep)
}

// CancelForwarded cancels task id, forwarded here by a peer whose owner
// cancelled it (its job stopped, or Cancel). Unknown or finished tasks are
// ignored: the cancel may cross the task's result.
func (n *Node) CancelForwarded(id TaskID, force bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if t := n.tasks[id]; t != nil && t.owner != nil && t.owner.forwarded && t.state != tDone && !t.cancelled {
		n.cancelTaskLocked(t, force)
	}
}
