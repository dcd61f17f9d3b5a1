package objectstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment of the re-executed test binary that plays a worker process in
// TestOpenSharedFromSecondProcess.
const (
	envChildPath = "GORAY_OBJECTSTORE_CHILD_PATH"
	envChildSize = "GORAY_OBJECTSTORE_CHILD_SIZE"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(envChildPath); path != "" {
		os.Exit(childMain(path, os.Getenv(envChildSize)))
	}
	os.Exit(m.Run())
}

// childMain maps the object the parent named and prints the SHA-256 of its bytes.
func childMain(path, sizeStr string) int {
	size, err := strconv.ParseInt(sizeStr, 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad size:", err)
		return 2
	}
	o, err := OpenShared(path, size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open shared:", err)
		return 3
	}
	defer o.Release()
	sum := sha256.Sum256(o.Bytes())
	fmt.Println(hex.EncodeToString(sum[:]))
	return 0
}

// newStore makes a store in fresh directories under /dev/shm (where available) and the test's
// temp dir, closes it at cleanup and checks that Close removed both directories.
func newStore(t testing.TB, limit int64) *Store {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Limit = limit
	cfg.WarmReserve = 0 // the reserve's own tests (warm_test.go) turn it on
	cfg.SpillDir = filepath.Join(t.TempDir(), "spill")
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, d := range []string{cfg.Dir, cfg.SpillDir} {
			if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after Close, %s still exists (stat err %v)", d, err)
			}
		}
	})
	return s
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustGet(t testing.TB, s *Store, id ObjectID) []byte {
	t.Helper()
	o, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	defer o.Release()
	return bytes.Clone(o.Bytes())
}

