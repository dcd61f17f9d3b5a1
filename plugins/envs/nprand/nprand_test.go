package nprand

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

// Values numpy prints for these seeds (numpy's own documentation and the
// Gymnasium docstring examples of reference §6).
func TestKnownNumpyValues(t *testing.T) {
	if got := MustNPRandom(12345).Random(); got != 0.22733602246716966 {
		t.Errorf("default_rng(12345).random() = %v, want 0.22733602246716966", got)
	}
	if got := MustNPRandom(0).Random(); got != 0.6369616873214543 {
		t.Errorf("default_rng(0).random() = %v, want 0.6369616873214543", got)
	}
	g := MustNPRandom(42)
	for i, want := range []float64{0.7739560485559633, 0.4388784397520523, 0.8585979199113825} {
		if got := g.Random(); got != want {
			t.Errorf("default_rng(42).random(3)[%d] = %v, want %v", i, got, want)
		}
	}
	g = MustNPRandom(12345)
	for i, want := range []int64{6, 2, 7} {
		if got := g.Integers(0, 10); got != want {
			t.Errorf("default_rng(12345).integers(0, 10, 3)[%d] = %d, want %d", i, got, want)
		}
	}
	// CartPole-v1 reset(seed=123, low=-0.1, high=0.1), float32.
	g = MustNPRandom(123)
	for i, want := range []float32{0.03647037, -0.0892358, -0.05592803, -0.06312564} {
		got := float32(g.Uniform(-0.1, 0.1))
		if math.Abs(float64(got-want)) > 0.5e-8 {
			t.Errorf("uniform[%d] = %v, want %v", i, got, want)
		}
	}
}

// default_rng(42).standard_normal(10) as numpy prints it (8 decimals).
func TestStandardNormalMatchesNumpy(t *testing.T) {
	want := []float64{0.30471708, -1.03998411, 0.7504512, 0.94056472, -1.95103519, -1.30217951, 0.1278404, -0.31624259, -0.01680116, -0.85304393}
	g := MustNPRandom(42)
	for i, w := range want {
		if got := g.StandardNormal(); math.Abs(got-w) > 0.5e-8*(1+1e-9) {
			t.Errorf("standard_normal[%d] = %.10f, want %v", i, got, w)
		}
	}
}

func TestStandardNormalMoments(t *testing.T) {
	g := MustNPRandom(7)
	n := 200000
	var s, s2, e float64
	for range n {
		x := g.StandardNormal()
		s += x
		s2 += x * x
		e += g.StandardExponential()
	}
	mean, variance, emean := s/float64(n), s2/float64(n)-(s/float64(n))*(s/float64(n)), e/float64(n)
	if math.Abs(mean) > 0.015 || math.Abs(variance-1) > 0.02 || math.Abs(emean-1) > 0.015 {
		t.Errorf("normal mean %v var %v, exponential mean %v", mean, variance, emean)
	}
}

func TestSeedSequenceWords(t *testing.T) {
	// A seed below 2^32 is one word; 0 is one zero word.
	if a, b := NewSeedSequenceUint64(5), NewSeedSequenceWords([]uint32{5}); a.pool != b.pool {
		t.Error("seed 5 != words [5]")
	}
	if a, b := NewSeedSequenceUint64(0), NewSeedSequenceWords([]uint32{0}); a.pool != b.pool {
		t.Error("seed 0 != words [0]")
	}
	// A seed of 2^32 and above is split least significant word first.
	seed := uint64(0x1234_5678_9abc_def0)
	if a, b := NewSeedSequenceUint64(seed), NewSeedSequenceWords([]uint32{0x9abcdef0, 0x12345678}); a.pool != b.pool {
		t.Error("64-bit seed not split low word first")
	}
	// Six words exercise the extra-word mixing beyond the pool size.
	big6, _ := new(big.Int).SetString("0102030405060708090a0b0c0d0e0f101112131415161718", 16)
	bs, err := NewSeedSequenceBig(big6)
	if err != nil {
		t.Fatal(err)
	}
	words := []uint32{0x15161718, 0x11121314, 0x0d0e0f10, 0x090a0b0c, 0x05060708, 0x01020304}
	if bs.pool != NewSeedSequenceWords(words).pool {
		t.Error("big seed not split into words low first")
	}
	if bs.pool == NewSeedSequenceWords(words[:4]).pool {
		t.Error("words beyond the pool size were ignored")
	}
	if _, err := NewSeedSequence(-1); !errors.Is(err, ErrNegativeSeed) {
		t.Errorf("negative seed: err = %v, want ErrNegativeSeed", err)
	}
	if _, err := NPRandom(-3); !errors.Is(err, ErrNegativeSeed) {
		t.Errorf("NPRandom(-3): err = %v", err)
	}
}

