package objectstore

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// newWarmStore is newStore with a warm reserve of reserve bytes and a short idle gap, so the
// refiller runs as soon as a test stops creating objects.
func newWarmStore(t testing.TB, limit, reserve int64) *Store {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Limit = limit
	cfg.WarmReserve = reserve
	cfg.SpillDir = filepath.Join(t.TempDir(), "spill")
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.mu.Lock()
	s.warm.idle = time.Millisecond
	s.mu.Unlock()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if _, err := os.Stat(cfg.Dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after Close, %s still exists (stat err %v)", cfg.Dir, err)
		}
	})
	return s
}

func waitWarm(t testing.TB, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := s.WaitWarm(ctx); err != nil {
		t.Fatalf("WaitWarm: %v", err)
	}
}

// warmFiles lists the reserve's files in the store's directory.
func warmFiles(t testing.TB, s *Store) []string {
	t.Helper()
	des, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		if strings.HasPrefix(de.Name(), "warm-") {
			out = append(out, de.Name())
		}
	}
	return out
}

func TestWarmClass(t *testing.T) {
	tests := []struct{ size, want int64 }{
		{0, 0},
		{1, 64 << 10},
		{64 << 10, 64 << 10},
		{1 << 20, 1 << 20},
		{1<<20 + 1, 1<<20 + 64<<10},
		{64 << 20, 64 << 20},
		{64<<20 + 1, 64<<20 + 512<<10},
		{64<<20 + 100*4096, 64<<20 + 512<<10},
		{100 << 20, 100 << 20},
		{255<<20 + 1, 256 << 20},
		{256<<20 + 4096, 258 << 20},
	}
	for _, tt := range tests {
		got := warmClass(tt.size)
		if got != tt.want {
			t.Errorf("warmClass(%d) = %d; want %d", tt.size, got, tt.want)
		}
		// Every object of the class fits its block under the pool's quarter rule.
		if tt.size > 0 && (got < tt.size || got-tt.size > max(got/128, 64<<10)) {
			t.Errorf("warmClass(%d) = %d: not a snug fit", tt.size, got)
		}
	}
}

