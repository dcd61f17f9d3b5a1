package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goray/goray/runtime/agent"
	"github.com/goray/goray/runtime/state"
)

func init() {
	register("list", "list nodes, actors, tasks, objects, placement groups, jobs or trials (like ray list)", runList)
}

// filterFlags collects repeated --filter key=value (or key!=value).
type filterFlags map[string]string

// String implements flag.Value.
func (f filterFlags) String() string { return fmt.Sprint(map[string]string(f)) }

// Set implements flag.Value: key=value, or key!=value to exclude.
func (f filterFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("filter %q is not key=value", s)
	}
	if neg, found := strings.CutSuffix(k, "!"); found {
		k, v = neg, "!"+v
	}
	if _, dup := f[k]; dup {
		return fmt.Errorf("filter on %q given twice", k)
	}
	f[k] = v
	return nil
}

// listKind is one listable resource: it fetches a page and prints it,
// returning how many records it printed and how many matched.
type listKind func(ctx context.Context, c *state.Client, q state.Query, asJSON bool, stdout io.Writer) (shown, total int, err error)

var listKinds = map[string]listKind{
	"nodes": listTable("/nodes", func(n state.NodeState) []string {
		return []string{n.ID, n.Name, n.State, n.Address, resPair(n, "CPU"), resPair(n, "GPU"),
			fmt.Sprintf("%.0f%%", n.CPUPercent), fmt.Sprintf("%s/%s", bytesStr(n.ObjectStoreUsed), bytesStr(n.ObjectStoreLimit))}
	}, "NODE ID", "NAME", "STATE", "ADDRESS", "CPU", "GPU", "HOST CPU", "OBJECT STORE"),
	"actors": listTable("/actors", func(a state.ActorState) []string {
		return []string{a.ID, a.Class, dash(a.Name), a.State, dash(a.Node), pid(a.PID), strconv.Itoa(a.Restarts), dash(a.Job)}
	}, "ACTOR ID", "CLASS", "NAME", "STATE", "NODE", "PID", "RESTARTS", "JOB"),
	"tasks": listTable("/tasks", func(t state.TaskState) []string {
		return []string{t.ID, t.Name, t.State, dash(t.Node), dash(t.Job), strconv.Itoa(t.Attempt), oneLine(t.Error)}
	}, "TASK ID", "NAME", "STATE", "NODE", "JOB", "ATTEMPT", "ERROR"),
	"objects": listTable("/objects", func(o state.ObjectState) []string {
		sp := ""
		if o.Spilled {
			sp = "spilled"
		}
		return []string{o.ID, bytesStr(o.Size), o.Owner, dash(strings.Join(o.Locations, ",")), strconv.Itoa(o.RefCount), sp}
	}, "OBJECT ID", "SIZE", "OWNER", "LOCATIONS", "REFS", "SPILLED"),
	"placement-groups": listTable("/placement_groups", func(p state.PlacementGroupState) []string {
		return []string{p.ID, dash(p.Name), p.State, p.Strategy, strconv.Itoa(len(p.Bundles)), dash(p.Job)}
	}, "PLACEMENT GROUP ID", "NAME", "STATE", "STRATEGY", "BUNDLES", "JOB"),
	"jobs": listTable("/jobs", func(j state.JobState) []string {
		dur := "-"
		if j.StartTime != nil {
			end := time.Now()
			if j.EndTime != nil {
				end = *j.EndTime
			}
			dur = end.Sub(*j.StartTime).Round(time.Second / 10).String()
		}
		return []string{j.ID, j.Name, string(j.State), j.Kind, j.SubmitTime.Local().Format("2006-01-02 15:04:05"), dur, oneLine(j.Message)}
	}, "JOB ID", "NAME", "STATUS", "KIND", "SUBMITTED", "DURATION", "MESSAGE"),
	"demands": listTable("/demands", func(d state.DemandState) []string {
		return []string{d.ShapeKey, strconv.Itoa(d.Count), dash(d.NodeName), d.Node, fmt.Sprintf("%.1fs", d.OldestSeconds)}
	}, "SHAPE", "COUNT", "NODE", "NODE ID", "OLDEST"),
	"trials": listTable("/trials", func(t state.TrialState) []string {
		keys := slices.Sorted(maps.Keys(t.Metrics))
		var m []string
		for _, k := range keys {
			m = append(m, fmt.Sprintf("%s=%.4g", k, t.Metrics[k]))
		}
		return []string{t.ID, t.Status, strconv.Itoa(t.Iteration), dash(t.Job), dash(strings.Join(m, " ")), oneLine(t.Error)}
	}, "TRIAL ID", "STATUS", "ITER", "JOB", "METRICS", "ERROR"),
}

// Aliases users type for Ray's resource names.
var listAliases = map[string]string{
	"node": "nodes", "actor": "actors", "task": "tasks", "object": "objects", "job": "jobs", "trial": "trials",
	"placement-group": "placement-groups", "placement_groups": "placement-groups", "pgs": "placement-groups",
	"demand": "demands",
}

func listUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "Usage: goray list nodes|actors|tasks|objects|placement-groups|demands|jobs|trials [--filter key=value]... [--limit N] [--offset N] [--json] [--address ADDR] [--token T]")
	fmt.Fprintln(w, "       goray list tasks --summary   (counts by state and function, latest failures)")
	fmt.Fprintln(w, "Filters match the JSON field names (goray list actors --json shows them); key!=value excludes.")
	if fs != nil {
		fs.PrintDefaults()
	}
}

