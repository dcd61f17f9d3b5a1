package daemon

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLogRotationPolicy(t *testing.T) {
	const p = "/d/worker-7.log"
	tests := []struct {
		name        string
		rot         logRotation
		size        int64
		due         bool
		remove      string
		renames     [][2]string
		wantNoShift bool
	}{
		{name: "under the cap", rot: logRotation{maxSize: 100, backups: 3}, size: 99, due: false,
			remove: p + ".3", renames: [][2]string{{p + ".2", p + ".3"}, {p + ".1", p + ".2"}}},
		{name: "at the cap", rot: logRotation{maxSize: 100, backups: 3}, size: 100, due: true,
			remove: p + ".3", renames: [][2]string{{p + ".2", p + ".3"}, {p + ".1", p + ".2"}}},
		{name: "one backup: only .1, replaced", rot: logRotation{maxSize: 100, backups: 1}, size: 500, due: true,
			remove: p + ".1"},
		{name: "no backups: emptied in place", rot: logRotation{maxSize: 100, backups: 0}, size: 100, due: true, wantNoShift: true},
		{name: "-1 backups: same as none", rot: logRotation{maxSize: 100, backups: -1}, size: 100, due: true, wantNoShift: true},
		{name: "no cap: never", rot: logRotation{maxSize: 0, backups: 5}, size: 1 << 40, due: false,
			remove: p + ".5", renames: [][2]string{{p + ".4", p + ".5"}, {p + ".3", p + ".4"}, {p + ".2", p + ".3"}, {p + ".1", p + ".2"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rot.due(tc.size); got != tc.due {
				t.Errorf("due(%d) = %v, want %v", tc.size, got, tc.due)
			}
			remove, renames := tc.rot.shiftPlan(p)
			if tc.wantNoShift {
				if remove != "" || len(renames) != 0 {
					t.Errorf("shiftPlan = %q, %v; want nothing", remove, renames)
				}
				return
			}
			if remove != tc.remove || !slices.Equal(renames, tc.renames) {
				t.Errorf("shiftPlan = %q, %v; want %q, %v", remove, renames, tc.remove, tc.renames)
			}
		})
	}
}

// A worker keeps writing through its O_APPEND descriptor while the daemon
// follows and rotates its file: every byte is published once, in order;
// the rotated copies hold the file's successive contents, newest in .1,
// with only `backups` kept; and the worker's writes after a rotation start
// the emptied file afresh.
func TestWorkerLogRotatesPastTheCap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "worker-42.log")
	// The worker's stdout, opened as runtime.Node opens it.
	w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rot := logRotation{maxSize: 1000, backups: 2}
	var published strings.Builder
	var off int64
	follow := func() {
		t.Helper()
		next, err := rot.follow(path, off, func(s string) { published.WriteString(s) })
		if err != nil {
			t.Fatal(err)
		}
		off = next
	}
	var written strings.Builder
	write := func(s string) {
		t.Helper()
		if _, err := w.WriteString(s); err != nil {
			t.Fatal(err)
		}
		written.WriteString(s)
	}
	size := func(name string) int64 {
		t.Helper()
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return -1
		}
		return info.Size()
	}
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// Under the cap: published, not rotated.
	first := strings.Repeat("a", 600)
	write(first)
	follow()
	if off != 600 || size("worker-42.log.1") != -1 {
		t.Fatalf("under the cap: offset %d, .1 size %d; want 600 and no rotation", off, size("worker-42.log.1"))
	}
	// Past the cap: the whole file moves to .1, the file is emptied.
	second := strings.Repeat("b", 700)
	write(second)
	follow()
	if off != 0 || size("worker-42.log") != 0 || read("worker-42.log.1") != first+second {
		t.Fatalf("past the cap: offset %d, file %d bytes, .1 %d bytes; want 0, 0, 1300", off, size("worker-42.log"), size("worker-42.log.1"))
	}
	// The worker's next write lands at the start of the emptied file.
	write("c-line\n")
	if got := read("worker-42.log"); got != "c-line\n" {
		t.Fatalf("after rotation the file holds %q (a sparse or stale file?)", got)
	}
	follow()
	// Two more rotations: .1 newest, .2 the one before, the first dropped.
	third := strings.Repeat("d", 1200)
	write(third)
	follow()
	fourth := strings.Repeat("e", 1000)
	write(fourth)
	follow()
	if got := read("worker-42.log.1"); got != fourth {
		t.Fatalf(".1 holds %d bytes starting %q, want the newest content", len(got), got[:min(len(got), 10)])
	}
	if got := read("worker-42.log.2"); got != "c-line\n"+third {
		t.Fatalf(".2 holds %d bytes, want the previous content", len(got))
	}
	if size("worker-42.log.3") != -1 {
		t.Fatal("a third rotated copy was kept with backups = 2")
	}
	if published.String() != written.String() {
		t.Fatalf("published %d bytes, written %d: not every byte once, in order", published.Len(), written.Len())
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".rotate-") {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}

	// With no backups kept, a file past the cap is just emptied.
	none := logRotation{maxSize: 10, backups: -1}
	write(strings.Repeat("f", 20))
	next, err := none.follow(path, 0, func(string) {})
	if err != nil || next != 0 || size("worker-42.log") != 0 {
		t.Fatalf("no backups: offset %d, size %d, %v", next, size("worker-42.log"), err)
	}
	if got := read("worker-42.log.1"); got != fourth {
		t.Fatal("no backups: the existing .1 changed")
	}
}

// A file truncated behind the follower's back is followed from its start.
func TestWorkerLogFollowAfterOutsideTruncation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "worker-1.log")
	if err := os.WriteFile(path, []byte("hello world"), 0o644); err != nil {
		t.Fatal(err)
	}
	rot := logRotation{}
	var got []string
	off, err := rot.follow(path, 0, func(s string) { got = append(got, s) })
	if err != nil || off != 11 {
		t.Fatalf("follow: %d, %v", off, err)
	}
	if err := os.WriteFile(path, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	off, err = rot.follow(path, off, func(s string) { got = append(got, s) })
	if err != nil || off != 3 || !slices.Equal(got, []string{"hello world", "new"}) {
		t.Fatalf("after truncation: offset %d, published %q, %v", off, got, err)
	}
	if _, err := rot.follow(filepath.Join(t.TempDir(), "missing.log"), 0, func(string) {}); err == nil {
		t.Fatal("following a missing file did not fail")
	}
}