// TestWarmReserveFillsAndServes: after a large object the reserve fills, in the background,
// with blocks of that size up to its bound; the next objects of the size, through each entry
// point, land in a reserve block; and the reserve is refilled behind them.
func TestWarmReserveFillsAndServes(t *testing.T) {
	const class = 3 << 20
	s := newWarmStore(t, 64<<20, 8<<20)
	if got := s.Stats().WarmReserve; got != 0 {
		t.Fatalf("a new store holds %d reserve bytes before any demand", got)
	}
	r := rand.New(rand.NewPCG(1, 2))
	first := NewObjectID()
	if err := s.Put(t.Context(), first, randBytes(r, class)); err != nil {
		t.Fatal(err)
	}
	waitWarm(t, s)
	// 8 MiB holds two 3 MiB blocks; a third would pass the bound.
	if st := s.Stats(); st.WarmReserve != 2*class {
		t.Fatalf("reserve = %d bytes; want %d", st.WarmReserve, 2*class)
	}
	if n := len(warmFiles(t, s)); n != 2 {
		t.Fatalf("%d reserve files; want 2", n)
	}
	checkAccounting(t, s)

	entries := []struct {
		name string
		put  func(id ObjectID, data []byte) error
	}{
		{"Put", func(id ObjectID, data []byte) error { return s.Put(t.Context(), id, data) }},
		{"Create", func(id ObjectID, data []byte) error {
			w, err := s.Create(t.Context(), id, int64(len(data)))
			if err != nil {
				return err
			}
			copy(w.Bytes(), data)
			return w.Seal()
		}},
		{"CreateIngest", func(id ObjectID, data []byte) error {
			in, err := s.CreateIngest(t.Context(), id, int64(len(data)))
			if err != nil {
				return err
			}
			if _, err := in.ReadFrom(bytes.NewReader(data)); err != nil {
				in.Abort()
				return err
			}
			return in.Seal()
		}},
	}
	for i, ep := range entries {
		s.mu.Lock()
		hits := s.warm.hits
		s.mu.Unlock()
		data := randBytes(r, class-(i+1)*4096) // a little smaller, same class: the block is truncated
		id := NewObjectID()
		if err := ep.put(id, data); err != nil {
			t.Fatalf("%s: %v", ep.name, err)
		}
		s.mu.Lock()
		e := s.objects[id]
		path, gotHits := e.path, s.warm.hits-hits
		s.mu.Unlock()
		if gotHits != 1 || !strings.HasPrefix(filepath.Base(path), "warm-") {
			t.Fatalf("%s: %d reserve hits, object in %s; want it in a reserve block", ep.name, gotHits, path)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != int64(len(data)) {
			t.Fatalf("%s: object file %v (err %v); want %d bytes", ep.name, fi, err, len(data))
		}
		if got := mustGet(t, s, id); !bytes.Equal(got, data) {
			t.Fatalf("%s: read back different bytes", ep.name)
		}
		waitWarm(t, s)
		if st := s.Stats(); st.WarmReserve != 2*class {
			t.Fatalf("%s: reserve refilled to %d bytes; want %d", ep.name, st.WarmReserve, 2*class)
		}
		checkAccounting(t, s)
	}
	// Small objects neither use nor shape the reserve.
	small := NewObjectID()
	if err := s.Put(t.Context(), small, randBytes(r, 256<<10)); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	classes := append([]int64(nil), s.warm.classes...)
	s.mu.Unlock()
	if len(classes) != 1 || classes[0] != class {
		t.Fatalf("demand classes %v; want [%d]", classes, class)
	}
}

// TestWarmReserveFollowsDemand: when the node starts receiving objects of a new size and
// the reserve is full of another, older blocks make way for the new size.
func TestWarmReserveFollowsDemand(t *testing.T) {
	s := newWarmStore(t, 64<<20, 8<<20)
	for _, size := range []int64{3 << 20, 5 << 20} {
		if err := s.Put(t.Context(), NewObjectID(), make([]byte, size)); err != nil {
			t.Fatal(err)
		}
		waitWarm(t, s)
		s.mu.Lock()
		var sizes []int64
		for _, b := range s.warm.blocks {
			sizes = append(sizes, b.size)
		}
		s.mu.Unlock()
		if !slices.Contains(sizes, size) {
			t.Fatalf("after a %d-byte object the reserve holds blocks %v", size, sizes)
		}
		checkAccounting(t, s)
	}
}

// TestWarmReserveWaitsForIdle: nothing is allocated while an object is being created, so the
// refiller never competes with a transfer.
func TestWarmReserveWaitsForIdle(t *testing.T) {
	s := newWarmStore(t, 64<<20, 8<<20)
	w, err := s.Create(t.Context(), NewObjectID(), 2<<20)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := s.WaitWarm(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitWarm while an object is being created = %v; want a deadline error", err)
	}
	if got := s.Stats().WarmReserve; got != 0 {
		t.Fatalf("reserve filled to %d while an object was being created", got)
	}
	if err := w.Seal(); err != nil {
		t.Fatal(err)
	}
	waitWarm(t, s)
	if got := s.Stats().WarmReserve; got != 8<<20 {
		t.Fatalf("reserve = %d after the store went idle; want %d", got, 8<<20)
	}
}

// TestWarmReserveYields runs one random sequence of puts and deletes against a store with a
// reserve and one without: every operation must succeed or fail alike and spill alike, and
// the books must match the directory, the reserve filled before every operation.
func TestWarmReserveYields(t *testing.T) {
	const limit = 24 << 20
	with := newWarmStore(t, limit, limit/2)
	without := newStore(t, limit)
	r := rand.New(rand.NewPCG(7, 11))
	var live []ObjectID
	sizes := []int{1 << 20, 2 << 20, 3<<20 + 5000, 5 << 20, 9 << 20}
	for op := range 60 {
		waitWarm(t, with)
		checkAccounting(t, with)
		if len(live) > 0 && r.IntN(3) == 0 {
			i := r.IntN(len(live))
			id := live[i]
			live = append(live[:i], live[i+1:]...)
			e1, e2 := with.Delete(id), without.Delete(id)
			if (e1 == nil) != (e2 == nil) {
				t.Fatalf("op %d: Delete with reserve = %v, without = %v", op, e1, e2)
			}
			continue
		}
		id := NewObjectID()
		data := randBytes(r, sizes[r.IntN(len(sizes))])
		e1, e2 := with.Put(t.Context(), id, data), without.Put(t.Context(), id, data)
		if (e1 == nil) != (e2 == nil) {
			t.Fatalf("op %d: Put(%d bytes) with reserve = %v, without = %v", op, len(data), e1, e2)
		}
		if e1 == nil {
			live = append(live, id)
		}
		if s1, s2 := with.Stats(), without.Stats(); s1.Spilled != s2.Spilled || s1.Used != s2.Used {
			t.Fatalf("op %d: with reserve %d spills, %d used; without %d spills, %d used",
				op, s1.Spilled, s1.Used, s2.Spilled, s2.Used)
		}
		if st := with.Stats(); st.Used+st.Pooled+st.WarmReserve > limit {
			t.Fatalf("op %d: used %d + pooled %d + reserve %d exceed the limit", op, st.Used, st.Pooled, st.WarmReserve)
		}
	}
	with.mu.Lock()
	hits, fills, yields := with.warm.hits, with.warm.fills, with.warm.yields
	with.mu.Unlock()
	if hits == 0 || fills == 0 || yields == 0 {
		t.Fatalf("reserve filled %d blocks, served %d objects and yielded %d; the sequence should exercise all three", fills, hits, yields)
	}
	t.Logf("reserve: %d fills, %d hits, %d yields", fills, hits, yields)
	for _, id := range live {
		if got := mustGet(t, with, id); len(got) == 0 {
			t.Fatalf("object %s empty", id)
		}
	}
}

func TestWarmReserveDisabled(t *testing.T) {
	s := newStore(t, 64<<20) // WarmReserve 0
	if err := s.Put(t.Context(), NewObjectID(), make([]byte, 3<<20)); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitWarm(t.Context()); err != nil {
		t.Fatalf("WaitWarm without a reserve: %v", err)
	}
	s.mu.Lock()
	running, classes := s.warm.kick != nil, len(s.warm.classes)
	s.mu.Unlock()
	if running || classes != 0 {
		t.Fatalf("disabled reserve: refiller running %v, %d demand classes", running, classes)
	}
	if st := s.Stats(); st.WarmReserve != 0 {
		t.Fatalf("disabled reserve holds %d bytes", st.WarmReserve)
	}
	if f := warmFiles(t, s); len(f) != 0 {
		t.Fatalf("disabled reserve made files %v", f)
	}
}

// TestWarmReserveClose: Close stops the refiller, also in the middle of a fill, and removes
// the reserve's files; no goroutine is left behind.
func TestWarmReserveClose(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, settle := range []bool{true, false} {
		cfg := DefaultConfig()
		cfg.Limit = 256 << 20
		cfg.WarmReserve = 64 << 20
		cfg.SpillDir = filepath.Join(t.TempDir(), "spill")
		s, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		s.warm.idle = 0
		done := s.warm.done
		s.mu.Unlock()
		if err := s.Put(t.Context(), NewObjectID(), make([]byte, 16<<20)); err != nil {
			t.Fatal(err)
		}
		if settle {
			waitWarm(t, s)
			if got := s.Stats().WarmReserve; got != 64<<20 {
				t.Fatalf("reserve = %d; want %d", got, 64<<20)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		default:
			t.Fatal("Close returned with the refiller still running")
		}
		if _, err := os.Stat(cfg.Dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("after Close, %s still exists (stat err %v)", cfg.Dir, err)
		}
		if err := s.WaitWarm(t.Context()); !errors.Is(err, ErrClosed) {
			t.Fatalf("WaitWarm after Close = %v; want ErrClosed", err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Close; %d before New", n, before)
	}
}

// TestSetWarmReserve: the bound can be raised from off, lowered and turned off while the
// store runs; the reserve follows at once when lowered and after the next idle gap when
// raised.
func TestSetWarmReserve(t *testing.T) {
	const class = 3 << 20
	s := newStore(t, 64<<20) // off
	s.mu.Lock()
	s.warm.idle = time.Millisecond
	s.mu.Unlock()
	for _, bad := range []int64{-1, 64<<20 + 1} {
		if err := s.SetWarmReserve(bad); err == nil {
			t.Fatalf("SetWarmReserve(%d) succeeded", bad)
		}
	}
	if err := s.SetWarmReserve(8 << 20); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), NewObjectID(), make([]byte, class)); err != nil {
		t.Fatal(err)
	}
	waitWarm(t, s)
	if got := s.Stats().WarmReserve; got != 2*class {
		t.Fatalf("reserve = %d after raising the bound; want %d", got, 2*class)
	}
	steps := []struct{ bound, want int64 }{{4 << 20, class}, {2 << 20, 0}, {8 << 20, 2 * class}, {0, 0}}
	for _, st := range steps {
		if err := s.SetWarmReserve(st.bound); err != nil {
			t.Fatal(err)
		}
		if got := s.Stats().WarmReserve; got > st.bound {
			t.Fatalf("SetWarmReserve(%d) left %d bytes", st.bound, got)
		}
		waitWarm(t, s)
		if got := s.Stats().WarmReserve; got != st.want {
			t.Fatalf("bound %d: reserve = %d; want %d", st.bound, got, st.want)
		}
		if n := int64(len(warmFiles(t, s))) * class; n != st.want {
			t.Fatalf("bound %d: %d bytes of reserve files; want %d", st.bound, n, st.want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWarmReserve(1 << 20); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetWarmReserve after Close = %v; want ErrClosed", err)
	}
}
