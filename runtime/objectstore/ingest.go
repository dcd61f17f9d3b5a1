package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Objects arriving over the network (a Get of an object that lives on another node) are
// written front to back as the bytes come off the socket. Create's writable mapping is the
// wrong destination for them: a fresh mapping must be allocated, zeroed and populated before
// the first byte lands, and on tmpfs that zeroing costs more than the network copy itself.
// Write(2) into a tmpfs file instead fills each new page in one pass without zeroing it, and
// a socket can be spliced into the file (os.File.ReadFrom), so the bytes are copied once, by
// the kernel, from the socket buffer into the object's page. Pooled memory, already mapped
// and populated, is still the cheapest destination and is used when a block fits.

// ErrShortWrite means an Ingest was sealed before all of its bytes had been written.
var ErrShortWrite = errors.New("objectstore: object not completely written")

// Ingest is an object being received front to back (see CreateIngest). Fill it with
// ReadFrom or Write, exactly Size bytes in all, then call Seal or Abort exactly once. It is
// not safe for concurrent use.
type Ingest struct {
	s    *Store
	e    *entry
	b    *block   // pooled destination, or nil
	f    *os.File // fresh file destination, or nil (size 0 or pooled)
	off  int64
	done bool
	pop  *populater // fresh file: its read-only mapping, populated behind the writer
}

// populateBehindMin is the smallest fresh object whose read-only mapping is made while it is
// written; smaller ones are mapped by the first Get, which is cheap for them.
const populateBehindMin = 1 << 20

// populater maps a fresh Ingest's file read-only up front (without populating it) and fills
// in the page tables behind the writer, on another goroutine, as the bytes arrive: mapping
// a big object after it arrived costs milliseconds before its first reader can start (the
// kernel's work per page, several times more in a VM), while during a transfer the sender's
// core spends much of its time waiting for the socket. Only pages already written are
// populated, so no page is allocated (and zeroed) ahead of its data.
type populater struct {
	data    []byte
	written chan int64 // the writer's offset after each write; closed by finish
	done    chan struct{}
	upto    int64 // populated [0, upto); owned by the goroutine until done
}

func newPopulater(f *os.File, size int64) *populater {
	if err := f.Truncate(size); err != nil {
		return nil
	}
	data, err := mmapLazy(f, size)
	if err != nil {
		return nil
	}
	p := &populater{data: data, written: make(chan int64, 16), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for off := range p.written {
			p.fill(off &^ (pageSize - 1)) // whole pages only: the last may be half written
		}
	}()
	return p
}

var pageSize = int64(os.Getpagesize())

func (p *populater) fill(end int64) {
	if end > p.upto {
		_ = populateRead(p.data[p.upto:end]) // best effort: a Get faults in what is missing
		p.upto = end
	}
}

// wrote tells the goroutine how far the object is written; it never blocks the writer.
func (p *populater) wrote(off int64) {
	select {
	case p.written <- off:
	default: // busy: a later offset covers this one
	}
}

// finish stops the goroutine and, if the object is complete, populates the rest; it
// returns the mapping for the store, or nil (unmapped) when discarding.
func (p *populater) finish(complete bool, size int64) *mapping {
	close(p.written)
	<-p.done
	if !complete {
		_ = munmap(p.data)
		return nil
	}
	p.fill(size)
	return &mapping{data: p.data, refs: 1}
}

// CreateIngest reserves size bytes for a new object that will be written sequentially, in
// pooled memory when a block fits and otherwise in a fresh file written with write(2) or
// splice(2). Unlike Create it never zeroes or maps fresh memory.
func (s *Store) CreateIngest(ctx context.Context, id ObjectID, size int64) (*Ingest, error) {
	e, b, err := s.begin(ctx, id, size)
	if err != nil {
		return nil, err
	}
	in := &Ingest{s: s, e: e, b: b}
	if b != nil {
		return in, nil
	}
	f, err := os.OpenFile(e.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		s.abort(e, nil, nil, false)
		return nil, fmt.Errorf("objectstore: create %s (%d bytes): %w", id, size, fullErr(err))
	}
	in.f = f
	if size >= populateBehindMin {
		in.pop = newPopulater(f, size)
	}
	return in, nil
}

// ID is the object being written.
func (in *Ingest) ID() ObjectID { return in.e.id }

// Size is the object's length in bytes.
func (in *Ingest) Size() int64 { return in.e.size }

