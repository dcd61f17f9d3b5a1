package cluster_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/goray/goray/runtime/cluster"
)

// ProbeAddr counts only a reply from the node asked for: a live node
// answers, another node at the address or a closed port does not, and a
// port whose process accepts connections but never replies (a stopped
// process, whose kernel completes the handshake) fails when ctx ends,
// not before.
func TestRPCProbeAddr(t *testing.T) {
	a, b := rpcPair(t, cluster.TLSFiles{}, cluster.TLSFiles{})
	ctx := t.Context()
	if err := a.ProbeAddr(ctx, "b", b.Addr()); err != nil {
		t.Fatalf("probe of a live node: %v", err)
	}
	if err := a.ProbeAddr(ctx, "c", b.Addr()); !errors.Is(err, cluster.ErrPeerUnavailable) {
		t.Fatalf("probe of node c at node b's address: %v, want ErrPeerUnavailable", err)
	}
	if err := a.ProbeAddr(ctx, "b", ""); !errors.Is(err, cluster.ErrPeerUnavailable) {
		t.Fatalf("probe without an address: %v, want ErrPeerUnavailable", err)
	}

	// A port nobody listens on any more: refused, long before ctx ends.
	var lc net.ListenConfig
	closed, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	_ = closed.Close()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := a.ProbeAddr(rctx, "b", closedAddr); !errors.Is(err, cluster.ErrPeerUnavailable) {
		t.Fatalf("probe of a closed port: %v, want ErrPeerUnavailable", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("probe of a closed port took %v: a refusal must fail at once", took)
	}

	// A listener that never accepts: the kernel completes the handshake
	// into its backlog, as for a stopped process.
	mute, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = mute.Close() }()
	const wait = 300 * time.Millisecond
	mctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	start = time.Now()
	if err := a.ProbeAddr(mctx, "b", mute.Addr().String()); !errors.Is(err, cluster.ErrPeerUnavailable) {
		t.Fatalf("probe of a mute port: %v, want ErrPeerUnavailable", err)
	}
	if took := time.Since(start); took < wait {
		t.Fatalf("probe of a mute port gave up after %v, before its ctx ended (%v)", took, wait)
	}
}
