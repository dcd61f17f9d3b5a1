package cluster_test

import (
	"bytes"
	"context"
	"errors"
	mrand "math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/cluster"
	pb "github.com/goray/goray/runtime/cluster/proto/clusterv1"
)

// rpcPair starts two RPC endpoints "a" and "b" that resolve each other.
func rpcPair(t *testing.T, tlsA, tlsB cluster.TLSFiles) (a, b *cluster.RPC) {
	t.Helper()
	addrs := map[string]string{}
	var mu sync.Mutex
	resolve := func(id string) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		a, ok := addrs[id]
		return a, ok
	}
	mk := func(id string, files cluster.TLSFiles) *cluster.RPC {
		r, err := cluster.NewRPC(cluster.RPCConfig{
			NodeID: id, Version: "test", Resolve: resolve, TLS: files, Log: testutil.Logger(t, id),
			Info: func(context.Context) *pb.NodeInfoResponse {
				return &pb.NodeInfoResponse{NodeId: id, ResourcesTotal: map[string]float64{"CPU": 2}}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		addr, err := r.Listen(t.Context(), "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		addrs[id] = addr.String()
		mu.Unlock()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = r.Close(ctx)
		})
		return r
	}
	return mk("a", tlsA), mk("b", tlsB)
}

func TestRPCFramesInOrderAndChunked(t *testing.T) {
	a, b := rpcPair(t, cluster.TLSFiles{}, cluster.TLSFiles{})
	ctx := t.Context()
	var mu sync.Mutex
	var small []uint64
	var big bytes.Buffer
	var chunks []uint32
	bigDone := make(chan struct{})
	b.Subscribe("small", func(_ context.Context, f cluster.Frame) {
		mu.Lock()
		defer mu.Unlock()
		if f.From != "a" {
			t.Errorf("frame from %q, want a", f.From)
		}
		small = append(small, f.ID)
	})
	b.Subscribe("object.chunk", func(_ context.Context, f cluster.Frame) {
		mu.Lock()
		defer mu.Unlock()
		big.Write(f.Payload) // the payload slice belongs to the handler
		chunks = append(chunks, f.Chunk)
		if f.Last {
			close(bigDone)
		}
	})
	for i := range 100 {
		if err := a.Send(ctx, "b", cluster.Frame{Kind: "small", ID: uint64(i), Last: true}); err != nil {
			t.Fatal(err)
		}
	}
	payload := make([]byte, 2*cluster.ChunkSize+12345)
	rng := mrand.New(mrand.NewPCG(3, 4))
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	if err := cluster.SendChunked(ctx, a, "b", "object.chunk", 7, payload); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bigDone:
	case <-time.After(10 * time.Second):
		t.Fatal("chunked payload did not arrive")
	}
	mu.Lock()
	defer mu.Unlock()
	for i, id := range small {
		if id != uint64(i) {
			t.Fatalf("small frames out of order: %v", small)
		}
	}
	if len(small) != 100 {
		t.Fatalf("got %d small frames, want 100", len(small))
	}
	if len(chunks) != 3 || chunks[0] != 0 || chunks[2] != 2 {
		t.Fatalf("chunks %v, want 0,1,2", chunks)
	}
	if !bytes.Equal(big.Bytes(), payload) {
		t.Fatal("chunked payload differs from what was sent")
	}
}

func TestRPCPingInfoAndErrors(t *testing.T) {
	a, b := rpcPair(t, cluster.TLSFiles{}, cluster.TLSFiles{})
	ctx := t.Context()
	rtt, err := a.Ping(ctx, "b")
	if err != nil || rtt <= 0 {
		t.Fatalf("Ping = %v, %v", rtt, err)
	}
	info, err := b.NodeInfo(ctx, "a")
	if err != nil || info.GetNodeId() != "a" || info.GetResourcesTotal()["CPU"] != 2 {
		t.Fatalf("NodeInfo = %v, %v", info, err)
	}
	if err := a.Send(ctx, "nobody", cluster.Frame{Kind: "x"}); !errors.Is(err, cluster.ErrUnknownNode) {
		t.Fatalf("send to unknown node: %v, want ErrUnknownNode", err)
	}
	// Stop b: sends to it fail with ErrPeerUnavailable instead of hanging.
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_ = b.Close(cctx)
	sctx, cancel2 := context.WithTimeout(ctx, 3*time.Second)
	defer cancel2()
	var sendErr error
	for sendErr == nil && sctx.Err() == nil {
		sendErr = a.Send(sctx, "b", cluster.Frame{Kind: "x", Payload: make([]byte, 1<<16)})
	}
	if !errors.Is(sendErr, cluster.ErrPeerUnavailable) && !errors.Is(sendErr, context.DeadlineExceeded) {
		t.Fatalf("send to stopped peer: %v", sendErr)
	}
	if _, err := a.Ping(sctx, "b"); err == nil {
		t.Fatal("ping to stopped peer succeeded")
	}
}

