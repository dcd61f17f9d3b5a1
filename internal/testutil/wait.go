package testutil

import (
	"testing"
	"time"
)

// pollInterval is how often WaitFor re-checks its condition: short enough that
// timing measurements made with it are accurate to ~5 ms, long enough not to
// burn a core on the 2-core CI machine.
const pollInterval = 5 * time.Millisecond

// WaitFor polls cond until it returns true or timeout passes; on timeout it
// fails the test with msg. It returns how long the condition took, so tests
// can assert and report latencies with one call.
func WaitFor(t testing.TB, timeout time.Duration, cond func() bool, msg string) time.Duration {
	t.Helper()
	ok, took := Eventually(timeout, cond)
	if !ok {
		t.Fatalf("timed out after %v waiting for: %s", timeout, msg)
	}
	return took
}

// Eventually is WaitFor without failing: it reports whether cond became true
// within timeout and how long it took.
func Eventually(timeout time.Duration, cond func() bool) (bool, time.Duration) {
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		if cond() {
			return true, time.Since(start)
		}
		if time.Now().After(deadline) {
			return false, time.Since(start)
		}
		time.Sleep(pollInterval)
	}
}
