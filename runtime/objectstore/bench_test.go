package objectstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkPutGet measures each way into and out of the store next to a plain memcpy of the
// same size in the same run, so the GB/s columns compare directly:
//
//	go test -run '^$' -bench PutGet ./runtime/objectstore/
//
// memcpy copies into an already-faulted buffer, the best case any store path could reach.
// Put copies a []byte in; Create fills the writable mapping (the zero-copy path a serializer
// uses). Both delete their objects with the timer stopped and start from a warm pool, so they
// measure the steady state of a node whose deleted objects' memory is reused; reuse% says how
// many puts found pooled memory. PutDelete includes the Delete in the time; PutFresh disables
// the pool to show the cost of brand-new tmpfs pages (allocation and zeroing by the kernel).
// Get only hands out the cached read-only mapping (zero copy, so its "bandwidth" is bytes made
// available per second); GetCopy also copies every byte out once.
func BenchmarkPutGet(b *testing.B) {
	sizes := []struct {
		name string
		n    int
	}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}, {"256MiB", 256 << 20}}
	s := newStore(b, 2<<30)
	ctx := context.Background()
	for _, sz := range sizes {
		src := randBytes(rand.New(rand.NewPCG(1, 1)), sz.n)
		dst := make([]byte, sz.n)
		copy(dst, src) // fault dst in
		report := func(b *testing.B) {
			b.SetBytes(int64(sz.n))
			b.ReportMetric(float64(sz.n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		}
		// reuse reports how many objects found pooled memory since the last mark. mark also
		// warms the pool with one object of this size, as a running node's pool would be.
		var hits0, misses0 int64
		mark := func() {
			warm := NewObjectID()
			if err := s.Put(ctx, warm, src); err != nil {
				b.Fatal(err)
			}
			if err := s.Delete(warm); err != nil {
				b.Fatal(err)
			}
			s.mu.Lock()
			hits0, misses0 = s.poolHits, s.poolMisses
			s.mu.Unlock()
		}
		reuse := func(b *testing.B) {
			s.mu.Lock()
			hits, misses := s.poolHits-hits0, s.poolMisses-misses0
			s.mu.Unlock()
			if hits+misses > 0 {
				b.ReportMetric(100*float64(hits)/float64(hits+misses), "reuse%")
			}
		}
		// cleanup deletes accumulated objects off the clock once they add up.
		var pending []ObjectID
		var pendingBytes int
		flush := func(b *testing.B, force bool) {
			if !force && pendingBytes < 64<<20 && len(pending) < 4096 {
				return
			}
			b.StopTimer()
			for _, id := range pending {
				if err := s.Delete(id); err != nil {
					b.Fatal(err)
				}
			}
			pending, pendingBytes = pending[:0], 0
			b.StartTimer()
		}
		b.Run(fmt.Sprintf("memcpy/%s", sz.name), func(b *testing.B) {
			for b.Loop() {
				copy(dst, src)
			}
			report(b)
		})
		b.Run(fmt.Sprintf("Put/%s", sz.name), func(b *testing.B) {
			mark()
			for b.Loop() {
				id := NewObjectID()
				if err := s.Put(ctx, id, src); err != nil {
					b.Fatal(err)
				}
				pending, pendingBytes = append(pending, id), pendingBytes+sz.n
				flush(b, false)
			}
			report(b)
			reuse(b)
			flush(b, true)
		})
		b.Run(fmt.Sprintf("PutDelete/%s", sz.name), func(b *testing.B) {
			mark()
			for b.Loop() {
				id := NewObjectID()
				if err := s.Put(ctx, id, src); err != nil {
					b.Fatal(err)
				}
				if err := s.Delete(id); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
			reuse(b)
		})
		b.Run(fmt.Sprintf("PutFresh/%s", sz.name), func(b *testing.B) {
			mark()
			s.mu.Lock()
			saved := s.poolLimit
			s.poolLimit = 0
			s.trimPoolLocked(s.cfg.Limit)
			s.mu.Unlock()
			defer func() { s.mu.Lock(); s.poolLimit = saved; s.mu.Unlock() }()
			for b.Loop() {
				id := NewObjectID()
				if err := s.Put(ctx, id, src); err != nil {
					b.Fatal(err)
				}
				pending, pendingBytes = append(pending, id), pendingBytes+sz.n
				flush(b, false)
			}
			report(b)
			reuse(b)
			flush(b, true)
		})
		b.Run(fmt.Sprintf("Create/%s", sz.name), func(b *testing.B) {
			mark()
			for b.Loop() {
				id := NewObjectID()
				w, err := s.Create(ctx, id, int64(sz.n))
				if err != nil {
					b.Fatal(err)
				}
				copy(w.Bytes(), src)
				if err := w.Seal(); err != nil {
					b.Fatal(err)
				}
				pending, pendingBytes = append(pending, id), pendingBytes+sz.n
				flush(b, false)
			}
			report(b)
			reuse(b)
			flush(b, true)
		})
		id := NewObjectID()
		if err := s.Put(ctx, id, src); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("Get/%s", sz.name), func(b *testing.B) {
			for b.Loop() {
				o, err := s.Get(ctx, id)
				if err != nil {
					b.Fatal(err)
				}
				o.Release()
			}
			report(b)
		})
		b.Run(fmt.Sprintf("GetCopy/%s", sz.name), func(b *testing.B) {
			for b.Loop() {
				o, err := s.Get(ctx, id)
				if err != nil {
					b.Fatal(err)
				}
				copy(dst, o.Bytes())
				o.Release()
			}
			report(b)
		})
		if err := s.Delete(id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSpillRestore reads objects round-robin from a store holding twice its limit, so
// every Get restores one object from the spill directory and spills another:
//
//	go test -run '^$' -bench SpillRestore ./runtime/objectstore/
//
// GB/s counts the bytes restored (each also re-spilled, which is free after the first time:
// the spill file is kept).
func BenchmarkSpillRestore(b *testing.B) {
	const size, limit = 8 << 20, 64 << 20
	s := newStore(b, limit)
	ctx := context.Background()
	src := randBytes(rand.New(rand.NewPCG(2, 2)), size)
	var ids []ObjectID
	for range 2 * limit / size {
		id := NewObjectID()
		if err := s.Put(ctx, id, src); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	before := s.Stats().RestoredBytes
	i := 0
	for b.Loop() {
		o, err := s.Get(ctx, ids[i%len(ids)])
		if err != nil {
			b.Fatal(err)
		}
		o.Release()
		i++
	}
	restored := s.Stats().RestoredBytes - before
	if restored == 0 {
		b.Fatal("nothing was restored")
	}
	b.ReportMetric(float64(restored)/b.Elapsed().Seconds()/1e9, "GB/s")
	b.ReportMetric(float64(restored)/float64(size)/float64(b.N), "restores/op")
}
