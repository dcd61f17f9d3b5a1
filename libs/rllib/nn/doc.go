// Package nn holds the small float32 neural-network kernels the RLlib
// library trains: fully connected towers (RLlib's "fcnet"), the categorical
// and diagonal-Gaussian action distributions, and Adam.
//
// The networks here are tiny by deep-learning standards (FrozenLake's
// [32, 32] has about 3,400 parameters), so a call into a BLAS costs more than
// the arithmetic. The kernels are plain Go loops over contiguous rows:
//
//   - Weights are stored input-major (W[i*out+j]), so the forward pass is a
//     sequence of axpy's over output rows and the backward pass a sequence of
//     dot products, both over contiguous memory.
//   - A one-hot input (a Discrete observation) makes the first layer a row
//     gather: no multiply at all, and its gradient touches one row.
//   - tanh uses a rational approximation accurate to float32 precision,
//     because math.Tanh in float64 dominated the profile.
//
// All parameters of a model live in one flat []float32 (Params), laid out
// layer after layer. That makes Adam, weight broadcast and checkpoints a
// single slice each, and makes the layout the portable checkpoint format.
//
// Determinism: every kernel is sequential and has a fixed summation order.
// The learner (package ppo) shards a minibatch into a fixed number of
// shards, runs them on goroutines, and sums the shard gradients in shard
// order, so the result does not depend on scheduling or GOMAXPROCS.
package nn
