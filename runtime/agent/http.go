package agent

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"maps"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/goray/goray/runtime/cluster"
)

// NodeView is one node in /v1/nodes and /v1/status.
type NodeView struct {
	ID                 string             `json:"id"`
	Name               string             `json:"name"`
	State              string             `json:"state"` // alive, suspect, dead, left
	Version            string             `json:"version"`
	GossipAddr         string             `json:"gossip_addr"`
	RPCAddr            string             `json:"rpc_addr"`
	HTTPAddr           string             `json:"http_addr"`
	ResourcesTotal     map[string]float64 `json:"resources_total"`
	ResourcesAvailable map[string]float64 `json:"resources_available"`
	Load               LoadView           `json:"load"`
	// StateAgeMS is how old the availability data is, in milliseconds
	// (-1 when no broadcast has arrived yet).
	StateAgeMS int64     `json:"state_age_ms"`
	Since      time.Time `json:"since"`
	IsSelf     bool      `json:"is_self"`
	// DriverAddress is where a driver on this node's machine connects to
	// its engine (GORAY_ADDRESS for goray.Init, e.g.
	// "unix:///var/lib/gorayd/node.sock"). Only the answering node fills it
	// in, for itself: the address is local to its machine.
	DriverAddress string `json:"driver_address,omitempty"`
}

// LoadView is a node's load in the HTTP API.
type LoadView struct {
	RunningTasks    int64 `json:"running_tasks"`
	PendingTasks    int64 `json:"pending_tasks"`
	Workers         int64 `json:"workers"`
	ObjectStoreUsed int64 `json:"object_store_used"`
}

// NodesResponse is the body of GET /v1/nodes.
type NodesResponse struct {
	Self string `json:"self"`
	// DriverAddress repeats the answering node's NodeView.DriverAddress, so
	// a driver can resolve a daemon's HTTP address with one lookup.
	DriverAddress string     `json:"driver_address,omitempty"`
	Nodes         []NodeView `json:"nodes"`
}

// NodeDemand is a pending demand attributed to the node that reported it.
type NodeDemand struct {
	Demand
	NodeID string `json:"node_id"`
}

// StatusResponse is the body of GET /v1/status: what `goray status` prints.
type StatusResponse struct {
	Self           string             `json:"self"`
	Version        string             `json:"version"`
	Alive          []NodeView         `json:"alive"`
	Dead           []NodeView         `json:"dead"` // dead and left
	Total          map[string]float64 `json:"total"`
	Used           map[string]float64 `json:"used"`
	PendingDemands []NodeDemand       `json:"pending_demands"`
	// Demands sums PendingDemands over the nodes by shape (SumDemands).
	Demands     []Demand        `json:"demands"`
	ObjectStore ObjectStoreView `json:"object_store"`
	// Unreachable lists alive nodes whose demands could not be fetched.
	Unreachable []string `json:"unreachable,omitempty"`
}

// ObjectStoreView sums object-store use over alive nodes.
type ObjectStoreView struct {
	Used  int64 `json:"used"`
	Limit int64 `json:"limit"`
}

// HealthResponse is the body of GET /v1/health.
type HealthResponse struct {
	Status  string `json:"status"`
	NodeID  string `json:"node_id"`
	Members int    `json:"members"`
}

// Handler is the HTTP API. Every endpoint except /v1/health requires the
// bearer token when http.token is set.
func (a *Agent) Handler() http.Handler {
	a.muxOnce.Do(func() {
		a.mux = http.NewServeMux()
		a.mux.HandleFunc("GET /v1/health", a.handleHealth)
		a.mux.Handle("GET /v1/nodes", a.auth(http.HandlerFunc(a.handleNodes)))
		a.mux.Handle("GET /v1/status", a.auth(http.HandlerFunc(a.handleStatus)))
	})
	return a.mux
}

// Handle mounts h on the agent's HTTP API at pattern (http.ServeMux syntax,
// e.g. "/api/v0/"), behind the same bearer token as /v1/nodes. Other APIs
// served on the daemon's HTTP port (state, jobs, dashboard, metrics) are
// mounted this way, before or after Start. It panics on a conflicting
// pattern, like http.ServeMux.
func (a *Agent) Handle(pattern string, h http.Handler) {
	a.Handler()
	a.mux.Handle(pattern, a.auth(h))
}

