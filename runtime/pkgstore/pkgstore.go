package pkgstore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
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
// again: content addressing makes copies equal.
func (s Store) Put(sum string, r io.Reader) error {
	if !ValidSum(sum) {
		return fmt.Errorf("%w: %q is not a sha256", ErrBadPackage, sum)
	}
	if s.Has(sum) {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return fmt.Errorf("package %.12s: %w", sum, err)
	}
	return s.PutBytes(sum, data)
}

// PutBytes is Put for an archive already in memory.
func (s Store) PutBytes(sum string, data []byte) error {
	if !ValidSum(sum) {
		return fmt.Errorf("%w: %q is not a sha256", ErrBadPackage, sum)
	}
	if s.Has(sum) {
		return nil
	}
	if len(data) > MaxBytes {
		return fmt.Errorf("%w: package %.12s is larger than %d MiB", ErrBadPackage, sum, MaxBytes>>20)
	}
	h := sha256.Sum256(data)
	if got := hex.EncodeToString(h[:]); got != sum {
		return fmt.Errorf("%w: content hashes to %s, not %s", ErrBadPackage, got, sum)
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return fmt.Errorf("package store: %w", err)
	}
	// The tree first, then the archive: Has needs both, so a crash in
	// between leaves a package that is stored again, never a half one.
	if st, err := os.Stat(s.Path(sum)); err != nil || !st.IsDir() {
		tmp, err := os.MkdirTemp(s.Dir, ".incoming-")
		if err != nil {
			return fmt.Errorf("package store: %w", err)
		}
		if err := Unpack(bytes.NewReader(data), tmp); err != nil {
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
	}
	f, err := os.CreateTemp(s.Dir, ".archive-")
	if err != nil {
		return fmt.Errorf("package store: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), s.ArchivePath(sum))
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("package store: %w", err)
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
		_, err = io.Copy(f, io.LimitReader(tr, hdr.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("package store: unpack %q: %w", hdr.Name, err)
		}
	}
}
