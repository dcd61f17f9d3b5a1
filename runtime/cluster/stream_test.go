package cluster_test

import (
	"bytes"
	"context"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/cluster"
)

// TestStreamHandler: payloads of a streamed kind reach the handler unread, over the bulk
// lane in plaintext (spliced into a file) and TLS, and over gRPC; what a handler leaves
// unread is skipped without desynchronising the lane.
func TestStreamHandler(t *testing.T) {
	dir := t.TempDir()
	pki := testutil.WritePKI(t, dir)
	tlsFiles := cluster.TLSFiles{CertFile: pki.CertFile, KeyFile: pki.KeyFile, CAFile: pki.CAFile}
	r := mrand.New(mrand.NewPCG(5, 6))
	payload := make([]byte, 2*cluster.ChunkSize+777)
	for i := range payload {
		payload[i] = byte(r.Uint32())
	}
	for _, tc := range []struct {
		name string
		tls  cluster.TLSFiles
	}{{"plain", cluster.TLSFiles{}}, {"tls", tlsFiles}} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := rpcPair(t, tc.tls, tc.tls)
			f, err := os.Create(filepath.Join(t.TempDir(), "dest"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var mu sync.Mutex
			var skipped []uint32
			done := make(chan struct{})
			b.SubscribeStream("obj", func(_ context.Context, fr cluster.Frame, body *cluster.Body) {
				if fr.Payload != nil || fr.From != "a" {
					t.Errorf("streamed frame has payload %d bytes, from %q", len(fr.Payload), fr.From)
				}
				if fr.ID == 2 {
					// Read a little and leave the rest: the lane must skip it.
					var head [10]byte
					if _, err := io.ReadFull(body, head[:]); err != nil {
						t.Errorf("read head: %v", err)
					}
					mu.Lock()
					skipped = append(skipped, fr.Chunk)
					mu.Unlock()
					return
				}
				if _, err := body.WriteTo(f); err != nil {
					t.Errorf("chunk %d: %v", fr.Chunk, err)
				}
				if body.Len() != 0 {
					t.Errorf("chunk %d: %d bytes left after WriteTo", fr.Chunk, body.Len())
				}
				if fr.Last {
					close(done)
				}
			})
			// A payload whose frames are half read goes first on the same lane.
			if err := cluster.SendChunked(t.Context(), a, "b", "obj", 2, payload); err != nil {
				t.Fatal(err)
			}
			if err := cluster.SendChunked(t.Context(), a, "b", "obj", 1, payload); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("streamed payload did not arrive")
			}
			got, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("streamed payload differs (%d bytes, want %d)", len(got), len(payload))
			}
			mu.Lock()
			if len(skipped) != 3 {
				t.Fatalf("half-read payload's frames seen: %v, want 3", skipped)
			}
			mu.Unlock()

			// A streamed kind sent over gRPC reaches the stream handler too.
			small := make(chan []byte, 1)
			cancel := b.SubscribeStream("small", func(_ context.Context, _ cluster.Frame, body *cluster.Body) {
				p, err := io.ReadAll(body)
				if err != nil {
					t.Error(err)
				}
				small <- p
			})
			defer cancel()
			if err := a.Send(t.Context(), "b", cluster.Frame{Kind: "small", Last: true, Payload: []byte("hello")}); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-small:
				if string(p) != "hello" {
					t.Fatalf("gRPC frame to a stream handler: %q", p)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("gRPC frame did not reach the stream handler")
			}
		})
	}
}
