//go:build linux || darwin

package objectstore

import (
	"fmt"
	"math"
	"os"

	"golang.org/x/sys/unix"
)

// createMapped creates path exclusively, allocates size bytes and maps them writable and
// pre-faulted. The mapping outlives the file descriptor, which is closed before returning.
func createMapped(path string, size int64) ([]byte, error) {
	if size > math.MaxInt {
		return nil, fmt.Errorf("size %d does not fit in memory", size)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size == 0 {
		return []byte{}, nil
	}
	fail := func(err error) ([]byte, error) {
		_ = os.Remove(path)
		return nil, err
	}
	if err := allocate(int(f.Fd()), size); err != nil {
		return fail(fmt.Errorf("allocate %d bytes: %w", size, err))
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|mapPopulate)
	if err != nil {
		return fail(fmt.Errorf("mmap: %w", err))
	}
	return data, nil
}

// mmapRead maps the first size bytes of f read-only. The mapping outlives f's descriptor.
func mmapRead(f *os.File, size int64) ([]byte, error) {
	if size > math.MaxInt {
		return nil, fmt.Errorf("size %d does not fit in memory", size)
	}
	if size == 0 {
		return []byte{}, nil
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED|mapPopulate)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	return data, nil
}

func munmap(b []byte) error { return unix.Munmap(b) }

// mapRW maps an existing file writable and pre-faulted, for recycling its memory.
func mapRW(path string, size int64) ([]byte, error) {
	if size > math.MaxInt || size <= 0 {
		return nil, fmt.Errorf("cannot map %d bytes", size)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|mapPopulate)
}

// protect makes a mapping read-only or writable again. On memory that is already mapped this
// only rewrites page-table entries, far cheaper than populating a second mapping.
func protect(b []byte, writable bool) error {
	prot := unix.PROT_READ
	if writable {
		prot |= unix.PROT_WRITE
	}
	return unix.Mprotect(b, prot)
}

// mmapLazy maps the first size bytes of f read-only without populating it.
func mmapLazy(f *os.File, size int64) ([]byte, error) {
	if size > math.MaxInt || size <= 0 {
		return nil, fmt.Errorf("cannot map %d bytes", size)
	}
	return unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
}
