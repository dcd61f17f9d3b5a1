package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/goray/goray/runtime/cluster/proto/clusterv1"
)

// ChunkSize is the payload size SendChunked cuts large payloads into: Ray's
// object-manager chunk size (5 MiB).
const ChunkSize = 5 << 20

// maxMessage leaves room for a chunk plus frame overhead (gRPC's default
// receive limit of 4 MiB is below one chunk).
const maxMessage = ChunkSize + 1<<20

// Flow-control window and socket buffer sizes. gRPC's defaults (64 KiB
// windows grown by BDP probing, 32 KiB buffers) cap a loopback stream at
// roughly a third of raw TCP; a fixed 16 MiB window (about three chunks in
// flight per peer at most) and 1 MiB buffers lift that substantially while
// still bounding memory per peer.
const (
	streamWindow = 16 << 20
	ioBuffer     = 1 << 20
)

// nodeIDHeader carries the sender's node ID on every Stream.
const nodeIDHeader = "goray-node-id"

// Transport errors.
var (
	// ErrUnknownNode means no RPC address is known for the node (it is not a
	// live member).
	ErrUnknownNode = errors.New("cluster: unknown node")
	// ErrPeerUnavailable means the peer could not be reached or its stream
	// broke; the frame was not (fully) sent. Retrying opens a new stream.
	ErrPeerUnavailable = errors.New("cluster: peer unavailable")
	// ErrClosed means the transport has been closed.
	ErrClosed = errors.New("cluster: transport closed")
)

// Frame is one opaque message between daemons. The engine decides what
// Payload means from Kind.
type Frame struct {
	// From is the sender's node ID (filled in on receipt).
	From string
	// Kind routes the frame to the handler subscribed to it.
	Kind string
	// ID correlates frames: a request and its reply, the chunks of a payload.
	ID uint64
	// Chunk is the index of the frame within a chunked payload.
	Chunk uint32
	// Last marks the final (or only) frame of a payload.
	Last    bool
	Payload []byte
}

// FrameHandler receives frames of one kind. Handlers for frames from one
// sender run one at a time, in order, on that sender's stream goroutine: a slow
// handler slows only that sender (gRPC flow control pushes back), so a handler
// that does real work should hand it off. f.Payload is freshly allocated and
// the handler's to keep.
type FrameHandler func(ctx context.Context, f Frame)

// Transport moves frames between nodes. It is what the engine builds task
// submission, actor calls and object transfer on; RPC implements it over gRPC.
type Transport interface {
	// Send delivers f to the node, in order with earlier Sends to the same
	// node. It returns once gRPC has accepted the frame (its flow-control
	// window bounds the bytes in flight per peer), or with ctx's error.
	Send(ctx context.Context, nodeID string, f Frame) error
	// Subscribe registers h for frames of kind; cancel removes it.
	Subscribe(kind string, h FrameHandler) (cancel func())
}

// BulkSender is implemented by transports with a separate lane for large
// frames (RPC's SendBulk). Bulk frames are ordered among themselves, not with
// Send frames.
type BulkSender interface {
	SendBulk(ctx context.Context, nodeID string, f Frame) error
}

// SendChunked sends payload as ChunkSize frames with Chunk = 0,1,... and Last
// on the final one, over the bulk lane when t has one (BulkSender), else with
// Send. Each frame is handed over before the next is cut, so memory in flight
// per peer stays about one chunk plus the socket or HTTP/2 window, whatever
// the payload size. Chunks of one payload arrive in order; they are not
// ordered with frames sent by Send.
func SendChunked(ctx context.Context, t Transport, nodeID, kind string, id uint64, payload []byte) error {
	send := t.Send
	if b, ok := t.(BulkSender); ok {
		send = b.SendBulk
	}
	chunk := uint32(0)
	for {
		n := min(len(payload), ChunkSize)
		f := Frame{Kind: kind, ID: id, Chunk: chunk, Last: n == len(payload), Payload: payload[:n]}
		if err := send(ctx, nodeID, f); err != nil {
			return fmt.Errorf("cluster: send chunk %d of %s/%d: %w", chunk, kind, id, err)
		}
		if f.Last {
			return nil
		}
		payload = payload[n:]
		chunk++
	}
}

