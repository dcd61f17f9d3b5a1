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
// Results travel back the same way to the owner node, except those of a
// normal task larger than the inline threshold: they stay in the
// executing node's store, kept there for their owner (ForwardLocated),
// and the owner learns only their size and location. The owner pulls
// such an object from that node (FetchObjectFrom; from any peer if it no
// longer has it) when a Get or a task argument needs its bytes (a Wait
// does not), and tells the node to drop its copy (rt.free) when its own
// count reaches zero; a node drops every copy it keeps for an owner that
// dies. Actor calls' results always travel back.
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
// retries left, placing each again by its strategy over the nodes still
// alive (a task in a placement group bundle goes wherever the bundle is
// placed again); actors that lived there restart elsewhere while
// their MaxRestarts allows, and the placement group bundles it held are
// placed again on the live nodes (runtime.Node.PeerGone). A SIGKILLed
// node refuses connections long before the membership declares it dead
// (a second or more): a peer that a send fails to reach is left out of
// Peers until it answers again, is declared dead, or ten seconds pass, so
// that work recreated meanwhile (an actor in a bundle that lived there)
// waits for its bundle to be placed again instead of failing on the same
// dead node.
//
// # Named actors
//
// Each actor name has an owner node: cluster.Owner of NameKey(name) over
// the live members (alive and suspect, as every node computes it from its
// own view). The owner keeps the name's record (runtime.NameDirectory:
// actor ID, class, the node that created it, where it runs, when it was
// created). Creating a named actor first reserves the name there
// (rt.namereserve/v1, one round trip); the creation's reply waits for it,
// and a name another actor holds fails with ErrKindActorExists. GetActor
// on any node asks the owner (rt.nameget/v1, one round trip). The node
// that created the actor, which restarts it or declares it dead, is the
// name's registrant: it tells the owner where the actor runs after each
// placement, and releases the name when the actor dies for good (killed,
// no restarts left, its creator exited). The hosting node releases it too
// when the actor dies there for good, and the owner then tells the
// creator (rt.namedied/v1), whose proxy does not see that death
// otherwise: the proxy dies too, so the creator stops announcing the name
// and calls fail at once.
//
// Handover: on every join, leave or failure, each node drops the records
// of a departed registrant (its actors died with it), prunes the records
// it no longer owns in its new view, and re-announces the named actors it
// created to their owners (rt.nameannounce/v1), through the same ordered
// outbox as its releases, so that an announcement sent before a release
// does not arrive after it. Every node also re-announces every ten
// seconds, which heals a missed event or a lost frame, and an owner
// forgets a record nobody announced for thirty seconds (its release was
// lost, or an announcement raced the actor's death). For three seconds
// after a change (nameSettle), and whenever it does not own the name in
// its own view, a directory
// without the record answers "settling" instead of "absent": a lookup
// then asks every live peer for a live actor of that name (the hosting
// node answers), and a reservation is retried until the directory is
// settled, so that a name held elsewhere is not given out twice while its
// record is on its way. A reservation whose owner does not answer (dead
// but not yet declared so) is retried until the membership moves the
// name. A node that restarts under a new ID starts with no names.
//
// Partitions: membership is eventually consistent and goray has no
// quorum, so this is an available-first design. During a partition each
// side computes owners over the members it sees, and a name can be taken
// once on each side (never twice on one side). When the partition heals,
// the join events make every node re-announce; the name's one owner then
// sees both records, the older one (NameRecord.Wins: creation time, then
// creator node ID, then actor ID, the same on every node) keeps the name,
// and the owner tells the younger actor's creator (rt.namelost/v1), which
// kills it for good and logs a warning. Calls on the killed duplicate fail
// with ErrKindActorDied: loud, not a silent split brain. Creation times
// come from the creators' clocks, so with skewed clocks "older" is as
// good as the clocks are; the rule still picks exactly one winner.
//
// Creator death (names_detached.go): as in Ray, a detached named actor
// outlives its creator's node with its name, and a non-detached actor
// dies with it, but the name of either stays taken for as long as the
// actor lives. A creator sends the record of each named actor it placed
// on a peer, detached or not, to that host with every announcement
// (rt.namehosted/v1). What counts as gone: the membership reports the
// creator's node dead or gone, it stays so for a second (a wrongly
// suspected node refutes sooner), and it does not answer a direct ping
// over a connection of its own (cluster.RPC.ProbeAddr) within three
// seconds. A node that died refuses the ping at once; a stalled one (a
// stopped process, whose kernel still accepts the connection, or an
// overloaded machine) answers when it runs again, and keeps its actors.
// Only then does the host kill the non-detached actors that node created
// there and release their names (free again at once, past the
// directory's settling time), and adopt the records of the detached ones:
// it becomes their registrant, announces them with itself as the record's
// owner and the original creation time, and releases them when the actor
// dies for good. Until then the names keep resolving and stay taken: a
// directory keeps the record of an actor whose host is live when its
// registrant is reported gone (grt.NameDirectory.DropGone), detached or
// not, and the host relays the records it holds to the names' owners as
// soon as it sees the report (and again while the node answers pings but
// the membership still has it gone), so that a name whose owner was the
// creator's node reaches its successor. Without that, a creation of the
// same name past the settling time would be granted while the actor
// lives, and taken back when the creator returned and announced the
// older record.
//
// What a returning creator finds: back before that verdict, everything
// as it was; directories that dropped its records ask it to announce
// again (rt.namerefresh/v1). Back after it (a partition, a stall longer
// than the ping), its non-detached actors on that host are dead for good:
// the host remembered them and, on seeing the node alive again (or its
// announcement of such a name), tells it (rt.namedied/v1), so that its
// proxy dies (calls fail with ErrKindActorDied) and releases the name
// instead of announcing a dead actor's name for ever. Its detached actors
// live on adopted; creator and host then announce the same record of the
// same actor, which the directory merely refreshes.
//
// Limits: after its creator's node died, a detached actor is restarted by
// nobody: if its host dies too, the actor and its name are gone (Ray's
// GCS would restart it elsewhere within max_restarts). A creator that
// dies before its host received the record (one message after the
// placement) takes the name with it, though the actor lives on. A
// creator partitioned from its host for longer than the grace and the
// ping loses its non-detached actors there, as a dead one would.
// Placement groups have no cluster-wide names: a group's name is a label,
// and its reservation is atomic across nodes by its own two-phase
// protocol (runtime/pg_cluster.go), not through this directory.
//
// Lineage reconstruction (lineage.go here, runtime/lineage.go for the
// owner): when a member dies, each object whose only copy it kept is
// rebuilt by running its task again (MaxRetries counts these runs, as in
// Ray), after rebuilding the task's own lost arguments, or fails with
// ErrKindObjectLost without lineage or retries. Object IDs start with
// their owner's runtime.NodePrefix and the engine remembers the nodes that
// died, so a ref whose owner node died fails with ErrKindOwnerDied.
//
// Borrowed references (borrow.go here, runtime/borrow.go for the node):
// a node that counts a ref to an object another node owns registers with
// the owner (rt.borrow/v1, a request/reply per batch of IDs, idempotent),
// and the owner holds the object for it (a holder per borrowing node)
// until the node reports its count reached zero (rt.unborrow/v1) or dies
// or leaves. Refs nested in a forwarded task's arguments or results are
// held by their sender as in flight until the receiver has counted them
// and its registration was acknowledged; the receiver then releases the
// sender's hold (rt.unborrow/v1 with the in-flight flag). Registrations
// and releases to one node go through one ordered outbox, so a release
// never overtakes its registration.
//
// The same holds for the refs nested in a large result that stayed on the
// executing node: when its owner pulls the bytes, the serving node holds
// the nested refs in flight for it, and the owner counts them inside its
// copy and borrows them before releasing that hold. A node whose fetch
// finds no copy of an object asks the object's owner (rt.rebuild/v1,
// rebuild.go), which may not have learned yet that the node keeping the
// only copy died: the owner gets the object back as its own Get would
// (pulling or rebuilding it from lineage), within the asker's inactivity
// limit, and the asker then fetches the owner's copy.
//
// Not yet: passing a located argument to a forwarded task by reference
// (the owner pulls it and inlines it), and releasing an in-flight hold
// whose message never reached a live receiver (it goes when the receiver
// leaves; this includes the hold for a pulled result whose transfer
// failed).
//
// # Object transfer
//
// An object moves as 5 MiB chunks over the bulk lane (objects.go): the
// serving node writes each chunk from its store's mapping with one write,
// the receiving node takes it off the connection straight into the
// object's place in its store (cluster.StreamHandler into
// objectstore.Ingest: recycled store memory, or a new tmpfs file filled by
// splice(2)), so neither side buffers a chunk and the bytes in flight per
// peer are bounded by the sockets' kernel buffers plus one chunk, whatever
// the object's size. docs/benchmarks-runtime-cluster.md compares it with a
// raw TCP copy measured in the same run.
package remote