func TestObjectIDRoundTrip(t *testing.T) {
	id := NewObjectID()
	if id.IsZero() {
		t.Fatal("NewObjectID returned the zero ID")
	}
	if other := NewObjectID(); other == id {
		t.Fatal("two NewObjectID calls returned the same ID")
	}
	got, err := ParseObjectID(id.String())
	if err != nil || got != id {
		t.Fatalf("ParseObjectID(%q) = %v, %v; want %v", id.String(), got, err, id)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("zz", 20), strings.Repeat("a", 41)} {
		if _, err := ParseObjectID(bad); err == nil {
			t.Errorf("ParseObjectID(%q): want error", bad)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Dir: "/a", SpillDir: "/b", Limit: 1, InlineThreshold: 0, SpillThreshold: 0.8}
	tests := []struct {
		name   string
		mutate func(*Config)
		field  string // "" means valid
	}{
		{"valid", func(*Config) {}, ""},
		{"threshold 1", func(c *Config) { c.SpillThreshold = 1 }, ""},
		{"empty dir", func(c *Config) { c.Dir = "" }, "dir"},
		{"empty spill dir", func(c *Config) { c.SpillDir = "" }, "spill_dir"},
		{"same dirs", func(c *Config) { c.SpillDir = "/a/" }, "spill_dir"},
		{"zero limit", func(c *Config) { c.Limit = 0 }, "limit"},
		{"negative inline", func(c *Config) { c.InlineThreshold = -1 }, "inline_threshold"},
		{"zero threshold", func(c *Config) { c.SpillThreshold = 0 }, "spill_threshold"},
		{"threshold above 1", func(c *Config) { c.SpillThreshold = 1.5 }, "spill_threshold"},
		{"NaN threshold", func(c *Config) { c.SpillThreshold = math.NaN() }, "spill_threshold"},
		{"warm reserve off", func(c *Config) { c.WarmReserve = 0 }, ""},
		{"warm reserve = limit", func(c *Config) { c.Limit, c.WarmReserve = 8, 8 }, ""},
		{"negative warm reserve", func(c *Config) { c.WarmReserve = -1 }, "warm_reserve"},
		{"warm reserve above limit", func(c *Config) { c.Limit, c.WarmReserve = 8, 9 }, "warm_reserve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mutate(&c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("Validate = %v; want an error naming %q", err, tt.field)
			}
		})
	}
	d := DefaultConfig()
	if err := d.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate: %v", err)
	}
	if d.InlineThreshold != 100*1024 || d.SpillThreshold != 0.8 {
		t.Errorf("defaults: inline %d, spill threshold %v", d.InlineThreshold, d.SpillThreshold)
	}
	if _, err := os.Stat("/dev/shm"); err == nil && !strings.HasPrefix(d.Dir, "/dev/shm/") {
		t.Errorf("default dir %q is not under /dev/shm", d.Dir)
	}
	if d2 := DefaultConfig(); d2.Dir == d.Dir || d2.SpillDir == d.SpillDir {
		t.Errorf("two DefaultConfigs share directories: %q %q", d.Dir, d.SpillDir)
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New with an empty config: want error")
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	s := newStore(t, 64<<20)
	r := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 7, 4095, 4096, 4097, 100 * 1024, 1<<20 + 3, 5 << 20}
	for _, size := range sizes {
		for _, path := range []string{"put", "create"} {
			t.Run(fmt.Sprintf("%s/%d", path, size), func(t *testing.T) {
				ctx := context.Background()
				id := NewObjectID()
				data := randBytes(r, size)
				if path == "put" {
					if err := s.Put(ctx, id, data); err != nil {
						t.Fatalf("Put: %v", err)
					}
				} else {
					w, err := s.Create(ctx, id, int64(size))
					if err != nil {
						t.Fatalf("Create: %v", err)
					}
					if len(w.Bytes()) != size {
						t.Fatalf("Writer.Bytes has %d bytes, want %d", len(w.Bytes()), size)
					}
					copy(w.Bytes(), data)
					if s.Contains(id) {
						t.Fatal("Contains is true before Seal")
					}
					if err := w.Seal(); err != nil {
						t.Fatalf("Seal: %v", err)
					}
				}
				if !s.Contains(id) {
					t.Fatal("Contains is false after sealing")
				}
				o, err := s.Get(ctx, id)
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				defer o.Release()
				if o.Size() != int64(size) || !bytes.Equal(o.Bytes(), data) {
					t.Fatalf("Get returned %d bytes (Size %d), differing from the %d put", len(o.Bytes()), o.Size(), size)
				}
				if fi, err := os.Stat(o.Path()); err != nil || fi.Size() != int64(size) {
					t.Fatalf("Path %s: stat %v, %v", o.Path(), fi, err)
				}
			})
		}
	}
	st := s.Stats()
	if st.NumObjects != int64(2*len(sizes)) || st.Spilled != 0 {
		t.Errorf("Stats = %+v; want %d objects and no spills", st, 2*len(sizes))
	}
	var total int64
	for _, sz := range sizes {
		total += 2 * int64(sz)
	}
	if st.Used != total {
		t.Errorf("Stats.Used = %d; want %d", st.Used, total)
	}
}

