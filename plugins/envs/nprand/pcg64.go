package nprand

import "math/bits"

// PCG64's 128-bit LCG multiplier (PCG_DEFAULT_MULTIPLIER_128).
const (
	pcgMultHi = 0x2360ED051FC65DA4
	pcgMultLo = 0x4385DF649FCCF645
)

// PCG64 is numpy's PCG64 bit generator (XSL-RR output on a 128-bit LCG),
// including its buffered 32-bit output.
type PCG64 struct {
	stateHi, stateLo uint64
	incHi, incLo     uint64
	// hasUint32/uinteger buffer the high half of a 64-bit draw for the next
	// 32-bit request, exactly as numpy's pcg64_next32 does.
	hasUint32 bool
	uinteger  uint32
}

// NewPCG64 seeds a PCG64 from a SeedSequence as numpy's PCG64(seed_seq) does.
func NewPCG64(ss *SeedSequence) *PCG64 {
	w := ss.GenerateState64(4)
	return NewPCG64FromState(w[0], w[1], w[2], w[3])
}

// NewPCG64FromState runs pcg_setseq_128_srandom with initstate = s0·2^64+s1
// and initseq = q0·2^64+q1.
func NewPCG64FromState(s0, s1, q0, q1 uint64) *PCG64 {
	p := &PCG64{}
	// inc = initseq<<1 | 1
	p.incHi = q0<<1 | q1>>63
	p.incLo = q1<<1 | 1
	p.step()
	var c uint64
	p.stateLo, c = bits.Add64(p.stateLo, s1, 0)
	p.stateHi, _ = bits.Add64(p.stateHi, s0, c)
	p.step()
	return p
}

// step advances the LCG: state = state·M + inc (mod 2^128).
func (p *PCG64) step() {
	hi, lo := bits.Mul64(p.stateLo, pcgMultLo)
	hi += p.stateHi*pcgMultLo + p.stateLo*pcgMultHi
	var c uint64
	lo, c = bits.Add64(lo, p.incLo, 0)
	hi, _ = bits.Add64(hi, p.incHi, c)
	p.stateHi, p.stateLo = hi, lo
}

// Uint64 returns the next 64-bit output: advance, then XSL-RR.
func (p *PCG64) Uint64() uint64 {
	p.step()
	return bits.RotateLeft64(p.stateHi^p.stateLo, -int(p.stateHi>>58))
}

// Uint32 returns the next 32-bit output: the low half of a fresh 64-bit
// draw, keeping the high half for the following call.
func (p *PCG64) Uint32() uint32 {
	if p.hasUint32 {
		p.hasUint32 = false
		return p.uinteger
	}
	v := p.Uint64()
	p.hasUint32 = true
	p.uinteger = uint32(v >> 32)
	return uint32(v)
}

// Float64 is numpy's next_double: 53 random bits scaled to [0, 1).
func (p *PCG64) Float64() float64 {
	return float64(p.Uint64()>>11) * (1.0 / 9007199254740992.0)
}
