package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/hashicorp/memberlist"
)

// Message types on the gossip user channel (the byte after the format
// version).
const (
	msgState     byte = 1 // one NodeState
	msgStateList byte = 2 // push/pull: every NodeState the sender knows
	msgLeave     byte = 3 // the sender is about to leave gracefully
)

// MaxStateSize bounds an encoded NodeState so that a broadcast always fits in
// one UDP packet next to memberlist's own messages.
const MaxStateSize = 1024

// ErrStateTooLarge means a NodeState would not fit in one gossip packet.
var ErrStateTooLarge = errors.New("cluster: node state too large for a gossip packet")

// Load is how busy a node is. The engine reports it; zero values are valid.
type Load struct {
	RunningTasks    int64
	PendingTasks    int64
	Workers         int64
	ObjectStoreUsed int64 // bytes
}

// NodeState is the frequently changing part of a node's advertisement:
// resources available now and load. It is broadcast on change, so peers' views
// are at most a gossip round or two old (about 200–400 ms with the LAN preset).
type NodeState struct {
	NodeID string
	// Seq orders states from one node: a receiver keeps the highest. It starts
	// at 1 on every run; a new run has a new NodeID, so no ordering across
	// restarts is needed.
	Seq       uint64
	Available map[string]float64
	Load      Load
	// Received is when this node learned the state (local clock, not sent).
	Received time.Time
}

func (s NodeState) clone() NodeState {
	s.Available = maps.Clone(s.Available)
	return s
}

func (s NodeState) marshal() ([]byte, error) {
	b := make([]byte, 0, 96)
	b = append(b, MetaFormatVersion, msgState)
	b = appendString(b, s.NodeID)
	b = binary.AppendUvarint(b, s.Seq)
	for _, v := range []int64{s.Load.RunningTasks, s.Load.PendingTasks, s.Load.Workers, s.Load.ObjectStoreUsed} {
		b = binary.AppendVarint(b, v)
	}
	b = appendResources(b, s.Available)
	if len(b) > MaxStateSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrStateTooLarge, len(b), MaxStateSize)
	}
	return b, nil
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.err = errors.New("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// unmarshalState decodes a message written by NodeState.marshal.
func unmarshalState(b []byte) (NodeState, error) {
	if len(b) < 2 || b[0] != MetaFormatVersion || b[1] != msgState {
		return NodeState{}, fmt.Errorf("%w: not a state message", ErrMetaCorrupt)
	}
	d := decoder{buf: b[2:]}
	s := NodeState{NodeID: d.string(), Seq: d.uvarint()}
	s.Load.RunningTasks = d.varint()
	s.Load.PendingTasks = d.varint()
	s.Load.Workers = d.varint()
	s.Load.ObjectStoreUsed = d.varint()
	s.Available = d.resources()
	if d.err != nil {
		return NodeState{}, fmt.Errorf("%w: state: %v", ErrMetaCorrupt, d.err)
	}
	return s, nil
}

func marshalStateList(states [][]byte) []byte {
	n := 3
	for _, s := range states {
		n += len(s) + binary.MaxVarintLen32
	}
	b := make([]byte, 0, n)
	b = append(b, MetaFormatVersion, msgStateList)
	b = binary.AppendUvarint(b, uint64(len(states)))
	for _, s := range states {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

func unmarshalStateList(b []byte) ([]NodeState, error) {
	if len(b) < 2 || b[0] != MetaFormatVersion || b[1] != msgStateList {
		return nil, fmt.Errorf("%w: not a state list", ErrMetaCorrupt)
	}
	d := decoder{buf: b[2:]}
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		return nil, fmt.Errorf("%w: state list count %d", ErrMetaCorrupt, n)
	}
	out := make([]NodeState, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		raw := d.string()
		if d.err != nil {
			break
		}
		s, err := unmarshalState([]byte(raw))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: state list: %v", ErrMetaCorrupt, d.err)
	}
	return out, nil
}

// stateBroadcast is a memberlist.NamedBroadcast: one name per node, so a newer
// state queued before an older one went out replaces it.
type stateBroadcast struct {
	name string
	msg  []byte
}

func (b *stateBroadcast) Name() string    { return b.name }
func (b *stateBroadcast) Message() []byte { return b.msg }
func (b *stateBroadcast) Finished()       {}

// Invalidates is kept consistent with Name; memberlist v0.7 uses Name for
// NamedBroadcast values and Invalidates only for the rest.
func (b *stateBroadcast) Invalidates(other memberlist.Broadcast) bool {
	o, ok := other.(*stateBroadcast)
	return ok && o.name == b.name
}

var _ memberlist.NamedBroadcast = (*stateBroadcast)(nil)
