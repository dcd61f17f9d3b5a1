package state

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"sync"
)

// MemorySource is a Source kept in memory: producers push records into it
// (the Put and Set methods) and the state API reads them. Tests and demos
// use it directly; a daemon can use it as the materialised view that its
// runtime updates.
type MemorySource struct {
	nodes   *Table[NodeState]
	actors  *Table[ActorState]
	tasks   *Table[TaskState]
	pgs     *Table[PlacementGroupState]
	objects *Table[ObjectState]
	jobs    *Table[JobState]
	trials  *Table[TrialState]
	demands *Table[DemandState] // derived from nodes (demand.go)

	mu       sync.Mutex
	version  uint64
	kindVer  map[string]uint64
	changed  chan struct{} // closed and replaced when version moves
	curves   map[string][]CurvePoint
	logs     map[LogQuery]*memLog // keyed by Node/Job/Worker only
	logsMove chan struct{}        // closed and replaced when any log moves
	jobLogs  JobManager           // serves job logs not held here (SyncJobs)
}

type memLog struct {
	data []byte
	// base is the offset of data[0]: a log with a limit drops its oldest
	// lines, and offsets stay those of the whole log.
	base   int64
	limit  int // 0: unbounded
	closed bool
}

// trim drops the oldest whole lines beyond the limit.
func (l *memLog) trim() {
	if l.limit <= 0 || len(l.data) <= l.limit {
		return
	}
	drop := len(l.data) - l.limit
	// Cut at a line start: where drop falls inside a line, after it.
	if i := bytes.IndexByte(l.data[drop-1:], '\n'); i > 0 && drop+i < len(l.data) {
		drop += i
	}
	l.data = slices.Clone(l.data[drop:])
	l.base += int64(drop)
}

var _ Source = (*MemorySource)(nil)

// NewMemorySource returns an empty MemorySource.
func NewMemorySource() *MemorySource {
	return &MemorySource{
		nodes:    NewTable(func(n NodeState) string { return n.ID }),
		actors:   NewTable(func(a ActorState) string { return a.ID }),
		tasks:    NewTable(func(t TaskState) string { return t.ID }, NewestFirst()),
		pgs:      NewTable(func(p PlacementGroupState) string { return p.ID }),
		objects:  NewTable(func(o ObjectState) string { return o.ID }),
		jobs:     NewTable(func(j JobState) string { return j.ID }, NewestFirst()),
		trials:   NewTable(func(t TrialState) string { return t.ID }),
		demands:  NewTable(func(d DemandState) string { return d.Node + "|" + d.ShapeKey }),
		kindVer:  map[string]uint64{},
		changed:  make(chan struct{}),
		curves:   map[string][]CurvePoint{},
		logs:     map[LogQuery]*memLog{},
		logsMove: make(chan struct{}),
	}
}

// bump records a change of kind and wakes watchers.
func (m *MemorySource) bump(kind string) {
	m.mu.Lock()
	m.version++
	m.kindVer[kind] = m.version
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()
}

// PutNode inserts or replaces a node.
func (m *MemorySource) PutNode(n NodeState) { m.nodes.Put(n); m.refreshDemands(); m.bump(KindNodes) }

// SetNodes replaces all nodes, as a membership snapshot does.
func (m *MemorySource) SetNodes(ns []NodeState) {
	m.nodes.Replace(ns)
	m.demands.Replace(DemandRows(ns))
	m.bump(KindNodes)
}

// PutActor inserts or replaces an actor.
func (m *MemorySource) PutActor(a ActorState) { m.actors.Put(a); m.bump(KindActors) }

// PutActors inserts or replaces many actors with one change event.
func (m *MemorySource) PutActors(as []ActorState) { putAll(m, m.actors, as, KindActors) }

// PutTask inserts or replaces a task attempt.
func (m *MemorySource) PutTask(t TaskState) { m.tasks.Put(t); m.bump(KindTasks) }

// PutPlacementGroup inserts or replaces a placement group.
func (m *MemorySource) PutPlacementGroup(p PlacementGroupState) {
	m.pgs.Put(p)
	m.bump(KindPlacementGroups)
}

// PutObject inserts or replaces an object.
func (m *MemorySource) PutObject(o ObjectState) { m.objects.Put(o); m.bump(KindObjects) }

// DeleteObject removes a freed object.
func (m *MemorySource) DeleteObject(id string) {
	if m.objects.Delete(id) {
		m.bump(KindObjects)
	}
}