func (a *Agent) auth(next http.Handler) http.Handler {
	token := a.cfg.HTTP.Token
	if token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			// Say which of the two it was: a user who set a token
			// should not be told to set one.
			msg := "unauthorized: this gorayd requires a bearer token (goray --token or GORAY_TOKEN)"
			if ok && got != "" {
				msg = "unauthorized: wrong bearer token: this gorayd's http.token differs from the one sent (goray --token or GORAY_TOKEN)"
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="gorayd"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (a *Agent) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, HealthResponse{Status: "ok", NodeID: a.NodeID(), Members: len(a.members.LiveIDs())})
}

// Nodes is the agent's view of every member, self first among equals
// (sorted like Membership.Members: live by name, then dead and left).
func (a *Agent) Nodes() []NodeView {
	now := time.Now()
	self := a.NodeID()
	ms := a.members.Members()
	out := make([]NodeView, 0, len(ms))
	for _, m := range ms {
		v := NodeView{
			ID: m.ID, Name: m.Name, State: string(m.Status), Version: m.Version,
			GossipAddr: m.GossipAddr, RPCAddr: m.RPCAddr, HTTPAddr: m.HTTPAddr,
			ResourcesTotal:     nonNil(m.Resources),
			ResourcesAvailable: nonNil(m.State.Available),
			Load: LoadView{
				RunningTasks: m.State.Load.RunningTasks, PendingTasks: m.State.Load.PendingTasks,
				Workers: m.State.Load.Workers, ObjectStoreUsed: m.State.Load.ObjectStoreUsed,
			},
			StateAgeMS: -1, Since: m.Since, IsSelf: m.ID == self,
		}
		if v.IsSelf {
			v.DriverAddress = a.DriverAddress()
		}
		if !m.State.Received.IsZero() {
			v.StateAgeMS = now.Sub(m.State.Received).Milliseconds()
		}
		out = append(out, v)
	}
	return out
}

func nonNil(m map[string]float64) map[string]float64 {
	if m == nil {
		return map[string]float64{}
	}
	return maps.Clone(m)
}

func (a *Agent) handleNodes(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, NodesResponse{Self: a.NodeID(), DriverAddress: a.DriverAddress(), Nodes: a.Nodes()})
}

// Status assembles the cluster status; pending demands are gathered from
// every alive node over RPC (500 ms each, in parallel).
func (a *Agent) Status(ctx context.Context) StatusResponse {
	st := StatusResponse{
		Self: a.NodeID(), Version: Version,
		Alive: []NodeView{}, Dead: []NodeView{},
		Total: map[string]float64{}, Used: map[string]float64{}, PendingDemands: []NodeDemand{},
	}
	for _, n := range a.Nodes() {
		if n.State == string(cluster.StatusAlive) || n.State == string(cluster.StatusSuspect) {
			st.Alive = append(st.Alive, n)
			for k, v := range n.ResourcesTotal {
				st.Total[k] += v
				st.Used[k] += v - n.ResourcesAvailable[k]
			}
			st.ObjectStore.Used += n.Load.ObjectStoreUsed
			st.ObjectStore.Limit += int64(n.ResourcesTotal[ResourceObjectStore])
		} else {
			st.Dead = append(st.Dead, n)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range st.Alive {
		wg.Go(func() {
			var demands []Demand
			if n.IsSelf {
				demands = a.report().PendingDemands
			} else {
				cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				defer cancel()
				info, err := a.rpc.NodeInfo(cctx, n.ID)
				if err != nil {
					mu.Lock()
					st.Unreachable = append(st.Unreachable, n.ID)
					mu.Unlock()
					return
				}
				for _, d := range info.GetPendingDemands() {
					demands = append(demands, Demand{Shape: d.GetShape(), Count: d.GetCount()})
				}
			}
			mu.Lock()
			for _, d := range demands {
				st.PendingDemands = append(st.PendingDemands, NodeDemand{Demand: d, NodeID: n.ID})
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	sort.Strings(st.Unreachable)
	sort.SliceStable(st.PendingDemands, func(i, j int) bool { return st.PendingDemands[i].NodeID < st.PendingDemands[j].NodeID })
	st.Demands = SumDemands(st.PendingDemands)
	return st
}

func (a *Agent) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.Status(r.Context()))
}
