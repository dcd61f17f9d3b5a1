package main

import (
	"github.com/goray/goray"
	grt "github.com/goray/goray/runtime"
)

// The goray binary is also its own task worker: a node started by a goray
// verb (microbenchmark, a job driver) re-executes this binary with
// GORAY_WORKER_SOCKET set, and this mode serves tasks until the node stops.
func init() {
	helperModes = append(helperModes, func() (int, bool) {
		if !grt.IsWorkerProcess() {
			return 0, false
		}
		goray.MaybeRunWorker() // serves, then exits the process
		return 0, true
	})
}
