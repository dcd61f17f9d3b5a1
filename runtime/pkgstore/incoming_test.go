package pkgstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sumOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestIncomingWritesThrough: every Write reaches the temporary file at
// once (its size grows with each piece), nothing appears under the real
// name before Commit, and Commit renames the verified file with its mode.
func TestIncomingWritesThrough(t *testing.T) {
	dir := t.TempDir()
	content := []byte(strings.Repeat("0123456789", 100))
	sum := sumOf(content)
	in, err := NewIncoming(dir, sum, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(content); off += 300 {
		end := min(off+300, len(content))
		if _, err := in.Write(content[off:end]); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(in.TempPath())
		if err != nil || st.Size() != int64(end) || in.Size() != int64(end) {
			t.Fatalf("after %d bytes the temporary file has %v bytes (%v), Size %d", end, st.Size(), err, in.Size())
		}
		if _, err := os.Stat(filepath.Join(dir, sum)); err == nil {
			t.Fatal("content is under its name before it was verified")
		}
	}
	dst := filepath.Join(dir, sum)
	if err := in.Commit(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	in.Abort() // a no-op after Commit
	st, err := os.Stat(dst)
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("committed file: %v, %v", st, err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, content) {
		t.Fatal("committed content differs")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("directory holds %v, want only the committed file", ents)
	}
}

// TestIncomingRefusals: content that does not hash to its name, or that
// passes the limit, is refused with an error that says which, and leaves
// nothing behind.
func TestIncomingRefusals(t *testing.T) {
	content := []byte("the real content")
	other := sumOf([]byte("something else"))
	for _, tc := range []struct {
		name  string
		sum   string
		limit int64
		check func(error) bool
	}{
		{"hash mismatch", other, 100, func(err error) bool {
			var mm *MismatchError
			return errors.As(err, &mm) && mm.Got == sumOf(content) && mm.Want == other
		}},
		{"too large", sumOf(content), 10, func(err error) bool { return errors.Is(err, ErrTooLarge) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in, err := NewIncoming(dir, tc.sum, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			_, werr := in.Write(content)
			err = in.Commit(filepath.Join(dir, tc.sum), 0o644)
			if werr != nil && err != werr {
				t.Fatalf("Commit after a failed Write = %v, want that failure %v", err, werr)
			}
			if !tc.check(err) {
				t.Fatalf("Commit = %v", err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("a refused upload left %v", ents)
			}
		})
	}
	if _, err := NewIncoming(t.TempDir(), "not-a-sum", 10); err == nil {
		t.Fatal("NewIncoming accepted a name that is not a sha256")
	}
}

// TestStoreUploadRefusesMismatch: a package upload whose content does not
// hash to its name is refused with ErrBadPackage and the Mismatch detail,
// and the store stays empty.
func TestStoreUploadRefusesMismatch(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	data, _ := archive(t, [2]string{"data.txt", "x"})
	_, otherSum := archive(t, [2]string{"data.txt", "y"})
	in, err := s.NewUpload(otherSum)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Write(data); err != nil {
		t.Fatal(err)
	}
	err = s.Commit(in)
	var mm *MismatchError
	if !errors.Is(err, ErrBadPackage) || !errors.As(err, &mm) || mm.Want != otherSum {
		t.Fatalf("Commit = %v; want ErrBadPackage with a MismatchError for %s", err, otherSum)
	}
	if ents, _ := os.ReadDir(s.Dir); len(ents) != 0 || s.Has(otherSum) {
		t.Fatalf("a refused package left %v", ents)
	}
}

// A crash's leftover upload file goes; a fresh one (an upload in progress)
// and real content stay.
func TestSweepUploadsRemovesOnlyStaleOnes(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, age time.Duration) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := write(".upload-0123456789ab-1", 2*time.Hour)
	fresh := write(".upload-0123456789ab-2", time.Minute)
	real := write(sumOf([]byte("x")), 2*time.Hour)
	n, err := SweepUploads(dir, time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatal("the stale upload is still there")
	}
	for _, p := range []string{fresh, real} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s went: %v", p, err)
		}
	}
	if n, err := SweepUploads(filepath.Join(dir, "missing"), time.Hour); n != 0 || err != nil {
		t.Fatalf("a missing dir: %d, %v", n, err)
	}
}
