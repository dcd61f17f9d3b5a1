// Package task is goray's scheduling and lifecycle logic with the I/O taken
// out: resources, the placement policy, placement groups, the task and actor
// state machines, the per-caller actor call sequencer, dependency tracking
// and pending-demand bookkeeping.
//
// # Why pure logic
//
// Scheduling bugs are races in disguise: a retry that fires twice, a node
// that dies between "fits" and "run", a cancel that crosses a result. When
// the decisions live inside goroutines, sockets and timers they can only be
// tested by provoking those races. Here, as in etcd's raft, every decision
// is a plain function of its inputs: nothing in this package starts a
// goroutine, reads a clock, draws a random number from a global source or
// touches the network. Time arrives through a Clock, randomness through a
// Rand, the cluster through []NodeView snapshots, and happenings through
// events. Every branch is therefore a table test with a fixed seed, and the
// runtime around it stays thin.
//
// # How the runtime drives it
//
// The node's scheduler loop (package runtime) owns one Policy, one
// PGTable, one DepTracker, one PendingDemand and a TaskMachine or
// ActorMachine per live task or actor, and serialises access to them.
//
//   - Submission: NewTaskMachine, then DepTracker.Add. A task whose
//     arguments are ready gets ArgsReady at once; otherwise ObjectReady
//     (or ObjectFailed) later names the tasks to move on (or fail).
//   - Placement: Policy.Place(req, nodes, localID) with a snapshot of
//     the node views. Schedule → subtract the demand from the node (or
//     PGTable.Acquire for a bundle) and apply Scheduled(node); Wait → keep it
//     queued and PendingDemand.Wait it; Infeasible → apply Unschedulable and
//     fail the returns with the reason, which names the demand and the
//     largest node, so infeasible work never hangs silently.
//   - Execution: Started(worker), then Succeeded or Failed(kind, msg). The
//     machine decides retries against the budget and returns Effects
//     (resubmit, fail returns with an ErrorKind, release a node's
//     resources, interrupt or kill a worker) for the loop to carry out.
//   - Actors: an ActorMachine owns a CallSequencer; calls are submitted with
//     Calls().Arrive and delivered strictly in per-caller order; worker or
//     node death restarts the actor within MaxRestarts and retries calls in
//     flight within MaxTaskRetries.
//   - Placement groups: PGTable.Add, then PGTable.Place / PlaceBundles
//     (atomic: all bundles or none) and Commit; NodeDied unplaces lost
//     bundles for rescheduling, Remove hands reservations back.
//   - Periodically PendingDemand.Overdue yields requests to warn about, and
//     Summary feeds `goray status`.
//
// The cluster layer (package cluster) uses the same Policy with peers'
// broadcast NodeViews to choose where to spill work the local node cannot
// take.
//
// # Resources
//
// Resources is a map from names to quantities, compared and combined in
// fixed point at 1/10000 (as Ray does), so 0.1+0.2 CPU fits in 0.3 CPU and
// long runs of acquire/release never drift.
//
// # The default policy
//
// Ray's hybrid policy. Among the nodes that have the resources now, the
// preferred node (the node holding a task's large arguments, else the local
// node; actors ignore locality) wins while its critical-resource
// utilisation — the highest used/total among CPU, memory and object store
// memory — is below SpreadThreshold (0.5), or whenever it is no worse than
// the best node. Otherwise the work goes to a random node among the k least
// utilised, k = max(TopKAbsolute, TopKFraction × live nodes); utilisations
// below the threshold count as equal and ties break by node ID, so the
// choice never depends on the order of the caller's slice. Work that needs
// no GPU tries GPU-less nodes first. The single-node fast path allocates
// nothing.
package task
