package remote_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/goray/goray/internal/testutil"
	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/agent/resolve"
	"github.com/goray/goray/runtime/codec"
)

// gigObjectShm is what TestGigabyteObjectBetweenDaemons needs in /dev/shm:
// the object in each daemon's store, plus slack.
const gigObjectShm = 2<<30 + 256<<20

// TestGigabyteObjectBetweenDaemons: a 1 GiB object put on one gorayd is got
// through the other, which pulls it over the bulk lane in 5 MiB chunks, and
// arrives byte-identical (compared by SHA-256, hashed from the mapping the
// getter receives, so the test process never holds more than one copy).
func TestGigabyteObjectBetweenDaemons(t *testing.T) {
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil {
		t.Skipf("no /dev/shm (%v): the 1 GiB transfer needs %d MiB of shared memory", err, gigObjectShm>>20)
	}
	if free := int64(st.Bavail) * int64(st.Bsize); free < gigObjectShm {
		t.Skipf("/dev/shm has %d MiB free; the 1 GiB transfer needs %d MiB (one copy in each daemon's store)", free>>20, gigObjectShm>>20)
	}
	// Room for the object in each store, so that neither spills it.
	c := testutil.NewCluster(t, 2, testutil.WithArgs(func(int) []string { return []string{"-object_store.memory", "1280MiB"} }))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dial := func(i int) *grt.Client {
		addr, err := resolve.Driver(ctx, c.HTTP(i), "")
		if err != nil {
			t.Fatal(err)
		}
		cl, err := grt.Dial(ctx, addr, testutil.Logger(t, "driver"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cl.Close() })
		return cl
	}
	putter, getter := dial(0), dial(1)
	if putter.NodeID() == getter.NodeID() {
		t.Fatalf("both drivers reached node %s", putter.NodeID())
	}

	const size = 1 << 30
	want, id := func() ([32]byte, grt.ObjectID) {
		// A deterministic pattern that is cheap to make even under the
		// race detector: one MiB of xorshift64 words, repeated, each
		// repetition stamped with its index so that a misplaced chunk
		// changes the hash.
		payload := make([]byte, size)
		const block = 1 << 20
		x := uint64(0x9E3779B97F4A7C15)
		for i := 0; i < block; i += 8 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			binary.LittleEndian.PutUint64(payload[i:], x)
		}
		for off := block; off < size; off += block {
			copy(payload[off:off+block], payload[:block])
			binary.LittleEndian.PutUint64(payload[off:], uint64(off/block))
		}
		want := sha256.Sum256(payload)
		enc, err := codec.Encode(payload)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		id, err := putter.Put(ctx, enc)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("put 1 GiB on node 0: %v", time.Since(start))
		return want, id
	}()
	runtime.GC() // the payload is garbage now: keep one copy at most in this process

	start := time.Now()
	vs, err := getter.Get(ctx, []grt.ObjectID{id})
	if err != nil {
		t.Fatal(err)
	}
	defer vs[0].Release()
	took := time.Since(start)
	if vs[0].Err != nil {
		t.Fatalf("get through node 1: %v", vs[0].Err)
	}
	data := vs[0].Data
	if len(data) < size {
		t.Fatalf("got %d bytes, want the 1 GiB value", len(data))
	}
	t.Logf("got 1 GiB through node 1 (pulled from node 0): %v, %.2f GB/s", took, float64(size)/took.Seconds()/1e9)
	if got := sha256.Sum256(data[len(data)-size:]); got != want {
		t.Fatalf("1 GiB object differs after the transfer: sha256 %x, want %x", got, want)
	}
}
