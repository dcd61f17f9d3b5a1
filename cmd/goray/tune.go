package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/goray/goray/libs/tune"
	_ "github.com/goray/goray/libs/tune/tunejob" // the [tune] job library and the PPO trainable
)

func init() {
	register("tune", "inspect tune experiments: tune results DIR [--json]", runTune)
}

// runTune implements `goray tune results DIR [--json]`: the trial table of an
// experiment directory (finished, running or interrupted), or its JSON form.
func runTune(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "results" {
		fmt.Fprintln(stderr, "usage: goray tune results DIR [--json] [--metric M --mode max|min]")
		return 2
	}
	fs := flag.NewFlagSet("tune results", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	metric := fs.String("metric", "", "metric for the best trial (default: the experiment's)")
	mode := fs.String("mode", "", "max or min (default: the experiment's)")
	// Accept flags before or after DIR.
	var dir string
	rest := args[1:]
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		rest = fs.Args()
		if len(rest) > 0 {
			if dir != "" {
				fmt.Fprintf(stderr, "goray tune results: unexpected argument %q\n", rest[0])
				return 2
			}
			dir, rest = rest[0], rest[1:]
		}
	}
	if dir == "" {
		fmt.Fprintln(stderr, "usage: goray tune results DIR [--json]")
		return 2
	}
	grid, err := tune.LoadResults(dir)
	if err != nil {
		fmt.Fprintln(stderr, "goray tune results:", err)
		return 1
	}
	if *metric != "" {
		grid.Metric = *metric
	}
	if *mode != "" {
		grid.Mode = *mode
	}
	if *asJSON {
		if err := grid.WriteJSON(stdout); err != nil {
			fmt.Fprintln(stderr, "goray tune results:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "Experiment %s: %d trials (%d terminated, %d errored)\n", dir, grid.Len(), grid.NumTerminated(), len(grid.Errors()))
	if err := grid.WriteTable(stdout); err != nil {
		fmt.Fprintln(stderr, "goray tune results:", err)
		return 1
	}
	if grid.Metric != "" {
		if best, err := grid.GetBestResult("", "", tune.ScopeLast); err == nil {
			v, _ := best.Metrics.Float(grid.Metric)
			fmt.Fprintf(stdout, "Best trial: %s with %s=%g and params=%v\n", best.Name, grid.Metric, v, best.Params)
			if best.Checkpoint != "" {
				fmt.Fprintf(stdout, "Best checkpoint: %s\n", best.Checkpoint)
			}
		}
	}
	return 0
}
