package remote_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/testutil"
	grt "github.com/goray/goray/runtime"
)

// warnLog keeps the warning records a driver's runtime logs.
type warnLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *warnLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (l *warnLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *warnLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *warnLog) WithGroup(string) slog.Handler      { return l }

// matching returns the records that contain s.
func (l *warnLog) matching(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, m := range l.msgs {
		if strings.Contains(m, s) {
			out = append(out, m)
		}
	}
	return out
}

// TestPendingWarningReachesTheOwnersDriver: tasks with hard NodeAffinity
// to B, more than B's CPUs, wait in B's queue; B times the wait and sends
// the warning back to A, whose driver submitted them and gets it once for
// the shape, though several tasks of that shape wait.
func TestPendingWarningReachesTheOwnersDriver(t *testing.T) {
	logs := &warnLog{}
	p := newPairSeeing(t, 2, 2*time.Minute, func(a *goray.Config, b *grt.NodeConfig) {
		a.Logger = slog.New(logs)
		// A's own check must not warn first: only B sees these tasks wait.
		a.PendingWarning = time.Minute
		b.PendingWarning = 200 * time.Millisecond
	})
	ctx := p.ctx
	onB := goray.Strategy(goray.NodeAffinity(p.idB, false))
	// Warm B up (it fetches the program from A) so that the busy tasks
	// below start at once and only those behind them wait.
	if got, err := nodeOf.Options(onB).Remote(ctx).Get(ctx); err != nil || got != p.idB {
		t.Fatalf("warm-up on B: %q, %v", got, err)
	}
	var refs []goray.ObjectRef[string]
	for range 2 { // B's two CPUs
		refs = append(refs, napWhere.Options(onB).Remote(ctx, 3000))
	}
	for range 3 { // waiting for them
		refs = append(refs, napWhere.Options(onB).Remote(ctx, 1))
	}
	relayed := "cannot be scheduled right now on node " + p.idB
	testutil.WaitFor(t, 20*time.Second, func() bool { return len(logs.matching(relayed)) > 0 }, "B's warning on A's driver")
	nodes, err := goray.Get(ctx, refs...)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		if n != p.idB {
			t.Fatalf("task %d ran on %s, want B %s", i, n, p.idB)
		}
	}
	got := logs.matching("cannot be scheduled right now")
	if len(got) != 1 || !strings.Contains(got[0], "CPU") {
		t.Fatalf("warnings on A's driver: %q; want exactly one, from B, naming the CPU shape", got)
	}
}
