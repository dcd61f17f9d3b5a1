package objectstore

import (
	"context"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The warm reserve is memory allocated and pre-faulted ahead of need, so that an object
// arriving at a node that has freed nothing of its size still lands in populated pages:
// allocating and zeroing fresh tmpfs pages on the transfer's path costs about as much as
// the copy itself. Plasma gets the same effect by preallocating its whole arena; goray's
// objects are files, so the reserve is a few files (blocks) of the sizes recently asked for,
// made by one goroutine while the store is idle.
//
// Sizes come from demand rather than a fixed menu because a block cannot be split (an object
// is a whole file that other processes map from offset 0) and a block much bigger than its
// object wastes the pre-faulting of its tail. So every object of at least minWarmSize that
// the pool could not serve records its size class, and the refiller keeps blocks of the
// most recent classes, round robin, up to the bound; when the newest class finds no room,
// blocks of older ones make way. A daemon that never received a large
// object therefore holds no reserve at all, which keeps idle daemons (and test clusters
// that start dozens of them) from pre-faulting memory nobody asked for.
//
// The reserve never makes a Put fail or spill that would have succeeded without it: it is
// filled only while objects plus pool plus reserve stay under the spill threshold, and when
// objects need the memory it is released before the pool (trimPoolLocked). It is filled only
// while the file system has room, besides the block, for everything the limit still allows
// objects to take, so it cannot turn a Put that fits the limit into an ENOSPC either.

// minWarmSize is the smallest object served from (and recorded as demand for) the reserve:
// below it a fresh file costs too little for pre-faulting to matter.
const minWarmSize = 1 << 20

// maxWarmClasses is how many recent size classes the refiller keeps blocks of.
const maxWarmClasses = 4

// defaultWarmIdle is how long the store must have seen no object being created before the
// refiller allocates: filling competes with a transfer for CPU and memory bandwidth.
const defaultWarmIdle = 20 * time.Millisecond

// defaultWarmReserveCap caps DefaultWarmReserve.
const defaultWarmReserveCap = 256 << 20

// DefaultWarmReserve is the default Config.WarmReserve for a store of the given limit:
// min(256 MiB, limit/4).
func DefaultWarmReserve(limit int64) int64 {
	return max(min(defaultWarmReserveCap, limit/4), 0)
}

// warmReserve is the reserve's state, guarded by Store.mu except where noted.
type warmReserve struct {
	target  int64    // Config.WarmReserve; 0: disabled (no goroutine)
	blocks  []*block // oldest first; rw and (unless mapping it failed) ro populated
	bytes   int64
	classes []int64 // recent demand, most recent first, distinct, at most maxWarmClasses
	idle    time.Duration

	creating   int       // objects between begin and seal/abort
	lastActive time.Time // last begin, seal or abort
	settled    bool      // the refiller found nothing to fill since the last change

	kick chan struct{} // buffered(1): there may be something to fill
	quit chan struct{} // closed by Close
	done chan struct{} // closed when the refiller returns

	hits, fills, yields int64 // blocks served, allocated, released (for objects or newer demand)
}

// warmClass rounds size up to its reserve size class: steps of 1/128 of the power of two at
// or below it (at least 64 KiB), so a block is at most about 1% bigger than any object of
// its class, and an object a few KiB larger than the last one still fits the same block.
// Fine steps matter: the tail cut off a block when an object takes it is pre-faulting
// wasted, and truncating it (page-table zapping in two mappings, then freeing the pages) is
// on the object's path. With steps of 1/32, runtime/remote's BenchmarkObjectTransfer ran its
// fresh-with-reserve case slower than its recycled case; change the divisor below and run it
// to compare.
func warmClass(size int64) int64 {
	if size <= 0 {
		return 0
	}
	step := max(int64(1)<<(63-bits.LeadingZeros64(uint64(size)))/128, 64<<10)
	return (size + step - 1) / step * step
}

// startWarm starts the refiller if the reserve is enabled. Called by New.
func (s *Store) startWarm() {
	s.warm.target = s.cfg.WarmReserve
	s.warm.idle = defaultWarmIdle
	s.warm.settled = true
	if s.warm.target > 0 {
		s.startRefillerLocked()
	}
}

// startRefillerLocked starts the reserve's goroutine, once per store.
func (s *Store) startRefillerLocked() {
	if s.warm.kick != nil {
		return
	}
	s.warm.kick = make(chan struct{}, 1)
	s.warm.quit = make(chan struct{})
	s.warm.done = make(chan struct{})
	go s.refill()
}

// SetWarmReserve changes the warm reserve's bound (Config.WarmReserve) while the store runs:
// blocks above a lower bound are freed at once, a higher one is filled when the store is
// next idle, and 0 turns the reserve off. It fails for a bound outside [0, Limit] and after
// Close.
func (s *Store) SetWarmReserve(n int64) error {
	if n < 0 || n > s.cfg.Limit {
		return fmt.Errorf("objectstore: warm reserve %d outside [0, limit %d]", n, s.cfg.Limit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.warm.target = n
	for s.warm.bytes > n {
		s.evictWarmLocked()
	}
	if n == 0 {
		s.warm.classes = nil
		if s.warm.kick == nil {
			return nil
		}
	}
	s.startRefillerLocked()
	s.kickWarmLocked()
	return nil
}

// stopWarmLocked tells the refiller to stop and frees the reserve; Close then waits on the
// returned channel (nil if there is no refiller) without s.mu.
func (s *Store) stopWarmLocked() (done <-chan struct{}, files []string) {
	for _, b := range s.warm.blocks {
		files = append(files, b.path)
		s.unrefLocked(b.rw)
		s.unrefLocked(b.ro)
	}
	s.warm.blocks, s.warm.bytes = nil, 0
	if s.warm.quit == nil {
		return nil, files
	}
	close(s.warm.quit)
	return s.warm.done, files
}

// kickWarmLocked wakes the refiller: the demand or the reserve changed.
func (s *Store) kickWarmLocked() {
	if s.warm.kick == nil {
		return
	}
	s.warm.settled = false
	select {
	case s.warm.kick <- struct{}{}:
	default:
	}
}

// activeLocked notes that an object started (delta 1) or finished (-1) being created.
func (s *Store) activeLocked(delta int) {
	s.warm.creating += delta
	s.warm.lastActive = time.Now()
}

// noteDemandLocked records that an object of size needed memory the pool did not have.
func (s *Store) noteDemandLocked(size int64) {
	if s.warm.target <= 0 || size < minWarmSize {
		return
	}
	c := warmClass(size)
	if c > s.warm.target {
		return
	}
	if i := slices.Index(s.warm.classes, c); i >= 0 {
		s.warm.classes = slices.Delete(s.warm.classes, i, i+1)
	}
	s.warm.classes = slices.Insert(s.warm.classes, 0, c)
	if len(s.warm.classes) > maxWarmClasses {
		s.warm.classes = s.warm.classes[:maxWarmClasses]
	}
	s.kickWarmLocked()
}

// takeWarmLocked removes from the reserve the smallest block that fits size (at most a
// quarter too big), shrunk to size, or returns nil. Either way it records the demand, so
// the refiller replaces what was taken.
func (s *Store) takeWarmLocked(size int64) *block {
	if s.warm.target <= 0 || size < minWarmSize {
		return nil
	}
	s.noteDemandLocked(size)
	best := bestFit(s.warm.blocks, size) // pool.go
	if best < 0 {
		return nil
	}
	b := s.warm.blocks[best]
	s.warm.blocks = slices.Delete(s.warm.blocks, best, best+1)
	s.warm.bytes -= b.size
	if b.size != size {
		// Frees the tail's pages; the mapping stays as long as it was (Bytes slices it).
		if err := os.Truncate(b.path, size); err != nil {
			_ = os.Remove(b.path)
			s.unrefLocked(b.rw)
			s.unrefLocked(b.ro)
			return nil
		}
		b.size = size
	}
	s.warm.hits++
	return b
}

// evictWarmLocked frees the oldest reserve block.
func (s *Store) evictWarmLocked() {
	b := s.warm.blocks[0]
	s.warm.blocks = slices.Delete(s.warm.blocks, 0, 1)
	s.warm.bytes -= b.size
	s.warm.yields++
	_ = os.Remove(b.path)
	s.unrefLocked(b.rw)
	s.unrefLocked(b.ro)
	s.kickWarmLocked() // it may fit again once the memory is free
}

// warmRoomLocked is how many more bytes the reserve may hold now.
func (s *Store) warmRoomLocked() int64 {
	return min(s.warm.target-s.warm.bytes, s.soft-s.used-s.poolBytes-s.warm.bytes)
}

// followDemandLocked frees blocks of older classes, oldest first, when the most recent class
// has no block that fits it and no room for one: the reserve follows what the node receives
// now, not what it received before.
func (s *Store) followDemandLocked() {
	if len(s.warm.classes) == 0 {
		return
	}
	c := s.warm.classes[0]
	if min(s.warm.target, s.soft-s.used-s.poolBytes) < c {
		return // it would not fit even in an empty reserve
	}
	if bestFit(s.warm.blocks, c) >= 0 {
		return
	}
	for len(s.warm.blocks) > 0 && s.warmRoomLocked() < c {
		s.evictWarmLocked()
	}
}

// nextWarmLocked picks the size class to fill next, or 0 when the reserve holds what the
// demand and the bounds allow: the class with the fewest blocks, most recent first.
func (s *Store) nextWarmLocked() int64 {
	s.followDemandLocked()
	room := s.warmRoomLocked()
	if room <= 0 || len(s.warm.classes) == 0 {
		return 0
	}
	for want := 1; want <= len(s.warm.blocks)+1; want++ {
		for _, c := range s.warm.classes {
			if c > room {
				continue
			}
			n := 0
			for _, b := range s.warm.blocks {
				if b.size == c {
					n++
				}
			}
			if n < want {
				return c
			}
		}
	}
	return 0
}

// refill is the reserve's goroutine: on each kick it waits for the store to be idle, then
// allocates blocks one at a time until nextWarmLocked has nothing more to fill.
func (s *Store) refill() {
	defer close(s.warm.done)
	for {
		select {
		case <-s.warm.quit:
			return
		case <-s.warm.kick:
		}
		for s.refillOne() {
		}
	}
}

// refillOne waits for the store to be idle and adds one block to the reserve. It returns
// false when there is nothing to fill (the reserve is settled), on an error, or on Close.
func (s *Store) refillOne() bool {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return false
		}
		wait := s.warm.idle - time.Since(s.warm.lastActive)
		if s.warm.creating > 0 {
			wait = s.warm.idle
		}
		if wait <= 0 {
			break // holding s.mu
		}
		s.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-s.warm.quit:
			t.Stop()
			return false
		case <-t.C:
		}
	}
	c := s.nextWarmLocked()
	if c > 0 {
		// Physical room too: the tmpfs may be smaller than the limit, or shared.
		free, err := freeSpace(s.cfg.Dir)
		if err != nil || free < c+(s.cfg.Limit-s.used-s.poolBytes-s.warm.bytes) {
			c = 0
		}
	}
	if c == 0 {
		s.settleWarmLocked()
		s.mu.Unlock()
		return false
	}
	s.fileSeq++
	path := filepath.Join(s.cfg.Dir, fmt.Sprintf("warm-%d", s.fileSeq))
	s.mu.Unlock()

	data, err := createMapped(path, c) // fallocate and a writable, pre-faulted mapping
	var ro []byte
	if err == nil {
		ro = mapReadPath(path, c)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.log.Debug("warm reserve: allocate block", "size", c, "err", err)
		s.settleWarmLocked() // until the next change; retrying now would fail the same way
		return false
	}
	// Objects may have taken the memory meanwhile, or Close run.
	if s.closed || c > s.warmRoomLocked() {
		_ = os.Remove(path)
		_ = munmap(data)
		if ro != nil {
			_ = munmap(ro)
		}
		return !s.closed
	}
	b := &block{path: path, size: c, rw: &mapping{data: data, refs: 1}}
	if ro != nil {
		b.ro = &mapping{data: ro, refs: 1}
	}
	s.warm.blocks = append(s.warm.blocks, b)
	s.warm.bytes += c
	s.warm.fills++
	return true
}

// mapReadPath maps path's first size bytes read-only and populated, or returns nil. A
// reserve block carries this view besides its writable mapping, as recycled memory does, so
// the object written into it is sealed without an mprotect of the whole block and its first
// Get maps nothing: populating a second view of a big block costs milliseconds, which the
// refiller spends while the store is idle rather than on a transfer's path.
func mapReadPath(path string, size int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, err := mmapRead(f, size)
	if err != nil {
		return nil
	}
	return data
}

// settleWarmLocked records that the reserve holds what it should and wakes WaitWarm.
func (s *Store) settleWarmLocked() {
	if len(s.warm.kick) > 0 {
		return // a change arrived meanwhile; the refiller goes round again
	}
	s.warm.settled = true
	s.broadcastLocked()
}

// WaitWarm blocks until the warm reserve's goroutine has nothing left to fill: the reserve
// holds blocks of the recently needed sizes up to its bound (or as many as memory allows).
// A store without a reserve returns at once. Benchmarks and tools use it to measure or run
// from the steady state of an idle node.
func (s *Store) WaitWarm(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		if s.warm.settled {
			s.mu.Unlock()
			return nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("objectstore: waiting for the warm reserve: %w", ctx.Err())
		}
	}
}
