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
// The driver's working-dir package travels the same way (packages.go): a
// forwarded task names it by sha256, and a node that lacks it fetches the
// archive from the sender, checks the hash and unpacks it, so that the
// task's workers start in the same working dir as its driver.
// Results travel back the same way to the owner node, which stores them as
// its own objects.
//
// Actors placed on a peer receive their calls on the same ordered stream
// (one outbox per peer, so an actor's creation precedes its calls and a
// caller's calls keep their order); a node that holds only a handle finds
// the actor by asking every live peer, retrying for a few seconds since a
// handle can overtake the actor's creation. A ref that reaches a node
// without its object is fetched by asking every peer at once: the one
// that has it streams the bytes back, the others answer no. Placement
// groups are reserved on peers through a request/reply before the owner
// commits.
//
// When a member fails or leaves, the tasks forwarded to it fail with
// ErrKindWorkerCrashed, and the owner node retries them while they have
// retries left (on itself, or, for a task in a placement group bundle,
// wherever the bundle is placed again); actors that lived there restart elsewhere while
// their MaxRestarts allows, and the placement group bundles it held are
// placed again on the live nodes (runtime.Node.PeerGone). A SIGKILLed
// node refuses connections long before the membership declares it dead
// (a second or more): a peer that a send fails to reach is left out of
// Peers until it answers again, is declared dead, or ten seconds pass, so
// that work recreated meanwhile (an actor in a bundle that lived there)
// waits for its bundle to be placed again instead of failing on the same
// dead node.
//
// Named actors are found across nodes by asking every peer (GetActor on a
// node that does not hold the name); names are not reserved cluster-wide,
// so two nodes creating the same name at once both succeed.
//
// Not yet: lineage reconstruction (with results always stored on the
// owner, only the owner's death loses objects, and that takes the driver
// with it), cluster-wide reservation of actor names, propagating Cancel
// to a forwarded task (its result is discarded instead), placing the
// retry of a forwarded DEFAULT/SPREAD task anywhere but on its owner, and
// zero-copy object transfer (docs/benchmarks-runtime-cluster.md has the
// measured gap to a raw TCP copy).
package remote
