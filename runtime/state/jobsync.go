package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/goray/goray/runtime/jobs"
)

// JobManager is what the state API needs from a node's job manager;
// *jobs.Manager implements it.
type JobManager interface {
	// List returns all jobs, oldest first.
	List() []jobs.Info
	// Logs copies a job's driver log from off to w, following it until the
	// job ends when follow is set.
	Logs(ctx context.Context, id string, off int64, follow bool, w io.Writer) (int64, error)
}

var _ JobManager = (*jobs.Manager)(nil)

// SyncJobs mirrors jm's jobs into m every interval until ctx ends, and
// serves job logs that m does not hold from jm. Only real changes bump
// the jobs version, so an idle cluster sends the dashboard no events.
// It returns ctx's error.
func (m *MemorySource) SyncJobs(ctx context.Context, jm JobManager, interval time.Duration) error {
	m.mu.Lock()
	m.jobLogs = jm
	m.mu.Unlock()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		m.syncJobsOnce(jm)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// syncJobsOnce copies jm's list into the jobs table and reports whether
// anything changed.
func (m *MemorySource) syncJobsOnce(jm JobManager) bool {
	list := jm.List()
	changed := len(list) != m.jobs.Len()
	if !changed {
		for _, j := range list {
			old, ok := m.jobs.Get(j.ID)
			if !ok || !reflect.DeepEqual(old, j) {
				changed = true
				break
			}
		}
	}
	if changed {
		m.jobs.Replace(list)
		m.bump(KindJobs)
	}
	return changed
}

// jobLog serves a job's log from the job manager, if one is attached.
func (m *MemorySource) jobLog(ctx context.Context, q LogQuery, w io.Writer) (int64, bool, error) {
	m.mu.Lock()
	jm := m.jobLogs
	m.mu.Unlock()
	if jm == nil || q.Job == "" || q.Worker != "" {
		return 0, false, nil
	}
	off, err := jm.Logs(ctx, q.Job, q.Offset, q.Follow, w)
	switch {
	case errors.Is(err, jobs.ErrJobNotFound):
		return off, true, fmt.Errorf("%w: %v", ErrNotFound, err)
	case err != nil && ctx.Err() != nil:
		return off, true, nil
	case err != nil:
		return off, true, fmt.Errorf("state: job log: %w", err)
	}
	return off, true, nil
}

// SyncNodes replaces m's nodes with fetch's answer every interval until
// ctx ends, bumping the nodes version only when something changed (host
// CPU use usually does, which is what keeps the cluster view live). It
// returns ctx's error.
func (m *MemorySource) SyncNodes(ctx context.Context, fetch func(context.Context) []NodeState, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		m.syncNodesOnce(fetch(ctx))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (m *MemorySource) syncNodesOnce(ns []NodeState) bool {
	changed := len(ns) != m.nodes.Len()
	if !changed {
		p, _ := m.nodes.List(Query{Limit: MaxLimit})
		changed = !reflect.DeepEqual(p.Items, ns)
	}
	if changed {
		m.SetNodes(ns)
	}
	return changed
}
