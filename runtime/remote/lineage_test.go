package remote_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/testutil"
	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/remote"
)

// SIGKILL the node that holds objects mid-job. 8 MiB results of tasks
// that ran there (soft NodeAffinity) stayed in its store; the driver on
// node 0 (their owner) then gets them byte-identical because node 0 runs
// their tasks again elsewhere (lineage reconstruction), for a chain of two
// recursively (the first one's value was freed; only the second's lineage
// knew how to make it). A task without retries leaves ErrObjectLost, and
// a ref to an object put by an actor on the dead node fails with
// ErrOwnerDied.
func TestLostObjectsAreRebuiltFromLineage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gorayd processes")
	}
	// CPUs to spare, so that a stale resource broadcast never makes the
	// victim look full to the soft affinity (which would run a task
	// elsewhere); no prestarted workers, since the driver's program runs
	// every task.
	c := testutil.NewCluster(t, 3, testutil.WithArgs(func(int) []string {
		return []string{"-resources.cpu", "4", "-worker.prestart", "-1"}
	}))
	driver := testutil.BuildBinary(t, "github.com/goray/goray/runtime/remote/testdata/lineage")
	victim := c.NodeID(2)
	testutil.WaitFor(t, 15*time.Second, func() bool { return c.CountState(0, "alive") == 3 }, "every node alive on node 0")
	runs := filepath.Join(t.TempDir(), "runs.log")

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	d := testutil.StartDriver(ctx, t, driver, c.HTTP(0), victim, runs)
	got := map[string]string{}
	var before string
	sc := d.Stdout
	for sc.Scan() {
		line := sc.Text()
		t.Log("driver: " + line)
		if line == "ready" {
			b, _ := os.ReadFile(runs)
			before = string(b)
			c.Kill(2)
			// Node 0 must know the node is dead (not merely unreachable)
			// before the driver looks, so that the owner-died case is told
			// from a lost object.
			testutil.WaitFor(t, 30*time.Second, func() bool {
				s := c.StateOf(0, victim)
				return s != "alive" && s != "suspect"
			}, "node 0 declares the killed node dead")
			_ = d.Send("go")
			continue
		}
		if k, v, ok := strings.Cut(line, " "); ok {
			got[k] = v
		}
	}
	if err := d.Wait(); err != nil {
		t.Fatalf("driver: %v\n%s", err, d.Stderr())
	}
	b, err := os.ReadFile(runs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("runs before the kill:\n%sruns after:\n%s", before, strings.TrimPrefix(string(b), before))
	ranOn := map[string][]string{} // "blob 1" → nodes, in order
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 {
			ranOn[f[0]+" "+f[1]] = append(ranOn[f[0]+" "+f[1]], f[2])
		}
	}
	for _, task := range []string{"blob 1", "blob 2", "mix 2"} {
		nodes := ranOn[task]
		if len(nodes) != 2 || nodes[0] != victim || nodes[1] == victim {
			t.Errorf("%s ran on %v; want once on the victim %s, then once elsewhere to rebuild it", task, nodes, victim)
		}
	}
	if nodes := ranOn["blob 3"]; len(nodes) != 1 {
		t.Errorf("the task without retries ran on %v; want once", nodes)
	}
	if got["keeper_node"] != victim {
		t.Errorf("the keeper actor lives on %q, want the victim %s", got["keeper_node"], victim)
	}
	if got["rebuilt_one"] != "identical" {
		t.Errorf("rebuilt object: %q, want identical bytes", got["rebuilt_one"])
	}
	if got["rebuilt_chain"] != "identical" {
		t.Errorf("rebuilt chain: %q, want identical bytes", got["rebuilt_chain"])
	}
	if !strings.HasPrefix(got["lost"], "true ") {
		t.Errorf("object lost without retries: %q, want errors.Is(err, ErrObjectLost)", got["lost"])
	}
	if !strings.HasPrefix(got["owner_died"], "true ") {
		t.Errorf("object whose owner died: %q, want errors.Is(err, ErrOwnerDied)", got["owner_died"])
	}
}

