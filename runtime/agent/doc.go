// Package agent is gorayd as a library: configuration, lifecycle and the
// HTTP API of one daemon. cmd/gorayd is a thin main over it, and tests start
// agents in-process with the same code.
//
// # Configuration
//
// Config is one struct tree with toml tags. The same keys are flags, named by
// their dotted TOML key (-node_name, -gossip.port, -resources.custom
// accelerator_type:H200=1, ...); LoadConfig applies defaults, then the file
// named by -config, then flags. Unknown keys, wrong types and invalid values
// are errors that name file:line and the key (ErrInvalidConfig, *FieldError);
// Validate reports all of them at once. Finalize fills machine-dependent
// defaults: CPUs from runtime.NumCPU, memory from /proc/meminfo, GPUs from
// `nvidia-smi --query-gpu=name --format=csv,noheader` (which also adds Ray's
// "accelerator_type:<model>" resource), loopback binding in dev mode.
//
// # Lifecycle
//
// New validates; Start binds the RPC and HTTP ports first (their bound ports
// go into the gossip metadata, so port 0 works everywhere), then starts
// gossip, then joins the configured seeds in the background with exponential
// backoff until one answers or the agent stops, so daemons may be started in
// any order. Shutdown leaves gracefully (peers report a leave, not a failure,
// within a gossip round) and then stops gossip, RPC and HTTP, bounded by its
// context. A daemon killed with SIGKILL is declared dead by its peers after
// the preset's suspicion timeout.
//
// # The engine slot
//
// The runtime engine plugs in through SetEngine: the agent polls
// Engine.Report every 200 ms and broadcasts availability and load on change;
// pending demands are fetched on demand over RPC for /v1/status. The engine
// reaches other daemons through Transport (frames over gRPC) and learns about
// joins and failures from Membership().Subscribe. Until an engine is set the
// node reports all resources free and no demand. An engine that takes
// drivers also implements DriverAddresser; its address (the node's unix
// socket) is published as driver_address in /v1/nodes, which is how a
// driver given only a daemon's HTTP address finds the engine (package
// resolve does the lookup). Package daemon plugs the runtime's Node and the
// job manager into an agent; it is what cmd/gorayd runs.
//
// Worker processes are configured under [worker]: command (default gorayd
// itself; a worker runs only the functions registered in its binary),
// max_workers and prestart. [scheduler] holds pending_warning (how long
// work may wait for resources before its driver is warned, default 10s)
// and drain_timeout (how long running work may finish when the daemon
// leaves on SIGTERM, default 30s); both are durations ("500ms", "1m").
//
// # HTTP API
//
// GET /v1/health (never needs a token), GET /v1/nodes (every member with its
// state alive/suspect/dead/left, addresses, total and available resources,
// load) and GET /v1/status (what `goray status` prints: live and dead nodes,
// used/total resources, pending demands per node and summed by shape in
// "demands", object-store use). With http.token
// set, /v1/nodes and /v1/status answer 401 with a JSON message unless the
// request carries "Authorization: Bearer <token>". Other APIs on the same
// port (state, jobs, dashboard, metrics) are mounted with Agent.Handle and
// sit behind the same token.
package agent
