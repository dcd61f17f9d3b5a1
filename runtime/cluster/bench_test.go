package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/goray/goray/runtime/cluster"
)

// benchMember starts a memberlist-only member on 127.0.0.1 with a free port.
func benchMember(b *testing.B, name, preset string) *cluster.Membership {
	b.Helper()
	m, err := cluster.NewMembership(cluster.Config{
		Meta:     cluster.NodeMeta{Name: name, Version: "bench", Resources: map[string]float64{"CPU": 1}},
		BindAddr: "127.0.0.1",
		Preset:   preset,
	}, cluster.Hooks{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	return m
}

// waitAll polls until every member sees n alive members; it returns false on
// timeout.
func waitAll(ms []*cluster.Membership, n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ok := true
		for _, m := range ms {
			if len(m.LiveIDs()) != n {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

// BenchmarkGossipConvergence measures the time from the first Join until all
// n in-process members list n alive members, per preset. All members join
// the seed at once, as daemons started together would; ms/joins-done is when
// the last Join call returned.
//
//	go test -run '^$' -bench GossipConvergence -benchtime 5x ./runtime/cluster/
func BenchmarkGossipConvergence(b *testing.B) {
	for _, preset := range []string{cluster.PresetLAN, cluster.PresetFast} {
		for _, n := range []int{3, 50} {
			b.Run(fmt.Sprintf("%s/n=%d", preset, n), func(b *testing.B) {
				var total, joined time.Duration
				for b.Loop() {
					b.StopTimer()
					ms := make([]*cluster.Membership, n)
					for i := range ms {
						ms[i] = benchMember(b, fmt.Sprintf("m%d", i), preset)
					}
					seed := []string{ms[0].GossipAddr()}
					b.StartTimer()
					start := time.Now()
					errs := make(chan error, n)
					for _, m := range ms[1:] {
						go func() { _, err := m.Join(b.Context(), seed); errs <- err }()
					}
					for range ms[1:] {
						if err := <-errs; err != nil {
							b.Fatal(err)
						}
					}
					joined += time.Since(start)
					if !waitAll(ms, n, 60*time.Second) {
						b.Fatalf("%d members did not converge", n)
					}
					total += time.Since(start)
					b.StopTimer()
					for _, m := range ms {
						_ = m.Shutdown()
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/converge")
				b.ReportMetric(float64(joined.Milliseconds())/float64(b.N), "ms/joins-done")
			})
		}
	}
}

// BenchmarkFailureDetection measures, for 3 members, the time from a crash
// (Shutdown without Leave) until both survivors report EventFailed.
//
//	go test -run '^$' -bench FailureDetection -benchtime 3x ./runtime/cluster/
func BenchmarkFailureDetection(b *testing.B) {
	for _, preset := range []string{cluster.PresetLAN, cluster.PresetLocal, cluster.PresetFast} {
		b.Run(preset, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				ms := []*cluster.Membership{benchMember(b, "a", preset), benchMember(b, "b", preset), benchMember(b, "c", preset)}
				for _, m := range ms[1:] {
					if _, err := m.Join(b.Context(), []string{ms[0].GossipAddr()}); err != nil {
						b.Fatal(err)
					}
				}
				if !waitAll(ms, 3, 30*time.Second) {
					b.Fatal("no convergence")
				}
				evA, cancelA := ms[0].Subscribe()
				evB, cancelB := ms[1].Subscribe()
				victim := ms[2].LocalID()
				b.StartTimer()
				start := time.Now()
				_ = ms[2].Shutdown()
				for _, ch := range []<-chan cluster.Event{evA, evB} {
					timeout := time.After(60 * time.Second)
				wait:
					for {
						select {
						case ev := <-ch:
							if ev.Member.ID == victim && ev.Type == cluster.EventFailed {
								break wait
							}
						case <-timeout:
							b.Fatal("failure not detected")
						}
					}
				}
				total += time.Since(start)
				b.StopTimer()
				cancelA()
				cancelB()
				_ = ms[0].Shutdown()
				_ = ms[1].Shutdown()
				b.StartTimer()
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/detect")
		})
	}
}