// Over a real transport: a 1 MiB result of a task that ran on B stays in
// B's store (a Wait does not move it), a Get pulls it from B, and
// releasing the driver's ref makes B drop its copy.
func TestLargeResultsStayWhereTheyWereMade(t *testing.T) {
	p := newPair(t)
	defer p.close()
	ctx := p.ctx
	ref := blob.Options(goray.Strategy(goray.NodeAffinity(p.idB, false))).Remote(ctx, 1<<20)
	if _, notReady, err := goray.Wait(ctx, []goray.ObjectRef[[]byte]{ref}, 0, -1); err != nil || len(notReady) > 0 {
		t.Fatalf("wait: %v, %d not ready", err, len(notReady))
	}
	id := grt.ObjectID(ref.ID())
	if p.a.Store().Contains(id) || !p.b.Store().Contains(id) {
		t.Fatalf("after Wait: in A's store %v, in B's %v; want only B's", p.a.Store().Contains(id), p.b.Store().Contains(id))
	}
	b, err := ref.Get(ctx)
	if err != nil || !bytes.Equal(b, bytes.Repeat([]byte{7}, 1<<20)) {
		t.Fatalf("get: %d bytes, %v", len(b), err)
	}
	if !p.a.Store().Contains(id) {
		t.Fatal("Get did not pull the object into A's store")
	}
	if got := p.ea.Transfers(); got.Received != 1 {
		t.Errorf("A received %d objects, want the one pulled", got.Received)
	}
	ref.Release()
	testutil.WaitFor(t, 20*time.Second, func() bool { return !p.b.Store().Contains(id) && !p.a.Store().Contains(id) },
		"both copies freed after the driver released its ref")
}

// DeadOwner tells a ref whose owner node is dead (or left) from one whose
// owner lives, by the owner's prefix at the start of the object ID.
func TestDeadOwnerByIDPrefix(t *testing.T) {
	member := func(id string, st cluster.MemberStatus) cluster.Member {
		return cluster.Member{NodeMeta: cluster.NodeMeta{ID: id}, Status: st}
	}
	mem := &staticMembers{self: "self", nodes: []cluster.Member{
		member("self", cluster.StatusAlive), member("alive", cluster.StatusAlive), member("suspect", cluster.StatusSuspect),
		member("dead", cluster.StatusDead), member("left", cluster.StatusLeft),
	}}
	e := remote.New(nil, nil, mem, nil)
	objectOf := func(node string) grt.ObjectID {
		p := grt.NodePrefix(node)
		var id grt.ObjectID
		copy(id[:], p[:])
		id[19] = 1
		return id
	}
	for _, tc := range []struct {
		node string
		dead bool
	}{{"self", false}, {"alive", false}, {"suspect", false}, {"dead", true}, {"left", true}, {"never-seen", false}} {
		node, dead := e.DeadOwner(objectOf(tc.node))
		if dead != tc.dead || (dead && node != tc.node) {
			t.Errorf("DeadOwner(object of %s) = %q, %v; want dead=%v", tc.node, node, dead, tc.dead)
		}
	}
}

// BenchmarkLargeResultOnPeer: a task on B returns 8 MiB. "wait" is the
// round trip when the result stays on B (only its location comes back);
// "get" adds pulling it to A.
func BenchmarkLargeResultOnPeer(b *testing.B) {
	p := newPair(b)
	defer p.close()
	onB := blob.Options(goray.Strategy(goray.NodeAffinity(p.idB, false)))
	for _, get := range []bool{false, true} {
		name := "wait"
		if get {
			name = "get"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(8 << 20)
			for b.Loop() {
				ref := onB.Remote(p.ctx, 8<<20)
				var err error
				if get {
					_, err = ref.Get(p.ctx)
				} else {
					_, _, err = goray.Wait(p.ctx, []goray.ObjectRef[[]byte]{ref}, 0, -1)
				}
				if err != nil {
					b.Fatal(err)
				}
				ref.Release()
			}
		})
	}
}
