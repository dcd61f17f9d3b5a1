package runtime

import (
	"bytes"
	"net"
	"testing"
	"time"
)

func TestConnOrderAndLargePayloads(t *testing.T) {
	a, b := net.Pipe()
	got := make(chan *msg, 2000)
	closed := make(chan struct{})
	ca := newConn(a, func(*msg) {}, nil)
	cb := newConn(b, func(m *msg) { got <- m }, func(error) { close(closed) })
	ca.start()
	cb.start()
	big := bytes.Repeat([]byte{0xab}, 1<<20)
	const n = 1000
	for i := 0; i < n; i++ {
		m := &msg{t: mSubmit, req: uint64(i + 1)}
		if i == n/2 {
			m.data = big
		}
		if !ca.send(m) {
			t.Fatal("send on open conn failed")
		}
	}
	timeout := time.After(20 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case m := <-got:
			if m.req != uint64(i+1) {
				t.Fatalf("message %d has req %d", i, m.req)
			}
			if i == n/2 && !bytes.Equal(m.data, big) {
				t.Fatal("large payload corrupted")
			}
		case <-timeout:
			t.Fatalf("only %d of %d messages arrived", i, n)
		}
	}
	ca.close()
	select {
	case <-closed:
	case <-timeout:
		t.Fatal("peer did not notice the close")
	}
	if ca.send(&msg{t: mSubmit}) {
		t.Fatal("send after close succeeded")
	}
	cb.close()
	ca.wg.Wait()
	cb.wg.Wait()
}

func TestConnRejectsGarbage(t *testing.T) {
	a, b := net.Pipe()
	closed := make(chan error, 1)
	cb := newConn(b, func(*msg) { t.Error("garbage decoded as a message") }, func(err error) { closed <- err })
	cb.start()
	go func() {
		_, _ = a.Write([]byte{5, 0, 0, 0, 99, 0xff, 0xff, 0xff, 0xff})
	}()
	select {
	case err := <-closed:
		if err == nil {
			t.Fatal("garbage closed the conn without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("garbage did not close the connection")
	}
	a.Close()
}

func TestNodeConfigValidate(t *testing.T) {
	cases := []struct {
		cfg  NodeConfig
		want string
	}{
		{NodeConfig{NumCPUs: -1}, "num_cpus"},
		{NodeConfig{NumGPUs: -1}, "num_gpus"},
		{NodeConfig{Resources: map[string]float64{"x": -2}}, "resources.x"},
		{NodeConfig{ObjectStoreMemory: -5}, "object_store_memory"},
		{NodeConfig{MaxWorkers: -1}, "max_workers"},
		{NodeConfig{PipelineDepth: -1}, "pipeline_depth"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("%+v: %v, want mention of %s", c.cfg, err, c.want)
		}
	}
	if err := (&NodeConfig{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
}

func TestShapeQueue(t *testing.T) {
	q := &shapeQueue{}
	ts := make([]*taskEntry, 6)
	for i := range ts {
		ts[i] = &taskEntry{spec: &TaskSpec{NumReturns: i}}
	}
	q.push(ts[2])
	q.push(ts[3])
	q.pop()
	q.pushFront([]*taskEntry{ts[0], ts[1]}) // more than the free head room
	q.push(ts[4])
	var order []int
	for q.len() > 0 {
		order = append(order, q.pop().spec.NumReturns)
	}
	want := []int{0, 1, 3, 4}
	if len(order) != len(want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if k1, k2 := shapeKey(map[string]float64{"CPU": 1, "GPU": 1}, Strategy{}), shapeKey(map[string]float64{"GPU": 1, "CPU": 1}, Strategy{}); k1 != k2 {
		t.Fatalf("shape keys differ: %q %q", k1, k2)
	}
}
