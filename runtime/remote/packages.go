package remote

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
)

// Working-dir packages between daemons.
//
// A forwarded task names the package of its driver's working dir
// (ForwardMessage.Package). A node that lacks it asks the sender, which
// has it because it runs workers in it, and receives the archive in
// chunks over the bulk lane, exactly like a driver's program. The node
// verifies the archive's sha256 before unpacking it (grt.Node.AddPackage),
// so a peer cannot make it run anything under a name that is not its
// content's. One fetch per package serves every task that waits for it.

// Frame kinds of package transfers.
const (
	kindPkgReq = "rt.pkgreq/v1" // sha256 (hex); ID = request ID
	kindPkg    = "rt.pkg/v1"    // chunked: the package's archive (empty: not here); ID = request ID
)

// pkgFetches tracks package fetches in flight. Its zero value is ready.
type pkgFetches struct {
	mu       sync.Mutex
	inFlight map[string]*pkgFetch // by sha256
	replies  map[uint64]chan []byte
}

// pkgFetch is one package being fetched; err is set before done closes.
type pkgFetch struct {
	done    chan struct{}
	err     error
	waiters int // callers waiting for this fetch besides its own (tests observe it)
}

// pkgFetchTimeout bounds one package fetch (512 MiB at worst).
const pkgFetchTimeout = 5 * time.Minute

// startPackages subscribes the package frames; Start calls it.
func (e *Engine) startPackages() []func() {
	return []func(){
		e.tr.Subscribe(kindPkgReq, e.onPkgReq),
		e.tr.Subscribe(kindPkg, e.chunked(e.onPkg)),
	}
}

// ensurePackage makes sure the package sum is stored here, fetching it
// from node from when it is not. Concurrent callers for the same package
// share one fetch and its outcome.
func (e *Engine) ensurePackage(ctx context.Context, from, sum string) error {
	if sum == "" || e.node.HasPackage(sum) {
		return nil
	}
	p := &e.pkgs
	p.mu.Lock()
	if f, ok := p.inFlight[sum]; ok {
		f.waiters++
		p.mu.Unlock()
		select {
		case <-f.done:
			return f.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f := &pkgFetch{done: make(chan struct{})}
	if p.inFlight == nil {
		p.inFlight = map[string]*pkgFetch{}
		p.replies = map[uint64]chan []byte{}
	}
	p.inFlight[sum] = f
	p.mu.Unlock()
	f.err = e.fetchPackage(ctx, from, sum)
	p.mu.Lock()
	delete(p.inFlight, sum)
	p.mu.Unlock()
	close(f.done)
	return f.err
}

// fetchPackage asks from for the package and stores what it sends.
func (e *Engine) fetchPackage(ctx context.Context, from, sum string) error {
	p := &e.pkgs
	rid := e.nextID.Add(1)
	got := make(chan []byte, 1)
	p.mu.Lock()
	p.replies[rid] = got
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.replies, rid)
		p.mu.Unlock()
	}()
	start := time.Now()
	if err := e.tr.Send(ctx, from, cluster.Frame{Kind: kindPkgReq, ID: rid, Last: true, Payload: []byte(sum)}); err != nil {
		return fmt.Errorf("working_dir package %.12s: ask node %s: %w", sum, from, err)
	}
	select {
	case b := <-got:
		if len(b) == 0 {
			return fmt.Errorf("working_dir package %.12s: node %s does not have it", sum, from)
		}
		if err := e.node.AddPackage(sum, b); err != nil {
			return fmt.Errorf("working_dir package %.12s from node %s: %w", sum, from, err)
		}
		e.log.Info("fetched a working_dir package", "sha256", sum[:12], "from", from, "bytes", len(b), "took", time.Since(start))
		return nil
	case <-ctx.Done():
		return fmt.Errorf("working_dir package %.12s from node %s: %w", sum, from, ctx.Err())
	}
}

// onPkgReq sends a stored package's archive, or an empty payload when this
// node does not have it.
func (e *Engine) onPkgReq(_ context.Context, f cluster.Frame) {
	sum := string(f.Payload)
	go func() {
		data := []byte{}
		if path := e.node.PackageArchive(sum); path != "" {
			if b, err := os.ReadFile(path); err == nil {
				data = b
			} else {
				e.log.Warn("cannot read a working_dir package", "sha256", sum, "err", err)
			}
		}
		if err := e.sendPayload(context.Background(), f.From, kindPkg, f.ID, data); err != nil {
			e.log.Warn("cannot send a working_dir package", "to", f.From, "err", err)
		}
	}()
}

func (e *Engine) onPkg(_ string, id uint64, payload []byte) {
	p := &e.pkgs
	p.mu.Lock()
	ch := p.replies[id]
	p.mu.Unlock()
	if ch != nil {
		select {
		case ch <- payload:
		default:
		}
	}
}

// forwardedPool prepares what a forwarded task needs besides its program
// (its working-dir package) and returns the worker pool it runs in.
func (e *Engine) forwardedPool(from string, fm *grt.ForwardMessage) (string, error) {
	if fm.Package != "" {
		ctx, cancel := context.WithTimeout(context.Background(), pkgFetchTimeout)
		err := e.ensurePackage(ctx, from, fm.Package)
		cancel()
		if err != nil {
			return "", err
		}
	}
	return e.node.WorkerPool(fm.Binary, fm.Package), nil
}
