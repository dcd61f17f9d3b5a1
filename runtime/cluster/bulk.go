package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The bulk lane carries large frames (object chunks) over a plain TCP (or
// TLS) connection per peer, beside the gRPC stream: gRPC copies a message
// several times (protobuf marshal, HTTP/2 framing in 16 KiB frames,
// reassembly, unmarshal) and on loopback reached only about a third of a raw
// TCP copy. The lane shares the RPC port: the listener peeks at the first
// bytes of every connection and hands those that start with bulkMagic to the
// bulk reader and everything else (the HTTP/2 preface) to gRPC. With TLS the
// listener terminates TLS for both, so the lane is encrypted and authenticated
// exactly like gRPC.
var bulkMagic = [8]byte{'G', 'O', 'R', 'A', 'Y', 'B', 'L', 'K'}

// bulkSocketBuffer is the kernel socket buffer (SO_SNDBUF on the sending
// side, SO_RCVBUF on the receiving one) of a bulk connection. The lane keeps
// no buffer of its own beyond its bulkReadBuffer reader, and SendBulk returns only
// once the kernel took a frame, so this is what bounds the bytes in flight
// per peer and direction: at most about 2×2×bulkSocketBuffer (Linux doubles
// the value for its bookkeeping) plus the frame being written, whatever the
// payload's size. Left to autotuning, Linux grows a loopback receive buffer
// to tcp_rmem's maximum (32 MiB here) without going any faster.
const bulkSocketBuffer = 4 << 20

// bulkReadBuffer is the bulk connection reader's buffer, which frame headers
// (and small payloads) are parsed from.
const bulkReadBuffer = 64 << 10

// handshakeTimeout bounds TLS handshakes and the protocol peek.
const handshakeTimeout = 10 * time.Second

// ErrFrameTooLarge means a frame's payload exceeds what a peer accepts
// (ChunkSize plus slack); cut it with SendChunked.
var ErrFrameTooLarge = errors.New("cluster: frame too large")

// muxListener feeds gRPC the connections that are not bulk connections.
type muxListener struct {
	net.Listener
	tls    *tls.Config // nil: plaintext
	bulk   func(net.Conn)
	conns  chan net.Conn
	done   chan struct{}
	once   sync.Once
	closed error
}

func newMuxListener(l net.Listener, tlsCfg *tls.Config, bulk func(net.Conn)) *muxListener {
	m := &muxListener{Listener: l, tls: tlsCfg, bulk: bulk, conns: make(chan net.Conn), done: make(chan struct{})}
	go m.acceptLoop()
	return m
}

func (m *muxListener) acceptLoop() {
	for {
		c, err := m.Listener.Accept()
		if err != nil {
			m.shut(err)
			return
		}
		go m.classify(c)
	}
}

// classify terminates TLS (if configured) and routes the connection by its
// first eight bytes. It runs per connection so a slow client cannot stall
// Accept.
func (m *muxListener) classify(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	if m.tls != nil {
		tc := tls.Server(c, m.tls)
		if err := tc.Handshake(); err != nil {
			_ = c.Close()
			return
		}
		c = tc
	}
	var head [8]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	if head == bulkMagic {
		m.bulk(c)
		return
	}
	select {
	case m.conns <- &prefixConn{Conn: c, prefix: head[:]}:
	case <-m.done:
		_ = c.Close()
	}
}

func (m *muxListener) shut(err error) {
	m.once.Do(func() {
		m.closed = err
		close(m.done)
	})
}

// Accept returns the next gRPC connection.
func (m *muxListener) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case <-m.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting.
func (m *muxListener) Close() error {
	err := m.Listener.Close()
	m.shut(net.ErrClosed)
	return err
}

// prefixConn replays bytes already read from a connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// serveBulk reads frames from one bulk connection until it closes. The first
// bytes after the magic name the sending node.
func (r *RPC) serveBulk(c net.Conn) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = c.Close()
		return
	}
	r.bulkConns[c] = struct{}{}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.bulkConns, c)
		r.mu.Unlock()
		_ = c.Close()
	}()
	// Small enough that the part of a chunk it reads ahead (and Body.WriteTo
	// then copies once more) is about 1% of it.
	br := bufio.NewReaderSize(c, bulkReadBuffer)
	from, err := readString(br, 256)
	if err != nil {
		return
	}
	// A plain TCP connection can be spliced from (see Body.WriteTo); a TLS one cannot.
	raw, under := c, c
	if tc, ok := c.(*tls.Conn); ok {
		raw, under = nil, tc.NetConn()
	}
	if tc, ok := under.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(bulkSocketBuffer)
	} else {
		raw = nil
	}
	for {
		f, n, err := readBulkHeader(br)
		if err == nil {
			f.From = from
			if h := r.streamHandler(f.Kind); h != nil {
				body := &Body{br: br, conn: raw, n: int64(n)}
				h(r.ctx, f, body)
				err = body.discard()
			} else {
				f.Payload = make([]byte, n)
				if _, err = io.ReadFull(br, f.Payload); err == nil {
					r.dispatch(r.ctx, f)
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				r.log.Debug("bulk connection ended", "from", short(from), "err", err)
			}
			return
		}
	}
}