// TLSFiles names PEM files for daemon RPC TLS. With CertFile and KeyFile set
// the server speaks TLS; with CAFile set as well, both sides verify each other
// against that CA (mutual TLS) and clients present the same certificate.
type TLSFiles struct {
	CertFile string
	KeyFile  string
	CAFile   string
}

// Enabled reports whether TLS is configured.
func (f TLSFiles) Enabled() bool { return f.CertFile != "" || f.KeyFile != "" || f.CAFile != "" }

// Config builds the tls.Config for one side ("server" or "client").
func (f TLSFiles) Config(server bool) (*tls.Config, error) {
	if f.CertFile == "" || f.KeyFile == "" {
		return nil, fmt.Errorf("cluster: rpc tls: need both cert file and key file (have cert %q, key %q)", f.CertFile, f.KeyFile)
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("cluster: rpc tls: load key pair %s, %s: %w", f.CertFile, f.KeyFile, err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cluster: rpc tls: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cluster: rpc tls: %s holds no PEM certificate", f.CAFile)
		}
		if server {
			c.ClientCAs = pool
			c.ClientAuth = tls.RequireAndVerifyClientCert
		} else {
			c.RootCAs = pool
		}
	}
	return c, nil
}

// RPCConfig configures an RPC endpoint.
type RPCConfig struct {
	// NodeID and Version identify this node in Ping answers and on streams.
	NodeID  string
	Version string
	// Resolve maps a node ID to its RPC address (usually from membership).
	Resolve func(nodeID string) (addr string, ok bool)
	// Info answers NodeInfo; nil answers with the ID and version only.
	Info func(ctx context.Context) *pb.NodeInfoResponse
	TLS  TLSFiles
	Log  *slog.Logger
}

// RPC is this node's goray.cluster.v1 endpoint: the gRPC server on the RPC
// port and a pool of one client stream per peer. It implements Transport.
type RPC struct {
	cfg       RPCConfig
	log       *slog.Logger
	srv       *grpc.Server
	serverTLS *tls.Config // nil: plaintext; else the mux terminates TLS
	clientTLS *tls.Config

	mu    sync.Mutex
	peers map[string]*peer
	subs  map[string]map[int]FrameHandler
	// streamSubs take frames of their kind with the payload unread (stream.go).
	streamSubs map[string]streamSub
	nextID     int
	closed     bool
	ctx        context.Context // cancelled by Close; parent of peer streams
	cancel     context.CancelFunc
	lis        net.Listener
	// bulkConns are inbound bulk connections, closed by Close.
	bulkConns map[net.Conn]struct{}
}

var (
	_ Transport  = (*RPC)(nil)
	_ BulkSender = (*RPC)(nil)
)

// NewRPC prepares the endpoint; Listen starts serving.
func NewRPC(cfg RPCConfig) (*RPC, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &RPC{cfg: cfg, log: log, peers: map[string]*peer{}, subs: map[string]map[int]FrameHandler{}, streamSubs: map[string]streamSub{}, bulkConns: map[net.Conn]struct{}{}}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage),
		grpc.InitialWindowSize(streamWindow), grpc.InitialConnWindowSize(streamWindow),
		grpc.ReadBufferSize(ioBuffer), grpc.WriteBufferSize(ioBuffer),
	}
	if cfg.TLS.Enabled() {
		// TLS is terminated by the port multiplexer (see bulk.go) for gRPC
		// and the bulk lane alike; gRPC itself then runs over the
		// already-secured connection.
		var err error
		if r.serverTLS, err = cfg.TLS.Config(true); err != nil {
			return nil, err
		}
		if r.clientTLS, err = cfg.TLS.Config(false); err != nil {
			return nil, err
		}
	}
	r.srv = grpc.NewServer(opts...)
	pb.RegisterClusterServiceServer(r.srv, &service{r: r})
	return r, nil
}

// Listen binds addr and serves in the background. It returns the bound
// address (useful with port 0).
func (r *RPC) Listen(ctx context.Context, addr string) (net.Addr, error) {
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: rpc listen %s: %w", addr, err)
	}
	mux := newMuxListener(lis, r.serverTLS, r.serveBulk)
	r.mu.Lock()
	r.lis = mux
	r.mu.Unlock()
	go func() {
		if err := r.srv.Serve(mux); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			r.log.Error("rpc server stopped", "err", err)
		}
	}()
	return lis.Addr(), nil
}

