package objectstore

import (
	"golang.org/x/sys/unix"
)

// macOS has no MAP_POPULATE; pages fault in lazily.
const mapPopulate = 0

// macOS has no fallocate; Ftruncate sizes the file and writes may still fail later on a
// full disk, which is acceptable for the development platform.
func allocate(fd int, size int64) error {
	return unix.Ftruncate(fd, size)
}

func totalRAM() int64 {
	n, err := unix.SysctlUint64("hw.memsize")
	if err != nil {
		return 0
	}
	return int64(n)
}

func freeSpace(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

func shmWritable(path string) bool {
	return unix.Access(path, unix.W_OK) == nil
}

// populateRead is a no-op: macOS faults pages in as they are read.
func populateRead([]byte) error { return nil }