// PutJob inserts or replaces a job record.
func (m *MemorySource) PutJob(j JobState) { m.jobs.Put(j); m.bump(KindJobs) }

// PutJobs inserts or replaces many jobs with one change event.
func (m *MemorySource) PutJobs(js []JobState) { putAll(m, m.jobs, js, KindJobs) }

// putAll puts rs into t and announces one change of kind for all of them,
// so that a watcher redraws once per batch rather than once per record.
func putAll[T any](m *MemorySource, t *Table[T], rs []T, kind string) {
	for _, r := range rs {
		t.Put(r)
	}
	m.bump(kind)
}

// PutTrial inserts or replaces a Tune trial.
func (m *MemorySource) PutTrial(t TrialState) { m.trials.Put(t); m.bump(KindTrials) }

// AddCurvePoint appends a point to its job's learning curve.
func (m *MemorySource) AddCurvePoint(p CurvePoint) {
	m.mu.Lock()
	m.curves[p.Job] = append(m.curves[p.Job], p)
	m.mu.Unlock()
	m.bump(KindCurves)
}

// AppendLog appends text to the log selected by q's Node, Job and Worker,
// creating it.
func (m *MemorySource) AppendLog(q LogQuery, text string) {
	k := LogQuery{Node: q.Node, Job: q.Job, Worker: q.Worker}
	m.mu.Lock()
	l := m.logs[k]
	if l == nil {
		l = &memLog{}
		m.logs[k] = l
	}
	l.data = append(l.data, text...)
	l.trim()
	m.wakeLogs()
	m.mu.Unlock()
}

// LimitLog bounds the log selected by q's Node, Job and Worker to about
// limit bytes, creating it: once longer, its oldest lines are dropped, as
// a long-running daemon's own log must be. Offsets keep counting from the
// log's true start; a reader asking for dropped bytes gets the oldest kept.
func (m *MemorySource) LimitLog(q LogQuery, limit int) {
	k := LogQuery{Node: q.Node, Job: q.Job, Worker: q.Worker}
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.logs[k]
	if l == nil {
		l = &memLog{}
		m.logs[k] = l
	}
	l.limit = limit
	l.trim()
}

// CloseLog marks a log finished: followers stop at its end.
func (m *MemorySource) CloseLog(q LogQuery) {
	k := LogQuery{Node: q.Node, Job: q.Job, Worker: q.Worker}
	m.mu.Lock()
	if l := m.logs[k]; l != nil {
		l.closed = true
	} else {
		m.logs[k] = &memLog{closed: true}
	}
	m.wakeLogs()
	m.mu.Unlock()
}

func (m *MemorySource) wakeLogs() {
	close(m.logsMove)
	m.logsMove = make(chan struct{})
}

// Nodes implements Source.
func (m *MemorySource) Nodes(_ context.Context, q Query) (Page[NodeState], error) {
	return m.nodes.List(q)
}

// Actors implements Source.
func (m *MemorySource) Actors(_ context.Context, q Query) (Page[ActorState], error) {
	return m.actors.List(q)
}

// Tasks implements Source.
func (m *MemorySource) Tasks(_ context.Context, q Query) (Page[TaskState], error) {
	return m.tasks.List(q)
}

// TaskSummary implements Source.
func (m *MemorySource) TaskSummary(_ context.Context, q Query) (TaskSummary, error) {
	return SummarizeTasks(m.tasks, q)
}

// SummarizeTasks computes a TaskSummary over the tasks of t that match q's
// filters; t lists newest first, so Failures are the latest ones.
func SummarizeTasks(t *Table[TaskState], q Query) (TaskSummary, error) {
	s := TaskSummary{ByState: map[string]int{}, ByFunction: []FunctionSummary{}, Failures: []TaskState{}}
	byFn := map[string]*FunctionSummary{}
	err := t.Scan(q.Filters, func(r TaskState) bool {
		s.Total++
		s.ByState[r.State]++
		f := byFn[r.Name]
		if f == nil {
			f = &FunctionSummary{Name: r.Name, ByState: map[string]int{}}
			byFn[r.Name] = f
		}
		f.Total++
		f.ByState[r.State]++
		if r.State == TaskFailed {
			s.FailuresTotal++
			if len(s.Failures) < maxSummaryFailures {
				s.Failures = append(s.Failures, r)
			}
		}
		return true
	})
	if err != nil {
		return TaskSummary{}, err
	}
	for _, f := range byFn {
		s.ByFunction = append(s.ByFunction, *f)
	}
	sort.Slice(s.ByFunction, func(i, j int) bool {
		a, b := s.ByFunction[i], s.ByFunction[j]
		if a.Total != b.Total {
			return a.Total > b.Total
		}
		return a.Name < b.Name
	})
	if len(s.ByFunction) > maxSummaryFunctions {
		s.ByFunction = s.ByFunction[:maxSummaryFunctions]
	}
	return s, nil
}