// TestSpillAndRestore puts twice the limit, then reads everything back byte-identical.
func TestSpillAndRestore(t *testing.T) {
	const limit = 8 << 20
	s := newStore(t, limit)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	var ids []ObjectID
	var want [][]byte
	var total int64
	for total < 2*limit {
		data := randBytes(r, 64<<10+r.IntN(768<<10))
		id := NewObjectID()
		if err := s.Put(ctx, id, data); err != nil {
			t.Fatalf("Put #%d (%d bytes): %v", len(ids), len(data), err)
		}
		ids, want = append(ids, id), append(want, data)
		total += int64(len(data))
		if st := s.Stats(); st.Used > limit*8/10 {
			t.Fatalf("after put #%d Used = %d, above the spill threshold", len(ids), st.Used)
		}
	}
	st := s.Stats()
	if st.Spilled == 0 || st.NumSpilled == 0 || st.SpilledBytes == 0 {
		t.Fatalf("Stats after putting 2x the limit show no spilling: %+v", st)
	}
	if st.NumObjects != int64(len(ids)) {
		t.Fatalf("Stats.NumObjects = %d; want %d", st.NumObjects, len(ids))
	}
	spilledNow := 0
	for _, info := range s.List() {
		if info.Spilled {
			spilledNow++
		}
	}
	if int64(spilledNow) != st.NumSpilled {
		t.Fatalf("List shows %d spilled, Stats %d", spilledNow, st.NumSpilled)
	}
	// The first objects are the least recently used, so they are the spilled ones.
	if !s.List()[0].Spilled {
		t.Error("the oldest object is still in memory; LRU order not respected")
	}
	s.mu.Lock()
	hits := s.poolHits
	s.mu.Unlock()
	for i, id := range ids {
		if got := mustGet(t, s, id); !bytes.Equal(got, want[i]) {
			t.Fatalf("object %d: restored bytes differ", i)
		}
	}
	s.mu.Lock()
	hits = s.poolHits - hits
	s.mu.Unlock()
	if hits == 0 {
		t.Error("no restore reused the memory of a spilled object")
	}
	st2 := s.Stats()
	if st2.RestoredBytes == 0 {
		t.Fatalf("no restores recorded: %+v", st2)
	}
	if st2.Used > limit {
		t.Fatalf("Used %d above limit %d", st2.Used, limit)
	}
	checkAccounting(t, s)
	// Re-spilling a restored object reuses its spill file, so it costs no new bytes.
	for i, id := range ids {
		if got := mustGet(t, s, id); !bytes.Equal(got, want[i]) {
			t.Fatalf("object %d: second restore differs", i)
		}
	}
	if st3 := s.Stats(); st3.SpilledBytes != st2.SpilledBytes || st3.Spilled <= st2.Spilled {
		t.Errorf("re-spilling: SpilledBytes %d -> %d, Spilled %d -> %d; want bytes unchanged, count up",
			st2.SpilledBytes, st3.SpilledBytes, st2.Spilled, st3.Spilled)
	}
}

func dirEntries(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir %s: %v", dir, err)
	}
	return len(es)
}

