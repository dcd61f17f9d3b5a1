package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
)

// Object is a read-only view of a sealed object. Release it when done; the slice from Bytes
// must not be used afterwards.
type Object struct {
	s    *Store // nil for OpenShared objects
	e    *entry
	m    *mapping
	path string
	size int64
	data []byte
	once sync.Once
}

// Bytes returns the object's contents, mapped read-only (writing to it faults).
func (o *Object) Bytes() []byte { return o.data }

// Path is the object's file, which another process on this node can map with OpenShared.
// Asking for it marks the object as shared, so the store will not recycle its memory when it
// is deleted (another process may still map the file).
func (o *Object) Path() string {
	if o.s != nil {
		o.s.mu.Lock()
		o.e.exported = true
		o.s.mu.Unlock()
	}
	return o.path
}

// Size is the object's length in bytes.
func (o *Object) Size() int64 { return o.size }

// Release unmaps the object (once the last view of the mapping goes). It is idempotent.
func (o *Object) Release() {
	o.once.Do(func() {
		o.data = nil
		if o.s == nil {
			if o.m != nil && len(o.m.data) > 0 {
				_ = munmap(o.m.data)
			}
			return
		}
		o.s.mu.Lock()
		defer o.s.mu.Unlock()
		o.e.readers--
		if o.m != nil {
			o.s.unrefLocked(o.m)
		}
	})
}

// Get returns a read-only view of a sealed object. An object still being created is waited
// for; a spilled one is restored first (spilling others if memory is short). Views of an
// object in memory share one mapping, so a repeated Get costs no system call.
func (s *Store) Get(ctx context.Context, id ObjectID) (*Object, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		e, ok := s.objects[id]
		if !ok {
			s.mu.Unlock()
			return nil, fmt.Errorf("objectstore: get %s: %w", id, ErrNotFound)
		}
		switch e.state {
		case stLost:
			s.mu.Unlock()
			return nil, fmt.Errorf("objectstore: get %s: %w", id, ErrObjectLost)
		case stCreating, stRestoring:
			ch := e.ready
			s.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("objectstore: get %s: %w", id, ctx.Err())
			}
		case stSealed, stSpilling:
			if e.m != nil {
				o := s.viewLocked(e, e.m)
				s.mu.Unlock()
				return o, nil
			}
			f, err := s.openLocked(e)
			s.mu.Unlock()
			if err != nil {
				return nil, fmt.Errorf("objectstore: get %s: %w", id, err)
			}
			return s.mapObject(e, f)
		case stSpilled:
			e.state = stRestoring
			e.ready = make(chan struct{})
			s.mu.Unlock()
			o, err := s.restore(ctx, e)
			if err != nil {
				return nil, fmt.Errorf("objectstore: get %s: restore: %w", id, err)
			}
			if o != nil {
				return o, nil
			}
			// Deleted while restoring; the next round reports it.
		}
	}
}

// viewLocked returns a new Object over m, an existing mapping of e.
func (s *Store) viewLocked(e *entry, m *mapping) *Object {
	m.refs++
	e.readers++
	if e.elem != nil {
		s.lru.MoveToFront(e.elem)
	}
	return &Object{s: s, e: e, m: m, path: e.path, size: e.size, data: m.data[:e.size:e.size]}
}

// openLocked opens e's shm file. Called with s.mu held, which together with the state
// invariant guarantees the file exists. The reader is counted from here so spilling prefers
// other objects while the mapping is being made.
func (s *Store) openLocked(e *entry) (*os.File, error) {
	f, err := os.Open(e.path)
	if err != nil {
		return nil, err
	}
	e.readers++
	if e.elem != nil {
		s.lru.MoveToFront(e.elem)
	}
	return f, nil
}

