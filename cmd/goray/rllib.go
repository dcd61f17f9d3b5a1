package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/goray/goray/libs/rllib/rllibjob" // the [rllib] job library
	"github.com/goray/goray/runtime/jobs"
)

// The goray binary is also the driver of library jobs ([rllib], [tune])
// that `goray submit` runs on its embedded cluster: the job manager starts
// it with GORAY_JOB_DRIVER set, as gorayd does for its own jobs.
func init() {
	helperModes = append(helperModes, func() (int, bool) {
		if os.Getenv(jobs.EnvJobDriver) == "" {
			return 0, false
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return jobs.RunLibraryDriver(ctx)
	})
}
