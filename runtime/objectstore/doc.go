// Package objectstore is a goray node's shared-memory object store and the reference-count
// bookkeeping that decides when its objects may go.
//
// # Objects are files in a tmpfs
//
// Every object in memory is one file in a directory on a tmpfs (/dev/shm/goray-<session>/
// on Linux), named after its ObjectID or, when it reuses pooled memory, after that block.
// Callers never build paths: Object.Path says where an object is. A tmpfs file is nothing but pages of RAM with a name,
// which gives the store three things for free: any process on the node can find an object by
// path without a broker process (Ray's Plasma needs one to pass file descriptors over a
// socket); the kernel, not the store, does the allocation, so there is no allocator to
// fragment or to corrupt; and a crashed node leaves a directory that one RemoveAll cleans.
//
// # Why mmap
//
// Get maps the file read-only instead of reading it, so a 1 GiB argument costs a page-table
// walk, not a 1 GiB copy, and every worker that maps the same object shares the same physical
// pages. A worker learns an object's path and size from its node and calls OpenShared; its
// mapping is read-only, so a buggy task cannot corrupt a value other tasks also see.
// Creating works the same way in reverse: Create allocates the file (fallocate, so a full
// tmpfs is an ENOSPC error now rather than a SIGBUS on some later write) and maps it writable
// and pre-faulted, so a serializer encodes straight into shared memory and Seal only
// publishes. Put, for callers that already hold the bytes, copies into pooled memory (below)
// or else writes them with write(2), which fills each new tmpfs page in one pass without
// zeroing it first.
//
// The store keeps one read-only mapping per object in memory and hands it to every Get, so
// reading an object the store already holds costs no system call at all. The writable
// mapping an object was created through is kept too, but only for reusing the memory later;
// it is never handed out after Seal. An object sealed without a read-only mapping of its
// own is read through its writable one, write-protected with mprotect: populating a second
// mapping of a 64 MiB object takes milliseconds (a page fault's worth of kernel work per
// page, several times more in a VM), and a peer pulling an object that was just put, or a
// driver reading its result, would wait for it. When such memory is recycled it gets a
// writable mapping of its own, so pooled memory circulates with both and no later object
// pays for either.
//
// # Objects from the network
//
// An object pulled from another node arrives front to back, in chunks, as fast as a socket
// delivers it. CreateIngest is the destination for that: pooled memory when a block fits
// (the bytes land in its populated mapping straight from the socket), else a new file filled
// with write(2) or, from a plain TCP connection, splice(2) (Ingest.ReadFrom with an
// *io.LimitedReader over the connection): the kernel copies each chunk from the socket into
// the object's pages once, without the bytes passing through the process and without
// zeroing the pages first, which Create's pre-faulted mapping cannot avoid. A big fresh
// object's read-only mapping is made up front and its page tables filled in behind the
// writer, on another goroutine, so its first Get does not wait for that. Allocating
// fresh tmpfs pages still costs about as much as the copy, which is why a node that has
// freed memory of about the right size, or a warm reserve block (below), receives an
// object markedly faster (see docs/benchmarks-runtime-cluster.md).
//
// # Reusing memory
//
// Fresh tmpfs pages are expensive: the kernel allocates, zeroes and maps each one, which
// costs several memcpys of the same bytes (much more inside a VM). So, like Plasma's
// preallocated arena, the store keeps the memory of deleted and spilled objects (of 64 KiB
// and more) in a pool of files with their mappings, up to a quarter of the limit, and writes
// the next object of about the same size (at most a quarter smaller) straight into one: no
// mmap, no page fault, no rename on the put path. Restores from disk reuse it the same way.
// Pooled memory counts against the limit and is released, right after the warm reserve
// (below), when objects need the room.
//
// Memory is recycled only when no one can still read it: no Object from Get is outstanding
// and the object's Path was never asked for (another process may have mapped the file),
// unless the runtime has since said, with ReleaseShared, that those processes are done.
// Everything else is unlinked, which keeps existing mappings valid. Create therefore hands
// out memory with unspecified contents, as Plasma does: the writer must fill all of it.
//
// # The warm reserve
//
// Recycled memory only exists where objects were freed, and the memory of an object that a
// worker or driver mapped by its path is never recycled. So the store also keeps a warm
// reserve (Config.WarmReserve; default min(256 MiB, Limit/4), 0 disables): files allocated
// (fallocate) and mapped pre-faulted, writable and read-only, by one goroutine while no
// object is being created, as Plasma preallocates its arena. A block cannot be split (an
// object is a whole file), so the reserve holds blocks of the size classes (steps of 1/128
// of a power of two) of the last few large objects (1 MiB and more) the pool could not
// serve (older classes' blocks make way when a new one needs the room); Create,
// CreateIngest, Put and restores of such an object take a fitting block (truncated to the
// object), after the pool. A store that never saw a large object holds no
// reserve, so idle daemons pre-fault nothing. The reserve counts against the limit but
// never makes an object fail or spill that would have fitted without it: it is filled only
// below the spill threshold and while the file system has room for all the limit still
// allows, and it is released before the pool when objects need the memory. WaitWarm waits
// until it is filled; SetWarmReserve changes its bound at run time.
//
// # Memory limit and spilling
//
// The store accounts the bytes it holds against Config.Limit. When a new object would take
// the store above SpillThreshold·Limit (80%, as in Ray), the least-recently-used sealed
// objects are copied to SpillDir and their tmpfs files removed until the new one fits; an
// object that cannot fit under the hard limit even then fails with ErrStoreFull. A Get of a
// spilled object restores it transparently, spilling others if it must. Objects being
// created are never spilled, and objects nobody currently maps go before mapped ones.
//
// Spilling by plain file copy is safe while readers hold mappings because objects are
// immutable once sealed and because removing a file on Linux only removes its name: the
// pages stay alive until the last mapping goes, so a reader that mapped an object before it
// was spilled (or deleted) keeps reading the same bytes. The spill file is kept after a
// restore, so spilling the same object again costs only an unlink.
//
// # Concurrency
//
// One mutex guards the table; no copy that scales with object size runs under it (unlinking
// or mapping a file does, as it must be atomic with the state change).
// Objects in flight sit in a transitional state (creating, spilling, restoring): a Get of an
// object being created or restored waits for it (honouring its context); a Delete of an
// object in flight marks it, and whoever does the I/O cleans up.
//
// # Reference counting
//
// RefCounter is the pure half: it tracks why each object is alive (local refs per holder,
// arguments of pending tasks, refs contained in other objects, pins) and reports the objects
// whose last reference went, exactly once, for the runtime to Delete. It does no I/O and is
// tested with tables.
package objectstore
