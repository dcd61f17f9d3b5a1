package agent

import (
	"fmt"
	"time"
)

// Duration is a time span written as Go parses it ("10s", "1m30s", "250ms").
// It is a TOML text value and a flag value.
type Duration time.Duration

// UnmarshalText parses a duration.
func (d *Duration) UnmarshalText(text []byte) error { return d.Set(string(text)) }

// MarshalText writes the duration in Go's form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String formats the duration ("10s").
func (d Duration) String() string { return time.Duration(d).String() }

// Set parses a flag value.
func (d *Duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (e.g. \"10s\", \"500ms\")", s)
	}
	*d = Duration(v)
	return nil
}

// SchedulerConfig configures how the node treats work that waits and
// what happens to it when the node leaves.
type SchedulerConfig struct {
	// PendingWarning is how long a task or actor may wait for resources
	// before the driver that submitted it is warned, once per resource
	// shape (default 10s; a negative value turns the warning off).
	PendingWarning Duration `toml:"pending_warning"`
	// DrainTimeout is how long a daemon that received SIGTERM lets the
	// tasks its peers forwarded to it run to the end before it hands them
	// back to their owners and leaves (default 30s).
	DrainTimeout Duration `toml:"drain_timeout"`
}

// Default scheduler settings.
const (
	DefaultPendingWarning = 10 * time.Second
	DefaultDrainTimeout   = 30 * time.Second
)

func (c *SchedulerConfig) finalize() {
	if c.PendingWarning == 0 {
		c.PendingWarning = Duration(DefaultPendingWarning)
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = Duration(DefaultDrainTimeout)
	}
}

func (c *SchedulerConfig) validate(bad func(key, format string, args ...any)) {
	if c.DrainTimeout < 0 {
		bad("scheduler.drain_timeout", "%s: must not be negative", c.DrainTimeout)
	}
}
