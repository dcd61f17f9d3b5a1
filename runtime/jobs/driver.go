package jobs

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// RunLibraryDriver runs a library job's driver when this process was started
// as one (GORAY_JOB_DRIVER is set), and reports handled=false otherwise.
// Binaries that link libraries call it first thing in main.
func RunLibraryDriver(ctx context.Context) (code int, handled bool) {
	v := os.Getenv(EnvJobDriver)
	if v == "" {
		return 0, false
	}
	// The value is "<copy of the job file>|<original path>": the copy is
	// what was submitted, the original path anchors relative paths.
	copyPath, orig, _ := strings.Cut(v, "|")
	if orig == "" {
		orig = copyPath
	}
	data, err := os.ReadFile(copyPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "goray: job driver: %v\n", err)
		return 1, true
	}
	spec, err := Parse(orig, orig, data)
	if err != nil {
		fmt.Fprintf(os.Stderr, "goray: job driver: %v\n", err)
		return 1, true
	}
	// The manager may have moved the outputs (an uploaded job writes into
	// its job directory); its choice, not the file's, is where they go.
	if d := os.Getenv(EnvJobOutputDir); d != "" {
		spec.OutputDir = d
	}
	lib, ok := library(spec.Library)
	if !ok {
		fmt.Fprintf(os.Stderr, "goray: job driver: %v %q\n", ErrUnknownLibrary, spec.Library)
		return 1, true
	}
	report := func(p Progress) {
		if err := WriteProgress(p); err != nil {
			fmt.Fprintf(os.Stderr, "goray: progress: %v\n", err)
		}
	}
	if err := lib.Run(ctx, spec, spec.LibraryConfig, report); err != nil {
		fmt.Fprintf(os.Stderr, "goray: job %s failed: %v\n", spec.Name, err)
		return 1, true
	}
	return 0, true
}
