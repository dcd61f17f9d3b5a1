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
