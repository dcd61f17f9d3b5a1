package state

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// HostStats is a host's own CPU and memory use, for NodeState.
type HostStats struct {
	CPUPercent  float64
	MemoryUsed  int64
	MemoryTotal int64
}

// ErrNoHostStats is returned where the host's statistics cannot be read
// (no /proc: not Linux, or a restricted container).
var ErrNoHostStats = errors.New("host statistics unavailable")

// HostSampler reads the host's CPU and memory use from /proc. CPU use is
// measured between consecutive samples (the first one covers the time
// since boot), so a node samples it on a ticker and publishes the result.
type HostSampler struct {
	proc string

	mu                  sync.Mutex
	prevIdle, prevTotal uint64
}

// NewHostSampler reads /proc.
func NewHostSampler() *HostSampler { return &HostSampler{proc: "/proc"} }

// Sample returns the CPU use since the previous sample and the memory in
// use now.
func (h *HostSampler) Sample() (HostStats, error) {
	stat, err := os.ReadFile(filepath.Join(h.proc, "stat"))
	if err != nil {
		return HostStats{}, fmt.Errorf("%w: %w", ErrNoHostStats, err)
	}
	idle, total, err := parseProcStat(stat)
	if err != nil {
		return HostStats{}, err
	}
	mem, err := os.ReadFile(filepath.Join(h.proc, "meminfo"))
	if err != nil {
		return HostStats{}, fmt.Errorf("%w: %w", ErrNoHostStats, err)
	}
	used, memTotal, err := parseMeminfo(mem)
	if err != nil {
		return HostStats{}, err
	}
	h.mu.Lock()
	dIdle, dTotal := idle-h.prevIdle, total-h.prevTotal
	if idle < h.prevIdle || total < h.prevTotal {
		dIdle, dTotal = idle, total // counters reset: use since boot
	}
	h.prevIdle, h.prevTotal = idle, total
	h.mu.Unlock()
	var pct float64
	if dTotal > 0 {
		pct = 100 * float64(dTotal-min(dIdle, dTotal)) / float64(dTotal)
	}
	return HostStats{CPUPercent: pct, MemoryUsed: used, MemoryTotal: memTotal}, nil
}

// parseProcStat sums the aggregate "cpu" line of /proc/stat: idle time
// (idle + iowait) and total time, in ticks.
func parseProcStat(data []byte) (idle, total uint64, err error) {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("%w: /proc/stat: first line %q is not the cpu totals", ErrNoHostStats, line)
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%w: /proc/stat: cpu field %d: %q", ErrNoHostStats, i+1, s)
		}
		// guest and guest_nice (fields 9 and 10) are already counted in
		// user and nice.
		if i >= 8 {
			continue
		}
		total += v
		if i == 3 || i == 4 {
			idle += v
		}
	}
	return idle, total, nil
}

// parseMeminfo returns memory in use (MemTotal - MemAvailable) and
// MemTotal, in bytes.
func parseMeminfo(data []byte) (used, total int64, err error) {
	var avail int64 = -1
	total = -1
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "MemTotal" && k != "MemAvailable") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, 0, fmt.Errorf("%w: /proc/meminfo: %s has no value", ErrNoHostStats, k)
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%w: /proc/meminfo: %s: %q", ErrNoHostStats, k, f[0])
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		if k == "MemTotal" {
			total = v
		} else {
			avail = v
		}
	}
	if total < 0 || avail < 0 {
		return 0, 0, fmt.Errorf("%w: /proc/meminfo lacks MemTotal or MemAvailable", ErrNoHostStats)
	}
	return max(0, total-avail), total, nil
}
