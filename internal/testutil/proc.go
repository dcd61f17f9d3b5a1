package testutil

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Proc is one process as /proc/<pid>/stat describes it.
type Proc struct {
	PID, PPID, PGID int
	// State is the one-letter state; "Z" is a zombie.
	State string
}

// Processes reads the process table from /proc. Tests use it to prove that
// nothing goray started outlives what should have stopped it.
func Processes() map[int]Proc {
	out := map[int]Proc{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name may hold spaces and parentheses; the fields
		// after its closing parenthesis do not.
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 4 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgid, _ := strconv.Atoi(f[2])
		out[pid] = Proc{PID: pid, PPID: ppid, PGID: pgid, State: f[0]}
	}
	return out
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	p, ok := Processes()[pid]
	return ok && p.State != "Z"
}

// Descendants lists the live (non-zombie) processes below pid.
func Descendants(pid int) []int {
	procs := Processes()
	var out []int
	for p, pr := range procs {
		if pr.State == "Z" {
			continue
		}
		for q := pr.PPID; q > 1; q = procs[q].PPID {
			if q == pid {
				out = append(out, p)
				break
			}
			if _, ok := procs[q]; !ok {
				break
			}
		}
	}
	return out
}

// GroupAlive reports whether any live process is in process group pgid.
func GroupAlive(pgid int) bool {
	for _, pr := range Processes() {
		if pr.PGID == pgid && pr.State != "Z" {
			return true
		}
	}
	return false
}
