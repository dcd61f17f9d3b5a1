package testutil

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Driver is a goray driver program a test started against a cluster. It
// speaks a line protocol on its stdin and stdout, which the multi-node
// tests use to step it through a scenario: it prints "ready", the test
// kills a node, writes "go", and reads the driver's results.
type Driver struct {
	// Stdin is the driver's standard input.
	Stdin io.WriteCloser
	// Stdout scans the driver's standard output line by line.
	Stdout *bufio.Scanner

	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
}

// StartDriver starts bin with args and GORAY_ADDRESS=address, killed when
// ctx ends. It fails the test if the program cannot start.
func StartDriver(ctx context.Context, t testing.TB, bin, address string, args ...string) *Driver {
	t.Helper()
	d := &Driver{cmd: exec.CommandContext(ctx, bin, args...)}
	d.cmd.Env = append(os.Environ(), "GORAY_ADDRESS="+address)
	in, err := d.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.stderr.Write(p)
	})
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.Stdin, d.Stdout = in, bufio.NewScanner(out)
	return d
}

// Send writes line and a newline to the driver's stdin; a driver that
// has gone away is noticed by Wait, so the error is only returned.
func (d *Driver) Send(line string) error {
	_, err := io.WriteString(d.Stdin, line+"\n")
	return err
}

// Wait waits for the driver to exit (read Stdout to its end first).
func (d *Driver) Wait() error { return d.cmd.Wait() }

// Stderr returns what the driver wrote to its standard error so far.
func (d *Driver) Stderr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

// writerFunc adapts a function to io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