// PlacementGroups implements Source.
func (m *MemorySource) PlacementGroups(_ context.Context, q Query) (Page[PlacementGroupState], error) {
	return m.pgs.List(q)
}

// Objects implements Source.
func (m *MemorySource) Objects(_ context.Context, q Query) (Page[ObjectState], error) {
	return m.objects.List(q)
}

// Jobs implements Source.
func (m *MemorySource) Jobs(_ context.Context, q Query) (Page[JobState], error) {
	return m.jobs.List(q)
}

// Curve implements Source.
func (m *MemorySource) Curve(_ context.Context, job string) ([]CurvePoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.curves[job]), nil
}

// Trials implements Source.
func (m *MemorySource) Trials(_ context.Context, q Query) (Page[TrialState], error) {
	return m.trials.List(q)
}

// findLog picks the log q selects: an exact Node/Job/Worker match, or,
// when q names no node, the same job or worker on any node.
func (m *MemorySource) findLog(q LogQuery) (*memLog, error) {
	k := LogQuery{Node: q.Node, Job: q.Job, Worker: q.Worker}
	if k == (LogQuery{}) {
		return nil, fmt.Errorf("%w: name a node, job or worker", ErrBadQuery)
	}
	if l := m.logs[k]; l != nil {
		return l, nil
	}
	if q.Node == "" {
		keys := slices.SortedFunc(maps.Keys(m.logs), func(a, b LogQuery) int {
			if a.Node != b.Node {
				if a.Node < b.Node {
					return -1
				}
				return 1
			}
			return 0
		})
		for _, c := range keys {
			if c.Job == q.Job && c.Worker == q.Worker {
				return m.logs[c], nil
			}
		}
	}
	return nil, fmt.Errorf("%w: no log for node=%q job=%q worker=%q", ErrNotFound, q.Node, q.Job, q.Worker)
}

// Logs implements Source.
func (m *MemorySource) Logs(ctx context.Context, q LogQuery, w io.Writer) (int64, error) {
	off := q.Offset
	if off < 0 {
		return off, fmt.Errorf("%w: offset=%d is negative", ErrBadQuery, off)
	}
	if q.Job != "" {
		m.mu.Lock()
		_, err := m.findLog(q)
		m.mu.Unlock()
		if err != nil {
			if end, handled, err := m.jobLog(ctx, q, w); handled {
				return end, err
			}
		}
	}
	for {
		m.mu.Lock()
		l, err := m.findLog(q)
		if err != nil {
			m.mu.Unlock()
			return off, err
		}
		var chunk []byte
		// A reader behind a trimmed log's start resumes at the oldest byte
		// kept.
		off = max(off, l.base)
		if off < l.base+int64(len(l.data)) {
			chunk = slices.Clone(l.data[off-l.base:])
		}
		closed, wake := l.closed, m.logsMove
		m.mu.Unlock()
		if len(chunk) > 0 {
			n, err := w.Write(chunk)
			off += int64(n)
			if err != nil {
				return off, fmt.Errorf("state: write log: %w", err)
			}
			if f, ok := w.(interface{ Flush() }); ok {
				f.Flush()
			}
		}
		if !q.Follow || closed && len(chunk) == 0 {
			return off, nil
		}
		if len(chunk) > 0 {
			continue // re-check for more before sleeping
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return off, nil
		}
	}
}

// Watch implements Source.
func (m *MemorySource) Watch(ctx context.Context, since uint64) (Change, error) {
	for {
		m.mu.Lock()
		if m.version > since || since == 0 {
			c := Change{Version: m.version, Kinds: []string{}}
			for _, k := range AllKinds {
				if m.kindVer[k] > since {
					c.Kinds = append(c.Kinds, k)
				}
			}
			m.mu.Unlock()
			return c, nil
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Change{}, ctx.Err()
		}
	}
}
