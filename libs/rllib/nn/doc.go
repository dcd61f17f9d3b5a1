// Package nn holds the small float32 neural-network kernels the RLlib
// library trains: fully connected towers (RLlib's "fcnet"), the categorical
// and diagonal-Gaussian action distributions, and Adam.
//
// The networks here are tiny by deep-learning standards (FrozenLake's
// [32, 32] has about 3,400 parameters), so a call into a general BLAS costs
// more than the arithmetic. The kernels are written for these shapes:
//
//   - On amd64 with AVX2 and FMA, three assembly kernels do the work of a
//     dense layer (kernels_amd64.s): a row-blocked matrix-vector product
//     that keeps up to 32 outputs in registers (forward), the same product
//     with a stride (dW, one row of dW in registers over the whole
//     minibatch, and db), and dx through a transposed copy of W that the
//     learner makes once per update and shares between its shards. tanh
//     and its derivative are vectorised too (a rational approximation
//     accurate to float32 precision). Elsewhere, or without AVX2, plain Go
//     loops compute the same sums.
//   - A one-hot input (a Discrete observation) makes the first layer a row
//     gather: no multiply at all, and its gradient touches one row.
//
// # Parameter layout
//
// All parameters of a model live in one flat []float32 (Params), which is
// what Adam updates, what rollout workers receive and what checkpoints
// store. Layers follow each other, policy tower first, then the value
// tower (or head); each layer is W then b. W is stored input-major
// (W[i*out+j]) except in layers narrower than 8 outputs that do not read a
// one-hot input (the logits and value heads), which are output-major
// (W[j*in+i]) so their kernels run along the wide dimension. The layout
// depends on the Spec only, so it is the same on every platform.
//
// # Determinism
//
// Every kernel has a fixed summation order. The learner (package ppo)
// shards a minibatch into a fixed number of shards and sums the shard
// gradients in shard order, so results do not depend on scheduling or
// GOMAXPROCS. The assembly kernels use fused multiply-adds, so their last
// bits differ from the Go loops': bit-reproducibility holds between
// machines that take the same path.
package nn
