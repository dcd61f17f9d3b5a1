package state

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/goray/goray/runtime/jobs"
)

func TestClient(t *testing.T) {
	m, srv := newServer(t)
	c, err := NewClient(srv.URL, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	l, err := List[ActorState](ctx, c, "/actors", Query{Filters: map[string]string{"state": "DEAD"}, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := m.Actors(ctx, Query{Filters: map[string]string{"state": "DEAD"}, Limit: 5})
	if l.Total != want.Total || len(l.Items) != 5 || l.Items[4].ID != want.Items[4].ID {
		t.Fatalf("client list: total %d, %d items", l.Total, len(l.Items))
	}
	if _, err := List[ActorState](ctx, c, "/actors", Query{Filters: map[string]string{"colour": "red"}}); !errors.Is(err, ErrBadQuery) {
		t.Fatalf("bad filter: %v", err)
	}
	s, err := c.TaskSummary(ctx, Query{})
	if err != nil || s.Total != 400 {
		t.Fatalf("summary: %+v %v", s.Total, err)
	}
	m.AddCurvePoint(CurvePoint{Job: "j", Iteration: 1, Reward: 3})
	if pts, err := c.Curve(ctx, "j"); err != nil || len(pts) != 1 || pts[0].Reward != 3 {
		t.Fatalf("curve: %+v %v", pts, err)
	}
	m.AppendLog(LogQuery{Node: "n", Job: "j"}, "abcdef")
	var buf bytes.Buffer
	if off, err := c.Logs(ctx, LogQuery{Job: "j", Offset: 2}, &buf); err != nil || off != 6 || buf.String() != "cdef" {
		t.Fatalf("logs: %d %q %v", off, buf.String(), err)
	}
	if _, err := c.Logs(ctx, LogQuery{Job: "nope"}, &buf); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing log: %v", err)
	}
	bad, _ := NewClient(srv.URL, "wrong")
	if _, err := List[NodeState](ctx, bad, "/nodes", Query{}); !errors.Is(err, jobs.ErrUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
	dead := httptest.NewServer(nil)
	addr := dead.Listener.Addr().String()
	dead.Close()
	gone, _ := NewClient(addr, "")
	if _, err := List[NodeState](ctx, gone, "/nodes", Query{}); !errors.Is(err, jobs.ErrUnreachable) {
		t.Fatalf("closed server: %v", err)
	}
	if _, err := NewClient("http://", ""); err == nil {
		t.Fatal("NewClient accepted an address without a host")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := List[NodeState](cctx, c, "/nodes", Query{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
