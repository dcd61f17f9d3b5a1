package task

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Clock is the only source of time the package uses, so that waiting-time
// logic is driven by the caller and tested with a FakeClock.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock, for production callers.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// FakeClock is a manually advanced Clock for tests. It is safe for
// concurrent use so it can also drive runtime tests.
type FakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewFakeClock returns a FakeClock reading start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{now: start} }

// Now returns the clock's current reading.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (or backward for negative d).
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Rand is the only source of randomness the scheduling policy uses, so that
// its choices are reproducible in tests. Intn returns a value in [0, n).
type Rand interface {
	Intn(n int) int
}

// NewRand returns a deterministic PCG-backed Rand seeded with seed. It is not
// safe for concurrent use, like the Policy that holds it.
func NewRand(seed int64) Rand {
	return pcgRand{rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))}
}

type pcgRand struct{ r *rand.Rand }

// Intn adapts math/rand/v2 (IntN) to the Rand interface.
func (p pcgRand) Intn(n int) int { return p.r.IntN(n) }
