package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/goray/goray/runtime/agent"
	"github.com/goray/goray/runtime/cluster"
	"github.com/goray/goray/runtime/dashboard"
	"github.com/goray/goray/runtime/jobs"
	"github.com/goray/goray/runtime/metrics"
	"github.com/goray/goray/runtime/remote"
	"github.com/goray/goray/runtime/state"
)

// How often the observer refreshes each view. Jobs and training results
// move fastest and matter most to a user watching a run; host statistics
// and peers' records are sampled less often because each costs a /proc
// read or an HTTP round trip.
const (
	jobsInterval    = 300 * time.Millisecond
	resultsInterval = 500 * time.Millisecond
	nodesInterval   = time.Second
	peersInterval   = 2 * time.Second
	peerTimeout     = time.Second
	// maxObjects bounds the objects snapshot, like one page of the API.
	maxObjects = state.MaxLimit
)

// observer feeds the daemon's state API and metrics from its parts: the
// job manager, the agent's membership, the node's object store, the host,
// the training results jobs write into their output_dir, and peers' own
// records.
type observer struct {
	d    *Daemon
	eng  *engine
	log  *slog.Logger
	src  *state.MemorySource
	met  *metrics.Metrics
	host *state.HostSampler
	hc   *http.Client
	self string
	// started is when this daemon's node started: its NodeState.StartTime.
	started time.Time

	mu    sync.Mutex
	peers map[string]state.NodeState // peers' own records (host stats)
	// peerJobs: the jobs each live peer runs itself, for the state API's
	// cluster-wide job list (clusterJobs).
	peerJobs map[string][]jobs.Info
	runs     map[string]*jobRun // training results followed, by job
	store    struct{ spilled, restored int64 }
	// workerLogs: bytes of each worker log file already published.
	workerLogs map[string]int64
	// transfers: the remote engine's counts at the last refresh.
	transfers remote.TransferStats

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// jobRun follows one job's output files.
type jobRun struct {
	sawRunning bool // steps count towards the metrics only for runs seen running
	done       bool // read once more after the job ended: nothing more will come
	curve      *tailer
	steps      stepCounter
	// Tune: one tailer and counter per trial, and the trials' states.
	trials    map[string]*tailer
	trialStep map[string]*stepCounter
	statuses  map[string]string
}

func newObserver(d *Daemon, eng *engine, nodeID string) *observer {
	return &observer{
		d: d, eng: eng, log: d.log.With("component", "observe"),
		src: d.src, met: metrics.New(nodeID), host: state.NewHostSampler(),
		hc:   &http.Client{Timeout: peerTimeout},
		self: nodeID, started: time.Now(),
		peers: map[string]state.NodeState{}, peerJobs: map[string][]jobs.Info{}, runs: map[string]*jobRun{}, workerLogs: map[string]int64{},
	}
}

// mount serves the dashboard, the state API and /metrics on the agent's
// HTTP port. The state API is behind the cluster token; the dashboard's
// static files and /metrics are not (see doc.go).
func (o *observer) mount(a *agent.Agent) {
	a.Handle("/api/v0/", o.d.gate(o.peerLogs(state.Handler(o.src, ""))))
	a.HandlePublic("GET /metrics", o.met.Handler())
	dash := dashboard.Handler()
	a.HandlePublic("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The catch-all pattern also receives unknown API paths; they get a
		// JSON 404, not the page.
		if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/v1/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = fmt.Fprintf(w, "{\"error\":%q}\n", "no endpoint "+r.Method+" "+r.URL.Path)
			return
		}
		dash.ServeHTTP(w, r)
	}))
}

// start runs the refresh loops until stop.
func (o *observer) start() {
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	o.wg.Go(func() { _ = o.src.SyncJobs(ctx, clusterJobs{o}, jobsInterval) })
	o.wg.Go(func() { _ = o.src.SyncNodes(ctx, o.nodes, nodesInterval) })
	o.wg.Go(func() { o.every(ctx, resultsInterval, o.refresh) })
	o.wg.Go(func() { o.every(ctx, peersInterval, o.fetchPeers) })
}

