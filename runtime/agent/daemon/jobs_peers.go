package daemon

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/goray/goray/runtime/agent"
	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/jobs"
)

// jobPeerTimeout bounds the search for the daemon that runs a job.
const jobPeerTimeout = 3 * time.Second

// peerJobs lets any daemon of the cluster answer for any job. Each daemon
// keeps only the jobs submitted to it, so the job list gathers every live
// daemon's jobs (listClusterJobs, jobs_list.go). Job IDs are random, so a
// request for a job this daemon does not know (status, logs, stop,
// delete) asks every live peer at once whether it has the job and is
// passed to the one that does; if none has it, this daemon answers "not
// found" itself.
func (d *Daemon) peerJobs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/api/jobs/" && r.Header.Get(jobs.ForwardedHeader) == "" && d.jobs != nil {
			d.listClusterJobs(w, r)
			return
		}
		id := jobIDOf(r.URL.Path)
		if id == "" || r.Header.Get(jobs.ForwardedHeader) != "" || d.jobs == nil {
			next.ServeHTTP(w, r)
			return
		}
		if _, err := d.jobs.Get(id); !errors.Is(err, jobs.ErrJobNotFound) {
			next.ServeHTTP(w, r)
			return
		}
		addr := d.findJobPeer(r.Context(), id, r.Header.Get("Authorization"))
		if addr == "" {
			next.ServeHTTP(w, r)
			return
		}
		target := &url.URL{Scheme: "http", Host: addr}
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Header.Set("Authorization", r.Header.Get("Authorization"))
				pr.Out.Header.Set(jobs.ForwardedHeader, "1")
			},
			FlushInterval: -1, // followed logs stream as they come
		}
		proxy.ServeHTTP(w, r)
	})
}

// jobIDOf returns the job ID of /api/jobs/{id} and /api/jobs/{id}/...
// paths, or "" for the others (the list, submissions).
func jobIDOf(path string) string {
	rest, ok := strings.CutPrefix(path, "/api/jobs/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

// jobPeers is the other daemons a cluster-wide job request asks: the
// alive ones that serve HTTP (a suspect peer is skipped rather than waited
// for until jobPeerTimeout).
func (d *Daemon) jobPeers() []agent.NodeView {
	self := d.agent.NodeID()
	var out []agent.NodeView
	for _, n := range d.agent.Nodes() {
		if n.ID != self && n.State == string(cluster.StatusAlive) && n.HTTPAddr != "" {
			out = append(out, n)
		}
	}
	return out
}

// findJobPeer asks every live peer at once for job id and returns the
// HTTP address of the first that has it, or "".
func (d *Daemon) findJobPeer(ctx context.Context, id, auth string) string {
	ctx, cancel := context.WithTimeout(ctx, jobPeerTimeout)
	defer cancel()
	found := make(chan string, 1)
	var wg sync.WaitGroup
	for _, n := range d.jobPeers() {
		wg.Add(1)
		go func(addr string) {
			defer wg.Done()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/jobs/"+url.PathEscape(id), nil)
			if err != nil {
				return
			}
			req.Header.Set("Authorization", auth)
			req.Header.Set(jobs.ForwardedHeader, "1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				select {
				case found <- addr:
				default:
				}
			}
		}(n.HTTPAddr)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case addr := <-found:
		return addr
	case <-done:
		select {
		case addr := <-found:
			return addr
		default:
			return ""
		}
	}
}
