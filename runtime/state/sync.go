package state

import "reflect"

// SetObjects replaces all objects with os, as a periodic snapshot of a
// node's store does, and reports whether anything changed. Only a real
// change bumps the objects version, so an idle store sends no events.
func (m *MemorySource) SetObjects(os []ObjectState) bool {
	if !tableDiffers(m.objects, os) {
		return false
	}
	m.objects.Replace(os)
	m.bump(KindObjects)
	return true
}

// UpdateTrials inserts or replaces the trials in ts that differ from what
// m holds, with one change event for all of them, and reports whether any
// did. Trials not in ts are kept: one experiment's snapshot must not drop
// another's.
func (m *MemorySource) UpdateTrials(ts []TrialState) bool {
	changed := false
	for _, t := range ts {
		if old, ok := m.trials.Get(t.ID); ok && reflect.DeepEqual(old, t) {
			continue
		}
		m.trials.Put(t)
		changed = true
	}
	if changed {
		m.bump(KindTrials)
	}
	return changed
}

// tableDiffers reports whether t's records differ from rs (in content or
// order) as Replace would store rs: a list that names a record twice (a
// task rebuilt from lineage is in the history and live at once) must not
// count as a change on every refresh.
func tableDiffers[T any](t *Table[T], rs []T) bool {
	rs, _ = t.dedupe(rs)
	if t.Len() != len(rs) {
		return true
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	for i := range rs {
		if !reflect.DeepEqual(t.items[i], rs[i]) {
			return true
		}
	}
	return false
}

// SetTasks replaces all tasks with ts (a node's periodic snapshot) and
// reports whether anything changed.
func (m *MemorySource) SetTasks(ts []TaskState) bool {
	if !tableDiffers(m.tasks, ts) {
		return false
	}
	m.tasks.Replace(ts)
	m.bump(KindTasks)
	return true
}

// SetActors replaces all actors with as and reports whether anything
// changed.
func (m *MemorySource) SetActors(as []ActorState) bool {
	if !tableDiffers(m.actors, as) {
		return false
	}
	m.actors.Replace(as)
	m.bump(KindActors)
	return true
}

// SetPlacementGroups replaces all placement groups with ps and reports
// whether anything changed.
func (m *MemorySource) SetPlacementGroups(ps []PlacementGroupState) bool {
	if !tableDiffers(m.pgs, ps) {
		return false
	}
	m.pgs.Replace(ps)
	m.bump(KindPlacementGroups)
	return true
}