// Remaining is how many bytes are still to be written.
func (in *Ingest) Remaining() int64 { return in.e.size - in.off }

// Write appends p. Writing past Size is an error and writes nothing.
func (in *Ingest) Write(p []byte) (int, error) {
	if err := in.check(int64(len(p))); err != nil {
		return 0, err
	}
	var n int
	var err error
	if in.b != nil {
		n = copy(in.b.rw.data[in.off:in.e.size], p)
	} else {
		n, err = in.f.Write(p)
		err = fullErr(err)
	}
	in.off += int64(n)
	if in.pop != nil {
		in.pop.wrote(in.off)
	}
	if err != nil {
		return n, fmt.Errorf("objectstore: write %s: %w", in.e.id, err)
	}
	return n, nil
}

// ReadFrom fills the rest of the object from r, stopping at Size (it reads no byte past
// it). An *io.LimitedReader that ends before Size fills only its part, so a caller can feed
// the object piece by piece. A fresh file destination hands r to os.File.ReadFrom, which
// splices a TCP connection (wrapped in an *io.LimitedReader or not) straight into the file.
// It returns io.ErrUnexpectedEOF if r ends before what it was expected to deliver.
func (in *Ingest) ReadFrom(r io.Reader) (int64, error) {
	if in.done {
		return 0, fmt.Errorf("objectstore: write %s: ingest already finished", in.e.id)
	}
	want := in.Remaining()
	var n int64
	var err error
	if in.b != nil {
		limit := want
		if lr, ok := r.(*io.LimitedReader); ok && lr.N < want {
			limit = max(lr.N, 0)
		}
		var k int
		k, err = io.ReadFull(r, in.b.rw.data[in.off:in.off+limit])
		n = int64(k)
	} else if want > 0 {
		lr, ok := r.(*io.LimitedReader)
		if !ok || lr.N > want {
			// Never read past the object: the stream may carry more after it.
			lr = &io.LimitedReader{R: r, N: want}
		}
		expect := lr.N // a caller's LimitedReader may cover only part of the rest
		n, err = in.f.ReadFrom(lr)
		err = fullErr(err)
		if err == nil && n < expect {
			err = io.ErrUnexpectedEOF
		}
	}
	in.off += n
	if in.pop != nil {
		in.pop.wrote(in.off)
	}
	if err != nil {
		return n, fmt.Errorf("objectstore: write %s: %w", in.e.id, err)
	}
	return n, nil
}

func (in *Ingest) check(n int64) error {
	if in.done {
		return fmt.Errorf("objectstore: write %s: ingest already finished", in.e.id)
	}
	if in.off+n > in.e.size {
		return fmt.Errorf("objectstore: write %s: %d bytes at offset %d exceed the object's %d", in.e.id, n, in.off, in.e.size)
	}
	return nil
}

// Seal makes the object visible to Get. It fails with ErrShortWrite (and aborts) unless
// exactly Size bytes were written.
func (in *Ingest) Seal() error {
	if in.done {
		return fmt.Errorf("objectstore: seal %s: ingest already finished", in.e.id)
	}
	if in.off != in.e.size {
		err := fmt.Errorf("%w: %s has %d of %d bytes", ErrShortWrite, in.e.id, in.off, in.e.size)
		in.Abort()
		return err
	}
	in.done = true
	if in.f != nil {
		var ro *mapping
		if in.pop != nil {
			ro = in.pop.finish(true, in.e.size)
		}
		if err := in.f.Close(); err != nil {
			in.s.abort(in.e, nil, ro, true)
			return fmt.Errorf("objectstore: seal %s: %w", in.e.id, err)
		}
		return in.s.seal(in.e, nil, ro)
	}
	if in.b != nil {
		return in.s.seal(in.e, in.b.rw, in.b.ro)
	}
	return in.s.seal(in.e, nil, nil)
}

// Abort discards the object and releases its memory. It is a no-op after Seal or Abort.
func (in *Ingest) Abort() {
	if in.done {
		return
	}
	in.done = true
	if in.f != nil {
		if in.pop != nil {
			in.pop.finish(false, 0)
		}
		_ = in.f.Close()
		in.s.abort(in.e, nil, nil, true)
		return
	}
	if in.b != nil {
		in.s.abort(in.e, in.b.rw, in.b.ro, true)
		return
	}
	// A zero-length object has no file yet.
	in.s.abort(in.e, nil, nil, false)
}