// dirBytes sums the sizes of the files in dir: what the store really holds in tmpfs.
func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir %s: %v", dir, err)
	}
	var n int64
	for _, e := range es {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// checkAccounting asserts the store's books match the directory: object bytes plus pooled
// bytes are what the directory holds, and never more than the limit.
func checkAccounting(t *testing.T, s *Store) {
	t.Helper()
	s.mu.Lock()
	used, pool := s.used, s.poolBytes+s.warm.bytes // the reserve is held like the pool
	s.mu.Unlock()
	if used+pool > s.cfg.Limit {
		t.Fatalf("used %d + pooled %d exceed the limit %d", used, pool, s.cfg.Limit)
	}
	if got := dirBytes(t, s.cfg.Dir); got != used+pool {
		t.Fatalf("directory holds %d bytes; books say %d used + %d pooled", got, used, pool)
	}
}

func TestDeleteFreesSpace(t *testing.T) {
	s := newStore(t, 4<<20)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	a, b := NewObjectID(), NewObjectID()
	if err := s.Put(ctx, a, randBytes(r, 3<<20)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, b, randBytes(r, 1<<20)); err != nil { // spills a
		t.Fatal(err)
	}
	if st := s.Stats(); st.NumSpilled != 1 || st.Used != 1<<20 {
		t.Fatalf("Stats = %+v; want a spilled and 1 MiB used", st)
	}
	if dirEntries(t, s.cfg.Dir) != 1 || dirEntries(t, s.cfg.SpillDir) != 1 {
		t.Fatal("want one file in memory and one spilled")
	}
	checkAccounting(t, s)
	for _, id := range []ObjectID{a, b} {
		s.mu.Lock()
		path := s.objects[id].path
		s.mu.Unlock()
		if err := s.Delete(id); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if s.Contains(id) {
			t.Fatal("Contains after Delete")
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("object file survives Delete: %v", err)
		}
		checkAccounting(t, s)
	}
	if st := s.Stats(); st.Used != 0 || st.NumObjects != 0 || st.NumSpilled != 0 {
		t.Fatalf("Stats after deleting everything = %+v", st)
	}
	if m := dirEntries(t, s.cfg.SpillDir); m != 0 {
		t.Fatalf("after Delete: %d spill files; want none", m)
	}
	// The 1 MiB that b used is pooled for reuse, but the pool gives way: the whole limit
	// minus the spill threshold is usable again without spilling.
	before := s.Stats().Spilled
	if err := s.Put(ctx, NewObjectID(), randBytes(r, 3<<20)); err != nil {
		t.Fatal(err)
	}
	if s.Stats().Spilled != before {
		t.Error("Put after Delete spilled; the deleted bytes were not released")
	}
	checkAccounting(t, s)
	if err := s.Put(ctx, NewObjectID(), randBytes(r, 1<<20)); err != nil {
		t.Fatal(err)
	}
	checkAccounting(t, s)
}

// TestRecycle: deleted memory is reused for the next object of about its size, but only when
// nobody can still be reading it.
func TestRecycle(t *testing.T) {
	s := newStore(t, 64<<20)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(12, 13))
	poolBlocks := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.pool)
	}
	const size = 1 << 20

	// A Put object that was never mapped is recycled too.
	first := NewObjectID()
	if err := s.Put(ctx, first, randBytes(r, size)); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(first); err != nil {
		t.Fatal(err)
	}
	if poolBlocks() != 1 {
		t.Fatalf("pool has %d blocks after deleting an unread object; want 1", poolBlocks())
	}
	checkAccounting(t, s)
	// A slightly smaller object reuses the block (Create), and reads back what it wrote.
	id := NewObjectID()
	data := randBytes(r, size-100)
	w, err := s.Create(ctx, id, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if poolBlocks() != 0 {
		t.Fatal("Create did not take the pooled block")
	}
	copy(w.Bytes(), data)
	if err := w.Seal(); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, id); !bytes.Equal(got, data) {
		t.Fatal("object in recycled memory reads back wrong")
	}
	s.mu.Lock()
	path := s.objects[id].path
	s.mu.Unlock()
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(len(data)) {
		t.Fatalf("recycled file not shrunk to the object: %v %v", fi, err)
	}
	// The ID's own file name stays free: the object can be recreated after it is lost.
	s.MarkLost(id)
	if err := s.Put(ctx, id, data); err != nil {
		t.Fatalf("Put after MarkLost of a recycled object: %v", err)
	}
	if got := mustGet(t, s, id); !bytes.Equal(got, data) {
		t.Fatal("recreated object reads back wrong")
	}
	checkAccounting(t, s)
	// Much smaller objects do not take a big block.
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, NewObjectID(), randBytes(r, size/2)); err != nil {
		t.Fatal(err)
	}
	if poolBlocks() != 1 {
		t.Fatal("a half-size object took the pooled block")
	}

	// An object with a live view is not recycled: the view keeps its bytes.
	held := NewObjectID()
	heldData := randBytes(r, size)
	if err := s.Put(ctx, held, heldData); err != nil {
		t.Fatal(err)
	}
	o, err := s.Get(ctx, held)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Release()
	if err := s.Delete(held); err != nil {
		t.Fatal(err)
	}
	// An object whose path was handed out is not recycled: another process may map it.
	shared := NewObjectID()
	sharedData := randBytes(r, size)
	if err := s.Put(ctx, shared, sharedData); err != nil {
		t.Fatal(err)
	}
	so, err := s.Get(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	other, err := OpenShared(so.Path(), so.Size())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	so.Release()
	if err := s.Delete(shared); err != nil {
		t.Fatal(err)
	}
	if poolBlocks() != 1 {
		t.Fatalf("pool has %d blocks; objects still readable elsewhere were recycled", poolBlocks())
	}
	// Once the runtime says the other processes are done, a shared object's memory is reused.
	done := NewObjectID()
	if err := s.Put(ctx, done, randBytes(r, 2*size)); err != nil {
		t.Fatal(err)
	}
	do, err := s.Get(ctx, done)
	if err != nil {
		t.Fatal(err)
	}
	_ = do.Path()
	do.Release()
	s.ReleaseShared(done)
	s.ReleaseShared(NewObjectID()) // unknown: ignored
	if err := s.Delete(done); err != nil {
		t.Fatal(err)
	}
	if poolBlocks() != 2 {
		t.Fatalf("pool has %d blocks; want the released shared object's memory too", poolBlocks())
	}
	// Reuse the remaining pooled block and fill everything with new data.
	for range 4 {
		w, err := s.Create(ctx, NewObjectID(), size)
		if err != nil {
			t.Fatal(err)
		}
		for i := range w.Bytes() {
			w.Bytes()[i] = 0xAA
		}
		if err := w.Seal(); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(o.Bytes(), heldData) || !bytes.Equal(other.Bytes(), sharedData) {
		t.Fatal("a reader's bytes changed after its object was deleted and memory reused")
	}
	checkAccounting(t, s)
}

func TestErrors(t *testing.T) {
	s := newStore(t, 1<<20)
	ctx := context.Background()
	id := NewObjectID()
	if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get unknown: %v; want ErrNotFound", err)
	}
	if err := s.Delete(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete unknown: %v; want ErrNotFound", err)
	}
	if err := s.Put(ctx, id, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, id, []byte("y")); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate Put: %v; want ErrExists", err)
	}
	if _, err := s.Create(ctx, id, 1); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate Create: %v; want ErrExists", err)
	}
	if got := mustGet(t, s, id); string(got) != "x" {
		t.Errorf("after a failed duplicate Put the object reads %q; want %q", got, "x")
	}
	big := NewObjectID()
	if err := s.Put(ctx, big, make([]byte, 1<<20+1)); !errors.Is(err, ErrStoreFull) {
		t.Errorf("Put larger than the limit: %v; want ErrStoreFull", err)
	}
	if _, err := s.Create(ctx, big, 2<<20); !errors.Is(err, ErrStoreFull) {
		t.Errorf("Create larger than the limit: %v; want ErrStoreFull", err)
	}
	if s.Contains(big) {
		t.Error("a rejected object is visible")
	}
	if _, err := s.Create(ctx, NewObjectID(), -1); err == nil {
		t.Error("Create with a negative size: want error")
	}
	s.MarkLost(id)
	if _, err := s.Get(ctx, id); !errors.Is(err, ErrObjectLost) {
		t.Errorf("Get lost: %v; want ErrObjectLost", err)
	}
	if s.Contains(id) {
		t.Error("Contains a lost object")
	}
	// Recreating a lost object (lineage reconstruction) brings it back.
	if err := s.Put(ctx, id, []byte("z")); err != nil {
		t.Fatalf("Put after MarkLost: %v", err)
	}
	if got := mustGet(t, s, id); string(got) != "z" {
		t.Errorf("reconstructed object reads %q", got)
	}
	if s.Stats().Used != 1 {
		t.Errorf("Used = %d after MarkLost and re-put of 1 byte", s.Stats().Used)
	}
	if _, err := OpenShared(filepath.Join(s.cfg.Dir, NewObjectID().String()), 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenShared of a missing file: %v; want ErrNotFound", err)
	}
	o, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Release()
	if _, err := OpenShared(o.Path(), 2); err == nil {
		t.Error("OpenShared with a size beyond the file: want error")
	}
}

