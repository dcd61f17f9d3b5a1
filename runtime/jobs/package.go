package jobs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// MaxPackageBytes bounds an uploaded working_dir archive. A working dir is
// code and small data; bulk data belongs in the object store or on shared
// storage, as in Ray, whose limit for runtime_env packages is 500 MiB.
const MaxPackageBytes = 512 << 20

// DriverPath is where a Go-package job's driver binary, built on submit,
// lives inside the uploaded working dir.
const DriverPath = ".goray/driver"

// ErrBadPackage is wrapped by errors about uploaded working-dir archives.
var ErrBadPackage = errors.New("invalid working_dir package")

// skipDirs are never uploaded: version control and goray's own outputs.
var skipDirs = map[string]bool{".git": true, "goray-results": true}

// PackDir archives dir as a gzipped tar whose bytes depend only on the
// files' names, modes and contents (sorted names, zero times), so equal
// trees get equal hashes and are uploaded once. extra maps archive paths to
// local files added on top (the driver binary built on submit).
func PackDir(dir string, extra map[string]string) (data []byte, sum string, err error) {
	type file struct{ rel, abs string }
	var files []file
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel != "." && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, file{filepath.ToSlash(rel), p})
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("pack %s: %w", dir, err)
	}
	for rel, abs := range extra {
		files = append(files, file{rel, abs})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		st, err := os.Stat(f.abs)
		if err != nil {
			return nil, "", fmt.Errorf("pack %s: %w", dir, err)
		}
		hdr := &tar.Header{Name: f.rel, Mode: int64(st.Mode().Perm()), Size: st.Size(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, "", err
		}
		src, err := os.Open(f.abs)
		if err != nil {
			return nil, "", fmt.Errorf("pack %s: %w", dir, err)
		}
		_, err = io.Copy(tw, src)
		src.Close()
		if err != nil {
			return nil, "", fmt.Errorf("pack %s: %w", f.abs, err)
		}
		if buf.Len() > MaxPackageBytes {
			return nil, "", fmt.Errorf("%w: %s is larger than %d MiB; keep data out of working_dir", ErrBadPackage, dir, MaxPackageBytes>>20)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	h := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(h[:]), nil
}

// validSum reports whether s looks like a hex sha256.
func validSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// unpack extracts a PackDir archive into dest, refusing anything that
// would land outside it.
func unpack(r io.Reader, dest string) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadPackage, err)
	}
	tr := tar.NewReader(zr)
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
		p := filepath.Join(dest, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(hdr.Mode)&0o755|0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, io.LimitReader(tr, hdr.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// packageDir is where the package with sum is unpacked.
func (m *Manager) packageDir(sum string) string {
	return filepath.Join(m.cfg.DataDir, "packages", sum)
}

// HasPackage reports whether the working-dir package sum is stored.
func (m *Manager) HasPackage(sum string) bool {
	if !validSum(sum) {
		return false
	}
	st, err := os.Stat(m.packageDir(sum))
	return err == nil && st.IsDir()
}

// StorePackage verifies that the archive read from r hashes to sum and
// unpacks it, atomically, under the data dir. Storing a package twice is
// harmless: content addressing makes the second copy identical.
func (m *Manager) StorePackage(sum string, r io.Reader) error {
	if !validSum(sum) {
		return fmt.Errorf("%w: %q is not a sha256", ErrBadPackage, sum)
	}
	if m.HasPackage(sum) {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxPackageBytes+1))
	if err != nil {
		return err
	}
	if len(data) > MaxPackageBytes {
		return fmt.Errorf("%w: larger than %d MiB", ErrBadPackage, MaxPackageBytes>>20)
	}
	h := sha256.Sum256(data)
	if got := hex.EncodeToString(h[:]); got != sum {
		return fmt.Errorf("%w: content hashes to %s, not %s", ErrBadPackage, got, sum)
	}
	root := filepath.Join(m.cfg.DataDir, "packages")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(root, ".incoming-")
	if err != nil {
		return err
	}
	if err := unpack(bytes.NewReader(data), tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, m.packageDir(sum)); err != nil {
		os.RemoveAll(tmp)
		if m.HasPackage(sum) {
			return nil // a concurrent upload of the same content won
		}
		return err
	}
	return nil
}
