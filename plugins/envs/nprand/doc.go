// Package nprand reproduces the parts of numpy's random module that
// Gymnasium environments and spaces use, bit for bit.
//
// # Why
//
// goray's promise for its built-in environments is parity with Gymnasium:
// the same seed and the same actions give the same observations and
// rewards. Every Gymnasium env draws its randomness from
// gymnasium.utils.seeding.np_random(seed), which is
// numpy.random.Generator(PCG64(SeedSequence(seed))). Reproducing a
// trajectory therefore means reproducing numpy's seeding, its bit
// generator and the exact way each distribution consumes bits, including
// the buffering of 32-bit draws.
//
// # What is here
//
//   - SeedSequence for integer entropy of any size (split into 32-bit words,
//     least significant first, with the hashmix/mix pool of numpy's
//     bit_generator.pyx) and generate_state.
//   - PCG64: the 128-bit LCG with XSL-RR output, seeded as numpy seeds it,
//     with numpy's buffered 32-bit output (the high half of a 64-bit draw is
//     kept for the next 32-bit request; 64-bit draws do not touch it).
//   - Generator: random, uniform, integers (Lemire on buffered 32-bit draws
//     below 2^32, 64-bit Lemire above, and the full-range cases), the 8-bit
//     Lemire used by int8 arrays, choice with and without p, Gymnasium's
//     toy-text categorical_sample, standard_normal and standard_exponential
//     (numpy's 256-layer ziggurats), normal and exponential.
//   - NPRandom(seed): Gymnasium's np_random.
//
// # What was verified
//
// The tests check values numpy itself publishes or prints:
// default_rng(12345).random() = 0.22733602246716966, integers(0, 10, 3) =
// [6, 2, 7]; default_rng(42).random(3); default_rng(0).random();
// default_rng(42).standard_normal(10) to numpy's printed 8 digits; and the
// CartPole docstring reset values of Gymnasium 1.4, which depend on the
// whole SeedSequence → PCG64 → uniform chain. Word splitting of large
// seeds, the 32-bit buffer and both Lemire paths are tested structurally.
//
// # Known limits
//
// The ziggurat layer tables are computed at init in float64 from the layer
// edge; numpy ships tables computed in higher precision. They agree to
// about 1e-12 relative, so normal and exponential draws consume exactly
// numpy's bits and make the same accept/reject decisions except with
// probability ~1e-12, but a returned value can differ from numpy's in the
// last few bits (invisible after a float32 cast in all but ~1e-5 of cases).
// No built-in environment uses these distributions; only the sampling of
// unbounded or half-bounded Box spaces does.
//
// Generators are not safe for concurrent use.
package nprand
