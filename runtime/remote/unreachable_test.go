package remote_test

import (
	"context"
	"errors"
	"testing"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/remote"
)

// refusingTransport fails every send, as the transport does to a node
// that was SIGKILLed (its port refuses connections).
type refusingTransport struct{}

var errRefused = errors.New("connection refused")

func (refusingTransport) Send(context.Context, string, cluster.Frame) error { return errRefused }
func (refusingTransport) Subscribe(string, cluster.FrameHandler) func()     { return func() {} }

// A peer that a send fails to reach is left out of Peers at once, while
// the membership still lists it alive: work placed meanwhile (an actor
// recreated in a bundle that lived there) must not go to the same dead
// node again. The forwarded task fails as the node's death.
func TestUnreachablePeerIsLeftOutOfPeers(t *testing.T) {
	n, err := grt.NewNode(grt.NodeConfig{NumCPUs: 1, PrestartWorkers: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mem := &staticMembers{self: n.ID(), nodes: []cluster.Member{
		{NodeMeta: cluster.NodeMeta{ID: n.ID(), Resources: map[string]float64{"CPU": 1}}, Status: cluster.StatusAlive},
		{NodeMeta: cluster.NodeMeta{ID: "peer-b", Resources: map[string]float64{"CPU": 2}}, Status: cluster.StatusAlive},
	}}
	e := remote.New(n, refusingTransport{}, mem, nil)
	e.Start()
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer n.Stop(context.Background())
	if p := e.Peers(); len(p) != 1 || p[0].ID != "peer-b" {
		t.Fatalf("peers before any send: %+v, want peer-b", p)
	}
	done := make(chan *grt.ErrorInfo, 1)
	e.Forward(ctx, "peer-b", &grt.ForwardMessage{Spec: &grt.TaskSpec{Func: "f", NumReturns: 1}},
		func(_ [][]byte, ei *grt.ErrorInfo) { done <- ei })
	select {
	case ei := <-done:
		if ei == nil || ei.Kind != grt.ErrKindWorkerCrashed {
			t.Fatalf("forward to an unreachable peer: %v, want ErrKindWorkerCrashed", ei)
		}
	case <-ctx.Done():
		t.Fatal("forward to an unreachable peer never reported")
	}
	if p := e.Peers(); len(p) != 0 {
		t.Fatalf("peers after a failed send: %+v, want none while the peer is unreachable", p)
	}
}
