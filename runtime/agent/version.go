package agent

// Version is the goray version the daemon advertises in its metadata and Ping
// answers; cmd/gorayd overrides it at link time (-X).
var Version = "0.1.0-dev"
