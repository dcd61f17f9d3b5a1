package objectstore

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestRandomOps runs a seeded random mix of every operation against a small store and checks,
// after each step, the bytes of every object read against a model and the store's books
// against the directory. Sizes cluster around a few values so that pooled memory, spilling
// and restoring all happen often.
func TestRandomOps(t *testing.T) {
	const limit = 4 << 20
	s := newStore(t, limit)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(42, 43))
	steps := 600
	if testing.Short() {
		steps = 200
	}
	model := map[ObjectID][]byte{}
	lost := map[ObjectID]bool{}
	var ids []ObjectID // live IDs, for picking
	var held []*Object
	var heldWant [][]byte
	sizes := []int{0, 100, 64 << 10, 200 << 10, 256 << 10, 1 << 20, 1<<20 - 4096, 3 << 19}
	pick := func() (ObjectID, int) {
		i := r.IntN(len(ids))
		return ids[i], i
	}
	for step := range steps {
		op := r.IntN(10)
		switch {
		case op < 3 || len(ids) == 0: // put or create
			id := NewObjectID()
			data := randBytes(r, sizes[r.IntN(len(sizes))])
			if r.IntN(2) == 0 {
				if err := s.Put(ctx, id, data); err != nil {
					t.Fatalf("step %d: Put: %v", step, err)
				}
			} else {
				w, err := s.Create(ctx, id, int64(len(data)))
				if err != nil {
					t.Fatalf("step %d: Create: %v", step, err)
				}
				copy(w.Bytes(), data)
				if err := w.Seal(); err != nil {
					t.Fatalf("step %d: Seal: %v", step, err)
				}
			}
			model[id] = data
			ids = append(ids, id)
		case op < 6: // get, sometimes keeping the view (and sometimes exporting its path)
			id, _ := pick()
			o, err := s.Get(ctx, id)
			if err != nil {
				t.Fatalf("step %d: Get: %v", step, err)
			}
			if !bytes.Equal(o.Bytes(), model[id]) {
				t.Fatalf("step %d: Get returned different bytes", step)
			}
			if r.IntN(3) == 0 {
				_ = o.Path()
			}
			if r.IntN(3) == 0 {
				held, heldWant = append(held, o), append(heldWant, model[id])
			} else {
				o.Release()
			}
		case op < 8: // delete
			id, i := pick()
			if err := s.Delete(id); err != nil {
				t.Fatalf("step %d: Delete: %v", step, err)
			}
			delete(model, id)
			ids = append(ids[:i], ids[i+1:]...)
		case op < 9: // lose
			id, i := pick()
			s.MarkLost(id)
			delete(model, id)
			lost[id] = true
			ids = append(ids[:i], ids[i+1:]...)
		default: // release some held views, checking they never changed
			for i, o := range held {
				if !bytes.Equal(o.Bytes(), heldWant[i]) {
					t.Fatalf("step %d: a held view changed", step)
				}
				o.Release()
			}
			held, heldWant = held[:0], heldWant[:0]
		}
		checkAccounting(t, s)
		if st := s.Stats(); st.NumObjects != int64(len(model)) {
			t.Fatalf("step %d: NumObjects %d; model has %d", step, st.NumObjects, len(model))
		}
	}
	for id := range lost {
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrObjectLost) {
			t.Fatalf("Get of a lost object: %v", err)
		}
	}
	for id, want := range model {
		if got := mustGet(t, s, id); !bytes.Equal(got, want) {
			t.Fatal("final read differs")
		}
	}
	for i, o := range held {
		if !bytes.Equal(o.Bytes(), heldWant[i]) {
			t.Fatal("a held view changed")
		}
		o.Release()
	}
	st := s.Stats()
	if st.Spilled == 0 || st.RestoredBytes == 0 {
		t.Errorf("the random mix never spilled or restored: %+v", st)
	}
	s.mu.Lock()
	hits := s.poolHits
	s.mu.Unlock()
	if hits == 0 {
		t.Error("the random mix never reused pooled memory")
	}
}

// contentFor derives an object's bytes from its ID, so concurrent readers can check any
// object they manage to read without sharing a model.
func contentFor(id ObjectID) []byte {
	seed := uint64(id[0]) | uint64(id[1])<<8 | uint64(id[2])<<16
	sizes := []int{0, 5000, 70 << 10, 300 << 10, 700 << 10}
	return randBytes(rand.New(rand.NewPCG(seed, 1)), sizes[int(id[3])%len(sizes)])
}

// TestConcurrentSharedObjects: goroutines get, delete, lose and recreate the same objects
// at once, so every "deleted while in flight" path runs under the race detector. Any read
// that succeeds must return the object's exact bytes, and views must stay intact.
func TestConcurrentSharedObjects(t *testing.T) {
	s := newStore(t, 6<<20)
	ctx := context.Background()
	ids := make([]ObjectID, 24)
	for i := range ids {
		ids[i] = ObjectID{byte(i), byte(i * 7), 1, byte(i)}
	}
	rounds := 150
	if testing.Short() {
		rounds = 60
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 99))
			var held []*Object
			for range rounds {
				id := ids[r.IntN(len(ids))]
				switch r.IntN(6) {
				case 0, 1:
					err := s.Put(ctx, id, contentFor(id))
					if err != nil && !errors.Is(err, ErrExists) && !errors.Is(err, ErrNotFound) {
						t.Errorf("Put: %v", err)
						return
					}
				case 2, 3:
					o, err := s.Get(ctx, id)
					if errors.Is(err, ErrNotFound) || errors.Is(err, ErrObjectLost) {
						continue
					}
					if err != nil {
						t.Errorf("Get: %v", err)
						return
					}
					if !bytes.Equal(o.Bytes(), contentFor(id)) {
						t.Errorf("Get of %v returned wrong bytes", id)
					}
					if r.IntN(2) == 0 {
						_ = o.Path()
					}
					held = append(held, o)
				case 4:
					if err := s.Delete(id); err != nil && !errors.Is(err, ErrNotFound) {
						t.Errorf("Delete: %v", err)
					}
				case 5:
					s.MarkLost(id)
				}
				if len(held) > 3 {
					for _, o := range held {
						if !bytes.Equal(o.Bytes(), contentFor(o.e.id)) {
							t.Errorf("a held view changed")
						}
						o.Release()
					}
					held = held[:0]
				}
			}
			for _, o := range held {
				o.Release()
			}
		}()
	}
	wg.Wait()
	checkAccounting(t, s)
}
