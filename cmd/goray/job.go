package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goray/goray/runtime/jobs"
)

func init() {
	register("submit", "submit a job file (goray submit job.toml)", runSubmit)
	register("job", "list, inspect, follow, stop and delete jobs", runJob)
}

// clusterFlags are the flags every command that talks to a cluster takes.
type clusterFlags struct {
	address string
	token   string
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.address, "address", "", "cluster HTTP address (host:port); default $GORAY_ADDRESS")
	fs.StringVar(&c.token, "token", "", "cluster API token; default $GORAY_TOKEN")
}

func (c *clusterFlags) resolve() {
	if c.address == "" {
		c.address = os.Getenv("GORAY_ADDRESS")
	}
	if c.token == "" {
		c.token = os.Getenv("GORAY_TOKEN")
	}
}

func (c *clusterFlags) client() (*jobs.Client, error) {
	c.resolve()
	if c.address == "" {
		return nil, errors.New("no cluster address: pass --address or set GORAY_ADDRESS")
	}
	return jobs.NewClient(c.address, c.token)
}

func runSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clusterFlags
	cf.register(fs)
	noWait := fs.Bool("no-wait", false, "print the job ID and return without waiting")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: goray submit [--address ADDR] [--token T] [--no-wait] job.toml")
		fmt.Fprintln(stderr, "Without an address (flag or GORAY_ADDRESS) the job runs on an embedded single-node cluster.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(interleaved(fs, args)); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	spec, err := jobs.LoadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "goray: %v\n", err)
		return 1
	}
	cf.resolve()
	if cf.address == "" {
		return submitEmbedded(ctx, spec, stdout, stderr)
	}
	c, err := jobs.NewClient(cf.address, cf.token)
	if err != nil {
		fmt.Fprintf(stderr, "goray: %v\n", err)
		return 1
	}
	info, err := c.Submit(ctx, spec)
	if err != nil {
		fmt.Fprintf(stderr, "goray: submit %s: %v\n", spec.Name, err)
		return 1
	}
	fmt.Fprintf(stderr, "goray: job %s submitted as %s\n", spec.Name, info.ID)
	if *noWait {
		fmt.Fprintln(stdout, info.ID)
		return 0
	}
	return followJob(ctx, remoteJob{c}, info.ID, stdout, stderr)
}

// jobSource is what followJob needs from an embedded manager or a client.
type jobSource interface {
	Get(ctx context.Context, id string, wait bool) (jobs.Info, error)
	Logs(ctx context.Context, id string, off int64, follow bool, w io.Writer) (int64, error)
	Stop(ctx context.Context, id string) (jobs.Info, error)
}

type remoteJob struct{ c *jobs.Client }

func (r remoteJob) Get(ctx context.Context, id string, wait bool) (jobs.Info, error) {
	return r.c.Get(ctx, id, wait)
}
func (r remoteJob) Logs(ctx context.Context, id string, off int64, follow bool, w io.Writer) (int64, error) {
	return r.c.Logs(ctx, id, off, follow, w)
}
func (r remoteJob) Stop(ctx context.Context, id string) (jobs.Info, error) { return r.c.Stop(ctx, id) }

// followJob streams a job's logs and a live progress line until the job
// ends. Ctrl-C stops the job, then waits for its final state.
func followJob(ctx context.Context, src jobSource, id string, stdout, stderr io.Writer) int {
	pl := newProgressLine(stderr)
	logsDone := make(chan struct{})
	logCtx, cancelLogs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelLogs()
	go func() {
		defer close(logsDone)
		_, _ = src.Logs(logCtx, id, 0, true, pl.wrap(stdout))
	}()
	bg := context.WithoutCancel(ctx)
	var info jobs.Info
	for {
		var err error
		info, err = src.Get(ctx, id, true)
		if ctx.Err() != nil {
			pl.clear()
			fmt.Fprintf(stderr, "goray: interrupted; stopping job %s\n", id)
			stopCtx, cancel := context.WithTimeout(bg, 30*time.Second)
			info, err = src.Stop(stopCtx, id)
			cancel()
			if err != nil {
				fmt.Fprintf(stderr, "goray: stop %s: %v\n", id, err)
				return 1
			}
			break
		}
		if err != nil {
			pl.clear()
			fmt.Fprintf(stderr, "goray: %v\n", err)
			return 1
		}
		if info.Progress != nil {
			pl.set(info)
		}
		if info.State.Terminal() {
			break
		}
	}
	select {
	case <-logsDone:
	case <-time.After(5 * time.Second):
		cancelLogs()
		<-logsDone
	}
	pl.clear()
	dur := ""
	if info.StartTime != nil && info.EndTime != nil {
		dur = " in " + info.EndTime.Sub(*info.StartTime).Round(10*time.Millisecond).String()
	}
	fmt.Fprintf(stderr, "goray: job %s (%s) %s%s: %s\n", info.ID, info.Name, info.State, dur, info.Message)
	if info.State == jobs.Succeeded {
		return 0
	}
	return 1
}

