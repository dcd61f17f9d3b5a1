package nprand

import (
	"errors"
	"fmt"
	"math/big"
)

// SeedSequence constants, numpy/random/bit_generator.pyx.
const (
	poolSize  = 4
	initA     = 0x43b0d7e5
	multA     = 0x931e8875
	initB     = 0x8b51f9dd
	multB     = 0x58f38ded
	mixMultL  = 0xca01f9dd
	mixMultR  = 0x4973f715
	xorShift  = 16
	wordBits  = 32
	wordsMask = 0xffffffff
)

// ErrNegativeSeed is returned for a negative integer seed: numpy (and
// Gymnasium) reject them, so accepting one would silently diverge.
var ErrNegativeSeed = errors.New("nprand: seed must be a non-negative integer")

// SeedSequence is numpy's SeedSequence for an integer entropy value with no
// spawn key and the default pool size of 4. It is immutable once built.
type SeedSequence struct {
	pool [poolSize]uint32
}

// NewSeedSequence builds the sequence for a non-negative int64 seed, the
// common case (Gymnasium's reset(seed=...)).
func NewSeedSequence(seed int64) (*SeedSequence, error) {
	if seed < 0 {
		return nil, fmt.Errorf("%w: got %d", ErrNegativeSeed, seed)
	}
	return NewSeedSequenceUint64(uint64(seed)), nil
}

// NewSeedSequenceUint64 builds the sequence for a seed of up to 64 bits.
// Seeds of 2^32 and above take two entropy words, as numpy splits them.
func NewSeedSequenceUint64(seed uint64) *SeedSequence {
	if seed>>wordBits == 0 {
		return NewSeedSequenceWords([]uint32{uint32(seed)})
	}
	return NewSeedSequenceWords([]uint32{uint32(seed), uint32(seed >> wordBits)})
}

// NewSeedSequenceBig builds the sequence for an arbitrarily large
// non-negative integer, split into 32-bit words least significant first.
func NewSeedSequenceBig(seed *big.Int) (*SeedSequence, error) {
	if seed.Sign() < 0 {
		return nil, fmt.Errorf("%w: got %s", ErrNegativeSeed, seed)
	}
	v := new(big.Int).Set(seed)
	mask := big.NewInt(wordsMask)
	var words []uint32
	for v.Sign() > 0 {
		words = append(words, uint32(new(big.Int).And(v, mask).Uint64()))
		v.Rsh(v, wordBits)
	}
	if len(words) == 0 {
		words = []uint32{0}
	}
	return NewSeedSequenceWords(words), nil
}

// NewSeedSequenceWords builds the sequence from entropy already split into
// 32-bit words (least significant first), which is also how numpy treats an
// array of uint32 entropy.
func NewSeedSequenceWords(words []uint32) *SeedSequence {
	h := uint32(initA)
	hashmix := func(v uint32) uint32 {
		v ^= h
		h *= multA
		v *= h
		v ^= v >> xorShift
		return v
	}
	mix := func(x, y uint32) uint32 {
		r := mixMultL*x - mixMultR*y
		return r ^ (r >> xorShift)
	}
	var ss SeedSequence
	for i := range poolSize {
		var w uint32
		if i < len(words) {
			w = words[i]
		}
		ss.pool[i] = hashmix(w)
	}
	for src := range poolSize {
		for dst := range poolSize {
			if src != dst {
				ss.pool[dst] = mix(ss.pool[dst], hashmix(ss.pool[src]))
			}
		}
	}
	for src := poolSize; src < len(words); src++ {
		for dst := range poolSize {
			ss.pool[dst] = mix(ss.pool[dst], hashmix(words[src]))
		}
	}
	return &ss
}

// GenerateState32 returns n uint32 words of state, numpy's
// generate_state(n, np.uint32).
func (ss *SeedSequence) GenerateState32(n int) []uint32 {
	out := make([]uint32, n)
	c := uint32(initB)
	for i := range out {
		v := ss.pool[i%poolSize]
		v ^= c
		c *= multB
		v *= c
		v ^= v >> xorShift
		out[i] = v
	}
	return out
}

// GenerateState64 returns n uint64 words, numpy's generate_state(n,
// np.uint64): pairs of uint32 outputs viewed little-endian.
func (ss *SeedSequence) GenerateState64(n int) []uint64 {
	w := ss.GenerateState32(2 * n)
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(w[2*i]) | uint64(w[2*i+1])<<wordBits
	}
	return out
}
