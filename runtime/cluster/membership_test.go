package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goray/goray/internal/testutil"
	"github.com/goray/goray/runtime/cluster"
	"github.com/hashicorp/go-hclog"
)

// startMember starts an in-process member on 127.0.0.1 with a free port and
// the fast preset, shut down at test end.
func startMember(t *testing.T, name string, key []byte) *cluster.Membership {
	t.Helper()
	m, err := cluster.NewMembership(cluster.Config{
		Meta:       cluster.NodeMeta{Name: name, Version: "test", Resources: map[string]float64{"CPU": 4}},
		BindAddr:   "127.0.0.1",
		Preset:     cluster.PresetFast,
		EncryptKey: key,
	}, cluster.Hooks{}, testutil.Logger(t, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

func liveCount(m *cluster.Membership) int { return len(m.LiveIDs()) }

func TestMembershipConvergesAndSpreadsState(t *testing.T) {
	a := startMember(t, "a", nil)
	b := startMember(t, "b", nil)
	c := startMember(t, "c", nil)
	events, cancel := a.Subscribe()
	defer cancel()
	// A subscriber that never reads must not hold up gossip or other
	// subscribers: every subscriber has its own queue.
	_, cancelStuck := a.Subscribe()
	defer cancelStuck()
	ctx := t.Context()
	for _, m := range []*cluster.Membership{b, c} {
		if _, err := m.Join(ctx, []string{a.GossipAddr()}); err != nil {
			t.Fatal(err)
		}
	}
	took := testutil.WaitFor(t, 5*time.Second, func() bool {
		return liveCount(a) == 3 && liveCount(b) == 3 && liveCount(c) == 3
	}, "3 members everywhere")
	t.Logf("converged in %v", took)

	// Owner agrees everywhere once views agree.
	for _, key := range []string{"actor/x", "pg/1", "job/7"} {
		if oa, ob, oc := a.Owner(key), b.Owner(key), c.Owner(key); oa != ob || ob != oc || oa == "" {
			t.Fatalf("owner of %s differs: %s %s %s", key, oa, ob, oc)
		}
	}

	// A state change on b reaches a and c within ~1 s.
	avail := map[string]float64{"CPU": 1.5}
	if err := b.SetLocalState(avail, cluster.Load{RunningTasks: 3, ObjectStoreUsed: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	seen := func(m *cluster.Membership) bool {
		for _, mem := range m.Members() {
			if mem.ID == b.LocalID() {
				return maps.Equal(mem.State.Available, avail) && mem.State.Load.RunningTasks == 3
			}
		}
		return false
	}
	took = testutil.WaitFor(t, 2*time.Second, func() bool { return seen(a) && seen(c) }, "b's state on a and c")
	if took > time.Second {
		t.Errorf("state broadcast took %v, want <= 1s", took)
	}
	t.Logf("state broadcast seen everywhere in %v", took)

	// The subscriber saw joins and the state change, in order of arrival.
	got := map[cluster.EventType]bool{}
	deadline := time.After(2 * time.Second)
	for !got[cluster.EventJoin] || !got[cluster.EventState] {
		select {
		case ev := <-events:
			got[ev.Type] = true
		case <-deadline:
			t.Fatalf("events seen: %v; want join and state", got)
		}
	}
}

func TestMembershipLeaveVersusFailure(t *testing.T) {
	a := startMember(t, "a", nil)
	b := startMember(t, "b", nil)
	c := startMember(t, "c", nil)
	ctx := t.Context()
	for _, m := range []*cluster.Membership{b, c} {
		if _, err := m.Join(ctx, []string{a.GossipAddr()}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitFor(t, 5*time.Second, func() bool { return liveCount(a) == 3 }, "3 members")
	events, cancel := a.Subscribe()
	defer cancel()

	if err := b.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	_ = b.Shutdown()
	ev := nextEvent(t, events, b.LocalID(), 2*time.Second)
	if ev.Type != cluster.EventLeave || ev.Member.Status != cluster.StatusLeft {
		t.Fatalf("after Leave: event %v status %s, want leave/left", ev.Type, ev.Member.Status)
	}

	_ = c.Shutdown() // no Leave: looks like a crash
	ev = nextEvent(t, events, c.LocalID(), 5*time.Second)
	if ev.Type != cluster.EventFailed || ev.Member.Status != cluster.StatusDead {
		t.Fatalf("after crash: event %v status %s, want failed/dead", ev.Type, ev.Member.Status)
	}
	// Dead and left members are still listed, after the live ones.
	ms := a.Members()
	if len(ms) != 3 || ms[0].Status != cluster.StatusAlive {
		t.Fatalf("members after leave+crash: %+v", ms)
	}
	statuses := map[cluster.MemberStatus]int{}
	for _, m := range ms {
		statuses[m.Status]++
	}
	if statuses[cluster.StatusLeft] != 1 || statuses[cluster.StatusDead] != 1 {
		t.Fatalf("statuses %v, want one left and one dead", statuses)
	}
}

func nextEvent(t *testing.T, ch <-chan cluster.Event, id string, timeout time.Duration) cluster.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-ch:
			if ev.Member.ID == id && ev.Type != cluster.EventState && ev.Type != cluster.EventUpdate {
				return ev
			}
		case <-deadline:
			t.Fatalf("no event for %s within %v", id[:8], timeout)
		}
	}
}

func TestMembershipEncryptionKeyRequired(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	a := startMember(t, "a", key)
	plain := startMember(t, "plain", nil)
	other := startMember(t, "other", bytes.Repeat([]byte{9}, 32))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for _, m := range []*cluster.Membership{plain, other} {
		_, err := m.Join(ctx, []string{a.GossipAddr()})
		if !errors.Is(err, cluster.ErrJoin) {
			t.Errorf("join without the right key: err = %v, want ErrJoin", err)
		}
	}
	good := startMember(t, "good", key)
	if _, err := good.Join(ctx, []string{a.GossipAddr()}); err != nil {
		t.Fatalf("join with the key: %v", err)
	}
	testutil.WaitFor(t, 5*time.Second, func() bool { return liveCount(a) == 2 && liveCount(good) == 2 }, "keyed pair")
	if n := liveCount(plain) + liveCount(other); n != 2 {
		t.Fatalf("keyless nodes see %d members in total, want only themselves", n)
	}
	for _, m := range a.Members() {
		if m.Name == "plain" || m.Name == "other" {
			t.Fatalf("keyed node lists %s", m.Name)
		}
	}
}

func TestMembershipConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  cluster.Config
		want string
	}{
		{"bad key length", cluster.Config{EncryptKey: []byte("short")}, "5 bytes"},
		{"bad preset", cluster.Config{Preset: "warp"}, `"warp"`},
		{"bad port", cluster.Config{BindPort: 70000}, "70000"},
	}
	for _, tc := range tests {
		_, err := cluster.NewMembership(tc.cfg, cluster.Hooks{}, nil)
		if !errors.Is(err, cluster.ErrBadConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrBadConfig mentioning %s", tc.name, err, tc.want)
		}
	}
}

func TestJoinRetryStopsAtContextEnd(t *testing.T) {
	m := startMember(t, "lonely", nil)
	ctx, cancel := context.WithTimeout(t.Context(), 400*time.Millisecond)
	defer cancel()
	// Port 1 on loopback refuses at once, so each attempt fails fast.
	_, err := m.JoinRetry(ctx, []string{"127.0.0.1:1"})
	if !errors.Is(err, cluster.ErrJoin) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("JoinRetry = %v, want ErrJoin and DeadlineExceeded", err)
	}
}

func TestJoinRetrySucceedsWhenSeedAppears(t *testing.T) {
	a := startMember(t, "a", nil)
	b := startMember(t, "b", nil)
	var wg sync.WaitGroup
	wg.Add(1)
	var n int
	var err error
	go func() {
		defer wg.Done()
		n, err = b.JoinRetry(t.Context(), []string{"127.0.0.1:1", a.GossipAddr()})
	}()
	wg.Wait()
	if err != nil || n != 1 {
		t.Fatalf("JoinRetry = %d, %v", n, err)
	}
}

func TestHCLoggerInfersLevels(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := cluster.HCLogger(l).Named("memberlist").StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true})
	for _, line := range []string{"[DEBUG] memberlist: d\n", "[WARN] memberlist: w\n", "[ERR] memberlist: e\n", "plain\n"} {
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	out := buf.String()
	for _, want := range []string{"level=DEBUG msg=\"memberlist: d\"", "level=WARN msg=\"memberlist: w\"", "level=ERROR msg=\"memberlist: e\"", "level=INFO msg=plain", "logger=memberlist"} {
		if !strings.Contains(out, want) {
			t.Errorf("log output lacks %q:\n%s", want, out)
		}
	}
}

func TestSetLocalResourcesUpdatesPeers(t *testing.T) {
	a := startMember(t, "a", nil)
	b := startMember(t, "b", nil)
	if _, err := b.Join(t.Context(), []string{a.GossipAddr()}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() bool { return liveCount(a) == 2 }, "pair")
	events, cancel := a.Subscribe()
	defer cancel()
	total := map[string]float64{"CPU": 8, "GPU": 2}
	if err := b.SetLocalResources(t.Context(), total); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(3 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Type == cluster.EventUpdate && ev.Member.ID == b.LocalID() {
				if !maps.Equal(ev.Member.Resources, total) {
					t.Fatalf("update carries %v, want %v", ev.Member.Resources, total)
				}
				return
			}
		case <-deadline:
			t.Fatal("no update event for the new totals")
		}
	}
}
