package cluster_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goray/goray/runtime/cluster"
)

// rpcBenchPair is rpcPair for benchmarks (no per-node test logger).
func rpcBenchPair(b *testing.B) (a, c *cluster.RPC) {
	b.Helper()
	addrs := map[string]string{}
	resolve := func(id string) (string, bool) { a, ok := addrs[id]; return a, ok }
	mk := func(id string) *cluster.RPC {
		r, err := cluster.NewRPC(cluster.RPCConfig{NodeID: id, Resolve: resolve})
		if err != nil {
			b.Fatal(err)
		}
		addr, err := r.Listen(b.Context(), "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addrs[id] = addr.String()
		b.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = r.Close(ctx)
		})
		return r
	}
	return mk("a"), mk("b")
}

// BenchmarkTransportChunked moves a 64 MiB payload per op from one RPC
// endpoint to another with SendChunked (5 MiB frames); compare its MB/s with
// BenchmarkRawTCPLoopback.
//
//	go test -run '^$' -bench 'TransportChunked|RawTCPLoopback' -benchtime 20x ./runtime/cluster/
func BenchmarkTransportChunked(b *testing.B) {
	a, c := rpcBenchPair(b)
	const size = 64 << 20
	payload := make([]byte, size)
	done := make(chan struct{}, 1)
	var got atomic.Int64
	c.Subscribe("obj", func(_ context.Context, f cluster.Frame) {
		if got.Add(int64(len(f.Payload))) == size {
			got.Store(0)
			done <- struct{}{}
		}
	})
	b.SetBytes(size)
	for b.Loop() {
		if err := cluster.SendChunked(b.Context(), a, "b", "obj", 1, payload); err != nil {
			b.Fatal(err)
		}
		<-done
	}
}

// BenchmarkRawTCPLoopback copies 64 MiB per op over one loopback TCP
// connection: the ceiling the transport is measured against.
func BenchmarkRawTCPLoopback(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const size = 64 << 20
	done := make(chan struct{})
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 1<<20)
		var n int64
		for {
			k, err := conn.Read(buf)
			n += int64(k)
			for n >= size {
				n -= size
				done <- struct{}{}
			}
			if err != nil {
				return
			}
		}
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	payload := make([]byte, size)
	b.SetBytes(size)
	for b.Loop() {
		if _, err := conn.Write(payload); err != nil {
			b.Fatal(err)
		}
		<-done
	}
}

// BenchmarkTransportSmallFrames sends 100-byte frames one way and waits for
// the last: frames/s of task-submission-sized messages on one stream.
func BenchmarkTransportSmallFrames(b *testing.B) {
	a, c := rpcBenchPair(b)
	var got atomic.Int64
	last := make(chan struct{}, 1)
	c.Subscribe("small", func(_ context.Context, f cluster.Frame) {
		got.Add(1)
		if f.Last {
			last <- struct{}{}
		}
	})
	payload := make([]byte, 100)
	const batch = 1000
	for b.Loop() {
		for i := range batch {
			if err := a.Send(b.Context(), "b", cluster.Frame{Kind: "small", ID: uint64(i), Last: i == batch-1, Payload: payload}); err != nil {
				b.Fatal(err)
			}
		}
		<-last
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(batch*b.N), "ns/frame")
}
