package remote

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"sync"
	"testing"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
)

// objPeers is a transport to two fake peers: it records the object
// requests sent to them and lets the test play their answers.
type objPeers struct {
	mu   sync.Mutex
	subs map[string]cluster.FrameHandler
	gets chan cluster.Frame // kindObjGet frames, with From set to the peer asked
}

func (p *objPeers) Subscribe(kind string, h cluster.FrameHandler) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.subs[kind] = h
	return func() {}
}

func (p *objPeers) Send(_ context.Context, node string, f cluster.Frame) error {
	if f.Kind == kindObjGet {
		f.From = node
		p.gets <- f
	}
	return nil // everything else (name announcements, ...) goes nowhere
}

// deliver plays a frame from peer as the transport would.
func (p *objPeers) deliver(from string, f cluster.Frame) {
	p.mu.Lock()
	h := p.subs[f.Kind]
	p.mu.Unlock()
	f.From = from
	h(context.Background(), f)
}

type twoPeers struct{ self string }

func (m twoPeers) LocalID() string { return m.self }
func (m twoPeers) Members() []cluster.Member {
	var ms []cluster.Member
	for _, id := range []string{m.self, "peer1", "peer2"} {
		ms = append(ms, cluster.Member{NodeMeta: cluster.NodeMeta{ID: id, Resources: map[string]float64{"CPU": 1}}, Status: cluster.StatusAlive})
	}
	return ms
}
func (m twoPeers) Subscribe() (<-chan cluster.Event, func()) {
	ch := make(chan cluster.Event)
	var once sync.Once
	return ch, func() { once.Do(func() { close(ch) }) }
}

// TestObjectChunksFromPeers plays peers' answers to an object fetch: the
// first peer whose size frame arrives is the source and a second copy
// streamed at the same time is skipped; a source that sends more or fewer
// bytes than it announced, or an object this node's store cannot hold,
// fails the Get instead of storing something else.
func TestObjectChunksFromPeers(t *testing.T) {
	const size = 2*cluster.ChunkSize + 4321 // large: received into the store
	object := make([]byte, size)
	for i := range object {
		object[i] = byte(i*13 + i>>11)
	}
	other := bytes.Repeat([]byte{0xEE}, size)
	hdr := func(n int) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(n)) }
	// frames cuts a payload the way sendPayload does.
	frames := func(rid uint64, announce int, body []byte) []cluster.Frame {
		fs := []cluster.Frame{{Kind: kindObj, ID: rid, Payload: hdr(announce)}}
		for c := uint32(1); len(body) > 0; c++ {
			n := min(len(body), cluster.ChunkSize)
			fs = append(fs, cluster.Frame{Kind: kindObj, ID: rid, Chunk: c, Last: n == len(body), Payload: body[:n]})
			body = body[n:]
		}
		return fs
	}
	for _, tc := range []struct {
		name     string
		storeMem int64
		play     func(p *objPeers, rid1, rid2 uint64)
		wantErr  string // "" → the Get returns object
	}{
		{"second copy skipped", 0, func(p *objPeers, rid1, rid2 uint64) {
			a, b := frames(rid1, size, object), frames(rid2, size, other)
			// peer1 announces first; peer2's frames interleave with its own.
			for i := range a {
				p.deliver("peer1", a[i])
				p.deliver("peer2", b[i])
			}
		}, ""},
		{"peer without it, then the copy", 0, func(p *objPeers, rid1, rid2 uint64) {
			p.deliver("peer2", cluster.Frame{Kind: kindObjNo, ID: rid2, Last: true})
			for _, f := range frames(rid1, size, object) {
				p.deliver("peer1", f)
			}
		}, ""},
		{"larger than announced", 0, func(p *objPeers, rid1, _ uint64) {
			for _, f := range frames(rid1, size-10, object) {
				p.deliver("peer1", f)
			}
		}, "larger than announced"},
		{"shorter than announced", 0, func(p *objPeers, rid1, _ uint64) {
			for _, f := range frames(rid1, size+10, object) {
				p.deliver("peer1", f)
			}
		}, "shorter than announced"},
		{"last frame announces bytes it never sends", 0, func(p *objPeers, rid1, _ uint64) {
			p.deliver("peer1", cluster.Frame{Kind: kindObj, ID: rid1, Last: true, Payload: hdr(size)})
		}, "shorter than announced"},
		{"store too small", 4 << 20, func(p *objPeers, rid1, _ uint64) {
			for _, f := range frames(rid1, size, object) {
				p.deliver("peer1", f)
			}
		}, "store full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			node, err := grt.NewNode(grt.NodeConfig{NumCPUs: 1, PrestartWorkers: -1, ObjectStoreMemory: tc.storeMem}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := node.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = node.Stop(context.Background()) })
			tr := &objPeers{subs: map[string]cluster.FrameHandler{}, gets: make(chan cluster.Frame, 2)}
			e := New(node, tr, twoPeers{self: node.ID()}, nil)
			e.Start()
			t.Cleanup(e.Close)

			id := grt.ObjectID{1, 2, 3}
			type got struct {
				vs  []grt.Value
				err error
			}
			res := make(chan got, 1)
			go func() {
				vs, err := node.LocalClient().Get(ctx, []grt.ObjectID{id})
				res <- got{vs, err}
			}()
			rids := map[string]uint64{}
			for range 2 {
				select {
				case f := <-tr.gets:
					if !bytes.Equal(f.Payload, id[:]) {
						t.Fatalf("request for %x, want %x", f.Payload, id[:])
					}
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
			if r.err != nil {
				t.Fatal(r.err)
			}
			v := r.vs[0]
			defer v.Release()
			if tc.wantErr == "" {
				if v.Err != nil || !bytes.Equal(v.Data, object) {
					t.Fatalf("got %d bytes (equal: %v), err %v; want the source's object", len(v.Data), bytes.Equal(v.Data, object), v.Err)
				}
				if st := e.Transfers(); st.Received != 1 || st.ReceivedBytes != size {
					t.Fatalf("transfer counts %+v, want one object of %d bytes", st, size)
				}
				return
			}
			if v.Err == nil || !strings.Contains(v.Err.Message, tc.wantErr) {
				t.Fatalf("Get: %v, want an error about %q", v.Err, tc.wantErr)
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