func TestUint32Buffering(t *testing.T) {
	a := NewPCG64(NewSeedSequenceUint64(99))
	b := NewPCG64(NewSeedSequenceUint64(99))
	v := b.Uint64()
	if lo, hi := a.Uint32(), a.Uint32(); lo != uint32(v) || hi != uint32(v>>32) {
		t.Errorf("Uint32 pair = %#x %#x, want low/high of %#x", lo, hi, v)
	}
}

func TestUint32BufferSurvivesUint64(t *testing.T) {
	a := NewPCG64(NewSeedSequenceUint64(3))
	b := NewPCG64(NewSeedSequenceUint64(3))
	v1 := b.Uint64()
	v2 := b.Uint64()
	first := a.Uint32() // low half of v1, high half buffered
	mid := a.Uint64()   // v2
	second := a.Uint32()
	if first != uint32(v1) || mid != v2 || second != uint32(v1>>32) {
		t.Errorf("got %#x %#x %#x, want %#x %#x %#x", first, mid, second, uint32(v1), v2, uint32(v1>>32))
	}
}

func TestIntegersPaths(t *testing.T) {
	// n = 1 draws nothing.
	a, b := MustNPRandom(1), MustNPRandom(1)
	if a.Integers(5, 6) != 5 || a.Random() != b.Random() {
		t.Error("integers(5, 6) consumed randomness")
	}
	// Ranges below 2^32 use the buffered 32-bit Lemire path.
	a, b = MustNPRandom(2), MustNPRandom(2)
	for range 100 {
		n := uint64(1000)
		want := (uint64(b.bg.Uint32()) * n) >> 32 // rejection is ~2e-7 likely
		if got := a.Integers(0, int64(n)); uint64(got) != want {
			t.Fatalf("integers(0, 1000) = %d, want %d", got, want)
		}
	}
	// Wider ranges use the 64-bit Lemire path, one Uint64 per value.
	a, b = MustNPRandom(3), MustNPRandom(3)
	n := uint64(1) << 40
	hiWant, _ := mul64(b.bg.Uint64(), n)
	if got := a.Integers(-7, -7+int64(n)); got != -7+int64(hiWant) {
		t.Errorf("integers(0, 2^40) = %d, want %d", got, -7+int64(hiWant))
	}
	if _, err := a.IntegersChecked(3, 3); !errors.Is(err, ErrBadArgument) {
		t.Errorf("empty range: err = %v", err)
	}
	// Full 64-bit ranges do not overflow.
	_ = a.Integers(math.MinInt64, math.MaxInt64)
}

func mul64(x, y uint64) (uint64, uint64) {
	var r big.Int
	r.Mul(new(big.Int).SetUint64(x), new(big.Int).SetUint64(y))
	lo := new(big.Int).And(&r, new(big.Int).SetUint64(math.MaxUint64)).Uint64()
	return new(big.Int).Rsh(&r, 64).Uint64(), lo
}

func TestIntegersUniform(t *testing.T) {
	g := MustNPRandom(11)
	counts := make([]int, 13)
	n := 130000
	for range n {
		counts[g.Integers(0, 13)]++
	}
	for i, c := range counts {
		if math.Abs(float64(c)-10000) > 500 {
			t.Errorf("value %d drawn %d times, want ~10000", i, c)
		}
	}
}

func TestChoiceP(t *testing.T) {
	cdf, err := CDF([]float64{0.8, 0.2})
	if err != nil {
		t.Fatal(err)
	}
	a, b := MustNPRandom(5), MustNPRandom(5)
	for range 50 {
		u := b.Random()
		want := 0
		if u >= cdf[0] {
			want = 1
		}
		if got := a.ChoiceCDF(cdf); got != want {
			t.Fatalf("ChoiceCDF = %d for u=%v, want %d", got, u, want)
		}
	}
	for _, p := range [][]float64{{}, {0.5, 0.6}, {-0.1, 1.1}} {
		if _, err := CDF(p); !errors.Is(err, ErrBadArgument) {
			t.Errorf("CDF(%v): err = %v", p, err)
		}
	}
}

func TestCategoricalSample(t *testing.T) {
	a, b := MustNPRandom(8), MustNPRandom(8)
	cs := []float64{1.0 / 3, 2.0 / 3, 1}
	for range 100 {
		u := b.Random()
		want := 2
		if u < cs[0] {
			want = 0
		} else if u < cs[1] {
			want = 1
		}
		if got := a.CategoricalSample(cs); got != want {
			t.Fatalf("got %d for u=%v, want %d", got, u, want)
		}
	}
}

func BenchmarkPCG64Uint64(b *testing.B) {
	p := NewPCG64(NewSeedSequenceUint64(1))
	var s uint64
	for b.Loop() {
		s += p.Uint64()
	}
	_ = s
}

func BenchmarkRandom(b *testing.B) {
	g := MustNPRandom(1)
	var s float64
	for b.Loop() {
		s += g.Random()
	}
	_ = s
}
