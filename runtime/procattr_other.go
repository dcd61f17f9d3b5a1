//go:build !linux

package runtime

import "syscall"

// workerProcAttr puts a worker in its own process group. Without Linux's
// parent-death signal, the worker's watchdog alone ends orphaned workers.
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
