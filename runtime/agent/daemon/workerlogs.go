package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goray/goray/runtime/state"
)

// workerLogLimit bounds what the state API keeps of one worker's output;
// the file under <data_dir>/logs/workers keeps the rest, up to the
// rotation cap (worker.log_max_size) and its rotated copies.
const workerLogLimit = 1 << 20

// Worker log rotation.
//
// A worker writes its stdout and stderr straight into its log file
// through a descriptor opened with O_APPEND (runtime.NodeConfig.
// WorkerLogDir): no goroutine of the node sits in the path, so a worker's
// output costs the node nothing and survives the node's own stalls. The
// daemon therefore rotates the way logrotate's copytruncate does: it
// copies the file to worker-<pid>.log.1 (after shifting .1 to .2 and so
// on, dropping the oldest past worker.log_backups) and truncates the
// file; the worker's next write lands at offset 0, since O_APPEND writes
// at the current end. Bytes written between the last copy and the
// truncation would be lost, so the copy is repeated until the file stops
// growing and the window is a few system calls wide.
//
// The state API (and so `goray logs --worker PID` and the dashboard) never
// read the files: the observer publishes every byte to it before the file
// is truncated, and then follows the emptied file from offset 0.

// logRotation is the rotation policy of worker log files.
type logRotation struct {
	maxSize int64 // rotate once a file holds this much; <= 0: never
	backups int   // rotated files kept; <= 0: none (the file is emptied)
}

// due reports whether a file of size bytes must be rotated.
func (r logRotation) due(size int64) bool { return r.maxSize > 0 && size >= r.maxSize }

// rotatedName is the k-th rotated copy of path (1 is the newest).
func rotatedName(path string, k int) string { return path + "." + strconv.Itoa(k) }

// shiftPlan lists the renames that make room for a new path.1: from the
// oldest kept copy down, path.k becomes path.k+1, and path.backups (which
// would become one too many) is removed first. With no backups kept,
// nothing is shifted and nothing removed.
func (r logRotation) shiftPlan(path string) (remove string, renames [][2]string) {
	if r.backups <= 0 {
		return "", nil
	}
	remove = rotatedName(path, r.backups)
	for k := r.backups - 1; k >= 1; k-- {
		renames = append(renames, [2]string{rotatedName(path, k), rotatedName(path, k+1)})
	}
	return remove, renames
}

// rotate moves path's content into path.1 (shifting the older copies) and
// empties path. Before truncating it calls publish with the file and the
// size of the content it moved, so that the caller can read what it has
// not published yet: after the truncation those bytes live only in the
// copy (or nowhere, with no backups kept).
func (r logRotation) rotate(path string, publish func(f *os.File, end int64) error) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("rotate worker log: %w", err)
	}
	defer f.Close()
	var tmp *os.File
	if r.backups > 0 {
		tmp, err = os.CreateTemp(filepath.Dir(path), ".rotate-*")
		if err != nil {
			return fmt.Errorf("rotate worker log %s: %w", path, err)
		}
		defer func() {
			tmp.Close()
			_ = os.Remove(tmp.Name()) // gone already once renamed
		}()
	}
	// Copy until the file stops growing: the worker may be writing.
	var end int64
	for range 8 {
		info, err := f.Stat()
		if err != nil {
			return fmt.Errorf("rotate worker log %s: %w", path, err)
		}
		if info.Size() <= end {
			break
		}
		if tmp != nil {
			if _, err := io.Copy(tmp, io.NewSectionReader(f, end, info.Size()-end)); err != nil {
				return fmt.Errorf("rotate worker log %s: copy: %w", path, err)
			}
		}
		end = info.Size()
	}
	if err := publish(f, end); err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("rotate worker log %s: %w", path, err)
	}
	if tmp == nil {
		return nil
	}
	remove, renames := r.shiftPlan(path)
	if err := os.Remove(remove); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("rotate worker log %s: %w", path, err)
	}
	for _, rn := range renames {
		if err := os.Rename(rn[0], rn[1]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate worker log %s: %w", path, err)
		}
	}
	if err := os.Rename(tmp.Name(), rotatedName(path, 1)); err != nil {
		return fmt.Errorf("rotate worker log %s: %w", path, err)
	}
	return nil
}

// follow publishes what the log file at path gained since off (the bytes
// already published) and rotates it once it reaches the cap. It returns
// the new offset: 0 after a rotation. A file found shorter than off was
// truncated by someone else; it is followed again from its start.
func (r logRotation) follow(path string, off int64, publish func(text string)) (int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return off, fmt.Errorf("follow worker log: %w", err)
	}
	size := info.Size()
	if size < off {
		off = 0
	}
	if size > off {
		f, err := os.Open(path)
		if err != nil {
			return off, fmt.Errorf("follow worker log: %w", err)
		}
		data, err := io.ReadAll(io.NewSectionReader(f, off, size-off))
		f.Close()
		if err != nil {
			return off, fmt.Errorf("follow worker log %s: %w", path, err)
		}
		if len(data) > 0 {
			publish(string(data))
			off += int64(len(data))
		}
	}
	if !r.due(off) {
		return off, nil
	}
	err = r.rotate(path, func(f *os.File, end int64) error {
		if end <= off {
			return nil
		}
		data, err := io.ReadAll(io.NewSectionReader(f, off, end-off))
		if err != nil {
			return fmt.Errorf("rotate worker log %s: %w", path, err)
		}
		publish(string(data))
		return nil
	})
	if err != nil {
		return off, err
	}
	return 0, nil
}

// refreshWorkerLogs copies what workers wrote to their log files since the
// last refresh into the state API, one log per worker keyed by its PID
// (what /api/v0/tasks and /api/v0/actors show), so `goray logs --worker PID`
// and the dashboard read them from any daemon's API; and it rotates the
// files that reached worker.log_max_size.
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
	rot := logRotation{maxSize: int64(o.d.cfg.Worker.LogMaxSize), backups: o.d.cfg.Worker.LogBackups}
	for _, e := range ents {
		name := e.Name()
		pid, ok := strings.CutPrefix(name, "worker-")
		if !ok || !strings.HasSuffix(pid, ".log") {
			continue // rotated copies (worker-<pid>.log.N) were published already
		}
		pid = strings.TrimSuffix(pid, ".log")
		key := state.LogQuery{Node: o.self, Worker: pid}
		o.mu.Lock()
		off, seen := o.workerLogs[name]
		o.mu.Unlock()
		next, err := rot.follow(filepath.Join(dir, name), off, func(text string) {
			if !seen {
				o.src.LimitLog(key, workerLogLimit)
				seen = true
			}
			o.src.AppendLog(key, text)
		})
		if err != nil {
			o.log.Debug("worker log", "file", name, "err", err)
		}
		if seen {
			o.mu.Lock()
			o.workerLogs[name] = next
			o.mu.Unlock()
		}
	}
}
