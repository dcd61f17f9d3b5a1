package testutil

import (
	"bytes"
	"log/slog"
	"os"
	"sync"
	"testing"
)

// Logger returns a debug-level slog.Logger whose records go to t.Log prefixed
// with name, so interleaved logs of several in-process nodes stay readable.
// Set GORAY_TEST_QUIET=1 to keep only warnings and errors.
func Logger(t testing.TB, name string) *slog.Logger {
	level := slog.LevelDebug
	if os.Getenv("GORAY_TEST_QUIET") != "" {
		level = slog.LevelWarn
	}
	w := &lineWriter{emit: func(line string) { t.Log(name + ": " + line) }}
	// Logging after the test ended panics in t.Log; stop forwarding first.
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// lineWriter splits writes into lines and hands each to emit until stopped.
type lineWriter struct {
	mu      sync.Mutex
	buf     []byte
	emit    func(string)
	stopped bool
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
	w.stopped = true
}