// TestStoreFullNothingToSpill: objects being created are pinned, so when they fill the store a
// further object fails fast instead of hanging.
func TestStoreFullNothingToSpill(t *testing.T) {
	s := newStore(t, 4<<20)
	ctx := context.Background()
	w, err := s.Create(ctx, NewObjectID(), 3<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := s.Create(ctx, NewObjectID(), 2<<20); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("Create while the store is pinned full: %v; want ErrStoreFull", err)
	}
	// Above the spill threshold but under the hard limit is still admitted.
	w2, err := s.Create(ctx, NewObjectID(), 1<<20)
	if err != nil {
		t.Fatalf("Create up to the hard limit: %v", err)
	}
	w2.Abort()
	w.Abort()
	if st := s.Stats(); st.Used != 0 || st.NumObjects != 0 {
		t.Fatalf("after aborting everything: %+v", st)
	}
	if n := dirEntries(t, s.cfg.Dir); n != 0 {
		t.Fatalf("%d files left after Abort", n)
	}
}

func TestGetWaitsForSeal(t *testing.T) {
	s := newStore(t, 1<<20)
	ctx := context.Background()
	id := NewObjectID()
	w, err := s.Create(ctx, id, 3)
	if err != nil {
		t.Fatal(err)
	}
	// A Get with a cancelled context gives up instead of waiting forever.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Get(cctx, id); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled context: %v", err)
	}
	got := make(chan []byte, 1)
	go func() {
		o, err := s.Get(ctx, id)
		if err != nil {
			t.Errorf("Get: %v", err)
			got <- nil
			return
		}
		got <- bytes.Clone(o.Bytes())
		o.Release()
	}()
	copy(w.Bytes(), "abc")
	if err := w.Seal(); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if string(b) != "abc" {
			t.Fatalf("waiting Get returned %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Get did not return after Seal")
	}
	if err := w.Seal(); err == nil {
		t.Error("second Seal: want error")
	}

	// Deleting an object being created makes Seal fail and wakes waiters with ErrNotFound.
	id2 := NewObjectID()
	w2, err := s.Create(ctx, id2, 10)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := s.Get(ctx, id2)
		errc <- err
	}()
	if err := s.Delete(id2); err != nil {
		t.Fatal(err)
	}
	if err := w2.Seal(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Seal after Delete: %v; want ErrNotFound", err)
	}
	if err := <-errc; !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of an object deleted while created: %v", err)
	}
	if st := s.Stats(); st.Used != 3 {
		t.Fatalf("Used = %d; want only the 3 sealed bytes", st.Used)
	}
}

