// Package metrics defines goray's Prometheus metrics and serves /metrics.
//
// There is no global registry: each node (embedded runtime or gorayd) makes
// one *Metrics and hands it to the components that update it, so two nodes
// in one test process never mix their counters. Every method is safe on a
// nil *Metrics, which lets components built without metrics (unit tests,
// tools) skip the nil checks at each call site.
//
// Names follow Prometheus conventions with a goray_ prefix and mirror Ray's
// system metrics where Ray has one (ray_tasks{State}, ray_actors{State},
// ray_object_store_memory, ray_resources).
package metrics
