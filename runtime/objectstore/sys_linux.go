package objectstore

import (
	"golang.org/x/sys/unix"
)

// mapPopulate pre-faults a mapping's page tables in the mmap call itself, so touching a big
// object later costs no page faults (one kernel walk instead of one fault per 16 pages).
const mapPopulate = unix.MAP_POPULATE

// allocate allocates size bytes for fd up front. On tmpfs that turns "out of shared memory"
// into an ENOSPC here instead of a SIGBUS on the first write through the mapping.
func allocate(fd int, size int64) error {
	return unix.Fallocate(fd, 0, 0, size)
}

func totalRAM() int64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
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

// populateRead fills in the page tables of a mapping's pages that exist (MADV_POPULATE_READ,
// Linux 5.14), without faulting them in one by one later.
func populateRead(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return unix.Madvise(b, unix.MADV_POPULATE_READ)
}
