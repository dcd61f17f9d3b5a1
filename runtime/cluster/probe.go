package cluster

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/goray/goray/runtime/cluster/proto/clusterv1"
)

// ProbeAddr asks the node nodeID, last seen at addr, to answer a Ping over
// a connection of its own, whatever the membership says of the node. It is
// the direct check behind decisions that must not rest on the failure
// detector alone, such as killing the actors of a node declared dead: a
// node that merely stalled (a stopped process, a loaded machine) answers
// once it runs again, while a node that died refuses the connection at
// once. A stalled process's kernel still completes the TCP handshake, so
// only a reply counts: ProbeAddr returns nil when nodeID answered before
// ctx ended, and an error wrapping ErrPeerUnavailable otherwise (refused,
// timed out, or another node now at addr).
func (r *RPC) ProbeAddr(ctx context.Context, nodeID, addr string) error {
	if addr == "" {
		return fmt.Errorf("%w: probe %s: no address", ErrPeerUnavailable, short(nodeID))
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(r.dialPeer))
	if err != nil {
		return fmt.Errorf("%w: probe %s at %s: %w", ErrPeerUnavailable, short(nodeID), addr, err)
	}
	defer func() { _ = conn.Close() }()
	// Not WaitForReady: a refused dial puts the connection in transient
	// failure, which fails the call at once, while a connection still
	// waiting for the peer's HTTP/2 preface (a stopped process) holds it
	// until the preface comes or ctx ends.
	resp, err := pb.NewClusterServiceClient(conn).Ping(ctx, &pb.PingRequest{FromNodeId: r.cfg.NodeID})
	if err != nil {
		return fmt.Errorf("%w: probe %s at %s: %w", ErrPeerUnavailable, short(nodeID), addr, err)
	}
	if resp.GetNodeId() != nodeID {
		return fmt.Errorf("%w: probe %s at %s reached node %s", ErrPeerUnavailable, short(nodeID), addr, short(resp.GetNodeId()))
	}
	return nil
}