func runList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("goray list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clusterFlags
	cf.register(fs)
	filters := filterFlags{}
	fs.Var(filters, "filter", "keep records whose field equals a value: key=value or key!=value (repeatable)")
	limit := fs.Int("limit", state.DefaultLimit, fmt.Sprintf("records per page (at most %d)", state.MaxLimit))
	offset := fs.Int("offset", 0, "skip this many matching records")
	asJSON := fs.Bool("json", false, "print the API's JSON (total, offset, limit, items)")
	summary := fs.Bool("summary", false, "tasks only: print counts by state and function instead of a list")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	fs.Usage = func() { listUsage(stderr, fs) }
	if err := fs.Parse(interleaved(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		listUsage(stderr, nil)
		return 2
	}
	name := fs.Arg(0)
	if a, ok := listAliases[name]; ok {
		name = a
	}
	kind, ok := listKinds[name]
	if !ok {
		fmt.Fprintf(stderr, "goray list: unknown resource %q; want one of %s\n", fs.Arg(0), strings.Join(slices.Sorted(maps.Keys(listKinds)), ", "))
		return 2
	}
	if *summary && name != "tasks" {
		fmt.Fprintln(stderr, "goray list: --summary applies to tasks only")
		return 2
	}
	q := state.Query{Filters: filters, Limit: *limit, Offset: *offset}
	if len(filters) == 0 {
		q.Filters = nil
	}
	if err := q.Validate(); err != nil {
		fmt.Fprintf(stderr, "goray list: %v\n", err)
		return 2
	}
	c, err := stateClient(&cf)
	if err != nil {
		fmt.Fprintf(stderr, "goray list: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *summary {
		s, err := c.TaskSummary(ctx, q)
		if err != nil {
			fmt.Fprintf(stderr, "goray list: %v\n", err)
			return 1
		}
		if *asJSON {
			return printJSON(stdout, s)
		}
		printTaskSummary(stdout, s)
		return 0
	}
	shown, total, err := kind(ctx, c, q, *asJSON, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "goray list: %v\n", err)
		if errors.Is(err, state.ErrBadQuery) {
			return 2
		}
		return 1
	}
	if !*asJSON && shown < total {
		fmt.Fprintf(stderr, "goray list: showing %d-%d of %d %s (use --offset and --limit for more)\n", q.Offset+min(1, shown), q.Offset+shown, total, name)
	}
	return 0
}

// stateClient resolves --address/--token (or GORAY_ADDRESS/GORAY_TOKEN;
// default the local gorayd) into a state API client.
func stateClient(cf *clusterFlags) (*state.Client, error) {
	cf.resolve()
	if cf.address == "" {
		cf.address = fmt.Sprintf("127.0.0.1:%d", agent.DefaultHTTPPort)
	}
	return state.NewClient(cf.address, cf.token)
}

// listTable makes the listKind of one record type at path: a header and
// one row per record, or the API's JSON page.
func listTable[T any](path string, row func(T) []string, header ...string) listKind {
	return func(ctx context.Context, c *state.Client, q state.Query, asJSON bool, w io.Writer) (int, int, error) {
		page, err := state.List[T](ctx, c, path, q)
		if err != nil {
			return 0, 0, err
		}
		if asJSON {
			if printJSON(w, page) != 0 {
				return 0, 0, errors.New("cannot write the output")
			}
			return len(page.Items), page.Total, nil
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for _, r := range page.Items {
			fmt.Fprintln(tw, strings.Join(row(r), "\t"))
		}
		return len(page.Items), page.Total, tw.Flush()
	}
}

func printTaskSummary(w io.Writer, s state.TaskSummary) {
	states := slices.Sorted(maps.Keys(s.ByState))
	fmt.Fprintf(w, "%d tasks:", s.Total)
	for _, st := range states {
		fmt.Fprintf(w, " %s %d", st, s.ByState[st])
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "FUNCTION\tTOTAL\t%s\n", strings.Join(states, "\t"))
	for _, f := range s.ByFunction {
		fmt.Fprintf(tw, "%s\t%d", f.Name, f.Total)
		for _, st := range states {
			fmt.Fprintf(tw, "\t%d", f.ByState[st])
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
	if s.FailuresTotal > 0 {
		fmt.Fprintf(w, "\nlatest %d of %d failures:\n", len(s.Failures), s.FailuresTotal)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TASK ID\tNAME\tNODE\tERROR")
		for _, t := range s.Failures {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Name, dash(t.Node), oneLine(t.ErrorType+": "+t.Error))
		}
		_ = tw.Flush()
	}
}

func resPair(n state.NodeState, r string) string {
	tot := n.ResourcesTotal[r]
	if tot == 0 {
		return "-"
	}
	return fmt.Sprintf("%g/%g", tot-n.ResourcesAvailable[r], tot)
}

func bytesStr(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTP"[exp])
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pid(p int) string {
	if p == 0 {
		return "-"
	}
	return strconv.Itoa(p)
}

// oneLine keeps a table row on one line: the first line of s, shortened.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}
