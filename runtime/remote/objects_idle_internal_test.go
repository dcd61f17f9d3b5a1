package remote

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
)

// TestFetchTimeoutIsAnInactivityLimit plays a source that sends an object
// slowly but steadily, for several times the fetch's inactivity limit in
// all, and one that stops halfway: the first arrives whole, the second
// fails once nothing has come for the limit, with an error that names the
// object, the peer and how far it got. A fetch no peer answers fails too.
func TestFetchTimeoutIsAnInactivityLimit(t *testing.T) {
	const (
		limit  = 500 * time.Millisecond
		gap    = 100 * time.Millisecond // between chunks: well inside the limit
		chunks = 10                     // so the whole transfer takes twice the limit
		piece  = 40 << 10
		size   = chunks * piece
	)
	object := make([]byte, size)
	for i := range object {
		object[i] = byte(i*7 + i>>9)
	}
	hdr := binary.LittleEndian.AppendUint64(nil, size)
	// send plays peer1's copy: the size frame, then upTo chunks, gap apart.
	send := func(p *objPeers, rid uint64, upTo int) {
		p.deliver("peer1", cluster.Frame{Kind: kindObj, ID: rid, Payload: hdr})
		for c := 1; c <= upTo; c++ {
			time.Sleep(gap) // the sender's pace, not synchronisation
			body := object[(c-1)*piece : c*piece]
			p.deliver("peer1", cluster.Frame{Kind: kindObj, ID: rid, Chunk: uint32(c), Last: c == chunks, Payload: body})
		}
	}
	for _, tc := range []struct {
		name    string
		play    func(p *objPeers, rid1, rid2 uint64)
		wantErr []string // nil → the Get returns object
	}{
		{"slow but steady", func(p *objPeers, rid1, rid2 uint64) {
			p.deliver("peer2", cluster.Frame{Kind: kindObjNo, ID: rid2, Last: true})
			send(p, rid1, chunks)
		}, nil},
		{"stalled halfway", func(p *objPeers, rid1, rid2 uint64) {
			p.deliver("peer2", cluster.Frame{Kind: kindObjNo, ID: rid2, Last: true})
			send(p, rid1, chunks/2)
		}, []string{"no data from node peer1", "after 204800 of 409600 bytes"}},
		{"nobody answers", func(*objPeers, uint64, uint64) {}, []string{"no peer answered within " + limit.String()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			node, err := grt.NewNode(grt.NodeConfig{NumCPUs: 1, PrestartWorkers: -1}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := node.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = node.Stop(context.Background()) })
			tr := &objPeers{subs: map[string]cluster.FrameHandler{}, gets: make(chan cluster.Frame, 2)}
			e := New(node, tr, twoPeers{self: node.ID()}, nil)
			e.fetchIdle = limit
			e.Start()
			t.Cleanup(e.Close)

			id := grt.ObjectID{4, 5, 6}
			type got struct {
				vs  []grt.Value
				err error
			}
			res := make(chan got, 1)
			start := time.Now()
			go func() {
				vs, err := node.LocalClient().Get(ctx, []grt.ObjectID{id})
				res <- got{vs, err}
			}()
			rids := map[string]uint64{}
			for range 2 {
				select {
				case f := <-tr.gets:
					rids[f.From] = f.ID
				case <-ctx.Done():
					t.Fatal("the node did not ask both peers")
				}
			}
			tc.play(tr, rids["peer1"], rids["peer2"])
			var r got
			select {
			case r = <-res:
			case <-ctx.Done():
				t.Fatal("Get did not return")
			}
			took := time.Since(start)
			if r.err != nil {
				t.Fatal(r.err)
			}
			v := r.vs[0]
			defer v.Release()
			if tc.wantErr == nil {
				if v.Err != nil || !bytes.Equal(v.Data, object) {
					t.Fatalf("got %d bytes (equal: %v), err %v; want the object", len(v.Data), bytes.Equal(v.Data, object), v.Err)
				}
				if took <= limit {
					t.Fatalf("the transfer took %v, not longer than the %v limit: it proves nothing", took, limit)
				}
				return
			}
			if v.Err == nil || v.Err.Kind != grt.ErrKindObjectLost {
				t.Fatalf("Get: %v, want an object-lost error", v.Err)
			}
			want := append([]string{"object " + id.String()}, tc.wantErr...)
			for _, w := range want {
				if !strings.Contains(v.Err.Message, w) {
					t.Errorf("error %q does not say %q", v.Err.Message, w)
				}
			}
			if took < limit {
				t.Errorf("failed after %v, before the %v limit", took, limit)
			}
			e.mu.Lock()
			left := len(e.objRecv)
			e.mu.Unlock()
			if left != 0 {
				t.Fatalf("%d partial objects left behind", left)
			}
		})
	}
}
