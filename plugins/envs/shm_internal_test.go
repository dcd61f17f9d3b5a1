package envs

import (
	"context"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tallyEnv is a minimal env for the transport's unit tests: obs is the
// running sum of its actions, reward the action, done at a sum of 5.
type tallyEnv struct{ sum float64 }

func (e *tallyEnv) Spec() Spec {
	return Spec{ID: "Tally-v0", ObservationSpace: Space{Kind: KindBox, Low: []float64{0}, High: []float64{100}, Shape: []int{1}, Dtype: "float64"},
		ActionSpace: Space{Kind: KindDiscrete, N: 3}}
}
func (e *tallyEnv) Reset(_ *int64, _ map[string]any, obs []float64) (Info, error) {
	e.sum, obs[0] = 0, 0
	return Info{"start": true}, nil
}
func (e *tallyEnv) Step(a []float64, obs []float64) (float64, bool, Info, error) {
	e.sum += a[0]
	obs[0] = e.sum
	return a[0], e.sum >= 5, nil, nil
}
func (e *tallyEnv) Render(string) (Render, error) { return Render{}, nil }
func (e *tallyEnv) Close() error                  { return nil }

func newTally(Kwargs) (Env, error) { return &tallyEnv{}, nil }

// dialForeign connects to the offer's socket and sends hello (no memfd).
func dialForeign(t *testing.T, name string, hello []byte) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(fd, hello); err != nil {
		t.Fatal(err)
	}
	return fd
}

// TestShmTransportInProcess drives both ends of the shm transport in one
// process: a connection with a wrong token is dropped and the real one
// accepted, steps (with infos and with an env error) match the in-process
// vector, and closing the host end ends the plugin's goroutine.
func TestShmTransportInProcess(t *testing.T) {
	const n = 3
	cfg := VectorConfig{ID: "Tally-v0", NumEnvs: n}
	ref, err := NewVector(newTally, cfg)
	if err != nil {
		t.Fatal(err)
	}
	served, err := NewVector(newTally, cfg)
	if err != nil {
		t.Fatal(err)
	}
	offer, err := newShmOffer()
	if err != nil {
		t.Fatal(err)
	}
	defer offer.close()
	foreign := dialForeign(t, offer.name, make([]byte, shmHelloLen))
	defer unix.Close(foreign)
	sv := &serverVector{vec: served}
	srv, err := attachShmServer(offer.proto(), sv, n, n, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := offer.accept(context.Background(), time.Now().Add(5*time.Second), n, n+1, n); err == nil {
		t.Fatal("accept took a layout with the wrong obs length")
	}
	// That failed attach closed the plugin's connection: its goroutine ends.
	select {
	case <-srv.done:
	case <-time.After(5 * time.Second):
		t.Fatal("plugin goroutine still serving after the host dropped the connection")
	}

	offer2, err := newShmOffer()
	if err != nil {
		t.Fatal(err)
	}
	defer offer2.close()
	foreign2 := dialForeign(t, offer2.name, make([]byte, shmHelloLen))
	defer unix.Close(foreign2)
	srv, err = attachShmServer(offer2.proto(), sv, n, n, n)
	if err != nil {
		t.Fatal(err)
	}
	c, err := offer2.accept(context.Background(), time.Now().Add(5*time.Second), n, n, n)
	if err != nil {
		t.Fatalf("accept after a foreign connection: %v", err)
	}
	ctx := context.Background()
	if _, err := ref.Reset(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	sv.mu.Lock() // as the server's Reset does: the shm goroutine steps it
	_, err = served.Reset(ctx, nil, nil)
	sv.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	for k, act := range [][]float64{{1, 2, 0}, {2, 2, 1}, {2, 1, 2}, {0, 0, 0}} {
		want, err := ref.Step(ctx, act)
		if err != nil {
			t.Fatal(err)
		}
		copy(c.v.act, act)
		status, err := c.step(len(act))
		if err != nil || status != shmStatusOK {
			t.Fatalf("step %d: status %d, %v", k, status, err)
		}
		term := make([]bool, n)
		for i := range term {
			term[i] = c.v.term[i] != 0
		}
		if !slices.Equal(c.v.obs, want.Obs) || !slices.Equal(c.v.rew, want.Rewards) || !slices.Equal(term, want.Terminated) {
			t.Fatalf("step %d: shm obs %v rew %v term %v, want %+v", k, c.v.obs, c.v.rew, term, want)
		}
		if len(c.msg.Infos) != n {
			t.Fatalf("step %d: %d infos in the reply, want %d", k, len(c.msg.Infos), n)
		}
		if k == 3 && infoFromProto(c.msg.Infos[0])["start"] != true {
			t.Fatalf("autoreset info = %v", infoFromProto(c.msg.Infos[0]))
		}
	}
	copy(c.v.act, []float64{7, 0, 0})
	status, err := c.step(n)
	if err != nil || status != shmStatusErr || sentinelOf(c.msg.GetError().GetKind()) != ErrBadAction {
		t.Fatalf("bad action: status %d, %v, error %v", status, err, c.msg.GetError())
	}
	c.close()
	select {
	case <-srv.done:
	case <-time.After(5 * time.Second):
		t.Fatal("plugin goroutine still serving after the host closed")
	}
}
