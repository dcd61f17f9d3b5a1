package tune

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"
)

// progressReporter prints the live trial table: redrawn in place on a
// terminal, appended (less often) elsewhere, like Ray's CLIReporter.
type progressReporter struct {
	w        io.Writer
	tty      bool
	interval time.Duration
	e        *experiment
	lines    int
	start    time.Time
	maxRows  int
	lastBody string
}

func newProgressReporter(w io.Writer, interval time.Duration, e *experiment) *progressReporter {
	tty := isTerminal(w)
	if interval <= 0 {
		interval = 10 * time.Second
		if tty {
			interval = time.Second
		}
	}
	// Like Ray's CLIReporter, periodic tables show at most 20 rows; the
	// final one shows every trial.
	return &progressReporter{w: w, tty: tty, interval: interval, e: e, start: time.Now(), maxRows: 20}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

var statusOrder = map[Status]int{Running: 0, Terminated: 1, Paused: 2, Pending: 3, Errored: 4}

func (p *progressReporter) print(final bool) {
	var head, body bytes.Buffer
	p.render(&head, &body, final)
	// Appending the same table again says nothing new (Ray issue 17674).
	if !p.tty && !final && body.String() == p.lastBody {
		return
	}
	p.lastBody = body.String()
	out := append(head.Bytes(), body.Bytes()...)
	if p.tty && p.lines > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.lines)
	}
	p.w.Write(out)
	p.lines = bytes.Count(out, []byte("\n"))
	if !p.tty {
		p.lines = 0
	}
}

func (p *progressReporter) render(head, w io.Writer, final bool) {
	e := p.e
	counts := map[Status]int{}
	for _, t := range e.trials {
		counts[t.Status]++
	}
	var parts []string
	for _, s := range []Status{Running, Terminated, Paused, Pending, Errored} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	fmt.Fprintln(head, "== Status ==")
	fmt.Fprintf(head, "Current time: %s (running for %s)\n", time.Now().Format("2006-01-02 15:04:05"), time.Since(p.start).Round(time.Second))
	fmt.Fprintf(w, "Using %s scheduling algorithm.\n", e.t.cfg.Scheduler.Name())
	fmt.Fprintf(w, "Logical resource usage: %g/%g CPUs, %g/%g GPUs\n", e.used["CPU"], e.capacity["CPU"], e.used["GPU"], e.capacity["GPU"])
	metric, mode := e.t.cfg.Metric, e.t.cfg.Mode
	if metric != "" {
		var best *Trial
		var bv float64
		for _, t := range e.trials {
			if v, ok := t.Last.Float(metric); ok && (best == nil || better(v, bv, mode)) {
				best, bv = t, v
			}
		}
		if best != nil {
			fmt.Fprintf(w, "Current best trial: %s with %s=%s and params=%v\n", best.ID, metric, fmtMetric(bv), best.Params)
		}
	}
	fmt.Fprintf(w, "Result logdir: %s\n", e.dir)
	fmt.Fprintf(w, "Number of trials: %d (%s)\n", len(e.trials), strings.Join(parts, ", "))

	trials := append([]*Trial(nil), e.trials...)
	sort.SliceStable(trials, func(i, j int) bool { return statusOrder[trials[i].Status] < statusOrder[trials[j].Status] })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	hdr := append([]string{"Trial name", "status", "loc"}, e.varied...)
	hdr = append(hdr, "iter", "total time (s)")
	if metric != "" {
		hdr = append(hdr, metric)
	}
	fmt.Fprintln(tw, strings.Join(hdr, "\t"))
	for i, t := range trials {
		if i >= p.maxRows && !final {
			fmt.Fprintf(tw, "... %d more trials not shown\n", len(trials)-i)
			break
		}
		loc := t.Location
		if rt := e.running[t.ID]; rt != nil && loc == "" {
			// An actor trial knows its node before its first result.
			loc = rt.h.Location()
		}
		row := []string{e.t.tname + "_" + t.ID, string(t.Status), loc}
		for _, k := range e.varied {
			v, _ := t.Params.Get(k)
			row = append(row, fmtValue(v))
		}
		for _, k := range []string{KeyTrainingIteration, KeyTimeTotal, metric} {
			if k == "" {
				continue
			}
			if v, ok := t.Last.Float(k); ok {
				row = append(row, fmtMetric(v))
			} else {
				row = append(row, "")
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	fmt.Fprintln(w)
}
