package pkgstore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrTooLarge is wrapped when incoming content passes its size limit.
var ErrTooLarge = errors.New("content larger than its limit")

// MismatchError says that received content does not hash to the name it
// arrived under. Callers wrap it in their own sentinel (ErrBadPackage for
// packages) and tests find it with errors.As.
type MismatchError struct {
	// Got is the sha256 of what arrived, Want the name it came under.
	Got, Want string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("content hashes to %s, not %s", e.Got, e.Want)
}

// Incoming is content-addressed content arriving in pieces (a driver's
// program or working dir over its connection, an HTTP body). Each Write
// goes straight to a temporary file in the destination's directory while
// it is hashed, so receiving holds one piece in memory, never the whole;
// the file gets its real name (Commit) only once it hashes to the name it
// came under, so a reader of the directory never sees unverified content.
// An Incoming is used by one goroutine at a time.
type Incoming struct {
	sum   string
	limit int64
	f     *os.File
	h     hash.Hash
	n     int64
	err   error // the first failure; every later call returns it
	done  bool  // closed: verified, committed or aborted
	moved bool  // committed: the file has its real name
}

// NewIncoming starts receiving content named sum (a hex sha256) into a
// temporary file in dir, which it creates; more than limit bytes is an
// error wrapping ErrTooLarge.
func NewIncoming(dir, sum string, limit int64) (*Incoming, error) {
	if !ValidSum(sum) {
		return nil, fmt.Errorf("%q is not a sha256", sum)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("incoming %.12s: %w", sum, err)
	}
	// The dot hides it from globs over the directory's real entries; the
	// name says whose it is when one is left by a crash.
	f, err := os.CreateTemp(dir, ".upload-"+sum[:12]+"-")
	if err != nil {
		return nil, fmt.Errorf("incoming %.12s: %w", sum, err)
	}
	return &Incoming{sum: sum, limit: limit, f: f, h: sha256.New()}, nil
}

// Sum is the sha256 the content must have.
func (in *Incoming) Sum() string { return in.sum }

// Size is how many bytes were written so far.
func (in *Incoming) Size() int64 { return in.n }

// TempPath is the temporary file the content is written to.
func (in *Incoming) TempPath() string { return in.f.Name() }

// Write appends p to the file and the hash. Past the limit it fails and
// removes the file: nothing of refused content stays on disk.
func (in *Incoming) Write(p []byte) (int, error) {
	if in.err != nil {
		return 0, in.err
	}
	if in.done {
		return 0, fmt.Errorf("incoming %.12s: write after close", in.sum)
	}
	if in.n+int64(len(p)) > in.limit {
		in.fail(fmt.Errorf("%w: more than %d MiB", ErrTooLarge, in.limit>>20))
		return 0, in.err
	}
	n, err := in.f.Write(p)
	in.n += int64(n)
	in.h.Write(p[:n])
	if err != nil {
		in.fail(fmt.Errorf("incoming %.12s: %w", in.sum, err))
		return n, in.err
	}
	return n, nil
}

// Verify closes the file and checks its hash: a mismatch is a
// *MismatchError, and any failure removes the file. On success the file
// stays at TempPath for the caller to read (unpack) before Commit.
func (in *Incoming) Verify() error {
	if in.err != nil || in.done {
		return in.err
	}
	in.done = true
	if err := in.f.Close(); err != nil {
		in.fail(fmt.Errorf("incoming %.12s: %w", in.sum, err))
		return in.err
	}
	if got := hex.EncodeToString(in.h.Sum(nil)); got != in.sum {
		in.fail(&MismatchError{Got: got, Want: in.sum})
	}
	return in.err
}

// Commit verifies the content (unless Verify already did) and renames it
// to dst with mode. The rename is atomic, so a concurrent receiver of the
// same content, or a reader, never sees a half-written file.
func (in *Incoming) Commit(dst string, mode os.FileMode) error {
	if err := in.Verify(); err != nil {
		return err
	}
	err := os.Chmod(in.f.Name(), mode)
	if err == nil {
		err = os.Rename(in.f.Name(), dst)
	}
	if err != nil {
		in.fail(fmt.Errorf("incoming %.12s: %w", in.sum, err))
		return in.err
	}
	in.moved = true
	return nil
}

// Abort drops what arrived. It is safe after any other call, and a no-op
// after a successful Commit.
func (in *Incoming) Abort() {
	if in.moved {
		return
	}
	in.fail(errors.New("incoming: aborted"))
}

// fail records err (the first one wins) and removes the file.
func (in *Incoming) fail(err error) {
	if in.err == nil {
		in.err = err
	}
	if !in.done {
		in.done = true
		_ = in.f.Close()
	}
	_ = os.Remove(in.f.Name())
}

// SweepUploads removes the temporary files of uploads into dir that have
// not been written to for olderThan: a daemon killed mid-upload leaves
// one, and nothing else ever deletes it. A younger file may be an upload
// in progress, perhaps another daemon's that shares the directory, so it
// stays. A missing dir has nothing to sweep. It returns how many it
// removed.
func SweepUploads(dir string, olderThan time.Duration) (int, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sweep uploads in %s: %w", dir, err)
	}
	n := 0
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), ".upload-") {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < olderThan {
			continue
		}
		if os.Remove(filepath.Join(dir, e.Name())) == nil {
			n++
		}
	}
	return n, nil
}
