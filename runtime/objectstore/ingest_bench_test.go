package objectstore

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// BenchmarkIngestFromSocket receives a 64 MiB object from a loopback TCP connection into
// different destinations, each op timed against a raw read of the same bytes into a reused
// 1 MiB buffer in the same run (ratio = destination's GB/s over raw's):
//
//	go test -run '^$' -bench IngestFromSocket -benchtime 5x ./runtime/objectstore/
//
// create is the old fetch path (Create: fallocate and a pre-faulted writable mapping, then
// the socket read into it); fresh is CreateIngest with no pooled memory (splice into a new
// file); pooled is CreateIngest into recycled memory.
func BenchmarkIngestFromSocket(b *testing.B) {
	const size = 64 << 20
	s := newStore(b, 1<<30)
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i >> 9)
	}
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for {
			if _, err := c.Write(payload); err != nil {
				return
			}
		}
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 1<<20)
	raw := func() error {
		_, err := io.CopyBuffer(io.Discard, io.LimitReader(readerOnlyOf{conn}, size), buf)
		return err
	}
	setPool := func(on bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if on {
			s.poolLimit = s.cfg.Limit / 4
		} else {
			s.poolLimit = 0
			s.trimPoolLocked(s.cfg.Limit)
		}
	}
	for _, dest := range []string{"create", "fresh", "pooled"} {
		b.Run(dest, func(b *testing.B) {
			setPool(dest == "pooled")
			defer setPool(true)
			var rawT, destT time.Duration
			b.SetBytes(size)
			for b.Loop() {
				t0 := time.Now()
				if err := raw(); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				id := NewObjectID()
				switch dest {
				case "create":
					w, err := s.Create(ctx, id, size)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(conn, w.Bytes()); err != nil {
						b.Fatal(err)
					}
					if err := w.Seal(); err != nil {
						b.Fatal(err)
					}
				default:
					in, err := s.CreateIngest(ctx, id, size)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := in.ReadFrom(&io.LimitedReader{R: conn, N: size}); err != nil {
						b.Fatal(err)
					}
					if err := in.Seal(); err != nil {
						b.Fatal(err)
					}
				}
				t2 := time.Now()
				rawT += t1.Sub(t0)
				destT += t2.Sub(t1)
				b.StopTimer()
				if err := s.Delete(id); err != nil { // pooled: the next op reuses it
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(size)*float64(b.N)/rawT.Seconds()/1e9, "raw-GB/s")
			b.ReportMetric(float64(size)*float64(b.N)/destT.Seconds()/1e9, "dest-GB/s")
			b.ReportMetric(rawT.Seconds()/destT.Seconds(), "ratio")
		})
	}
}

// readerOnlyOf hides a connection's WriteTo so that the raw copy reads into the buffer.
type readerOnlyOf struct{ io.Reader }