// Addr is the bound RPC address ("" before Listen).
func (r *RPC) Addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lis == nil {
		return ""
	}
	return r.lis.Addr().String()
}

// Close stops the server (gracefully until ctx ends, then hard) and closes
// every peer connection.
func (r *RPC) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	peers := r.peers
	r.peers = map[string]*peer{}
	bulk := r.bulkConns
	r.bulkConns = map[net.Conn]struct{}{}
	lis := r.lis
	r.mu.Unlock()
	r.cancel()
	for _, p := range peers {
		p.close()
	}
	for c := range bulk {
		_ = c.Close()
	}
	if lis != nil {
		_ = lis.Close()
	}
	done := make(chan struct{})
	go func() { r.srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.srv.Stop()
		<-done
	}
	return nil
}

// Subscribe implements Transport.
func (r *RPC) Subscribe(kind string, h FrameHandler) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.nextID
	r.nextID++
	if r.subs[kind] == nil {
		r.subs[kind] = map[int]FrameHandler{}
	}
	r.subs[kind][id] = h
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.subs[kind], id)
	}
}

func (r *RPC) dispatch(ctx context.Context, f Frame) {
	if h := r.streamHandler(f.Kind); h != nil {
		body := NewBody(f.Payload)
		f.Payload = nil
		h(ctx, f, body)
		return
	}
	r.mu.Lock()
	hs := make([]FrameHandler, 0, len(r.subs[f.Kind]))
	for _, h := range r.subs[f.Kind] {
		hs = append(hs, h)
	}
	r.mu.Unlock()
	if len(hs) == 0 {
		r.log.Debug("no handler for frame; dropped", "kind", f.Kind, "from", short(f.From))
	}
	for _, h := range hs {
		h(ctx, f)
	}
}

// DropPeer closes the connection to a node (call it when the node leaves or
// fails); a later Send reconnects.
func (r *RPC) DropPeer(nodeID string) {
	r.mu.Lock()
	p := r.peers[nodeID]
	delete(r.peers, nodeID)
	r.mu.Unlock()
	if p != nil {
		p.close()
	}
}

// peer is the client side towards one node: one connection and one stream.
// sem (capacity 1) serialises Send, because a gRPC stream allows one sender,
// and lets a waiting Send give up when its ctx ends.
type peer struct {
	bulk   *bulkConn
	addr   string
	conn   *grpc.ClientConn
	sem    chan struct{}
	stream grpc.BidiStreamingClient[pb.Frame, pb.Frame]
	cancel context.CancelFunc
}

func (p *peer) close() {
	if p.cancel != nil {
		p.cancel()
	}
	_ = p.conn.Close()
	p.bulk.close()
}

func (r *RPC) client(nodeID string) (*peer, error) {
	addr, ok := "", false
	if r.cfg.Resolve != nil {
		addr, ok = r.cfg.Resolve(nodeID)
	}
	if !ok || addr == "" {
		return nil, fmt.Errorf("%w: %s", ErrUnknownNode, nodeID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if p, ok := r.peers[nodeID]; ok && p.addr == addr {
		return p, nil
	} else if ok {
		p.close() // the node moved; never happens within one run, but be safe
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(r.dialPeer),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)),
		grpc.WithInitialWindowSize(streamWindow), grpc.WithInitialConnWindowSize(streamWindow),
		grpc.WithReadBufferSize(ioBuffer), grpc.WithWriteBufferSize(ioBuffer))
	if err != nil {
		return nil, fmt.Errorf("cluster: rpc client for %s: %w", addr, err)
	}
	p := &peer{addr: addr, conn: conn, sem: make(chan struct{}, 1), bulk: &bulkConn{sem: make(chan struct{}, 1)}}
	r.peers[nodeID] = p
	return p, nil
}

