package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/goray/goray/runtime/agent"
)

func init() {
	register("status", "show cluster nodes, resource usage and pending demands (like ray status)", runStatus)
}

// runStatus prints /v1/status of the gorayd at --address (or
// $GORAY_ADDRESS; default 127.0.0.1:8265).
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("goray status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clusterFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print the raw /v1/status JSON")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cf.resolve()
	if cf.address == "" {
		cf.address = fmt.Sprintf("127.0.0.1:%d", agent.DefaultHTTPPort)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, raw, err := fetchStatus(ctx, cf.address, cf.token)
	if err != nil {
		fmt.Fprintf(stderr, "goray status: %v\n", err)
		return 1
	}
	if *asJSON {
		_, _ = stdout.Write(raw)
		return 0
	}
	printStatus(stdout, st, time.Now())
	return 0
}

// statusURL turns "host:port" or a URL into the /v1/status URL.
func statusURL(address string) string {
	base := address
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return strings.TrimRight(base, "/") + "/v1/status"
}

func fetchStatus(ctx context.Context, address, token string) (agent.StatusResponse, []byte, error) {
	var st agent.StatusResponse
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, statusURL(address), nil)
	if err != nil {
		return st, nil, fmt.Errorf("bad address %q: %w", address, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, nil, fmt.Errorf("cannot reach gorayd at %s: %w", address, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return st, nil, fmt.Errorf("reading status from %s: %w", address, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return st, nil, fmt.Errorf("%s: %s", resp.Status, e.Error)
		}
		return st, nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, nil, fmt.Errorf("bad status JSON from %s: %w", address, err)
	}
	return st, raw, nil
}

// printStatus renders the status the way `ray status` does: nodes, then
// resource usage (cluster-wide and per node), then demands.
func printStatus(w io.Writer, st agent.StatusResponse, now time.Time) {
	rule := strings.Repeat("-", 64)
	fmt.Fprintf(w, "======== Cluster status: %s ========\n", now.Format("2006-01-02 15:04:05"))
	fmt.Fprintln(w, "Node status")
	fmt.Fprintln(w, rule)
	fmt.Fprintln(w, "Alive:")
	for _, n := range st.Alive {
		fmt.Fprintf(w, " %s\n", nodeLine(n, st.Self))
	}
	fmt.Fprintln(w, "Dead:")
	if len(st.Dead) == 0 {
		fmt.Fprintln(w, " (no dead nodes)")
	}
	for _, n := range st.Dead {
		fmt.Fprintf(w, " %s\n", nodeLine(n, st.Self))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Resources")
	fmt.Fprintln(w, rule)
	fmt.Fprintln(w, "Usage:")
	for _, k := range resourceNames(st.Total) {
		fmt.Fprintf(w, " %s/%s %s\n", fmtAmount(k, st.Used[k]), fmtAmount(k, st.Total[k]), k)
	}
	fmt.Fprintf(w, " object store: %s/%s in use\n", fmtBytes(float64(st.ObjectStore.Used)), fmtBytes(float64(st.ObjectStore.Limit)))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Per node:")
	for _, n := range st.Alive {
		var parts []string
		for _, k := range resourceNames(n.ResourcesTotal) {
			used := n.ResourcesTotal[k] - n.ResourcesAvailable[k]
			parts = append(parts, fmt.Sprintf("%s/%s %s", fmtAmount(k, used), fmtAmount(k, n.ResourcesTotal[k]), k))
		}
		fmt.Fprintf(w, " %s (%s): %s; %d running, %d pending tasks\n", n.Name, shortID(n.ID), strings.Join(parts, ", "),
			n.Load.RunningTasks, n.Load.PendingTasks)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Demands:")
	printDemands(w, st)
	if len(st.Unreachable) > 0 {
		ids := make([]string, len(st.Unreachable))
		for i, id := range st.Unreachable {
			ids[i] = shortID(id)
		}
		fmt.Fprintf(w, " (demands unknown for unreachable nodes: %s)\n", strings.Join(ids, ", "))
	}
}

func nodeLine(n agent.NodeView, self string) string {
	s := fmt.Sprintf("%s %s (%s) rpc %s http %s", n.State, n.Name, shortID(n.ID), n.RPCAddr, n.HTTPAddr)
	if n.ID == self {
		s += " [this node]"
	}
	return s
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// resourceNames orders CPU, GPU, memory, object_store_memory first, then
// custom resources alphabetically.
func resourceNames(m map[string]float64) []string {
	rank := map[string]int{agent.ResourceCPU: 0, agent.ResourceGPU: 1, agent.ResourceMemory: 2, agent.ResourceObjectStore: 3}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, iok := rank[names[i]]
		rj, jok := rank[names[j]]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		}
		return names[i] < names[j]
	})
	return names
}

func fmtAmount(name string, v float64) string {
	if name == agent.ResourceMemory || name == agent.ResourceObjectStore {
		return fmtBytes(v)
	}
	return fmt.Sprintf("%.1f", v)
}

func fmtBytes(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f%s", v, units[i])
	}
	return fmt.Sprintf("%.2f%s", v, units[i])
}

func fmtShape(shape map[string]float64) string {
	var parts []string
	for _, k := range resourceNames(shape) {
		parts = append(parts, fmt.Sprintf("%q: %g", k, shape[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// printDemands lists the cluster's pending demands summed over the nodes
// by shape, as `ray status` does, each with the nodes where it waits.
func printDemands(w io.Writer, st agent.StatusResponse) {
	sum := st.Demands
	if sum == nil { // a daemon from before the summed list
		sum = agent.SumDemands(st.PendingDemands)
	}
	if len(sum) == 0 {
		fmt.Fprintln(w, " (no resource demands)")
	}
	for _, d := range sum {
		var where []string
		for _, nd := range st.PendingDemands {
			// As SumDemands grouped them, or a node whose shape differs
			// only by a zero amount would be missing from the breakdown.
			if nd.Count > 0 && agent.SameShape(nd.Shape, d.Shape) {
				where = append(where, fmt.Sprintf("%s: %d", shortID(nd.NodeID), nd.Count))
			}
		}
		fmt.Fprintf(w, " %s: %d+ pending tasks/actors", fmtShape(d.Shape), d.Count)
		if len(where) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(where, ", "))
		}
		fmt.Fprintln(w)
	}
}
