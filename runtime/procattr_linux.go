package runtime

import "syscall"

// workerProcAttr puts a worker in its own process group (so kill reaches
// anything it started) and makes the kernel kill it if this process dies.
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