func readString(br *bufio.Reader, limit uint64) (string, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return "", err
	}
	if n > limit {
		return "", fmt.Errorf("string of %d bytes exceeds %d", n, limit)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// Bulk frame layout: kind (uvarint length + bytes), id, chunk (uvarints),
// last (one byte), payload length (uvarint), payload.
func appendBulkHeader(b []byte, f Frame) []byte {
	b = appendString(b, f.Kind)
	b = binary.AppendUvarint(b, f.ID)
	b = binary.AppendUvarint(b, uint64(f.Chunk))
	if f.Last {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(len(f.Payload)))
}

// readBulkHeader reads a frame up to its payload and returns the payload's length.
func readBulkHeader(br *bufio.Reader) (Frame, uint64, error) {
	var f Frame
	var err error
	if f.Kind, err = readString(br, 1024); err != nil {
		return f, 0, err
	}
	if f.ID, err = binary.ReadUvarint(br); err != nil {
		return f, 0, err
	}
	chunk, err := binary.ReadUvarint(br)
	if err != nil {
		return f, 0, err
	}
	f.Chunk = uint32(chunk)
	last, err := br.ReadByte()
	if err != nil {
		return f, 0, err
	}
	f.Last = last == 1
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return f, 0, err
	}
	if n > maxMessage {
		return f, 0, fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, n)
	}
	return f, n, nil
}

// bulkConn is the sending side of the lane towards one peer.
type bulkConn struct {
	sem  chan struct{} // capacity 1: one writer at a time, ctx-aware waiting
	conn net.Conn
}

// dialBulk opens the lane: TCP, TLS if configured, magic, our node ID.
func (r *RPC) dialBulk(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(bulkSocketBuffer)
	}
	if r.clientTLS != nil {
		tc := tls.Client(c, tlsFor(r.clientTLS, addr))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, err
		}
		c = tc
	}
	hello := appendString(bulkMagic[:], r.cfg.NodeID)
	if _, err := c.Write(hello); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// tlsFor sets ServerName from addr so the peer's certificate is checked
// against the address we dialed.
func tlsFor(base *tls.Config, addr string) *tls.Config {
	c := base.Clone()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		c.ServerName = host
	}
	return c
}

// SendBulk delivers f over the bulk lane: no gRPC copies, ordered with other
// SendBulk frames to the same node (not with Send frames). It returns once the
// kernel took the bytes, so memory in flight per peer is bounded by the
// socket buffers. f.Payload may be reused after it returns.
func (r *RPC) SendBulk(ctx context.Context, nodeID string, f Frame) error {
	if len(f.Payload) > maxMessage {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(f.Payload), maxMessage)
	}
	p, err := r.client(nodeID)
	if err != nil {
		return err
	}
	b := p.bulk
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-b.sem }()
	if b.conn == nil {
		c, err := r.dialBulk(ctx, p.addr)
		if err != nil {
			return fmt.Errorf("%w: %s: bulk dial %s: %w", ErrPeerUnavailable, short(nodeID), p.addr, err)
		}
		b.conn = c
	}
	// A ctx that ends mid-write interrupts it through the deadline; the
	// connection is then in an unknown state and is dropped.
	stop := context.AfterFunc(ctx, func() { _ = b.conn.SetWriteDeadline(time.Unix(1, 0)) })
	bufs := net.Buffers{appendBulkHeader(make([]byte, 0, 32+len(f.Kind)), f), f.Payload}
	_, err = bufs.WriteTo(b.conn)
	interrupted := !stop()
	if err != nil || interrupted {
		_ = b.conn.Close()
		b.conn = nil
		if interrupted {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s: bulk write: %w", ErrPeerUnavailable, short(nodeID), err)
	}
	return nil
}

func (b *bulkConn) close() {
	// Take the writer slot so no write is in progress; never blocks for long
	// because writes are bounded by socket progress or their ctx.
	select {
	case b.sem <- struct{}{}:
		if b.conn != nil {
			_ = b.conn.Close()
			b.conn = nil
		}
		<-b.sem
	default:
		// A writer is active: closing under it makes its write fail fast.
		if c := b.conn; c != nil {
			_ = c.Close()
		}
	}
}