// TestReadersSurviveSpillAndDelete: a mapping taken before the object is spilled and deleted
// keeps reading the original bytes.
func TestReadersSurviveSpillAndDelete(t *testing.T) {
	s := newStore(t, 4<<20)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 8))
	id := NewObjectID()
	data := randBytes(r, 2<<20)
	if err := s.Put(ctx, id, data); err != nil {
		t.Fatal(err)
	}
	o, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Release()
	if err := s.Put(ctx, NewObjectID(), randBytes(r, 3<<20)); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.NumSpilled != 1 {
		t.Fatalf("the mapped object was not spilled even though nothing else could be: %+v", st)
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(o.Bytes(), data) {
		t.Fatal("mapping changed after spill and delete")
	}
	o.Release()
	o.Release() // idempotent
}

// TestSpillPrefersUnmapped: with a choice, spilling leaves mapped objects in memory.
func TestSpillPrefersUnmapped(t *testing.T) {
	s := newStore(t, 4<<20)
	ctx := context.Background()
	mapped, idle := NewObjectID(), NewObjectID()
	for _, id := range []ObjectID{mapped, idle} {
		if err := s.Put(ctx, id, make([]byte, 1<<20)); err != nil {
			t.Fatal(err)
		}
	}
	o, err := s.Get(ctx, mapped) // also makes it most recently used...
	if err != nil {
		t.Fatal(err)
	}
	defer o.Release()
	mustGet(t, s, idle) // ...so refresh idle to be more recent still (and release it)
	if err := s.Put(ctx, NewObjectID(), make([]byte, 2<<20)); err != nil {
		t.Fatal(err)
	}
	for _, info := range s.List() {
		if info.ID == mapped && info.Spilled {
			t.Error("the mapped object was spilled although an unmapped one was available")
		}
		if info.ID == idle && !info.Spilled {
			t.Error("the unmapped object was not spilled")
		}
	}
}

func TestOpenSharedFromSecondProcess(t *testing.T) {
	s := newStore(t, 16<<20)
	ctx := context.Background()
	data := randBytes(rand.New(rand.NewPCG(9, 10)), 3<<20+17)
	id := NewObjectID()
	w, err := s.Create(ctx, id, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	copy(w.Bytes(), data)
	if err := w.Seal(); err != nil {
		t.Fatal(err)
	}
	o, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Release()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envChildPath+"="+o.Path(), envChildSize+"="+strconv.FormatInt(o.Size(), 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v; stderr: %s", err, stderr.String())
	}
	sum := sha256.Sum256(data)
	if got, want := strings.TrimSpace(string(out)), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("child read sha256 %s; want %s", got, want)
	}
}

