package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// ProtocolVersion is exchanged in the hello frame; peers with another
// version are refused. v2: drivers announce their working dir and may
// upload their program (mBinary); forwarded tasks carry the working dir's
// package.
const ProtocolVersion = 2

// protocolMagic opens the hello frame so that a stray connection fails fast.
const protocolMagic = "goray-rt"

// maxFrame bounds one frame (a protection against garbage lengths; large
// objects travel through the shared-memory store, not frames).
const maxFrame = 1 << 31

// ErrProtocol is wrapped by every decoding failure of a frame.
var ErrProtocol = errors.New("runtime: protocol error")

// msgType is the first byte of a frame body.
type msgType uint8

// Message types. Never renumber: they are part of the wire format.
const (
	mHello       msgType = 1  // both ways: str=magic, n=version, id (client ID or node ID in str2); driver→node also str2=executable path, data=its hex sha256
	mSubmit      msgType = 2  // client→node: spec
	mCreateActor msgType = 3  // client→node: req, spec → mReply
	mPut         msgType = 4  // client→node: oid, data, ids=contained
	mGet         msgType = 5  // client→node: req, ids, flag=wantData → one mObject per id
	mUnsub       msgType = 6  // client→node: req
	mAddRef      msgType = 7  // client→node: ids
	mDelRef      msgType = 8  // client→node: ids
	mCancel      msgType = 9  // client→node: req, oid, flag=force → mReply
	mKill        msgType = 10 // client→node: req, tid=actor, flag=noRestart → mReply
	mGetActor    msgType = 11 // client→node: req, str=name → mReply(tid, str=class)
	mResources   msgType = 12 // client→node: req → mReply(res, res2)
	mPGCreate    msgType = 13 // client→node: req, bundles, n=strategy, str=name → mReply(str=id)
	mPGReady     msgType = 14 // client→node: req, str=id → mReply
	mPGRemove    msgType = 15 // client→node: req, str=id → mReply
	mTaskDone    msgType = 16 // worker→node: tid, results, err
	mBlocked     msgType = 17 // worker→node: tids=returned queued tasks
	mUnblocked   msgType = 18 // worker→node
	mReturned    msgType = 19 // worker→node: tids=tasks pushed while blocked
	mReply       msgType = 20 // node→client: req, err, tid, str, res, res2
	mObject      msgType = 21 // node→client: req, n=index, oid, data | str=path+n2=size | err
	mPush        msgType = 22 // node→worker: spec, args
	mCancelTask  msgType = 23 // node→worker: tid, flag=force
	mExit        msgType = 24 // node→worker
	mSteal       msgType = 25 // node→worker: give back queued tasks (mReturned)
	mBinary      msgType = 26 // driver→node: str=sha256, n=0 program | 1 working-dir package, data=a chunk, flag=last (with req → mReply; with askAcks every chunk has a req); sent when the hello reply's flag or n2 asks (driver_upload.go)
)

// wireArg is a resolved argument pushed to a worker: inline bytes, or a
// shared-memory file to map.
type wireArg struct {
	data []byte
	path string
	size int64
}

// wireResult is one return value in mTaskDone.
type wireResult struct {
	data      []byte
	contained []ObjectID
}

// msg is every protocol message: one struct with optional fields keeps the
// hand-written codec to a single encoder and decoder. A field mask says
// which fields follow, so unused fields cost nothing on the wire.
type msg struct {
	t       msgType
	req     uint64
	n       int64
	n2      int64
	flag    bool
	str     string
	str2    string
	oid     ObjectID
	tid     TaskID
	tids    []TaskID
	ids     []ObjectID
	data    []byte
	spec    *TaskSpec
	args    []wireArg
	results []wireResult
	err     *ErrorInfo
	res     map[string]float64
	res2    map[string]float64
	bundles []map[string]float64

	// Not on the wire: a large inline payload for in-process delivery.
	payload *Result
}

const (
	fReq uint32 = 1 << iota
	fN
	fN2
	fFlag
	fStr
	fStr2
	fOid
	fTid
	fTids
	fIDs
	fData
	fSpec
	fArgs
	fResults
	fErr
	fRes
	fRes2
	fBundles
)

