package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"

	"github.com/goray/goray/runtime/jobs"
)

// peerJobList is one peer's answer to the cluster job list.
type peerJobList struct {
	node string
	jobs []jobs.Info
	err  error
}

// listClusterJobs answers GET /api/jobs/ with the jobs of every live
// daemon, as Ray's job list shows the cluster's jobs: its own, plus each
// live peer's, asked in parallel within jobPeerTimeout. A peer that fails
// or does not answer in time is left out rather than failing the list:
// the list is still useful without it, and a dead node's jobs are gone
// with it anyway. Each left-out peer is named in a
// jobs.ListWarningHeader of the response and in the log.
func (d *Daemon) listClusterJobs(w http.ResponseWriter, r *http.Request) {
	all := ownJobs(d.jobs, d.agent.NodeID())
	var warnings []string
	for _, p := range d.peerJobLists(r.Context(), r.Header.Get("Authorization")) {
		if p.err != nil {
			msg := fmt.Sprintf("jobs of node %s left out: %v", p.node, p.err)
			warnings = append(warnings, msg)
			d.log.Warn("job list: a peer's jobs are left out", "node", p.node, "err", p.err)
			continue
		}
		for _, j := range p.jobs {
			if j.NodeID == "" {
				j.NodeID = p.node
			}
			all = append(all, j)
		}
	}
	sortClusterJobs(all)
	for _, m := range warnings {
		w.Header().Add(jobs.ListWarningHeader, m)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(all)
}

// ownJobs is m's jobs, each marked as run by node self: the part of a
// cluster job list (listClusterJobs, and the state API's clusterJobs) that
// this daemon answers for itself.
func ownJobs(m *jobs.Manager, self string) []jobs.Info {
	all := m.List()
	for i := range all {
		all[i].NodeID = self
	}
	return all
}

// sortClusterJobs puts a cluster job list in its order: oldest submission
// first, ties (jobs of different daemons submitted at the same instant) by
// ID, so that both lists show the same order on every daemon.
func sortClusterJobs(all []jobs.Info) {
	sort.SliceStable(all, func(a, b int) bool {
		if !all[a].SubmitTime.Equal(all[b].SubmitTime) {
			return all[a].SubmitTime.Before(all[b].SubmitTime)
		}
		return all[a].ID < all[b].ID
	})
}

// peerJobLists asks every live peer for its own jobs at once and returns
// one answer per peer, failed ones with their error, within
// jobPeerTimeout.
func (d *Daemon) peerJobLists(ctx context.Context, auth string) []peerJobList {
	ctx, cancel := context.WithTimeout(ctx, jobPeerTimeout)
	defer cancel()
	var (
		mu  sync.Mutex
		out []peerJobList
		wg  sync.WaitGroup
	)
	for _, n := range d.jobPeers() { // jobs_peers.go
		wg.Add(1)
		go func(node, addr string) {
			defer wg.Done()
			list, err := fetchPeerJobs(ctx, addr, auth)
			if err != nil && ctx.Err() != nil {
				err = fmt.Errorf("no answer from %s within %v: %w", addr, jobPeerTimeout, err)
			}
			mu.Lock()
			out = append(out, peerJobList{node: node, jobs: list, err: err})
			mu.Unlock()
		}(n.ID, n.HTTPAddr)
	}
	wg.Wait()
	return out
}

// fetchPeerJobs gets the jobs one peer runs itself: the forwarded header
// keeps it from asking its own peers in turn.
func fetchPeerJobs(ctx context.Context, addr, auth string) ([]jobs.Info, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/jobs/", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set(jobs.ForwardedHeader, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/jobs/ on %s: %s", addr, resp.Status)
	}
	var list []jobs.Info
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("job list from %s: %w", addr, err)
	}
	return list, nil
}