// Send implements Transport.
func (r *RPC) Send(ctx context.Context, nodeID string, f Frame) error {
	p, err := r.client(nodeID)
	if err != nil {
		return err
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.sem }()
	if p.stream == nil {
		sctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(r.ctx, nodeIDHeader, r.cfg.NodeID))
		st, err := pb.NewClusterServiceClient(p.conn).Stream(sctx)
		if err != nil {
			cancel()
			return fmt.Errorf("%w: %s: open stream: %w", ErrPeerUnavailable, short(nodeID), err)
		}
		p.stream, p.cancel = st, cancel
		go r.drain(nodeID, st)
	}
	// Stream.Send has no context; if ctx ends while it is blocked on flow
	// control, cancel the stream (the next Send opens a new one).
	stop := context.AfterFunc(ctx, p.cancel)
	err = p.stream.Send(&pb.Frame{Kind: f.Kind, Id: f.ID, Chunk: f.Chunk, Last: f.Last, Payload: f.Payload})
	interrupted := !stop()
	if err != nil || interrupted {
		p.cancel()
		p.stream = nil
		if interrupted {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s at %s: %w", ErrPeerUnavailable, short(nodeID), p.addr, err)
	}
	return nil
}

// drain reads the server side of a client stream: frames the peer chooses to
// send back on it are dispatched like any others.
func (r *RPC) drain(nodeID string, st grpc.BidiStreamingClient[pb.Frame, pb.Frame]) {
	for {
		m, err := st.Recv()
		if err != nil {
			return
		}
		r.dispatch(st.Context(), fromPB(nodeID, m))
	}
}

func fromPB(from string, m *pb.Frame) Frame {
	return Frame{From: from, Kind: m.GetKind(), ID: m.GetId(), Chunk: m.GetChunk(), Last: m.GetLast(), Payload: m.GetPayload()}
}

// Ping measures the RPC round trip to a node.
func (r *RPC) Ping(ctx context.Context, nodeID string) (time.Duration, error) {
	p, err := r.client(nodeID)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := pb.NewClusterServiceClient(p.conn).Ping(ctx, &pb.PingRequest{FromNodeId: r.cfg.NodeID, SentUnixNano: start.UnixNano()})
	if err != nil {
		return 0, fmt.Errorf("%w: ping %s: %w", ErrPeerUnavailable, short(nodeID), err)
	}
	if resp.GetNodeId() != nodeID {
		return 0, fmt.Errorf("%w: ping %s reached node %s (restarted?)", ErrPeerUnavailable, short(nodeID), short(resp.GetNodeId()))
	}
	return time.Since(start), nil
}

// NodeInfo asks a node for its own view of itself.
func (r *RPC) NodeInfo(ctx context.Context, nodeID string) (*pb.NodeInfoResponse, error) {
	p, err := r.client(nodeID)
	if err != nil {
		return nil, err
	}
	resp, err := pb.NewClusterServiceClient(p.conn).NodeInfo(ctx, &pb.NodeInfoRequest{})
	if err != nil {
		return nil, fmt.Errorf("%w: node info %s: %w", ErrPeerUnavailable, short(nodeID), err)
	}
	return resp, nil
}

// service is the gRPC server side.
type service struct {
	pb.UnimplementedClusterServiceServer
	r *RPC
}

func (s *service) Ping(_ context.Context, req *pb.PingRequest) (*pb.PingResponse, error) {
	return &pb.PingResponse{NodeId: s.r.cfg.NodeID, Version: s.r.cfg.Version, SentUnixNano: req.GetSentUnixNano()}, nil
}

func (s *service) NodeInfo(ctx context.Context, _ *pb.NodeInfoRequest) (*pb.NodeInfoResponse, error) {
	if s.r.cfg.Info != nil {
		return s.r.cfg.Info(ctx), nil
	}
	return &pb.NodeInfoResponse{NodeId: s.r.cfg.NodeID, Version: s.r.cfg.Version}, nil
}

func (s *service) Stream(st grpc.BidiStreamingServer[pb.Frame, pb.Frame]) error {
	from := ""
	if md, ok := metadata.FromIncomingContext(st.Context()); ok {
		if v := md.Get(nodeIDHeader); len(v) > 0 {
			from = v[0]
		}
	}
	for {
		m, err := st.Recv()
		if err != nil {
			return nil // client closed or went away; nothing to report back
		}
		s.r.dispatch(st.Context(), fromPB(from, m))
	}
}

// dialPeer opens a connection to another daemon's RPC address, over TLS
// when the cluster uses it (the handshake here, so that gRPC sees a ready
// connection either way).
func (r *RPC) dialPeer(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil || r.clientTLS == nil {
		return c, err
	}
	tc := tls.Client(c, tlsFor(r.clientTLS, addr))
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	return tc, nil
}
