package objectstore

import (
	"container/list"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// state is where an object's bytes are. Transitions happen under Store.mu; the I/O that
// moves bytes between states happens outside it, with the object parked in a transitional
// state (creating, spilling, restoring) that other callers either wait on or work around.
type state uint8

const (
	// stCreating: a Writer owns the shm file and the reservation; invisible to Get/Contains.
	stCreating state = iota
	// stSealed: immutable, in memory, in the LRU list, spillable.
	stSealed
	// stSpilling: being copied to disk. The shm file still exists and is still readable.
	stSpilling
	// stSpilled: only the spill file exists; Get restores it.
	stSpilled
	// stRestoring: being copied back into memory; Gets wait for it.
	stRestoring
	// stLost: a tombstone so Get can say ErrObjectLost instead of ErrNotFound.
	stLost
)

// Invariant: while an entry is in Store.objects in stSealed or stSpilling, e.path exists and
// is complete, so opening it under Store.mu never races with its removal.

type entry struct {
	id        ObjectID
	size      int64
	state     state
	path      string // shm file
	spillPath string // spill file, "" if never spilled; kept after restore so a re-spill is free
	created   time.Time
	elem      *list.Element // position in Store.lru while stSealed
	readers   int           // live Objects from Get (and Gets mapping now); spilling and recycling avoid these
	m         *mapping      // the store's cached read-only mapping while in memory, if any
	rw        *mapping      // the writable mapping it was created through, kept for recycling
	exported  bool          // Path was handed out: another process may map the file
	// ready is closed when a stCreating or stRestoring entry leaves that state.
	ready chan struct{}
	// gone: the entry left the table (Delete, MarkLost). A goroutine with I/O in flight on
	// it cleans up instead of publishing the result; Close has the same effect via closed.
	gone bool
}

// signal wakes everyone waiting on e.ready. Called with Store.mu held.
func (e *entry) signal() {
	if e.ready != nil {
		close(e.ready)
		e.ready = nil
	}
}

// Stats is a snapshot of the store's accounting.
type Stats struct {
	Used          int64 // bytes of object data in memory, including objects being created
	Limit         int64 // Config.Limit
	Spilled       int64 // number of spill operations since New (cumulative)
	SpilledBytes  int64 // bytes written by those spills (cumulative; re-spilling a restored object is free and not counted)
	RestoredBytes int64 // bytes restored from disk (cumulative)
	NumObjects    int64 // sealed objects known to the store, in memory or spilled
	NumSpilled    int64 // of those, how many are on disk only right now
	WarmReserve   int64 // bytes of pre-faulted memory held for new objects (not in Used)
	Pooled        int64 // bytes of freed memory kept for reuse (not in Used)
	WarmHits      int64 // objects placed in a warm reserve block (cumulative)
}

// ObjectInfo describes one sealed object, for introspection (`goray list objects`).
type ObjectInfo struct {
	ID      ObjectID
	Size    int64
	Spilled bool // only on disk right now
	Created time.Time
}

// Store is one node's object store. All methods are safe for concurrent use.
type Store struct {
	cfg  Config
	log  *slog.Logger
	soft int64 // SpillThreshold*Limit: above this, new objects make room by spilling

	createdDir      bool
	createdSpillDir bool

	mu           sync.Mutex
	objects      map[ObjectID]*entry
	lru          list.List // of *entry, front = most recently used, only stSealed entries
	used         int64
	pendingSpill int64         // bytes of entries in stSpilling
	changed      chan struct{} // closed and replaced whenever used or pendingSpill drops
	closed       bool

	spilled       int64
	spilledBytes  int64
	restoredBytes int64

	// Memory of deleted objects kept for reuse (see pool.go). It counts against Limit
	// together with used, but not against the spill threshold: it is free memory.
	pool      []*block // oldest first
	poolBytes int64
	poolLimit int64
	fileSeq   int64 // makes every file name unique; see shmPathLocked
	// Objects of at least minRecycleSize that did / did not find pooled memory.
	poolHits, poolMisses int64

	// Pre-faulted memory kept ahead of need (see warm.go). It counts against Limit like the
	// pool and is released before it.
	warm warmReserve
}

// New validates cfg, creates its directories if needed and returns an empty store. A nil log
// discards.
func New(cfg Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		cfg:  cfg,
		log:  log,
		soft: int64(float64(cfg.Limit) * cfg.SpillThreshold),
		// A quarter of the limit holds a few big buffers, enough to make a steady stream of
		// large puts run at memcpy speed.
		poolLimit: cfg.Limit / 4,
		objects:   make(map[ObjectID]*entry),
		changed:   make(chan struct{}),
	}
	var err error
	if s.createdDir, err = mkdir(cfg.Dir); err != nil {
		return nil, fmt.Errorf("objectstore: create dir: %w", err)
	}
	if s.createdSpillDir, err = mkdir(cfg.SpillDir); err != nil {
		if s.createdDir {
			_ = os.RemoveAll(cfg.Dir)
		}
		return nil, fmt.Errorf("objectstore: create spill dir: %w", err)
	}
	s.startWarm()
	log.Debug("object store ready", "dir", cfg.Dir, "spill_dir", cfg.SpillDir, "limit", cfg.Limit, "warm_reserve", cfg.WarmReserve)
	return s, nil
}

// mkdir creates dir (and parents) and reports whether it did not exist before, so Close only
// ever removes directories the store itself made.
func mkdir(dir string) (bool, error) {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return false, fmt.Errorf("%s: not a directory", dir)
		}
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	return true, nil
}

// Config returns the configuration the store was created with.
func (s *Store) Config() Config { return s.cfg }

