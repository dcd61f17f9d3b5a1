package tune

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns a pseudo-terminal pair (master, slave).
func openPTY(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open slave: %v", err)
	}
	return m, s
}

func TestProgressTableRedrawsInPlaceOnATerminal(t *testing.T) {
	master, slave := openPTY(t)
	defer master.Close()
	var (
		mu   sync.Mutex
		seen strings.Builder
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf) // ends with EIO once the slave is closed
			mu.Lock()
			seen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	const redraw = "A\x1b[J" // cursor up over the old table, clear below
	sawRedraw := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(seen.String(), redraw)
	}
	fn := func(ctx context.Context, p Params, s Session) error {
		for i := 0; i < 3; i++ {
			if i == 1 {
				// Hold the trial until the table has been redrawn while
				// it runs: the claim is an in-place redraw mid-run, not
				// just a final table.
				deadline := time.Now().Add(10 * time.Second)
				for !sawRedraw() {
					if time.Now().After(deadline) {
						return fmt.Errorf("no redraw on the terminal within 10 s")
					}
					time.Sleep(time.Millisecond)
				}
			}
			if err := s.Report(ctx, Metrics{"acc": p.Float("x", 0)}, nil); err != nil {
				return err
			}
		}
		return nil
	}
	tuner, _ := NewTuner(TrainFunc(fn), map[string]any{"x": GridSearch(0.25, 0.5)}, Config{Metric: "acc", Mode: "max"},
		RunConfig{StoragePath: t.TempDir(), Name: "tty", Progress: slave, ProgressInterval: 10 * time.Millisecond, NoPlot: true})
	grid, err := tuner.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if errs := grid.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	slave.Close()
	<-done
	text := seen.String()
	if !strings.Contains(text, "2 TERMINATED") {
		t.Errorf("final table missing:\n%s", text)
	}
}
