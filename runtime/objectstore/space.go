package objectstore

import (
	"context"
	"fmt"
	"io"
	"os"
)

// reserve accounts size more bytes of memory, spilling LRU objects until the store is under
// its spill threshold again. If spilling cannot get there the object is still admitted while
// it fits under the hard limit; otherwise ErrStoreFull.
func (s *Store) reserve(ctx context.Context, size int64) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		if size > s.cfg.Limit {
			s.mu.Unlock()
			return fmt.Errorf("%w: object of %d bytes exceeds the store limit of %d", ErrStoreFull, size, s.cfg.Limit)
		}
		s.trimPoolLocked(size)
		if s.used+size <= s.soft {
			s.used += size
			s.mu.Unlock()
			return nil
		}
		// Spills already in flight will free pendingSpill bytes; only ask for the rest.
		victims := s.pickVictimsLocked(s.used + size - s.soft - s.pendingSpill)
		if len(victims) == 0 {
			if s.pendingSpill > 0 {
				ch := s.changed
				s.mu.Unlock()
				select {
				case <-ch:
					continue
				case <-ctx.Done():
					return fmt.Errorf("objectstore: waiting for memory: %w", ctx.Err())
				}
			}
			if s.used+size <= s.cfg.Limit {
				s.used += size
				s.mu.Unlock()
				return nil
			}
			used := s.used
			s.mu.Unlock()
			return fmt.Errorf("%w: need %d bytes, %d of %d in use and nothing left to spill", ErrStoreFull, size, used, s.cfg.Limit)
		}
		s.mu.Unlock()
		for i, v := range victims {
			if err := s.spill(v); err != nil {
				s.unpickVictims(victims[i+1:])
				return fmt.Errorf("%w: spill %s: %w", ErrStoreFull, v.id, err)
			}
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("objectstore: waiting for memory: %w", err)
		}
	}
}

// pickVictimsLocked moves least-recently-used sealed objects totalling at least need bytes
// (or all of them) to stSpilling. Objects that nobody has mapped go first: their file's
// pages are freed as soon as it is removed, and a worker cannot be racing to open it.
func (s *Store) pickVictimsLocked(need int64) []*entry {
	if need <= 0 {
		return nil
	}
	var victims []*entry
	var got int64
	for pass := 0; pass < 2 && got < need; pass++ {
		for el := s.lru.Back(); el != nil && got < need; {
			e := el.Value.(*entry)
			el = el.Prev()
			if pass == 0 && e.readers > 0 {
				continue
			}
			s.lru.Remove(e.elem)
			e.elem = nil
			e.state = stSpilling
			s.pendingSpill += e.size
			got += e.size
			victims = append(victims, e)
		}
	}
	return victims
}

// unpickVictims returns entries picked for spilling but not spilled to the sealed state.
func (s *Store) unpickVictims(victims []*entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range victims {
		s.pendingSpill -= e.size
		s.finishSpillFailedLocked(e)
	}
	s.broadcastLocked()
}

func (s *Store) finishSpillFailedLocked(e *entry) {
	if e.gone || s.closed {
		s.used -= e.size
		s.dropMemLocked(e, false)
		if e.spillPath != "" {
			_ = os.Remove(e.spillPath)
		}
		return
	}
	e.state = stSealed
	e.elem = s.lru.PushBack(e) // it was least recently used; keep it first in line
}

// spill moves e (in stSpilling) to disk. Copying while readers map the file is safe: the
// object is immutable, and removing the shm file afterwards leaves existing mappings intact
// (the kernel frees the pages at the last munmap).
func (s *Store) spill(e *entry) error {
	s.mu.Lock()
	sp, fresh := e.spillPath, e.spillPath == ""
	if fresh {
		sp = s.spillPathLocked(e.id)
	}
	s.mu.Unlock()
	var copyErr error
	wrote := int64(0)
	if fresh {
		copyErr = copyFile(sp, e.path, false)
		wrote = e.size
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pendingSpill -= e.size
	defer s.broadcastLocked()
	if copyErr != nil {
		s.finishSpillFailedLocked(e)
		return copyErr
	}
	s.used -= e.size
	s.spilled++
	s.spilledBytes += wrote
	// Memory nobody can still read goes to the pool, where the headroom between the spill
	// threshold and the limit lets the next objects reuse it.
	s.dropMemLocked(e, true)
	if e.gone || s.closed {
		_ = os.Remove(sp)
		return nil
	}
	e.state = stSpilled
	e.spillPath = sp
	s.log.Debug("spilled object", "id", e.id, "size", e.size, "path", sp)
	return nil
}

// copyFile copies src to dst. The kernel does the copy (copy_file_range or sendfile)
// without passing the bytes through user space. Spill files are written under a temporary
// name and renamed, so a crash mid-copy never leaves a truncated file under an object's name;
// restores (excl) create the shm file exclusively instead, since the entry's state already
// says whether it is complete.
func copyFile(dst, src string, excl bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, flags := dst+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC
	if excl {
		tmp, flags = dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL
	}
	out, err := os.OpenFile(tmp, flags, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && tmp != dst {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
