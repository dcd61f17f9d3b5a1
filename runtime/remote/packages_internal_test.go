package remote

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/pkgstore"
)

// pkgPeer is a transport whose one peer answers package requests with
// archive, once release is closed, and counts the requests.
type pkgPeer struct {
	mu      sync.Mutex
	subs    map[string]cluster.FrameHandler
	reqs    atomic.Int32
	release chan struct{}
	archive []byte
}

func (p *pkgPeer) Subscribe(kind string, h cluster.FrameHandler) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.subs[kind] = h
	return func() {}
}

func (p *pkgPeer) Send(ctx context.Context, node string, f cluster.Frame) error {
	if f.Kind != kindPkgReq {
		return errors.New("unexpected frame " + f.Kind)
	}
	p.reqs.Add(1)
	go func() {
		<-p.release
		p.mu.Lock()
		h := p.subs[kindPkg]
		p.mu.Unlock()
		hdr := binary.LittleEndian.AppendUint64(nil, uint64(len(p.archive)))
		h(ctx, cluster.Frame{From: node, Kind: kindPkg, ID: f.ID, Payload: hdr})
		h(ctx, cluster.Frame{From: node, Kind: kindPkg, ID: f.ID, Chunk: 1, Last: true, Payload: p.archive})
	}()
	return nil
}

func tinyPackage(t *testing.T, content string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	_ = tw.WriteHeader(&tar.Header{Name: "data.txt", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte(content))
	_ = tw.Close()
	_ = zw.Close()
	h := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(h[:])
}

// TestConcurrentTasksShareOnePackageFetch: eight callers that need the same
// package cause one request, and all of them get its outcome: success, or
// the hash check's error when the peer sends other bytes.
func TestConcurrentTasksShareOnePackageFetch(t *testing.T) {
	good, sum := tinyPackage(t, "shared")
	other, _ := tinyPackage(t, "other bytes")
	for _, tc := range []struct {
		name    string
		archive []byte
		wantErr error
	}{
		{"fetched once", good, nil},
		{"hash mismatch reaches every waiter", other, pkgstore.ErrBadPackage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node, err := grt.NewNode(grt.NodeConfig{PackageCacheDir: t.TempDir()}, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Never started: the package store needs no sockets or workers.
			t.Cleanup(func() { _ = node.Stop(context.Background()) })
			peer := &pkgPeer{subs: map[string]cluster.FrameHandler{}, release: make(chan struct{}), archive: tc.archive}
			e := New(node, peer, nil, nil)
			for _, c := range e.startPackages() {
				defer c()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			errs := make([]error, 8)
			var wg sync.WaitGroup
			call := func(i int) {
				defer wg.Done()
				errs[i] = e.ensurePackage(ctx, "peer", sum)
			}
			wg.Add(1)
			go call(0)
			// The first caller's fetch is in flight: the others join it.
			waitPkg(t, func() bool { return peer.reqs.Load() == 1 })
			for i := 1; i < len(errs); i++ {
				wg.Add(1)
				go call(i)
			}
			waitPkg(t, func() bool {
				e.pkgs.mu.Lock()
				defer e.pkgs.mu.Unlock()
				f := e.pkgs.inFlight[sum]
				return f != nil && f.waiters == len(errs)-1
			})
			close(peer.release)
			wg.Wait()
			if n := peer.reqs.Load(); n != 1 {
				t.Fatalf("%d package requests, want 1", n)
			}
			for i, err := range errs {
				if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("caller %d: %v, want %v", i, err, tc.wantErr)
				}
			}
			if node.HasPackage(sum) != (tc.wantErr == nil) {
				t.Fatalf("HasPackage = %v after the fetch", node.HasPackage(sum))
			}
		})
	}
}

// waitPkg polls cond until it holds or 10 s pass.
func waitPkg(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
