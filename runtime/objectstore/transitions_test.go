package objectstore

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"testing"
)

// These tests drive the in-flight states directly, so the races they cover (a Delete landing
// while a spill or restore copies bytes) happen deterministically.

func TestDeleteDuringSpill(t *testing.T) {
	s := newStore(t, 4<<20)
	ctx := context.Background()
	data := randBytes(rand.New(rand.NewPCG(20, 21)), 1<<20)
	id := NewObjectID()
	if err := s.Put(ctx, id, data); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	victims := s.pickVictimsLocked(1)
	s.mu.Unlock()
	if len(victims) != 1 || victims[0].id != id {
		t.Fatalf("picked %d victims", len(victims))
	}
	// An object being spilled is still readable from memory.
	if got := mustGet(t, s, id); !bytes.Equal(got, data) {
		t.Fatal("Get during spill returned different bytes")
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if err := s.spill(victims[0]); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Used != 0 || st.NumObjects != 0 {
		t.Fatalf("after a spill of a deleted object: %+v", st)
	}
	if m := dirEntries(t, s.cfg.SpillDir); m != 0 {
		t.Fatalf("%d spill files left", m)
	}
	// Its memory may be pooled for reuse; checkAccounting proves nothing else is left.
	checkAccounting(t, s)
}

func TestDeleteDuringRestore(t *testing.T) {
	s := newStore(t, 4<<20)
	ctx := context.Background()
	id := NewObjectID()
	if err := s.Put(ctx, id, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	victims := s.pickVictimsLocked(1)
	s.mu.Unlock()
	if err := s.spill(victims[0]); err != nil {
		t.Fatal(err)
	}
	e := victims[0]
	s.mu.Lock()
	if e.state != stSpilled {
		s.mu.Unlock()
		t.Fatalf("state %d after spill", e.state)
	}
	e.state, e.ready = stRestoring, make(chan struct{})
	s.mu.Unlock()
	waiter := make(chan error, 1)
	go func() {
		_, err := s.Get(ctx, id)
		waiter <- err
	}()
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	f, err := s.restore(ctx, e)
	if f != nil || err != nil {
		t.Fatalf("restore of a deleted object = %v, %v; want nothing", f, err)
	}
	if err := <-waiter; !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get waiting on a restore that was deleted: %v", err)
	}
	if st := s.Stats(); st.Used != 0 || st.NumObjects != 0 {
		t.Fatalf("after restoring a deleted object: %+v", st)
	}
	if n, m := dirEntries(t, s.cfg.Dir), dirEntries(t, s.cfg.SpillDir); n != 0 || m != 0 {
		t.Fatalf("%d shm and %d spill files left", n, m)
	}
}

// TestSpillFailure: when the spill disk fails, the new object gets ErrStoreFull and the
// object that could not be spilled stays intact in memory.
func TestSpillFailure(t *testing.T) {
	s := newStore(t, 4<<20)
	ctx := context.Background()
	data := randBytes(rand.New(rand.NewPCG(22, 23)), 3<<20)
	id := NewObjectID()
	if err := s.Put(ctx, id, data); err != nil {
		t.Fatal(err)
	}
	// Replace the spill directory with a file so every spill fails.
	if err := os.RemoveAll(s.cfg.SpillDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.cfg.SpillDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := s.Put(ctx, NewObjectID(), make([]byte, 2<<20))
	if !errors.Is(err, ErrStoreFull) {
		t.Fatalf("Put needing a failed spill: %v; want ErrStoreFull", err)
	}
	if got := mustGet(t, s, id); !bytes.Equal(got, data) {
		t.Fatal("the object that failed to spill changed")
	}
	if st := s.Stats(); st.NumSpilled != 0 || st.Used != 3<<20 || st.NumObjects != 1 {
		t.Fatalf("Stats after a failed spill: %+v", st)
	}
	checkAccounting(t, s)
}

// TestDeleteWhileMapping: a Get that is mapping the file when the object is deleted still
// returns the right bytes, and its mapping is not cached on the dead entry (it would leak).
func TestDeleteWhileMapping(t *testing.T) {
	s := newStore(t, 4<<20)
	ctx := context.Background()
	data := randBytes(rand.New(rand.NewPCG(24, 25)), 1<<20)
	id := NewObjectID()
	if err := s.Put(ctx, id, data); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	e := s.objects[id]
	f, err := s.openLocked(e) // the first half of Get
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	o, err := s.mapObject(e, f) // the second half
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(o.Bytes(), data) {
		t.Fatal("bytes differ")
	}
	s.mu.Lock()
	cached, pooled := e.m, len(s.pool)
	s.mu.Unlock()
	if cached != nil || pooled != 0 {
		t.Fatalf("deleted entry caches a mapping (%v) or its memory was recycled under a reader (%d)", cached != nil, pooled)
	}
	o.Release()
	if o.m.refs != 0 || o.m.data != nil {
		t.Fatalf("mapping not unmapped after the last Release: refs %d", o.m.refs)
	}
	checkAccounting(t, s)
}

// writeFaults reports whether writing b[0] faults, using SetPanicOnFault so the fault becomes
// a recoverable panic in this goroutine instead of killing the test binary.
func writeFaults(b []byte) (faulted bool) {
	done := make(chan bool)
	go func() {
		debug.SetPanicOnFault(true)
		defer func() { done <- recover() != nil }()
		b[0] ^= 1
	}()
	return <-done
}

// TestBytesReadOnly: Get hands out read-only memory whichever path created the object, so a
// buggy reader cannot change a value others see.
func TestBytesReadOnly(t *testing.T) {
	s := newStore(t, 16<<20)
	ctx := context.Background()
	for _, size := range []int{100, 1 << 20} {
		put, created := NewObjectID(), NewObjectID()
		if err := s.Put(ctx, put, make([]byte, size)); err != nil {
			t.Fatal(err)
		}
		w, err := s.Create(ctx, created, int64(size))
		if err != nil {
			t.Fatal(err)
		}
		if writeFaults(w.Bytes()) {
			t.Fatal("Writer.Bytes is not writable")
		}
		if err := w.Seal(); err != nil {
			t.Fatal(err)
		}
		for _, id := range []ObjectID{put, created} {
			o, err := s.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !writeFaults(o.Bytes()) {
				t.Errorf("size %d: writing through Get's Bytes did not fault", size)
			}
			o.Release()
		}
	}
}
