package pkgstore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestPackIsDeterministicAndUnpacks: packing the same tree twice gives the
// same bytes and sum (so an unchanged dir is sent once), skipped dirs stay
// out, extra files are added, and the archive stores and unpacks.
func TestPackIsDeterministicAndUnpacks(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"data.txt":                   "data",
		"sub/x.txt":                  "x",
		".git/HEAD":                  "ref",
		"goray-results/run/out.json": "{}",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	extra := filepath.Join(t.TempDir(), "driver")
	if err := os.WriteFile(extra, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	sumA, sizeA, err := Pack(context.Background(), &a, dir, map[string]string{".goray/driver": extra})
	if err != nil {
		t.Fatal(err)
	}
	sumB, _, err := Pack(context.Background(), &b, dir, map[string]string{".goray/driver": extra})
	if err != nil {
		t.Fatal(err)
	}
	if sumA != sumB || !bytes.Equal(a.Bytes(), b.Bytes()) || sizeA != int64(a.Len()) || sumOf(a.Bytes()) != sumA {
		t.Fatalf("two packs differ or misreport: %s/%s, size %d of %d", sumA, sumB, sizeA, a.Len())
	}
	s := Store{Dir: t.TempDir()}
	if err := s.Put(sumA, &a); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"data.txt": "data", "sub/x.txt": "x", ".goray/driver": "#!/bin/sh\n"} {
		if got, err := os.ReadFile(filepath.Join(s.Path(sumA), filepath.FromSlash(name))); err != nil || string(got) != want {
			t.Errorf("unpacked %s = %q, %v", name, got, err)
		}
	}
	for _, skipped := range []string{".git", "goray-results"} {
		if _, err := os.Stat(filepath.Join(s.Path(sumA), skipped)); err == nil {
			t.Errorf("%s was packed", skipped)
		}
	}
	if st, err := os.Stat(filepath.Join(s.Path(sumA), ".goray/driver")); err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Errorf("the extra file lost its mode: %v, %v", st, err)
	}
}