// stop ends the loops and waits for them.
func (o *observer) stop() {
	if o.cancel != nil {
		o.cancel()
	}
	o.wg.Wait()
}

func (o *observer) every(ctx context.Context, d time.Duration, f func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		f(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// nodeStates maps gossip liveness to the state API's node states: a
// suspect is still a member (it may answer again), so it shows ALIVE.
var nodeStates = map[cluster.MemberStatus]string{
	cluster.StatusAlive: state.NodeAlive, cluster.StatusSuspect: state.NodeAlive,
	cluster.StatusDead: state.NodeDead, cluster.StatusLeft: state.NodeLeft,
}

// nodes is every member the gossip knows, alive or not: this node with its
// own host and store figures, peers with the host figures they publish in
// their own state API (fetched by fetchPeers).
func (o *observer) nodes(context.Context) []state.NodeState {
	views := o.d.agent.Nodes()
	hs, herr := o.host.Sample()
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]state.NodeState, 0, len(views))
	for _, v := range views {
		n := state.NodeState{
			ID: v.ID, Name: v.Name, Address: v.RPCAddr, State: nodeStates[cluster.MemberStatus(v.State)],
			ResourcesTotal: v.ResourcesTotal, ResourcesAvailable: v.ResourcesAvailable,
			ObjectStoreUsed:  v.Load.ObjectStoreUsed,
			ObjectStoreLimit: int64(v.ResourcesTotal[agent.ResourceObjectStore]),
			RunningTasks:     int(v.Load.RunningTasks), Workers: int(v.Load.Workers),
		}
		if n.State == "" {
			n.State = strings.ToUpper(v.State)
		}
		if v.ID == o.self {
			n.IsHead = len(o.d.cfg.Join) == 0
			n.StartTime = o.started
			if herr == nil {
				n.CPUPercent, n.MemoryUsed, n.MemoryTotal = hs.CPUPercent, hs.MemoryUsed, hs.MemoryTotal
			}
			if node := o.d.Node(); node != nil {
				st := node.StoreStats()
				n.ObjectStoreUsed, n.ObjectStoreLimit = st.Used, st.Limit
				n.PendingDemands = nodeDemands(node) // demand_state.go
			}
		} else if p, ok := o.peers[v.ID]; ok && n.State == state.NodeAlive {
			n.IsHead, n.StartTime = p.IsHead, p.StartTime
			n.CPUPercent, n.MemoryUsed, n.MemoryTotal = p.CPUPercent, p.MemoryUsed, p.MemoryTotal
			n.PendingDemands = p.PendingDemands
		}
		out = append(out, n)
	}
	return out
}

// fetchPeers asks every alive peer for its own record in its state API
// (the daemons of one cluster share the token), for the host figures that
// gossip does not carry. A peer that does not answer keeps its last record
// until it is no longer alive.
func (o *observer) fetchPeers(ctx context.Context) {
	var wg sync.WaitGroup
	live := map[string]bool{}
	for _, v := range o.d.agent.Nodes() {
		if v.ID == o.self || v.HTTPAddr == "" || nodeStates[cluster.MemberStatus(v.State)] != state.NodeAlive {
			continue
		}
		live[v.ID] = true
		wg.Go(func() {
			n, err := o.fetchPeer(ctx, v.HTTPAddr, v.ID)
			if err != nil {
				o.log.Debug("peer's node record", "node", v.Name, "err", err)
				return
			}
			o.mu.Lock()
			o.peers[v.ID] = n
			o.mu.Unlock()
		})
		wg.Go(func() {
			auth := ""
			if tok := o.d.cfg.HTTP.Token; tok != "" {
				auth = "Bearer " + tok
			}
			list, err := fetchPeerJobs(ctx, v.HTTPAddr, auth)
			if err != nil {
				// The last list stays until the peer answers or leaves.
				o.log.Debug("peer's jobs", "node", v.Name, "err", err)
				return
			}
			for i := range list {
				list[i].NodeID = v.ID
			}
			o.mu.Lock()
			o.peerJobs[v.ID] = list
			o.mu.Unlock()
		})
	}
	wg.Wait()
	o.mu.Lock()
	for id := range o.peers {
		if !live[id] {
			delete(o.peers, id)
		}
	}
	for id := range o.peerJobs {
		if !live[id] {
			delete(o.peerJobs, id)
		}
	}
	o.mu.Unlock()
}

