package remote_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/objectstore"
)

// rawLoopback is the ceiling an object transfer is measured against: one
// loopback TCP connection, the sender writing the object's bytes from
// memory, the receiver reading them into a reused 1 MiB buffer.
type rawLoopback struct {
	send    net.Conn
	payload []byte
	done    chan error
}

func newRawLoopback(b *testing.B, payload []byte) *rawLoopback {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	// Closed only once the connection is accepted: closing a listener with
	// a connection still in its accept queue resets that connection.
	b.Cleanup(func() { _ = l.Close() })
	r := &rawLoopback{payload: payload, done: make(chan error)}
	go func() {
		c, err := l.Accept()
		_ = l.Close()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1<<20)
		for {
			rest := len(payload)
			for rest > 0 {
				k, err := c.Read(buf[:min(rest, len(buf))])
				rest -= k
				if err != nil {
					if rest != len(payload) {
						r.done <- err
					}
					return
				}
			}
			r.done <- nil
		}
	}()
	if r.send, err = net.Dial("tcp", l.Addr().String()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.send.Close() })
	return r
}

// copy moves the payload once and waits until all of it was read.
func (r *rawLoopback) copy() error {
	if _, err := r.send.Write(r.payload); err != nil {
		return err
	}
	return <-r.done
}

// BenchmarkObjectTransfer measures, in one run, a raw TCP loopback copy of
// an object's bytes and the daemon-to-daemon transfer of the same number
// of bytes: B's client Gets an object that lives only on A (the Put on A
// is not timed), so B pulls it over the bulk lane into its store and
// maps it. It reports both rates and their ratio (the goal: at
// least 0.7).
//
// dest=recycled is the steady state of a running node: B's store holds
// freed memory of about the object's size (its pool, populated), and the
// chunks land there straight from the socket. dest=fresh is a store that
// holds no freed memory that fits (each op's object is a few KiB larger
// than any before it): every page of the copy is allocated by the kernel
// (tmpfs) as it arrives, which no transport can avoid and which on this
// kind of machine costs about as much as the copy. dest=fresh-with-reserve
// is the same, except that B's store keeps a warm reserve (the realistic
// steady state of an idle daemon that has received objects of this size
// before): before each op its reserve is refilled with pre-faulted memory
// of the object's size class, and the chunks land in that. Both fresh
// cases grow the object as dest=fresh does, so the pool never fits; the
// other cases run with B's reserve off.
//
//	go test -run '^$' -bench ObjectTransfer -benchtime 5x ./runtime/remote/
func BenchmarkObjectTransfer(b *testing.B) {
	p := newPair(b)
	cb := p.b.LocalClient()
	st := p.b.Store()
	for _, size := range []int{64 << 20, 256 << 20} {
		// Room to grow: each fresh op moves a few KiB more than any object
		// before it, so that no freed memory fits it.
		payload := make([]byte, size+1<<20)
		for i := 0; i < len(payload); i += 4096 {
			payload[i] = byte(i >> 12)
		}
		for _, dest := range []string{"recycled", "fresh", "fresh-with-reserve"} {
			b.Run(fmt.Sprintf("size=%dMiB/dest=%s", size>>20, dest), func(b *testing.B) {
				reserve := dest == "fresh-with-reserve"
				// One block of the biggest object's class (256 MiB and a few
				// KiB round up to 258 MiB), above the default bound.
				bound := int64(0)
				if reserve {
					bound = 512 << 20
				}
				// Off first: blocks of an earlier case's sizes go.
				for _, n := range []int64{0, bound} {
					if err := st.SetWarmReserve(n); err != nil {
						b.Fatal(err)
					}
				}
				if reserve {
					// Bigger than any object so far (at most 255 pages more
					// than size), so that no pooled memory serves it and it
					// counts as demand; the first op's miss then turns the
					// reserve to the ops' own size class.
					primeReserve(b, st, int64(size)+1<<20+4096+1)
				}
				raw := newRawLoopback(b, payload[:size])
				if err := raw.copy(); err != nil { // warm the connection
					b.Fatal(err)
				}
				var rawT, getT time.Duration
				var moved int64
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					n := size
					if dest != "recycled" {
						freshSeq++
						n += (freshSeq%255 + 1) * 4096
					}
					ref := mustPut(b, p.ctx, payload[:n])
					if dest == "recycled" {
						warmPool(b, p.b, int64(n)+1) // the encoded value: a type byte, then the bytes
					}
					hits := st.Stats().WarmHits
					// A's own reserve fills behind its Put; never during the timed op.
					if err := p.a.Store().WaitWarm(p.ctx); err != nil {
						b.Fatal(err)
					}
					if reserve {
						if err := st.WaitWarm(p.ctx); err != nil {
							b.Fatal(err)
						}
						if got := st.Stats().WarmReserve; got < int64(n)+1 {
							b.Fatalf("B's warm reserve holds %d bytes; the object needs %d", got, n+1)
						}
					}
					b.StartTimer()
					t0 := time.Now()
					if err := raw.copy(); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					vs, err := cb.Get(p.ctx, []grt.ObjectID{ref.ID()})
					t2 := time.Now()
					if err != nil || vs[0].Err != nil || len(vs[0].Data) != n+1 || vs[0].Data[1+4096] != 1 {
						b.Fatal(err, vs[0].Err, len(vs[0].Data))
					}
					rawT += t1.Sub(t0)
					getT += t2.Sub(t1)
					moved += int64(n)
					b.StopTimer()
					// The case must measure what it says: reserve memory
					// exactly when it has one.
					if got, want := st.Stats().WarmHits-hits, map[bool]int64{true: 1}[reserve]; got != want {
						b.Fatalf("the object took %d warm reserve blocks; want %d", got, want)
					}
					vs[0].Release()
					ref.Release()
					b.StartTimer()
				}
				rawRate := float64(size) * float64(b.N) / rawT.Seconds() / 1e9
				getRate := float64(moved) / getT.Seconds() / 1e9
				b.ReportMetric(rawRate, "raw-GB/s")
				b.ReportMetric(getRate, "get-GB/s")
				b.ReportMetric(getRate/rawRate, "ratio")
			})
		}
	}
}

// freshSeq grows the objects of dest=fresh ops across runs (-count), so
// that none fits the memory an earlier one freed.
var freshSeq int

// primeReserve makes st's warm reserve expect objects of about size bytes,
// as a node that has received such objects before does, and waits until
// it holds memory for them. The priming object's own memory is discarded
// (Abort unlinks it), so it leaves nothing in the pool.
func primeReserve(b *testing.B, st *objectstore.Store, size int64) {
	b.Helper()
	w, err := st.Create(b.Context(), objectstore.NewObjectID(), size)
	if err != nil {
		b.Fatal(err)
	}
	w.Abort()
	if err := st.WaitWarm(b.Context()); err != nil {
		b.Fatal(err)
	}
}

// warmPool leaves size bytes of freed, populated memory in n's store, as
// a node that has been running has.
func warmPool(b *testing.B, n *grt.Node, size int64) {
	b.Helper()
	st := n.Store()
	id := objectstore.NewObjectID()
	w, err := st.Create(b.Context(), id, size)
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Seal(); err != nil {
		b.Fatal(err)
	}
	if err := st.Delete(id); err != nil {
		b.Fatal(err)
	}
}
