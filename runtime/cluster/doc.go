// Package cluster is how gorayd daemons find each other and talk: membership
// over hashicorp/memberlist, resource broadcasts, the owner directory, and
// daemon-to-daemon RPC (goray.cluster.v1 over gRPC).
//
// # Gossip carries membership, RPC carries work
//
// Like Serf, Consul and Nomad, goray keeps gossip small. memberlist carries
// who is alive plus a NodeMeta of at most 512 bytes (memberlist's hard cap):
// a format-version byte, the goray version, a node ID that is random per run
// (a restarted node rejoins under a new identity, so its predecessor's tasks
// and objects are correctly treated as lost), the node name, the RPC and HTTP
// addresses, and total resources. Metadata that would not fit fails
// NodeMeta.Validate (ErrMetaTooLarge) instead of being truncated. A peer whose
// metadata has another format version is refused at the alive check.
//
// What changes often, available resources and load, travels as NodeState
// user broadcasts through a memberlist TransmitLimitedQueue, one named
// broadcast per node so that a newer state replaces a queued older one; each
// carries a per-run sequence number and receivers keep the highest. States are
// sent only on change and piggyback on gossip, so peers' views are one or two
// gossip intervals old (≤ ~0.4 s with the LAN preset, well under the 1 s
// target). Push/pull exchanges every known state, so a joining node learns all
// of them at once.
//
// Tasks, actor calls, object chunks and state queries never go through
// gossip: each node serves goray.cluster.v1 (Ping, NodeInfo, Stream) on its
// RPC port, and RPC implements Transport with one long-lived stream per peer
// carrying opaque Frames routed by Kind. SendChunked cuts large payloads into
// 5 MiB frames (Ray's chunk size) and sends them over a bulk lane: a plain
// TCP connection per peer that shares the RPC port (the listener routes each
// connection by its first bytes), because gRPC's copies and 16 KiB HTTP/2
// frames held a loopback transfer to about a third of a raw TCP copy, while
// the lane reaches about 0.7 of it. Every send returns only once the frame
// was handed to flow control (HTTP/2 window or socket buffer), so bytes in
// flight per peer stay bounded by about one chunk plus the window, whatever
// the payload size. A receiver can take a kind's payloads unread
// (SubscribeStream): its StreamHandler gets a Body and moves the bytes
// straight from the connection to where they belong (an object's file in the
// store, spliced by the kernel), so the lane allocates no chunk-sized buffer
// and the bytes in flight per peer are the two sockets' kernel buffers plus
// the chunk being written. TLS (optionally mutual) comes from PEM files and covers
// both lanes: the listener terminates it before routing. Caller and Serve add
// request/response (a reply frame of kind K+"/reply" with the request's ID)
// for queries and acks.
//
// # Events
//
// Subscribe delivers join, leave (graceful), failed (probe timeout), update
// (metadata) and state events. memberlist calls its delegates from its packet
// and timer loops, some with its node lock held, so the delegates only copy
// and enqueue: every subscriber has its own unbounded queue and goroutine, and
// a slow subscriber delays only itself. memberlist reports a graceful leave
// and a crash the same way, so a leaving node first tells every peer over TCP
// (as Serf does with leave intents); a peer that missed the intent reports a
// failure, which is the safe direction. memberlist has no suspect callback;
// a member is shown as suspect when the local prober's log says so, until
// it is declared dead, shows life or the mark expires.
//
// # Timing presets
//
// "lan" (memberlist.DefaultLANConfig, the default) declares a SIGKILLed node
// dead after about 5–7 s; "local" after 4–6 s; "fast" uses Nomad's test
// timings (100 ms probes, 50 ms probe timeout, suspicion multiplier 2,
// 500 ms push/pull) and detects a crash in well under a second on an idle
// machine. A graceful leave is seen in well under a second with any preset.
//
// # Owner directory and partitions
//
// Named actors, placement groups and job records need one answer across the
// cluster without a consensus service. Owner(key, liveIDs) picks the owner by
// rendezvous hashing over the IDs of alive members: every node with the same
// view computes the same owner; adding or removing a node moves only the keys
// that node gains or loses (1/n of them), each to its runner-up.
//
// This package provides the deterministic choice (Owner, Membership.Owner over
// LiveIDs, which keeps suspects so that a refuted suspicion does not move
// keys) and the membership events that trigger handover. The records
// themselves belong to the engine, which follows this contract:
//
// Handover: when the owner of a key fails or leaves, every survivor's view
// drops it and the key's runner-up becomes owner. The new owner rebuilds the
// record from what survives: a named actor's creating node re-registers it
// (it knows the actors it runs), placement-group bundles are re-announced by
// the nodes holding their reservations, and job records are reloaded from
// the job's submitter. Records that lived only on the dead owner are lost, as
// in Ray without GCS fault tolerance. Lookups racing a view change are retried
// by the caller; a miss during the suspicion window reads as "not found",
// never as a different actor.
//
// Partition: membership is eventually consistent, so during a partition each
// side declares the other failed and computes owners over its own members; a
// name can then be registered on both sides. This is an availability-first
// (AP) choice: each side keeps serving. When the partition heals (the
// reconnect loop retries failed members every ReconnectInterval, so views
// merge even after memberlist stopped gossiping to the dead), each key has
// one owner again, and that owner resolves a duplicate registration by
// keeping the record with the oldest creation time (ties by node ID) and
// asking the loser's node to kill its duplicate actor. Strict uniqueness
// under partition would need a quorum (Raft, as Consul and Nomad servers
// use), which goray does not have. TestPartitionThenHeal in cmd/gorayd cuts a
// node off with network namespaces and checks both sides' views and the merge.
//
// # Logging
//
// One *slog.Logger is injected. memberlist gets a *log.Logger from HCLogger's
// StandardLogger with level inference, so its "[DEBUG] memberlist: ..." lines
// become slog records at the right level; HCLogger also serves go-plugin.
package cluster