// clusterJobs is the job table of the state API (`goray list jobs`, the
// dashboard): this daemon's jobs and those of its live peers, as `ray list
// jobs` shows the cluster's. Peers' lists are as fresh as the last
// fetchPeers (peersInterval); logs are served for this daemon's jobs.
type clusterJobs struct{ o *observer }

// List returns every live node's jobs, oldest submission first.
func (c clusterJobs) List() []jobs.Info {
	all := ownJobs(c.o.d.jobs, c.o.self) // jobs_list.go
	c.o.mu.Lock()
	for _, js := range c.o.peerJobs {
		all = append(all, js...)
	}
	c.o.mu.Unlock()
	sortClusterJobs(all)
	return all
}

// Logs copies a job's driver log from this daemon's job manager.
func (c clusterJobs) Logs(ctx context.Context, id string, off int64, follow bool, w io.Writer) (int64, error) {
	return c.o.d.jobs.Logs(ctx, id, off, follow, w)
}

func (o *observer) fetchPeer(ctx context.Context, addr, id string) (state.NodeState, error) {
	u := "http://" + addr + "/api/v0/nodes?" + url.Values{"node_id": {id}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return state.NodeState{}, err
	}
	if tok := o.d.cfg.HTTP.Token; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := o.hc.Do(req)
	if err != nil {
		return state.NodeState{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return state.NodeState{}, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var lr state.ListResponse[state.NodeState]
	if err := json.NewDecoder(resp.Body).Decode(&lr); err != nil {
		return state.NodeState{}, fmt.Errorf("GET %s: %w", u, err)
	}
	for _, n := range lr.Items {
		if n.ID == id {
			return n, nil
		}
	}
	return state.NodeState{}, fmt.Errorf("GET %s: the node does not list itself", u)
}

// refresh updates what changes with the node's work: training results of
// jobs, the objects in the store, and the metrics.
func (o *observer) refresh(context.Context) {
	o.refreshJobs()
	o.refreshMembers()
	o.refreshStore()
	o.refreshEngine()
	o.refreshWorkerLogs()
	o.refreshTransfers()
	o.refreshDemandMetrics()
}

// refreshJobs follows the jobs' outputs and counts jobs and trials by
// state.
func (o *observer) refreshJobs() {
	list := o.d.jobs.List()
	jobCounts := map[string]float64{}
	for _, s := range []jobs.State{jobs.Pending, jobs.Running, jobs.Succeeded, jobs.Failed, jobs.Stopped} {
		jobCounts[string(s)] = 0
	}
	trialCounts := map[string]float64{"PENDING": 0, "RUNNING": 0, "PAUSED": 0, "TERMINATED": 0, "ERROR": 0}
	for _, j := range list {
		jobCounts[string(j.State)]++
		if j.OutputDir != "" {
			o.follow(j)
		}
	}
	o.mu.Lock()
	if len(o.runs) > len(list) {
		// Jobs deleted through the job API: forget their followers.
		listed := make(map[string]bool, len(list))
		for _, j := range list {
			listed[j.ID] = true
		}
		for id := range o.runs {
			if !listed[id] {
				delete(o.runs, id)
			}
		}
	}
	for _, r := range o.runs {
		for _, s := range r.statuses {
			trialCounts[s]++
		}
	}
	o.mu.Unlock()
	for s, n := range jobCounts {
		o.met.JobsByState.WithLabelValues(s).Set(n)
	}
	for s, n := range trialCounts {
		o.met.TrialsByState.WithLabelValues(s).Set(n)
	}
}

// refreshMembers counts gossip members by state and publishes the node's
// resources.
func (o *observer) refreshMembers() {
	members := map[string]float64{}
	for _, s := range []cluster.MemberStatus{cluster.StatusAlive, cluster.StatusSuspect, cluster.StatusDead, cluster.StatusLeft} {
		members[string(s)] = 0
	}
	for _, v := range o.d.agent.Nodes() {
		members[v.State]++
	}
	for s, n := range members {
		o.met.GossipMembers.WithLabelValues(s).Set(n)
	}
	rep := o.eng.Report()
	o.met.SetResources(o.eng.total, rep.Available)
}

// refreshStore publishes the store's use and its objects.
func (o *observer) refreshStore() {
	node := o.d.Node()
	if node == nil {
		return
	}
	st := node.StoreStats()
	o.met.ObjectStoreBytes.Set(float64(st.Used))
	o.met.ObjectStoreObjects.Set(float64(st.NumObjects))
	o.mu.Lock()
	if d := st.SpilledBytes - o.store.spilled; d > 0 {
		o.met.SpilledBytes.Add(float64(d))
	}
	if d := st.RestoredBytes - o.store.restored; d > 0 {
		o.met.RestoredBytes.Add(float64(d))
	}
	o.store.spilled, o.store.restored = st.SpilledBytes, st.RestoredBytes
	o.mu.Unlock()

}

// follow reads what a job wrote into its output_dir since the last
// refresh: result.json lines (an [rllib] job, or any driver that runs
// libs/rllib) become curve points and env-step counts, a Tune experiment's
// state ([tune] jobs) becomes trial records, and each trial's result.json
// its own curve. A job is read once more after it ends and then no more,
// so finished jobs cost nothing however many there are.
func (o *observer) follow(j jobs.Info) {
	o.mu.Lock()
	r := o.runs[j.ID]
	if r == nil {
		r = &jobRun{curve: &tailer{path: filepath.Join(j.OutputDir, resultFile)},
			trials: map[string]*tailer{}, trialStep: map[string]*stepCounter{}, statuses: map[string]string{}}
		o.runs[j.ID] = r
	}
	if r.done {
		o.mu.Unlock()
		return
	}
	switch j.State {
	case jobs.Running:
		r.sawRunning = true
	case jobs.Succeeded, jobs.Failed, jobs.Stopped:
		r.done = true
	}
	o.mu.Unlock()

	o.readResults(j.ID, "", "", r.curve, &r.steps, r.sawRunning)
	trials, dirs, metric, err := readExperiment(j.ID, j.OutputDir)
	if err != nil {
		// Caught mid-write or damaged: try again next time.
		o.log.Debug("tune experiment state", "job", j.ID, "err", err)
		o.mu.Lock()
		r.done = false
		o.mu.Unlock()
		return
	}
	if len(trials) == 0 {
		return
	}
	o.src.UpdateTrials(trials)
	o.mu.Lock()
	for _, t := range trials {
		r.statuses[t.ID] = t.Status
		if r.trials[t.ID] == nil && dirs[t.ID] != "" {
			r.trials[t.ID] = &tailer{path: filepath.Join(dirs[t.ID], resultFile)}
			r.trialStep[t.ID] = &stepCounter{}
		}
	}
	tails := maps.Clone(r.trials)
	o.mu.Unlock()
	for id, tl := range tails {
		o.readResults(j.ID, id, metric, tl, r.trialStep[id], r.sawRunning)
	}
}

// readResults appends a result file's new lines to the job's curve and,
// for a run seen running, counts its env steps.
func (o *observer) readResults(job, trial, metric string, tl *tailer, sc *stepCounter, count bool) {
	lines, err := tl.next()
	if err != nil {
		o.log.Debug("training results", "job", job, "err", err)
		return
	}
	for _, line := range lines {
		res, err := parseResult(line)
		if err != nil {
			o.log.Debug("skipping a result line", "file", tl.path, "err", err)
			continue
		}
		if p, ok := res.curvePoint(job, trial, metric); ok {
			o.src.AddCurvePoint(p)
		}
		sampled, trained := sc.add(res)
		if count {
			o.met.AddEnvSteps(int(sampled))
			o.met.AddLearnerSamples(int(trained))
		}
	}
}
