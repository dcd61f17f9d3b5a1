package pkgstore

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// SkipDirs are never packed: version control and goray's own outputs.
var SkipDirs = map[string]bool{".git": true, "goray-results": true}

// Pack writes dir to w as a package archive: a gzipped tar whose bytes
// depend only on the files' names, modes and contents (sorted names, zero
// times), so equal trees get equal hashes and are sent once. extra maps
// archive paths to local files added on top (a job's driver binary built
// on submit). It returns the archive's sha256 and size; an archive past
// MaxBytes is an error wrapping ErrBadPackage. Packing streams: memory
// holds one copy buffer, whatever the tree's size, so a caller that packs
// into a file never holds the archive. ctx is checked before each file.
//
// A dir that is a symbolic link is packed as the tree it points to
// (WalkDir alone does not follow a root link and would pack nothing);
// links inside the tree are left out, as they were.
func Pack(ctx context.Context, w io.Writer, dir string, extra map[string]string) (sum string, size int64, err error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", 0, fmt.Errorf("pack %s: %w", dir, err)
	}
	dir = real
	type file struct{ rel, abs string }
	var files []file
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel != "." && SkipDirs[d.Name()] {
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
		return "", 0, fmt.Errorf("pack %s: %w", dir, err)
	}
	for rel, abs := range extra {
		files = append(files, file{rel, abs})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h), limit: MaxBytes}
	zw, _ := gzip.NewWriterLevel(cw, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	tooLarge := func() error {
		return fmt.Errorf("%w: %s is larger than %d MiB; keep data out of working_dir", ErrBadPackage, dir, MaxBytes>>20)
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return "", 0, fmt.Errorf("pack %s: %w", dir, err)
		}
		st, err := os.Stat(f.abs)
		if err != nil {
			return "", 0, fmt.Errorf("pack %s: %w", dir, err)
		}
		hdr := &tar.Header{Name: f.rel, Mode: int64(st.Mode().Perm()), Size: st.Size(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			if cw.over {
				return "", 0, tooLarge()
			}
			return "", 0, fmt.Errorf("pack %s: %w", dir, err)
		}
		src, err := os.Open(f.abs)
		if err != nil {
			return "", 0, fmt.Errorf("pack %s: %w", dir, err)
		}
		_, err = io.Copy(tw, src)
		src.Close()
		if cw.over {
			return "", 0, tooLarge()
		}
		if err != nil {
			return "", 0, fmt.Errorf("pack %s: %w", f.abs, err)
		}
	}
	cerr := tw.Close()
	if zerr := zw.Close(); cerr == nil {
		cerr = zerr
	}
	if cw.over {
		return "", 0, tooLarge()
	}
	if cerr != nil {
		return "", 0, fmt.Errorf("pack %s: %w", dir, cerr)
	}
	return hex.EncodeToString(h.Sum(nil)), cw.n, nil
}

// countWriter counts what passes and refuses to pass more than limit.
type countWriter struct {
	w     io.Writer
	n     int64
	limit int64
	over  bool
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.n+int64(len(p)) > c.limit {
		c.over = true
		return 0, ErrTooLarge
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
