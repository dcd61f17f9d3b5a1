package cluster

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
)

// MetaFormatVersion is the first byte of every encoded NodeMeta. A node that
// receives meta with a different version refuses the peer (see
// Membership's alive check) instead of misreading it, so the format can evolve
// by bumping this byte.
const MetaFormatVersion byte = 1

// MetaMaxSize is memberlist's hard cap on node metadata (memberlist.MetaMaxSize).
// Anything larger is refused by Validate rather than silently truncated.
const MetaMaxSize = 512

// Sentinel errors for node metadata; test for them with errors.Is.
var (
	// ErrMetaTooLarge means the encoded NodeMeta exceeds MetaMaxSize, usually
	// because of many or long custom resource names.
	ErrMetaTooLarge = errors.New("cluster: node metadata too large")
	// ErrMetaVersion means the metadata was written by an incompatible format.
	ErrMetaVersion = errors.New("cluster: unsupported node metadata version")
	// ErrMetaCorrupt means the metadata could not be decoded.
	ErrMetaCorrupt = errors.New("cluster: corrupt node metadata")
)

// NodeMeta is what a node advertises through gossip: small, rarely changing
// facts about itself. Availability and load change often and travel in
// NodeState broadcasts instead.
type NodeMeta struct {
	// Version is the goray version of the daemon.
	Version string
	// ID identifies one run of a node. It is random per start, so a restarted
	// node rejoins under a new identity and its predecessor stays dead.
	ID string
	// Name is the human-chosen node name (not unique across restarts).
	Name string
	// RPCAddr is host:port of the node's goray.cluster.v1 gRPC service.
	RPCAddr string
	// HTTPAddr is host:port of the node's HTTP API.
	HTTPAddr string
	// Resources are the node's total resources ("CPU", "GPU", "memory",
	// "object_store_memory" and custom ones).
	Resources map[string]float64
}

// NewNodeID returns a fresh random node ID (32 hex digits).
func NewNodeID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on Linux; a panic here is a broken system.
		panic(fmt.Sprintf("cluster: crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// Validate checks that the metadata is complete and encodes within
// MetaMaxSize.
func (m NodeMeta) Validate() error {
	_, err := m.MarshalBinary()
	return err
}

// MarshalBinary encodes the metadata. Resources are sorted by name so equal
// metadata always encodes to equal bytes (memberlist compares them to decide
// whether to send an update).
func (m NodeMeta) MarshalBinary() ([]byte, error) {
	if m.ID == "" {
		return nil, fmt.Errorf("cluster: node metadata: empty node ID")
	}
	for name, v := range m.Resources {
		if name == "" {
			return nil, fmt.Errorf("cluster: node metadata: empty resource name")
		}
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("cluster: node metadata: resource %q has invalid amount %v", name, v)
		}
	}
	b := make([]byte, 0, 128)
	b = append(b, MetaFormatVersion)
	b = appendString(b, m.Version)
	b = appendString(b, m.ID)
	b = appendString(b, m.Name)
	b = appendString(b, m.RPCAddr)
	b = appendString(b, m.HTTPAddr)
	b = appendResources(b, m.Resources)
	if len(b) > MetaMaxSize {
		return nil, fmt.Errorf("%w: %d bytes encoded, limit %d (%d resources; shorten or drop custom resources)",
			ErrMetaTooLarge, len(b), MetaMaxSize, len(m.Resources))
	}
	return b, nil
}

// UnmarshalBinary decodes metadata written by MarshalBinary.
func (m *NodeMeta) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", ErrMetaCorrupt)
	}
	if b[0] != MetaFormatVersion {
		return fmt.Errorf("%w: got %d, want %d", ErrMetaVersion, b[0], MetaFormatVersion)
	}
	d := decoder{buf: b[1:]}
	out := NodeMeta{
		Version:  d.string(),
		ID:       d.string(),
		Name:     d.string(),
		RPCAddr:  d.string(),
		HTTPAddr: d.string(),
	}
	out.Resources = d.resources()
	if d.err != nil {
		return fmt.Errorf("%w: %v", ErrMetaCorrupt, d.err)
	}
	*m = out
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendResources(b []byte, r map[string]float64) []byte {
	names := make([]string, 0, len(r))
	for k := range r {
		names = append(names, k)
	}
	sort.Strings(names)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, k := range names {
		b = appendString(b, k)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r[k]))
	}
	return b
}

// decoder reads the varint/length-prefixed encoding; the first error sticks so
// call sites stay linear.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = errors.New("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.buf)) {
		d.err = fmt.Errorf("string length %d exceeds %d remaining bytes", n, len(d.buf))
		return ""
	}
	s := string(d.buf[:n])
	d.buf = d.buf[n:]
	return s
}

func (d *decoder) float() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.buf) < 8 {
		d.err = errors.New("short float")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.buf))
	d.buf = d.buf[8:]
	return v
}

func (d *decoder) resources() map[string]float64 {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) { // each entry takes at least one byte
		d.err = fmt.Errorf("resource count %d exceeds remaining bytes", n)
		return nil
	}
	r := make(map[string]float64, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.string()
		r[k] = d.float()
	}
	return r
}
