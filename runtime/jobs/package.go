package jobs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/goray/goray/runtime/pkgstore"
)

// MaxPackageBytes bounds an uploaded working_dir archive (see
// pkgstore.MaxBytes).
const MaxPackageBytes = pkgstore.MaxBytes

// DriverPath is where a Go-package job's driver binary, built on submit,
// lives inside the uploaded working dir.
const DriverPath = ".goray/driver"

// ErrBadPackage is wrapped by errors about uploaded working-dir archives.
// It is pkgstore's sentinel, so errors from either package match it.
var ErrBadPackage = pkgstore.ErrBadPackage

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

// packageStore is the manager's package store: the same directory as the
// daemon node's, so that the node finds what the job API stored.
func (m *Manager) packageStore() pkgstore.Store {
	return pkgstore.Store{Dir: filepath.Join(m.cfg.DataDir, "packages")}
}

// packageDir is where the package with sum is unpacked.
func (m *Manager) packageDir(sum string) string { return m.packageStore().Path(sum) }

// HasPackage reports whether the working-dir package sum is stored.
func (m *Manager) HasPackage(sum string) bool { return m.packageStore().Has(sum) }

// StorePackage verifies that the archive read from r hashes to sum and
// stores it, unpacked and as an archive, under the data dir. Storing a
// package twice is harmless: content addressing makes the copies equal.
func (m *Manager) StorePackage(sum string, r io.Reader) error {
	return m.packageStore().Put(sum, r)
}
