package rollout

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// sampleBatchWire is the version of SampleBatch's binary encoding.
const sampleBatchWire = 1

// ErrBadBatch reports a SampleBatch encoding that cannot be decoded.
var ErrBadBatch = errors.New("bad sample batch encoding")

// GobEncode writes the batch as little-endian columns, so a batch crosses
// the object store at memory speed instead of gob's per-element encoding
// (batches are the bulk of what rollout workers send back).
func (b *SampleBatch) GobEncode() ([]byte, error) {
	cols := b.columns()
	n := 8 * 8
	for _, c := range cols {
		n += 8 + 4*len(*c)
	}
	n += 8 + 8*len(b.EpisodeRewards) + 8 + 8*len(b.EpisodeLengths)
	out := make([]byte, 0, n)
	for _, v := range []int{sampleBatchWire, b.RowDim, b.ActDim, b.DistDim, b.WorkerIndex} {
		out = binary.LittleEndian.AppendUint64(out, uint64(v))
	}
	for _, c := range cols {
		out = binary.LittleEndian.AppendUint64(out, uint64(len(*c)))
		for _, v := range *c {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	out = binary.LittleEndian.AppendUint64(out, uint64(len(b.EpisodeRewards)))
	for _, v := range b.EpisodeRewards {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
	}
	out = binary.LittleEndian.AppendUint64(out, uint64(len(b.EpisodeLengths)))
	for _, v := range b.EpisodeLengths {
		out = binary.LittleEndian.AppendUint64(out, uint64(v))
	}
	return out, nil
}

// GobDecode reads GobEncode's format.
func (b *SampleBatch) GobDecode(data []byte) error {
	r := reader{buf: data}
	if v := r.u64(); v != sampleBatchWire {
		return fmt.Errorf("%w: version %d, want %d", ErrBadBatch, v, sampleBatchWire)
	}
	b.RowDim, b.ActDim, b.DistDim, b.WorkerIndex = int(r.u64()), int(r.u64()), int(r.u64()), int(r.u64())
	for _, c := range b.columns() {
		n := r.count(4)
		*c = nil
		if n > 0 {
			*c = make([]float32, n)
		}
		for i := range *c {
			(*c)[i] = math.Float32frombits(r.u32())
		}
	}
	b.EpisodeRewards, b.EpisodeLengths = nil, nil
	for range r.count(8) {
		b.EpisodeRewards = append(b.EpisodeRewards, math.Float64frombits(r.u64()))
	}
	for range r.count(8) {
		b.EpisodeLengths = append(b.EpisodeLengths, int(r.u64()))
	}
	if r.err != nil {
		return r.err
	}
	if len(r.buf) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadBatch, len(r.buf))
	}
	return nil
}

func (b *SampleBatch) columns() []*[]float32 {
	return []*[]float32{&b.Obs, &b.Actions, &b.Rewards, &b.ActionLogp, &b.ActionDistInputs, &b.VfPreds, &b.Advantages, &b.ValueTargets}
}

// reader consumes little-endian values and remembers the first error.
type reader struct {
	buf []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || len(r.buf) < n {
		if r.err == nil {
			r.err = fmt.Errorf("%w: truncated", ErrBadBatch)
		}
		return make([]byte, n)
	}
	b := r.buf[:n]
	r.buf = r.buf[n:]
	return b
}

func (r *reader) u64() uint64 { return binary.LittleEndian.Uint64(r.take(8)) }
func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }

// count reads a length and checks that many elements of size bytes fit.
func (r *reader) count(size int) int {
	n := r.u64()
	if r.err == nil && n > uint64(len(r.buf)/size) {
		r.err = fmt.Errorf("%w: length %d exceeds the data", ErrBadBatch, n)
		return 0
	}
	return int(n)
}
