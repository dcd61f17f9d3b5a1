package pkgstore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// A working dir given as a symbolic link is packed as the tree it points
// to; WalkDir alone packed nothing, and the driver's tasks then missed
// every file.
func TestPackFollowsASymlinkedRoot(t *testing.T) {
	real := t.TempDir()
	if err := os.WriteFile(filepath.Join(real, "data.txt"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "wd")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	var viaLink, direct bytes.Buffer
	sumLink, _, err := Pack(context.Background(), &viaLink, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	sumDirect, _, err := Pack(context.Background(), &direct, real, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sumLink != sumDirect {
		t.Fatalf("the link packs to %.12s, the tree to %.12s", sumLink, sumDirect)
	}
	zr, err := gzip.NewReader(&viaLink)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if len(names) != 1 || names[0] != "data.txt" {
		t.Fatalf("packed %q, want [data.txt]", names)
	}
}

// Packing stops at a cancelled context instead of walking on.
func TestPackHonoursItsContext(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Pack(ctx, io.Discard, dir, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Pack with a cancelled context: %v, want context.Canceled", err)
	}
}

// A truncated archive whose hash matches (the sender cut it) is a bad
// package, as Commit's doc says, and nothing of it is stored; a write
// error on the node would not be.
func TestTruncatedArchiveIsABadPackage(t *testing.T) {
	var raw bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&raw, gzip.NoCompression)
	tw := tar.NewWriter(zw)
	body := bytes.Repeat([]byte("x"), 100000)
	if err := tw.WriteHeader(&tar.Header{Name: "big.txt", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	_ = tw.Close()
	_ = zw.Close()
	cut := raw.Bytes()[:raw.Len()/2]
	s := Store{Dir: t.TempDir()}
	err := s.Put(sumOf(cut), bytes.NewReader(cut))
	if !errors.Is(err, ErrBadPackage) {
		t.Fatalf("a truncated archive: %v, want an error wrapping ErrBadPackage", err)
	}
	if s.Has(sumOf(cut)) {
		t.Fatal("the truncated package was stored")
	}
}

// An upload past MaxBytes says so in a way errors.Is can tell.
func TestTooLargeUploadWrapsErrTooLarge(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	err := s.uploadErr(sumOf([]byte("x")), ErrTooLarge)
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrBadPackage) {
		t.Fatalf("%v: want both ErrTooLarge and ErrBadPackage", err)
	}
}
