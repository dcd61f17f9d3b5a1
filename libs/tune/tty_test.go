package tune

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
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
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(master) // ends with EIO once the slave is closed
		out <- string(b)
	}()
	fn := func(ctx context.Context, p Params, s Session) error {
		for i := 0; i < 3; i++ {
			time.Sleep(15 * time.Millisecond) // let a few refreshes happen mid-run
			if err := s.Report(ctx, Metrics{"acc": p.Float("x", 0)}, nil); err != nil {
				return err
			}
		}
		return nil
	}
	tuner, _ := NewTuner(TrainFunc(fn), map[string]any{"x": GridSearch(0.25, 0.5)}, Config{Metric: "acc", Mode: "max"},
		RunConfig{StoragePath: t.TempDir(), Name: "tty", Progress: slave, ProgressInterval: 10 * time.Millisecond, NoPlot: true})
	if _, err := tuner.Fit(context.Background()); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	text := <-out
	if !strings.Contains(text, "\x1b[") || !strings.Contains(text, "A\x1b[J") {
		t.Fatalf("no cursor-up/clear sequence on a terminal:\n%q", text)
	}
	if !strings.Contains(text, "2 TERMINATED") {
		t.Errorf("final table missing:\n%s", text)
	}
}
