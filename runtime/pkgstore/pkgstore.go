package pkgstore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// MaxBytes bounds a package archive. A working dir is code and small data;
// bulk data belongs in the object store or on shared storage, as in Ray,
// whose limit for runtime_env packages is 500 MiB.
const MaxBytes = 512 << 20

// ErrBadPackage is wrapped by every error about a package's content: a
// malformed name, a hash mismatch, a corrupt archive or an entry that
// would land outside its directory.
var ErrBadPackage = errors.New("invalid working_dir package")

// ValidSum reports whether s is a hex sha256, the only names packages have.
func ValidSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// Store is a directory of packages. The zero Store is unusable: Dir is
// required.
type Store struct {
	// Dir holds <sum>/ and <sum>.tgz.
	Dir string
}

// Path is where package sum is (or would be) unpacked.
func (s Store) Path(sum string) string { return filepath.Join(s.Dir, sum) }

// ArchivePath is where package sum's archive is (or would be) kept.
func (s Store) ArchivePath(sum string) string { return filepath.Join(s.Dir, sum+".tgz") }

// Has reports whether package sum is stored: unpacked and with its
// archive, so that it can be both used and served.
func (s Store) Has(sum string) bool {
	if !ValidSum(sum) {
		return false
	}
	st, err := os.Stat(s.Path(sum))
	if err != nil || !st.IsDir() {
		return false
	}
	st, err = os.Stat(s.ArchivePath(sum))
	return err == nil && st.Mode().IsRegular()
}

// Put reads an archive from r, checks that it hashes to sum and is at most
// MaxBytes, and stores it. A package that is already there is not read
// again: content addressing makes copies equal. The archive streams
// through a temporary file (NewUpload), so memory holds one copy buffer,
// not the archive.
func (s Store) Put(sum string, r io.Reader) error {
	if !ValidSum(sum) {
		return fmt.Errorf("%w: %q is not a sha256", ErrBadPackage, sum)
	}
	if s.Has(sum) {
		return nil
	}
	in, err := s.NewUpload(sum)
	if err != nil {
		return err
	}
	if _, err := io.Copy(in, r); err != nil {
		in.Abort()
		return s.uploadErr(sum, err)
	}
	return s.Commit(in)
}

// PutBytes is Put for an archive already in memory.
func (s Store) PutBytes(sum string, data []byte) error {
	return s.Put(sum, bytes.NewReader(data))
}

// NewUpload starts receiving package sum in pieces: write the archive to
// the returned Incoming, then Commit it (or Abort). The pieces go to a
// temporary file in the store's directory, and at most MaxBytes are taken.
func (s Store) NewUpload(sum string) (*Incoming, error) {
	if !ValidSum(sum) {
		return nil, fmt.Errorf("%w: %q is not a sha256", ErrBadPackage, sum)
	}
	in, err := NewIncoming(s.Dir, sum, MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("package store: %w", err)
	}
	return in, nil
}

// Commit verifies an upload's archive, unpacks it and keeps it, or drops
// it and says why: a hash mismatch, an archive past MaxBytes or a corrupt
// one is an error wrapping ErrBadPackage, and nothing of it is stored.
func (s Store) Commit(in *Incoming) error {
	sum := in.Sum()
	if err := in.Verify(); err != nil {
		return s.uploadErr(sum, err)
	}
	if s.Has(sum) { // a concurrent upload of the same content won
		in.Abort()
		return nil
	}
	// The tree first, then the archive: Has needs both, so a crash in
	// between leaves a package that is stored again, never a half one.
	if st, err := os.Stat(s.Path(sum)); err != nil || !st.IsDir() {
		if err := s.unpackFile(sum, in.TempPath()); err != nil {
			in.Abort()
			return err
		}
	}
	if err := in.Commit(s.ArchivePath(sum), 0o644); err != nil {
		return fmt.Errorf("package store: %w", err)
	}
	return nil
}

// uploadErr words a failed upload of package sum.
func (s Store) uploadErr(sum string, err error) error {
	var mm *MismatchError
	switch {
	case errors.As(err, &mm):
		return fmt.Errorf("%w: %w", ErrBadPackage, err)
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("%w: package %.12s is larger than %d MiB: %w", ErrBadPackage, sum, MaxBytes>>20, ErrTooLarge)
	}
	return fmt.Errorf("package %.12s: %w", sum, err)
}

// unpackFile unpacks the archive at path into the store's tree for sum,
// through a temporary directory renamed into place.
func (s Store) unpackFile(sum, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("package store: %w", err)
	}
	defer f.Close()
	tmp, err := os.MkdirTemp(s.Dir, ".incoming-")
	if err != nil {
		return fmt.Errorf("package store: %w", err)
	}
	if err := Unpack(f, tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("package %.12s: %w", sum, err)
	}
	if err := os.Rename(tmp, s.Path(sum)); err != nil {
		os.RemoveAll(tmp)
		if st, serr := os.Stat(s.Path(sum)); serr != nil || !st.IsDir() {
			return fmt.Errorf("package store: %w", err)
		}
		// A concurrent store of the same content won.
	}
	return nil
}

// MaxUnpackedBytes bounds the files a package may unpack to. The archive
// itself is bounded where it is received, but a small gzip stream can
// expand without limit; this keeps a hostile or broken package from
// filling the node's disk. Ray's working_dir packages are far smaller.
const MaxUnpackedBytes = 8 << 30

// Unpack extracts a package archive into dest, refusing anything but
// regular files inside it and more than MaxUnpackedBytes in all.
func Unpack(r io.Reader, dest string) error {
	return unpack(r, dest, MaxUnpackedBytes)
}

func unpack(r io.Reader, dest string, limit int64) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadPackage, err)
	}
	tr := tar.NewReader(zr)
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadPackage, err)
		}
		name := path.Clean(hdr.Name)
		if hdr.Typeflag != tar.TypeReg || path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("%w: entry %q", ErrBadPackage, hdr.Name)
		}
		if total += hdr.Size; hdr.Size < 0 || total > limit {
			return fmt.Errorf("%w: entry %q takes the unpacked size past %d bytes", ErrBadPackage, hdr.Name, limit)
		}
		p := filepath.Join(dest, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("package store: unpack %q: %w", hdr.Name, err)
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(hdr.Mode)&0o755|0o600)
		if err != nil {
			return fmt.Errorf("package store: unpack %q: %w", hdr.Name, err)
		}
		_, err = io.Copy(f, io.LimitReader(corruptReader{tr}, hdr.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("package store: unpack %q: %w", hdr.Name, err)
		}
	}
}

// corruptReader marks the archive's read errors (a truncated or damaged
// archive) as ErrBadPackage, so that they are told apart from the errors
// of writing the unpacked files (a full disk), which are the node's.
type corruptReader struct{ r io.Reader }

func (c corruptReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", ErrBadPackage, err)
	}
	return n, err
}