func TestRPCMutualTLS(t *testing.T) {
	dir := t.TempDir()
	pki := testutil.WritePKI(t, dir)
	files := cluster.TLSFiles{CertFile: pki.CertFile, KeyFile: pki.KeyFile, CAFile: pki.CAFile}
	a, b := rpcPair(t, files, files)
	if _, err := a.Ping(t.Context(), "b"); err != nil {
		t.Fatalf("ping over mTLS: %v", err)
	}
	got := make(chan string, 1)
	b.Subscribe("hello", func(_ context.Context, f cluster.Frame) { got <- string(f.Payload) })
	if err := a.Send(t.Context(), "b", cluster.Frame{Kind: "hello", Payload: []byte("over tls"), Last: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "over tls" {
			t.Fatalf("payload %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("frame over TLS did not arrive")
	}

	// The bulk lane (chunked payloads) runs over the same mutual TLS.
	payload := bytes.Repeat([]byte("goray"), cluster.ChunkSize/3) // 1⅔ chunks
	var mu sync.Mutex
	var got2 bytes.Buffer
	bulkDone := make(chan struct{})
	b.Subscribe("blob", func(_ context.Context, f cluster.Frame) {
		mu.Lock()
		defer mu.Unlock()
		got2.Write(f.Payload)
		if f.Last {
			close(bulkDone)
		}
	})
	if err := cluster.SendChunked(t.Context(), a, "b", "blob", 9, payload); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bulkDone:
	case <-time.After(10 * time.Second):
		t.Fatal("chunked payload over TLS did not arrive")
	}
	mu.Lock()
	if !bytes.Equal(got2.Bytes(), payload) {
		t.Fatal("chunked payload over TLS differs")
	}
	mu.Unlock()

	// A plaintext client cannot talk to a TLS server.
	c, plain := rpcPair(t, files, cluster.TLSFiles{})
	_ = c
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, err := plain.Ping(ctx, "a"); err == nil {
		t.Fatal("plaintext ping to a TLS server succeeded")
	}
}

func TestTLSFilesErrors(t *testing.T) {
	if _, err := cluster.NewRPC(cluster.RPCConfig{TLS: cluster.TLSFiles{CertFile: "x.pem"}}); err == nil {
		t.Fatal("cert without key accepted")
	}
	_, err := cluster.NewRPC(cluster.RPCConfig{TLS: cluster.TLSFiles{CertFile: "/nonexistent/c.pem", KeyFile: "/nonexistent/k.pem"}})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing files: %v", err)
	}
}

func TestBulkLaneLimitsAndGarbage(t *testing.T) {
	a, b := rpcPair(t, cluster.TLSFiles{}, cluster.TLSFiles{})
	ctx := t.Context()
	err := a.SendBulk(ctx, "b", cluster.Frame{Kind: "x", Payload: make([]byte, cluster.ChunkSize+2<<20)})
	if !errors.Is(err, cluster.ErrFrameTooLarge) {
		t.Fatalf("oversize bulk frame: %v, want ErrFrameTooLarge", err)
	}
	// Junk after the bulk magic closes that connection only; gRPC and a
	// well-formed bulk lane keep working.
	addr, _ := net.ResolveTCPAddr("tcp", mustAddr(t, b))
	conn, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = conn.Write(append([]byte("GORAYBLK"), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("server kept a bulk connection that sent garbage")
	}
	_ = conn.Close()
	if _, err := a.Ping(ctx, "b"); err != nil {
		t.Fatalf("ping after garbage: %v", err)
	}
	got := make(chan cluster.Frame, 1)
	b.Subscribe("ok", func(_ context.Context, f cluster.Frame) { got <- f })
	if err := a.SendBulk(ctx, "b", cluster.Frame{Kind: "ok", ID: 5, Last: true, Payload: []byte("fine")}); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-got:
		if f.From != "a" || f.ID != 5 || string(f.Payload) != "fine" || !f.Last {
			t.Fatalf("bulk frame %+v", f)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("bulk frame did not arrive")
	}
	// A stopped peer fails bulk sends instead of hanging.
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_ = b.Close(cctx)
	sctx, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	var sendErr error
	for sendErr == nil && sctx.Err() == nil {
		sendErr = a.SendBulk(sctx, "b", cluster.Frame{Kind: "ok", Payload: make([]byte, 1<<20)})
	}
	if !errors.Is(sendErr, cluster.ErrPeerUnavailable) {
		t.Fatalf("bulk send to stopped peer: %v", sendErr)
	}
}

// mustAddr is the endpoint's bound RPC address.
func mustAddr(t *testing.T, r *cluster.RPC) string {
	t.Helper()
	addr := r.Addr()
	if addr == "" {
		t.Fatal("endpoint has no address")
	}
	return addr
}
