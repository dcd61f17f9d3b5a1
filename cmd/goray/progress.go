package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/goray/goray/runtime/jobs"
)

// progressLine shows a job's progress on stderr. On a terminal it is one
// line rewritten in place under the streamed logs; elsewhere each change is
// printed as its own line so logs stay readable in CI.
type progressLine struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	shown string
	last  string
}

func newProgressLine(w io.Writer) *progressLine {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressLine{w: w, tty: tty}
}

func formatProgress(info jobs.Info) string {
	p := info.Progress
	var b strings.Builder
	if p.MaxIterations > 0 {
		fmt.Fprintf(&b, "iter %d/%d", p.Iteration, p.MaxIterations)
	} else {
		fmt.Fprintf(&b, "iter %d", p.Iteration)
	}
	if p.Metric != "" {
		fmt.Fprintf(&b, "  %s %.3f", p.Metric, p.Value)
	}
	fmt.Fprintf(&b, "  elapsed %s", (time.Duration(p.ElapsedS * float64(time.Second))).Round(100*time.Millisecond))
	if p.ETAS > 0 {
		fmt.Fprintf(&b, "  ETA %s", (time.Duration(p.ETAS * float64(time.Second))).Round(time.Second))
	}
	if p.Text != "" {
		fmt.Fprintf(&b, "  %s", p.Text)
	}
	return b.String()
}

func (p *progressLine) set(info jobs.Info) {
	s := "[" + info.Name + "] " + formatProgress(info)
	p.mu.Lock()
	defer p.mu.Unlock()
	if s == p.last {
		return
	}
	p.last = s
	if p.tty {
		p.clearLocked()
		fmt.Fprint(p.w, s)
		p.shown = s
		return
	}
	fmt.Fprintln(p.w, s)
}

func (p *progressLine) clearLocked() {
	if p.tty && p.shown != "" {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = ""
	}
}

func (p *progressLine) clear() {
	p.mu.Lock()
	p.clearLocked()
	p.mu.Unlock()
}

// wrap returns a writer for log output that keeps the progress line below it.
func (p *progressLine) wrap(w io.Writer) io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		shown := p.shown
		p.clearLocked()
		n, err := w.Write(b)
		if shown != "" {
			fmt.Fprint(p.w, shown)
			p.shown = shown
		}
		return n, err
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
