package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/runtime/cluster"
)

func TestCallerRequestReply(t *testing.T) {
	a, b := rpcPair(t, cluster.TLSFiles{}, cluster.TLSFiles{})
	cluster.Serve(b, "echo", func(_ context.Context, from string, p []byte) ([]byte, error) {
		if string(p) == "fail" {
			return nil, errors.New("asked to fail")
		}
		return []byte(from + ":" + strings.ToUpper(string(p))), nil
	})
	c := cluster.NewCaller(a, "echo")
	defer c.Close()
	ctx := t.Context()

	// Concurrent calls get their own replies.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			want := fmt.Sprintf("a:MSG%d", i)
			got, err := c.Call(ctx, "b", fmt.Appendf(nil, "msg%d", i))
			if err != nil || string(got) != want {
				t.Errorf("call %d = %q, %v; want %q", i, got, err, want)
			}
		})
	}
	wg.Wait()

	if _, err := c.Call(ctx, "b", []byte("fail")); !errors.Is(err, cluster.ErrRemote) || !strings.Contains(err.Error(), "asked to fail") {
		t.Fatalf("remote error: %v", err)
	}
	// A kind nobody serves ends with the caller's ctx.
	silent := cluster.NewCaller(a, "nobody")
	defer silent.Close()
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := silent.Call(cctx, "b", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unserved call: %v, want DeadlineExceeded", err)
	}
}

// A reply frame carrying a pending call's ID but sent by another node must
// not complete the call.
func TestCallerIgnoresRepliesFromOtherNodes(t *testing.T) {
	a, b := rpcPair(t, cluster.TLSFiles{}, cluster.TLSFiles{})
	ctx := t.Context()
	release := make(chan struct{})
	cluster.Serve(b, "hold", func(context.Context, string, []byte) ([]byte, error) {
		<-release
		return []byte("from b"), nil
	})
	c := cluster.NewCaller(a, "hold")
	defer c.Close()
	type result struct {
		got []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := c.Call(ctx, "b", nil)
		done <- result{got, err}
	}()
	// The call is this Caller's first, so its ID is 1. Forge its reply from
	// node a, then a marker on the same stream: frames from one sender are
	// handled in order, so once the marker arrives the forgery was seen.
	marked := make(chan struct{})
	cancelMark := a.Subscribe("marker", func(context.Context, cluster.Frame) { close(marked) })
	defer cancelMark()
	if err := a.Send(ctx, "a", cluster.Frame{Kind: "hold/reply", ID: 1, Last: true, Payload: []byte("\x00forged")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(ctx, "a", cluster.Frame{Kind: "marker", Last: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-marked:
	case <-time.After(10 * time.Second):
		t.Fatal("marker frame never arrived")
	}
	close(release)
	select {
	case r := <-done:
		if r.err != nil || string(r.got) != "from b" {
			t.Fatalf("call = %q, %v; want b's reply", r.got, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("call never completed")
	}
}