func (m *msg) mask() uint32 {
	var f uint32
	set := func(b bool, bit uint32) {
		if b {
			f |= bit
		}
	}
	set(m.req != 0, fReq)
	set(m.n != 0, fN)
	set(m.n2 != 0, fN2)
	set(m.flag, fFlag)
	set(m.str != "", fStr)
	set(m.str2 != "", fStr2)
	set(m.oid != ObjectID{}, fOid)
	set(m.tid != TaskID{}, fTid)
	set(len(m.tids) > 0, fTids)
	set(len(m.ids) > 0, fIDs)
	set(m.data != nil || m.payload != nil, fData)
	set(m.spec != nil, fSpec)
	set(len(m.args) > 0, fArgs)
	set(len(m.results) > 0, fResults)
	set(m.err != nil, fErr)
	set(m.res != nil, fRes)
	set(m.res2 != nil, fRes2)
	set(len(m.bundles) > 0, fBundles)
	return f
}

// enc appends to a byte slice.
type enc struct{ b []byte }

func (e *enc) u8(v uint8)     { e.b = append(e.b, v) }
func (e *enc) uv(v uint64)    { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) iv(v int64)     { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) f64(v float64)  { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }
func (e *enc) str(s string)   { e.uv(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bytes(b []byte) { e.uv(uint64(len(b))); e.b = append(e.b, b...) }
func (e *enc) boolean(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}
func (e *enc) oids(ids []ObjectID) {
	e.uv(uint64(len(ids)))
	for i := range ids {
		e.b = append(e.b, ids[i][:]...)
	}
}
func (e *enc) resmap(m map[string]float64) {
	e.uv(uint64(len(m)))
	for k, v := range m {
		e.str(k)
		e.f64(v)
	}
}
func (e *enc) errinfo(x *ErrorInfo) {
	for x != nil {
		e.u8(uint8(x.Kind))
		e.str(x.Task)
		e.str(x.Message)
		e.str(x.Stack)
		e.iv(int64(x.ArgIndex))
		e.str(x.Want)
		e.str(x.Got)
		e.b = append(e.b, x.ObjectID[:]...)
		x = x.Cause
		e.boolean(x != nil)
	}
}
func (e *enc) taskspec(s *TaskSpec) {
	e.b = append(e.b, s.ID[:]...)
	e.u8(uint8(s.Kind))
	e.str(s.Func)
	e.b = append(e.b, s.Actor[:]...)
	e.uv(uint64(len(s.Args)))
	for _, a := range s.Args {
		e.boolean(a.IsRef)
		if a.IsRef {
			e.b = append(e.b, a.Ref[:]...)
		} else {
			e.bytes(a.Data)
		}
	}
	e.uv(uint64(s.NumReturns))
	e.resmap(s.Resources)
	e.iv(int64(s.MaxRetries))
	e.boolean(s.RetryExceptions)
	e.u8(uint8(s.Strategy.Kind))
	e.str(s.Strategy.Node)
	e.boolean(s.Strategy.Soft)
	e.str(s.Strategy.PG)
	e.iv(int64(s.Strategy.Bundle))
	e.oids(s.Contained)
	e.iv(int64(s.MaxRestarts))
	e.iv(int64(s.MaxTaskRetries))
	e.iv(int64(s.MaxConcurrency))
	e.str(s.Name)
	e.boolean(s.Detached)
	e.boolean(s.ResourcesSet)
	e.b = append(e.b, s.Parent[:]...)
}

// appendFrame appends m as one frame: u32 length, type, mask, fields.
// Large payloads are not copied here: big returns the bytes to write after
// the frame header (the frame length includes them).
func appendFrame(b []byte, m *msg) (out []byte, big []byte) {
	start := len(b)
	e := enc{b: append(b, 0, 0, 0, 0)}
	e.u8(uint8(m.t))
	f := m.mask()
	e.uv(uint64(f))
	if f&fReq != 0 {
		e.uv(m.req)
	}
	if f&fN != 0 {
		e.iv(m.n)
	}
	if f&fN2 != 0 {
		e.iv(m.n2)
	}
	if f&fStr != 0 {
		e.str(m.str)
	}
	if f&fStr2 != 0 {
		e.str(m.str2)
	}
	if f&fOid != 0 {
		e.b = append(e.b, m.oid[:]...)
	}
	if f&fTid != 0 {
		e.b = append(e.b, m.tid[:]...)
	}
	if f&fTids != 0 {
		e.uv(uint64(len(m.tids)))
		for i := range m.tids {
			e.b = append(e.b, m.tids[i][:]...)
		}
	}
	if f&fIDs != 0 {
		e.oids(m.ids)
	}
	if f&fSpec != 0 {
		e.taskspec(m.spec)
	}
	if f&fArgs != 0 {
		e.uv(uint64(len(m.args)))
		for _, a := range m.args {
			e.bytes(a.data)
			e.str(a.path)
			e.iv(a.size)
		}
	}
	if f&fResults != 0 {
		e.uv(uint64(len(m.results)))
		for _, r := range m.results {
			e.bytes(r.data)
			e.oids(r.contained)
		}
	}
	if f&fErr != 0 {
		e.errinfo(m.err)
	}
	if f&fRes != 0 {
		e.resmap(m.res)
	}
	if f&fRes2 != 0 {
		e.resmap(m.res2)
	}
	if f&fBundles != 0 {
		e.uv(uint64(len(m.bundles)))
		for _, bm := range m.bundles {
			e.resmap(bm)
		}
	}
	// data goes last so that a large payload can be written without copying.
	if f&fData != 0 {
		var head, body []byte
		if m.payload != nil {
			head, body = m.payload.Head, m.payload.Body
		} else {
			body = m.data
		}
		e.uv(uint64(len(head) + len(body)))
		e.b = append(e.b, head...)
		if len(body) < 64<<10 {
			e.b = append(e.b, body...)
		} else {
			big = body
		}
	}
	binary.LittleEndian.PutUint32(e.b[start:], uint32(len(e.b)-start-4+len(big)))
	return e.b, big
}

// dec reads fields; the first error sticks and later reads return zeros.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or bad %s", ErrProtocol, what)
	}
	d.b = nil
}
func (d *dec) u8() uint8 {
	if len(d.b) < 1 {
		d.fail("byte")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}
func (d *dec) uv() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}
func (d *dec) iv() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}
func (d *dec) f64() float64 {
	if len(d.b) < 8 {
		d.fail("float")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}
func (d *dec) raw(n uint64) []byte {
	if uint64(len(d.b)) < n {
		d.fail("bytes")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}
func (d *dec) bytes() []byte { return d.raw(d.uv()) }
func (d *dec) str() string   { return string(d.bytes()) }
func (d *dec) boolean() bool { return d.u8() != 0 }
func (d *dec) count(elem int) int {
	n := d.uv()
	if elem > 0 && n > uint64(len(d.b)/elem) {
		d.fail("count")
		return 0
	}
	if n > uint64(len(d.b)) {
		d.fail("count")
		return 0
	}
	return int(n)
}
func (d *dec) id20(dst *ObjectID) { copy(dst[:], d.raw(20)) }
func (d *dec) id16(dst *TaskID)   { copy(dst[:], d.raw(16)) }
func (d *dec) oids() []ObjectID {
	n := d.count(20)
	if n == 0 {
		return nil
	}
	out := make([]ObjectID, n)
	for i := range out {
		d.id20(&out[i])
	}
	return out
}
func (d *dec) resmap() map[string]float64 {
	n := d.count(9)
	m := make(map[string]float64, n)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.str()
		m[k] = d.f64()
	}
	return m
}
func (d *dec) errinfo() *ErrorInfo {
	var head *ErrorInfo
	p := &head
	for depth := 0; d.err == nil; depth++ {
		if depth > 64 {
			d.fail("error chain")
			return nil
		}
		x := &ErrorInfo{Kind: ErrKind(d.u8()), Task: d.str(), Message: d.str(), Stack: d.str(),
			ArgIndex: int(d.iv()), Want: d.str(), Got: d.str()}
		d.id20(&x.ObjectID)
		*p = x
		p = &x.Cause
		if !d.boolean() {
			break
		}
	}
	return head
}
func (d *dec) taskspec() *TaskSpec {
	s := &TaskSpec{}
	d.id16(&s.ID)
	s.Kind = TaskKind(d.u8())
	s.Func = d.str()
	d.id16(&s.Actor)
	n := d.count(1)
	s.Args = make([]Arg, n)
	for i := range s.Args {
		if d.boolean() {
			s.Args[i].IsRef = true
			d.id20(&s.Args[i].Ref)
		} else {
			s.Args[i].Data = d.bytes()
		}
	}
	s.NumReturns = int(d.uv())
	s.Resources = d.resmap()
	s.MaxRetries = int(d.iv())
	s.RetryExceptions = d.boolean()
	s.Strategy.Kind = StrategyKind(d.u8())
	s.Strategy.Node = d.str()
	s.Strategy.Soft = d.boolean()
	s.Strategy.PG = d.str()
	s.Strategy.Bundle = int(d.iv())
	s.Contained = d.oids()
	s.MaxRestarts = int(d.iv())
	s.MaxTaskRetries = int(d.iv())
	s.MaxConcurrency = int(d.iv())
	s.Name = d.str()
	s.Detached = d.boolean()
	s.ResourcesSet = d.boolean()
	d.id16(&s.Parent)
	return s
}

// decodeFrame decodes one frame body (without the length prefix). Byte
// slices in the result alias body.
func decodeFrame(body []byte) (*msg, error) {
	d := &dec{b: body}
	m := &msg{t: msgType(d.u8())}
	f64 := d.uv()
	if f64 > math.MaxUint32 || bits.Len64(f64) > 18 {
		return nil, fmt.Errorf("%w: bad field mask %#x", ErrProtocol, f64)
	}
	f := uint32(f64)
	if f&fReq != 0 {
		m.req = d.uv()
	}
	if f&fN != 0 {
		m.n = d.iv()
	}
	if f&fN2 != 0 {
		m.n2 = d.iv()
	}
	m.flag = f&fFlag != 0
	if f&fStr != 0 {
		m.str = d.str()
	}
	if f&fStr2 != 0 {
		m.str2 = d.str()
	}
	if f&fOid != 0 {
		d.id20(&m.oid)
	}
	if f&fTid != 0 {
		d.id16(&m.tid)
	}
	if f&fTids != 0 {
		n := d.count(16)
		m.tids = make([]TaskID, n)
		for i := range m.tids {
			d.id16(&m.tids[i])
		}
	}
	if f&fIDs != 0 {
		m.ids = d.oids()
	}
	if f&fSpec != 0 {
		m.spec = d.taskspec()
	}
	if f&fArgs != 0 {
		n := d.count(3)
		m.args = make([]wireArg, n)
		for i := range m.args {
			m.args[i] = wireArg{data: d.bytes(), path: d.str(), size: d.iv()}
		}
	}
	if f&fResults != 0 {
		n := d.count(2)
		m.results = make([]wireResult, n)
		for i := range m.results {
			m.results[i] = wireResult{data: d.bytes(), contained: d.oids()}
		}
	}
	if f&fErr != 0 {
		m.err = d.errinfo()
	}
	if f&fRes != 0 {
		m.res = d.resmap()
	}
	if f&fRes2 != 0 {
		m.res2 = d.resmap()
	}
	if f&fBundles != 0 {
		n := d.count(1)
		m.bundles = make([]map[string]float64, n)
		for i := range m.bundles {
			m.bundles[i] = d.resmap()
		}
	}
	if f&fData != 0 {
		m.data = d.bytes()
		if m.data == nil && d.err == nil {
			m.data = []byte{}
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("message type %d: %w", m.t, d.err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: message type %d: %d trailing bytes", ErrProtocol, m.t, len(d.b))
	}
	return m, nil
}
