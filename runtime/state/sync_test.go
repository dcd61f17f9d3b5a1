package state

import (
	"context"
	"strings"
	"testing"
)

func TestSetObjectsBumpsOnlyOnChange(t *testing.T) {
	m := NewMemorySource()
	ctx := context.Background()
	c0, _ := m.Watch(ctx, 0)
	snap := []ObjectState{{ID: "a", Size: 10, Locations: []string{"n1"}}, {ID: "b", Size: 20, Locations: []string{"n1"}}}
	if !m.SetObjects(snap) {
		t.Fatal("first snapshot reported no change")
	}
	c1, _ := m.Watch(ctx, c0.Version)
	if len(c1.Kinds) != 1 || c1.Kinds[0] != KindObjects {
		t.Fatalf("change %+v, want objects", c1)
	}
	if m.SetObjects([]ObjectState{{ID: "a", Size: 10, Locations: []string{"n1"}}, {ID: "b", Size: 20, Locations: []string{"n1"}}}) {
		t.Error("an equal snapshot reported a change")
	}
	if c, _ := m.Watch(ctx, 0); c.Version != c1.Version {
		t.Errorf("an equal snapshot moved the version %d -> %d", c1.Version, c.Version)
	}
	if !m.SetObjects(snap[1:]) {
		t.Error("a freed object reported no change")
	}
	p, err := m.Objects(ctx, Query{})
	if err != nil || p.Total != 1 || p.Items[0].ID != "b" {
		t.Errorf("objects after a snapshot without a: %+v, %v", p, err)
	}
}

func TestUpdateTrialsKeepsOtherExperiments(t *testing.T) {
	m := NewMemorySource()
	ctx := context.Background()
	a := TrialState{ID: "a_0", Job: "j1", Status: "RUNNING", Config: map[string]any{"lr": 0.1}}
	b := TrialState{ID: "b_0", Job: "j2", Status: "PENDING", Config: map[string]any{}}
	if !m.UpdateTrials([]TrialState{a}) || !m.UpdateTrials([]TrialState{b}) {
		t.Fatal("new trials reported no change")
	}
	v, _ := m.Watch(ctx, 0)
	if m.UpdateTrials([]TrialState{a}) {
		t.Error("an unchanged trial reported a change")
	}
	a.Status, a.Iteration = "TERMINATED", 3
	if !m.UpdateTrials([]TrialState{a}) {
		t.Error("a finished trial reported no change")
	}
	c, _ := m.Watch(ctx, v.Version)
	if len(c.Kinds) != 1 || c.Kinds[0] != KindTrials || c.Version != v.Version+1 {
		t.Errorf("change %+v after %d, want one trials change", c, v.Version)
	}
	p, _ := m.Trials(ctx, Query{Filters: map[string]string{"status": "TERMINATED"}})
	all, _ := m.Trials(ctx, Query{})
	if p.Total != 1 || p.Items[0].Iteration != 3 || all.Total != 2 {
		t.Errorf("terminated %+v, all %d", p, all.Total)
	}
}

func TestLimitLogDropsOldestLinesKeepsOffsets(t *testing.T) {
	m := NewMemorySource()
	q := LogQuery{Node: "n1"}
	m.LimitLog(q, 20)
	m.AppendLog(q, "line-0001\nline-0002\n") // 20 bytes: all kept
	m.AppendLog(q, "line-0003\n")            // 30: the first line goes
	var b strings.Builder
	end, err := m.Logs(context.Background(), LogQuery{Node: "n1"}, &b)
	if err != nil || b.String() != "line-0002\nline-0003\n" || end != 30 {
		t.Fatalf("log %q end %d (%v); want the last two lines, ending at 30", b.String(), end, err)
	}
	// A reader at an offset still kept reads on from there.
	b.Reset()
	if end, err := m.Logs(context.Background(), LogQuery{Node: "n1", Offset: 20}, &b); err != nil || b.String() != "line-0003\n" || end != 30 {
		t.Fatalf("from 20: %q end %d (%v)", b.String(), end, err)
	}
}

func TestLimitLogCutsAtALineStart(t *testing.T) {
	m := NewMemorySource()
	q := LogQuery{Worker: "w"}
	m.LimitLog(q, 12)
	m.AppendLog(q, "aaaa\nbbbbbbbbbb\n") // 16 bytes: the cut at 4 falls inside "aaaa\n"
	var b strings.Builder
	if end, err := m.Logs(context.Background(), q, &b); err != nil || b.String() != "bbbbbbbbbb\n" || end != 16 {
		t.Fatalf("log %q end %d (%v); want the whole second line", b.String(), end, err)
	}
}
