package runtime

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
)

// conn is one long-lived framed stream with one reader and one writer
// goroutine. send never blocks: it appends to a queue that the writer drains
// into one buffer and writes with a single syscall per burst, so a flood of
// small messages (task submissions, completions) costs far fewer syscalls
// than messages.
type conn struct {
	nc      net.Conn
	onMsg   func(*msg)      // called on the reader goroutine, in order
	onClose func(err error) // called once after both goroutines ended

	mu      sync.Mutex
	q       []*msg
	spare   []*msg
	closed  bool
	writing bool // the writer goroutine is draining the queue
	wake    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
	readErr error
}

func newConn(nc net.Conn, onMsg func(*msg), onClose func(error)) *conn {
	return &conn{nc: nc, onMsg: onMsg, onClose: onClose, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// start launches the reader and writer.
func (c *conn) start() {
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	go func() {
		c.wg.Wait()
		if c.onClose != nil {
			c.onClose(c.readErr)
		}
	}()
}

// send queues m; it reports false when the connection is closed.
func (c *conn) send(m *msg) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.q = append(c.q, m)
	n := len(c.q)
	c.mu.Unlock()
	if n == 1 {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// close stops both goroutines; queued messages not yet written are dropped.
func (c *conn) close() {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.done)
		_ = c.nc.Close()
	})
}

// closeAfterFlush writes what is queued, then closes.
func (c *conn) closeAfterFlush() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.q = append(c.q, nil) // nil = close marker
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *conn) writeLoop() {
	defer c.wg.Done()
	buf := make([]byte, 0, 64<<10)
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.mu.Lock()
		if c.writing || len(c.q) == 0 {
			c.mu.Unlock()
			continue
		}
		c.writing = true
		c.mu.Unlock()
		for {
			c.mu.Lock()
			batch := c.q
			if len(batch) == 0 {
				c.writing = false
				c.mu.Unlock()
				break
			}
			c.q = c.spare[:0]
			c.spare = nil
			c.mu.Unlock()
			for i, m := range batch {
				if m == nil {
					if len(buf) > 0 {
						_, _ = c.nc.Write(buf)
					}
					c.close()
					return
				}
				var big []byte
				buf, big = appendFrame(buf, m)
				batch[i] = nil
				if big != nil || len(buf) >= 256<<10 {
					if _, err := c.nc.Write(buf); err != nil {
						c.close()
						return
					}
					buf = buf[:0]
					if big != nil {
						if _, err := c.nc.Write(big); err != nil {
							c.close()
							return
						}
					}
				}
			}
			c.mu.Lock()
			c.spare = batch[:0]
			empty := len(c.q) == 0
			c.mu.Unlock()
			if empty && len(buf) > 0 {
				// Queue empty: flush the burst.
				if _, err := c.nc.Write(buf); err != nil {
					c.close()
					return
				}
				buf = buf[:0]
			}
		}
		if cap(buf) > 4<<20 {
			buf = make([]byte, 0, 64<<10)
		}
	}
}

func (c *conn) readLoop() {
	defer c.wg.Done()
	defer c.close()
	r := bufio.NewReaderSize(c.nc, 64<<10)
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err != io.EOF {
				c.readErr = err
			}
			return
		}
		n := binary.LittleEndian.Uint32(hdr[:])
		if n == 0 || n > maxFrame {
			c.readErr = fmt.Errorf("%w: frame length %d", ErrProtocol, n)
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			c.readErr = err
			return
		}
		m, err := decodeFrame(body)
		if err != nil {
			c.readErr = err
			return
		}
		c.onMsg(m)
	}
}
