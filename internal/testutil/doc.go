// Package testutil is product code for goray's tests: polling helpers
// (WaitFor), a builder that compiles a command once per test binary
// (BuildBinary), and clusters of real gorayd processes (NewCluster) or of
// in-process agents (NewLocalCluster) on their own loopback addresses, with
// every node's log lines routed into t.Log under the node's name.
//
// Tests never sleep to synchronise: they poll a condition with a deadline.
// Everything a helper starts is stopped in t.Cleanup, so a failing test
// leaves no processes behind.
package testutil
