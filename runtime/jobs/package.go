package jobs

import (
	"bytes"
	"context"
	"io"
	"path/filepath"

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

// PackDir archives dir as a gzipped tar whose bytes depend only on the
// files' names, modes and contents (sorted names, zero times), so equal
// trees get equal hashes and are uploaded once. extra maps archive paths to
// local files added on top (the driver binary built on submit). The
// archive format is pkgstore.Pack's, shared with drivers that ship their
// working dir over TCP.
func PackDir(ctx context.Context, dir string, extra map[string]string) (data []byte, sum string, err error) {
	var buf bytes.Buffer
	sum, _, err = pkgstore.Pack(ctx, &buf, dir, extra)
	if err != nil {
		return nil, "", err
	}
	return buf.Bytes(), sum, nil
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
