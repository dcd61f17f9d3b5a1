package task

import (
	"cmp"
	"slices"
	"time"
)

// DefaultPendingWarning is how long work may wait for resources before its
// submitter is warned that it may never run.
const DefaultPendingWarning = 30 * time.Second

// PendingItem is one request waiting for resources.
type PendingItem struct {
	ID     string
	Demand Resources
	Reason string        // the policy's Wait reason, latest first
	Since  time.Time     // when it started waiting
	Waited time.Duration // how long it has waited at the time of the report
}

// DemandSummary aggregates waiting requests of the same shape, as
// `goray status` lists pending demands ("{CPU: 4}: 3 pending, oldest 2m").
type DemandSummary struct {
	Demand Resources
	Count  int
	Oldest time.Duration
}

type pendingEntry struct {
	item   PendingItem
	key    string // Demand.String(), the shape
	warned bool
}

// view is the entry as callers see it at now: a copy whose Demand they may
// keep and modify without touching the table.
func (e *pendingEntry) view(now time.Time) PendingItem {
	it := e.item
	it.Demand = it.Demand.Clone()
	it.Waited = now.Sub(it.Since)
	return it
}

// PendingDemand records how long each waiting request has waited, reports
// those past a warning timeout exactly once each (so the runtime can warn the
// submitter that its work fits nowhere right now), and summarises waiting
// demand for status output. Time comes from the injected Clock.
type PendingDemand struct {
	clock   Clock
	warnAt  time.Duration
	entries map[string]*pendingEntry
}

// NewPendingDemand returns a tracker that warns after warnAfter (<= 0 means
// DefaultPendingWarning).
func NewPendingDemand(clock Clock, warnAfter time.Duration) *PendingDemand {
	if warnAfter <= 0 {
		warnAfter = DefaultPendingWarning
	}
	return &PendingDemand{clock: clock, warnAt: warnAfter, entries: map[string]*pendingEntry{}}
}

// Wait records that request id waits for demand, because of reason. The
// first call starts its timer; later calls only refresh the reason, so the
// scheduler can call it on every pass.
func (p *PendingDemand) Wait(id string, demand Resources, reason string) {
	if e, ok := p.entries[id]; ok {
		e.item.Reason = reason
		return
	}
	p.entries[id] = &pendingEntry{
		item: PendingItem{ID: id, Demand: demand.Clone(), Reason: reason, Since: p.clock.Now()},
		key:  demand.String(),
	}
}

// Done forgets request id (scheduled, cancelled or failed). It reports how
// long the request waited, and false if it was not waiting.
func (p *PendingDemand) Done(id string) (time.Duration, bool) {
	e, ok := p.entries[id]
	if !ok {
		return 0, false
	}
	delete(p.entries, id)
	return p.clock.Now().Sub(e.item.Since), true
}

// Len returns the number of waiting requests.
func (p *PendingDemand) Len() int { return len(p.entries) }

// Overdue returns the requests that have waited at least the warning timeout
// and were not reported before, oldest first (ties by ID), and marks them
// reported.
func (p *PendingDemand) Overdue() []PendingItem {
	now := p.clock.Now()
	var out []PendingItem
	for _, e := range p.entries {
		if e.warned || now.Sub(e.item.Since) < p.warnAt {
			continue
		}
		e.warned = true
		out = append(out, e.view(now))
	}
	sortItems(out)
	return out
}

// Snapshot returns every waiting request, oldest first (ties by ID).
func (p *PendingDemand) Snapshot() []PendingItem {
	now := p.clock.Now()
	out := make([]PendingItem, 0, len(p.entries))
	for _, e := range p.entries {
		out = append(out, e.view(now))
	}
	sortItems(out)
	return out
}

// Summary groups waiting requests by demand shape, most numerous first
// (ties by the demand's string form).
func (p *PendingDemand) Summary() []DemandSummary {
	now := p.clock.Now()
	idx := map[string]int{}
	var out []DemandSummary
	var keys []string
	for _, e := range p.entries {
		i, ok := idx[e.key]
		if !ok {
			i = len(out)
			idx[e.key] = i
			out = append(out, DemandSummary{Demand: e.item.Demand.Clone()})
			keys = append(keys, e.key)
		}
		out[i].Count++
		out[i].Oldest = max(out[i].Oldest, now.Sub(e.item.Since))
	}
	perm := make([]int, len(out))
	for i := range perm {
		perm[i] = i
	}
	slices.SortFunc(perm, func(a, b int) int {
		if c := cmp.Compare(out[b].Count, out[a].Count); c != 0 {
			return c
		}
		return cmp.Compare(keys[a], keys[b])
	})
	sorted := make([]DemandSummary, len(out))
	for i, j := range perm {
		sorted[i] = out[j]
	}
	return sorted
}

func sortItems(items []PendingItem) {
	slices.SortFunc(items, func(a, b PendingItem) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
