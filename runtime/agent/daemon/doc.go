// Package daemon is a whole gorayd: the agent (membership, daemon RPC, the
// HTTP API), the runtime engine (a runtime.Node with its object store and
// worker pool) and the job manager, started and stopped in the right order.
// cmd/gorayd is a thin main over it.
//
// # Why a package of its own
//
// The agent is imported by test helpers (internal/testutil) and by the
// cluster's tests; keeping the engine out of it means those light users do
// not link the runtime and its dependencies, and no import cycle can form
// between the runtime's tests and the helpers that start daemons.
//
// # Start
//
// Start opens the job manager first (a job left RUNNING by a previous run of
// the daemon is marked FAILED there: its driver died with that daemon), then
// the node, then the agent, which announces the node's ID
// (Agent.UseNodeID), so that IDs in gossip, in tasks' placement and in
// `goray status` are one and the same, and a daemon is never visible to
// peers or clients before its node can run work. Once the agent runs, a
// runtime/remote Engine connects the node to its peers over the agent's
// transport and membership (placement beyond this machine, forwarded tasks
// and the drivers' binaries). The node's
// unix socket is <data_dir>/node.sock (a short path under $TMPDIR when the
// data directory's path is too long for a socket address); drivers get
// "unix://<socket>" as GORAY_ADDRESS, and /v1/nodes publishes it as
// driver_address. The job API (/api/jobs/, /api/packages/ and /api/version) is mounted on
// the agent's HTTP port behind the cluster token and answers 503 while the
// node is not running (once shutdown has begun).
// A request for a job this daemon does not know is passed to the live
// peer that runs it (jobs_peers.go), so any daemon answers for any job.
// A job's [resources] are checked against the live members' totals and
// held on this node while its driver runs (job_resources.go); a job only
// a peer could hold is passed to that peer by the job API.
//
// A daemon killed with SIGKILL leaves its socket and its shared-memory
// object store behind. The next daemon on the same data directory finds the
// socket dead, removes it, and removes the store named in
// <data_dir>/store_dir (the record of the previous node's store).
//
// # Observability
//
// The same HTTP port serves the dashboard at / and /metrics without the
// token (a browser's first load cannot carry one, and Prometheus scrapers
// usually have none; the metrics hold only counts and sizes), and the state
// API under /api/v0/ behind it (docs/state-api.md). An observer
// (observe.go) keeps the daemon's state.MemorySource and metrics.Metrics
// current by polling what the daemon already has, rather than by hooks
// into each part: the job manager (jobs, logs), the membership (every
// member, DEAD and LEFT included), the node's scheduler and store, the host
// (/proc), peers' own node records (their host figures, which gossip does
// not carry), and the files training jobs write in their output_dir
// (result.json lines become learning curves and env-step counts, a Tune
// experiment_state.json becomes trial records). Polling costs a few reads
// a second and keeps the engine free of observability code; only real
// changes reach the dashboard's event stream. Each daemon serves its own
// view: every member in /api/v0/nodes, but only its own jobs. The
// daemon's logger also writes INFO and above into the source (nodelog.go),
// so /api/v0/logs?node=<id> serves the daemon's own recent log. Workers'
// log files are published the same way and rotated past
// worker.log_max_size (workerlogs.go); the node's pending demand goes
// into its node record, /api/v0/demands and /metrics (demand_state.go).
//
// # Shutdown
//
// Shutdown stops every running job first (SIGTERM, then SIGKILL to the
// driver's process group), so no driver outlives the daemon and drivers'
// log streams end. Then the node drains (drain.go, runtime/remote's
// Engine.Drain): it tells every peer that it leaves and waits for their
// acknowledgements, so they place no more work on it; the tasks they
// forwarded that have not started go back to their owners, which place
// them elsewhere without spending a retry; running ones get
// scheduler.drain_timeout (default 30 s) to finish and send their
// results, and are handed back after that; while it drains, the node
// broadcasts nothing free. Actors it hosts are not moved: when it leaves,
// their owners restart them elsewhere as after a failure, which counts
// against MaxRestarts as in Ray. Then it leaves the cluster gracefully
// (peers see the leave in well under a second); then it closes the
// remote engine (tasks still forwarded to peers fail and are retried
// locally while they have retries) and stops the node, which ends every
// worker process. Each step is bounded by the context.
//
// # What the engine reports
//
// The agent polls Report every 200 ms: available resources come from the
// node's scheduler (the agent's own totals for resources the node does not
// schedule, such as object_store_memory) and object-store use from the
// store. Pending demand is the node's (runtime.Node.PendingDemand: tasks
// and actors waiting for resources, by shape, and the bundles of waiting
// placement groups); /v1/status gathers it from every node and sums it
// by shape for `goray status`. The node does not expose running/pending
// task counts or worker counts yet, so those are reported as zero.
package daemon
