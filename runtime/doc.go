// Package runtime is goray's engine (imported as grt): the per-node Node,
// the Client that drivers and workers use to talk to it, the wire protocol
// between them, and worker-process mode. Users import the root goray
// package, never this one.
//
// # Node
//
// A Node owns one machine's share of a goray cluster: the shared-memory
// object store (runtime/objectstore), the object table with reference
// counts, the task table, the actor table, the resource ledger and the
// worker pool. All tables live behind one mutex; message handlers run on
// connection reader goroutines and never block while holding it (sending
// only queues), so the node needs no scheduler goroutine of its own.
//
// Scheduling is two-level, as in Ray. Ready normal tasks wait in FIFO
// queues per resource shape. A worker is leased for a shape when the node's
// free resources allow, and up to PipelineDepth tasks are pushed to a leased
// worker so that throughput is not bound by round trips. A long task must
// not hold up the short ones queued behind it, so when an idle worker could
// run them the node steals them back (mSteal/mReturned). A worker whose
// task blocks in Get hands back its queue and its CPUs (mBlocked) so that
// nested tasks cannot deadlock, and takes the CPUs back when it resumes.
// Actors get a dedicated worker; their calls are queued per actor in
// arrival order, which keeps each caller's submission order, and are pushed
// once their arguments are ready.
//
// # Across nodes
//
// A node in a cluster gets ClusterHooks (runtime/remote implements them
// over the daemons' transport and gossip). The node stays the owner of
// everything its clients create; the hooks only move work and bytes:
//
//   - Placement: a ready normal task is placed by the task package's
//     policy over this node and the peers' broadcast views (local first,
//     SPREAD, NodeAffinity). One placed elsewhere is forwarded with its
//     arguments inlined and the sha256 of its program (cluster_hooks.go);
//     the peer runs it as a forwarded task (forward.go: its own session,
//     never forwarded again, large arguments put in its store so that the
//     worker maps them) and the results come back to the owner, except
//     large results of normal tasks, which stay on the peer until the
//     owner pulls or frees them. If the peer dies, the task runs again
//     here while MaxRetries allows, and so do finished tasks whose
//     results were only there (lineage reconstruction, lineage.go).
//   - Actors: an actor that the policy places on a peer is created there
//     under the same ID; the owner keeps a proxy whose queue forwards the
//     calls in order on one stream. A node that only holds a handle finds
//     the actor by asking its peers (LocateActor) and proxies likewise.
//     When the actor's node dies, its owner re-places it (MaxRestarts).
//   - Actor names are unique cluster-wide (names.go): a named actor's
//     creation first reserves the name at the name's owner node (through
//     ClusterHooks.ReserveName); the creator announces where it runs and
//     releases the name when it dies for good. The owner keeps the
//     records in a NameDirectory; an older record wins a duplicate found
//     after a partition, and the loser is killed (Node.NameLost).
//   - Objects: a ref that reaches a node which does not know its object
//     (nested in a value) is fetched from the peer that has it
//     (remote_objects.go); the owner records its copies.
//   - Placement groups span nodes: the owner reserves peers' bundles
//     first and commits only when all said yes (pg_cluster.go). A task or
//     an actor scheduled into a bundle runs where the bundle lives and
//     takes its resources out of the bundle, not out of the node. When a
//     node dies, the owner places the bundles it held again on the live
//     nodes (Ray's rescheduling of a dead node's bundles); actors that
//     lived in them restart (MaxRestarts) or are recreated by their
//     caller once their bundle is placed again.
//     Removing a group kills, on every node that holds a bundle of it,
//     the actors (for good) and the tasks (as cancelled, their workers
//     killed) that use its bundles, as Ray does (pg_remove.go).
//   - Feasibility is the cluster's: a request too big for this node but
//     not for a peer waits in that peer's queue; only one that no live
//     node could ever hold fails at once (ErrKindInfeasible).
//   - Draining (drain.go): a node about to leave hands the forwarded
//     tasks that have not started back to their owners, which place them
//     again without spending a retry, and lets the running ones finish.
//
// Work that waits for resources is the node's pending demand, by shape
// (demand.go); its submitter is warned once per shape when it has waited
// longer than NodeConfig.PendingWarning.
//
// # Programs
//
// Workers re-execute a program, and only that program registered the
// driver's functions. The node's default workers run its own worker
// command; a driver that connects over the socket announces its
// executable (path and sha256) in its hello, and its tasks and actors run
// in a separate pool of workers of that binary, copied into a
// content-addressed cache (binaries.go). Workers are never shared between
// programs. A peer that lacks a forwarded task's program fetches it from
// the sender once, by hash.
//
// A driver also announces its working dir, and the pool is keyed by both:
// its workers start in that dir (a job's content-addressed working_dir
// package, on every node that runs its work; workdir.go). A driver that
// connects over TCP from another machine uploads its program and its
// working dir, packed like a job's, when the node lacks them, streamed
// to disk chunk by chunk (driver_tcp.go, driver_upload.go).
//
// Directories a node leaves behind when it is SIGKILLed (the store's
// tmpfs directory, the socket directory) record their owner's PID and
// start time; every new node removes those whose owner is gone
// (sweep.go).
//
// # Objects and references
//
// Values travel as codec-encoded bytes. Objects up to InlineThreshold
// (100 KiB) live inline in the node's table and in frames; larger ones live
// in the store, written once (the embedded driver encodes straight into the
// mmapped file) and mapped read-only by the processes that read them: task
// arguments are pinned while the task runs and mapped by the worker, and a
// Get from a client on the same machine returns the file's path, which the
// client maps itself (asking again for the bytes if the object moved in
// between). Decoding into a Go value is then the only copy. Reference counts (objectstore.RefCounter) cover local refs per
// client session, arguments of pending tasks and refs contained in other
// objects; a session that ends drops its refs. Clients mint object and task
// IDs themselves (client prefix + counter) so that submissions and small
// puts need no reply.
//
// # Wire protocol
//
// A connection is a long-lived unix-socket stream of length-prefixed frames
// (u32 little-endian length, message type byte, field mask, fields), opened
// with a hello that carries a magic string and ProtocolVersion. One
// goroutine reads, one writes; the writer drains its queue into one buffer
// and flushes when the queue is empty, so a burst of messages costs one
// syscall. The embedded driver's client skips the socket and the encoding
// and calls the node directly.
//
// # Workers
//
// Workers re-execute their program with GORAY_WORKER_SOCKET set; the
// program's goray.MaybeRunWorker (or Init) notices and calls RunWorker.
// Children get Setpgid and Pdeathsig=SIGKILL, and a watchdog exits a worker
// whose parent PID changes, so no worker outlives its node. A worker runs
// pushed tasks one at a time (actors: up to MaxConcurrency at once) and
// reports each outcome; a panic is recovered into an application error, and
// a process death fails or retries only the tasks on that worker.
package runtime
