package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Stale directories.
//
// A node removes its shared-memory directory and its socket directory on
// Stop, but a process that is SIGKILLed (a driver with an embedded node,
// a daemon) cannot. Each such directory therefore records its owner in an
// ownerFile: the PID and the process's start time (so that a recycled PID
// does not keep a dead owner's directory alive). Every node sweeps, when it
// is created, the directories in the default locations whose owner is
// gone. Directories without an owner file are left alone: they may belong
// to another program or another goray version.

// ownerFile names the owner record inside a node's directories.
const ownerFile = ".goray-owner"

// procStartTime is a process's start time in clock ticks since boot (field
// 22 of /proc/<pid>/stat), or "" where /proc cannot tell.
func procStartTime(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19] // fields after ')' start at field 3
}

// writeOwner records this process as the owner of dir.
func writeOwner(dir string) error {
	pid := os.Getpid()
	rec := fmt.Sprintf("%d %s\n", pid, procStartTime(pid))
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(rec), 0o644); err != nil {
		return fmt.Errorf("runtime: record owner of %s: %w", dir, err)
	}
	return nil
}

// ownerAlive reports whether the owner recorded in dir still runs. ok is
// false when dir has no readable owner record.
func ownerAlive(dir string) (alive, ok bool) {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return false, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return false, false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return false, false
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false, true
	}
	if len(f) > 1 {
		if st := procStartTime(pid); st != "" && st != f[1] {
			return false, true // the PID was recycled
		}
	}
	return true, true
}

// sweepStaleDirs removes the store and socket directories, in the default
// locations, of nodes whose process is gone. It returns how many it
// removed.
func sweepStaleDirs(log *slog.Logger) int {
	var patterns []string
	for _, base := range []string{"/dev/shm", os.TempDir()} {
		patterns = append(patterns, filepath.Join(base, "goray-*"))
	}
	removed := 0
	seen := map[string]bool{}
	for _, pat := range patterns {
		dirs, _ := filepath.Glob(pat)
		for _, dir := range dirs {
			if seen[dir] {
				continue
			}
			seen[dir] = true
			alive, ok := ownerAlive(dir)
			if !ok || alive {
				continue
			}
			if err := os.RemoveAll(dir); err != nil {
				log.Warn("cannot remove a dead node's directory", "dir", dir, "err", err)
				continue
			}
			removed++
			// The store's spill directory shares its suffix.
			name := filepath.Base(dir)
			if suffix, ok := strings.CutPrefix(name, "goray-"); ok && !strings.HasPrefix(suffix, "node-") && !strings.HasPrefix(suffix, "spill-") {
				_ = os.RemoveAll(filepath.Join(os.TempDir(), "goray-spill-"+suffix))
			}
			log.Info("removed a dead node's directory", "dir", dir)
		}
	}
	return removed
}
