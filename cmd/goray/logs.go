package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/goray/goray/runtime/state"
)

func init() {
	register("logs", "print or follow a job's, worker's or node's log from any node (like ray logs)", runLogs)
}

func runLogs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("goray logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clusterFlags
	cf.register(fs)
	var q state.LogQuery
	fs.StringVar(&q.Job, "job", "", "a job's driver log (a lone argument is taken as the job ID)")
	fs.StringVar(&q.Worker, "worker", "", "a worker's log")
	fs.StringVar(&q.Node, "node", "", "the node whose log to read (alone: the daemon's own log)")
	fs.Int64Var(&q.Offset, "offset", 0, "start at this byte offset")
	fs.BoolVar(&q.Follow, "follow", false, "keep printing new lines until the log ends (Ctrl-C to stop)")
	fs.BoolVar(&q.Follow, "f", false, "short for --follow")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: goray logs [JOB_ID] [--job ID] [--worker W] [--node N] [--follow] [--offset N] [--address ADDR] [--token T]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(interleaved(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case fs.NArg() == 1 && q.Job == "":
		q.Job = fs.Arg(0)
	case fs.NArg() != 0:
		fs.Usage()
		return 2
	}
	if q.Job == "" && q.Worker == "" && q.Node == "" {
		fmt.Fprintln(stderr, "goray logs: name a log: a job ID, --worker W or --node N")
		return 2
	}
	if q.Offset < 0 {
		fmt.Fprintf(stderr, "goray logs: --offset %d is negative\n", q.Offset)
		return 2
	}
	c, err := stateClient(&cf)
	if err != nil {
		fmt.Fprintf(stderr, "goray logs: %v\n", err)
		return 1
	}
	// Ctrl-C ends a follow: the client treats the cancelled context as the
	// end of the stream, not as an error.
	if _, err := c.Logs(ctx, q, stdout); err != nil {
		fmt.Fprintf(stderr, "goray logs: %v\n", err)
		if errors.Is(err, state.ErrBadQuery) {
			return 2
		}
		return 1
	}
	return 0
}
