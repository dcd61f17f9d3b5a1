package objectstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Config configures one node's store. It is a leaf of the daemon's TOML config tree, so the
// field tags are the TOML keys.
type Config struct {
	// Dir is the directory holding one file per in-memory object. It should be on a tmpfs
	// (/dev/shm on Linux) so that the files are plain RAM that other processes can mmap.
	// New creates it if missing; Close removes it again if New created it.
	Dir string `toml:"dir"`
	// Limit is the most bytes of object data kept in Dir.
	Limit int64 `toml:"limit"`
	// SpillDir receives objects evicted from memory. It should be on a real disk.
	SpillDir string `toml:"spill_dir"`
	// InlineThreshold is the largest object (bytes) the runtime sends inside protocol frames
	// instead of through the store. The store itself does not use it; it lives here so the
	// whole object-size policy is configured in one place.
	InlineThreshold int `toml:"inline_threshold"`
	// SpillThreshold is the fraction of Limit above which new objects make the store spill
	// least-recently-used ones (Ray's object_spilling_threshold).
	SpillThreshold float64 `toml:"spill_threshold"`
	// WarmReserve bounds the memory (bytes) the store allocates and pre-faults ahead of need,
	// in blocks of the sizes recently asked for, so that large objects land in populated
	// pages (see warm.go). It counts against Limit but yields to objects. 0 disables it;
	// DefaultConfig sets DefaultWarmReserve(Limit).
	WarmReserve int64 `toml:"warm_reserve"`
}

// Defaults shared by DefaultConfig and the documentation.
const (
	DefaultInlineThreshold = 100 * 1024 // Ray's max_direct_call_object_size
	DefaultSpillThreshold  = 0.8        // Ray's object_spilling_threshold
	defaultMemoryFraction  = 0.30       // Ray's default object store size: 30% of RAM
	defaultMaxLimit        = 200e9      // Ray caps the default at 200 GB
)

// DefaultConfig returns a config with Ray's defaults: a fresh directory under /dev/shm (or the
// system temp directory where /dev/shm is missing or read-only), 30% of RAM capped by the free
// space of that file system and by 200 GB, a fresh spill directory under the system temp directory, a
// 100 KiB inline threshold spilling from 80% full, and a warm reserve of DefaultWarmReserve(limit). It only chooses paths; New creates them.
func DefaultConfig() Config {
	base := os.TempDir()
	if shmWritable("/dev/shm") {
		base = "/dev/shm"
	}
	suffix := NewObjectID().String()[:16]
	dir := filepath.Join(base, "goray-"+suffix)
	limit := int64(float64(totalRAM()) * defaultMemoryFraction)
	if free, err := freeSpace(base); err == nil && free > 0 && free < limit {
		limit = free
	}
	limit = min(limit, defaultMaxLimit)
	if limit <= 0 {
		limit = 1 << 30
	}
	return Config{
		Dir:             dir,
		Limit:           limit,
		SpillDir:        filepath.Join(os.TempDir(), "goray-spill-"+suffix),
		InlineThreshold: DefaultInlineThreshold,
		SpillThreshold:  DefaultSpillThreshold,
		WarmReserve:     DefaultWarmReserve(limit),
	}
}

// Validate reports every invalid field, naming it by its TOML key.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("objectstore config: dir: must not be empty"))
	}
	if c.SpillDir == "" {
		errs = append(errs, errors.New("objectstore config: spill_dir: must not be empty"))
	}
	if c.Dir != "" && c.SpillDir != "" && filepath.Clean(c.Dir) == filepath.Clean(c.SpillDir) {
		errs = append(errs, fmt.Errorf("objectstore config: spill_dir: must differ from dir (both %q)", c.Dir))
	}
	if c.Limit <= 0 {
		errs = append(errs, fmt.Errorf("objectstore config: limit: must be positive, got %d", c.Limit))
	}
	if c.InlineThreshold < 0 {
		errs = append(errs, fmt.Errorf("objectstore config: inline_threshold: must not be negative, got %d", c.InlineThreshold))
	}
	// The negated form also rejects NaN.
	if !(c.SpillThreshold > 0 && c.SpillThreshold <= 1) {
		errs = append(errs, fmt.Errorf("objectstore config: spill_threshold: must be in (0, 1], got %v", c.SpillThreshold))
	}
	if c.WarmReserve < 0 || (c.Limit > 0 && c.WarmReserve > c.Limit) {
		errs = append(errs, fmt.Errorf("objectstore config: warm_reserve: must be in [0, limit %d], got %d", c.Limit, c.WarmReserve))
	}
	return errors.Join(errs...)
}