// File names carry a store-wide sequence number besides the ID. An object that was deleted
// or lost while its bytes were being written, spilled or restored keeps its files until that
// I/O ends, and a new object with the same ID (lineage reconstruction) must not collide with
// or clobber them. Called with s.mu held.
func (s *Store) shmPathLocked(id ObjectID) string {
	s.fileSeq++
	return filepath.Join(s.cfg.Dir, fmt.Sprintf("%s-%d", id, s.fileSeq))
}

func (s *Store) spillPathLocked(id ObjectID) string {
	s.fileSeq++
	return filepath.Join(s.cfg.SpillDir, fmt.Sprintf("%s-%d", id, s.fileSeq))
}

// broadcastLocked wakes reservers waiting for space. Called with s.mu held.
func (s *Store) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Contains reports whether a sealed object is stored, in memory or spilled.
func (s *Store) Contains(id ObjectID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.objects[id]
	return ok && e.state != stCreating && e.state != stLost
}

// Delete frees an object's memory and spill file. Readers that still map it keep valid bytes
// until they Release. Deleting an object that is being created makes its Seal fail.
func (s *Store) Delete(id ObjectID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if !s.removeLocked(id) {
		return fmt.Errorf("objectstore: delete %s: %w", id, ErrNotFound)
	}
	return nil
}

// removeLocked forgets id. Entries with I/O in flight are marked gone and cleaned up by the
// goroutine doing the I/O; the others are cleaned up here.
func (s *Store) removeLocked(id ObjectID) bool {
	e, ok := s.objects[id]
	if !ok {
		return false
	}
	delete(s.objects, id)
	// Marked gone in every state: besides telling in-flight I/O to clean up, it stops a Get
	// that is mapping the file right now from caching its mapping on a dead entry.
	e.gone = true
	switch e.state {
	case stSealed:
		s.lru.Remove(e.elem)
		e.elem = nil
		s.used -= e.size
		s.dropMemLocked(e, true)
		if e.spillPath != "" {
			_ = os.Remove(e.spillPath)
		}
		if s.warm.bytes < s.warm.target && len(s.warm.classes) > 0 {
			s.kickWarmLocked() // memory the reserve had to leave alone may be free now
		}
		s.broadcastLocked()
	case stSpilled:
		_ = os.Remove(e.spillPath)
	}
	e.signal()
	return true
}

// ReleaseShared tells the store that no other process maps id any more: every worker that
// was given its Path has finished with it. Asking for Path marks an object as shared, and
// the memory of a shared object is never recycled (a worker might still read it); after
// ReleaseShared its memory may be reused once it is deleted, which keeps large task
// arguments from costing fresh pages on every task. Unknown IDs are ignored.
func (s *Store) ReleaseShared(id ObjectID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.objects[id]; ok {
		e.exported = false
	}
}

// MarkLost drops whatever the store holds for id and remembers it as lost, so Get returns
// ErrObjectLost rather than ErrNotFound. A later Put or Create of the same ID (lineage
// reconstruction) replaces the tombstone; Delete removes it.
func (s *Store) MarkLost(id ObjectID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.removeLocked(id)
	s.objects[id] = &entry{id: id, state: stLost, created: time.Now()}
}

// Stats returns a snapshot of the accounting.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Used:          s.used,
		Limit:         s.cfg.Limit,
		Spilled:       s.spilled,
		SpilledBytes:  s.spilledBytes,
		RestoredBytes: s.restoredBytes,
		WarmReserve:   s.warm.bytes,
		Pooled:        s.poolBytes,
		WarmHits:      s.warm.hits,
	}
	for _, e := range s.objects {
		switch e.state {
		case stSealed, stSpilling, stRestoring:
			st.NumObjects++
		case stSpilled:
			st.NumObjects++
			st.NumSpilled++
		}
	}
	return st
}

// List describes every sealed object, oldest first.
func (s *Store) List() []ObjectInfo {
	s.mu.Lock()
	out := make([]ObjectInfo, 0, len(s.objects))
	for _, e := range s.objects {
		if e.state == stCreating || e.state == stLost {
			continue
		}
		out = append(out, ObjectInfo{ID: e.id, Size: e.size, Spilled: e.state == stSpilled || e.state == stRestoring, Created: e.created})
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b ObjectInfo) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})
	return out
}

// Close removes every file the store made, and its directories if New created them. Objects
// already mapped stay readable until released; further calls fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var files []string
	for _, e := range s.objects {
		switch e.state {
		case stSealed:
			s.used -= e.size // in-flight objects release theirs when their I/O ends
			files = append(files, e.path)
			if e.spillPath != "" {
				files = append(files, e.spillPath)
			}
			s.unrefLocked(e.m) // views taken by Get keep their references
			s.unrefLocked(e.rw)
			e.m, e.rw = nil, nil
		case stSpilled:
			files = append(files, e.spillPath)
		case stCreating, stSpilling, stRestoring:
			e.gone = true
		}
		e.signal()
	}
	for _, b := range s.pool {
		files = append(files, b.path)
		s.unrefLocked(b.rw)
		s.unrefLocked(b.ro)
	}
	s.pool, s.poolBytes = nil, 0
	warmDone, warmFiles := s.stopWarmLocked()
	files = append(files, warmFiles...)
	s.objects = map[ObjectID]*entry{}
	s.lru.Init()
	s.broadcastLocked()
	s.mu.Unlock()
	if warmDone != nil {
		<-warmDone // the refiller discards a block it was allocating when it sees closed
	}

	var errs []error
	for _, p := range files {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if s.createdDir {
		if err := os.RemoveAll(s.cfg.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	if s.createdSpillDir {
		if err := os.RemoveAll(s.cfg.SpillDir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("objectstore: close: %w", err)
	}
	return nil
}
