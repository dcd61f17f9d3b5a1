package remote

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
)

// Pending warnings across nodes.
//
// Work that cannot be scheduled warns its submitter (runtime/demand.go).
// A task forwarded to a peer (hard NodeAffinity to a busy node, or a shape
// that fits only there) waits in the peer's queue, so the peer is the one
// that sees it wait; its submitter, a driver, is a session of the owner
// node. The peer sends the warning back in one kindWarning frame, and the
// owner delivers it to the driver once per shape, as for work waiting
// locally. It is advice, so a frame that is lost (the owner died, the
// task finished meanwhile) is dropped without retry.

// kindWarning carries a pending warning to a forwarded task's owner node:
// the task's ID (16 bytes), uvarint length + resource shape, the text.
const kindWarning = "rt.warning/v1"

// warningSendTimeout bounds relaying one warning.
const warningSendTimeout = 10 * time.Second

// errBadWarning reports a kindWarning frame that does not decode.
var errBadWarning = errors.New("malformed pending-warning frame")

func (e *Engine) startWarnings() {
	e.cancels = append(e.cancels, e.tr.Subscribe(kindWarning, e.onWarning))
}

// RelayWarning implements grt.WarningRelay: it sends a warning about task
// to its owner node.
func (e *Engine) RelayWarning(node string, task grt.TaskID, shape, text string) {
	ctx, cancel := context.WithTimeout(context.Background(), warningSendTimeout)
	defer cancel()
	err := e.tr.Send(ctx, node, cluster.Frame{Kind: kindWarning, Last: true, Payload: encodeWarning(task, shape, text)})
	if err != nil {
		e.log.Warn("cannot relay a pending warning to the task's owner", "node", node, "task", task, "err", err)
	}
}

func (e *Engine) onWarning(_ context.Context, f cluster.Frame) {
	task, shape, text, err := decodeWarning(f.Payload)
	if err != nil {
		e.log.Warn("dropped a pending warning", "from", f.From, "err", err)
		return
	}
	e.node.DeliverWarning(task, shape, text)
}

func encodeWarning(task grt.TaskID, shape, text string) []byte {
	b := make([]byte, 0, len(task)+binary.MaxVarintLen64+len(shape)+len(text))
	b = append(b, task[:]...)
	b = binary.AppendUvarint(b, uint64(len(shape)))
	b = append(b, shape...)
	return append(b, text...)
}

func decodeWarning(b []byte) (task grt.TaskID, shape, text string, err error) {
	if len(b) < len(task) {
		return task, "", "", fmt.Errorf("%w: %d bytes, want at least %d", errBadWarning, len(b), len(task))
	}
	copy(task[:], b)
	b = b[len(task):]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return task, "", "", fmt.Errorf("%w: bad shape length", errBadWarning)
	}
	b = b[k:]
	return task, string(b[:n]), string(b[n:]), nil
}

var _ grt.WarningRelay = (*Engine)(nil)
