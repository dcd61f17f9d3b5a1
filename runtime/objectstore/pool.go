package objectstore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Fresh tmpfs memory is expensive: the kernel must allocate, zero and map every page, which
// costs several times a memcpy of the same bytes (and far more inside a VM). Like Plasma's
// preallocated arena, the store therefore keeps the memory of deleted and spilled objects: the
// file is renamed into a free pool with its writable, already-populated mapping, and a later
// object of about the same size is written straight into it.
//
// Only memory that no other reader can still see is recycled: the store's own mapping must
// have no Object outstanding, and the object's Path must never have been handed out (a
// worker may have mapped it with OpenShared, and a deleted file's pages must stay intact for
// such readers). Everything else is simply unlinked.
const minRecycleSize = 64 << 10

// mapping is one mmap of an object's file in this process, shared by the store (while the
// object is in memory) and every Object returned by Get. It is unmapped when the last
// reference goes.
type mapping struct {
	data []byte // the whole mapping; objects may use a prefix
	refs int
}

// block is pooled memory: a tmpfs file with its writable mapping and, if it had one, its
// read-only mapping. Both mappings travel with the file from object to object, so reusing a
// block costs no mmap, mprotect or rename.
type block struct {
	path string
	size int64 // file size
	rw   *mapping
	ro   *mapping // nil if the last object in it was never read in this process
}

// unrefLocked drops one reference to m and unmaps it with the last. A nil m is a no-op.
func (s *Store) unrefLocked(m *mapping) {
	if m == nil {
		return
	}
	m.refs--
	if m.refs == 0 && len(m.data) > 0 {
		if err := munmap(m.data); err != nil {
			s.log.Warn("munmap object", "err", err)
		}
		m.data = nil
	}
}

// dropMemLocked removes the in-memory copy of e (its shm file and the store's mappings),
// recycling it into the pool when allowed and safe. Called with s.mu held as e leaves memory.
func (s *Store) dropMemLocked(e *entry, recycle bool) {
	if recycle && s.recycleLocked(e) {
		return
	}
	_ = os.Remove(e.path)
	s.unrefLocked(e.m)
	s.unrefLocked(e.rw)
	e.m, e.rw = nil, nil
}

func (s *Store) recycleLocked(e *entry) bool {
	if e.readers > 0 || e.exported || s.closed || e.size < minRecycleSize || e.size > s.poolLimit {
		return false
	}
	if want := sharedRefs(e); e.m != nil && e.m.refs != want {
		return false
	}
	// Pool files get names of their own, so listing the directory tells objects from pool.
	s.fileSeq++
	path := filepath.Join(s.cfg.Dir, fmt.Sprintf("blk-%d", s.fileSeq))
	rw, shared := e.rw, e.rw != nil && e.rw == e.m
	if rw == nil || shared {
		// Written by Put with write(2): map it now. Populating existing pages costs less
		// than the unlink it replaces, and saves the next put of this size its page faults.
		// A write-protected shared mapping (shareROLocked) stays the block's read-only one
		// and gets a writable partner, so that the memory circulates through the pool with
		// both mappings and no object written into it later pays for an mprotect or a
		// populate; if that fails, takeBlockLocked unprotects the shared one instead.
		if data, err := mapRW(e.path, e.size); err == nil {
			rw = &mapping{data: data, refs: 1}
		} else if !shared {
			return false
		} else {
			shared = false
		}
	}
	if err := os.Rename(e.path, path); err != nil {
		if rw != e.rw {
			s.unrefLocked(rw)
		}
		return false
	}
	if shared {
		s.unrefLocked(e.rw) // its writable role passed to rw; e.m keeps the read-only one
	}
	for s.poolBytes+e.size > s.poolLimit && len(s.pool) > 0 {
		s.evictBlockLocked(0)
	}
	s.pool = append(s.pool, &block{path: path, size: e.size, rw: rw, ro: e.m})
	s.poolBytes += e.size
	e.m, e.rw = nil, nil
	return true
}

// evictBlockLocked frees pool block i.
func (s *Store) evictBlockLocked(i int) {
	b := s.pool[i]
	s.pool = slices.Delete(s.pool, i, i+1)
	s.poolBytes -= b.size
	_ = os.Remove(b.path)
	s.unrefLocked(b.rw)
	s.unrefLocked(b.ro)
}

// trimPoolLocked frees warm reserve and then pool blocks, oldest first, until they and used
// memory leave room for need more bytes within the limit.
func (s *Store) trimPoolLocked(need int64) {
	// The warm reserve goes first: it is memory nobody has used yet, the pool at least fits
	// objects this node has actually made.
	for len(s.warm.blocks) > 0 && s.used+s.poolBytes+s.warm.bytes+need > s.cfg.Limit {
		s.evictWarmLocked()
	}
	for len(s.pool) > 0 && s.used+s.poolBytes+need > s.cfg.Limit {
		s.evictBlockLocked(0)
	}
}

// takeBlockLocked removes from the pool the best-fitting block (at most a quarter too big),
// shrunk to size, or returns nil if none fits.
func (s *Store) takeBlockLocked(size int64) *block {
	if size < minRecycleSize {
		return nil
	}
	best := bestFit(s.pool, size)
	if best < 0 {
		s.poolMisses++
		return nil
	}
	b := s.pool[best]
	if b.size != size {
		if err := os.Truncate(b.path, size); err != nil {
			s.evictBlockLocked(best)
			s.poolMisses++
			return nil
		}
	}
	if b.ro != nil && b.ro == b.rw {
		// The mapping was the last object's read-only view too (shareROLocked): make it
		// writable again and drop the view's reference.
		if err := protect(b.rw.data, true); err != nil {
			s.evictBlockLocked(best)
			s.poolMisses++
			return nil
		}
		b.rw.refs--
		b.ro = nil
	}
	s.poolHits++
	s.pool = slices.Delete(s.pool, best, best+1)
	s.poolBytes -= b.size
	b.size = size
	return b
}

// fitsBlock reports whether an object of size may take a block of blockSize: it fits, and
// at most a quarter of the block (truncated off when it is taken) goes unused.
func fitsBlock(blockSize, size int64) bool {
	return blockSize >= size && blockSize-size <= blockSize/4
}

// bestFit is the index of the smallest of blocks that fitsBlock size, or -1. The pool and the
// warm reserve both pick blocks this way.
func bestFit(blocks []*block, size int64) int {
	best := -1
	for i, b := range blocks {
		if fitsBlock(b.size, size) && (best < 0 || b.size < blocks[best].size) {
			best = i
		}
	}
	return best
}

// shareROLocked returns the read-only mapping a sealed object will be read through. An
// object written through a writable mapping (Create, pooled memory) and without a read-only
// one gets that same mapping, write-protected: mapping and populating a second view of a big
// object costs milliseconds (a page fault's worth of work per page), mprotect on the
// populated one a fraction of that, and the first Get (a peer pulling the object, the
// driver reading it) then starts at once. takeBlockLocked undoes the protection when the
// memory is recycled.
func (s *Store) shareROLocked(rw, ro *mapping) *mapping {
	if ro != nil || rw == nil || len(rw.data) == 0 {
		return ro
	}
	if err := protect(rw.data, false); err != nil {
		s.log.Debug("write-protect object mapping", "err", err)
		return nil
	}
	rw.refs++
	return rw
}

// sharedRefs is how many references the store itself holds on e's read-only mapping: one,
// or two when it is also the writable one.
func sharedRefs(e *entry) int {
	if e.m != nil && e.m == e.rw {
		return 2
	}
	return 1
}
