package remote

import (
	"context"
	"os"
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

// pkgFetchTimeout bounds one package fetch (512 MiB at worst).
const pkgFetchTimeout = 5 * time.Minute

// startPackages subscribes the package frames; Start calls it.
func (e *Engine) startPackages() []func() {
	return []func(){
		e.tr.Subscribe(kindPkgReq, e.onPkgReq),
		e.tr.Subscribe(kindPkg, e.chunked(e.pkgs.onReply)),
	}
}

// ensurePackage makes sure the package sum is stored here, fetching it
// from node from when it is not (content.go). AddPackage checks the hash
// before it unpacks.
func (e *Engine) ensurePackage(ctx context.Context, from, sum string) error {
	if sum == "" {
		return nil
	}
	return e.fetchContent(ctx, &e.pkgs, from, sum, func() bool { return e.node.HasPackage(sum) },
		func(b []byte) error { return e.node.AddPackage(sum, b) })
}

// onPkgReq sends a stored package's archive, or an empty payload when this
// node does not have it.
func (e *Engine) onPkgReq(_ context.Context, f cluster.Frame) {
	e.serveContent(f, kindPkg, "working_dir package", func(sum string) []byte {
		path := e.node.PackageArchive(sum)
		if path == "" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			e.log.Warn("cannot read a working_dir package", "sha256", sum, "err", err)
			return nil
		}
		return b
	})
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
