package pkgstore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// archive builds a gzipped tar of entries (name → content); a name ending
// in "/" is a directory entry, which packages never contain.
func archive(t *testing.T, entries ...[2]string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e[0], Mode: 0o644, Size: int64(len(e[1])), Typeflag: tar.TypeReg}
		if strings.HasSuffix(e[0], "/") {
			hdr.Typeflag, hdr.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e[1])); err != nil && hdr.Typeflag == tar.TypeReg {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(h[:])
}

func TestPutStoresTreeAndArchive(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	data, sum := archive(t, [2]string{"data.txt", "hello"}, [2]string{"sub/x.txt", "x"})
	if s.Has(sum) {
		t.Fatal("empty store has the package")
	}
	if err := s.Put(sum, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if !s.Has(sum) {
		t.Fatal("stored package is not found")
	}
	got, err := os.ReadFile(filepath.Join(s.Path(sum), "sub", "x.txt"))
	if err != nil || string(got) != "x" {
		t.Fatalf("unpacked sub/x.txt = %q, %v", got, err)
	}
	arch, err := os.ReadFile(s.ArchivePath(sum))
	if err != nil || !bytes.Equal(arch, data) {
		t.Fatalf("kept archive differs from the stored one (%v)", err)
	}
	// Storing again reads nothing: an empty reader would not hash right.
	if err := s.Put(sum, bytes.NewReader(nil)); err != nil {
		t.Fatalf("second store: %v", err)
	}
}

func TestPutRefusesBadPackages(t *testing.T) {
	good, goodSum := archive(t, [2]string{"a.txt", "a"})
	escape, escapeSum := archive(t, [2]string{"../evil.txt", "x"})
	dir, dirSum := archive(t, [2]string{"d/", ""})
	notGzip := []byte("plain text, not an archive")
	ng := sha256.Sum256(notGzip)
	for _, tc := range []struct {
		name string
		sum  string
		data []byte
		want string
	}{
		{"not a sha256", "abc", good, "is not a sha256"},
		{"upper-case sha256", strings.ToUpper(goodSum), good, "is not a sha256"},
		{"hash mismatch", escapeSum, good, "content hashes to " + goodSum},
		{"entry outside the dir", escapeSum, escape, `entry "../evil.txt"`},
		{"directory entry", dirSum, dir, `entry "d/"`},
		{"not gzip", hex.EncodeToString(ng[:]), notGzip, "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Store{Dir: t.TempDir()}
			err := s.Put(tc.sum, bytes.NewReader(tc.data))
			if !errors.Is(err, ErrBadPackage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Put = %v, want ErrBadPackage mentioning %q", err, tc.want)
			}
			if s.Has(tc.sum) {
				t.Fatal("a refused package is stored")
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(s.Dir), "evil.txt")); err == nil {
				t.Fatal("an entry escaped the store")
			}
			ents, _ := os.ReadDir(s.Dir)
			if len(ents) != 0 {
				t.Fatalf("a refused package left %v behind", ents)
			}
		})
	}
}

func TestConcurrentPutsOfOnePackage(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	data, sum := archive(t, [2]string{"data.txt", "same"})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.PutBytes(sum, data)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	if got, err := os.ReadFile(filepath.Join(s.Path(sum), "data.txt")); err != nil || string(got) != "same" {
		t.Fatalf("data.txt = %q, %v", got, err)
	}
	ents, _ := os.ReadDir(s.Dir)
	if len(ents) != 2 {
		t.Fatalf("store holds %d entries, want the tree and the archive", len(ents))
	}
}

// A package may not unpack to more than the limit in all (a gzip stream
// of zeros expands a thousandfold): the entry that crosses it is refused
// and named; under the limit the same archive unpacks.
func TestUnpackRefusesTooMuch(t *testing.T) {
	data, _ := archive(t, [2]string{"a.bin", strings.Repeat("\x00", 600)}, [2]string{"b.bin", strings.Repeat("\x00", 600)})
	err := unpack(bytes.NewReader(data), t.TempDir(), 1000)
	if !errors.Is(err, ErrBadPackage) || !strings.Contains(err.Error(), `"b.bin"`) {
		t.Fatalf("unpack past the limit: %v; want ErrBadPackage naming b.bin", err)
	}
	dir := t.TempDir()
	if err := unpack(bytes.NewReader(data), dir, 1200); err != nil {
		t.Fatalf("unpack within the limit: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "b.bin")); err != nil || len(b) != 600 {
		t.Fatalf("b.bin: %d bytes, %v", len(b), err)
	}
}