// TestConcurrentPutGet hammers one small store from several goroutines so that puts, gets,
// spills, restores and deletes interleave; run it with -race.
func TestConcurrentPutGet(t *testing.T) {
	const limit = 8 << 20
	s := newStore(t, limit)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	workers, perWorker := 6, 40
	if testing.Short() {
		perWorker = 15
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 11))
			type obj struct {
				id   ObjectID
				data []byte
			}
			var mine []obj
			for i := range perWorker {
				data := randBytes(r, 1+r.IntN(512<<10))
				id := NewObjectID()
				if i%2 == 0 {
					if err := s.Put(ctx, id, data); err != nil {
						t.Errorf("Put: %v", err)
						return
					}
				} else {
					wr, err := s.Create(ctx, id, int64(len(data)))
					if err != nil {
						t.Errorf("Create: %v", err)
						return
					}
					copy(wr.Bytes(), data)
					if err := wr.Seal(); err != nil {
						t.Errorf("Seal: %v", err)
						return
					}
				}
				mine = append(mine, obj{id, data})
				// Read back a random earlier object, possibly spilled by another goroutine.
				o := mine[r.IntN(len(mine))]
				got, err := s.Get(ctx, o.id)
				if err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				if !bytes.Equal(got.Bytes(), o.data) {
					t.Errorf("Get returned different bytes")
				}
				got.Release()
				if i%5 == 4 {
					k := r.IntN(len(mine))
					if err := s.Delete(mine[k].id); err != nil {
						t.Errorf("Delete: %v", err)
						return
					}
					mine = append(mine[:k], mine[k+1:]...)
				}
			}
			for _, o := range mine {
				got, err := s.Get(ctx, o.id)
				if err != nil {
					t.Errorf("final Get: %v", err)
					return
				}
				if !bytes.Equal(got.Bytes(), o.data) {
					t.Errorf("final Get returned different bytes")
				}
				got.Release()
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	if st.Used > limit || st.Used < 0 {
		t.Fatalf("Used = %d outside [0, %d]", st.Used, limit)
	}
	checkAccounting(t, s)
	if st.Spilled == 0 {
		t.Errorf("the concurrent workload never spilled: %+v", st)
	}
}

func TestCloseRemovesEverything(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Limit = 2 << 20
	cfg.WarmReserve = DefaultWarmReserve(cfg.Limit)
	cfg.SpillDir = filepath.Join(t.TempDir(), "spill")
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 4 {
		if err := s.Put(ctx, NewObjectID(), make([]byte, 1<<20)); err != nil {
			t.Fatal(err)
		}
	}
	w, err := s.Create(ctx, NewObjectID(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if s.Stats().NumSpilled == 0 {
		t.Fatal("setup: nothing spilled")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, d := range []string{cfg.Dir, cfg.SpillDir} {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s survives Close (stat: %v)", d, err)
		}
	}
	if err := w.Seal(); !errors.Is(err, ErrClosed) {
		t.Errorf("Seal after Close: %v; want ErrClosed", err)
	}
	if err := s.Put(ctx, NewObjectID(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: %v; want ErrClosed", err)
	}
	if _, err := s.Get(ctx, NewObjectID()); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v; want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if st := s.Stats(); st.Used != 0 {
		t.Errorf("Used = %d after Close and the last writer finished", st.Used)
	}
}

// TestCloseKeepsForeignDirs: a directory the store did not create survives Close, but the
// object files the store made in it do not.
func TestCloseKeepsForeignDirs(t *testing.T) {
	dir, spill := t.TempDir(), t.TempDir()
	keep := filepath.Join(dir, "not-an-object")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Dir: dir, SpillDir: spill, Limit: 1 << 20, SpillThreshold: 0.8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), NewObjectID(), []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("Close removed a file it did not make: %v", err)
	}
	if n := dirEntries(t, dir); n != 1 {
		t.Fatalf("%d entries left in dir; want only the foreign file", n)
	}
}
