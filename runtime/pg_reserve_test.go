package runtime

import (
	"context"
	"testing"
	"time"
)

// A reservation whose reply the owner never got (it timed out, so the
// owner counted it as refused and tries again) is replaced by the retry
// instead of leaking its resources and refusing the retry; another
// owner's group of the same ID is still refused.
func TestReservePGRetryReplacesAStaleReservation(t *testing.T) {
	n, c := startNode(t, NodeConfig{NumCPUs: 4, PrestartWorkers: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	free := func() float64 {
		_, avail, err := c.NodeResources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return avail["CPU"]
	}
	if err := n.ReservePG("owner", "g", []map[string]float64{{"CPU": 1}}); err != nil {
		t.Fatal(err)
	}
	if err := n.ReservePG("owner", "g", []map[string]float64{{"CPU": 2}}); err != nil {
		t.Fatalf("the owner's retry was refused: %v", err)
	}
	if got := free(); got != 2 {
		t.Fatalf("%v CPUs free after a retried reservation of 2, want 2 (the stale one leaked)", got)
	}
	if err := n.ReservePG("someone-else", "g", []map[string]float64{{"CPU": 1}}); err == nil {
		t.Fatal("another owner reserved a group ID this node already holds")
	}
	n.ReleasePG("g")
	if got := free(); got != 4 {
		t.Fatalf("%v CPUs free after the release, want 4", got)
	}
}
