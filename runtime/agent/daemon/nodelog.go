package daemon

import (
	"log/slog"
	"sync"

	"github.com/goray/goray/runtime/state"
)

// The daemon's own log, kept in memory for /api/v0/logs?node=<id> (the
// dashboard's per-node "log" link and `goray logs --node`). It holds the
// last nodeLogLimit bytes of INFO and above, whatever the daemon's log
// level: debug lines would push everything useful out.
const (
	nodeLogLimit   = 4 << 20
	nodeLogPending = 1 << 20
)

// nodeLog is an io.Writer for a slog text handler that appends each line
// to the node's log in the state source. The node's ID is chosen in Start,
// after the logger is made, so lines written before attach wait (up to
// nodeLogPending bytes).
type nodeLog struct {
	mu      sync.Mutex
	src     *state.MemorySource
	key     state.LogQuery
	pending []byte
}

func (w *nodeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.key.Node == "" {
		if len(w.pending)+len(p) <= nodeLogPending {
			w.pending = append(w.pending, p...)
		}
		return len(p), nil
	}
	w.src.AppendLog(w.key, string(p))
	return len(p), nil
}

// attach names the node the log belongs to and flushes what waited.
func (w *nodeLog) attach(nodeID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.key = state.LogQuery{Node: nodeID}
	w.src.LimitLog(w.key, nodeLogLimit)
	if len(w.pending) > 0 {
		w.src.AppendLog(w.key, string(w.pending))
		w.pending = nil
	}
}

// teeLog returns log writing also to a nodeLog over src.
func teeLog(log *slog.Logger, src *state.MemorySource) (*slog.Logger, *nodeLog) {
	w := &nodeLog{src: src}
	h := slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})
	return slog.New(slog.NewMultiHandler(log.Handler(), h)), w
}