// mapObject maps the file opened by openLocked (outside the lock: populating a big mapping
// takes milliseconds) and caches the mapping on e for later Gets.
func (s *Store) mapObject(e *entry, f *os.File) (*Object, error) {
	data, err := mmapRead(f, e.size)
	_ = f.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	e.readers-- // viewLocked counts it again
	if err != nil {
		return nil, fmt.Errorf("objectstore: map %s: %w", e.id, err)
	}
	m := &mapping{data: data}
	switch {
	case e.m != nil:
		// Another Get mapped it meanwhile; use theirs.
		if len(data) > 0 {
			_ = munmap(data)
		}
		m = e.m
	case (e.state == stSealed || e.state == stSpilling) && !e.gone && !s.closed:
		m.refs = 1 // the store's own reference
		e.m = m
	}
	// Otherwise the object left memory meanwhile: the view keeps a private mapping.
	return s.viewLocked(e, m), nil
}

// restore copies a spilled object (in stRestoring) back into memory, into pooled memory
// when some fits, and returns a view of it; nil if the object was deleted meanwhile.
func (s *Store) restore(ctx context.Context, e *entry) (*Object, error) {
	// The object may have lived in a pool block before it was spilled; it comes back in a
	// block or under a new name of its own. Only this goroutine touches e.path while restoring.
	s.mu.Lock()
	b := s.takeBlockLocked(e.size)
	if b == nil {
		b = s.takeWarmLocked(e.size)
	}
	if b != nil {
		e.path = b.path
	} else {
		e.path = s.shmPathLocked(e.id)
	}
	s.mu.Unlock()
	fail := func(err error, reserved bool) (*Object, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if reserved {
			s.used -= e.size
			s.broadcastLocked()
		}
		if b != nil {
			_ = os.Remove(b.path)
			s.unrefLocked(b.rw)
			s.unrefLocked(b.ro)
		} // else copyFile removed its partial output; e.path is not ours to remove
		if e.gone || s.closed {
			_ = os.Remove(e.spillPath)
		} else {
			e.state = stSpilled
		}
		e.signal()
		return nil, err
	}
	if err := s.reserve(ctx, e.size); err != nil {
		return fail(err, false)
	}
	var err error
	if b != nil {
		err = readFile(b.rw.data[:e.size], e.spillPath)
	} else {
		err = copyFile(e.path, e.spillPath, true)
	}
	if err != nil {
		return fail(fullErr(err), true)
	}
	s.mu.Lock()
	defer e.signal()
	if e.gone || s.closed {
		s.used -= e.size
		s.broadcastLocked()
		_ = os.Remove(e.path)
		_ = os.Remove(e.spillPath)
		if b != nil {
			s.unrefLocked(b.rw)
			s.unrefLocked(b.ro)
		}
		s.mu.Unlock()
		return nil, nil
	}
	e.state = stSealed
	e.elem = s.lru.PushFront(e)
	if b != nil {
		e.rw, e.m = b.rw, s.shareROLocked(b.rw, b.ro)
	}
	s.restoredBytes += e.size
	s.log.Debug("restored object", "id", e.id, "size", e.size)
	if e.m != nil {
		o := s.viewLocked(e, e.m)
		s.mu.Unlock()
		return o, nil
	}
	f, err := s.openLocked(e)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.mapObject(e, f)
}

// readFile reads exactly len(dst) bytes of the file at path into dst.
func readFile(dst []byte, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.ReadFull(f, dst)
	return err
}

// OpenShared maps an object file that this node's store told the caller about (a worker
// process reading a task argument). The mapping is read-only and stays valid even if the
// store spills or deletes the object meanwhile.
func OpenShared(path string, size int64) (*Object, error) {
	if size < 0 {
		return nil, fmt.Errorf("objectstore: open shared %s: negative size %d", path, size)
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("objectstore: open shared %s: %w: %w", path, ErrNotFound, err)
		}
		return nil, fmt.Errorf("objectstore: open shared: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("objectstore: open shared: %w", err)
	}
	if fi.Size() < size {
		return nil, fmt.Errorf("objectstore: open shared %s: file has %d bytes, want %d", path, fi.Size(), size)
	}
	data, err := mmapRead(f, size)
	if err != nil {
		return nil, fmt.Errorf("objectstore: open shared %s: %w", path, err)
	}
	return &Object{path: path, size: size, data: data, m: &mapping{data: data, refs: 1}}, nil
}
