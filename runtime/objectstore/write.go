package objectstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Put stores a copy of data under id. With pooled memory of about the right size it copies
// into that; otherwise it writes with write(2), which lets tmpfs fill each new page in one
// pass without zeroing it first (cheaper than allocating, mapping and then copying).
func (s *Store) Put(ctx context.Context, id ObjectID, data []byte) error {
	size := int64(len(data))
	e, b, err := s.begin(ctx, id, size)
	if err != nil {
		return err
	}
	if b != nil {
		copy(b.rw.data[:size], data)
		return s.seal(e, b.rw, b.ro)
	}
	f, err := os.OpenFile(e.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	made := err == nil
	if err == nil {
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		s.abort(e, nil, nil, made)
		return fmt.Errorf("objectstore: put %s (%d bytes): %w", id, size, fullErr(err))
	}
	return s.seal(e, nil, nil)
}

// fullErr adds ErrStoreFull to an out-of-space error so callers need not know errno values.
func fullErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: %w", ErrStoreFull, err)
	}
	return err
}

// begin registers a new object in stCreating and reserves its memory, spilling if needed. If
// pooled memory fits, it is returned and the object lives in its file.
func (s *Store) begin(ctx context.Context, id ObjectID, size int64) (*entry, *block, error) {
	if size < 0 {
		return nil, nil, fmt.Errorf("objectstore: create %s: negative size %d", id, size)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, ErrClosed
	}
	if old, ok := s.objects[id]; ok && old.state != stLost {
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("objectstore: create %s: %w", id, ErrExists)
	}
	e := &entry{id: id, size: size, state: stCreating, path: s.shmPathLocked(id), created: time.Now(), ready: make(chan struct{})}
	s.objects[id] = e // replaces a lost tombstone: recreating a lost object is how it comes back
	s.activeLocked(1)
	b := s.takeBlockLocked(size)
	if b == nil {
		b = s.takeWarmLocked(size)
	}
	if b != nil {
		e.path = b.path
	}
	s.mu.Unlock()

	if err := s.reserve(ctx, size); err != nil {
		s.mu.Lock()
		if s.objects[id] == e {
			delete(s.objects, id)
		}
		if b != nil {
			_ = os.Remove(b.path)
			s.unrefLocked(b.rw)
			s.unrefLocked(b.ro)
		}
		s.activeLocked(-1)
		e.signal()
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("objectstore: create %s (%d bytes): %w", id, size, err)
	}
	return e, b, nil
}

// seal publishes a created object, or cleans up if it was deleted meanwhile. rw is the
// writer's mapping, if any, kept so the memory can be recycled; ro, if any, is a read-only
// mapping of the same file that becomes the store's cached mapping for Get.
func (s *Store) seal(e *entry, rw, ro *mapping) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.activeLocked(-1)
	if e.gone || s.closed {
		s.used -= e.size
		s.broadcastLocked()
		e.signal()
		if s.objects[e.id] == e {
			delete(s.objects, e.id)
		}
		_ = os.Remove(e.path)
		s.unrefLocked(rw)
		s.unrefLocked(ro)
		if s.closed {
			return ErrClosed
		}
		return fmt.Errorf("objectstore: seal %s: deleted during creation: %w", e.id, ErrNotFound)
	}
	e.state = stSealed
	e.rw, e.m = rw, s.shareROLocked(rw, ro)
	e.elem = s.lru.PushFront(e)
	e.signal()
	return nil
}

// abort undoes begin after a failed or abandoned write. removeFile is false when the file
// could not be created, so a colliding file that belongs to someone else is left alone.
func (s *Store) abort(e *entry, rw, ro *mapping, removeFile bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.activeLocked(-1)
	s.used -= e.size
	s.broadcastLocked()
	e.signal()
	if !e.gone && s.objects[e.id] == e {
		delete(s.objects, e.id)
	}
	s.unrefLocked(rw)
	s.unrefLocked(ro)
	if removeFile {
		_ = os.Remove(e.path)
	}
}

// Writer is an object being created in place: the caller fills Bytes (a writable shared
// mapping of the object's file) and then calls Seal or Abort exactly once.
type Writer struct {
	s      *Store
	e      *entry
	rw, ro *mapping
	done   bool
}

// Create reserves size bytes for a new object and maps its file writable. This is the
// zero-copy path: a serializer can encode straight into the store. The memory may be
// recycled from a deleted object, so its initial contents are unspecified: fill all of it.
func (s *Store) Create(ctx context.Context, id ObjectID, size int64) (*Writer, error) {
	e, b, err := s.begin(ctx, id, size)
	if err != nil {
		return nil, err
	}
	if b != nil {
		return &Writer{s: s, e: e, rw: b.rw, ro: b.ro}, nil
	}
	data, err := createMapped(e.path, size)
	if err != nil {
		s.abort(e, nil, nil, false) // createMapped removes what it made
		return nil, fmt.Errorf("objectstore: create %s (%d bytes): %w", id, size, fullErr(err))
	}
	return &Writer{s: s, e: e, rw: &mapping{data: data, refs: 1}}, nil
}

// Bytes is the object's memory. It is valid only until Seal or Abort; writing to it after
// Seal would change an object others may be reading, so it returns nil once finished.
func (w *Writer) Bytes() []byte {
	if w.done {
		return nil
	}
	return w.rw.data[:w.e.size:w.e.size]
}

// ID is the object being written.
func (w *Writer) ID() ObjectID { return w.e.id }

// Seal makes the object visible to Get.
func (w *Writer) Seal() error {
	if w.done {
		return fmt.Errorf("objectstore: seal %s: writer already finished", w.e.id)
	}
	w.done = true
	return w.s.seal(w.e, w.rw, w.ro)
}

// Abort discards the object and releases its memory. It is a no-op after Seal or Abort.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.s.abort(w.e, w.rw, w.ro, true)
}
