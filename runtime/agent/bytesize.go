package agent

import (
	"fmt"
	"strconv"
	"strings"
)

// ByteSize is a byte count written as an integer or with a unit: "512MiB",
// "64GiB", "1.5GB", "1000000". It is a TOML text value and a flag value.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1},
}

// UnmarshalText parses a size.
func (b *ByteSize) UnmarshalText(text []byte) error {
	return b.Set(string(text))
}

// MarshalText writes the size in bytes.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// String formats the size in bytes.
func (b ByteSize) String() string { return strconv.FormatInt(int64(b), 10) }

// Set parses a size (flag.Value).
func (b *ByteSize) Set(s string) error {
	s = strings.TrimSpace(s)
	mult := 1.0
	num := s
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	// toml hands integers to UnmarshalText as "%d" and floats as "%f".
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return fmt.Errorf("size %q: want bytes or a number with KiB/MiB/GiB/TiB/KB/MB/GB/TB", s)
	}
	*b = ByteSize(v * mult)
	return nil
}