func runJob(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, "Usage: goray job list|status ID|logs ID [--follow]|stop ID|delete ID [--address ADDR] [--token T] [--json]")
	}
	if len(args) == 0 {
		usage()
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("job "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clusterFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	follow := fs.Bool("follow", false, "follow the log until the job ends")
	if err := fs.Parse(interleaved(fs, args[1:])); err != nil {
		return 2
	}
	c, err := cf.client()
	if err != nil {
		fmt.Fprintf(stderr, "goray: %v\n", err)
		return 1
	}
	needID := func() (string, bool) {
		if fs.NArg() != 1 {
			usage()
			return "", false
		}
		return fs.Arg(0), true
	}
	switch verb {
	case "list":
		list, warnings, err := c.ListWithWarnings(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "goray: %v\n", err)
			return 1
		}
		// A peer that did not answer leaves a partial list: say so, on
		// stderr so that --json output stays parseable.
		for _, w := range warnings {
			fmt.Fprintf(stderr, "goray: warning: %s\n", w)
		}
		if *asJSON {
			return printJSON(stdout, list)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOB ID\tNAME\tNODE\tSTATUS\tSTART\tDURATION\tMESSAGE")
		for _, j := range list {
			start, dur := "-", "-"
			if j.StartTime != nil {
				start = j.StartTime.Local().Format("15:04:05")
				end := time.Now()
				if j.EndTime != nil {
					end = *j.EndTime
				}
				dur = end.Sub(*j.StartTime).Round(time.Second / 10).String()
			}
			node := j.NodeID
			if node == "" {
				node = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Name, node, j.State, start, dur, j.Message)
		}
		_ = tw.Flush()
	case "status":
		id, ok := needID()
		if !ok {
			return 2
		}
		info, err := c.Get(ctx, id, false)
		if err != nil {
			fmt.Fprintf(stderr, "goray: %v\n", err)
			return 1
		}
		if *asJSON {
			return printJSON(stdout, info)
		}
		fmt.Fprintf(stdout, "%s (%s): %s", info.ID, info.Name, info.State)
		if info.Message != "" {
			fmt.Fprintf(stdout, ": %s", info.Message)
		}
		fmt.Fprintln(stdout)
	case "logs":
		id, ok := needID()
		if !ok {
			return 2
		}
		if _, err := c.Logs(ctx, id, 0, *follow, stdout); err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "goray: %v\n", err)
			return 1
		}
	case "stop":
		id, ok := needID()
		if !ok {
			return 2
		}
		info, err := c.Stop(ctx, id)
		if err != nil {
			fmt.Fprintf(stderr, "goray: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: %s\n", info.ID, info.State)
	case "delete":
		id, ok := needID()
		if !ok {
			return 2
		}
		if err := c.Delete(ctx, id); err != nil {
			fmt.Fprintf(stderr, "goray: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: deleted\n", id)
	default:
		usage()
		return 2
	}
	return 0
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return 1
	}
	return 0
}

// interleaved lets flags follow positional arguments (goray job logs ID
// --follow), which the flag package alone does not allow.
func interleaved(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") {
				if f := fs.Lookup(name); f != nil {
					if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
						if i+1 < len(args) {
							flags = append(flags, args[i+1])
							i++
						}
					}
				}
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}
