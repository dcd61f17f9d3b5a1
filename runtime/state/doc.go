// Package state is goray's state API: the JSON view of a cluster that the
// dashboard, `goray list` and `goray logs` read.
//
// The runtime's internals change often; the API must not. So the package
// defines the API's records (NodeState, ActorState, TaskState, ...), a
// Source interface with one method per list, and Handler, which serves a
// Source over HTTP under /api/v0/. Whatever implements Source — the daemon's
// live tables, or MemorySource in tests and demos — gets the same paths,
// fields, filtering, paging, logs and change events (docs/state-api.md).
//
// Lists are filtered and paginated by the Source, not by the client,
// because Ray's dashboard shows what happens otherwise: with thousands of
// jobs or actors it ships megabytes per refresh and the page stalls. Table
// is the generic in-memory implementation of that contract: filter keys are
// the records' JSON field names, matched by reflection with the field
// lookup computed once per type.
//
// Change notification is a version counter per kind of record. A client
// (the SSE endpoint /api/v0/events) asks Watch for changes after the
// version it last saw and learns which kinds moved, so the page refetches
// only what it shows, and a burst of changes costs one event.
package state
