// Package remote is the engine protocol between gorayd nodes: it connects
// a runtime.Node to its peers by implementing runtime.ClusterHooks over the
// cluster transport (cluster.RPC) and the gossip membership.
//
// Peers are the live members with their gossiped totals and broadcast
// availability (about a second stale), which is what the task package's
// policy places work on: local first, spilling to peers when this node is
// full, SPREAD, NodeAffinity.
//
// A forwarded task travels as one chunked payload (the spec with every
// argument inlined, and the sha256 of the program whose workers must run
// it) over the bulk lane, so memory in flight is bounded by the chunk size
// whatever the arguments' size. The receiving node runs it in a worker of
// that program. A node that lacks the program asks the sender for it once
// (concurrent tasks wait for the same fetch), receives it in chunks,
// verifies the hash and keeps it in its content-addressed binary cache.
// Results travel back the same way to the owner node, which stores them as
// its own objects: the owner is the only node that knows the object.
//
// When a member fails or leaves, the tasks forwarded to it fail with
// ErrKindWorkerCrashed, and the owner node retries them (on itself) while
// they have retries left.
//
// Not yet: remote actors, refs nested in forwarded arguments, pulling
// objects from the node that holds them (arguments are pushed inline
// instead), and lineage reconstruction.
package remote
