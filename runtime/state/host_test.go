package state

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		in          string
		idle, total uint64
		bad         bool
	}{
		{"cpu  100 5 50 800 20 3 2 0 7 1\ncpu0 1 2 3 4\n", 820, 980, false},
		{"cpu 1 2 3 4\n", 4, 10, false},
		{"cpu0 1 2 3 4 5\n", 0, 0, true},
		{"cpu 1 2 x 4 5\n", 0, 0, true},
		{"", 0, 0, true},
	}
	for _, tc := range tests {
		idle, total, err := parseProcStat([]byte(tc.in))
		if tc.bad {
			if !errors.Is(err, ErrNoHostStats) {
				t.Errorf("%q: err %v, want ErrNoHostStats", tc.in, err)
			}
			continue
		}
		if err != nil || idle != tc.idle || total != tc.total {
			t.Errorf("%q: idle %d total %d err %v, want %d %d", tc.in, idle, total, err, tc.idle, tc.total)
		}
	}
}

func TestParseMeminfo(t *testing.T) {
	used, total, err := parseMeminfo([]byte("MemTotal:       32000 kB\nMemFree:  1000 kB\nMemAvailable:   12000 kB\n"))
	if err != nil || total != 32000*1024 || used != 20000*1024 {
		t.Fatalf("used %d total %d err %v", used, total, err)
	}
	for _, bad := range []string{"MemTotal: 10 kB\n", "MemTotal: x kB\nMemAvailable: 1 kB\n", "MemTotal:\nMemAvailable: 1 kB\n"} {
		if _, _, err := parseMeminfo([]byte(bad)); !errors.Is(err, ErrNoHostStats) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestHostSamplerDelta(t *testing.T) {
	dir := t.TempDir()
	write := func(stat string) {
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "meminfo"), []byte("MemTotal: 100 kB\nMemAvailable: 25 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &HostSampler{proc: dir}
	write("cpu 100 0 0 100 0\n")
	if s, err := h.Sample(); err != nil || s.CPUPercent != 50 || s.MemoryUsed != 75*1024 || s.MemoryTotal != 100*1024 {
		t.Fatalf("first sample %+v %v", s, err)
	}
	// Between samples: 90 busy ticks of 100.
	write("cpu 190 0 0 110 0\n")
	if s, err := h.Sample(); err != nil || s.CPUPercent != 90 {
		t.Fatalf("second sample %+v %v", s, err)
	}
	if _, err := (&HostSampler{proc: filepath.Join(dir, "missing")}).Sample(); !errors.Is(err, ErrNoHostStats) {
		t.Fatalf("missing /proc: %v", err)
	}
	if runtime.GOOS == "linux" {
		s, err := NewHostSampler().Sample()
		if err != nil || s.MemoryTotal <= 0 || s.CPUPercent < 0 || s.CPUPercent > 100 {
			t.Fatalf("this host: %+v %v", s, err)
		}
	}
}
