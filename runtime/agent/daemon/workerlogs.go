package daemon

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/goray/goray/runtime/state"
)

// workerLogLimit bounds what the state API keeps of one worker's output;
// the file under <data_dir>/logs/workers keeps all of it.
const workerLogLimit = 1 << 20

// refreshWorkerLogs copies what workers wrote to their log files since the
// last refresh into the state API, one log per worker keyed by its PID
// (what /api/v0/tasks and /api/v0/actors show), so `goray logs --worker PID`
// and the dashboard read them from any daemon's API.
func (o *observer) refreshWorkerLogs() {
	node := o.d.Node()
	if node == nil {
		return
	}
	dir := filepath.Join(o.d.cfg.DataDir, "logs", "workers")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		pid, ok := strings.CutPrefix(name, "worker-")
		if !ok || !strings.HasSuffix(pid, ".log") {
			continue
		}
		pid = strings.TrimSuffix(pid, ".log")
		info, err := e.Info()
		if err != nil {
			continue
		}
		o.mu.Lock()
		off := o.workerLogs[name]
		o.mu.Unlock()
		if info.Size() <= off {
			continue
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		data, err := io.ReadAll(io.NewSectionReader(f, off, info.Size()-off))
		f.Close()
		if err != nil || len(data) == 0 {
			continue
		}
		key := state.LogQuery{Node: o.self, Worker: pid}
		if off == 0 {
			o.src.LimitLog(key, workerLogLimit)
		}
		o.src.AppendLog(key, string(data))
		o.mu.Lock()
		o.workerLogs[name] = off + int64(len(data))
		o.mu.Unlock()
	}
}
