package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
)

// Streamed frames. A FrameHandler gets each payload in a fresh buffer, which costs an
// allocation the size of a chunk (zeroed by the Go runtime) and a copy into wherever the
// bytes finally go. For an object transfer that is most of the receiver's work, so the bulk
// lane can instead hand a frame's payload to a StreamHandler while it is still in the socket:
// the handler moves the bytes straight to their destination (for an object, its file in the
// shared-memory store, spliced from the socket by the kernel: one copy in all). Memory in
// flight per peer is then the kernel's socket buffers and nothing else.

// StreamHandler receives frames of one kind with their payload unread: f.Payload is nil and
// body yields exactly the payload's bytes. Handlers run like FrameHandlers (one at a time per
// sender, in order) and must finish with body before returning: whatever they leave unread
// is read and discarded so that the connection stays in step. A handler that cannot take the
// bytes (its destination failed) simply returns; one that wants to keep them copies them.
type StreamHandler func(ctx context.Context, f Frame, body *Body)

// StreamSubscriber is implemented by transports that can hand payloads over unread (RPC's
// SubscribeStream). Frames of a kind subscribed this way that arrive without the bulk lane
// (over gRPC) reach the handler too, with body reading from the received buffer.
type StreamSubscriber interface {
	SubscribeStream(kind string, h StreamHandler) (cancel func())
}

var _ StreamSubscriber = (*RPC)(nil)

// SubscribeStream registers h for frames of kind, replacing any earlier StreamHandler for
// it; cancel removes it. A kind with a StreamHandler is not passed to Subscribe's handlers.
func (r *RPC) SubscribeStream(kind string, h StreamHandler) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.nextID
	r.nextID++
	r.streamSubs[kind] = streamSub{id: id, h: h}
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if s, ok := r.streamSubs[kind]; ok && s.id == id {
			delete(r.streamSubs, kind)
		}
	}
}

type streamSub struct {
	id int
	h  StreamHandler
}

func (r *RPC) streamHandler(kind string) StreamHandler {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.streamSubs[kind].h
}

// Body is one frame's payload, read from the connection as the handler asks for it.
type Body struct {
	br   *bufio.Reader // the connection's buffered reader (or over an in-memory payload)
	conn net.Conn      // the connection itself, for splicing; nil when not a plain socket
	n    int64         // bytes of the payload not yet read
	err  error         // the connection failed mid-payload
}

// Len is the number of payload bytes not yet read.
func (b *Body) Len() int64 { return b.n }

// Read implements io.Reader over the payload; it returns io.EOF at its end.
func (b *Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	k, err := b.br.Read(p)
	b.n -= int64(k)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		b.err = fmt.Errorf("cluster: read frame payload: %w", err)
		return k, b.err
	}
	return k, nil
}

// WriteTo implements io.WriterTo: it writes the rest of the payload to w. When w is an
// io.ReaderFrom (an *os.File, or a store destination that passes the reader on to one) and
// the lane is a plain TCP connection, the bytes the lane has not buffered yet go to
// w.ReadFrom as an *io.LimitedReader over the connection, which lets the kernel splice them
// from the socket into a file without passing through this process.
func (b *Body) WriteTo(w io.Writer) (int64, error) {
	if b.err != nil {
		return 0, b.err
	}
	var total int64
	// First what the lane's reader has already buffered.
	if k := min(int64(b.br.Buffered()), b.n); k > 0 {
		p, _ := b.br.Peek(int(k))
		n, err := w.Write(p)
		_, _ = b.br.Discard(n)
		b.n -= int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	if b.n == 0 {
		return total, nil
	}
	rf, ok := w.(io.ReaderFrom)
	var n int64
	var err error
	if !ok || b.conn == nil || b.br.Buffered() != 0 {
		n, err = io.CopyN(w, readerOnly{b}, b.n)
		if b.err != nil {
			return total + n, b.err
		}
	} else {
		// The reader's buffer is empty, so the connection's next bytes are the payload's.
		n, err = rf.ReadFrom(&io.LimitedReader{R: b.conn, N: b.n})
		b.n -= n
		if err == nil && b.n > 0 {
			err = io.ErrUnexpectedEOF
		}
	}
	total += n
	if err != nil {
		// Bytes read from the connection but not written (a pipe or copy buffer in
		// between) are gone, so the lane's position in the stream is lost: the
		// connection is dropped after the handler returns.
		b.err = fmt.Errorf("cluster: stream frame payload: %w", err)
	}
	return total, err
}

// readerOnly hides Body's WriteTo from io.Copy.
type readerOnly struct{ io.Reader }

// discard reads and drops what the handler left of the payload.
func (b *Body) discard() error {
	if b.err != nil {
		return b.err
	}
	if b.n > 0 {
		if _, err := b.br.Discard(int(min(b.n, int64(maxMessage)))); err != nil {
			b.err = fmt.Errorf("cluster: skip frame payload: %w", err)
			return b.err
		}
		b.n = 0
	}
	return nil
}

// NewBody is a Body over a payload already in memory, for handing a frame that came
// without the bulk lane (or over another Transport) to a StreamHandler.
func NewBody(p []byte) *Body {
	return &Body{br: bufio.NewReaderSize(bytes.NewReader(p), 16), n: int64(len(p))}
}
